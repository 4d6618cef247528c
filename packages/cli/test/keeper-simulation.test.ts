/**
 * THE SIMULATION: 100 Walrus epochs on a real chain process and the local store, three models (one deprecated midway)
 * and 1,000 proofs signed by a real inference node and anchored in quilts, in five waves (epochs 0, 30, 60, 80, 95).
 * The keeper runs as a child process (`strata keeper`), is SIGKILLed at seeded random moments and restarted, and the
 * clock (the store's and the chain's) advances one epoch a step. At the end 100% of what the policy keeps is read back
 * verified and the verifier passes every kept batch. The same run without the keeper: the models' storage ends at
 * epoch 6 and the node refuses them from then on (410 MODEL_EXPIRED: the later waves are refused), every lease the
 * policy keeps has expired and `strata status` says so for each (state expired, exit 1; under `--retention 200` every
 * batch too), and the verifier fails every batch as expired.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Wallet } from "ethers";
import { StrataClient, type ModelId } from "@strata/core";
import {
  advanceEpochs,
  NodeApiError,
  NodeClient,
  publishTestModel,
  startLocalStack,
  type LocalStack,
} from "@strata/devkit";
import { decide, DEFAULT_POLICY, readInventory, type Inventory } from "@strata/keeper";
import { startNodeServer, type NodeServer } from "@strata/node";
import { Verifier } from "@strata/verifier";
import { localNetworkClock } from "@strata/walrus";

const BIN = path.resolve(__dirname, "..", "bin", "strata.js");
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
const EPOCHS = 100;
const WAVES = new Map([
  [0, 200],
  [30, 200],
  [60, 200],
  [80, 200],
  [95, 200],
]);
const DEPRECATE_AT = 50;
const KILL_PROBABILITY = 0.08;
const DAY_SECONDS = 24 * 60 * 60;

/** mulberry32: the kills are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function strata(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A `strata keeper` child: its stderr lines, and the latest epoch a cycle finished at. */
class KeeperProcess {
  private child: ChildProcess | undefined;
  private doneAt = -1;
  private waiters: (() => void)[] = [];
  log = "";
  spawns = 0;

  constructor(
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  start(): void {
    this.doneAt = -1;
    this.spawns++;
    const child = spawn(process.execPath, [BIN, ...this.args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.env },
    });
    this.child = child;
    let buffer = "";
    child.stderr?.on("data", (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        this.log += `${line}\n`;
        const m = /cycle done at epoch (\d+)/.exec(line);
        if (m && child === this.child) {
          this.doneAt = Math.max(this.doneAt, Number(m[1]));
          for (const w of this.waiters.splice(0)) w();
        }
      }
    });
    child.stdout?.resume();
  }

  /** Waits until a cycle that began at epoch `epoch` or later has finished. */
  async cycleAt(epoch: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.doneAt < epoch) {
      if (Date.now() > deadline) {
        throw new Error(
          `the keeper finished no cycle at epoch ${epoch} in ${timeoutMs} ms; its log:\n${this.log.slice(-4000)}`,
        );
      }
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) {
        throw new Error(`the keeper exited (${this.child.exitCode}); its log:\n${this.log.slice(-4000)}`);
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await exited;
  }
}

interface Outcome {
  stack: LocalStack;
  env: NodeJS.ProcessEnv;
  inventory: Inventory;
  proofs: number;
  /** Inferences the node refused because the model's storage had expired (only without the keeper). */
  refused: number;
  kills: number;
  spawns: number;
  keeperLog: string;
  ms: number;
}

/** Runs the 100 epochs, with the keeper (killed at seeded random moments) or without it. */
async function simulate(withKeeper: boolean, seed: number): Promise<Outcome> {
  const started = Date.now();
  const random = prng(seed);
  const stack = await startLocalStack({ network: `keeper-sim-${withKeeper ? "kept" : "bare"}`, shards: 10 });
  const nodeSigner = new Wallet(stack.nodeKey, stack.provider);
  // The node's key owns the models too: one keeper, on one key, records every renewal.
  const owner = StrataClient.connect(stack.deployment, nodeSigner);
  const models: ModelId[] = [];
  for (let i = 0; i < 3; i++) {
    const published = await publishTestModel(owner, stack.walrus.client, {
      name: `sim-${i}`,
      seed: 100 + i,
      epochs: 5,
    });
    models.push(published.modelId as ModelId);
  }
  const keyFile = path.join(stack.dir, "node.key");
  await writeFile(keyFile, stack.nodeKey, { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {
    STRATA_RPC_URL: stack.chain.url,
    STRATA_DEPLOYMENT: stack.deploymentFile,
    STRATA_WALRUS_PUBLISHER: stack.walrus.url,
    STRATA_WALRUS_AGGREGATORS: stack.walrus.url,
    STRATA_WALRUS_SHARDS: String(stack.walrus.shards),
    STRATA_KEY_FILE: keyFile,
  };
  let node: NodeServer | undefined = await startNodeServer({
    port: 0,
    host: "127.0.0.1",
    dataDir: path.join(stack.dir, "node"),
    signer: nodeSigner,
    client: StrataClient.connect(stack.deployment, stack.provider),
    walrus: stack.walrus.client,
    defaultModelOwner: nodeSigner.address,
    batch: { maxBatch: 50, maxAgeMs: 100, epochs: 5 },
  });
  const nodeClient = new NodeClient(node.url);
  const keeper = new KeeperProcess(
    // An epoch is a day, compressed here to a fraction of a second: a per-minute limit of the wall clock would meter
    // days of renewals at once, so it is raised out of the way (the rate limit has its own test).
    [
      "keeper",
      "--data-dir",
      path.join(stack.dir, "keeper"),
      "--interval",
      "0.2",
      "--metrics-port",
      "0",
      "--rate",
      "600",
    ],
    env,
  );
  let proofs = 0;
  let kills = 0;
  let refused = 0;
  const wave = async (count: number, active: ModelId[]) => {
    const before = (await nodeClient.metrics()).strata_proofs_anchored_total ?? 0;
    let served = 0;
    for (let i = 0; i < count; i += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, count - i) }, (_, j) =>
          nodeClient
            .infer({
              model: active[(i + j) % active.length],
              inputs: { x: { dtype: "float32", dims: [1, 4], data: [i, j, proofs % 7, 1] } },
            })
            .then(
              () => served++,
              (error: unknown) => {
                // Without a keeper the models' storage ends, and the node refuses them (410), as it should.
                if (withKeeper || !(error instanceof NodeApiError) || error.nodeCode !== "MODEL_EXPIRED") throw error;
                refused++;
              },
            ),
        ),
      );
    }
    proofs += served;
    count = served;
    const deadline = Date.now() + 60_000;
    while (((await nodeClient.metrics()).strata_proofs_anchored_total ?? 0) < before + count) {
      if (Date.now() > deadline) throw new Error("the node did not anchor the wave within 60 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  try {
    for (let epoch = 0; epoch <= EPOCHS; epoch++) {
      const waveSize = WAVES.get(epoch);
      if (waveSize !== undefined || epoch === DEPRECATE_AT) {
        // The node's key anchors, deprecates and renews: one writer at a time (the keeper stops meanwhile).
        await keeper.kill("SIGTERM");
        if (epoch === DEPRECATE_AT) await (await owner.models.deprecateVersion(models[2], 0)).wait();
        if (waveSize !== undefined) await wave(waveSize, epoch < DEPRECATE_AT ? models : models.slice(0, 2));
        if (withKeeper) keeper.start();
      }
      if (epoch > 0) {
        await advanceEpochs(stack.walrus.store, stack.provider, 1);
      }
      if (!withKeeper) continue;
      const current = (await localNetworkClock(stack.walrus.url).now()).epoch;
      if (random() < KILL_PROBABILITY) {
        // Killed at a random moment: before, during or after its cycle at this epoch.
        await new Promise((r) => setTimeout(r, Math.floor(random() * 900)));
        await keeper.kill("SIGKILL");
        kills++;
        keeper.start();
      }
      await keeper.cycleAt(current);
    }
    await keeper.kill("SIGTERM");
    await node.stop();
    node = undefined;
    const inventory = await readInventory(stack.client, localNetworkClock(stack.walrus.url), { nodes: "all" });
    return {
      stack,
      env,
      inventory,
      proofs,
      refused,
      kills,
      spawns: keeper.spawns,
      keeperLog: keeper.log,
      ms: Date.now() - started,
    };
  } catch (error) {
    await keeper.kill("SIGKILL");
    await node?.stop();
    await stack.stop();
    throw error;
  }
}

function verifier(stack: LocalStack): Verifier {
  return new Verifier({
    client: stack.client,
    walrus: stack.walrus.client,
    modelCacheDir: path.join(stack.dir, "verifier-models"),
    // The chain's clock was moved 100 days ahead of the node's: the proofs' timestamps are the node's.
    clockSkewSeconds: 200 * DAY_SECONDS,
    clock: localNetworkClock(stack.walrus.url),
  });
}

describe("keeper simulation: 100 epochs, 3 models, 1,000 proofs, the keeper SIGKILLed and restarted", function () {
  this.timeout(600_000);

  it("with the keeper: 100% of what the policy keeps is retrievable and verifiable at the end", async () => {
    const run = await simulate(true, 11);
    try {
      const { inventory, stack } = run;
      const current = inventory.now.epoch;
      const kept = [...inventory.models, ...inventory.batches].filter(
        (l) => decide(l, current, DEFAULT_POLICY).action !== "lapse",
      );
      const anchoredProofs = inventory.batches.reduce((sum, b) => sum + b.count, 0);
      expect(anchoredProofs).to.equal(run.proofs);
      expect(run.proofs).to.be.at.least(1000);
      expect(run.refused).to.equal(0);
      // Kept: the two active models, and the batches of the waves within their retention (80 and 95).
      expect(kept.filter((l) => l.kind === "model")).to.have.length(2);
      const keptBatches = inventory.batches.filter((b) => kept.includes(b));
      expect(keptBatches.reduce((s, b) => s + b.count, 0)).to.equal(400);
      for (const lease of kept) {
        expect(decide(lease, current, DEFAULT_POLICY).action, lease.key).to.equal("keep");
        expect(lease.endEpoch, lease.key).to.be.above(current);
      }
      // Retrievable: every kept blob read back verified (sha256 for models, the Blob ID for quilts).
      for (const lease of inventory.models.filter((l) => kept.includes(l))) {
        await stack.walrus.client.read(lease.blobId, { sha256: lease.sha256.replace(/^0x/, "") });
      }
      for (const lease of keptBatches) for (const blobId of lease.blobIds) await stack.walrus.client.read(blobId);
      // Verifiable: every proof of every kept batch.
      const v = verifier(stack);
      let verified = 0;
      for (const lease of keptBatches) {
        const report = await v.verifyBatch(lease.root, lease.node);
        expect(report.ok, `${lease.root}: ${JSON.stringify(report.steps)}`).to.equal(true);
        expect(report.storage.proof?.endEpoch).to.equal(lease.endEpoch);
        expect(report.storage.proof?.expired).to.equal(false);
        verified += report.passed;
      }
      expect(verified).to.equal(400);
      const status = await strata(["status", "--json"], run.env);
      expect(status.code, status.stdout + status.stderr).to.equal(0);
      const json = JSON.parse(status.stdout) as { rows: { state: string }[]; counts: Record<string, number> };
      expect(json.counts.expired).to.equal(0);
      expect(json.counts["at-risk"]).to.equal(0);
      // The models' metadata blobs: kept by the keeper's own record (no chain has one), lapsed for the deprecated model.
      const withRecords = await strata(
        ["status", "--json", "--keeper-data-dir", path.join(stack.dir, "keeper")],
        run.env,
      );
      expect(withRecords.code, withRecords.stdout + withRecords.stderr).to.equal(0);
      type MetaRow = { kind: string; subject: string; state: string; endEpoch: number | null };
      const metaRows = (JSON.parse(withRecords.stdout) as { rows: MetaRow[] }).rows.filter(
        (r) => r.kind === "metadata",
      );
      expect(metaRows.map((r) => [r.subject, r.state]).sort()).to.deep.equal([
        ["sim-0", "ok"],
        ["sim-1", "ok"],
        ["sim-2", "lapsed"],
      ]);
      for (const row of metaRows.filter((r) => r.state === "ok")) expect(row.endEpoch).to.be.above(current);
      for (const lease of inventory.metadata.filter((m) => m.activeVersions > 0)) {
        await stack.walrus.client.read(lease.blobId);
      }
      const renewals = (run.keeperLog.match(/keeper: renewed /g) ?? []).length;
      const foundOnChain = (run.keeperLog.match(/already recorded on-chain \(finished after restart\)/g) ?? []).length;
      const table = await strata(["status"], run.env);
      expect(table.stdout).to.match(
        /^KIND\s+MODEL\/VERSION OR BATCH ROOT\s+BLOB ID\(S\)\s+END EPOCH\s+LEFT\s+ABOUT\s+STATE/,
      );
      expect(table.stdout).to.match(/model\s+sim-2\/0\s+\S+\s+\d+\s+-?\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\s+lapsed/);
      process.stdout.write(
        `      simulation: ${run.proofs} proofs in ${inventory.batches.length} batches, ${EPOCHS} epochs, ` +
          `${run.kills} SIGKILLs (${run.spawns} keeper starts), ${renewals} renewals (${foundOnChain} found on-chain ` +
          `after a restart), ${(run.ms / 1000).toFixed(1)} s\n`,
      );
      expect(run.kills).to.be.at.least(3);
    } finally {
      await run.stack.stop();
    }
  });

  it("without the keeper: every expiry is reported by strata status (expired, exit 1) and the verifier fails it", async () => {
    const run = await simulate(false, 11);
    try {
      const { inventory, stack } = run;
      const current = inventory.now.epoch;
      // The first wave ran; every later inference was refused: the models' storage had ended (epoch 6), 410.
      expect(run.proofs).to.equal(200);
      expect(run.refused).to.equal(800);
      const kept = [...inventory.models, ...inventory.batches].filter(
        (l) => decide(l, current, DEFAULT_POLICY).action !== "lapse",
      );
      expect(kept.map((l) => l.key).sort()).to.deep.equal(
        inventory.models
          .filter((m) => !m.deprecated)
          .map((m) => m.key)
          .sort(),
      );
      const status = await strata(["status", "--json"], run.env);
      expect(status.code).to.equal(1);
      type Rows = { rows: { kind: string; subject: string; state: string; endEpoch: number }[] };
      const json = JSON.parse(status.stdout) as Rows;
      for (const lease of kept) {
        const subject = lease.kind === "model" ? `${lease.name}/${lease.index}` : lease.root;
        expect(json.rows.find((r) => r.subject === subject)?.state, subject).to.equal("expired");
      }
      expect(json.rows.filter((r) => r.kind === "batch").map((r) => r.state)).to.satisfy((states: string[]) =>
        states.every((state) => state === "lapsed"),
      );
      const table = await strata(["status"], run.env);
      expect(table.code).to.equal(1);
      expect(table.stdout).to.match(/EXPIRED: model sim-0\/0: could not renew: expired at epoch \d+/);
      // Under a retention that still keeps the first wave's proofs, every batch is an expiry too.
      const long = JSON.parse((await strata(["status", "--json", "--retention", "200"], run.env)).stdout) as Rows;
      const batchRows = long.rows.filter((r) => r.kind === "batch");
      expect(batchRows).to.have.length(inventory.batches.length);
      for (const row of batchRows) expect(row.state, row.subject).to.equal("expired");
      // The verifier fails every batch, as expired (its own failure: neither "not found" nor "corrupted").
      const v = verifier(stack);
      for (const lease of inventory.batches) {
        const report = await v.verifyBatch(lease.root, lease.node);
        expect(report.ok).to.equal(false);
        const blob = report.steps.find((s) => s.step === "blob");
        expect(blob?.status, JSON.stringify(report.steps)).to.equal("fail");
        expect(blob?.detail).to.contain(`expired at epoch ${lease.endEpoch}`).and.contain("renewal was due by");
        expect(report.storage.proof?.expired).to.equal(true);
      }
    } finally {
      await run.stack.stop();
    }
  });
});
