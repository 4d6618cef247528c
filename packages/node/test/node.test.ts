import { expect } from "chai";
import { mkdtemp, readFile, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "hardhat";
import * as ort from "onnxruntime-node";
import type { Deployment } from "@strata/contracts";
import { publishTestModel, deployAndAdmit, startTestWalrus } from "@strata/devkit";
import {
  blobIdToBytes32,
  decodeBatchQuilt,
  decodeProof,
  proofCommitment,
  ProofVersion,
  recoverProofSigner,
  StrataClient,
  toCommitment,
  type Commitment,
} from "@strata/core";
import { buildMlp } from "@strata/runtime";
import { decodeQuilt, parseQuiltPatchId, startLocalWalrus, WalrusClient, type LocalWalrus } from "@strata/walrus";
import { buildServer, InferenceNode } from "@strata/node";
import type { FastifyInstance } from "fastify";

// Blob IDs over 10 shards keep the suite fast; the encoding path is the same as over 1000 (see the walrus tests).
const SHARDS = 10;

interface Env {
  walrus: LocalWalrus;
  walrusDir: string;
  deployment: Deployment;
  publisherClient: StrataClient;
  readClient: StrataClient;
  owner: string;
  nodeSigner: Awaited<ReturnType<typeof ethers.getSigners>>[number];
  modelBytes: Uint8Array;
  blobId: string;
}

async function setup(): Promise<Env> {
  const [deployer, owner, nodeSigner] = await ethers.getSigners();
  const { deployment } = await deployAndAdmit(deployer, {
    network: "hardhat",
    nodes: [{ address: nodeSigner.address, url: "http://127.0.0.1:31416" }],
  });
  const walrus = await startTestWalrus({ shards: SHARDS, prefix: "strata-node-walrus-" });
  const publisherClient = StrataClient.connect(deployment, owner);
  const model = { inputSize: 4, hidden: [16], outputSize: 3, seed: 42 };
  const modelBytes = buildMlp(model);
  const published = await publishTestModel(publisherClient, walrus.client, { ...model, name: "tiny-mlp", epochs: 5 });
  return {
    walrus: walrus.store,
    walrusDir: walrus.store.dir,
    deployment,
    publisherClient,
    readClient: StrataClient.connect(deployment, ethers.provider),
    owner: owner.address,
    nodeSigner,
    modelBytes,
    blobId: published.blobId,
  };
}

async function startNode(env: Env, maxBatch = 4): Promise<{ node: InferenceNode; app: FastifyInstance; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "strata-node-"));
  const node = await InferenceNode.start({
    dataDir: dir,
    signer: env.nodeSigner,
    client: env.readClient,
    walrus: new WalrusClient({
      publisherUrl: env.walrus.url,
      aggregatorUrls: [env.walrus.url],
      shards: SHARDS,
      retries: 1,
      retryDelayMs: 10,
    }),
    defaultModelOwner: env.owner,
    batch: { maxBatch, maxAgeMs: 60_000 },
  });
  return { node, app: buildServer(node), dir };
}

const input = (rows: number[][]) => ({ x: { dtype: "float32", dims: [rows.length, 4], data: rows.flat() } });

describe("Inference node", function () {
  let env: Env;
  before(async function () {
    env = await setup();
  });
  after(async function () {
    await env.walrus.close();
  });

  it("serves a published model, answers with outputs bit-identical to ONNX Runtime, and anchors the proof", async function () {
    const { node, app } = await startNode(env);
    try {
      const rows = [
        [0.5, -1, 2, 0.25],
        [1, 1, 1, 1],
      ];
      const response = await app.inject({
        method: "POST",
        url: "/v1/infer",
        payload: { model: "tiny-mlp", inputs: input(rows) },
      });
      expect(response.statusCode, response.body).to.equal(200);
      const body = response.json();
      expect(body.model.blobId).to.equal(env.blobId);
      expect(body.proof.status).to.equal("accepted");

      const session = await ort.InferenceSession.create(env.modelBytes, {
        graphOptimizationLevel: "extended",
        intraOpNumThreads: 1,
      });
      const raw = await session.run({ x: new ort.Tensor("float32", Float32Array.from(rows.flat()), [2, 4]) });
      expect(body.outputs.y.dims).to.deep.equal([2, 3]);
      expect(body.outputs.y.data).to.deep.equal(Array.from(raw.y.data as Float32Array));

      await node.outbox.flush();
      const status = (await app.inject({ method: "GET", url: `/v1/proofs/${body.proof.commitment}` })).json();
      expect(status.status).to.equal("anchored");
      expect(
        await env.readClient.proofs.isIncluded(
          env.nodeSigner.address,
          status.root,
          body.proof.commitment,
          status.merkleProof,
        ),
      ).to.equal(true);
      // GET /v1/proofs/:c names the proof's quilt, its patch there and the Merkle proof (subtree proof ++ path).
      expect(status.quiltId).to.be.a("string");
      expect(status.blobId).to.equal(status.quiltId);
      expect(parseQuiltPatchId(status.patchId).quiltId).to.equal(status.quiltId);
      expect(parseQuiltPatchId(status.indexPatchId).quiltId).to.equal(status.quiltId);
      const reader = new WalrusClient({ aggregatorUrls: [env.walrus.url], shards: SHARDS });
      // The patch alone, by its patch ID, from the aggregator's quilt endpoint: a v2 proof that commits to c.
      const patch = await reader.readPatch(status.patchId, {
        verify: (bytes) => expect(proofCommitment(decodeProof(bytes))).to.equal(body.proof.commitment),
      });
      expect(patch.identifier).to.equal(body.proof.commitment);
      const doc = decodeProof(patch.bytes);
      expect(doc.version).to.equal(ProofVersion.V2);
      // The whole quilt, as Walrus stores it: its index patch names the anchored root.
      const quilt = decodeQuilt(await reader.read(status.quiltId), { nShards: SHARDS });
      const contents = decodeBatchQuilt(
        quilt.patches.map((p) => ({ identifier: p.identifier, contents: quilt.patch(p) })),
      );
      expect(contents.index.root).to.equal(status.root);
      expect(contents.index.commitments).to.include(body.proof.commitment);
      expect(recoverProofSigner(doc)).to.equal(env.nodeSigner.address);
      expect(doc.runtime.graphOptimizationLevel).to.equal("extended");
      expect(doc.model.blobId).to.equal(blobIdToBytes32(env.blobId));
    } finally {
      await node.close();
    }
  });

  it("batches by count: one blob and one anchorBatch transaction per batch", async function () {
    const { node, app } = await startNode(env, 3);
    try {
      const commitments: Commitment[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await app.inject({
          method: "POST",
          url: "/v1/infer",
          payload: { model: "tiny-mlp", inputs: input([[i, 0, 0, 1]]) },
        });
        commitments.push(toCommitment(r.json().proof.commitment));
      }
      await node.outbox.flush();
      const batches = await node.outbox.listBatches();
      expect(batches.map((b) => b.commitments.length)).to.deep.equal([3, 3]);
      expect(new Set(batches.map((b) => b.txHash)).size).to.equal(2);
      for (const c of commitments) expect((await node.outbox.status(c))!.status).to.equal("anchored");
    } finally {
      await node.close();
    }
  });

  it("never completes a batch twice when flushes are requested while one runs", async function () {
    const { node, app } = await startNode(env, 2);
    try {
      const requests = Array.from({ length: 6 }, (_, i) =>
        app.inject({ method: "POST", url: "/v1/infer", payload: { model: "tiny-mlp", inputs: input([[i, 1, 1, 1]]) } }),
      );
      await Promise.all([...requests, node.outbox.flush(), node.outbox.flush()]);
      await Promise.all([node.outbox.flush(), node.outbox.flush()]);
      expect(node.outbox.stats.anchoredProofs).to.equal(6);
      expect(node.outbox.stats.anchoredBatches).to.equal(3);
      expect(node.outbox.stats.flushErrors).to.equal(0);
    } finally {
      await node.close();
    }
  });

  it("rejects a wrong input name, dtype or shape, and an unknown model or version, with a code and a message", async function () {
    const { node, app } = await startNode(env);
    try {
      const cases: [object, number, string, RegExp][] = [
        [{ model: "tiny-mlp", inputs: { z: input([[1, 2, 3, 4]]).x } }, 400, "INVALID_INPUT", /no input "z"/],
        [
          { model: "tiny-mlp", inputs: { x: { dtype: "float64", dims: [1, 4], data: [1, 2, 3, 4] } } },
          400,
          "INVALID_INPUT",
          /must be float32, not float64/,
        ],
        [
          { model: "tiny-mlp", inputs: { x: { dtype: "float32", dims: [1, 5], data: [1, 2, 3, 4, 5] } } },
          400,
          "INVALID_INPUT",
          /shape \[1, 5\].*expects \[batch, 4\]/,
        ],
        [
          { model: "tiny-mlp", inputs: { x: { dtype: "float32", dims: [1, 4], data: [1, 2, 3] } } },
          400,
          "INVALID_INPUT",
          /x/,
        ],
        [{ model: "no-such-model", inputs: input([[1, 2, 3, 4]]) }, 404, "MODEL_NOT_FOUND", /no-such-model/],
        [{ model: "tiny-mlp", version: 7, inputs: input([[1, 2, 3, 4]]) }, 404, "MODEL_NOT_FOUND", /7/],
        [{ model: "tiny-mlp" }, 400, "BAD_REQUEST", /inputs/],
      ];
      for (const [payload, status, code, message] of cases) {
        const r = await app.inject({ method: "POST", url: "/v1/infer", payload });
        expect(r.statusCode, r.body).to.equal(status);
        expect(r.json().error.code, r.body).to.equal(code);
        expect(r.json().error.message, r.body).to.match(message);
      }
      const bad = await app.inject({ method: "GET", url: "/v1/proofs/0x1234" });
      expect(bad.statusCode).to.equal(400);
      const health = await app.inject({ method: "GET", url: "/v1/health" });
      expect(health.json().status).to.equal("ok");
      expect(node.outbox.stats.accepted).to.equal(0);
    } finally {
      await node.close();
    }
  });

  it("two nodes with separate caches serve the same model, each downloading it once", async function () {
    const a = await startNode(env);
    const b = await startNode(env);
    try {
      const requests = [a, b, a, b, a, b].map((n) =>
        n.app.inject({
          method: "POST",
          url: "/v1/infer",
          payload: { model: "tiny-mlp", inputs: input([[1, 2, 3, 4]]) },
        }),
      );
      const answers = await Promise.all(requests);
      for (const r of answers) expect(r.statusCode, r.body).to.equal(200);
      expect(new Set(answers.map((r) => JSON.stringify(r.json().outputs))).size).to.equal(1);
      expect(a.node.cache.downloads.count).to.equal(1);
      expect(b.node.cache.downloads.count).to.equal(1);
      expect((await a.node.cache.list()).map((e) => e.blobId)).to.deep.equal([env.blobId]);
    } finally {
      await a.node.close();
      await b.node.close();
    }
  });

  it("never caches or runs a model whose bytes on the aggregator do not match its sha256", async function () {
    const corrupt = await startLocalWalrus({
      dir: await mkdtemp(join(tmpdir(), "strata-corrupt-")),
      port: 0,
      shards: SHARDS,
      verifyFiles: false, // it plays an aggregator that serves the altered copy
    });
    try {
      // Same model published through a second store whose copy is then altered on disk.
      const client = new WalrusClient({ publisherUrl: corrupt.url, aggregatorUrls: [corrupt.url], shards: SHARDS });
      await client.store(env.modelBytes, { epochs: 5 });
      const file = join(corrupt.dir, "blobs", env.blobId);
      const bytes = await readFile(file);
      bytes[bytes.length - 10] ^= 0xff;
      await writeFile(file, bytes);
      const dir = await mkdtemp(join(tmpdir(), "strata-node-"));
      const node = await InferenceNode.start({
        dataDir: dir,
        signer: env.nodeSigner,
        client: env.readClient,
        walrus: new WalrusClient({ aggregatorUrls: [corrupt.url], shards: SHARDS, retries: 0 }),
        defaultModelOwner: env.owner,
      });
      try {
        const app = buildServer(node);
        const r = await app.inject({
          method: "POST",
          url: "/v1/infer",
          payload: { model: "tiny-mlp", inputs: input([[1, 2, 3, 4]]) },
        });
        expect(r.statusCode, r.body).to.equal(502);
        expect(r.json().error.code).to.equal("MODEL_INTEGRITY");
        expect(await node.cache.list()).to.deep.equal([]);
        expect(await readdir(join(dir, "models", "tmp"))).to.deep.equal([]);
        expect(node.outbox.stats.accepted).to.equal(0);
      } finally {
        await node.close();
      }
    } finally {
      await corrupt.close();
    }
  });
});
