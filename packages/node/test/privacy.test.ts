import { expect } from "chai";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "hardhat";
import { deployAndAdmit, publishTestModel, startTestWalrus } from "@strata/devkit";
import {
  anyProofCommitment,
  decodeAnyProof,
  formatPrivacyPublicKey,
  generatePrivacyKey,
  isPrivateProof,
  openPrivateProof,
  privateProofCommitment,
  StrataClient,
} from "@strata/core";
import { WalrusClient, type LocalWalrus } from "@strata/walrus";
import { anchoringLog, buildServer, InferenceNode } from "@strata/node";
import type { FastifyInstance } from "fastify";

const SHARDS = 10;

interface Env {
  walrus: LocalWalrus;
  readClient: StrataClient;
  owner: string;
  nodeSigner: Awaited<ReturnType<typeof ethers.getSigners>>[number];
}

interface Running {
  node: InferenceNode;
  app: FastifyInstance;
  dir: string;
  log: string[];
}

async function setup(): Promise<Env> {
  const [deployer, owner, nodeSigner] = await ethers.getSigners();
  const { deployment } = await deployAndAdmit(deployer, {
    network: "hardhat",
    nodes: [{ address: nodeSigner.address, url: "http://127.0.0.1:31416" }],
  });
  const walrus = await startTestWalrus({ shards: SHARDS, prefix: "strata-node-privacy-" });
  const publisher = StrataClient.connect(deployment, owner);
  await publishTestModel(publisher, walrus.client, {
    inputSize: 4,
    hidden: [16],
    outputSize: 3,
    seed: 42,
    name: "tiny-mlp",
    epochs: 5,
  });
  return {
    walrus: walrus.store,
    readClient: StrataClient.connect(deployment, ethers.provider),
    owner: owner.address,
    nodeSigner,
  };
}

async function startNode(env: Env, at?: string): Promise<Running> {
  const dir = at ?? (await mkdtemp(join(tmpdir(), "strata-node-privacy-")));
  const log: string[] = [];
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
    batch: { maxBatch: 16, maxAgeMs: 60_000, ...anchoringLog((line) => log.push(line)) },
  });
  return { node, app: buildServer(node), dir, log };
}

/** Every byte of every file under `dir`, concatenated (the journal, the index, a local Walrus's blobs). */
async function everyByte(dir: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) parts.push(await readFile(join(entry.parentPath, entry.name)));
  }
  return Buffer.concat(parts);
}

const f32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

/** Distinct inputs per test, so that one test's marker is not another's. */
const MARKERS = {
  public: [1234.5677, -8765.4321, 3.1415927, 271.82818],
  hashed: [4321.1235, -5678.8765, 9.8696044, 161.80339],
  encrypted: [2468.1357, -1357.2468, 6.2831855, 141.42136],
};

describe("Inference node: private modes keep the tensors out of what the node keeps and shows", function () {
  let env: Env;
  let running: Running;
  before(async function () {
    env = await setup();
    running = await startNode(env);
  });
  after(async function () {
    await running.node.close();
    await env.walrus.close();
  });

  const infer = (payload: object) => running.app.inject({ method: "POST", url: "/v1/infer", payload });
  const x = (row: number[]) => ({ x: { dtype: "float32", dims: [1, 4], data: row } });

  /** Where the node or Walrus could have kept a copy: journal, index, stored blobs, log, metrics, health. */
  async function everythingKept(): Promise<Buffer> {
    await running.node.outbox.flush();
    const health = JSON.stringify(await running.node.health());
    return Buffer.concat([
      await everyByte(running.dir),
      await everyByte(env.walrus.dir),
      Buffer.from(running.log.join("\n")),
      Buffer.from(running.node.metrics()),
      Buffer.from(health),
    ]);
  }

  it("public mode keeps the tensors (the search below finds a marker where one is)", async function () {
    const response = await infer({ model: "tiny-mlp", inputs: x(MARKERS.public) });
    expect(response.statusCode, response.body).to.equal(200);
    expect(response.json().proof.privacy).to.equal("public");
    const kept = await everythingKept();
    expect(kept.indexOf(f32(MARKERS.public))).to.not.equal(-1);
    expect(kept.indexOf(f32(response.json().outputs.y.data))).to.not.equal(-1);
  });

  it("hashed mode: the caller gets the outputs; no input or output byte is journalled, stored, logged or counted", async function () {
    const response = await infer({ model: "tiny-mlp", inputs: x(MARKERS.hashed), privacy: "hashed" });
    expect(response.statusCode, response.body).to.equal(200);
    const body = response.json();
    expect(body.proof.privacy).to.equal("hashed");
    expect(body.outputs.y.data).to.have.length(3);
    const kept = await everythingKept();
    expect(kept.indexOf(f32(MARKERS.hashed))).to.equal(-1);
    expect(kept.indexOf(f32(body.outputs.y.data))).to.equal(-1);
    expect(running.node.metrics()).to.match(/strata_infer_requests_by_privacy_total\{privacy="hashed"\} 1/);
    expect((await running.node.outbox.status(body.proof.commitment))!.status).to.equal("anchored");
  });

  it("encrypted mode: only the ciphertext is kept, and the requester opens it to the exact tensors", async function () {
    const requester = generatePrivacyKey();
    const response = await infer({
      model: "tiny-mlp",
      inputs: x(MARKERS.encrypted),
      privacy: "encrypted",
      recipient: formatPrivacyPublicKey(requester.publicKey),
    });
    expect(response.statusCode, response.body).to.equal(200);
    const body = response.json();
    const kept = await everythingKept();
    expect(kept.indexOf(f32(MARKERS.encrypted))).to.equal(-1);
    expect(kept.indexOf(f32(body.outputs.y.data))).to.equal(-1);

    const status = (await running.app.inject({ method: "GET", url: `/v1/proofs/${body.proof.commitment}` })).json();
    const reader = new WalrusClient({ aggregatorUrls: [env.walrus.url], shards: SHARDS });
    const patch = await reader.readPatch(status.patchId, {
      verify: (bytes) => expect(anyProofCommitment(decodeAnyProof(bytes))).to.equal(body.proof.commitment),
    });
    const doc = decodeAnyProof(patch.bytes);
    if (!isPrivateProof(doc)) throw new Error("expected a private proof");
    expect(doc.privacy).to.equal("encrypted");
    expect(privateProofCommitment(doc)).to.equal(body.proof.commitment);
    const opened = await openPrivateProof(doc, { privateKey: requester.privateKey });
    expect(Buffer.from(opened.inputs[0].bytes!)).to.deep.equal(f32(MARKERS.encrypted));
    expect(Buffer.from(opened.outputs[0].bytes!)).to.deep.equal(f32(body.outputs.y.data));
  });

  it("an error of a private request quotes none of its values; the same error in public mode does", async function () {
    const bad = [7.0e39, 1, 2, 3]; // beyond float32's range
    const publicError = await infer({ model: "tiny-mlp", inputs: x(bad) });
    expect(publicError.statusCode).to.equal(400);
    expect(publicError.body).to.contain("7e+39");
    for (const privacy of ["hashed", "encrypted"] as const) {
      const recipient =
        privacy === "encrypted" ? { recipient: formatPrivacyPublicKey(generatePrivacyKey().publicKey) } : {};
      const response = await infer({ model: "tiny-mlp", inputs: x(bad), privacy, ...recipient });
      expect(response.statusCode).to.equal(400);
      expect(response.json().error.code).to.equal("INVALID_INPUT");
      expect(response.body).to.not.contain("7e+39");
      expect(response.body).to.contain("withheld");
    }
  });

  it("a private proof journalled but not anchored is replayed from the journal after a restart", async function () {
    const first = await startNode(env);
    const response = await first.app.inject({
      method: "POST",
      url: "/v1/infer",
      payload: { model: "tiny-mlp", inputs: x([5, 6, 7, 8]), privacy: "hashed" },
    });
    expect(response.statusCode, response.body).to.equal(200);
    const commitment = response.json().proof.commitment;
    expect((await first.node.outbox.status(commitment))!.status).to.equal("accepted");
    await first.node.close(0);
    const again = await startNode(env, first.dir);
    try {
      await again.node.outbox.flush();
      expect((await again.node.outbox.status(commitment))!.status).to.equal("anchored");
    } finally {
      await again.node.close();
    }
  });

  it("refuses an encrypted request without a valid recipient, and a recipient outside encrypted mode", async function () {
    const cases: [object, string, RegExp][] = [
      [{ privacy: "encrypted" }, "BAD_REQUEST", /names its recipient/],
      [{ privacy: "encrypted", recipient: "strata-pk1:00" }, "PRIVACY_KEY", /Invalid privacy public key/],
      [
        { privacy: "encrypted", recipient: `strata-sk1:${"11".repeat(32)}` },
        "PRIVACY_KEY",
        /private key \(never share it\), not a privacy public key/,
      ],
      [{ privacy: "hashed", recipient: "strata-pk1:00" }, "BAD_REQUEST", /only for privacy "encrypted"/],
      [{ privacy: "secret" }, "BAD_REQUEST", /privacy/],
    ];
    for (const [extra, code, message] of cases) {
      const response = await infer({ model: "tiny-mlp", inputs: x([1, 2, 3, 4]), ...extra });
      expect(response.statusCode, JSON.stringify(extra)).to.equal(400);
      expect(response.json().error.code).to.equal(code);
      expect(response.json().error.message).to.match(message);
      expect(response.body).to.not.contain("11".repeat(32));
    }
  });
});
