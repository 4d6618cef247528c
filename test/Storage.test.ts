/**
 * Storage-layout guard: reads the raw slots of live registries and checks that every record sits where it sat when
 * this test was written, packed as the NatSpec says ("fits in one slot"). A change of state-variable order, type or
 * struct packing fails here before it breaks an indexer or an upgrade path.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { getStorageAt, loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, keccak256, toBigInt, ZeroHash, type AddressLike } from "ethers";
import { deployWiredRegistries } from "./helpers/deploy";
import { blobIdOf, commitmentOf, modelIdOf, sha256Of } from "./helpers/values";

const abi = AbiCoder.defaultAbiCoder();

/** The slot of `mapping[key]` for a mapping declared at `slot` (`keccak256(abi.encode(key, slot))`). */
function mappingSlot(keyType: string, key: unknown, slot: bigint | string): bigint {
  return toBigInt(keccak256(abi.encode([keyType, "uint256"], [key, slot])));
}

/** The word at `slot` of `contract`, as an unsigned integer. */
async function word(contract: AddressLike, slot: bigint): Promise<bigint> {
  const address = await ethers.resolveAddress(contract);
  return toBigInt(await getStorageAt(address, slot));
}

/** End epochs with their top bits set, so a field written short or in the wrong place shows. */
const PROOF_END_EPOCH = 0xfedcba98;
const BATCH_END_EPOCH = 0x89abcdef;

/** Bits `[offset, offset + width)` of `value`. */
function bits(value: bigint, offset: number, width: number): bigint {
  return (value >> BigInt(offset)) & ((1n << BigInt(width)) - 1n);
}

/** The registries with one model (two versions, the second deprecated; a pending transfer), one node and one proof and batch anchored. */
async function fixture() {
  const [admin, node, newOwner] = await ethers.getSigners();
  const { modelRegistry, nodeRegistry, proofRegistry } = await deployWiredRegistries(admin);

  await modelRegistry.createModel("storage", blobIdOf("metadata"));
  const createdAt = BigInt(await time.latest());
  const modelId = modelIdOf(admin.address, "storage");
  await modelRegistry.publishVersion(modelId, blobIdOf("first file"), sha256Of("first file"), 1n, 1n);
  await modelRegistry.publishVersion(modelId, blobIdOf("file"), sha256Of("file"), 123_456n, 77n);
  const publishedAt = BigInt(await time.latest());
  await modelRegistry.deprecateVersion(modelId, 1);
  await modelRegistry.transferModel(modelId, newOwner);

  await nodeRegistry.admitNode(node, "https://node.strata.example");
  const admittedAt = BigInt(await time.latest());

  await proofRegistry.connect(node).anchorProof(commitmentOf("proof"), blobIdOf("proof document"), PROOF_END_EPOCH);
  const proofAnchoredAt = BigInt(await time.latest());
  await proofRegistry.connect(node).anchorBatch(commitmentOf("root"), blobIdOf("batch document"), 9, BATCH_END_EPOCH);
  const batchAnchoredAt = BigInt(await time.latest());

  return {
    modelRegistry,
    nodeRegistry,
    proofRegistry,
    admin,
    node,
    newOwner,
    modelId,
    createdAt,
    publishedAt,
    admittedAt,
    proofAnchoredAt,
    batchAnchoredAt,
  };
}

describe("Storage layout", function () {
  describe("ModelRegistry", function () {
    it("keeps _models at slot 0: (owner, versionCount, createdAt) in one word, then metadataBlobId", async function () {
      const { modelRegistry, admin, modelId, createdAt } = await loadFixture(fixture);
      const base = mappingSlot("bytes32", modelId, 0n);
      const packed = await word(modelRegistry, base);
      expect(bits(packed, 0, 160)).to.equal(toBigInt(admin.address));
      expect(bits(packed, 160, 32)).to.equal(2n);
      expect(bits(packed, 192, 64)).to.equal(createdAt);
      expect(await word(modelRegistry, base + 1n)).to.equal(toBigInt(blobIdOf("metadata")));
      expect(await word(modelRegistry, base + 2n)).to.equal(0n);
    });

    it("keeps _pendingOwners at slot 1", async function () {
      const { modelRegistry, newOwner, modelId } = await loadFixture(fixture);
      expect(await word(modelRegistry, mappingSlot("bytes32", modelId, 1n))).to.equal(toBigInt(newOwner.address));
    });

    it("keeps _versionBlobIds at slot 2, keyed by model id then index", async function () {
      const { modelRegistry, modelId } = await loadFixture(fixture);
      const inner = mappingSlot("bytes32", modelId, 2n);
      expect(await word(modelRegistry, mappingSlot("uint256", 0n, inner))).to.equal(toBigInt(blobIdOf("first file")));
      expect(await word(modelRegistry, mappingSlot("uint256", 1n, inner))).to.equal(toBigInt(blobIdOf("file")));
    });

    it("keeps _versions at slot 3: sha256, then (size, endEpoch, index, publishedAt, deprecated, below) in one word", async function () {
      const { modelRegistry, modelId, publishedAt } = await loadFixture(fixture);
      const versionKey = keccak256(abi.encode(["bytes32", "bytes32"], [modelId, blobIdOf("file")]));
      const base = mappingSlot("bytes32", versionKey, 3n);
      expect(await word(modelRegistry, base)).to.equal(toBigInt(sha256Of("file")));
      const packed = await word(modelRegistry, base + 1n);
      expect(bits(packed, 0, 64)).to.equal(123_456n);
      expect(bits(packed, 64, 32)).to.equal(77n);
      expect(bits(packed, 96, 32)).to.equal(1n);
      expect(bits(packed, 128, 64)).to.equal(publishedAt);
      expect(bits(packed, 192, 8)).to.equal(1n);
      // Deprecated as the latest: `below` names version 0 (index + 1), the latest active one.
      expect(bits(packed, 200, 32)).to.equal(1n);
      expect(bits(packed, 232, 24)).to.equal(0n);
    });
  });

  describe("NodeRegistry", function () {
    it("keeps AccessControl's _roles at slot 0 and AccessControlDefaultAdminRules' state at slots 1 and 2", async function () {
      const { nodeRegistry, admin } = await loadFixture(fixture);
      const role = mappingSlot("bytes32", ZeroHash, 0n);
      expect(await word(nodeRegistry, mappingSlot("address", admin.address, role))).to.equal(1n);
      // Slot 1: (pendingDefaultAdmin, its schedule: none pending, currentDelay).
      const pending = await word(nodeRegistry, 1n);
      expect(bits(pending, 0, 208)).to.equal(0n);
      expect(bits(pending, 208, 48)).to.equal(await nodeRegistry.INITIAL_ADMIN_DELAY());
      // Slot 2: (currentDefaultAdmin, pendingDelay, its schedule: none pending).
      const current = await word(nodeRegistry, 2n);
      expect(bits(current, 0, 160)).to.equal(toBigInt(admin.address));
      expect(bits(current, 160, 96)).to.equal(0n);
    });

    it("keeps _proofRegistry at slot 3", async function () {
      const { nodeRegistry, proofRegistry } = await loadFixture(fixture);
      expect(await word(nodeRegistry, 3n)).to.equal(toBigInt(await proofRegistry.getAddress()));
    });

    it("keeps _nodes at slot 4: (active, admittedAt, removedAt) in one word", async function () {
      const { nodeRegistry, node, admittedAt } = await loadFixture(fixture);
      const slot = mappingSlot("address", node.address, 4n);
      const packed = await word(nodeRegistry, slot);
      expect(bits(packed, 0, 8)).to.equal(1n);
      expect(bits(packed, 8, 64)).to.equal(admittedAt);
      expect(bits(packed, 72, 64)).to.equal(0n);
      expect(bits(packed, 136, 120)).to.equal(0n);
      expect(await word(nodeRegistry, slot + 1n)).to.equal(0n);
    });
  });

  describe("ProofRegistry", function () {
    it("keeps the node registry out of storage and _anchorers at slot 0", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      expect(await word(proofRegistry, mappingSlot("address", node.address, 0n))).to.equal(1n);
    });

    it("keeps _proofs at slot 1, keyed by node then commitment: (anchoredAt, endEpoch) in one word", async function () {
      const { proofRegistry, node, proofAnchoredAt } = await loadFixture(fixture);
      const slot = mappingSlot("bytes32", commitmentOf("proof"), mappingSlot("address", node.address, 1n));
      const packed = await word(proofRegistry, slot);
      expect(bits(packed, 0, 64)).to.equal(proofAnchoredAt);
      expect(bits(packed, 64, 32)).to.equal(BigInt(PROOF_END_EPOCH));
      expect(bits(packed, 96, 160)).to.equal(0n);
      expect(await word(proofRegistry, slot + 1n)).to.equal(0n);
    });

    it("keeps _batches at slot 2, keyed by node then root: (anchoredAt, count, endEpoch) in one word", async function () {
      const { proofRegistry, node, batchAnchoredAt } = await loadFixture(fixture);
      const slot = mappingSlot("bytes32", commitmentOf("root"), mappingSlot("address", node.address, 2n));
      const packed = await word(proofRegistry, slot);
      expect(bits(packed, 0, 64)).to.equal(batchAnchoredAt);
      expect(bits(packed, 64, 32)).to.equal(9n);
      expect(bits(packed, 96, 32)).to.equal(BigInt(BATCH_END_EPOCH));
      expect(bits(packed, 128, 128)).to.equal(0n);
      expect(await word(proofRegistry, slot + 1n)).to.equal(0n);
    });

    it("records renewals in the same words: only the endEpoch bits change, no new slot", async function () {
      const { proofRegistry, node, proofAnchoredAt, batchAnchoredAt } = await loadFixture(fixture);
      const proofSlot = mappingSlot("bytes32", commitmentOf("proof"), mappingSlot("address", node.address, 1n));
      const batchSlot = mappingSlot("bytes32", commitmentOf("root"), mappingSlot("address", node.address, 2n));
      const max = 2n ** 32n - 1n;
      await proofRegistry.connect(node).extendProofs([commitmentOf("proof")], max);
      await proofRegistry.connect(node).extendBatches([commitmentOf("root")], max);
      expect(await word(proofRegistry, proofSlot)).to.equal(proofAnchoredAt | (max << 64n));
      expect(await word(proofRegistry, batchSlot)).to.equal(batchAnchoredAt | (9n << 64n) | (max << 96n));
      expect(await word(proofRegistry, proofSlot + 1n)).to.equal(0n);
      expect(await word(proofRegistry, batchSlot + 1n)).to.equal(0n);
    });
  });
});
