import { expect } from "chai";
import { mkdtemp } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FetchRequest, JsonRpcProvider, Wallet } from "ethers";
import { ProofRegistry__factory, type Deployment } from "@strata/contracts";
import { StrataClient } from "@strata/core";
import { WalrusClient } from "@strata/walrus";
import { DEVNET_KEYS, startLocalStack, type HardhatNode, type LocalStack, type TestWalrus } from "@strata/devkit";
import { buildServer, InferenceNode } from "@strata/node";
import { anchoredBatches } from "./anchored";

const SHARDS = 10;

type Mode = "pass" | "refuse" | "hang";

/** A TCP proxy in front of the chain's RPC that can pass traffic, refuse connections (an outage) or hang (a hung RPC). */
async function rpcProxy(target: number): Promise<{ url: string; mode: Mode; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { mode: "pass" as Mode };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (state.mode === "refuse") return client.destroy();
    if (state.mode === "hang") return; // accepted, never answered
    const upstream = connect(target, "127.0.0.1");
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(mode: Mode) {
      state.mode = mode;
      if (mode !== "pass") for (const s of sockets) s.destroy(); // keep-alive connections go too
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * A real chain (a `hardhat node` process) behind a proxy that fails the way RPCs fail: refused connections, and
 * connections that hang. Work accepted before and between the faults is anchored once the chain is back, exactly once,
 * and the node never wedges meanwhile.
 */
describe("Inference node through chain outages and a hung RPC", function () {
  this.timeout(180_000);
  let stack: LocalStack | undefined;
  let chain: HardhatNode;
  let walrus: TestWalrus;
  let deployment: Deployment;
  let owner: string;

  before(async function () {
    stack = await startLocalStack({ network: "outage", shards: SHARDS, model: { name: "outage-mlp", seed: 5 } });
    ({ chain, walrus, deployment } = stack);
    owner = stack.deployer.address;
  });
  after(async function () {
    await stack?.stop();
  });

  it("anchors every accepted proof exactly once after an outage and a hung RPC, and never wedges meanwhile", async function () {
    const proxy = await rpcProxy(chain.port);
    const request = new FetchRequest(proxy.url);
    request.timeout = 500;
    const provider = new JsonRpcProvider(request, deployment.chainId, { staticNetwork: true, batchMaxCount: 1 });
    const node = await InferenceNode.start({
      dataDir: await mkdtemp(join(tmpdir(), "strata-outage-node-")),
      signer: new Wallet(DEVNET_KEYS[1], provider),
      client: StrataClient.connect(deployment, provider),
      walrus: walrus.client,
      defaultModelOwner: owner,
      healthIntervalMs: 200,
      chainDownMs: 60_000,
      batch: {
        maxBatch: 2,
        maxAgeMs: 100,
        retryBaseMs: 50,
        retryMaxMs: 400,
        txTimeoutMs: 2_000,
        chainTimeoutMs: 1_000,
      },
    });
    const app = buildServer(node);
    const accepted: string[] = [];
    const infer = async (i: number) => {
      const r = await app.inject({
        method: "POST",
        url: "/v1/infer",
        payload: { model: "outage-mlp", inputs: { x: { dtype: "float32", dims: [1, 4], data: [i, 1, 2, 3] } } },
      });
      if (r.statusCode === 200) accepted.push(r.json().proof.commitment);
      return r;
    };
    try {
      for (let i = 0; i < 4; i++) expect((await infer(i)).statusCode).to.equal(200); // model resolved and cached
      for (const mode of ["refuse", "hang"] as const) {
        proxy.mode = mode;
        // The model is resolved already, so the node still serves; its batches cannot be anchored yet.
        for (let i = 0; i < 4; i++) await infer(100 + i);
        await new Promise((r) => setTimeout(r, 1_500));
        await node.check();
        const health = (await app.inject({ method: "GET", url: "/v1/health" })).json();
        expect(health.checks.chain.ok, `health during ${mode}`).to.equal(false);
        expect(node.outbox.stats.flushErrors, `anchoring failed during ${mode}`).to.be.greaterThan(0);
        proxy.mode = "pass";
        for (let i = 0; i < 2; i++) await infer(200 + i);
      }
      const deadline = Date.now() + 60_000;
      while (node.outbox.stats.anchoredProofs < accepted.length) {
        if (Date.now() > deadline)
          throw new Error(`only ${node.outbox.stats.anchoredProofs} of ${accepted.length} anchored`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(accepted.length).to.be.at.least(12);
    } finally {
      await node.close();
      await proxy.close();
    }
    // On the chain: every accepted proof in exactly one batch anchored by the node, no root twice.
    const direct = new JsonRpcProvider(chain.url, deployment.chainId, { staticNetwork: true });
    const contract = ProofRegistry__factory.connect(deployment.contracts.ProofRegistry, direct);
    const reader = new WalrusClient({ aggregatorUrls: [walrus.url], shards: SHARDS });
    const batches = await anchoredBatches(contract, reader, SHARDS, new Wallet(DEVNET_KEYS[1]).address);
    const roots = batches.map((b) => b.root);
    expect(new Set(roots).size, "a root anchored twice").to.equal(roots.length);
    const seen = new Map<string, number>();
    for (const batch of batches) for (const c of batch.commitments) seen.set(c, (seen.get(c) ?? 0) + 1);
    for (const c of accepted) expect(seen.get(c), c).to.equal(1);
  });
});
