import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Signature, TypedDataEncoder } from "ethers";
import {
  assertCanonicalSignature,
  buildProof,
  canonicalJson,
  decodeProof,
  encodeProof,
  encodeTensor,
  hashRuntime,
  hashTensor,
  hashTensorSet,
  makeTensorSet,
  NonCanonicalSignatureError,
  PROOF_EIP712_TYPES,
  proofCommitment,
  ProofFormatError,
  ProofVersion,
  recoverProofSigner,
  SignatureError,
  signProof,
  UnsupportedVersionError,
  verifyProofSignature,
  toBlobIdHex,
  toModelId,
  type BlobIdHex,
  type InferenceProofV1,
} from "../src";
import { b32, deployFixture, proofParams, RUNTIME } from "./fixtures";

/** The order of secp256k1. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

async function signedFixture() {
  const base = await deployFixture();
  const unsigned = buildProof(proofParams(base.client, base.node.address));
  const signed = await signProof(unsigned, base.node);
  return { ...base, unsigned, signed };
}

/** A deep copy of `doc` changed by `edit`. */
function tamper(doc: InferenceProofV1, edit: (copy: InferenceProofV1) => void): InferenceProofV1 {
  const copy = structuredClone(doc);
  edit(copy);
  return copy;
}

/** `doc` with its input/output hashes recomputed, as a forger who edits tensors would. */
function rehash(doc: InferenceProofV1): InferenceProofV1 {
  return { ...doc, input: makeTensorSet(doc.input.tensors), output: makeTensorSet(doc.output.tensors) };
}

function expectFormatError(run: () => unknown, field: string, reason?: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a ProofFormatError at ${field}`).to.be.instanceOf(ProofFormatError);
  expect((caught as ProofFormatError).field).to.equal(field);
  if (reason) expect((caught as Error).message).to.match(reason);
}

describe("core inference proofs", function () {
  describe("commitment and signature", function () {
    it("signs a proof by its node, and the signature recovers to the node", async function () {
      const { signed, node } = await loadFixture(signedFixture);
      expect(signed.signature).to.match(/^0x[0-9a-f]{130}$/);
      expect(recoverProofSigner(signed)).to.equal(node.address);
      expect(verifyProofSignature(signed)).to.equal(proofCommitment(signed));
    });

    it("commits to the EIP-712 digest of the documented type under the Strata domain", async function () {
      const { signed, deployment } = await loadFixture(signedFixture);
      expect(TypedDataEncoder.from(PROOF_EIP712_TYPES[ProofVersion.V1]).encodeType("InferenceProof")).to.equal(
        "InferenceProof(uint16 version,bytes32 modelId,uint32 modelVersion,bytes32 modelBlobId,bytes32 modelSha256," +
          "address modelRegistry,bytes32 inputHash,bytes32 outputHash,bytes32 runtimeHash,address node," +
          "uint64 timestamp,bytes32 requestId)",
      );
      const expected = TypedDataEncoder.hash(
        { name: "Strata", version: "1", chainId: 31337, verifyingContract: deployment.contracts.ProofRegistry },
        PROOF_EIP712_TYPES[ProofVersion.V1],
        {
          version: 1,
          modelId: signed.model.id,
          modelVersion: signed.model.version,
          modelBlobId: signed.model.blobId,
          modelSha256: signed.model.sha256,
          modelRegistry: deployment.contracts.ModelRegistry,
          inputHash: signed.input.hash,
          outputHash: signed.output.hash,
          runtimeHash: hashRuntime(signed.runtime),
          node: signed.node,
          timestamp: signed.timestamp,
          requestId: signed.requestId,
        },
      );
      expect(proofCommitment(signed)).to.equal(expected);
    });

    it("hashes tensors, tensor sets and the runtime by the documented rules", async function () {
      const { signed } = await loadFixture(signedFixture);
      const coder = ethers.AbiCoder.defaultAbiCoder();
      const logits = signed.output.tensors.find((t) => t.name === "logits")!;
      expect(hashTensor(logits)).to.equal(
        ethers.keccak256(
          coder.encode(
            ["string", "string", "uint256[]", "bytes32"],
            ["logits", "float32", [1, 3], ethers.keccak256(Buffer.from(logits.data, "base64"))],
          ),
        ),
      );
      // Sorted by name: "label" < "logits".
      expect(signed.output.tensors.map((t) => t.name)).to.deep.equal(["label", "logits"]);
      expect(signed.output.hash).to.equal(
        ethers.keccak256(coder.encode(["bytes32[]"], [signed.output.tensors.map((t) => t.hash)])),
      );
      expect(hashRuntime(RUNTIME)).to.equal(ethers.keccak256(ethers.toUtf8Bytes(canonicalJson(RUNTIME))));
      expect(canonicalJson(RUNTIME)).to.equal(
        '{"engine":"onnxruntime-node","executionMode":"sequential","executionProviders":["cpu"],' +
          '"graphOptimizationLevel":"all","interOpNumThreads":1,"intraOpNumThreads":1,"version":"1.30.0"}',
      );
    });

    it("does not depend on the order tensors are given in", async function () {
      const { client, node, unsigned } = await loadFixture(signedFixture);
      const params = proofParams(client, node.address);
      const reordered = buildProof({ ...params, outputs: [...params.outputs].reverse() });
      expect(proofCommitment(reordered)).to.equal(proofCommitment(unsigned));
      expect(hashTensorSet([...unsigned.output.tensors].reverse())).to.equal(unsigned.output.hash);
    });

    it("gives two requests with the same input different commitments", async function () {
      const { client, node, unsigned } = await loadFixture(signedFixture);
      const { requestId: _fixed, ...params } = proofParams(client, node.address);
      const fresh = buildProof(params);
      expect(fresh.requestId)
        .to.match(/^0x[0-9a-f]{64}$/)
        .and.not.equal(unsigned.requestId);
      expect(proofCommitment(fresh)).to.not.equal(proofCommitment(unsigned));
    });

    it("refuses to sign with a key other than the proof's node", async function () {
      const { unsigned, other } = await loadFixture(signedFixture);
      let caught: unknown;
      await signProof(unsigned, other).catch((error: unknown) => (caught = error));
      expect(caught).to.be.instanceOf(SignatureError);
      expect((caught as SignatureError).recovered).to.equal(other.address);
    });

    it("rejects a signature by another key, and the high-s twin of the node's signature", async function () {
      const { signed, other } = await loadFixture(signedFixture);
      const forged = { ...signed, signature: await other.signMessage("not this") };
      expect(() => verifyProofSignature(forged)).to.throw(SignatureError, /not by its node/);
      const sig = Signature.from(signed.signature);
      const highS = ethers.concat([sig.r, ethers.toBeHex(N - BigInt(sig.s), 32), sig.v === 27 ? "0x1c" : "0x1b"]);
      expect(() => recoverProofSigner({ ...signed, signature: highS })).to.throw(NonCanonicalSignatureError, /s 0x/);
    });

    it("accepts the node's own signature: s at most n/2 and v 27 or 28", async function () {
      const { signed, node } = await loadFixture(signedFixture);
      const sig = Signature.from(signed.signature);
      expect(BigInt(sig.s) <= N / 2n).to.equal(true);
      expect([27, 28]).to.include(sig.v);
      expect(() => assertCanonicalSignature(signed.signature)).to.not.throw();
      expect(recoverProofSigner(signed)).to.equal(node.address);
    });

    it("rejects the node's signature re-encoded with v 0, 1 or an EIP-155 v, with a typed error naming v", async function () {
      const { signed } = await loadFixture(signedFixture);
      const sig = Signature.from(signed.signature);
      const parity = sig.v - 27;
      for (const v of [parity, 1 - parity, 35 + parity, 37 + 2 * 100 + parity, 29, 255]) {
        const signature = ethers.concat([sig.r, sig.s, ethers.toBeHex(v, 1)]);
        let caught: unknown;
        try {
          recoverProofSigner({ ...signed, signature });
        } catch (error) {
          caught = error;
        }
        expect(caught, `v ${v}`).to.be.instanceOf(NonCanonicalSignatureError);
        expect((caught as NonCanonicalSignatureError).part).to.equal("v");
        expect((caught as NonCanonicalSignatureError).value).to.equal(String(v));
        expect((caught as Error).message)
          .to.contain(`v ${v}`)
          .and.contain("27 or 28");
        expect(() => verifyProofSignature({ ...signed, signature })).to.throw(NonCanonicalSignatureError);
      }
    });

    it("rejects an s above n/2 even below 2^255 (which ethers accepts), and a zero s or r, naming the value", async function () {
      const { signed } = await loadFixture(signedFixture);
      const sig = Signature.from(signed.signature);
      for (const [part, r, s] of [
        ["s", sig.r, N / 2n + 1n],
        ["s", sig.r, 2n ** 255n - 1n],
        ["s", sig.r, 0n],
        ["r", ethers.ZeroHash, BigInt(sig.s)],
      ] as const) {
        const hexS = ethers.toBeHex(s, 32);
        const signature = ethers.concat([r, hexS, ethers.toBeHex(sig.v, 1)]);
        let caught: unknown;
        try {
          assertCanonicalSignature(signature);
        } catch (error) {
          caught = error;
        }
        expect(caught, `${part} ${hexS}`).to.be.instanceOf(NonCanonicalSignatureError);
        expect((caught as NonCanonicalSignatureError).part).to.equal(part);
        expect((caught as Error).message).to.contain(part === "s" ? hexS : ethers.ZeroHash);
      }
    });
  });

  describe("tampering", function () {
    const edits: [string, string, (d: InferenceProofV1) => void][] = [
      ["an output value", "output.tensors[1].hash", (d) => (d.output.tensors[1].data = altered(d.output.tensors[1]))],
      ["an input value", "input.tensors[0].hash", (d) => (d.input.tensors[0].data = altered(d.input.tensors[0]))],
      ["an output's dims", "output.tensors[1].hash", (d) => (d.output.tensors[1].dims = [3, 1])],
      ["a tensor set hash", "output.hash", (d) => (d.output.hash = b32("x"))],
    ];
    for (const [what, field, edit] of edits) {
      it(`detects ${what} whose hash was left as is`, async function () {
        const { signed } = await loadFixture(signedFixture);
        expectFormatError(() => proofCommitment(tamper(signed, edit)), field, /altered/);
      });
    }

    it("changes the commitment, and breaks the signature, when tensors are edited and rehashed", async function () {
      const { signed } = await loadFixture(signedFixture);
      for (const edit of [edits[0][2], edits[1][2], edits[2][2]]) {
        const forged = rehash(tamper(signed, edit));
        expect(proofCommitment(forged)).to.not.equal(proofCommitment(signed));
        expect(() => verifyProofSignature(forged)).to.throw(SignatureError);
      }
    });

    const fields: [string, (d: InferenceProofV1) => void][] = [
      ["the model Blob ID", (d) => (d.model.blobId = toBlobIdHex(b32("other blob")))],
      ["the model sha256", (d) => (d.model.sha256 = b32("other sha"))],
      ["the model id", (d) => (d.model.id = toModelId(b32("other model")))],
      ["the model version", (d) => (d.model.version = 1)],
      ["a runtime setting", (d) => (d.runtime.intraOpNumThreads = 4)],
      ["the runtime version", (d) => (d.runtime.version = "1.30.1")],
      ["an added runtime setting", (d) => (d.runtime.settings = { enableCpuMemArena: false })],
      ["the timestamp", (d) => (d.timestamp += 1)],
      ["the node", (d) => (d.node = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")],
      ["the request id", (d) => (d.requestId = b32("other request"))],
      ["the chain id", (d) => (d.domain.chainId = 1)],
      ["the proof registry", (d) => (d.domain.proofRegistry = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")],
      ["the model registry", (d) => (d.domain.modelRegistry = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")],
    ];
    for (const [what, edit] of fields) {
      it(`changes the commitment and breaks the signature when ${what} changes`, async function () {
        const { signed, node } = await loadFixture(signedFixture);
        const forged = tamper(signed, edit);
        expect(proofCommitment(forged)).to.not.equal(proofCommitment(signed));
        expect(recoverProofSigner(forged)).to.not.equal(node.address);
        expect(() => verifyProofSignature(forged)).to.throw(SignatureError);
      });
    }
  });

  describe("serialization", function () {
    it("round-trips through canonical bytes", async function () {
      const { signed } = await loadFixture(signedFixture);
      const bytes = encodeProof(signed);
      const text = Buffer.from(bytes).toString("utf8");
      expect(text.startsWith('{"domain":{"chainId":31337,')).to.equal(true);
      expect(text).to.not.match(/\s/);
      const decoded = decodeProof(bytes);
      expect(decoded).to.deep.equal(signed);
      expect(Buffer.from(encodeProof(decoded)).equals(Buffer.from(bytes))).to.equal(true);
      expect(proofCommitment(decoded)).to.equal(proofCommitment(signed));
    });

    it("reads pretty-printed JSON with other key order and hex case, normalizing it", async function () {
      const { signed } = await loadFixture(signedFixture);
      const { signature, ...rest } = signed;
      const loose = JSON.stringify({ signature: signature.toUpperCase().replace("0X", "0x"), ...rest }, null, 2);
      const decoded = decodeProof(loose.replace(signed.requestId, signed.requestId.toUpperCase().replace("0X", "0x")));
      expect(decoded).to.deep.equal(signed);
    });

    it("rejects an unknown version with a typed error", async function () {
      const { signed } = await loadFixture(signedFixture);
      for (const version of [0, 3, 99]) {
        let caught: unknown;
        try {
          decodeProof(JSON.stringify({ ...signed, version }));
        } catch (error) {
          caught = error;
        }
        expect(caught, String(version)).to.be.instanceOf(UnsupportedVersionError);
        expect((caught as UnsupportedVersionError).version).to.equal(version);
        expect((caught as UnsupportedVersionError).supported).to.deep.equal([1, 2]);
      }
    });

    it("rejects a JSON document that says version 2 (v2 proofs are binary), naming version", async function () {
      const { signed } = await loadFixture(signedFixture);
      expectFormatError(() => decodeProof(JSON.stringify({ ...signed, version: 2 })), "version", /binary/);
    });

    const malformed: [string, string, (d: Record<string, unknown> & InferenceProofV1) => void, RegExp?][] = [
      ["a missing version", "version", (d) => delete (d as Partial<InferenceProofV1>).version, /missing/],
      ["a string version", "version", (d) => ((d as Record<string, unknown>).version = "1")],
      ["a missing signature", "signature", (d) => delete (d as Partial<InferenceProofV1>).signature, /missing/],
      ["an unknown top-level field", "extra", (d) => (d.extra = 1), /not a known field/],
      ["an unknown nested field", "model.name", (d) => Object.assign(d.model, { name: "m" }), /not a known field/],
      ["a zero chain id", "domain.chainId", (d) => (d.domain.chainId = 0)],
      ["a bad registry address", "domain.proofRegistry", (d) => (d.domain.proofRegistry = "0x1234")],
      [
        "a bad checksum",
        "node",
        (d) => (d.node = d.node.slice(0, 2) + d.node.slice(2, 4).toLowerCase() + "ABCDEF".repeat(6) + "ab"),
      ],
      ["a short Blob ID", "model.blobId", (d) => (d.model.blobId = "0x1234" as BlobIdHex)],
      ["a negative model version", "model.version", (d) => (d.model.version = -1)],
      ["a fractional timestamp", "timestamp", (d) => (d.timestamp = 1.5)],
      ["a string timestamp", "timestamp", (d) => ((d as Record<string, unknown>).timestamp = "1750000000")],
      ["a short signature", "signature", (d) => (d.signature = "0x1234"), /65 bytes/],
      ["no input tensors", "input.tensors", (d) => (d.input.tensors = []), /at least 1/],
      [
        "an unknown dtype",
        "output.tensors[0].dtype",
        (d) => ((d.output.tensors[0] as { dtype: string }).dtype = "str"),
      ],
      [
        "dims that disagree with the data",
        "output.tensors[1].data",
        (d) => (d.output.tensors[1].dims = [1, 4]),
        /need 16 bytes/,
      ],
      ["a repeated tensor name", "output.tensors[1].name", (d) => (d.output.tensors[1].name = "label"), /repeats/],
      [
        "a bad optimization level",
        "runtime.graphOptimizationLevel",
        (d) => ((d.runtime as { graphOptimizationLevel: string }).graphOptimizationLevel = "max"),
      ],
      [
        "a nested runtime setting",
        "runtime.settings.x",
        (d) => ((d.runtime as { settings: unknown }).settings = { x: { y: 1 } }),
      ],
      ["a missing runtime engine", "runtime.engine", (d) => delete (d.runtime as Partial<typeof d.runtime>).engine],
    ];
    for (const [what, field, edit, reason] of malformed) {
      it(`rejects ${what}, naming ${field}`, async function () {
        const { signed } = await loadFixture(signedFixture);
        const doc = structuredClone(signed) as Record<string, unknown> & InferenceProofV1;
        edit(doc);
        expectFormatError(() => decodeProof(JSON.stringify(doc)), field, reason);
      });
    }

    it("rejects bytes that are not UTF-8 JSON objects", function () {
      expectFormatError(() => decodeProof(new Uint8Array([0x7b, 0xff, 0x7d])), "$", /not UTF-8 JSON/);
      expectFormatError(() => decodeProof("{"), "$", /not UTF-8 JSON/);
      expectFormatError(() => decodeProof("[]"), "$", /object/);
      expectFormatError(() => decodeProof("null"), "$", /object/);
    });

    it("refuses to encode a document that is not a valid proof", async function () {
      const { signed } = await loadFixture(signedFixture);
      expectFormatError(() => encodeProof({ ...signed, timestamp: -1 }), "timestamp");
    });

    it("checks the parameters it builds a proof from", async function () {
      const { client, node } = await loadFixture(signedFixture);
      const params = proofParams(client, node.address);
      expectFormatError(() => buildProof({ ...params, model: { ...params.model, sha256: "0x00" } }), "model.sha256");
      const twice = [...params.outputs, encodeTensor("label", "int64", [1], new BigInt64Array([2n]))];
      expect(() => buildProof({ ...params, outputs: twice })).to.throw(/same set have this name|repeats/);
    });
  });
});

/** The tensor's data with its first byte flipped. */
function altered(tensor: { data: string }): string {
  const bytes = Buffer.from(tensor.data, "base64");
  bytes[0] ^= 0x01;
  return bytes.toString("base64");
}
