import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { InferenceProof } from "@strata/core";
import type { VerificationReport } from "@strata/verifier";
import { anchorBatch, nudged, serveChain, setup, sign, teardown, variant, SHARDS, type Env } from "./fixture";

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
const BIN = path.join(REPO_ROOT, "packages", "cli", "bin", "strata.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `strata ...` as a user would, from the repository root, with no STRATA_* variables from this environment. */
function strata(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("STRATA_")));
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("strata verify and strata proof show", function () {
  let env: Env;
  let chain: { url: string; close: () => Promise<void> };
  let dir: string;
  let network: string[];
  let tampered: { root: string; commitment: string };

  before(async function () {
    env = await setup();
    chain = await serveChain();
    dir = await mkdtemp(path.join(tmpdir(), "strata-verify-cli-"));
    const deploymentFile = path.join(dir, "deployment.json");
    await writeFile(deploymentFile, JSON.stringify(env.deployment));
    network = [
      "--rpc",
      chain.url,
      "--deployment",
      deploymentFile,
      "--node-url",
      env.nodeUrl,
      "--shards",
      String(SHARDS),
      "--clock-skew",
      String(env.clockSkewSeconds),
      "--aggregator",
      env.walrus.url,
    ];
    const honest = await sign(variant(env.batches[0].proofs[0]), env.nodeA);
    const altered: InferenceProof = { ...honest, output: nudged(honest.output.tensors, 0.25) };
    const batch = await anchorBatch(env, [altered], env.nodeA);
    tampered = { root: batch.root, commitment: batch.commitments[0] };
  });

  after(async function () {
    await chain?.close();
    await teardown(env);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("exits 0 and prints a JSON report when every check passes, the batch found through the node's hint", async function () {
    // The node knows the proofs it made (in the batches it sealed itself).
    const [batch] = env.nodeBatches;
    const run = await strata(["verify", batch.commitments[2], "--json", ...network]);
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(run.stdout) as { ok: boolean; foundBy: string; root: string };
    expect(report).to.include({ ok: true, foundBy: "node-hint", root: batch.root });
  });

  it("re-executes on request and prints one line per check", async function () {
    const [, batch] = env.batches;
    const cache = path.join(dir, "models");
    const run = await strata(["verify", batch.commitments[0], "--reexecute", "--model-cache", cache, ...network]);
    expect(run.code, run.stderr).to.equal(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).to.match(
      new RegExp(`^proof ${batch.commitments[0]} \\(batch 0x[0-9a-f]{8}…[0-9a-f]{6} #0\\): VERIFIED$`),
    );
    expect(lines.filter((l) => /^ {2}PASS {2}/.test(l))).to.have.length(12);
    expect(run.stdout).to.match(/PASS {2}reexecution +3 output elements of 1 tensor\(s\) re-executed bit-identical/);
  });

  it("says until when the model is stored (epoch and date, from the store's clock), in the text and with --json", async function () {
    const [, batch] = env.batches;
    const text = await strata(["verify", batch.commitments[0], "--no-node-hint", ...network]);
    expect(text.code, text.stderr).to.equal(0);
    const left = env.model.endEpoch - env.walrus.currentEpoch();
    expect(text.stdout).to.match(
      new RegExp(
        `^ {2}model 0x[0-9a-f]{8}…[0-9a-f]{6} version ${env.model.index} stored until epoch ${env.model.endEpoch} ` +
          `\\(about \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\): ${left} epochs left`,
        "m",
      ),
    );
    expect(text.stdout).to.match(
      /^ {2}proof stored until epoch \d+ \(about \d{4}-\d\d-\d\d \d\d:\d\d UTC\): \d+ epochs? left \(current epoch \d+\)$/m,
    );
    const json = await strata(["verify", batch.commitments[0], "--no-node-hint", "--json", ...network]);
    expect(json.code, json.stderr).to.equal(0);
    const report = JSON.parse(json.stdout) as VerificationReport;
    expect(report.storage.currentEpoch).to.equal(env.walrus.currentEpoch());
    expect(report.storage.models[0]).to.include({ endEpoch: env.model.endEpoch, epochsLeft: left, expired: false });
    expect(report.storage.proof).to.include({ expired: false });
    expect(report.storage.proof!.blobIds).to.deep.equal([batch.blobId]);
    expect(report.storage.models[0].until).to.match(/^epoch \d+ \(about \d{4}-\d\d-\d\d \d\d:\d\d UTC\)$/);
  });

  it("exits 1 when a check fails, naming the step and why", async function () {
    const run = await strata(["verify", tampered.commitment, "--no-node-hint", ...network]);
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stdout).to.match(/: FAILED at signature/);
    expect(run.stdout).to.match(
      /^ {2}FAIL {2}signature +the signature recovers to 0x[0-9a-fA-F]{40}, not to the proof's node/m,
    );
    expect(run.stderr).to.match(
      new RegExp(
        `^strata: Proof ${tampered.commitment} failed verification at step signature: the signature recovers to`,
      ),
    );
  });

  it("exits 2 for a usage error or a chain that cannot be reached", async function () {
    const usage = await strata(["verify", "0x1234", ...network]);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.match(/^strata: Invalid commitment "0x1234": expected 0x followed by 64 hex digits/);
    const index = await strata(["verify", env.batches[0].commitments[0], "--index", "-1", ...network]);
    expect(index.code).to.equal(2);
    expect(index.stderr).to.match(/--index must be a non-negative integer/);

    const unreachable = await strata([
      "verify",
      env.batches[0].commitments[0],
      "--json",
      ...network,
      "--rpc",
      "http://127.0.0.1:9",
      "--timeout",
      "1000",
    ]);
    expect(unreachable.code).to.equal(2);
    expect(unreachable.stderr).to.match(/^strata: The chain RPC at http:\/\/127\.0\.0\.1:9 cannot be reached/);
    expect(JSON.parse(unreachable.stdout)).to.deep.include({ ok: false });
  });

  it("shows a proof's document, where it lives and who anchored it", async function () {
    const [batch] = env.batches;
    const text = await strata(["proof", "show", batch.commitments[1], "--no-node-hint", ...network]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.include(`  lives in   batch ${batch.root} (proof #1 of 4), Walrus blob ${batch.blobId}`);
    expect(text.stdout).to.match(
      new RegExp(`^ {2}anchored {3}by ${env.nodeA.address} at \\d{4}-.*Z in block \\d+$`, "m"),
    );
    expect(text.stdout).to.match(/^ {2}tx {9}0x[0-9a-f]{64}$/m);
    expect(text.stdout).to.include("  found by   event-scan");
    expect(text.stdout).to.match(
      /^ {2}stored {5}until epoch \d+ \(about \d{4}-\d\d-\d\d \d\d:\d\d UTC\): \d+ epochs? left \(current epoch \d+\)$/m,
    );

    const json = await strata(["proof", "show", batch.commitments[1], "--json", ...network]);
    expect(json.code, json.stderr).to.equal(0);
    const shown = JSON.parse(json.stdout) as {
      document: InferenceProof;
      location: object;
      anchored: object;
      storage: { proof: { endEpoch: number; blobIds: string[] } };
    };
    expect(shown.storage.proof.blobIds).to.deep.equal([batch.blobId]);
    expect(shown.storage.proof.endEpoch).to.be.a("number");
    expect(shown.document).to.deep.equal(batch.proofs[1]);
    expect(shown.location).to.include({ kind: "batch", root: batch.root, index: 1, count: 4, blobId: batch.blobId });
    expect(shown.anchored).to.include({ node: env.nodeA.address });

    const missing = await strata(["proof", "show", `0x${"cd".repeat(32)}`, "--no-node-hint", ...network]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/failed verification at step locate: not anchored/);
  });
});
