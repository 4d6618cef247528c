import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import { TypedDataEncoder, Wallet } from "ethers";
import {
  buildProof,
  canonicalJson,
  decodeProof,
  decodeTensor,
  DTYPES,
  encodeBinaryTensor,
  encodeProof,
  encodeTensor,
  isBinaryProof,
  LATEST_PROOF_VERSION,
  proofCommitment,
  ProofFormatError,
  prehashTensor,
  proofToJson,
  proofTypedData,
  ProofVersion,
  recoverProofSigner,
  SignatureError,
  signProof,
  signProofWithCommitment,
  UnsupportedVersionError,
  validateProof,
  verifyProofSignature,
  type Dtype,
  type DtypeArrays,
  type InferenceProofV2,
  type Tensor,
} from "../src";
import { deployFixture, proofParams } from "./fixtures";

/** One tensor of every dtype (both base64 and binary inputs), a scalar, and zero-size tensors. */
function everyDtype(): Tensor[] {
  const values: { [D in Dtype]: [number[], DtypeArrays[D]] } = {
    float16: [[2], new Uint16Array([0x3c00, 0xc000])],
    float32: [[1, 3], new Float32Array([1.5, -2, Number.NaN])],
    float64: [[2], new Float64Array([Math.PI, -0])],
    int8: [[3], new Int8Array([-128, 0, 127])],
    uint8: [[2], new Uint8Array([0, 255])],
    int16: [[2], new Int16Array([-32768, 32767])],
    uint16: [[1], new Uint16Array([65535])],
    int32: [[], new Int32Array([-7])],
    uint32: [[2], new Uint32Array([0, 0xffffffff])],
    int64: [[2], new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n])],
    uint64: [[1], new BigUint64Array([2n ** 64n - 1n])],
    bool: [[2, 2], new Uint8Array([0, 1, 1, 0])],
    string: [[3], ["a", "", "😀 ünïcode"]],
  };
  const tensors = DTYPES.map((dtype, i) => {
    const [dims, vals] = values[dtype];
    // Half of them binary, half base64: a v2 proof takes either.
    return i % 2 === 0
      ? encodeBinaryTensor(`t_${dtype}`, dtype, dims, vals as never)
      : encodeTensor(`t_${dtype}`, dtype, dims, vals as never);
  });
  tensors.push(encodeBinaryTensor("empty_f32", "float32", [0, 4], new Float32Array(0)));
  tensors.push(encodeTensor("empty_str", "string", [2, 0], []));
  return tensors;
}

async function v2Fixture() {
  const base = await deployFixture();
  const params = proofParams(base.client, base.node.address, { inputs: everyDtype() });
  const unsigned = buildProof(params, { version: ProofVersion.V2 });
  const { proof: signed, commitment } = await signProofWithCommitment(unsigned, base.node);
  const v1 = await signProof(buildProof(params), base.node);
  return { ...base, params, unsigned, signed, commitment, v1 };
}

/** The parts of a v2 proof's bytes, read by hand (not by the library): prefix fields, header JSON, tensor bytes. */
function split(bytes: Uint8Array): { version: number; header: Record<string, unknown>; body: Buffer } {
  const b = Buffer.from(bytes);
  const headerLength = b.readUInt32LE(6);
  return {
    version: b.readUInt16LE(4),
    header: JSON.parse(b.subarray(10, 10 + headerLength).toString("utf8")) as Record<string, unknown>,
    body: b.subarray(10 + headerLength),
  };
}

/** Frames a header text and body as the v2 layout says, by hand. */
function frame(header: string, body: Uint8Array, version = 2): Uint8Array {
  const h = Buffer.from(header, "utf8");
  const prefix = Buffer.alloc(10);
  Buffer.from([0x89, 0x53, 0x54, 0x50]).copy(prefix, 0);
  prefix.writeUInt16LE(version, 4);
  prefix.writeUInt32LE(h.length, 6);
  return new Uint8Array(Buffer.concat([prefix, h, body]));
}

type HeaderTensor = { name: string; length: number; dims: number[] };
type Header = Record<string, unknown> & { input: { tensors: HeaderTensor[] }; output: { tensors: HeaderTensor[] } };

function formatError(run: () => unknown): ProofFormatError {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(ProofFormatError);
    return error as ProofFormatError;
  }
  expect.fail("expected a ProofFormatError");
}

describe("core proof format v2 (binary tensors)", function () {
  describe("round trips", function () {
    it("encodes every dtype, a scalar and zero-size tensors as raw bytes and decodes them back unchanged", async function () {
      const { signed, commitment } = await loadFixture(v2Fixture);
      expect(signed.version).to.equal(2);
      const bytes = encodeProof(signed);
      expect(isBinaryProof(bytes)).to.equal(true);
      const decoded = decodeProof(bytes) as InferenceProofV2;
      expect(decoded.version).to.equal(ProofVersion.V2);
      expect(Buffer.from(encodeProof(decoded)).equals(Buffer.from(bytes))).to.equal(true);
      expect(proofCommitment(decoded)).to.equal(commitment);
      expect(verifyProofSignature(decoded)).to.equal(commitment);
      for (const set of ["input", "output"] as const) {
        signed[set].tensors.forEach((tensor, i) => {
          const back = decoded[set].tensors[i];
          expect(back.name).to.equal(tensor.name);
          expect(back.dims).to.deep.equal(tensor.dims);
          expect(Buffer.from(back.bytes!).equals(Buffer.from(tensor.bytes!))).to.equal(true, tensor.name);
          // The lazy base64 view says the same, and the values decode.
          expect(back.data).to.equal(Buffer.from(tensor.bytes!).toString("base64"));
          expect(decodeTensor(back).values).to.deep.equal(decodeTensor(tensor).values);
        });
      }
      expect(decoded.input.tensors.map((t) => t.dtype)).to.include.members([...DTYPES]);
    });

    it("lays the bytes out as documented: magic, u16 version, u32 header length, canonical header, tensor bytes in header order", async function () {
      const { signed } = await loadFixture(v2Fixture);
      const bytes = encodeProof(signed);
      expect([...bytes.subarray(0, 4)]).to.deep.equal([0x89, 0x53, 0x54, 0x50]);
      const { version, header, body } = split(bytes);
      expect(version).to.equal(2);
      expect(header.version).to.equal(2);
      const h = header as Header;
      const all = [...signed.input.tensors, ...signed.output.tensors];
      const entries = [...h.input.tensors, ...h.output.tensors];
      expect(entries.map((t) => t.name)).to.deep.equal(all.map((t) => t.name));
      expect(entries.map((t) => Object.keys(t).sort())).to.deep.equal(
        all.map(() => ["dims", "dtype", "hash", "length", "name"]),
      );
      expect(Buffer.concat(all.map((t) => Buffer.from(t.bytes!))).equals(body)).to.equal(true);
      // The header holds everything else of the document.
      const { input: _i, output: _o, ...rest } = header;
      const { input: _si, output: _so, ...signedRest } = signed;
      expect(rest).to.deep.equal(JSON.parse(canonicalJson(signedRest)));
    });

    it("still decodes and verifies v1 JSON proofs beside v2 ones", async function () {
      const { v1, signed } = await loadFixture(v2Fixture);
      const bytes = encodeProof(v1);
      expect(Buffer.from(bytes).toString("utf8").startsWith("{")).to.equal(true);
      const decoded = decodeProof(bytes);
      expect(decoded.version).to.equal(1);
      expect(decoded).to.deep.equal(v1);
      expect(verifyProofSignature(decoded)).to.equal(proofCommitment(v1));
      expect(proofCommitment(v1)).to.not.equal(proofCommitment(signed));
      expect(LATEST_PROOF_VERSION).to.equal(ProofVersion.V2);
    });

    it("validates a hand-made v2 document that gives base64 data instead of bytes, and rejects one whose data and bytes disagree", async function () {
      const { signed, commitment } = await loadFixture(v2Fixture);
      const asData = {
        ...signed,
        input: {
          ...signed.input,
          tensors: signed.input.tensors.map((t) => ({
            name: t.name,
            dtype: t.dtype,
            dims: t.dims,
            hash: t.hash,
            data: t.data,
          })),
        },
      };
      const checked = validateProof(asData);
      expect(checked.input.tensors[0].bytes).to.be.instanceOf(Uint8Array);
      expect(proofCommitment(asData)).to.equal(commitment);
      const i = signed.input.tensors.findIndex((t) => t.name === "t_float32");
      const tensors = [...signed.input.tensors];
      tensors[i] = { ...tensors[i], data: Buffer.from(tensors[i].bytes!.map((b) => b ^ 1)).toString("base64") };
      const mixed = { ...signed, input: { ...signed.input, tensors } };
      expect(formatError(() => validateProof(mixed)).field).to.equal(`input.tensors[${i}].data`);
    });
  });

  it("gives a JSON view with base64 data for display, which validates back to the same commitment", async function () {
    const { signed, commitment } = await loadFixture(v2Fixture);
    const text = JSON.stringify(proofToJson(signed));
    expect(text).to.not.contain('"bytes"');
    const parsed = JSON.parse(text) as { input: { tensors: { data: string }[] } };
    expect(parsed.input.tensors[1].data).to.equal(signed.input.tensors[1].data);
    expect(proofCommitment(validateProof(parsed))).to.equal(commitment);
  });

  it("builds the same proof from tensors hashed ahead (prehashTensor), and trusts no copy of them", async function () {
    const { params, unsigned, v1 } = await loadFixture(v2Fixture);
    const ahead = { ...params, inputs: params.inputs.map((t) => prehashTensor(t)) };
    expect(proofCommitment(buildProof(ahead, { version: ProofVersion.V2 }))).to.equal(proofCommitment(unsigned));
    expect(proofCommitment(buildProof(ahead))).to.equal(proofCommitment(v1));
    // A copy with other data keeps the stale hash field, but is hashed afresh.
    const [first, ...rest] = ahead.inputs;
    const other = encodeBinaryTensor(first.name, "float32", [0, 4], new Float32Array(0));
    const copy = { ...first, dtype: other.dtype, dims: other.dims, bytes: other.bytes };
    const built = buildProof({ ...params, inputs: [copy, ...rest] }, { version: ProofVersion.V2 });
    expect(built.input.tensors[0].hash).to.not.equal(first.hash);
    expect(() => proofCommitment(built)).to.not.throw();
  });

  it("signs a v2 proof with a local key as with a remote signer: the same commitment, a signature by the node", async function () {
    const { client } = await loadFixture(v2Fixture);
    const key = new Wallet(ethers.id("proof v2 local key"));
    const unsigned = buildProof(proofParams(client, key.address, { inputs: everyDtype() }), {
      version: ProofVersion.V2,
    });
    const { proof, commitment } = await signProofWithCommitment(unsigned, key);
    expect(proof.version).to.equal(2);
    expect(verifyProofSignature(decodeProof(encodeProof(proof)))).to.equal(commitment);
    expect(recoverProofSigner(proof)).to.equal(key.address);
  });

  describe("commitment", function () {
    it("is the EIP-712 digest of the v1 message with version 2 (checked with ethers' TypedDataEncoder)", async function () {
      const { signed, v1, client } = await loadFixture(v2Fixture);
      // The documented type, written out here, not taken from the library.
      const types = {
        InferenceProof: [
          { name: "version", type: "uint16" },
          { name: "modelId", type: "bytes32" },
          { name: "modelVersion", type: "uint32" },
          { name: "modelBlobId", type: "bytes32" },
          { name: "modelSha256", type: "bytes32" },
          { name: "modelRegistry", type: "address" },
          { name: "inputHash", type: "bytes32" },
          { name: "outputHash", type: "bytes32" },
          { name: "runtimeHash", type: "bytes32" },
          { name: "node", type: "address" },
          { name: "timestamp", type: "uint64" },
          { name: "requestId", type: "bytes32" },
        ],
      };
      const domain = {
        name: "Strata",
        version: "1",
        chainId: client.proofDomain.chainId,
        verifyingContract: client.proofDomain.proofRegistry,
      };
      const m1 = proofTypedData(v1).message;
      const m2 = proofTypedData(signed).message;
      expect({ ...m2, version: 1 }).to.deep.equal(m1);
      expect(m2.version).to.equal(2);
      expect(proofCommitment(v1)).to.equal(TypedDataEncoder.hash(domain, types, m1));
      expect(proofCommitment(signed)).to.equal(TypedDataEncoder.hash(domain, types, { ...m1, version: 2 }));
    });
  });

  describe("strict decoding", function () {
    it("rejects bytes trailing the last tensor, naming trailing and the offset", async function () {
      const { signed } = await loadFixture(v2Fixture);
      const bytes = encodeProof(signed);
      const error = formatError(() => decodeProof(new Uint8Array([...bytes, 0])));
      expect(error.field).to.equal("trailing");
      expect(error.message).to.contain(`offset ${bytes.length}`);
    });

    it("rejects tensor bytes cut short, naming the length of the tensor that runs past the end", async function () {
      const { signed } = await loadFixture(v2Fixture);
      const bytes = encodeProof(signed);
      const last = signed.output.tensors.length - 1;
      expect(formatError(() => decodeProof(bytes.subarray(0, bytes.length - 1))).field).to.equal(
        `output.tensors[${last}].length`,
      );
    });

    it("rejects a header length that passes the end, and a prefix cut short", async function () {
      const { signed } = await loadFixture(v2Fixture);
      const bytes = Buffer.from(encodeProof(signed));
      bytes.writeUInt32LE(bytes.length, 6);
      expect(formatError(() => decodeProof(bytes)).field).to.equal("headerLength");
      expect(formatError(() => decodeProof(bytes.subarray(0, 8))).field).to.equal("headerLength");
    });

    it("rejects a header length that disagrees with the dims, naming that tensor's length", async function () {
      const { signed } = await loadFixture(v2Fixture);
      const { header, body } = split(encodeProof(signed));
      const h = header as Header;
      const i = h.output.tensors.findIndex((t) => t.name === "logits");
      h.output.tensors[i].length -= 4;
      // Moved bytes: the total still matches, the tensor's length does not match its dims.
      const error = formatError(() => decodeProof(frame(canonicalJson(h), body.subarray(4))));
      expect(error.field).to.equal(`output.tensors[${i}].length`);
      expect(error.message).to.match(/need 12 bytes/);
    });

    it("rejects string bytes that are not length-prefixed UTF-8, naming the tensor's bytes", async function () {
      const { signed } = await loadFixture(v2Fixture);
      const { header, body } = split(encodeProof(signed));
      const h = header as Header;
      const i = h.input.tensors.findIndex((t) => t.name === "t_string");
      let at = 0;
      for (let j = 0; j < i; j++) at += h.input.tensors[j].length;
      const altered = Buffer.from(body);
      altered.writeUInt32LE(999, at); // the first string's length, now past its bytes
      expect(formatError(() => decodeProof(frame(canonicalJson(h), altered))).field).to.equal(
        `input.tensors[${i}].bytes`,
      );
    });

    it("rejects a header that is not the canonical JSON of the document, or not JSON, naming header", async function () {
      const { signed } = await loadFixture(v2Fixture);
      const { header, body } = split(encodeProof(signed));
      expect(formatError(() => decodeProof(frame(JSON.stringify(header, null, 1), body))).field).to.equal("header");
      const upper = canonicalJson(header).replace(signed.requestId, signed.requestId.toUpperCase().replace("0X", "0x"));
      expect(formatError(() => decodeProof(frame(upper, body))).field).to.equal("header");
      expect(formatError(() => decodeProof(frame("{", body))).field).to.equal("header");
    });

    it("rejects unknown and missing header fields by their path, and tensor data inside the header", async function () {
      const { signed } = await loadFixture(v2Fixture);
      const { header, body } = split(encodeProof(signed));
      const h = header as Header;
      expect(formatError(() => decodeProof(frame(canonicalJson({ ...h, extra: 1 }), body))).field).to.equal("extra");
      const withData = structuredClone(h) as Header;
      (withData.input.tensors[0] as unknown as Record<string, unknown>).data = "AA==";
      expect(formatError(() => decodeProof(frame(canonicalJson(withData), body))).field).to.equal(
        "input.tensors[0].data",
      );
      const { timestamp: _t, ...noTime } = h;
      expect(formatError(() => decodeProof(frame(canonicalJson(noTime), body))).field).to.equal("timestamp");
    });

    it("rejects a frame version other than 2 and a header version that disagrees with the frame's", async function () {
      const { signed } = await loadFixture(v2Fixture);
      const { header, body } = split(encodeProof(signed));
      expect(() => decodeProof(frame(canonicalJson(header), body, 7))).to.throw(UnsupportedVersionError);
      expect(formatError(() => decodeProof(frame(canonicalJson(header), body, 1))).field).to.equal("version");
      expect(formatError(() => decodeProof(frame(canonicalJson({ ...header, version: 1 }), body))).field).to.equal(
        "version",
      );
    });

    it("decodes altered tensor bytes, whose commitment then fails at that tensor's hash", async function () {
      const { signed } = await loadFixture(v2Fixture);
      const bytes = Buffer.from(encodeProof(signed));
      bytes[bytes.length - 1] ^= 0x01; // the last output tensor's last byte
      const decoded = decodeProof(bytes);
      const last = signed.output.tensors.length - 1;
      expect(formatError(() => proofCommitment(decoded)).field).to.equal(`output.tensors[${last}].hash`);
    });

    it("decodes an altered canonical header, whose signature then fails", async function () {
      const { signed } = await loadFixture(v2Fixture);
      const { header, body } = split(encodeProof(signed));
      const decoded = decodeProof(frame(canonicalJson({ ...header, timestamp: signed.timestamp + 1 }), body));
      expect(() => verifyProofSignature(decoded)).to.throw(SignatureError);
    });
  });
});
