import { expect } from "chai";
import { TypedDataEncoder, Wallet } from "ethers";
import {
  buildPrivateProof,
  ciphertextHash,
  buildProof,
  decodeAnyProof,
  decodePrivateProof,
  decodeProof,
  encodePrivateProof,
  encodeProof,
  encodeTensor,
  EnvelopeContextError,
  EnvelopeCorruptedError,
  EnvelopeKeyError,
  formatPrivacyPrivateKey,
  formatPrivacyPublicKey,
  generatePrivacyKey,
  hashRuntime,
  openPrivateProof,
  PRIVATE_PROOF_EIP712_TYPES,
  PrivateDataError,
  privateProofCommitment,
  privateProofDisclosureKey,
  ProofFormatError,
  ProofVersion,
  proofCommitment,
  revealPrivateProof,
  SignatureError,
  signPrivateProof,
  signProof,
  tensorFromBytes,
  toBlobIdHex,
  toModelId,
  verifyPrivateProofSignature,
  type PrivateInferenceProof,
  type ProofParams,
  type Tensor,
} from "../src";
import { b32, RUNTIME } from "./fixtures";

const NODE = new Wallet(`0x${"07".repeat(32)}`);
const REQUESTER = generatePrivacyKey();
const OUTSIDER = generatePrivacyKey();
const MARKER = Buffer.from("PLAINTEXT-MARKER-7f3a");

function params(overrides: Partial<ProofParams> = {}): ProofParams {
  return {
    domain: {
      chainId: 31337,
      proofRegistry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      modelRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    },
    model: { id: toModelId(b32("model")), version: 0, blobId: toBlobIdHex(b32("blob")), sha256: b32("sha") },
    inputs: [
      tensorFromBytes("input", "uint8", [MARKER.length], new Uint8Array(MARKER)),
      encodeTensor("scale", "float32", [2], new Float32Array([0.5, 2])),
    ],
    outputs: [tensorFromBytes("echo", "uint8", [MARKER.length], new Uint8Array(MARKER))],
    runtime: RUNTIME,
    node: NODE.address,
    timestamp: 1_750_000_000,
    requestId: b32("request"),
    ...overrides,
  };
}

async function signed(
  mode: "hashed" | "encrypted",
  overrides: Partial<ProofParams> = {},
): Promise<{ proof: PrivateInferenceProof; bytes: Uint8Array }> {
  const unsigned = await buildPrivateProof(
    params(overrides),
    mode === "hashed" ? { privacy: "hashed" } : { privacy: "encrypted", recipient: REQUESTER.publicKey },
  );
  const { proof } = await signPrivateProof(unsigned, NODE);
  return { proof, bytes: encodePrivateProof(proof) };
}

async function caught(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) !== -1;
}

/** The proof re-signed by its node after `change` (what a dishonest node could publish). */
async function resigned(proof: PrivateInferenceProof, change: (doc: PrivateInferenceProof) => PrivateInferenceProof) {
  return (await signPrivateProof(change(proof), NODE)).proof;
}

describe("private proofs (format v3): hashed and encrypted modes", function () {
  it("a hashed proof holds each tensor's name, dtype, dims and hash, and no byte of its data", async function () {
    const { proof, bytes } = await signed("hashed");
    expect(contains(bytes, MARKER)).to.equal(false);
    expect(proof.input.tensors.map((t) => Object.keys(t).sort())).to.deep.equal([
      ["dims", "dtype", "hash", "name"],
      ["dims", "dtype", "hash", "name"],
    ]);
    expect(proof.envelope).to.equal(undefined);
    const decoded = decodePrivateProof(bytes);
    expect(verifyPrivateProofSignature(decoded)).to.equal(privateProofCommitment(proof));
    expect(encodePrivateProof(decoded)).to.deep.equal(bytes);
  });

  it("an encrypted proof's bytes hold no plaintext byte, and its owner opens them to the committed tensors", async function () {
    const { proof, bytes } = await signed("encrypted");
    expect(contains(bytes, MARKER)).to.equal(false);
    const decoded = decodePrivateProof(bytes);
    verifyPrivateProofSignature(decoded);
    const opened = await openPrivateProof(decoded, { privateKey: formatPrivacyPrivateKey(REQUESTER) });
    expect(Buffer.from(opened.inputs[0].bytes!)).to.deep.equal(MARKER);
    expect(opened.inputs.map((t) => t.name)).to.deep.equal(["input", "scale"]);
    expect(opened.outputs[0].hash).to.equal(proof.output.tensors[0].hash);
  });

  it("the commitment is the EIP-712 digest of the v3 type, byte for byte as ethers computes it", async function () {
    for (const mode of ["hashed", "encrypted"] as const) {
      const { proof } = await signed(mode);
      const message = {
        version: 3,
        modelId: proof.model.id,
        modelVersion: proof.model.version,
        modelBlobId: proof.model.blobId,
        modelSha256: proof.model.sha256,
        modelRegistry: proof.domain.modelRegistry,
        inputHash: proof.input.hash,
        outputHash: proof.output.hash,
        runtimeHash: hashRuntime(proof.runtime),
        node: proof.node,
        timestamp: proof.timestamp,
        requestId: proof.requestId,
        privacy: mode === "hashed" ? 1 : 2,
        ciphertextHash: mode === "hashed" ? `0x${"0".repeat(64)}` : ciphertextHash(proof.envelope!.bytes),
      };
      const domain = {
        name: "Strata",
        version: "1",
        chainId: proof.domain.chainId,
        verifyingContract: proof.domain.proofRegistry,
      };
      expect(privateProofCommitment(proof)).to.equal(
        TypedDataEncoder.hash(domain, PRIVATE_PROOF_EIP712_TYPES, message),
      );
      expect(TypedDataEncoder.from(PRIVATE_PROOF_EIP712_TYPES).encodeType("InferenceProof")).to.match(
        /,bytes32 requestId,uint8 privacy,bytes32 ciphertextHash\)$/,
      );
    }
  });

  it("the commitment covers the privacy mode and the ciphertext hash, and differs from the v2 proof's", async function () {
    const hashed = (await signed("hashed")).proof;
    const encrypted = (await signed("encrypted")).proof;
    const v2 = proofCommitment(buildProof(params(), { version: ProofVersion.V2 }));
    expect(hashed.input.hash).to.equal(encrypted.input.hash);
    const commitments = new Set([privateProofCommitment(hashed), privateProofCommitment(encrypted), v2]);
    expect(commitments.size).to.equal(3);
  });

  it("a disclosure key opens its one proof, and not another proof of the same requester", async function () {
    const { proof } = await signed("encrypted");
    const other = (await signed("encrypted", { requestId: b32("another request") })).proof;
    const disclosure = privateProofDisclosureKey(proof, REQUESTER.privateKey);
    expect(disclosure).to.match(/^strata-dk1:[0-9a-f]{64}$/);
    const opened = await openPrivateProof(proof, { disclosureKey: disclosure });
    expect(Buffer.from(opened.outputs[0].bytes!)).to.deep.equal(MARKER);
    const error = await caught(() => openPrivateProof(other, { disclosureKey: disclosure }));
    expect(error).to.be.instanceOf(EnvelopeKeyError);
    expect((error as EnvelopeKeyError).keyKind).to.equal("content");
  });

  it("a wrong private key fails clearly, naming the key's public key and no secret", async function () {
    const { proof } = await signed("encrypted");
    const error = await caught(() => openPrivateProof(proof, { privateKey: OUTSIDER.privateKey }));
    expect(error).to.be.instanceOf(EnvelopeKeyError);
    expect((error as Error).message).to.contain(formatPrivacyPublicKey(OUTSIDER.publicKey));
    expect((error as Error).message).to.not.contain(Buffer.from(OUTSIDER.privateKey).toString("hex"));
  });

  it("a flipped ciphertext byte is caught at the envelope hash, or at the signature once the hash is updated", async function () {
    const { proof, bytes } = await signed("encrypted");
    const flipped = bytes.slice();
    flipped[flipped.length - 20] ^= 1;
    const error = await caught(() => decodePrivateProof(flipped));
    expect(error).to.be.instanceOf(ProofFormatError);
    expect((error as ProofFormatError).field).to.equal("envelope.hash");

    const envelope = proof.envelope!.bytes.slice();
    envelope[envelope.length - 20] ^= 1;

    const rehashed = { ...proof, envelope: { hash: ciphertextHash(envelope), bytes: envelope } };
    expect(await caught(() => verifyPrivateProofSignature(rehashed))).to.be.instanceOf(SignatureError);
  });

  it("a flipped ciphertext byte re-signed by the node fails authentication when opened", async function () {
    const { proof } = await signed("encrypted");

    const forged = await resigned(proof, (doc) => {
      const envelope = doc.envelope!.bytes.slice();
      envelope[envelope.length - 20] ^= 1;
      return { ...doc, envelope: { hash: ciphertextHash(envelope), bytes: envelope } };
    });
    verifyPrivateProofSignature(forged);
    const error = await caught(() => openPrivateProof(forged, { privateKey: REQUESTER.privateKey }));
    expect(error).to.be.instanceOf(EnvelopeCorruptedError);
    expect((error as EnvelopeCorruptedError).region).to.equal("payload");
  });

  it("a ciphertext swapped from another proof is caught: at the signature, or by its context when re-signed", async function () {
    const { proof } = await signed("encrypted");
    const other = (await signed("encrypted", { requestId: b32("another request") })).proof;
    const swapped = { ...proof, envelope: other.envelope };
    expect(await caught(() => verifyPrivateProofSignature(swapped))).to.be.instanceOf(SignatureError);

    const forged = await resigned(proof, (doc) => ({ ...doc, envelope: other.envelope }));
    verifyPrivateProofSignature(forged);
    const error = await caught(() => openPrivateProof(forged, { privateKey: REQUESTER.privateKey }));
    expect(error).to.be.instanceOf(EnvelopeContextError);
  });

  it("an envelope of other tensors under the right context is caught against the committed hashes", async function () {
    const { proof } = await signed("encrypted");
    // The node seals other bytes for this very proof and signs: the plaintext hashes give it away.
    const changed = params({
      outputs: [tensorFromBytes("echo", "uint8", [MARKER.length], new Uint8Array(MARKER.length))],
    });
    const liar = await buildPrivateProof(changed, { privacy: "encrypted", recipient: REQUESTER.publicKey });
    const forged = await resigned(proof, (doc) => ({ ...doc, envelope: liar.envelope }));
    const error = await caught(() => openPrivateProof(forged, { privateKey: REQUESTER.privateKey }));
    expect(error).to.be.instanceOf(PrivateDataError);
    expect((error as PrivateDataError).set).to.equal("output");
    expect((error as PrivateDataError).tensor).to.equal("echo");
  });

  it("hashed-mode data that does not match its hashes is rejected, and matching data is accepted", async function () {
    const { proof } = await signed("hashed");
    const p = params();
    const shown = revealPrivateProof(proof, { inputs: p.inputs, outputs: p.outputs });
    expect(shown.inputs.map((t) => t.hash)).to.deep.equal(proof.input.tensors.map((t) => t.hash));

    const tampered: Tensor[] = [p.inputs[0], encodeTensor("scale", "float32", [2], new Float32Array([0.5, 3]))];
    const error = await caught(() => revealPrivateProof(proof, { inputs: tampered, outputs: p.outputs }));
    expect(error).to.be.instanceOf(PrivateDataError);
    expect((error as PrivateDataError).tensor).to.equal("scale");
    expect((error as Error).message).to.contain("not the data the node ran");

    const missing = await caught(() => revealPrivateProof(proof, { inputs: [p.inputs[0]], outputs: p.outputs }));
    expect((missing as PrivateDataError).message).to.contain("not given");
    const reshaped = [p.inputs[0], encodeTensor("scale", "float32", [1, 2], new Float32Array([0.5, 2]))];
    const shape = await caught(() => revealPrivateProof(proof, { inputs: reshaped, outputs: p.outputs }));
    expect((shape as PrivateDataError).message).to.contain("committed as float32 [2]");
  });

  it("decoding is strict: trailing bytes, an envelope in hashed mode, a non-canonical header", async function () {
    const { bytes } = await signed("hashed");
    const trailing = new Uint8Array([...bytes, 0]);
    expect(((await caught(() => decodePrivateProof(trailing))) as ProofFormatError).field).to.equal("trailing");
    const { proof: enc } = await signed("encrypted");
    const { proof: hashed } = await signed("hashed");
    expect(
      ((await caught(() => encodePrivateProof({ ...hashed, envelope: enc.envelope }))) as ProofFormatError).field,
    ).to.equal("envelope");
    expect(
      ((await caught(() => encodePrivateProof({ ...enc, envelope: undefined }))) as ProofFormatError).field,
    ).to.equal("envelope");
  });

  it("v1 and v2 readers refuse a v3 proof by its version; decodeAnyProof reads every version", async function () {
    const { bytes } = await signed("hashed");
    const error = await caught(() => decodeProof(bytes));
    expect(error).to.be.instanceOf(ProofFormatError);
    expect((error as Error).message).to.contain("decodePrivateProof");
    expect(decodeAnyProof(bytes).version).to.equal(3);
    const v2 = await signProof(buildProof(params(), { version: ProofVersion.V2 }), NODE);
    expect(decodeAnyProof(encodeProof(v2)).version).to.equal(2);
  });
});
