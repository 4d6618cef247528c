import { expect } from "chai";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers, network } from "hardhat";
import { mine } from "@nomicfoundation/hardhat-network-helpers";
import { keccak256, toUtf8Bytes, Wallet, type Signer } from "ethers";
import { ClassifierGate__factory, type Deployment, type InferenceRequests } from "@strata/contracts";
import {
  blobIdToBytes32,
  encodeOnchainTensors,
  encodeTensor,
  makeTensorSet,
  StrataClient,
  type Tensor,
} from "@strata/core";
import { deployAndAdmit, publishTestModel, startTestWalrus, type TestWalrus } from "@strata/devkit";
import type { PublishedModel } from "@strata/runtime";
import { InferenceNode, RequestWatcher, startNodeServer, type RequestWatcherOptions } from "@strata/node";

const SHARDS = 10;
const x = (values: number[]): Tensor[] => [encodeTensor("x", "float32", [1, 4], Float32Array.from(values))];

interface World {
  deployer: Signer;
  nodeKey: Wallet;
  deployment: Deployment;
  requests: InferenceRequests;
  walrus: TestWalrus;
  model: PublishedModel;
  node: InferenceNode;
  dir: string;
}

/** A request for the test model by `deployer` (no callback), with an inline input or a Walrus one. */
async function request(world: World, input: { inline: Tensor[] } | { blobId: string; hash: string }) {
  const deadline = (await ethers.provider.getBlock("latest"))!.timestamp + 3600;
  const requests = world.requests.connect(world.deployer);
  const tx =
    "inline" in input
      ? await requests.requestInferenceInline(world.model.modelId, 0, encodeOnchainTensors(input.inline), 0, deadline)
      : await requests.requestInference(world.model.modelId, 0, blobIdToBytes32(input.blobId), input.hash, 0, deadline);
  const receipt = (await tx.wait())!;
  const parsed = receipt.logs
    .map((l) => world.requests.interface.parseLog(l))
    .find((p) => p?.name === "InferenceRequested");
  return parsed!.args.requestId as string;
}

/** The InferenceFulfilled events of `requestId`. */
async function fulfilments(world: World, requestId: string) {
  return world.requests.queryFilter(world.requests.filters.InferenceFulfilled(requestId));
}

describe("Request watcher", function () {
  this.timeout(120_000);
  let world: World;
  let watchers: RequestWatcher[] = [];
  let lines: string[] = [];
  const dirs: string[] = [];

  async function watcher(options: Partial<RequestWatcherOptions> = {}): Promise<RequestWatcher> {
    const w = await RequestWatcher.open({
      node: world.node,
      signer: world.nodeKey,
      walrus: world.walrus.client,
      requests: world.deployment.contracts.InferenceRequests!,
      dataDir: world.dir,
      fromBlock: world.deployment.block,
      confirmations: 1,
      log: (line) => lines.push(line),
      ...options,
    });
    watchers.push(w);
    return w;
  }

  before(async function () {
    const [deployer, owner, , , accountNode] = await ethers.getSigners();
    const nodeKey = new Wallet(keccak256(toUtf8Bytes("request watcher node")), ethers.provider);
    await (await deployer.sendTransaction({ to: nodeKey.address, value: 10n ** 19n })).wait();
    const { registries, deployment } = await deployAndAdmit(deployer, {
      network: "hardhat",
      nodes: [
        { address: nodeKey.address, url: "http://127.0.0.1:31416" },
        { address: accountNode.address, url: "http://127.0.0.1:31417" },
      ],
      bonds: [nodeKey, accountNode],
    });
    const walrus = await startTestWalrus({ shards: SHARDS, prefix: "strata-requests-walrus-" });
    const model = await publishTestModel(StrataClient.connect(deployment, owner), walrus.client, {
      name: "requests-mlp",
      seed: 7,
      inputSize: 4,
      hidden: [8],
      outputSize: 3,
    });
    const dir = await mkdtemp(join(tmpdir(), "strata-requests-"));
    dirs.push(dir);
    const node = await InferenceNode.start({
      dataDir: join(dir, "node"),
      signer: nodeKey,
      client: StrataClient.connect(deployment, ethers.provider),
      walrus: walrus.client,
      batch: { maxBatch: 4096, maxAgeMs: 600_000 },
      healthIntervalMs: 600_000,
    });
    world = { deployer, nodeKey, deployment, requests: registries.inferenceRequests!, walrus, model, node, dir };
  });

  beforeEach(async function () {
    lines = [];
    // Each test gets a journal of its own, starting at the current block.
    world.dir = await mkdtemp(join(tmpdir(), "strata-requests-"));
    dirs.push(world.dir);
    world.deployment = { ...world.deployment, block: (await ethers.provider.getBlockNumber()) + 1 };
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed") console.log(lines.join("\n"));
    for (const w of watchers) await w.close();
    watchers = [];
  });

  after(async function () {
    await world?.node.close(0);
    await world?.walrus.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("fulfils an inline request once it has its confirmations, with the node's own signed proof bound to it", async function () {
    const w = await watcher({ confirmations: 3 });
    const requestId = await request(world, { inline: x([1, 2, 3, 4]) });
    await mine(1); // 2 confirmations
    expect((await w.poll()).seen).to.equal(0);
    await mine(1); // 3 confirmations
    const result = await w.poll();
    expect(result).to.deep.include({ seen: 1, waiting: 0 });
    expect(result.ended.fulfilled).to.equal(1);
    const [event] = await fulfilments(world, requestId);
    expect(event.args.node).to.equal(world.nodeKey.address);
    // The proof is the node's usual one: journalled in its outbox, to be anchored with the others.
    const status = await world.node.proofStatus(event.args.commitment);
    expect(status).to.be.an("object");
    expect((await world.requests.getRequest(requestId)).status).to.equal(2n);
  });

  it("calls consumer contracts back with the verified output: of three gates, one per class, exactly one admits", async function () {
    const w = await watcher();
    const [, , applicant] = await ethers.getSigners();
    const gates = [];
    for (const acceptedClass of [0, 1, 2]) {
      const gate = await new ClassifierGate__factory(world.deployer).deploy(
        world.deployment.contracts.InferenceRequests!,
        world.model.modelId,
        2 ** 32 - 1,
        "y",
        acceptedClass,
        200_000,
      );
      gates.push(await gate.waitForDeployment());
    }
    const deadline = (await ethers.provider.getBlock("latest"))!.timestamp + 3600;
    for (const gate of gates) {
      await (await gate.connect(applicant).requestAccess(encodeOnchainTensors(x([0.5, -1, 2, 0.25])), deadline)).wait();
    }
    // (Hardhat cannot estimate the gas of some of these fulfilments: the node then sends an upper bound it checked.)
    const result = await w.poll();
    expect(result.ended.fulfilled, lines.join("\n")).to.equal(3);
    const admitted = [];
    for (const gate of gates) {
      const decided = await gate.queryFilter(gate.filters.AccessDecided());
      expect(decided).to.have.length(1);
      expect(decided[0].args.applicant).to.equal(applicant.address);
      admitted.push(decided[0].args.admitted);
    }
    expect(admitted.filter(Boolean)).to.have.length(1);
  });

  it("reads a Walrus input by Blob ID, verified, and fulfils it when it matches the request's input hash", async function () {
    const w = await watcher();
    const inputs = x([4, 3, 2, 1]);
    const stored = await world.walrus.client.store(Buffer.from(encodeOnchainTensors(inputs).slice(2), "hex"));
    const requestId = await request(world, { blobId: stored.blobId, hash: makeTensorSet(inputs).hash });
    expect((await w.poll()).ended.fulfilled).to.equal(1);
    expect(await fulfilments(world, requestId)).to.have.length(1);
  });

  it("refuses a Walrus input that does not match the request's input hash, says why, and never fulfils it", async function () {
    const w = await watcher();
    const stored = await world.walrus.client.store(Buffer.from(encodeOnchainTensors(x([9, 9, 9, 9])).slice(2), "hex"));
    const claimed = makeTensorSet(x([1, 1, 1, 1])).hash;
    const requestId = await request(world, { blobId: stored.blobId, hash: claimed });
    const result = await w.poll();
    expect(result.ended.refused).to.equal(1);
    expect(lines.join("\n")).to.match(
      new RegExp(
        `request ${requestId}: refused \\(the input blob ${stored.blobId} hashes to 0x[0-9a-f]{64}, not the request's input hash ${claimed}\\)`,
      ),
    );
    // Refused for good: a later pass does not try again.
    expect((await w.poll()).ended.refused).to.equal(0);
    expect(await fulfilments(world, requestId)).to.have.length(0);
    expect((await world.requests.getRequest(requestId)).status).to.equal(1n);
  });

  it("skips a request that a reorg dropped after it was seen (re-read on-chain before fulfilling)", async function () {
    const w = await watcher();
    const snapshot = (await network.provider.send("evm_snapshot")) as string;
    const requestId = await request(world, { inline: x([1, 0, 0, 1]) });
    expect(await w.scan()).to.equal(1);
    await network.provider.send("evm_revert", [snapshot]);
    await mine(3); // the other branch grows past the request's block
    const result = await w.process();
    expect(result.ended.skipped).to.equal(1);
    expect(lines.join("\n")).to.include(`request ${requestId}: skipped (vanished`);
    expect((await world.requests.getRequest(requestId)).status).to.equal(0n);
    expect(await fulfilments(world, requestId)).to.have.length(0);
  });

  it("never picks up a request dropped by a reorg shallower than its confirmations", async function () {
    const w = await watcher({ confirmations: 3 });
    const snapshot = (await network.provider.send("evm_snapshot")) as string;
    await request(world, { inline: x([2, 2, 2, 2]) });
    await mine(1);
    expect((await w.poll()).seen).to.equal(0);
    await network.provider.send("evm_revert", [snapshot]);
    await mine(5);
    const result = await w.poll();
    expect(result.seen).to.equal(0);
    expect(w.journal.states.size).to.equal(0);
  });

  it("scans again the blocks a reorg replaced after they were scanned, and fulfils the request mined there", async function () {
    const w = await watcher({ rescanBlocks: 0 });
    await mine(1);
    const snapshot = (await network.provider.send("evm_snapshot")) as string;
    await mine(2);
    expect(await w.scan()).to.equal(0);
    await network.provider.send("evm_revert", [snapshot]);
    // The other branch: a request in a block the watcher scanned (empty) on the first branch.
    const requestId = await request(world, { inline: x([6, 6, 6, 6]) });
    await mine(2);
    const result = await w.poll();
    expect(result.seen).to.equal(1);
    expect(result.ended.fulfilled).to.equal(1);
    expect(lines.join("\n")).to.include("blocks scanned before were replaced (a reorg)");
    expect(await fulfilments(world, requestId)).to.have.length(1);
  });

  it("fulfils a request that a reorg dropped and that was mined again", async function () {
    const w = await watcher();
    const snapshot = (await network.provider.send("evm_snapshot")) as string;
    const inputs = x([1, 0, 1, 0]);
    const first = await request(world, { inline: inputs });
    expect(await w.scan()).to.equal(1);
    await network.provider.send("evm_revert", [snapshot]);
    await mine(2);
    expect((await w.poll()).ended.skipped).to.equal(1);
    // Mined again on the new branch, with the same nonce and key: the same request id.
    const again = await request(world, { inline: inputs });
    expect(again).to.equal(first);
    const result = await w.poll();
    expect(result.ended.fulfilled).to.equal(1);
    expect(await fulfilments(world, again)).to.have.length(1);
  });

  it("sends a fulfilment journalled before a crash exactly once after the restart, with the journalled proof", async function () {
    const crashing = await watcher({
      faults: {
        beforeSend: () => {
          throw new Error("simulated crash between the journal and the send");
        },
      },
    });
    const requestId = await request(world, { inline: x([3, 1, 4, 1]) });
    const nonceBefore = await ethers.provider.getTransactionCount(world.nodeKey.address);
    await crashing.poll();
    await crashing.close();
    watchers = watchers.filter((w) => w !== crashing);
    expect(await ethers.provider.getTransactionCount(world.nodeKey.address)).to.equal(nonceBefore);
    const journalled = crashing.journal.states.get(requestId)!.args!;

    const restarted = await watcher();
    expect((await restarted.poll()).ended.fulfilled).to.equal(1);
    const events = await fulfilments(world, requestId);
    expect(events).to.have.length(1);
    expect(events[0].args.commitment).to.equal(journalled.commitment);
    expect(await ethers.provider.getTransactionCount(world.nodeKey.address)).to.equal(nonceBefore + 1);
    // Nothing left to do on a third start either.
    const third = await watcher();
    expect((await third.poll()).ended).to.deep.equal({ fulfilled: 0, skipped: 0, refused: 0 });
    expect(await fulfilments(world, requestId)).to.have.length(1);
  });

  it("sends again, once, a fulfilment whose signed transaction was journalled but never broadcast before a crash", async function () {
    const crashing = await watcher({
      faults: {
        beforeBroadcast: () => {
          throw new Error("simulated crash between journalling the signed transaction and broadcasting it");
        },
      },
    });
    const requestId = await request(world, { inline: x([1, 4, 1, 4]) });
    const nonceBefore = await ethers.provider.getTransactionCount(world.nodeKey.address);
    await crashing.poll();
    await crashing.close();
    watchers = watchers.filter((w) => w !== crashing);
    const [never] = crashing.journal.states.get(requestId)!.sent;
    expect(await ethers.provider.getTransaction(never)).to.equal(null);

    const restarted = await watcher();
    expect((await restarted.poll()).ended.fulfilled).to.equal(1);
    expect(await fulfilments(world, requestId)).to.have.length(1);
    expect(await ethers.provider.getTransactionCount(world.nodeKey.address)).to.equal(nonceBefore + 1);
  });

  it("does not send again a fulfilment that was sent before a crash: it is found mined", async function () {
    const crashing = await watcher({
      faults: {
        afterSend: () => {
          throw new Error("simulated crash after the send");
        },
      },
    });
    const requestId = await request(world, { inline: x([2, 7, 1, 8]) });
    await crashing.poll();
    await crashing.close();
    watchers = watchers.filter((w) => w !== crashing);
    const nonce = await ethers.provider.getTransactionCount(world.nodeKey.address);
    const restarted = await watcher();
    expect((await restarted.poll()).ended.fulfilled).to.equal(1);
    expect(await ethers.provider.getTransactionCount(world.nodeKey.address)).to.equal(nonce);
    expect(await fulfilments(world, requestId)).to.have.length(1);
    const journal = await readFile(join(world.dir, "requests", "requests.jsonl"), "utf8");
    expect(journal.match(/"t":"sent"/g)).to.have.length(1);
  });

  it("skips a request that expired before it could be fulfilled, without sending", async function () {
    const w = await watcher();
    const requestId = await request(world, { inline: x([5, 5, 5, 5]) });
    await ethers.provider.send("evm_increaseTime", [7200]);
    await mine(1);
    const nonce = await ethers.provider.getTransactionCount(world.nodeKey.address);
    const result = await w.poll();
    expect(result.ended.skipped).to.equal(1);
    expect(lines.join("\n")).to.include(`request ${requestId}: skipped (expired`);
    expect(await ethers.provider.getTransactionCount(world.nodeKey.address)).to.equal(nonce);
  });

  it("runs in the node server when asked (startNodeServer's requests option), and stops with it", async function () {
    const server = await startNodeServer({
      port: 0,
      dataDir: join(world.dir, "server"),
      signer: world.nodeKey,
      client: StrataClient.connect(world.deployment, ethers.provider),
      walrus: world.walrus.client,
      batch: { maxBatch: 4096, maxAgeMs: 600_000 },
      healthIntervalMs: 600_000,
      requests: {
        requests: world.deployment.contracts.InferenceRequests!,
        fromBlock: world.deployment.block,
        confirmations: 1,
        pollIntervalMs: 20,
      },
    });
    try {
      expect(server.watcher).to.be.instanceOf(RequestWatcher);
      const requestId = await request(world, { inline: x([8, 1, 8, 1]) });
      const until = Date.now() + 20_000;
      while ((await world.requests.getRequest(requestId)).status === 1n && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await fulfilments(world, requestId)).to.have.length(1);
    } finally {
      await server.stop();
    }
  });

  it("fulfils with a signer that is not a local key (a Hardhat account signing through the node)", async function () {
    const [, , , , accountNode] = await ethers.getSigners();
    const node = await InferenceNode.start({
      dataDir: join(world.dir, "account-node"),
      signer: accountNode,
      client: StrataClient.connect(world.deployment, ethers.provider),
      walrus: world.walrus.client,
      batch: { maxBatch: 4096, maxAgeMs: 600_000 },
      healthIntervalMs: 600_000,
    });
    try {
      const w = await watcher({ node, signer: accountNode });
      const requestId = await request(world, { inline: x([9, 8, 7, 6]) });
      expect((await w.poll()).ended.fulfilled).to.equal(1);
      const [event] = await fulfilments(world, requestId);
      expect(event.args.node).to.equal(accountNode.address);
      expect(w.journal.states.get(requestId)!.sent).to.deep.equal([event.transactionHash]);
    } finally {
      await node.close(0);
    }
  });

  // Last: it ends the test model's storage lease for the rest of the file.
  it("refuses for good a request for a model version whose Walrus storage has expired", async function () {
    const w = await watcher();
    await world.walrus.store.advanceEpochs(world.model.endEpoch - world.walrus.store.currentEpoch());
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the node's last clock reading is older than its TTL
    const requestId = await request(world, { inline: x([1, 2, 3, 4]) });
    const result = await w.poll();
    expect(result.ended.refused, lines.join("\n")).to.equal(1);
    expect(lines.join("\n")).to.match(
      new RegExp(`request ${requestId}: refused \\(model .*version 0 .*expired at epoch ${world.model.endEpoch}`),
    );
    expect((await w.poll()).ended.refused).to.equal(0);
    expect(await fulfilments(world, requestId)).to.have.length(0);
  });
});
