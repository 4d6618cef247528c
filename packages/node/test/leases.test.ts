/**
 * The node respects storage leases: a model version whose Walrus storage has ended (its registry end epoch has begun)
 * is refused with 410 MODEL_EXPIRED, even from the node's cache, and versions it serves that expire soon are listed
 * in `/v1/health` and warned about in its log, once per version per epoch.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "hardhat";
import { deployAndAdmit, publishTestModel, startTestWalrus, type TestWalrus } from "@strata/devkit";
import { StrataClient } from "@strata/core";
import type { PublishedModel } from "@strata/runtime";
import { localNetworkClock, WalrusClient } from "@strata/walrus";
import { buildServer, HTTP_STATUS, InferenceNode } from "@strata/node";
import type { FastifyInstance } from "fastify";

const SHARDS = 10;
const input = { x: { dtype: "float32", dims: [1, 4], data: [0.5, -1, 2, 0.25] } };

describe("Inference node: storage leases", function () {
  this.timeout(120_000);
  let walrus: TestWalrus;
  let node: InferenceNode;
  let app: FastifyInstance;
  let model: PublishedModel;
  let dataDir: string;
  const logged: string[] = [];

  before(async function () {
    const [deployer, owner, nodeSigner] = await ethers.getSigners();
    const { deployment } = await deployAndAdmit(deployer, {
      network: "hardhat",
      nodes: [{ address: nodeSigner.address, url: "http://127.0.0.1:31416" }],
    });
    walrus = await startTestWalrus({ shards: SHARDS, prefix: "strata-lease-walrus-" });
    const ownerClient = StrataClient.connect(deployment, owner);
    model = await publishTestModel(ownerClient, walrus.client, {
      name: "leased-mlp",
      hidden: [8],
      outputSize: 3,
      seed: 3,
      epochs: 5,
    });
    dataDir = await mkdtemp(join(tmpdir(), "strata-lease-node-"));
    node = await InferenceNode.start({
      dataDir,
      signer: nodeSigner,
      client: StrataClient.connect(deployment, ethers.provider),
      walrus: new WalrusClient({ publisherUrl: walrus.url, aggregatorUrls: [walrus.url], shards: SHARDS, retries: 0 }),
      defaultModelOwner: owner.address,
      batch: { maxBatch: 1_000, maxAgeMs: 3_600_000 },
      clock: localNetworkClock(walrus.url),
      clockTtlMs: 0,
      leaseWarnEpochs: 3,
      healthIntervalMs: 3_600_000,
      log: (line) => logged.push(line),
    });
    app = buildServer(node);
  });
  after(async function () {
    await node?.close(0);
    await walrus?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const infer = () => app.inject({ method: "POST", url: "/v1/infer", payload: { model: "leased-mlp", inputs: input } });
  const health = async () => (await app.inject({ method: "GET", url: "/v1/health" })).json();
  const warnings = () => logged.filter((line) => line.includes("leased-mlp") || line.includes(model.modelId));

  it("serves a version far from its end epoch and lists nothing as expiring", async function () {
    const served = await infer();
    expect(served.statusCode, served.body).to.equal(200);
    const body = await health();
    expect(body.storage.currentEpoch).to.equal(walrus.store.currentEpoch());
    expect(body.storage.leaseWarnEpochs).to.equal(3);
    expect(body.storage.expiringSoon).to.deep.equal([]);
    expect(warnings()).to.deep.equal([]);
  });

  it("lists a version expiring within --lease-warn-epochs in /v1/health and warns once per epoch", async function () {
    await walrus.store.advanceEpochs(model.endEpoch - walrus.store.currentEpoch() - 3);
    expect((await infer()).statusCode).to.equal(200);
    const body = await health();
    expect(body.storage.expiringSoon).to.deep.equal([
      { modelId: model.modelId, name: "leased-mlp", version: model.index, endEpoch: model.endEpoch, epochsLeft: 3 },
    ]);
    await health();
    await infer();
    await node.check();
    expect(warnings(), logged.join("\n")).to.have.length(1);
    expect(warnings()[0]).to.include(`epoch ${model.endEpoch}`);
    expect(warnings()[0]).to.match(/3 epochs/);
    expect(warnings()[0]).to.match(/strata keeper/);
    // The next epoch: one more warning, for the new epoch.
    await walrus.store.advanceEpochs(1);
    await infer();
    await health();
    await node.check();
    expect(warnings(), logged.join("\n")).to.have.length(2);
    expect((await health()).storage.expiringSoon[0].epochsLeft).to.equal(2);
  });

  it("refuses an expired version with 410 MODEL_EXPIRED even though it is in the node's cache, and evicts it", async function () {
    expect((await node.cache.list()).map((e) => e.blobId)).to.deep.equal([model.blobId]);
    await walrus.store.advanceEpochs(model.endEpoch - walrus.store.currentEpoch());
    const refused = await infer();
    expect(refused.statusCode, refused.body).to.equal(410);
    expect(HTTP_STATUS.MODEL_EXPIRED).to.equal(410);
    const { error } = refused.json();
    expect(error.code).to.equal("MODEL_EXPIRED");
    expect(error.message).to.include('"leased-mlp"');
    expect(error.message).to.include(model.modelId);
    expect(error.message).to.include(`version ${model.index}`);
    expect(error.message).to.include(`epoch ${model.endEpoch}`);
    expect(error.message).to.match(/strata keeper/);
    expect(error.message).to.match(/publish a new version/);
    expect(await node.cache.list()).to.deep.equal([]);
    const body = await health();
    expect(body.storage.expiringSoon[0]).to.include({ modelId: model.modelId, epochsLeft: 0, expired: true });
  });
});
