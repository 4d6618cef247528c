import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FetchRequest, JsonRpcProvider, Network, Wallet } from "ethers";
import { ethers } from "hardhat";
import { writeDeployment, type Deployment, type Registries } from "@strata/contracts";
import { StrataClient } from "@strata/core";
import { deployAndAdmit, publishTestModel, startTestWalrus, type TestWalrus } from "@strata/devkit";
import { buildServer, InferenceNode, type InferenceNodeOptions } from "@strata/node";

const SHARDS = 10;
const CLI = join(__dirname, "..", "..", "cli", "bin", "strata.js");
type Signer = Awaited<ReturnType<typeof ethers.getSigners>>[number];

/** A TCP server that accepts connections and never answers: a hung RPC. */
async function hungServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A provider that gives up on a request after `timeoutMs` and never re-detects the network. */
function provider(url: string, timeoutMs: number, chainId?: number): JsonRpcProvider {
  const request = new FetchRequest(url);
  request.timeout = timeoutMs;
  return new JsonRpcProvider(request, chainId, {
    // A static network never asks eth_chainId (a dead RPC would otherwise be polled, and logged, every second).
    staticNetwork: chainId === undefined ? true : Network.from(chainId),
    batchMaxCount: 1,
  });
}

const payload = { model: "fault-mlp", inputs: { x: { dtype: "float32", dims: [1, 4], data: [1, 2, 3, 4] } } };

describe("Inference node under faults", function () {
  this.timeout(120_000);
  let walrus: TestWalrus;
  let deployment: Deployment;
  let registries: Registries;
  let nodeSigner: Signer;
  let owner: Signer;

  before(async function () {
    const [admin, ownerSigner, , , , , nodeKey] = await ethers.getSigners();
    owner = ownerSigner;
    nodeSigner = nodeKey;
    ({ registries, deployment } = await deployAndAdmit(admin, {
      network: "hardhat",
      nodes: [{ address: nodeSigner.address, url: "http://127.0.0.1:1" }],
    }));
    walrus = await startTestWalrus({ shards: SHARDS, prefix: "strata-faults-walrus-" });
    await publishTestModel(StrataClient.connect(deployment, owner), walrus.client, { name: "fault-mlp", seed: 11 });
  });
  after(async () => walrus?.close());

  async function start(options: Partial<InferenceNodeOptions> = {}) {
    const node = await InferenceNode.start({
      dataDir: await mkdtemp(join(tmpdir(), "strata-faults-node-")),
      signer: nodeSigner,
      client: StrataClient.connect(deployment, ethers.provider),
      walrus: walrus.client,
      defaultModelOwner: owner.address,
      batch: { maxAgeMs: 60_000 },
      ...options,
    });
    return { node, app: buildServer(node) };
  }

  it("answers 503 CHAIN_UNAVAILABLE, not 500, when the chain is down during an inference", async function () {
    const dead = provider("http://127.0.0.1:9", 2_000, Number(deployment.chainId));
    const { node, app } = await start({
      client: StrataClient.connect(deployment, dead),
      signer: new Wallet(Wallet.createRandom().privateKey, dead),
    });
    try {
      const r = await app.inject({ method: "POST", url: "/v1/infer", payload });
      expect(r.statusCode, r.body).to.equal(503);
      expect(r.json().error.code).to.equal("CHAIN_UNAVAILABLE");
      expect(r.json().error.message).to.match(/retry later/);
    } finally {
      await node.close();
      dead.destroy();
    }
  });

  it("reports a hung RPC in health, refuses work once the chain is silent past the threshold, and closes in bounded time", async function () {
    const hung = await hungServer();
    const slow = provider(hung.url, 300, Number(deployment.chainId));
    const { node, app } = await start({
      client: StrataClient.connect(deployment, slow),
      signer: new Wallet(Wallet.createRandom().privateKey, slow),
      healthIntervalMs: 100,
      chainDownMs: 500,
    });
    try {
      await new Promise((r) => setTimeout(r, 1_200));
      await node.check();
      const health = await app.inject({ method: "GET", url: "/v1/health" });
      expect(health.statusCode).to.equal(503);
      expect(health.json().status).to.equal("unavailable");
      expect(health.json().checks.chain.ok).to.equal(false);
      expect(health.json().reason.code).to.equal("CHAIN_UNAVAILABLE");
      const r = await app.inject({ method: "POST", url: "/v1/infer", payload });
      expect(r.statusCode, r.body).to.equal(503);
      expect(r.json().error.code).to.equal("CHAIN_UNAVAILABLE");
    } finally {
      await node.close(1_000);
      slow.destroy();
      await hung.close();
    }
  });

  it("stops accepting (503 NODE_NOT_ACTIVE) once removed from the NodeRegistry, and accepts again once re-admitted", async function () {
    const { node, app } = await start();
    try {
      expect((await app.inject({ method: "POST", url: "/v1/infer", payload })).statusCode).to.equal(200);
      await (await registries.nodeRegistry.removeNode(nodeSigner.address)).wait();
      await node.check();
      const refused = await app.inject({ method: "POST", url: "/v1/infer", payload });
      expect(refused.statusCode, refused.body).to.equal(503);
      expect(refused.json().error.code).to.equal("NODE_NOT_ACTIVE");
      const health = (await app.inject({ method: "GET", url: "/v1/health" })).json();
      expect(health.reason.code).to.equal("NODE_NOT_ACTIVE");
      expect(node.outbox.stats.accepted).to.equal(1);
      await (await registries.nodeRegistry.admitNode(nodeSigner.address, "http://127.0.0.1:1")).wait();
      await node.check();
      expect((await app.inject({ method: "POST", url: "/v1/infer", payload })).statusCode).to.equal(200);
      await node.outbox.flush();
      expect(node.outbox.stats.anchoredProofs).to.equal(2);
    } finally {
      await node.close();
    }
  });

  it("resolves a model id on the chain once, and only the latest version again after its TTL", async function () {
    const client = StrataClient.connect(deployment, ethers.provider);
    let resolves = 0;
    let latest = 0;
    const resolve = client.models.resolve.bind(client.models);
    const latestVersion = client.models.latestVersion.bind(client.models);
    client.models.resolve = (...args) => (resolves++, resolve(...args));
    client.models.latestVersion = (...args) => (latest++, latestVersion(...args));
    const { node, app } = await start({ client, latestTtlMs: 50 });
    try {
      for (let i = 0; i < 3; i++) {
        expect((await app.inject({ method: "POST", url: "/v1/infer", payload })).statusCode).to.equal(200);
        await new Promise((r) => setTimeout(r, 80));
      }
      expect(resolves).to.equal(1);
      expect(latest).to.equal(3);
    } finally {
      await node.close();
    }
  });

  it("refuses with 413, before running it, an inference whose inputs could never fit in a batch", async function () {
    const { node, app } = await start({ batch: { maxAgeMs: 60_000, maxBatchBytes: 4096 } });
    try {
      const data = Array.from({ length: 8192 }, (_, i) => i % 7);
      const r = await app.inject({
        method: "POST",
        url: "/v1/infer",
        payload: { model: "fault-mlp", inputs: { x: { dtype: "float32", dims: [2048, 4], data } } },
      });
      expect(r.statusCode, r.body).to.equal(413);
      expect(r.json().error.code).to.equal("PROOF_TOO_LARGE");
      expect(node.outbox.stats.accepted).to.equal(0);
    } finally {
      await node.close();
    }
  });

  it("exits within a bounded time on SIGTERM even while its RPC hangs", async function () {
    const hung = await hungServer();
    const dir = await mkdtemp(join(tmpdir(), "strata-faults-sigterm-"));
    const deploymentFile = join(dir, "deployment.json");
    writeDeployment(deploymentFile, deployment);
    await writeFile(join(dir, "key"), Wallet.createRandom().privateKey + "\n");
    const child = spawn(
      process.execPath,
      [
        CLI,
        "node",
        "start",
        ...["--rpc", hung.url, "--deployment", deploymentFile, "--publisher", walrus.url, "--aggregator", walrus.url],
        ...["--shards", String(SHARDS), "--port", "0", "--data-dir", join(dir, "node"), "--key-file", join(dir, "key")],
      ],
      {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, STRATA_PRIVATE_KEY: "", STRATA_RPC_TIMEOUT_MS: "500" },
      },
    );
    let log = "";
    child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
    try {
      const deadline = Date.now() + 60_000;
      while (!/listening on/.test(log)) {
        if (child.exitCode !== null) throw new Error(`node exited early:\n${log}`);
        if (Date.now() > deadline) throw new Error(`node did not start:\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const t0 = Date.now();
      child.kill("SIGTERM");
      const exited = await Promise.race([
        new Promise<boolean>((resolve) => child.once("exit", () => resolve(true))),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000)),
      ]);
      expect(exited, `still running ${Date.now() - t0} ms after SIGTERM:\n${log}`).to.equal(true);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await hung.close();
    }
  });
});
