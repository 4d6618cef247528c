import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "hardhat";
import { keccak256, toUtf8Bytes, Wallet } from "ethers";
import { encodeOnchainTensors, encodeTensor, StrataClient } from "@strata/core";
import { deployAndAdmit, publishTestModel, startTestWalrus } from "@strata/devkit";
import { InferenceNode, RequestWatcher, serialSigner } from "@strata/node";

/**
 * The outbox anchors batches and the request watcher fulfils requests with the same key: both go through the key's
 * one transaction queue, so neither ever reads a pending nonce the other is about to use.
 */
describe("Request watcher and batch anchoring, one key", function () {
  this.timeout(120_000);

  it("anchors batches and fulfils requests at the same time from one key, every transaction mined", async function () {
    const [deployer, owner] = await ethers.getSigners();
    const nodeKey = new Wallet(keccak256(toUtf8Bytes("nonce race node")), ethers.provider);
    await (await deployer.sendTransaction({ to: nodeKey.address, value: 10n ** 19n })).wait();
    const { registries, deployment } = await deployAndAdmit(deployer, {
      network: "hardhat",
      nodes: [{ address: nodeKey.address, url: "http://127.0.0.1:31416" }],
      bonds: [nodeKey],
    });
    const walrus = await startTestWalrus({ shards: 10, prefix: "strata-nonces-walrus-" });
    const model = await publishTestModel(StrataClient.connect(deployment, owner), walrus.client, {
      name: "nonces-mlp",
      seed: 11,
    });
    const dir = await mkdtemp(join(tmpdir(), "strata-nonces-"));
    const anchored: number[] = [];
    const errors: string[] = [];
    // Every proof is its own batch, anchored at once: anchoring transactions overlap the fulfilments.
    const node = await InferenceNode.start({
      dataDir: join(dir, "node"),
      signer: nodeKey,
      client: StrataClient.connect(deployment, ethers.provider),
      walrus: walrus.client,
      batch: {
        maxBatch: 1,
        maxAgeMs: 1,
        retryBaseMs: 60_000,
        onAnchored: (batch) => anchored.push(batch.commitments.length),
        onError: (error) => errors.push(error.message),
      },
      healthIntervalMs: 600_000,
    });
    const requests = registries.inferenceRequests!.connect(deployer);
    const watcher = await RequestWatcher.open({
      node,
      signer: nodeKey,
      walrus: walrus.client,
      requests: await requests.getAddress(),
      dataDir: dir,
      fromBlock: deployment.block,
      confirmations: 1,
      log: (line) => errors.push(line),
    });
    try {
      const deadline = (await ethers.provider.getBlock("latest"))!.timestamp + 3600;
      const ROUNDS = 4;
      for (let i = 0; i < ROUNDS; i++) {
        const input = encodeOnchainTensors([encodeTensor("x", "float32", [1, 4], Float32Array.from([i, 1, 2, 3]))]);
        await (await requests.requestInferenceInline(model.modelId, 0, input, 0, deadline)).wait();
      }
      const nonceBefore = await ethers.provider.getTransactionCount(nodeKey.address);
      const infer = (i: number) =>
        node.infer({ model: model.modelId, inputs: { x: { dtype: "float32", dims: [1, 4], data: [i, i, i, i] } } });
      const [result] = await Promise.all([watcher.poll(), ...Array.from({ length: ROUNDS }, (_, i) => infer(i))]);
      const until = Date.now() + 30_000;
      while (anchored.length < 2 * ROUNDS && Date.now() < until) await new Promise((r) => setTimeout(r, 50));

      expect(result.ended.fulfilled, errors.join("\n")).to.equal(ROUNDS);
      expect(errors.filter((e) => !/fulfilled/.test(e))).to.deep.equal([]);
      // The inferences of the HTTP path and of the requests: each proof its own batch, each batch anchored once.
      expect(anchored).to.have.length(2 * ROUNDS);
      expect(await ethers.provider.getTransactionCount(nodeKey.address)).to.equal(nonceBefore + 3 * ROUNDS);
    } finally {
      await watcher.close();
      await node.close(0);
      await walrus.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("gives each signer object one queue, shared by every writer and by its reconnections", function () {
    const key = new Wallet(keccak256(toUtf8Bytes("queue")), ethers.provider);
    const serial = serialSigner(key);
    expect(serialSigner(key)).to.equal(serial);
    expect(serialSigner(serial)).to.equal(serial);
    expect(serialSigner(new Wallet(key.privateKey, ethers.provider))).to.not.equal(serial);
  });
});
