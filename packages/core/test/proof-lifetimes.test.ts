import { expect } from "chai";
import { network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  ContractRevertError,
  InvalidArgumentError,
  MAX_END_EPOCH,
  ProofRegistryClient,
  type BatchReference,
} from "../src";
import { blob, commitment, deployFixture, rejection, root } from "./fixtures";

/** The Walrus epoch (exclusive) until which the blobs are first stored. */
const END_EPOCH = 60;

/** Two admitted nodes, and for each a client of the registry that scans one block at a time (so every scan crosses ranges). */
async function lifetimeFixture() {
  const base = await deployFixture();
  await (await base.client.nodes.admitNode(base.node.address, "http://node")).wait();
  await (await base.client.nodes.admitNode(base.node2.address, "http://node2")).wait();
  const address = await base.client.proofs.getAddress();
  const narrow = (signer: typeof base.node) =>
    ProofRegistryClient.at(address, signer, { fromBlock: base.deployment.block, maxBlockRange: 1 });
  return { ...base, proofs: narrow(base.node), proofs2: narrow(base.node2) };
}

/** A few empty blocks, so that events land in different scan ranges. */
async function mine(blocks = 3): Promise<void> {
  await network.provider.send("hardhat_mine", [`0x${blocks.toString(16)}`]);
}

describe("core ProofRegistryClient end epochs and renewals", function () {
  describe("end epoch arguments", function () {
    const invalid: unknown[] = [0, -1, 1.5, MAX_END_EPOCH + 1, Number.NaN, Number.POSITIVE_INFINITY, "60", 60n];

    it("refuses an end epoch that is not an integer from 1 to 2^32 - 1 before sending anything, naming it", async function () {
      const { proofs, node } = await loadFixture(lifetimeFixture);
      const nonce = await node.getNonce();
      const sends: ((e: number) => Promise<unknown>)[] = [
        (e) => proofs.anchorProof(commitment("c"), blob("b"), e),
        (e) => proofs.anchorBatch(root("r"), blob("b"), 2, e),
        (e) => proofs.announceBatch(root("r"), blob("b"), 2, e),
        (e) => proofs.anchorQuilts(root("r"), [blob("q")], 2, e),
        (e) => proofs.announceQuilts(root("r"), [blob("q")], 2, e),
        (e) => proofs.extendBatches([root("r")], e),
        (e) => proofs.extendProofs([commitment("c")], e),
        (e) => proofs.announceBatchesExtended([root("r")], e),
      ];
      for (const send of sends) {
        for (const value of invalid) {
          const error = await rejection(send(value as number));
          expect(error).to.be.instanceOf(InvalidArgumentError);
          expect((error as InvalidArgumentError).argument).to.equal("endEpoch");
          expect((error as InvalidArgumentError).message).to.contain("an integer from 1 to 2^32 - 1");
        }
      }
      expect(await node.getNonce()).to.equal(nonce);
    });

    it("anchors with the largest end epoch the registry holds", async function () {
      const { proofs, node } = await loadFixture(lifetimeFixture);
      const anchored = await (await proofs.anchorBatch(root("r"), blob("b"), 2, MAX_END_EPOCH)).wait();
      expect(anchored.endEpoch).to.equal(MAX_END_EPOCH);
      expect((await proofs.getBatch(node.address, root("r")))!.endEpoch).to.equal(MAX_END_EPOCH);
    });

    it("refuses an empty list of roots or commitments to extend before sending", async function () {
      const { proofs } = await loadFixture(lifetimeFixture);
      for (const send of [
        () => proofs.extendBatches([], 90),
        () => proofs.announceBatchesExtended([], 90),
        () => proofs.extendProofs([], 90),
      ]) {
        const error = await rejection(send());
        expect(error).to.be.instanceOf(InvalidArgumentError);
        expect((error as Error).message).to.contain("pass at least one");
      }
    });
  });

  describe("anchored batches", function () {
    it("extends several roots in one transaction: wait() names them, storage, references and lifetimes follow", async function () {
      const { proofs, node } = await loadFixture(lifetimeFixture);
      await (await proofs.anchorBatch(root("one"), blob("one"), 5, END_EPOCH)).wait();
      await mine();
      await (await proofs.anchorQuilts(root("two"), [blob("q0"), blob("q1")], 900, END_EPOCH + 1)).wait();
      await mine();
      const tx = await proofs.extendBatches([root("one"), root("two")], 90);
      const extended = await tx.wait();
      expect(extended).to.deep.equal({
        roots: [root("one"), root("two")],
        node: node.address,
        endEpoch: 90,
        blockNumber: tx.receipt!.blockNumber,
        txHash: tx.hash,
        gasUsed: tx.receipt!.gasUsed,
      });
      await mine();
      for (const r of [root("one"), root("two")]) {
        expect((await proofs.getBatch(node.address, r))!.endEpoch).to.equal(90);
        expect((await proofs.batchReference(r, node.address))!.endEpoch).to.equal(90);
      }
      expect(await proofs.lifetimes(node.address, [root("one"), root("two")])).to.deep.equal(
        new Map([
          [root("one"), 90],
          [root("two"), 90],
        ]),
      );
    });

    it("takes the latest of several extensions", async function () {
      const { proofs, node } = await loadFixture(lifetimeFixture);
      await (await proofs.anchorBatch(root("r"), blob("b"), 5, END_EPOCH)).wait();
      for (const endEpoch of [70, 80, 95]) {
        await mine();
        await (await proofs.extendBatches([root("r")], endEpoch)).wait();
      }
      expect((await proofs.batchReference(root("r"), node.address))!.endEpoch).to.equal(95);
      expect((await proofs.lifetimes(node.address, [root("r")])).get(root("r"))).to.equal(95);
    });

    it("does not raise a node's reference by another node's extension of the same root", async function () {
      const { proofs, proofs2, node, node2 } = await loadFixture(lifetimeFixture);
      await (await proofs.anchorBatch(root("r"), blob("mine"), 5, END_EPOCH)).wait();
      await (await proofs2.anchorBatch(root("r"), blob("theirs"), 5, END_EPOCH)).wait();
      await mine();
      await (await proofs2.extendBatches([root("r")], 99)).wait();
      expect((await proofs.batchReference(root("r"), node.address))!.endEpoch).to.equal(END_EPOCH);
      expect((await proofs.batchReference(root("r"), node2.address))!.endEpoch).to.equal(99);
      expect((await proofs.lifetimes(node.address, [root("r")])).get(root("r"))).to.equal(END_EPOCH);
      const all = await proofs.batchReferences(root("r"));
      expect(all.map((r) => [r.node, r.endEpoch])).to.deep.equal([
        [node.address, END_EPOCH],
        [node2.address, 99],
      ]);
    });

    it("decodes the registry's refusals: a root the sender did not anchor, an end epoch not later", async function () {
      const { proofs, proofs2, node, node2 } = await loadFixture(lifetimeFixture);
      await (await proofs.anchorBatch(root("r"), blob("b"), 5, END_EPOCH)).wait();
      const notMine = (await rejection(proofs2.extendBatches([root("r")], 90))) as ContractRevertError;
      expect(notMine).to.be.instanceOf(ContractRevertError);
      expect(notMine.errorName).to.equal("ProofRegistryNotAnchored");
      expect(notMine.namedArgs).to.deep.equal({ commitment: root("r"), node: node2.address });
      expect(notMine.message).to.contain("only the node that anchored it records its renewal");
      const notLater = (await rejection(proofs.extendBatches([root("r")], END_EPOCH))) as ContractRevertError;
      expect(notLater.errorName).to.equal("ProofRegistryEndEpochNotExtended");
      expect(notLater.namedArgs).to.deep.equal({
        commitment: root("r"),
        current: BigInt(END_EPOCH),
        requested: BigInt(END_EPOCH),
      });
      expect((await proofs.getBatch(node.address, root("r")))!.endEpoch).to.equal(END_EPOCH);
    });
  });

  describe("announced batches", function () {
    it("raises an announcement's end epoch by the node's later announceBatchesExtended, the latest winning", async function () {
      const { proofs, node } = await loadFixture(lifetimeFixture);
      await (await proofs.announceBatch(root("a"), blob("a"), 3, END_EPOCH)).wait();
      await (await proofs.announceQuilts(root("q"), [blob("q0"), blob("q1")], 3, END_EPOCH)).wait();
      await mine();
      const tx = await proofs.announceBatchesExtended([root("a"), root("q")], 80);
      expect(await tx.wait()).to.deep.include({ roots: [root("a"), root("q")], node: node.address, endEpoch: 80 });
      await mine();
      await (await proofs.announceBatchesExtended([root("a")], 85)).wait();
      expect((await proofs.batchReference(root("a"), node.address))!.endEpoch).to.equal(85);
      expect((await proofs.batchReference(root("q"), node.address))!.endEpoch).to.equal(80);
      expect(await proofs.lifetimes(node.address, [root("a"), root("q")])).to.deep.equal(
        new Map([
          [root("a"), 85],
          [root("q"), 80],
        ]),
      );
    });

    it("leaves a re-announcement after an extension at its own end epoch, and reads it as the root's lifetime", async function () {
      const { proofs, node } = await loadFixture(lifetimeFixture);
      await (await proofs.announceBatch(root("a"), blob("a"), 3, END_EPOCH)).wait();
      await mine();
      await (await proofs.announceBatchesExtended([root("a")], 80)).wait();
      await mine();
      await (await proofs.announceBatch(root("a"), blob("a again"), 3, 70)).wait();
      const references = await proofs.batchReferences(root("a"), node.address);
      expect(references.map((r) => [r.blobId, r.endEpoch])).to.deep.equal([
        [blob("a"), 80],
        [blob("a again"), 70],
      ]);
      expect((await proofs.lifetimes(node.address, [root("a")])).get(root("a"))).to.equal(70);
    });

    it("reads lifetimes from storage for anchored roots and from events for announced ones, leaving out the rest", async function () {
      const { proofs, proofs2, node } = await loadFixture(lifetimeFixture);
      await (await proofs.anchorBatch(root("stored"), blob("s"), 3, END_EPOCH)).wait();
      await (await proofs.announceBatch(root("announced"), blob("a"), 3, 61)).wait();
      await (await proofs2.announceBatch(root("theirs"), blob("t"), 3, 62)).wait();
      await (await proofs2.anchorBatch(root("their stored"), blob("ts"), 3, 63)).wait();
      await (await proofs.announceBatchesExtended([root("never announced")], 99)).wait();
      const lifetimes = await proofs.lifetimes(node.address, [
        root("stored"),
        root("announced"),
        root("theirs"),
        root("their stored"),
        root("never announced"),
        root("stored"),
      ]);
      expect(lifetimes).to.deep.equal(
        new Map([
          [root("stored"), END_EPOCH],
          [root("announced"), 61],
        ]),
      );
      expect(await proofs.lifetimes(node.address, [])).to.deep.equal(new Map());
    });
  });

  describe("single proofs", function () {
    it("extends proofs in one transaction: wait() names them, getProof and references follow", async function () {
      const { proofs, proofs2, node, node2 } = await loadFixture(lifetimeFixture);
      await (await proofs.anchorProof(commitment("c1"), blob("c1"), END_EPOCH)).wait();
      await (await proofs.anchorProof(commitment("c2"), blob("c2"), END_EPOCH)).wait();
      await (await proofs2.anchorProof(commitment("c1"), blob("copy"), END_EPOCH)).wait();
      await mine();
      const tx = await proofs.extendProofs([commitment("c1"), commitment("c2")], 77);
      expect(await tx.wait()).to.deep.equal({
        commitments: [commitment("c1"), commitment("c2")],
        node: node.address,
        endEpoch: 77,
        blockNumber: tx.receipt!.blockNumber,
        txHash: tx.hash,
        gasUsed: tx.receipt!.gasUsed,
      });
      expect(await proofs.getProof(node.address, commitment("c1"))).to.include({ endEpoch: 77 });
      expect((await proofs.proofReference(commitment("c2"), node.address))!.endEpoch).to.equal(77);
      expect((await proofs.proofReference(commitment("c1"), node2.address))!.endEpoch).to.equal(END_EPOCH);
      expect((await proofs.proofReferences(commitment("c1"))).map((r) => [r.node, r.endEpoch])).to.deep.equal([
        [node.address, 77],
        [node2.address, END_EPOCH],
      ]);
    });
  });

  describe("newest-first scans", function () {
    it("hands over each reference with its latest end epoch, the extensions met in later block ranges", async function () {
      const { proofs, proofs2, node, node2 } = await loadFixture(lifetimeFixture);
      await (await proofs.anchorBatch(root("old"), blob("old"), 2, END_EPOCH)).wait();
      await (await proofs.announceBatch(root("announced"), blob("a"), 2, END_EPOCH)).wait();
      await (await proofs2.anchorBatch(root("old"), blob("theirs"), 2, END_EPOCH)).wait();
      await mine();
      await (await proofs.extendBatches([root("old")], 88)).wait();
      await mine();
      await (await proofs.announceBatchesExtended([root("announced")], 66)).wait();
      await (await proofs.anchorBatch(root("new"), blob("new"), 2, 50)).wait();
      await mine();
      await (await proofs.extendBatches([root("new")], 70)).wait();
      const seen: BatchReference[] = [];
      const scan = await proofs.scanBatchReferencesNewestFirst((r) => {
        seen.push(r);
        return false;
      });
      expect(scan.events).to.equal(4);
      expect(seen.map((r) => [r.root, r.node, r.endEpoch])).to.deep.equal([
        [root("new"), node.address, 70],
        [root("old"), node2.address, END_EPOCH],
        [root("announced"), node.address, 66],
        [root("old"), node.address, 88],
      ]);
      const mine2: BatchReference[] = [];
      await proofs.scanBatchReferencesNewestFirst((r) => (mine2.push(r), false), { node: node.address });
      expect(mine2.map((r) => r.endEpoch)).to.deep.equal([70, 66, 88]);
      expect(mine2.every((r) => !("kind" in r) && !("subject" in r))).to.equal(true);
    });
  });
});
