import { expect } from "chai";
import { ethers } from "hardhat";
import { impersonateAccount, loadFixture, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { ZeroAddress, type ContractTransactionResponse } from "ethers";
import type { ProofRegistry } from "@strata/contracts";
import { deployProofRegistry, deployWiredRegistries } from "./helpers/deploy";
import { fieldsOf } from "./helpers/results";
import { blobIdOf, commitmentOf, seededRandom, ZERO_BYTES32 } from "./helpers/values";

const COMMITMENT = commitmentOf("inference 1");
const BLOB_ID = blobIdOf("proof document 1");
const ROOT = commitmentOf("batch root 1");
const BATCH_BLOB_ID = blobIdOf("batch document 1");
/** The Walrus epoch (exclusive) until which the anchored blobs are stored. */
const END_EPOCH = 60;
/** What getBatch and getProof read for what the node did not anchor. */
const NO_BATCH = { anchoredAt: 0n, count: 0n, endEpoch: 0n };
const NO_PROOF = { anchoredAt: 0n, endEpoch: 0n };

/** The batch tree over `commitments`, built as the nodes build it: StandardMerkleTree with leaf encoding `["bytes32"]`. */
function batchTree(commitments: string[]) {
  return StandardMerkleTree.of(
    commitments.map((c) => [c]),
    ["bytes32"],
  );
}

/** `count` distinct commitments. */
function commitments(count: number, label = "leaf"): string[] {
  return Array.from({ length: count }, (_, i) => commitmentOf(`${label} ${i}`));
}

/** The registries wired by `deployRegistries`, with `node` and `otherNode` admitted. */
async function fixture() {
  const [admin, node, otherNode, stranger] = await ethers.getSigners();
  const { nodeRegistry, proofRegistry } = await deployWiredRegistries(admin);
  await nodeRegistry.admitNode(node, "https://node-1.strata.example");
  await nodeRegistry.admitNode(otherNode, "https://node-2.strata.example");
  return { nodeRegistry, proofRegistry, admin, node, otherNode, stranger };
}

describe("ProofRegistry", function () {
  describe("constructor", function () {
    it("names the node registry that controls it", async function () {
      const { nodeRegistry, proofRegistry } = await loadFixture(fixture);
      expect(await proofRegistry.nodeRegistry()).to.equal(await nodeRegistry.getAddress());
    });

    it("rejects a zero node registry", async function () {
      const { proofRegistry, admin } = await loadFixture(fixture);
      await expect(deployProofRegistry(admin, ZeroAddress))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroNodeRegistry")
        .withArgs();
    });
  });

  describe("setAnchorer", function () {
    it("lets the node registry allow an anchorer and stop it, emitting AnchorerSet", async function () {
      const { nodeRegistry, proofRegistry, stranger } = await loadFixture(fixture);
      const controller = await nodeRegistry.getAddress();
      await impersonateAccount(controller);
      await setBalance(controller, ethers.parseEther("1"));
      const asNodeRegistry = proofRegistry.connect(await ethers.getSigner(controller));
      await expect(asNodeRegistry.setAnchorer(stranger, true))
        .to.emit(proofRegistry, "AnchorerSet")
        .withArgs(stranger.address, true);
      expect(await proofRegistry.isAnchorer(stranger)).to.equal(true);
      await expect(asNodeRegistry.setAnchorer(stranger, false))
        .to.emit(proofRegistry, "AnchorerSet")
        .withArgs(stranger.address, false);
      expect(await proofRegistry.isAnchorer(stranger)).to.equal(false);
    });

    it("rejects any caller but the node registry, even its admin or an anchorer", async function () {
      const { proofRegistry, admin, node, stranger } = await loadFixture(fixture);
      for (const account of [stranger, admin, node]) {
        await expect(proofRegistry.connect(account).setAnchorer(stranger, true))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryUnauthorizedAccount")
          .withArgs(account.address);
      }
      expect(await proofRegistry.isAnchorer(stranger)).to.equal(false);
    });

    it("mirrors the node registry: admitted nodes anchor, others do not", async function () {
      const { proofRegistry, node, otherNode, stranger, admin } = await loadFixture(fixture);
      expect(await proofRegistry.isAnchorer(node)).to.equal(true);
      expect(await proofRegistry.isAnchorer(otherNode)).to.equal(true);
      expect(await proofRegistry.isAnchorer(stranger)).to.equal(false);
      expect(await proofRegistry.isAnchorer(admin)).to.equal(false);
    });
  });

  describe("anchorProof", function () {
    it("anchors a proof and emits ProofAnchored", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await expect(proofRegistry.connect(node).anchorProof(COMMITMENT, BLOB_ID, END_EPOCH))
        .to.emit(proofRegistry, "ProofAnchored")
        .withArgs(COMMITMENT, node.address, BLOB_ID, END_EPOCH);
      expect(fieldsOf(await proofRegistry.getProof(node, COMMITMENT))).to.deep.equal({
        anchoredAt: BigInt(await time.latest()),
        endEpoch: BigInt(END_EPOCH),
      });
    });

    it("rejects a zero commitment", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await expect(proofRegistry.connect(node).anchorProof(ZERO_BYTES32, BLOB_ID, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroCommitment")
        .withArgs();
    });

    it("rejects a zero blob id", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await expect(proofRegistry.connect(node).anchorProof(COMMITMENT, ZERO_BYTES32, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroBlobId")
        .withArgs(COMMITMENT);
    });

    it("rejects an account that is not an active node", async function () {
      const { proofRegistry, admin, stranger } = await loadFixture(fixture);
      for (const account of [stranger, admin]) {
        await expect(proofRegistry.connect(account).anchorProof(COMMITMENT, BLOB_ID, END_EPOCH))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotActiveNode")
          .withArgs(account.address);
      }
    });

    it("rejects a node once it is removed, and keeps what it anchored before", async function () {
      const { nodeRegistry, proofRegistry, node } = await loadFixture(fixture);
      await proofRegistry.connect(node).anchorProof(COMMITMENT, BLOB_ID, END_EPOCH);
      const anchoredAt = BigInt(await time.latest());
      await nodeRegistry.removeNode(node);
      const next = commitmentOf("inference 2");
      await expect(proofRegistry.connect(node).anchorProof(next, BLOB_ID, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotActiveNode")
        .withArgs(node.address);
      expect(fieldsOf(await proofRegistry.getProof(node, COMMITMENT))).to.deep.equal({
        anchoredAt,
        endEpoch: BigInt(END_EPOCH),
      });
    });

    it("anchors a commitment once per node, naming the node and when it anchored", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await proofRegistry.connect(node).anchorProof(COMMITMENT, BLOB_ID, END_EPOCH);
      const anchoredAt = await time.latest();
      await time.increase(60);
      for (const blobId of [BLOB_ID, blobIdOf("another document")]) {
        await expect(proofRegistry.connect(node).anchorProof(COMMITMENT, blobId, END_EPOCH))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryAlreadyAnchored")
          .withArgs(COMMITMENT, node.address, anchoredAt);
      }
    });

    it("lets another node anchor the same commitment under its own key without touching the first anchor", async function () {
      const { proofRegistry, node, otherNode } = await loadFixture(fixture);
      await proofRegistry.connect(node).anchorProof(COMMITMENT, BLOB_ID, END_EPOCH);
      const firstAt = BigInt(await time.latest());
      await time.increase(60);
      const otherBlob = blobIdOf("a copy re-uploaded by the other node");
      await expect(proofRegistry.connect(otherNode).anchorProof(COMMITMENT, otherBlob, END_EPOCH))
        .to.emit(proofRegistry, "ProofAnchored")
        .withArgs(COMMITMENT, otherNode.address, otherBlob, END_EPOCH);
      const secondAt = BigInt(await time.latest());
      expect(fieldsOf(await proofRegistry.getProof(node, COMMITMENT))).to.deep.equal({
        anchoredAt: firstAt,
        endEpoch: BigInt(END_EPOCH),
      });
      expect(fieldsOf(await proofRegistry.getProof(otherNode, COMMITMENT))).to.deep.equal({
        anchoredAt: secondAt,
        endEpoch: BigInt(END_EPOCH),
      });
    });

    it("does not let a node anchor a commitment first to block its signer from anchoring it", async function () {
      const { proofRegistry, node, otherNode } = await loadFixture(fixture);
      await proofRegistry.connect(otherNode).anchorProof(COMMITMENT, blobIdOf("front-run copy"), END_EPOCH);
      await expect(proofRegistry.connect(node).anchorProof(COMMITMENT, BLOB_ID, END_EPOCH))
        .to.emit(proofRegistry, "ProofAnchored")
        .withArgs(COMMITMENT, node.address, BLOB_ID, END_EPOCH);
      expect((await proofRegistry.getProof(node, COMMITMENT)).anchoredAt).to.equal(BigInt(await time.latest()));
    });
  });

  describe("anchorBatch", function () {
    it("anchors a batch and emits BatchAnchored", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await expect(proofRegistry.connect(node).anchorBatch(ROOT, BATCH_BLOB_ID, 42, END_EPOCH))
        .to.emit(proofRegistry, "BatchAnchored")
        .withArgs(ROOT, node.address, BATCH_BLOB_ID, 42n, END_EPOCH);
      expect(fieldsOf(await proofRegistry.getBatch(node, ROOT))).to.deep.equal({
        anchoredAt: BigInt(await time.latest()),
        count: 42n,
        endEpoch: BigInt(END_EPOCH),
      });
    });

    it("rejects a zero root", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await expect(proofRegistry.connect(node).anchorBatch(ZERO_BYTES32, BATCH_BLOB_ID, 1, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroCommitment")
        .withArgs();
    });

    it("rejects a zero blob id", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await expect(proofRegistry.connect(node).anchorBatch(ROOT, ZERO_BYTES32, 1, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroBlobId")
        .withArgs(ROOT);
    });

    it("rejects an empty batch", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await expect(proofRegistry.connect(node).anchorBatch(ROOT, BATCH_BLOB_ID, 0, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryEmptyBatch")
        .withArgs(ROOT);
    });

    it("rejects an account that is not an active node", async function () {
      const { proofRegistry, admin, stranger } = await loadFixture(fixture);
      for (const account of [stranger, admin]) {
        await expect(proofRegistry.connect(account).anchorBatch(ROOT, BATCH_BLOB_ID, 1, END_EPOCH))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotActiveNode")
          .withArgs(account.address);
      }
    });

    it("rejects a node once it is removed", async function () {
      const { nodeRegistry, proofRegistry, node } = await loadFixture(fixture);
      await nodeRegistry.removeNode(node);
      await expect(proofRegistry.connect(node).anchorBatch(ROOT, BATCH_BLOB_ID, 1, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotActiveNode")
        .withArgs(node.address);
    });

    it("anchors a root once per node, naming the node and when it anchored", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await proofRegistry.connect(node).anchorBatch(ROOT, BATCH_BLOB_ID, 2, END_EPOCH);
      const anchoredAt = await time.latest();
      await expect(proofRegistry.connect(node).anchorBatch(ROOT, blobIdOf("another batch document"), 3, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryAlreadyAnchored")
        .withArgs(ROOT, node.address, anchoredAt);
      expect((await proofRegistry.getBatch(node, ROOT)).count).to.equal(2n);
    });

    it("lets another node anchor the same root under its own key without touching the first anchor", async function () {
      const { proofRegistry, node, otherNode } = await loadFixture(fixture);
      await proofRegistry.connect(otherNode).anchorBatch(ROOT, blobIdOf("a squatter's blob"), 99, END_EPOCH);
      const squattedAt = BigInt(await time.latest());
      await time.increase(60);
      await expect(proofRegistry.connect(node).anchorBatch(ROOT, BATCH_BLOB_ID, 2, END_EPOCH))
        .to.emit(proofRegistry, "BatchAnchored")
        .withArgs(ROOT, node.address, BATCH_BLOB_ID, 2n, END_EPOCH);
      expect(fieldsOf(await proofRegistry.getBatch(node, ROOT))).to.deep.equal({
        anchoredAt: BigInt(await time.latest()),
        count: 2n,
        endEpoch: BigInt(END_EPOCH),
      });
      expect(fieldsOf(await proofRegistry.getBatch(otherNode, ROOT))).to.deep.equal({
        anchoredAt: squattedAt,
        count: 99n,
        endEpoch: BigInt(END_EPOCH),
      });
    });

    it("keeps single proofs and batch roots apart", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await proofRegistry.connect(node).anchorProof(COMMITMENT, BLOB_ID, END_EPOCH);
      await expect(proofRegistry.connect(node).anchorBatch(COMMITMENT, BATCH_BLOB_ID, 1, END_EPOCH))
        .to.emit(proofRegistry, "BatchAnchored")
        .withArgs(COMMITMENT, node.address, BATCH_BLOB_ID, 1n, END_EPOCH);
      expect((await proofRegistry.getProof(node, COMMITMENT)).anchoredAt).to.not.equal(0n);
      expect((await proofRegistry.getBatch(node, COMMITMENT)).count).to.equal(1n);
    });
  });

  for (const fn of ["anchorQuilts", "announceQuilts"] as const) {
    const event = fn === "anchorQuilts" ? "QuiltsAnchored" : "QuiltsAnnounced";
    describe(fn, function () {
      const QUILTS = [blobIdOf("quilt 0"), blobIdOf("quilt 1"), blobIdOf("quilt 2")];

      it(`emits ${event} with every quilt Blob ID in order and the count`, async function () {
        const { proofRegistry, node } = await loadFixture(fixture);
        const tx = proofRegistry.connect(node)[fn](ROOT, QUILTS, 1_400, END_EPOCH);
        await expect(tx).to.emit(proofRegistry, event).withArgs(ROOT, node.address, QUILTS, 1_400n, END_EPOCH);
      });

      it("rejects a zero root", async function () {
        const { proofRegistry, node } = await loadFixture(fixture);
        await expect(proofRegistry.connect(node)[fn](ZERO_BYTES32, QUILTS, 3, END_EPOCH))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroCommitment")
          .withArgs();
      });

      it("rejects an empty batch", async function () {
        const { proofRegistry, node } = await loadFixture(fixture);
        await expect(proofRegistry.connect(node)[fn](ROOT, QUILTS, 0, END_EPOCH))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryEmptyBatch")
          .withArgs(ROOT);
      });

      it("rejects a batch that names no quilt", async function () {
        const { proofRegistry, node } = await loadFixture(fixture);
        await expect(proofRegistry.connect(node)[fn](ROOT, [], 3, END_EPOCH))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNoQuilts")
          .withArgs(ROOT);
      });

      it("rejects more quilts than proofs, naming both counts", async function () {
        const { proofRegistry, node } = await loadFixture(fixture);
        await expect(proofRegistry.connect(node)[fn](ROOT, QUILTS, 2, END_EPOCH))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryTooManyQuilts")
          .withArgs(ROOT, 3n, 2n);
      });

      it("rejects a zero quilt Blob ID, naming its position", async function () {
        const { proofRegistry, node } = await loadFixture(fixture);
        await expect(proofRegistry.connect(node)[fn](ROOT, [QUILTS[0], QUILTS[1], ZERO_BYTES32], 3, END_EPOCH))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroQuiltId")
          .withArgs(ROOT, 2n);
        await expect(proofRegistry.connect(node)[fn](ROOT, [ZERO_BYTES32], 3, END_EPOCH))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroQuiltId")
          .withArgs(ROOT, 0n);
      });

      it("rejects an account that is not an active node", async function () {
        const { nodeRegistry, proofRegistry, node, stranger } = await loadFixture(fixture);
        await expect(proofRegistry.connect(stranger)[fn](ROOT, QUILTS, 3, END_EPOCH))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotActiveNode")
          .withArgs(stranger.address);
        await nodeRegistry.removeNode(node);
        await expect(proofRegistry.connect(node)[fn](ROOT, QUILTS, 3, END_EPOCH))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotActiveNode")
          .withArgs(node.address);
      });
    });
  }

  describe("anchorQuilts storage", function () {
    const QUILTS = [blobIdOf("quilt 0"), blobIdOf("quilt 1")];

    it("stores the root under the calling node as anchorBatch does (time and count)", async function () {
      const { proofRegistry, node, otherNode } = await loadFixture(fixture);
      await proofRegistry.connect(node).anchorQuilts(ROOT, QUILTS, 1_000, END_EPOCH);
      expect(fieldsOf(await proofRegistry.getBatch(node, ROOT))).to.deep.equal({
        anchoredAt: BigInt(await time.latest()),
        count: 1_000n,
        endEpoch: BigInt(END_EPOCH),
      });
      expect(fieldsOf(await proofRegistry.getBatch(otherNode, ROOT))).to.deep.equal(NO_BATCH);
    });

    it("shares write-once with anchorBatch: a root anchored either way cannot be anchored again by that node", async function () {
      const { proofRegistry, node, otherNode } = await loadFixture(fixture);
      await proofRegistry.connect(node).anchorBatch(ROOT, BATCH_BLOB_ID, 2, END_EPOCH);
      const first = await time.latest();
      await expect(proofRegistry.connect(node).anchorQuilts(ROOT, QUILTS, 2, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryAlreadyAnchored")
        .withArgs(ROOT, node.address, first);
      await proofRegistry.connect(otherNode).anchorQuilts(ROOT, QUILTS, 2, END_EPOCH);
      const second = await time.latest();
      await expect(proofRegistry.connect(otherNode).anchorBatch(ROOT, BATCH_BLOB_ID, 2, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryAlreadyAnchored")
        .withArgs(ROOT, otherNode.address, second);
    });

    it("stores nothing for announceQuilts", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await proofRegistry.connect(node).announceQuilts(ROOT, QUILTS, 5, END_EPOCH);
      expect(fieldsOf(await proofRegistry.getBatch(node, ROOT))).to.deep.equal(NO_BATCH);
    });
  });

  describe("announceBatch", function () {
    it("announces a batch in an event only, storing nothing", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await expect(proofRegistry.connect(node).announceBatch(ROOT, BATCH_BLOB_ID, 7, END_EPOCH))
        .to.emit(proofRegistry, "BatchAnnounced")
        .withArgs(ROOT, node.address, BATCH_BLOB_ID, 7n, END_EPOCH);
      expect(fieldsOf(await proofRegistry.getBatch(node, ROOT))).to.deep.equal(NO_BATCH);
      expect(fieldsOf(await proofRegistry.getProof(node, ROOT))).to.deep.equal(NO_PROOF);
    });

    it("can announce the same root again, by any node, and anchor it afterwards", async function () {
      const { proofRegistry, node, otherNode } = await loadFixture(fixture);
      await proofRegistry.connect(node).announceBatch(ROOT, BATCH_BLOB_ID, 7, END_EPOCH);
      for (const account of [node, otherNode]) {
        await expect(proofRegistry.connect(account).announceBatch(ROOT, BATCH_BLOB_ID, 7, END_EPOCH))
          .to.emit(proofRegistry, "BatchAnnounced")
          .withArgs(ROOT, account.address, BATCH_BLOB_ID, 7n, END_EPOCH);
      }
      await expect(proofRegistry.connect(node).anchorBatch(ROOT, BATCH_BLOB_ID, 7, END_EPOCH)).to.emit(
        proofRegistry,
        "BatchAnchored",
      );
    });

    it("rejects a zero root", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await expect(proofRegistry.connect(node).announceBatch(ZERO_BYTES32, BATCH_BLOB_ID, 1, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroCommitment")
        .withArgs();
    });

    it("rejects a zero blob id", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await expect(proofRegistry.connect(node).announceBatch(ROOT, ZERO_BYTES32, 1, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroBlobId")
        .withArgs(ROOT);
    });

    it("rejects an empty batch", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await expect(proofRegistry.connect(node).announceBatch(ROOT, BATCH_BLOB_ID, 0, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryEmptyBatch")
        .withArgs(ROOT);
    });

    it("rejects an account that is not an active node", async function () {
      const { proofRegistry, stranger } = await loadFixture(fixture);
      await expect(proofRegistry.connect(stranger).announceBatch(ROOT, BATCH_BLOB_ID, 1, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotActiveNode")
        .withArgs(stranger.address);
    });

    it("rejects a node once it is removed", async function () {
      const { nodeRegistry, proofRegistry, node } = await loadFixture(fixture);
      await nodeRegistry.removeNode(node);
      await expect(proofRegistry.connect(node).announceBatch(ROOT, BATCH_BLOB_ID, 1, END_EPOCH))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotActiveNode")
        .withArgs(node.address);
    });
  });

  describe("end epoch at anchoring", function () {
    const QUILTS = [blobIdOf("quilt 0"), blobIdOf("quilt 1")];
    const anchors = [
      ["anchorProof", (r: ProofRegistry, e: number) => r.anchorProof(ROOT, BLOB_ID, e)],
      ["anchorBatch", (r: ProofRegistry, e: number) => r.anchorBatch(ROOT, BATCH_BLOB_ID, 2, e)],
      ["announceBatch", (r: ProofRegistry, e: number) => r.announceBatch(ROOT, BATCH_BLOB_ID, 2, e)],
      ["anchorQuilts", (r: ProofRegistry, e: number) => r.anchorQuilts(ROOT, QUILTS, 2, e)],
      ["announceQuilts", (r: ProofRegistry, e: number) => r.announceQuilts(ROOT, QUILTS, 2, e)],
    ] as const;

    for (const [name, send] of anchors) {
      it(`${name} rejects a zero end epoch, naming the commitment or root`, async function () {
        const { proofRegistry, node } = await loadFixture(fixture);
        await expect(send(proofRegistry.connect(node), 0))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroEndEpoch")
          .withArgs(ROOT);
      });
    }

    it("stores the end epoch with the anchor: the largest uint32 too", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      const max = 2 ** 32 - 1;
      await proofRegistry.connect(node).anchorProof(COMMITMENT, BLOB_ID, max);
      await proofRegistry.connect(node).anchorQuilts(ROOT, QUILTS, 7, 1);
      expect((await proofRegistry.getProof(node, COMMITMENT)).endEpoch).to.equal(BigInt(max));
      expect(fieldsOf(await proofRegistry.getBatch(node, ROOT))).to.deep.equal({
        anchoredAt: BigInt(await time.latest()),
        count: 7n,
        endEpoch: 1n,
      });
    });
  });

  /** The `eventName` events of the transaction `tx`, in log order, as named arguments. */
  async function eventsOf(
    proofRegistry: ProofRegistry,
    tx: Promise<ContractTransactionResponse>,
    eventName: string,
  ): Promise<Record<string, unknown>[]> {
    const receipt = (await (await tx).wait())!;
    return receipt.logs
      .map((log) => proofRegistry.interface.parseLog(log))
      .filter((parsed) => parsed?.name === eventName)
      .map((parsed) => parsed!.args.toObject());
  }

  describe("extendBatches", function () {
    const ROOTS = [commitmentOf("batch root 1"), commitmentOf("batch root 2"), commitmentOf("batch root 3")];

    /** `node` anchors ROOTS[0] and ROOTS[1] in one blob each, and ROOTS[2] over two quilts, all until END_EPOCH. */
    async function anchoredFixture() {
      const base = await fixture();
      const { proofRegistry, node } = base;
      await proofRegistry.connect(node).anchorBatch(ROOTS[0], blobIdOf("b0"), 10, END_EPOCH);
      await proofRegistry.connect(node).anchorBatch(ROOTS[1], blobIdOf("b1"), 20, END_EPOCH);
      await proofRegistry.connect(node).anchorQuilts(ROOTS[2], [blobIdOf("q0"), blobIdOf("q1")], 30, END_EPOCH);
      return { ...base, anchoredAt: BigInt(await time.latest()) };
    }

    it("raises the stored end epoch of every root in place and emits BatchStorageExtended for each, in order", async function () {
      const { proofRegistry, node } = await loadFixture(anchoredFixture);
      const before = await Promise.all(ROOTS.map((r) => proofRegistry.getBatch(node, r)));
      const events = await eventsOf(
        proofRegistry,
        proofRegistry.connect(node).extendBatches(ROOTS, 90),
        "BatchStorageExtended",
      );
      expect(events).to.deep.equal(ROOTS.map((root) => ({ root, node: node.address, endEpoch: 90n })));
      for (const [i, root] of ROOTS.entries()) {
        expect(fieldsOf(await proofRegistry.getBatch(node, root))).to.deep.equal({
          anchoredAt: before[i].anchoredAt,
          count: before[i].count,
          endEpoch: 90n,
        });
      }
    });

    it("extends again only to a later epoch: the end epoch only rises", async function () {
      const { proofRegistry, node } = await loadFixture(anchoredFixture);
      await proofRegistry.connect(node).extendBatches([ROOTS[0]], 90);
      await expect(proofRegistry.connect(node).extendBatches([ROOTS[0]], 91))
        .to.emit(proofRegistry, "BatchStorageExtended")
        .withArgs(ROOTS[0], node.address, 91);
      for (const requested of [91, 90, 1]) {
        await expect(proofRegistry.connect(node).extendBatches([ROOTS[0]], requested))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryEndEpochNotExtended")
          .withArgs(ROOTS[0], 91, requested);
      }
      expect((await proofRegistry.getBatch(node, ROOTS[0])).endEpoch).to.equal(91n);
    });

    it("rejects an end epoch not later than the anchored one, naming the root, the current and the requested", async function () {
      const { proofRegistry, node } = await loadFixture(anchoredFixture);
      for (const requested of [END_EPOCH, END_EPOCH - 1, 0]) {
        await expect(proofRegistry.connect(node).extendBatches([ROOTS[1]], requested))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryEndEpochNotExtended")
          .withArgs(ROOTS[1], END_EPOCH, requested);
      }
    });

    it("reverts the whole call when one root cannot be extended, extending none", async function () {
      const { proofRegistry, node } = await loadFixture(anchoredFixture);
      await proofRegistry.connect(node).extendBatches([ROOTS[2]], 100);
      await expect(proofRegistry.connect(node).extendBatches(ROOTS, 95))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryEndEpochNotExtended")
        .withArgs(ROOTS[2], 100, 95);
      const missing = commitmentOf("never anchored");
      await expect(proofRegistry.connect(node).extendBatches([ROOTS[0], missing], 95))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotAnchored")
        .withArgs(missing, node.address);
      expect((await proofRegistry.getBatch(node, ROOTS[0])).endEpoch).to.equal(BigInt(END_EPOCH));
      expect((await proofRegistry.getBatch(node, ROOTS[1])).endEpoch).to.equal(BigInt(END_EPOCH));
    });

    it("does not let another node extend my root, even one it anchored itself under the same root", async function () {
      const { proofRegistry, node, otherNode, stranger } = await loadFixture(anchoredFixture);
      for (const account of [otherNode, stranger]) {
        await expect(proofRegistry.connect(account).extendBatches([ROOTS[0]], 90))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotAnchored")
          .withArgs(ROOTS[0], account.address);
      }
      await proofRegistry.connect(otherNode).anchorBatch(ROOTS[0], blobIdOf("other's copy"), 10, 70);
      await expect(proofRegistry.connect(otherNode).extendBatches([ROOTS[0]], 90))
        .to.emit(proofRegistry, "BatchStorageExtended")
        .withArgs(ROOTS[0], otherNode.address, 90);
      expect((await proofRegistry.getBatch(node, ROOTS[0])).endEpoch).to.equal(BigInt(END_EPOCH));
      expect((await proofRegistry.getBatch(otherNode, ROOTS[0])).endEpoch).to.equal(90n);
    });

    it("rejects a root the node only announced, or anchored singly as a proof", async function () {
      const { proofRegistry, node } = await loadFixture(anchoredFixture);
      const announced = commitmentOf("announced root");
      await proofRegistry.connect(node).announceBatch(announced, blobIdOf("announced blob"), 3, END_EPOCH);
      await proofRegistry.connect(node).anchorProof(COMMITMENT, BLOB_ID, END_EPOCH);
      for (const root of [announced, COMMITMENT]) {
        await expect(proofRegistry.connect(node).extendBatches([root], 90))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotAnchored")
          .withArgs(root, node.address);
      }
    });

    it("rejects an empty list", async function () {
      const { proofRegistry, node } = await loadFixture(anchoredFixture);
      await expect(proofRegistry.connect(node).extendBatches([], 90))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNothingToExtend")
        .withArgs();
    });

    it("lets a node removed since record the renewal of what it anchored", async function () {
      const { nodeRegistry, proofRegistry, node } = await loadFixture(anchoredFixture);
      await nodeRegistry.removeNode(node);
      await expect(proofRegistry.connect(node).extendBatches([ROOTS[0]], 90))
        .to.emit(proofRegistry, "BatchStorageExtended")
        .withArgs(ROOTS[0], node.address, 90);
    });
  });

  describe("extendProofs", function () {
    const COMMITMENTS = [commitmentOf("inference 1"), commitmentOf("inference 2")];

    async function anchoredFixture() {
      const base = await fixture();
      for (const [i, c] of COMMITMENTS.entries()) {
        await base.proofRegistry.connect(base.node).anchorProof(c, blobIdOf(`proof document ${i}`), END_EPOCH);
      }
      return base;
    }

    it("raises the stored end epoch of every commitment in place and emits ProofStorageExtended for each, in order", async function () {
      const { proofRegistry, node } = await loadFixture(anchoredFixture);
      const before = await Promise.all(COMMITMENTS.map((c) => proofRegistry.getProof(node, c)));
      const events = await eventsOf(
        proofRegistry,
        proofRegistry.connect(node).extendProofs(COMMITMENTS, 75),
        "ProofStorageExtended",
      );
      expect(events).to.deep.equal(
        COMMITMENTS.map((commitment) => ({ commitment, node: node.address, endEpoch: 75n })),
      );
      for (const [i, c] of COMMITMENTS.entries()) {
        expect(fieldsOf(await proofRegistry.getProof(node, c))).to.deep.equal({
          anchoredAt: before[i].anchoredAt,
          endEpoch: 75n,
        });
      }
    });

    it("rejects an end epoch not later than the recorded one, naming the commitment, the current and the requested", async function () {
      const { proofRegistry, node } = await loadFixture(anchoredFixture);
      await proofRegistry.connect(node).extendProofs([COMMITMENTS[0]], 75);
      for (const requested of [75, 74, 0]) {
        await expect(proofRegistry.connect(node).extendProofs(COMMITMENTS.slice(0, 1), requested))
          .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryEndEpochNotExtended")
          .withArgs(COMMITMENTS[0], 75, requested);
      }
    });

    it("does not let another node extend my proof, nor extend a batch root as a proof", async function () {
      const { proofRegistry, node, otherNode } = await loadFixture(anchoredFixture);
      await expect(proofRegistry.connect(otherNode).extendProofs(COMMITMENTS, 75))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotAnchored")
        .withArgs(COMMITMENTS[0], otherNode.address);
      await proofRegistry.connect(node).anchorBatch(ROOT, BATCH_BLOB_ID, 2, END_EPOCH);
      await expect(proofRegistry.connect(node).extendProofs([ROOT], 75))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotAnchored")
        .withArgs(ROOT, node.address);
      expect((await proofRegistry.getProof(node, COMMITMENTS[0])).endEpoch).to.equal(BigInt(END_EPOCH));
    });

    it("rejects an empty list", async function () {
      const { proofRegistry, node } = await loadFixture(anchoredFixture);
      await expect(proofRegistry.connect(node).extendProofs([], 75))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNothingToExtend")
        .withArgs();
    });
  });

  describe("announceBatchesExtended", function () {
    const ROOTS = [commitmentOf("announced root 1"), commitmentOf("announced root 2")];

    it("emits BatchStorageExtended for each root, in order, under the calling node, and stores nothing", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      for (const root of ROOTS) await proofRegistry.connect(node).announceBatch(root, BATCH_BLOB_ID, 2, END_EPOCH);
      const events = await eventsOf(
        proofRegistry,
        proofRegistry.connect(node).announceBatchesExtended(ROOTS, 90),
        "BatchStorageExtended",
      );
      expect(events).to.deep.equal(ROOTS.map((root) => ({ root, node: node.address, endEpoch: 90n })));
      for (const root of ROOTS) expect(fieldsOf(await proofRegistry.getBatch(node, root))).to.deep.equal(NO_BATCH);
    });

    it("rejects an empty list, a zero root and a zero end epoch", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      await expect(proofRegistry.connect(node).announceBatchesExtended([], 90))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNothingToExtend")
        .withArgs();
      await expect(proofRegistry.connect(node).announceBatchesExtended([ROOTS[0], ZERO_BYTES32], 90))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroCommitment")
        .withArgs();
      await expect(proofRegistry.connect(node).announceBatchesExtended(ROOTS, 0))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryZeroEndEpoch")
        .withArgs(ROOTS[0]);
    });

    it("rejects an account that is not an active node, and a node once it is removed", async function () {
      const { nodeRegistry, proofRegistry, node, stranger } = await loadFixture(fixture);
      await expect(proofRegistry.connect(stranger).announceBatchesExtended(ROOTS, 90))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotActiveNode")
        .withArgs(stranger.address);
      await nodeRegistry.removeNode(node);
      await expect(proofRegistry.connect(node).announceBatchesExtended(ROOTS, 90))
        .to.be.revertedWithCustomError(proofRegistry, "ProofRegistryNotActiveNode")
        .withArgs(node.address);
    });
  });

  describe("getProof and getBatch", function () {
    it("read all zero for what was never anchored, and for what only another node anchored", async function () {
      const { proofRegistry, node, otherNode } = await loadFixture(fixture);
      await proofRegistry.connect(otherNode).anchorProof(COMMITMENT, BLOB_ID, END_EPOCH);
      await proofRegistry.connect(otherNode).anchorBatch(ROOT, BATCH_BLOB_ID, 3, END_EPOCH);
      for (const account of [node.address, ZeroAddress]) {
        expect(fieldsOf(await proofRegistry.getProof(account, COMMITMENT))).to.deep.equal(NO_PROOF);
        expect(fieldsOf(await proofRegistry.getBatch(account, ROOT))).to.deep.equal(NO_BATCH);
      }
    });
  });

  describe("leafOf", function () {
    it("equals the leaf hash of @openzeppelin/merkle-tree's StandardMerkleTree over bytes32", async function () {
      const { proofRegistry } = await loadFixture(fixture);
      const values = [...commitments(5), ZERO_BYTES32, "0x" + "ff".repeat(32)];
      const tree = batchTree(values);
      for (const value of values) expect(await proofRegistry.leafOf(value)).to.equal(tree.leafHash([value]));
    });
  });

  describe("isIncluded", function () {
    for (const size of [1, 2, 3]) {
      it(`anchors a batch of ${size} and proves the inclusion of every leaf`, async function () {
        const { proofRegistry, node } = await loadFixture(fixture);
        const tree = batchTree(commitments(size));
        await proofRegistry.connect(node).anchorBatch(tree.root, BATCH_BLOB_ID, size, END_EPOCH);
        for (const [i, [leaf]] of tree.entries()) {
          expect(await proofRegistry.isIncluded(node, tree.root, leaf, tree.getProof(i))).to.equal(true);
        }
      });
    }

    it("anchors a batch of 1,000 and proves inclusion of the first, the last and 20 random leaves", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      const leaves = commitments(1_000);
      const tree = batchTree(leaves);
      await proofRegistry.connect(node).anchorBatch(tree.root, BATCH_BLOB_ID, leaves.length, END_EPOCH);
      const random = seededRandom(0x5742a7a);
      const sample = [0, leaves.length - 1, ...Array.from({ length: 20 }, () => Math.floor(random() * leaves.length))];
      for (const i of sample) {
        const proof = tree.getProof([leaves[i]]);
        expect(proof.length).to.be.within(9, 10);
        expect(await proofRegistry.isIncluded(node, tree.root, leaves[i], proof)).to.equal(true);
      }
    });

    it("rejects a leaf that is not in the batch", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      const tree = batchTree(commitments(3));
      await proofRegistry.connect(node).anchorBatch(tree.root, BATCH_BLOB_ID, 3, END_EPOCH);
      const stranger = commitmentOf("not in the batch");
      for (let i = 0; i < 3; i++) {
        expect(await proofRegistry.isIncluded(node, tree.root, stranger, tree.getProof(i))).to.equal(false);
      }
    });

    it("rejects a proof made for another leaf, a truncated proof and an empty proof", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      const leaves = commitments(3);
      const tree = batchTree(leaves);
      await proofRegistry.connect(node).anchorBatch(tree.root, BATCH_BLOB_ID, 3, END_EPOCH);
      const proof0 = tree.getProof([leaves[0]]);
      const proof1 = tree.getProof([leaves[1]]);
      expect(proof0).not.to.deep.equal(proof1);
      expect(await proofRegistry.isIncluded(node, tree.root, leaves[0], proof1)).to.equal(false);
      expect(await proofRegistry.isIncluded(node, tree.root, leaves[0], proof0.slice(1))).to.equal(false);
      expect(await proofRegistry.isIncluded(node, tree.root, leaves[0], [])).to.equal(false);
    });

    it("rejects an inner node of the tree presented as a commitment", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      const tree = batchTree(commitments(4));
      await proofRegistry.connect(node).anchorBatch(tree.root, BATCH_BLOB_ID, 4, END_EPOCH);
      const { tree: nodes } = tree.dump();
      // nodes[0] is the root; nodes[1] and nodes[2] are its children, each over two leaves.
      expect(await proofRegistry.isIncluded(node, tree.root, nodes[1], [nodes[2]])).to.equal(false);
    });

    it("returns false for a root that was never anchored, even with a valid proof", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      const leaves = commitments(3);
      const tree = batchTree(leaves);
      expect(await proofRegistry.isIncluded(node, tree.root, leaves[0], tree.getProof(0))).to.equal(false);
    });

    it("returns false for a root that was only announced", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      const leaves = commitments(3);
      const tree = batchTree(leaves);
      await proofRegistry.connect(node).announceBatch(tree.root, BATCH_BLOB_ID, 3, END_EPOCH);
      for (const [i, [leaf]] of tree.entries()) {
        expect(await proofRegistry.isIncluded(node, tree.root, leaf, tree.getProof(i))).to.equal(false);
      }
    });

    it("returns false for a root that only another node anchored", async function () {
      const { proofRegistry, node, otherNode } = await loadFixture(fixture);
      const leaves = commitments(3);
      const tree = batchTree(leaves);
      await proofRegistry.connect(otherNode).anchorBatch(tree.root, BATCH_BLOB_ID, 3, END_EPOCH);
      expect(await proofRegistry.isIncluded(otherNode, tree.root, leaves[0], tree.getProof(0))).to.equal(true);
      expect(await proofRegistry.isIncluded(node, tree.root, leaves[0], tree.getProof(0))).to.equal(false);
    });

    it("does not read a singly anchored commitment as a batch root", async function () {
      const { proofRegistry, node } = await loadFixture(fixture);
      const tree = batchTree([COMMITMENT]);
      await proofRegistry.connect(node).anchorProof(tree.root, BLOB_ID, END_EPOCH);
      expect(await proofRegistry.isIncluded(node, tree.root, COMMITMENT, [])).to.equal(false);
    });
  });
});
