import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StrataClient } from "@strata/core";
import { WalrusClient } from "@strata/walrus";
import { anchoredBatches } from "./anchored";
import { findFreePort, startLocalStack, type HardhatNode, type LocalStack, type TestWalrus } from "@strata/devkit";

const SHARDS = 10;
/** SIGKILL rounds under steady load (the issue asks for 20; STRATA_CRASH_ROUNDS overrides). */
const ROUNDS = Number(process.env.STRATA_CRASH_ROUNDS ?? 20);
const CLI = join(__dirname, "..", "..", "cli", "bin", "strata.js");

/**
 * Work the node accepted survives SIGKILL: the node is killed at random moments while it seals, stores and anchors
 * batches, restarted on the same data directory, killed again, and so on; in the end every proof it answered for is
 * anchored on-chain exactly once (in exactly one anchored batch), and no batch root is anchored twice.
 */
describe("Inference node under SIGKILL", function () {
  this.timeout(300_000);
  let stack: LocalStack | undefined;
  let chain: HardhatNode;
  let walrus: TestWalrus;
  let client: StrataClient;
  let deploymentFile: string;
  let owner: string;

  before(async function () {
    stack = await startLocalStack({ network: "crash", shards: SHARDS, model: { name: "crash-mlp", seed: 3 } });
    ({ chain, walrus, client, deploymentFile } = stack);
    owner = stack.deployer.address;
  });

  after(async function () {
    await stack?.stop();
  });

  async function startNodeProcess(dataDir: string, port: number): Promise<ChildProcess> {
    const child = spawn(
      process.execPath,
      [
        CLI,
        "node",
        "start",
        ...["--rpc", chain.url, "--deployment", deploymentFile, "--publisher", walrus.url, "--aggregator", walrus.url],
        ...["--shards", String(SHARDS), "--port", String(port), "--data-dir", dataDir, "--model-owner", owner],
        ...["--batch-size", "4", "--batch-age-ms", "100"],
      ],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, STRATA_PRIVATE_KEY: "" } },
    );
    let log = "";
    child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`node exited with ${child.exitCode}:\n${log}`);
      const ok = await fetch(`http://127.0.0.1:${port}/v1/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return child;
      if (Date.now() > deadline) throw new Error(`node did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function infer(port: number, i: number): Promise<string | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v1/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "crash-mlp",
          inputs: { x: { dtype: "float32", dims: [1, 4], data: [i, 1, 2, 3] } },
        }),
      });
      if (!response.ok) return undefined;
      return ((await response.json()) as { proof: { commitment: string } }).proof.commitment;
    } catch {
      return undefined; // killed mid-request: never answered, so never accepted
    }
  }

  it("anchors every accepted proof exactly once across repeated SIGKILLs and restarts", async function () {
    const dataDir = await mkdtemp(join(tmpdir(), "strata-crash-node-"));
    const port = await findFreePort();
    const accepted = new Set<string>();
    const debug = (m: string) => process.env.STRATA_DEBUG && console.log(`    [crash] ${m}`);
    for (let round = 0; round < ROUNDS; round++) {
      const child = await startNodeProcess(dataDir, port);
      debug(`round ${round}: node up`);
      const requests: Promise<string | undefined>[] = [];
      for (let i = 0; i < 14; i++) {
        requests.push(infer(port, round * 100 + i));
        if (i % 3 === 2) await new Promise((r) => setTimeout(r, 40));
      }
      // Kill while batches are being sealed, stored and anchored, and some requests are still in flight.
      await new Promise((r) => setTimeout(r, 250 + (round % 5) * 150));
      child.kill("SIGKILL");
      for (const c of await Promise.all(requests)) if (c) accepted.add(c);
      if (child.exitCode === null && child.signalCode === null)
        await new Promise((resolve) => child.once("exit", resolve));
      debug(`round ${round}: killed, ${accepted.size} accepted so far`);
    }
    expect(accepted.size).to.be.greaterThan(0);

    const child = await startNodeProcess(dataDir, port);
    try {
      const deadline = Date.now() + 120_000;
      for (const commitment of accepted) {
        for (;;) {
          const status = (await (await fetch(`http://127.0.0.1:${port}/v1/proofs/${commitment}`)).json()) as {
            status?: string;
          };
          if (status.status === "anchored") break;
          if (Date.now() > deadline) throw new Error(`${commitment} was not anchored: ${JSON.stringify(status)}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }

    // Every anchoring event, every batch blob or quilt: each accepted proof appears in exactly one anchored batch.
    const registry = client.proofs;
    const contract = (await import("@strata/contracts")).ProofRegistry__factory.connect(
      await registry.getAddress(),
      registry.runner,
    );
    const reader = new WalrusClient({ aggregatorUrls: [walrus.url], shards: SHARDS });
    const batches = await anchoredBatches(contract, reader, SHARDS);
    const roots = batches.map((b) => b.root);
    expect(new Set(roots).size, "a root was anchored twice").to.equal(roots.length);
    const seen = new Map<string, number>();
    for (const batch of batches) for (const c of batch.commitments) seen.set(c, (seen.get(c) ?? 0) + 1);
    for (const commitment of accepted) expect(seen.get(commitment), commitment).to.equal(1);
    for (const [commitment, count] of seen) expect(count, `${commitment} anchored ${count} times`).to.equal(1);
  });
});
