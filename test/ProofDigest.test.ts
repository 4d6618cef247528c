/**
 * Parity of the Solidity twin (contracts/libraries/ProofDigest.sol, through a test harness) with core's TypeScript:
 * proofs built by `buildProof` from tensors made by `encodeTensor`, of every dtype, scalar and empty shapes, unicode
 * names; the twin's commitment must equal `proofCommitment(doc)`, its tensor and set hashes the document's.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, getAddress, hexlify, TypedDataEncoder } from "ethers";
import {
  buildProof,
  DTYPES,
  encodeTensor,
  hashTensor,
  hashTensorSet,
  PROOF_EIP712_TYPES,
  proofCommitment,
  proofTypedData,
  ProofVersion,
  type BlobIdHex,
  type Dtype,
  type DtypeArrays,
  type ModelId,
  type RuntimeV1,
  type Tensor,
  type UnsignedInferenceProof,
} from "@strata/core";
import { ProofDigestHarness__factory } from "@strata/contracts/typechain";
import { chainTensors, encodeTensors, proofStruct, TENSORS_ABI } from "./helpers/inference";
import { seededRandom } from "./helpers/values";

const abi = AbiCoder.defaultAbiCoder();

async function fixture() {
  const [deployer] = await ethers.getSigners();
  const harness = await new ProofDigestHarness__factory(deployer).deploy();
  return { harness: await harness.waitForDeployment() };
}

type Random = ReturnType<typeof seededRandom>;
const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)];
const int = (r: Random, below: number) => Math.floor(r() * below);
const bytes = (r: Random, n: number) => Uint8Array.from({ length: n }, () => int(r, 256));
const hex = (r: Random, n: number) => hexlify(bytes(r, n));

/** Name parts that stress UTF-8 ordering: multi-byte, astral, combining marks, shared prefixes, long names. */
const NAME_PARTS = ["x", "input", "é", "e\u0301", "名前", "🙂", "\u{10FFFF}", "a", "ab", "Z", " ", "ß", "Ω"];

function randomName(r: Random): string {
  let name = "";
  const parts = 1 + int(r, 4);
  for (let i = 0; i < parts; i++) name += r() < 0.8 ? pick(r, NAME_PARTS) : "n".repeat(1 + int(r, 40));
  return name;
}

/** Values of `dtype` for `count` elements, as the typed array (or strings) `encodeTensor` takes. */
function randomValues(r: Random, dtype: Dtype, count: number): DtypeArrays[Dtype] {
  if (dtype === "string") {
    return Array.from({ length: count }, () => (r() < 0.2 ? "" : randomName(r)));
  }
  if (dtype === "bool") return Uint8Array.from({ length: count }, () => int(r, 2));
  const constructors = {
    float16: Uint16Array,
    float32: Float32Array,
    float64: Float64Array,
    int8: Int8Array,
    uint8: Uint8Array,
    int16: Int16Array,
    uint16: Uint16Array,
    int32: Int32Array,
    uint32: Uint32Array,
    int64: BigInt64Array,
    uint64: BigUint64Array,
  } as const;
  const type = constructors[dtype];
  const raw = bytes(r, count * type.BYTES_PER_ELEMENT);
  return new type(raw.buffer, 0, count);
}

const SHAPES: number[][] = [[], [0], [1], [3], [2, 2], [1, 0, 5], [2, 1, 3]];

function randomTensor(r: Random, name: string, dtype: Dtype = pick(r, DTYPES)): Tensor {
  const dims = pick(r, SHAPES);
  const count = dims.reduce((a, b) => a * b, 1);
  return encodeTensor(name, dtype, dims, randomValues(r, dtype, count) as never);
}

function randomTensors(r: Random, n: number, dtypes?: Dtype[]): Tensor[] {
  const names = new Set<string>();
  while (names.size < n) names.add(randomName(r));
  return [...names].map((name, i) => randomTensor(r, name, dtypes?.[i]));
}

function randomRuntime(r: Random): RuntimeV1 {
  return {
    engine: "onnxruntime-node",
    version: `1.${int(r, 30)}.${int(r, 9)}`,
    graphOptimizationLevel: pick(r, ["disabled", "basic", "extended", "layout", "all"] as const),
    executionMode: pick(r, ["sequential", "parallel"] as const),
    intraOpNumThreads: 1 + int(r, 8),
    ...(r() < 0.5 ? { platform: "linux-x64", settings: { "seed 🙂": int(r, 1000) } } : {}),
  };
}

function randomProof(r: Random, inputs: Tensor[], outputs: Tensor[]): UnsignedInferenceProof {
  return buildProof({
    domain: {
      chainId: pick(r, [1, 31337, 2 ** 32, Number.MAX_SAFE_INTEGER, 1 + int(r, 2 ** 31)]),
      proofRegistry: getAddress(hex(r, 20)),
      modelRegistry: getAddress(hex(r, 20)),
    },
    model: {
      id: hex(r, 32) as ModelId,
      version: pick(r, [0, 1, 2 ** 32 - 1, int(r, 2 ** 32)]),
      blobId: hex(r, 32) as BlobIdHex,
      sha256: hex(r, 32),
    },
    inputs,
    outputs,
    runtime: randomRuntime(r),
    node: getAddress(hex(r, 20)),
    timestamp: pick(r, [0, 1_750_000_000, Number.MAX_SAFE_INTEGER, int(r, 2 ** 40)]),
    requestId: hex(r, 32),
  });
}

describe("ProofDigest (the Solidity twin of core's proof digest)", function () {
  it("has the EIP-712 type hash of core's InferenceProof type", async function () {
    const { harness } = await loadFixture(fixture);
    const type = TypedDataEncoder.from(PROOF_EIP712_TYPES[ProofVersion.V1]).encodeType("InferenceProof");
    expect(await harness.typeHash()).to.equal(ethers.id(type));
  });

  it("gives the domain separator of core's typed data for any chain id and ProofRegistry", async function () {
    const { harness } = await loadFixture(fixture);
    const r = seededRandom(7);
    for (const chainId of [1, 31337, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const registry = getAddress(hex(r, 20));
      const domain = { name: "Strata", version: "1", chainId, verifyingContract: registry };
      expect(await harness.domainSeparator(chainId, registry)).to.equal(TypedDataEncoder.hashDomain(domain));
    }
  });

  it("computes proofCommitment(doc) for 60 random proofs of every dtype, scalar and empty shapes, unicode names", async function () {
    const { harness } = await loadFixture(fixture);
    const r = seededRandom(13);
    const seen = new Set<Dtype>();
    for (let i = 0; i < 60; i++) {
      // The first proofs hold every dtype at least once; the rest pick them at random.
      const dtypes = i < DTYPES.length ? [DTYPES[i], DTYPES[(i + 5) % DTYPES.length]] : undefined;
      const doc = randomProof(r, randomTensors(r, dtypes ? 2 : 1 + int(r, 3), dtypes), randomTensors(r, 1 + int(r, 3)));
      for (const t of [...doc.input.tensors, ...doc.output.tensors]) seen.add(t.dtype);
      const struct = proofStruct(doc);
      expect(await harness.hashStruct(struct), `proof ${i}`).to.equal(
        TypedDataEncoder.from(PROOF_EIP712_TYPES[ProofVersion.V1]).hash(struct),
      );
      expect(await harness.commitment(doc.domain.chainId, doc.domain.proofRegistry, struct), `proof ${i}`).to.equal(
        proofCommitment(doc),
      );
    }
    expect([...seen].sort()).to.deep.equal([...DTYPES].sort());
  });

  it("takes the proof format version as a field: a version 2 message gets the digest of the same type", async function () {
    const { harness } = await loadFixture(fixture);
    const r = seededRandom(17);
    const doc = randomProof(r, randomTensors(r, 1), randomTensors(r, 1));
    const { domain, types } = proofTypedData(doc);
    const v2 = { ...proofStruct(doc), version: 2 };
    const commitment = await harness.commitment(doc.domain.chainId, doc.domain.proofRegistry, v2);
    expect(commitment).to.equal(TypedDataEncoder.hash(domain, types, v2));
    expect(commitment).to.not.equal(proofCommitment(doc));
  });

  it("hashes each tensor as hashTensor and each set as the document's input and output hash", async function () {
    const { harness } = await loadFixture(fixture);
    const r = seededRandom(21);
    for (let i = 0; i < 30; i++) {
      const dtypes = i < DTYPES.length ? [DTYPES[i]] : undefined;
      const doc = randomProof(r, randomTensors(r, dtypes ? 1 : 1 + int(r, 4), dtypes), randomTensors(r, 1 + int(r, 4)));
      for (const set of [doc.input, doc.output]) {
        const tensors = chainTensors(set.tensors);
        for (let k = 0; k < tensors.length; k++) {
          expect(await harness.hashTensor(tensors[k]), `${i}/${k}`).to.equal(hashTensor(set.tensors[k]));
        }
        expect(await harness.hashTensorSet(set.tensors.map((t) => t.hash))).to.equal(hashTensorSet(set.tensors));
        expect(await harness.hashEncodedTensors(encodeTensors(set.tensors)), `set ${i}`).to.equal(set.hash);
      }
    }
  });

  it("orders names byte-wise on UTF-8 as core does, across word boundaries and shared prefixes", async function () {
    const { harness } = await loadFixture(fixture);
    const r = seededRandom(23);
    // Names that differ only after 32 or 64 bytes, prefixes of each other, and UTF-8 orders that UTF-16 gets wrong.
    const long = "n".repeat(40);
    const names = ["a", "ab", "a".repeat(32), "a".repeat(32) + "b", long, long + "a", long + "b", "\uffff", "🙂", "é"];
    const tensors = names.map((name) => randomTensor(r, name, "uint8"));
    const doc = randomProof(r, tensors, [randomTensor(r, "y", "float32")]);
    expect(await harness.hashEncodedTensors(encodeTensors(doc.input.tensors))).to.equal(doc.input.hash);
  });

  it("hashes an empty set as hashTensorSet([])", async function () {
    const { harness } = await loadFixture(fixture);
    expect(await harness.hashEncodedTensors(abi.encode([TENSORS_ABI], [[]]))).to.equal(hashTensorSet([]));
  });

  it("rejects a set out of name order with the index of the first tensor out of place", async function () {
    const { harness } = await loadFixture(fixture);
    const r = seededRandom(29);
    for (const [names, index] of [
      [["b", "a"], 1],
      [["a", "c", "b"], 2],
      [["a".repeat(33) + "b", "a".repeat(33) + "a"], 1],
      [["ab", "a"], 1],
      [["é", "🙂", "z"], 2],
    ] as const) {
      const sorted = chainTensors(names.map((name) => randomTensor(r, name, "int8")));
      const unsorted = names.map((name) => sorted.find((t) => t.name === name)!);
      const encoded = abi.encode([TENSORS_ABI], [unsorted.map((t) => [t.name, t.dtype, t.dims, t.data])]);
      await expect(harness.hashEncodedTensors(encoded), names.join(","))
        .to.be.revertedWithCustomError(harness, "ProofDigestUnsortedTensors")
        .withArgs(index);
    }
  });

  it("rejects a set that names a tensor twice", async function () {
    const { harness } = await loadFixture(fixture);
    const r = seededRandom(31);
    for (const name of ["x", "n".repeat(64), "名前"]) {
      const [t] = chainTensors([randomTensor(r, name, "uint8")]);
      const encoded = abi.encode([TENSORS_ABI], [[t, t].map((x) => [x.name, x.dtype, x.dims, x.data])]);
      await expect(harness.hashEncodedTensors(encoded))
        .to.be.revertedWithCustomError(harness, "ProofDigestUnsortedTensors")
        .withArgs(1);
    }
  });
});
