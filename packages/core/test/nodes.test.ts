import { expect } from "chai";
import { network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ContractRevertError, InvalidArgumentError } from "../src";
import { blob, commitment, deployFixture, rejection } from "./fixtures";

describe("core NodeRegistryClient", function () {
  it("admits a node: it is active, may anchor, and its endpoint is known", async function () {
    const { client, node } = await loadFixture(deployFixture);
    const admitted = await (await client.nodes.admitNode(node.address, "http://127.0.0.1:7001")).wait();
    expect(admitted).to.include({ node: node.address, endpoint: "http://127.0.0.1:7001" });
    expect(await client.nodes.isActive(node.address)).to.equal(true);
    expect(await client.proofs.isAnchorer(node.address)).to.equal(true);
    expect(await client.nodes.getNode(node.address)).to.deep.equal({
      address: node.address,
      active: true,
      admittedAt: await time.latest(),
      removedAt: 0,
    });
    expect(await client.nodes.endpoint(node.address)).to.equal("http://127.0.0.1:7001");
  });

  it("reads a never-admitted node as inactive, with no endpoint", async function () {
    const { client, other } = await loadFixture(deployFixture);
    expect(await client.nodes.isActive(other.address)).to.equal(false);
    expect(await client.nodes.getNode(other.address)).to.deep.equal({
      address: other.address,
      active: false,
      admittedAt: 0,
      removedAt: 0,
    });
    expect(await client.nodes.endpoint(other.address)).to.equal(null);
    expect(await client.nodes.history(other.address)).to.deep.equal([]);
  });

  it("follows endpoint moves made by the node itself", async function () {
    const { client, node } = await loadFixture(deployFixture);
    await (await client.nodes.admitNode(node.address, "http://a")).wait();
    const moved = await (await client.nodes.connect(node).updateEndpoint("http://b")).wait();
    expect(moved).to.include({ node: node.address, endpoint: "http://b" });
    expect(await client.nodes.endpoint(node.address)).to.equal("http://b");
  });

  it("removes a node: it stops anchoring", async function () {
    const { client, node } = await loadFixture(deployFixture);
    await (await client.nodes.admitNode(node.address, "http://a")).wait();
    expect(await (await client.nodes.removeNode(node.address)).wait()).to.include({ node: node.address });
    expect(await client.nodes.isActive(node.address)).to.equal(false);
    expect(await client.proofs.isAnchorer(node.address)).to.equal(false);
    expect((await client.nodes.getNode(node.address)).removedAt).to.equal(await time.latest());
  });

  it("decodes an admission by an account without the admin role", async function () {
    const { client, node, other, admin } = await loadFixture(deployFixture);
    const error = (await rejection(
      client.nodes.connect(other).admitNode(node.address, "http://a"),
    )) as ContractRevertError;
    expect(error).to.be.instanceOf(ContractRevertError);
    expect(error.errorName).to.equal("AccessControlUnauthorizedAccount");
    expect(error.namedArgs.account).to.equal(other.address);
    expect(await client.nodes.isNodeAdmin(other.address)).to.equal(false);
    expect(await client.nodes.isNodeAdmin(admin.address)).to.equal(true);
  });

  it("decodes a double admission, an empty endpoint and a move by an inactive node", async function () {
    const { client, node, other } = await loadFixture(deployFixture);
    await (await client.nodes.admitNode(node.address, "http://a")).wait();
    const again = (await rejection(client.nodes.admitNode(node.address, "http://a"))) as ContractRevertError;
    expect(again.errorName).to.equal("NodeRegistryAlreadyActive");
    const empty = (await rejection(client.nodes.admitNode(other.address, ""))) as ContractRevertError;
    expect(empty.errorName).to.equal("NodeRegistryEmptyEndpoint");
    const inactive = (await rejection(client.nodes.connect(other).updateEndpoint("http://c"))) as ContractRevertError;
    expect(inactive.errorName).to.equal("NodeRegistryNotActive");
    expect(inactive.namedArgs).to.deep.equal({ node: other.address });
  });

  it("rejects a malformed node address before sending", async function () {
    const { client } = await loadFixture(deployFixture);
    expect(await rejection(client.nodes.admitNode("0x12", "http://a"))).to.be.instanceOf(InvalidArgumentError);
  });

  it("knows the proof registry it controls", async function () {
    const { client, deployment } = await loadFixture(deployFixture);
    expect(await client.nodes.proofRegistry()).to.equal(deployment.contracts.ProofRegistry);
    expect(await client.proofs.nodeRegistry()).to.equal(deployment.contracts.NodeRegistry);
  });

  describe("activity over time", function () {
    async function historyFixture() {
      const base = await deployFixture();
      const { client, node } = base;
      const t = (await time.latest()) + 100;
      await time.setNextBlockTimestamp(t);
      await (await client.nodes.admitNode(node.address, "http://a")).wait();
      await time.setNextBlockTimestamp(t + 50);
      await (await client.nodes.connect(node).updateEndpoint("http://b")).wait();
      await time.setNextBlockTimestamp(t + 100);
      await (await client.nodes.removeNode(node.address)).wait();
      await time.setNextBlockTimestamp(t + 200);
      await (await client.nodes.admitNode(node.address, "http://c")).wait();
      return { ...base, t };
    }

    it("tells the history of a node, oldest first, with block times", async function () {
      const { client, node, t } = await loadFixture(historyFixture);
      const history = await client.nodes.history(node.address);
      expect(history.map((e) => [e.kind, e.endpoint, e.timestamp])).to.deep.equal([
        ["admitted", "http://a", t],
        ["endpointUpdated", "http://b", t + 50],
        ["removed", undefined, t + 100],
        ["admitted", "http://c", t + 200],
      ]);
      expect(await client.nodes.endpoint(node.address)).to.equal("http://c");
    });

    it("gives the spans of activity", async function () {
      const { client, node, t } = await loadFixture(historyFixture);
      const intervals = await client.nodes.activeIntervals(node.address);
      expect(intervals.map((i) => [i.from, i.to])).to.deep.equal([
        [t, t + 100],
        [t + 200, null],
      ]);
    });

    it("says whether a node was active at a time: from admission, up to but not including removal", async function () {
      const { client, node, t } = await loadFixture(historyFixture);
      const at = async (s: number) => client.nodes.wasActiveAt(node.address, s);
      expect(await at(t - 1)).to.equal(false);
      expect(await at(t)).to.equal(true);
      expect(await at(t + 99)).to.equal(true);
      expect(await at(t + 100)).to.equal(false);
      expect(await at(t + 199)).to.equal(false);
      expect(await at(t + 200)).to.equal(true);
      expect(await at(t + 10_000)).to.equal(true);
    });
  });
});

describe("core NodeRegistryClient activity order", function () {
  /** Mines the next block at `timestamp`, the same as the previous block's (L2s do this routinely). */
  async function sameTimestamp(timestamp: number): Promise<void> {
    await network.provider.send("evm_setNextBlockTimestamp", [timestamp]);
  }

  it("orders admission, anchoring and removal by block and log index when their blocks share a timestamp", async function () {
    const { client, node } = await loadFixture(deployFixture);
    await time.increase(10);
    const t = (await time.latest()) + 1;
    await sameTimestamp(t);
    const admitted = await (await client.nodes.admitNode(node.address, "http://a")).wait();
    await sameTimestamp(t);
    const anchored = await (await client.proofs.connect(node).anchorProof(commitment("c"), blob("blob"), 60)).wait();
    await sameTimestamp(t);
    const removed = await (await client.nodes.removeNode(node.address)).wait();
    const blocks = [admitted.blockNumber, anchored.blockNumber, removed.blockNumber];
    expect(new Set(blocks).size).to.equal(3);
    for (const n of blocks) expect((await client.nodes.runner!.provider!.getBlock(n))!.timestamp).to.equal(t);

    const [interval] = await client.nodes.activeIntervals(node.address);
    expect(interval).to.deep.include({ admittedBlock: admitted.blockNumber, removedBlock: removed.blockNumber });
    // By timestamp the node is removed at t, so "active at t" is false although it anchored before its removal.
    expect(await client.nodes.wasActiveAt(node.address, t)).to.equal(false);
    const anchor = { blockNumber: anchored.blockNumber, logIndex: 0 };
    expect(await client.nodes.wasActiveAtLog(node.address, anchor)).to.equal(true);
    expect(
      await client.nodes.wasActiveAtLog(node.address, { blockNumber: removed.blockNumber + 1, logIndex: 0 }),
    ).to.equal(false);
    expect(
      await client.nodes.wasActiveAtLog(node.address, { blockNumber: admitted.blockNumber - 1, logIndex: 0 }),
    ).to.equal(false);
  });
});
