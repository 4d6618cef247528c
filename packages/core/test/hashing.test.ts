import { expect } from "chai";
import { AbiCoder, getAddress, hexlify, keccak256, toUtf8Bytes, TypedDataEncoder } from "ethers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  BatchFormatError,
  buildBatch,
  buildProof,
  canonicalJson,
  decodeBatch,
  FIXED_DTYPES,
  DTYPE_SIZES,
  hashRuntime,
  hashTensor,
  hashTensorSet,
  leafOf,
  proofCommitment,
  ProofFormatError,
  proofTypedData,
  tensorFromBytes,
  validateProof,
  validateProofForCommitment,
  verifyBatchInclusion,
  type Dtype,
  type InferenceProofV1,
  type BlobIdHex,
  type ModelId,
  type ProofBatchDocumentV1,
  type RuntimeV1,
  type Tensor,
} from "../src";
import { keccak256Bytes, keccak256Hex } from "../src/keccak";

/**
 * Parity of core's direct encoders and keccak256 with the reference implementations they replace on the hot paths
 * (ethers' keccak256, AbiCoder and TypedDataEncoder; OpenZeppelin's StandardMerkleTree), on many seeded random inputs.
 */

const abi = AbiCoder.defaultAbiCoder();

/** A small seeded PRNG (mulberry32): the same inputs on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  return { next, int, bytes, pick, hex: (n: number) => hexlify(bytes(n)) };
}

const NAME_PARTS = ["x", "input", "logits", "é", "名前", "🙂", "a.b/c:d", " ", "\u0000", "𝔘"];

function randomName(r: ReturnType<typeof rng>): string {
  const length = 1 + r.int(8);
  let name = "";
  for (let i = 0; i < length; i++) name += r.next() < 0.5 ? r.pick(NAME_PARTS) : "n".repeat(1 + r.int(40));
  return name;
}

function randomTensor(r: ReturnType<typeof rng>, name = randomName(r)): Tensor {
  const dtype = r.pick(FIXED_DTYPES);
  const shapes: number[][] = [[], [0], [1], [1, 4], [0, 2 ** 40, 7], [2 ** 53 - 1, 0], [3, 0, 2 ** 32 + 5]];
  let dims: number[];
  if (r.next() < 0.4) dims = r.pick(shapes);
  else dims = Array.from({ length: 1 + r.int(5) }, () => 1 + r.int(4));
  const count = dims.reduce((a, b) => a * b, 1);
  let bytes = r.bytes(count * DTYPE_SIZES[dtype]);
  if (dtype === "bool") bytes = bytes.map((b) => b & 1);
  return tensorFromBytes(name, dtype as Dtype, dims, bytes);
}

function referenceTensorHash(tensor: Tensor): string {
  const data = Buffer.from(tensor.data, "base64");
  return keccak256(
    abi.encode(["string", "string", "uint256[]", "bytes32"], [tensor.name, tensor.dtype, tensor.dims, keccak256(data)]),
  );
}

function randomRuntime(r: ReturnType<typeof rng>): RuntimeV1 {
  const runtime: RuntimeV1 = {
    engine: r.pick(["onnxruntime-node", "onnxruntime-web", "é-engine"]),
    version: `${r.int(3)}.${r.int(30)}.${r.int(9)}`,
    graphOptimizationLevel: r.pick(["disabled", "basic", "extended", "layout", "all"] as const),
    executionMode: r.pick(["sequential", "parallel"] as const),
    intraOpNumThreads: r.int(1025),
  };
  if (r.next() < 0.5) runtime.interOpNumThreads = r.int(1025);
  if (r.next() < 0.5) runtime.executionProviders = ["cpu", "名前"].slice(0, 1 + r.int(2));
  if (r.next() < 0.5) runtime.platform = "linux-x64";
  if (r.next() < 0.5) runtime.settings = { "seed 🙂": r.int(1000), fast: r.next() < 0.5, note: randomName(r) };
  return runtime;
}

function randomAddress(r: ReturnType<typeof rng>): string {
  const address = getAddress(r.hex(20));
  return r.next() < 0.3 ? address.toLowerCase() : address;
}

function randomProof(r: ReturnType<typeof rng>, fixedTensors = false): InferenceProofV1 {
  const tensors = (n: number) => {
    if (fixedTensors) return [tensorFromBytes("t", "float32", [1, 4], r.bytes(16))];
    const names = new Set<string>();
    while (names.size < n) names.add(randomName(r));
    return [...names].map((name) => randomTensor(r, name));
  };
  const unsigned = buildProof({
    domain: {
      chainId: r.pick([1, 31337, 2 ** 32, Number.MAX_SAFE_INTEGER, 1 + r.int(2 ** 31)]),
      proofRegistry: randomAddress(r),
      modelRegistry: randomAddress(r),
    },
    model: {
      id: r.hex(32) as ModelId,
      version: r.pick([0, 1, 2 ** 32 - 1, r.int(2 ** 32)]),
      blobId: r.hex(32).toUpperCase().replace("0X", "0x") as BlobIdHex,
      sha256: r.hex(32),
    },
    inputs: tensors(1 + r.int(3)),
    outputs: tensors(1 + r.int(3)),
    runtime: randomRuntime(r),
    node: randomAddress(r),
    timestamp: r.pick([0, 1_750_000_000, Number.MAX_SAFE_INTEGER, r.int(2 ** 40)]),
    requestId: r.hex(32),
  });
  return { ...unsigned, signature: r.hex(65) };
}

/** The error `run` throws (fails the test if it returns). */
function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

describe("core hashing: parity with the reference implementations", function () {
  it("keccak256 matches ethers on every length across several blocks, and on long inputs", function () {
    const r = rng(1);
    for (let length = 0; length <= 700; length++) {
      for (let k = 0; k < 3; k++) {
        const data = r.bytes(length);
        expect(keccak256Hex(data), `length ${length}`).to.equal(keccak256(data));
        expect(hexlify(keccak256Bytes(data))).to.equal(keccak256(data));
      }
    }
    for (const length of [1088, 4096, 65_537]) {
      const data = r.bytes(length);
      expect(keccak256Hex(data)).to.equal(keccak256(data));
    }
    expect(keccak256Hex(new Uint8Array(0))).to.equal(
      "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
    );
  });

  it("hashes tensors as keccak256(abi.encode(string, string, uint256[], bytes32)) on many shapes", function () {
    const r = rng(2);
    for (let i = 0; i < 1500; i++) {
      const tensor = randomTensor(r);
      expect(hashTensor(tensor), JSON.stringify(tensor)).to.equal(referenceTensorHash(tensor));
    }
    // Names across the 32-byte word boundaries, one byte at a time.
    for (let length = 1; length <= 100; length++) {
      const tensor = tensorFromBytes("n".repeat(length), "uint8", [2], new Uint8Array([1, 2]));
      expect(hashTensor(tensor)).to.equal(referenceTensorHash(tensor));
    }
  });

  it("keeps ethers' behavior for names its UTF-8 encoder rejects (lone surrogates)", function () {
    const tensor = { name: "bad \ud800 name", dtype: "uint8" as const, dims: [1], data: "AQ==" };
    const reference = thrown(() => referenceTensorHash(tensor));
    expect(thrown(() => hashTensor(tensor)).message).to.equal(reference.message);
  });

  it("hashes tensor sets as keccak256(abi.encode(bytes32[])) of the hashes ordered by name", function () {
    const r = rng(3);
    for (let i = 0; i < 500; i++) {
      const names = new Set<string>();
      const size = 1 + r.int(40);
      while (names.size < size) names.add(randomName(r));
      const items = [...names].map((name) => ({
        name,
        hash: r.next() < 0.2 ? r.hex(32).toUpperCase().replace("0X", "0x") : r.hex(32),
      }));
      const sorted = [...items].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
      expect(hashTensorSet(items)).to.equal(keccak256(abi.encode(["bytes32[]"], [sorted.map((t) => t.hash)])));
    }
    // What is not bytes32 hex fails as ethers' encoder fails.
    for (const hash of ["0x1234", "0x" + "g".repeat(64), "1".repeat(64)]) {
      const reference = thrown(() => abi.encode(["bytes32[]"], [[hash]]));
      expect(thrown(() => hashTensorSet([{ name: "a", hash }])).message).to.equal(reference.message);
    }
  });

  it("hashes the runtime as keccak256 of its canonical JSON", function () {
    const r = rng(4);
    for (let i = 0; i < 300; i++) {
      const runtime = randomRuntime(r);
      expect(hashRuntime(runtime)).to.equal(keccak256(toUtf8Bytes(canonicalJson(runtime))));
    }
  });

  it("commits to TypedDataEncoder.hash of the proof's typed data, on many random proofs", function () {
    const r = rng(5);
    for (let i = 0; i < 300; i++) {
      const proof = randomProof(r);
      const { domain, types, message } = proofTypedData(proof);
      const expected = TypedDataEncoder.hash(domain, types, message);
      expect(proofCommitment(proof)).to.equal(expected);
      const checked = validateProofForCommitment(JSON.parse(JSON.stringify(proof)));
      expect(checked.proof).to.deep.equal(validateProof(proof));
      expect(checked.commitment()).to.equal(expected);
    }
  });

  it("validates and commits in two steps with the same errors as validateProof and proofCommitment", function () {
    const r = rng(6);
    const proof = randomProof(r, true);
    const edits: ((doc: Record<string, unknown> & InferenceProofV1) => void)[] = [
      (d) =>
        (d.output.tensors[0].data = Buffer.from(
          Buffer.from(d.output.tensors[0].data, "base64").map((b) => b ^ 1),
        ).toString("base64")),
      (d) => (d.input.hash = r.hex(32)),
      (d) => (d.input.tensors[0].hash = r.hex(32)),
      (d) => (d.node = "0x1234"),
      (d) => (d.signature = "0x12"),
      (d) => (d.output.tensors[0].dims = [...d.output.tensors[0].dims, 2]),
      (d) => (d.extra = 1),
      (d) => (d.version = 3 as 1),
    ];
    for (const edit of edits) {
      const doc = structuredClone(proof) as Record<string, unknown> & InferenceProofV1;
      edit(doc);
      const reference = thrown(() => proofCommitment(validateProof(doc, "proofs[3]")));
      const actual = thrown(() => validateProofForCommitment(doc, "proofs[3]").commitment());
      expect(actual.constructor).to.equal(reference.constructor);
      expect(actual.message).to.equal(reference.message);
      if (reference instanceof ProofFormatError) expect((actual as ProofFormatError).field).to.equal(reference.field);
    }
  });

  describe("batch trees", function () {
    const r = rng(7);
    const proofs = Array.from({ length: 40 }, () => randomProof(r));

    it("decodes to the tree and inclusion proofs StandardMerkleTree gives", function () {
      for (const size of [1, 2, 3, 5, 8, 13, 40]) {
        const built = buildBatch(proofs.slice(0, size));
        const decoded = decodeBatch(built.bytes);
        const reference = StandardMerkleTree.load(JSON.parse(JSON.stringify(built.document.tree)));
        expect(decoded.root).to.equal(reference.root);
        expect(decoded.tree.dump()).to.deep.equal(reference.dump());
        decoded.inclusions.forEach((inclusion, i) => {
          expect(inclusion.proof).to.deep.equal(reference.getProof(i));
          expect(inclusion.leaf).to.equal(leafOf(decoded.commitments[i]));
          expect(built.inclusions[i]).to.deep.equal(inclusion);
        });
      }
    });

    it("rejects every altered tree node or value that StandardMerkleTree.load rejects", function () {
      const built = buildBatch(proofs.slice(0, 13));
      const doc = JSON.parse(Buffer.from(built.bytes).toString("utf8")) as ProofBatchDocumentV1;
      for (let i = 0; i < doc.tree.tree.length; i++) {
        const edited = structuredClone(doc);
        edited.tree.tree[i] = r.hex(32);
        expect(() => StandardMerkleTree.load(edited.tree)).to.throw();
        const error = thrown(() => decodeBatch(canonicalJson(edited)));
        expect(error).to.be.instanceOf(BatchFormatError);
        expect((error as BatchFormatError).field).to.equal("tree");
        expect(error.message).to.match(/is not a valid Merkle tree: Merkle tree (is invalid|does not contain)/);
      }
      // Two leaves' tree indices swapped: each value's leaf is elsewhere.
      const swapped = structuredClone(doc);
      [swapped.tree.values[0].treeIndex, swapped.tree.values[1].treeIndex] = [
        swapped.tree.values[1].treeIndex,
        swapped.tree.values[0].treeIndex,
      ];
      expect(() => StandardMerkleTree.load(swapped.tree)).to.throw(/does not contain the expected value/);
      expect((thrown(() => decodeBatch(canonicalJson(swapped))) as BatchFormatError).field).to.equal("tree");
    });

    it("verifies inclusion proofs as StandardMerkleTree.verify does, valid or not", function () {
      for (const size of [1, 2, 7, 40]) {
        const batch = decodeBatch(buildBatch(proofs.slice(0, size)).bytes);
        const other = decodeBatch(buildBatch(proofs.slice(0, size === 1 ? 2 : size - 1)).bytes);
        const reference = (root: string, commitment: string, proof: string[]) =>
          StandardMerkleTree.verify(root, ["bytes32"], [commitment], proof);
        for (const [i, inclusion] of batch.inclusions.entries()) {
          const { commitment, proof } = inclusion;
          const cases: [string, string, string[]][] = [
            [batch.root, commitment, proof],
            [batch.root, batch.commitments[(i + 1) % size], proof],
            [other.root, commitment, proof],
            [batch.root, commitment, proof.map((p) => p.toUpperCase().replace("0X", "0x"))],
            [batch.root, commitment, proof.map((p) => p.slice(2))],
            [batch.root, commitment, [...proof].reverse()],
            [batch.root, commitment, proof.slice(1)],
            [batch.root, commitment, [...proof, r.hex(32)]],
            [batch.root, commitment, proof.map((p, j) => (j === 0 ? r.hex(32) : p))],
          ];
          for (const [root, c, p] of cases) expect(verifyBatchInclusion(root, c, p)).to.equal(reference(root, c, p));
          expect(verifyBatchInclusion(batch.root, commitment, proof)).to.equal(true);
        }
        // Siblings that are not 32 bytes fail as the library fails.
        for (const bad of ["0x1234", "0x" + "zz".repeat(32), ""]) {
          const p = [...batch.inclusions[0].proof, bad];
          const expected = thrown(() => reference(batch.root, batch.commitments[0], p));
          expect(thrown(() => verifyBatchInclusion(batch.root, batch.commitments[0], p)).message).to.equal(
            expected.message,
          );
        }
      }
    });
  });
});
