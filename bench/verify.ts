/**
 * `npx hardhat run bench/verify.ts`: how fast proofs are verified, each figure beside its baseline measured in the same
 * run, on real proofs: an inference node (in-process chain, local Walrus store at 1000 shards as mainnet and testnet,
 * a published tiny MLP) signs BENCH_VERIFY_PROOFS proofs (default 1,000) and anchors them as one batch.
 *
 * - The batch path (`Verifier.verifyBatch`: one fetch, one decode, every proof checked, one on-chain spot check)
 *   against the naive path (`verifyProof` per proof with a fresh verifier, as a one-off audit of each proof would run),
 *   and against `verifyProof` per proof with one warm verifier (its blob, versions and node history cached).
 * - Re-execution: the cost it adds per proof (model cached and loaded), and the first, cold one (download + load).
 *
 * Every verifier reads through its own encoder pool, so no Blob ID comes from another run's memo: each fetch pays the
 * Blob ID recomputation (~1.5 s of CPU at 1000 shards) a real verifier pays. Medians of BENCH_VERIFY_RUNS runs
 * (default 5). Target (foundation issue): at least 2,000 proofs/s checked without re-execution.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "hardhat";
import { deployAndAdmit, publishTestModel, startTestWalrus, type TestWalrus } from "@strata/devkit";
import { StrataClient } from "@strata/core";
import { InferenceNode } from "@strata/node";
import { EncoderPool, WalrusClient } from "@strata/walrus";
import { signatureRecovery, Verifier, type VerificationReport } from "@strata/verifier";

const PROOFS = Number(process.env.BENCH_VERIFY_PROOFS ?? 1000);
const RUNS = Number(process.env.BENCH_VERIFY_RUNS ?? 5);
const SHARDS = 1000;
const TARGET_CHECKED_PER_SECOND = 2000;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmt = (n: number, digits = 1) => n.toLocaleString("en-US", { maximumFractionDigits: digits });

interface Env {
  walrus: TestWalrus;
  client: StrataClient;
  root: string;
  commitments: string[];
  dirs: string[];
  node: InferenceNode;
}

async function setup(): Promise<Env> {
  const [admin, owner, nodeSigner] = await ethers.getSigners();
  const { deployment } = await deployAndAdmit(admin, {
    network: "hardhat",
    nodes: [{ address: nodeSigner.address, url: "http://127.0.0.1:31416" }],
  });
  const walrus = await startTestWalrus({ shards: SHARDS, prefix: "strata-bench-verify-walrus-" });
  const walrusClient = walrus.client;
  await publishTestModel(StrataClient.connect(deployment, owner), walrusClient, {
    inputSize: 4,
    hidden: [16],
    outputSize: 3,
    seed: 42,
    name: "tiny-mlp",
  });
  const client = StrataClient.connect(deployment, ethers.provider);
  const dataDir = await mkdtemp(join(tmpdir(), "strata-bench-verify-node-"));
  const node = await InferenceNode.start({
    dataDir,
    signer: nodeSigner,
    client,
    walrus: walrusClient,
    defaultModelOwner: owner.address,
    batch: { maxBatch: PROOFS + 1, maxAgeMs: 3_600_000 },
  });
  const started = performance.now();
  const commitments: string[] = [];
  for (let i = 0; i < PROOFS; i++) {
    const x = { dtype: "float32" as const, dims: [1, 4], data: [i, -1, i / 7, 2] };
    commitments.push((await node.infer({ model: "tiny-mlp", inputs: { x } })).proof.commitment);
  }
  await node.outbox.flush();
  const [batch] = await node.outbox.listBatches();
  console.log(
    `setup: ${PROOFS} proofs signed by the node and anchored as one batch in ${fmt((performance.now() - started) / 1000)} s`,
  );
  return { walrus, client, root: batch.root, commitments, dirs: [dataDir], node };
}

/** A verifier with an encoder pool of its own (so its Blob IDs are computed, not remembered). */
function freshVerifier(env: Env, cacheDir: string): { verifier: Verifier; pool: EncoderPool } {
  const pool = new EncoderPool();
  const walrus = new WalrusClient({ aggregatorUrls: [env.walrus.url], shards: SHARDS, pool });
  return { verifier: new Verifier({ client: env.client, walrus, modelCacheDir: cacheDir }), pool };
}

function mustPass(report: VerificationReport): VerificationReport {
  if (!report.ok) throw new Error(`a proof of the benchmark failed verification: ${JSON.stringify(report.steps)}`);
  return report;
}

async function main(): Promise<void> {
  const env = await setup();
  const cacheDir = await mkdtemp(join(tmpdir(), "strata-bench-verify-models-"));
  env.dirs.push(cacheDir);
  try {
    // The batch path.
    const batchRuns: { total: number; checked: number; fetch: number; decode: number; checks: number }[] = [];
    for (let run = 0; run < RUNS; run++) {
      const { verifier, pool } = freshVerifier(env, cacheDir);
      const report = await verifier.verifyBatch(env.root);
      await pool.close();
      if (!report.ok || report.passed !== PROOFS) throw new Error(`the batch failed verification: ${report.failed}`);
      const t = report.timings;
      batchRuns.push({
        total: t.totalMs,
        checked: t.decodeMs + t.checkMs,
        fetch: t.fetchMs,
        decode: t.decodeMs,
        checks: t.checkMs,
      });
    }
    const batchTotal = median(batchRuns.map((r) => r.total));
    const batchChecked = median(batchRuns.map((r) => r.checked));

    // The naive path: every proof verified on its own, by a verifier that starts cold.
    const sample = Array.from({ length: RUNS }, (_, i) => env.commitments[Math.floor((i * PROOFS) / RUNS)]);
    const naive: number[] = [];
    for (const commitment of sample) {
      const { verifier, pool } = freshVerifier(env, cacheDir);
      const t0 = performance.now();
      mustPass(await verifier.verifyProof(commitment, { root: env.root }));
      naive.push(performance.now() - t0);
      await pool.close();
    }
    const naiveMs = median(naive);

    // Per proof through one warm verifier (blob, model versions and node history cached after the first), and the
    // re-execution step's own cost per proof (model cached and loaded after the first).
    const warm = freshVerifier(env, cacheDir);
    mustPass(await warm.verifier.verifyProof(env.commitments[0], { root: env.root }));
    const t0 = performance.now();
    mustPass(await warm.verifier.verifyProof(env.commitments[1], { root: env.root, reexecute: true }));
    const coldReexecMs = performance.now() - t0;
    const warmMs: number[] = [];
    const reexecMs: number[] = [];
    for (let i = 2; i < Math.min(PROOFS, 2 + 20 * RUNS); i++) {
      const s = performance.now();
      mustPass(await warm.verifier.verifyProof(env.commitments[i], { root: env.root }));
      warmMs.push(performance.now() - s);
      const report = mustPass(await warm.verifier.verifyProof(env.commitments[i], { root: env.root, reexecute: true }));
      reexecMs.push((report.timings.steps.runtime ?? 0) + (report.timings.steps.reexecution ?? 0));
    }
    await warm.verifier.close();
    await warm.pool.close();
    const warmMedian = median(warmMs);

    const perSecond = (ms: number, proofs = 1) => (proofs * 1000) / ms;
    const batchPerSecond = perSecond(batchTotal, PROOFS);
    const checkedPerSecond = perSecond(batchChecked, PROOFS);
    const naivePerSecond = perSecond(naiveMs);
    const warmPerSecond = perSecond(warmMedian);
    const reexecCost = median(reexecMs);

    console.log(
      `\nVerification of ${fmt(PROOFS, 0)} real signed proofs in one batch (medians of ${RUNS} runs, ${SHARDS} shards)\n`,
    );
    const rows: [string, string, string][] = [
      ["path", "proofs/s", "vs naive"],
      [
        "verifyBatch, end to end (fetch + Blob ID + checks)",
        fmt(batchPerSecond),
        `${fmt(batchPerSecond / naivePerSecond)}x`,
      ],
      [
        "verifyBatch, checks only (decode + per-proof checks)",
        fmt(checkedPerSecond),
        `${fmt(checkedPerSecond / naivePerSecond)}x`,
      ],
      ["verifyProof per proof, one warm verifier", fmt(warmPerSecond), `${fmt(warmPerSecond / naivePerSecond)}x`],
      ["verifyProof per proof, fresh verifier (naive baseline)", fmt(naivePerSecond, 2), "1x"],
    ];
    for (const [what, rate, ratio] of rows)
      console.log(`${what.padEnd(56)} ${rate.padStart(10)} ${ratio.padStart(10)}`);
    const b = batchRuns;
    console.log(
      `\nverifyBatch breakdown (median ms): fetch + Blob ID ${fmt(median(b.map((r) => r.fetch)))}, ` +
        `decode ${fmt(median(b.map((r) => r.decode)))}, per-proof checks ${fmt(median(b.map((r) => r.checks)))}, ` +
        `total ${fmt(batchTotal)}`,
    );
    console.log(
      `naive verifyProof: ${fmt(naiveMs)} ms per proof; warm verifyProof: ${fmt(warmMedian, 2)} ms per proof`,
    );
    console.log(
      `signature recovery: ${
        signatureRecovery.backend === "native"
          ? "libsecp256k1 (the secp256k1 package's native binding)"
          : `ethers' JS secp256k1 (${signatureRecovery.reason})`
      }`,
    );
    console.log(
      `re-execution: +${fmt(reexecCost, 2)} ms per proof (runtime comparison, decode, ONNX run, bit-exact compare; ` +
        `model cached and loaded; median of ${reexecMs.length}); the first proof with re-execution, model download ` +
        `(sha256-verified) and session load included: ${fmt(coldReexecMs)} ms`,
    );
    const met = checkedPerSecond >= TARGET_CHECKED_PER_SECOND;
    console.log(
      `\ntarget >= ${fmt(TARGET_CHECKED_PER_SECOND, 0)} proofs/s checked without re-execution: ` +
        `${fmt(checkedPerSecond)} proofs/s, ${met ? "met" : "NOT met"}`,
    );
  } finally {
    await env.node.close();
    await env.walrus.close();
    for (const dir of env.dirs) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
