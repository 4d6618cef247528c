import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { blobIdFromBytes32, ContractRevertError, ProofRegistryClient, StrataClient, toCommitment } from "../src";
import { blob, commitment, deployFixture, rejection, root } from "./fixtures";

/** The Walrus epoch (exclusive) until which the anchored blobs are stored. */
const END_EPOCH = 60;

async function nodeFixture() {
  const base = await deployFixture();
  await (await base.client.nodes.admitNode(base.node.address, "http://node")).wait();
  await (await base.client.nodes.admitNode(base.node2.address, "http://node2")).wait();
  return { ...base, proofs: base.client.proofs.connect(base.node) };
}

describe("core ProofRegistryClient", function () {
  describe("single proofs", function () {
    it("anchors a proof: wait() gives the anchor, and reads give who, when and the Blob ID", async function () {
      const { proofs, node } = await loadFixture(nodeFixture);
      const anchored = await (await proofs.anchorProof(commitment("c1"), blob("blob c1"), END_EPOCH)).wait();
      expect(anchored).to.include({
        commitment: commitment("c1"),
        blobId: blob("blob c1"),
        node: node.address,
        endEpoch: END_EPOCH,
      });
      expect(anchored.gasUsed > 0n).to.equal(true);
      const block = await proofs.runner!.provider!.getBlock(anchored.blockNumber);
      expect(await proofs.getProof(node.address, commitment("c1"))).to.deep.equal({
        node: node.address,
        anchoredAt: block!.timestamp,
        endEpoch: END_EPOCH,
      });
      expect(await proofs.proofBlobId(commitment("c1"), node.address)).to.equal(blob("blob c1"));
      expect(await proofs.proofReference(commitment("c1"), node.address)).to.deep.equal({
        commitment: commitment("c1"),
        blobId: blob("blob c1"),
        node: node.address,
        endEpoch: END_EPOCH,
        blockNumber: anchored.blockNumber,
        logIndex: 0,
        txHash: anchored.txHash,
      });
    });

    it("reads an unknown proof as null", async function () {
      const { proofs, node } = await loadFixture(nodeFixture);
      expect(await proofs.getProof(node.address, commitment("none"))).to.equal(null);
      expect(await proofs.proofBlobId(commitment("none"), node.address)).to.equal(null);
    });

    it("reads each node's anchor of the same commitment apart: another node's copy is not the signer's", async function () {
      const { client, proofs, node, node2 } = await loadFixture(nodeFixture);
      await (await client.proofs.connect(node2).anchorProof(commitment("c1"), blob("copy by node2"), END_EPOCH)).wait();
      expect(await proofs.getProof(node.address, commitment("c1"))).to.equal(null);
      expect(await proofs.proofReference(commitment("c1"), node.address)).to.equal(null);
      const anchored = await (await proofs.anchorProof(commitment("c1"), blob("blob by node"), END_EPOCH)).wait();
      expect(await proofs.proofReference(commitment("c1"), node.address)).to.include({
        blobId: blob("blob by node"),
        node: node.address,
        blockNumber: anchored.blockNumber,
      });
      expect(await proofs.proofReference(commitment("c1"), node2.address)).to.include({
        blobId: blob("copy by node2"),
      });
      expect((await proofs.proofReferences(commitment("c1"))).map((r) => r.node)).to.deep.equal([
        node2.address,
        node.address,
      ]);
    });

    it("decodes a second anchoring by the same node with when it anchored first", async function () {
      const { proofs, node } = await loadFixture(nodeFixture);
      await (await proofs.anchorProof(commitment("c1"), blob("blob"), END_EPOCH)).wait();
      const { anchoredAt } = (await proofs.getProof(node.address, commitment("c1")))!;
      const error = (await rejection(
        proofs.anchorProof(commitment("c1"), blob("blob 2"), END_EPOCH),
      )) as ContractRevertError;
      expect(error.errorName).to.equal("ProofRegistryAlreadyAnchored");
      expect(error.namedArgs).to.deep.equal({
        commitment: commitment("c1"),
        node: node.address,
        anchoredAt: BigInt(anchoredAt),
      });
    });

    it("decodes an anchoring by an account that is not an active node", async function () {
      const { client, other } = await loadFixture(nodeFixture);
      const error = (await rejection(
        client.proofs.connect(other).anchorProof(commitment("c"), blob("blob"), END_EPOCH),
      )) as ContractRevertError;
      expect(error.errorName).to.equal("ProofRegistryNotActiveNode");
      expect(error.message).to.contain(`${other.address} is not an active node`);
    });

    it("decodes a zero commitment and a zero Blob ID", async function () {
      const { proofs } = await loadFixture(nodeFixture);
      const zero = "0x" + "00".repeat(32);
      expect(
        ((await rejection(proofs.anchorProof(toCommitment(zero), blob("blob"), END_EPOCH))) as ContractRevertError)
          .errorName,
      ).to.equal("ProofRegistryZeroCommitment");
      expect(
        (
          (await rejection(
            proofs.anchorProof(commitment("c"), blobIdFromBytes32(zero), END_EPOCH),
          )) as ContractRevertError
        ).errorName,
      ).to.equal("ProofRegistryZeroBlobId");
    });
  });

  describe("batches", function () {
    it("anchors a batch: wait() gives root, Blob ID, count, block, tx and gas", async function () {
      const { proofs, node } = await loadFixture(nodeFixture);
      const tx = await proofs.anchorBatch(root("root"), blob("batch blob"), 7, END_EPOCH);
      const anchored = await tx.wait();
      expect(anchored).to.deep.equal({
        root: root("root"),
        blobId: blob("batch blob"),
        blobIds: [blob("batch blob")],
        count: 7,
        node: node.address,
        endEpoch: END_EPOCH,
        blockNumber: tx.receipt!.blockNumber,
        txHash: tx.hash,
        gasUsed: tx.receipt!.gasUsed,
      });
      expect(await proofs.getBatch(node.address, root("root"))).to.include({ node: node.address, count: 7 });
      expect(await proofs.batchBlobId(root("root"), node.address)).to.equal(blob("batch blob"));
      expect(await proofs.batchReference(root("root"), node.address)).to.include({ anchored: true, count: 7 });
    });

    it("announces a batch in an event only: no stored anchor, but the Blob ID is found", async function () {
      const { proofs, node } = await loadFixture(nodeFixture);
      const announced = await (await proofs.announceBatch(root("root"), blob("batch blob"), 3, END_EPOCH)).wait();
      expect(announced).to.include({ root: root("root"), blobId: blob("batch blob"), count: 3 });
      expect(await proofs.getBatch(node.address, root("root"))).to.equal(null);
      expect(await proofs.batchReference(root("root"), node.address)).to.include({
        anchored: false,
        blobId: blob("batch blob"),
      });
    });

    it("prefers the node's anchored reference of a batch over its announcements", async function () {
      const { proofs, node } = await loadFixture(nodeFixture);
      await (await proofs.announceBatch(root("root"), blob("announced"), 1, END_EPOCH)).wait();
      await (await proofs.anchorBatch(root("root"), blob("real"), 1, END_EPOCH)).wait();
      const references = await proofs.batchReferences(root("root"), node.address);
      expect(references.map((r) => [r.blobId, r.anchored])).to.deep.equal([
        [blob("announced"), false],
        [blob("real"), true],
      ]);
      expect(await proofs.batchBlobId(root("root"), node.address)).to.equal(blob("real"));
      expect(await proofs.batchBlobId(root("other"), node.address)).to.equal(null);
    });

    it("never takes another node's anchor or announcement of a root as the node's own", async function () {
      const { proofs, client, node, node2 } = await loadFixture(nodeFixture);
      const squatter = client.proofs.connect(node2);
      await (await squatter.anchorBatch(root("root"), blob("squatted"), 9, END_EPOCH)).wait();
      await (await squatter.announceBatch(root("root"), blob("spoof"), 9, END_EPOCH)).wait();
      expect(await proofs.getBatch(node.address, root("root"))).to.equal(null);
      expect(await proofs.batchReference(root("root"), node.address)).to.equal(null);
      await (await proofs.anchorBatch(root("root"), blob("real"), 2, END_EPOCH)).wait();
      expect(await proofs.getBatch(node.address, root("root"))).to.include({ node: node.address, count: 2 });
      expect(await proofs.getBatch(node2.address, root("root"))).to.include({ node: node2.address, count: 9 });
      expect(await proofs.batchReference(root("root"), node.address)).to.include({ blobId: blob("real"), count: 2 });
      expect((await proofs.batchReferences(root("root"))).map((r) => [r.node, r.anchored])).to.deep.equal([
        [node2.address, true],
        [node2.address, false],
        [node.address, true],
      ]);
    });

    it("anchors a root over several quilts: every quilt Blob ID in order, in wait() and in the references", async function () {
      const { proofs, node } = await loadFixture(nodeFixture);
      const quilts = [blob("quilt 0"), blob("quilt 1"), blob("quilt 2")];
      const tx = await proofs.anchorQuilts(root("root"), quilts, 1_500, END_EPOCH);
      const anchored = await tx.wait();
      expect(anchored).to.deep.equal({
        root: root("root"),
        blobId: quilts[0],
        blobIds: quilts,
        count: 1_500,
        node: node.address,
        endEpoch: END_EPOCH,
        blockNumber: tx.receipt!.blockNumber,
        txHash: tx.hash,
        gasUsed: tx.receipt!.gasUsed,
      });
      expect(await proofs.getBatch(node.address, root("root"))).to.include({ node: node.address, count: 1_500 });
      const reference = await proofs.batchReference(root("root"), node.address);
      expect(reference).to.deep.include({ anchored: true, event: "QuiltsAnchored", blobIds: quilts, count: 1_500 });
    });

    it("announces a root over several quilts in an event only, and tells the four batch events apart", async function () {
      const { proofs, node } = await loadFixture(nodeFixture);
      const quilts = [blob("quilt a"), blob("quilt b")];
      const announced = await (await proofs.announceQuilts(root("q"), quilts, 700, END_EPOCH)).wait();
      expect(announced).to.deep.include({ root: root("q"), blobIds: quilts, count: 700 });
      expect(await proofs.getBatch(node.address, root("q"))).to.equal(null);
      await (await proofs.announceBatch(root("q"), blob("one blob"), 700, END_EPOCH)).wait();
      await (await proofs.anchorBatch(root("q"), blob("one quilt"), 700, END_EPOCH)).wait();
      await (await proofs.anchorQuilts(root("r"), quilts, 700, END_EPOCH)).wait();
      const events = [
        ...(await proofs.batchReferences(root("q"), node.address)),
        ...(await proofs.batchReferences(root("r"), node.address)),
      ];
      expect(events.map((r) => [r.event, r.anchored, r.blobIds.length])).to.deep.equal([
        ["QuiltsAnnounced", false, 2],
        ["BatchAnnounced", false, 1],
        ["BatchAnchored", true, 1],
        ["QuiltsAnchored", true, 2],
      ]);
    });

    it("decodes a zero quilt Blob ID refused by the registry, naming its position", async function () {
      const { proofs } = await loadFixture(nodeFixture);
      const zero = blobIdFromBytes32(`0x${"00".repeat(32)}`);
      const error = (await rejection(
        proofs.anchorQuilts(root("root"), [blob("quilt 0"), zero], 2, END_EPOCH),
      )) as ContractRevertError;
      expect(error.errorName).to.equal("ProofRegistryZeroQuiltId");
      expect(error.namedArgs).to.deep.equal({ root: root("root"), index: 1n });
    });

    it("decodes an empty batch", async function () {
      const { proofs } = await loadFixture(nodeFixture);
      const error = (await rejection(
        proofs.anchorBatch(root("root"), blob("blob"), 0, END_EPOCH),
      )) as ContractRevertError;
      expect(error.errorName).to.equal("ProofRegistryEmptyBatch");
      expect(error.namedArgs).to.deep.equal({ root: root("root") });
    });

    it("says an unknown root includes nothing", async function () {
      const { proofs, node } = await loadFixture(nodeFixture);
      expect(await proofs.isIncluded(node.address, root("root"), commitment("c"), [])).to.equal(false);
    });
  });

  it("reads each registry's version(), to tell deployments apart", async function () {
    const { client } = await loadFixture(deployFixture);
    expect(await client.models.version()).to.equal("1.0.0");
    expect(await client.nodes.version()).to.equal("1.0.0");
    expect(await client.proofs.version()).to.equal("2.0.0");
  });

  it("builds all three clients from a deployment record", async function () {
    const { deployment, admin } = await loadFixture(deployFixture);
    const client = StrataClient.connect(deployment, admin);
    expect(await client.models.getAddress()).to.equal(deployment.contracts.ModelRegistry);
    expect(await client.nodes.getAddress()).to.equal(deployment.contracts.NodeRegistry);
    expect(await client.proofs.getAddress()).to.equal(deployment.contracts.ProofRegistry);
    expect(client.proofs.options.fromBlock).to.equal(deployment.block);
    expect(client.proofDomain).to.deep.equal({
      chainId: 31337,
      proofRegistry: deployment.contracts.ProofRegistry,
      modelRegistry: deployment.contracts.ModelRegistry,
    });
    const attached = ProofRegistryClient.at(deployment.contracts.ProofRegistry, admin);
    expect(await attached.nodeRegistry()).to.equal(deployment.contracts.NodeRegistry);
  });
});
