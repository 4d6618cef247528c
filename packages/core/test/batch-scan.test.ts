import { expect } from "chai";
import { network } from "hardhat";
import { JsonRpcProvider } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { blobIdFromBytes32, BlockRange, StrataClient, toBatchRoot, type BatchReference } from "../src";
import { b32, deployFixture } from "./fixtures";

/** Two nodes anchoring and announcing batches, 300 empty blocks apart. */
async function batchesFixture() {
  const base = await deployFixture();
  await (await base.client.nodes.admitNode(base.node.address, "http://node")).wait();
  await (await base.client.nodes.admitNode(base.node2.address, "http://node2")).wait();
  const one = base.client.proofs.connect(base.node);
  const two = base.client.proofs.connect(base.node2);
  const mined = [];
  for (const [client, name, announce] of [
    [one, "a", false],
    [two, "b", false],
    [one, "c", true],
    [one, "d", false],
  ] as const) {
    await network.provider.send("hardhat_mine", ["0x12c"]);
    const tx = announce
      ? await client.announceBatch(toBatchRoot(b32(name)), blobIdFromBytes32(b32(`blob ${name}`)), 2, 60)
      : await client.anchorBatch(toBatchRoot(b32(name)), blobIdFromBytes32(b32(`blob ${name}`)), 2, 60);
    mined.push(await tx.wait());
  }
  return { ...base, mined };
}

describe("core ProofRegistryClient.scanBatchReferencesNewestFirst", function () {
  it("hands over anchored and announced batches newest first, and says which blocks it searched", async function () {
    const { client, mined, deployment } = await loadFixture(batchesFixture);
    const seen: BatchReference[] = [];
    const scan = await client.proofs.scanBatchReferencesNewestFirst((r) => {
      seen.push(r);
      return false;
    });
    expect(seen.map((r) => r.root)).to.deep.equal(["d", "c", "b", "a"].map((x) => b32(x)));
    expect(seen.map((r) => r.anchored)).to.deep.equal([true, false, true, true]);
    expect(seen[0]).to.include({
      blobId: blobIdFromBytes32(b32("blob d")),
      count: 2,
      blockNumber: mined[3].blockNumber,
    });
    const latest = await client.proofs.runner!.provider!.getBlockNumber();
    expect(scan).to.deep.equal({ events: 4, capped: false, fromBlock: deployment.block, toBlock: latest });
  });

  it("keeps to one node's batches, stops when the visitor says so, and at maxEvents", async function () {
    const { client, node, mined } = await loadFixture(batchesFixture);
    const roots: string[] = [];
    await client.proofs.scanBatchReferencesNewestFirst(
      (r) => {
        roots.push(r.root);
        return false;
      },
      { node: node.address },
    );
    expect(roots).to.deep.equal(["d", "c", "a"].map((x) => b32(x)));

    const stopped: string[] = [];
    const byVisitor = await client.proofs.scanBatchReferencesNewestFirst(
      (r) => {
        stopped.push(r.root);
        return r.root === b32("c");
      },
      { blockRange: new BlockRange(100) },
    );
    expect(stopped).to.deep.equal([b32("d"), b32("c")]);
    expect(byVisitor.capped).to.equal(false);
    // Ranges of 100 blocks: the search stopped in the range holding "c", not at the deployment block.
    expect(byVisitor.fromBlock).to.be.within(mined[2].blockNumber - 99, mined[2].blockNumber);

    const capped = await client.proofs.scanBatchReferencesNewestFirst(() => false, { maxEvents: 3 });
    expect(capped).to.include({ events: 3, capped: true });
  });

  it("reads the time of a block and the RPC URL of the client (none for an in-process provider)", async function () {
    const { client, mined } = await loadFixture(batchesFixture);
    const block = await client.proofs.runner!.provider!.getBlock(mined[0].blockNumber);
    expect(await client.proofs.blockTime(mined[0].blockNumber)).to.equal(block!.timestamp);
    expect(client.proofs.rpcUrl()).to.equal(undefined);
    const provider = new JsonRpcProvider("http://127.0.0.1:9", undefined, { staticNetwork: true });
    try {
      expect(client.proofs.connect(provider).rpcUrl()).to.equal("http://127.0.0.1:9");
    } finally {
      provider.destroy();
    }
  });
});

describe("core StrataClient.missingRegistries", function () {
  it("names none for the deployment, and the registries of a deployment file whose addresses hold no code", async function () {
    const { client, deployment, admin } = await loadFixture(batchesFixture);
    expect(await client.missingRegistries()).to.deep.equal([]);
    const elsewhere = { ...deployment, contracts: { ...deployment.contracts, ProofRegistry: admin.address } };
    expect(await StrataClient.connect(elsewhere, admin).missingRegistries()).to.deep.equal([
      { name: "ProofRegistry", address: admin.address },
    ]);
  });
});
