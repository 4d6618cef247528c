/**
 * `npx hardhat run bench/verify-quilts.ts` (issue 10): one proof out of a full 665-proof batch, verified by a cold
 * verifier, batch format v2 (a quilt: the proof's patch alone) against v1 (one JSON blob), side by side in one run.
 *
 * Two workloads: the tiny MLP of the other benchmarks (4 float32 inputs: proofs of about 1.4 KB) and an MLP with 1,024
 * float32 inputs (4 KiB of input per request). For each, the same 665 inferences (run with ONNX Runtime, signed by an
 * admitted node) are signed twice:
 * as v1 proofs in a v1 batch blob, and as v2 proofs in one 665-proof quilt, each stored on the local Walrus store at
 * 1000 shards (as mainnet and testnet) and anchored with `anchorBatch`. Each run verifies the same position in both
 * batches, each with a fresh verifier (own encoder pool, empty caches): the v1 path reads the batch blob whole and
 * recomputes its Blob ID; the v2 path reads the proof's patch and, without a node, the quilt's index patch (root given
 * by the caller), or, with the node's answer (`GET /v1/proofs/:c`: quilt, patch ID, Merkle proof), the patch alone.
 * Every report must pass. Bytes are what came over the wire from Walrus (`report.fetched.bytes`), times are
 * `verifyProof` end to end (chain preflight included). Medians of BENCH_VERIFY_QUILT_RUNS runs (default 7).
 *
 * Targets (issue 10): at least 50x fewer bytes fetched and at least 20x faster than v1.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Signer } from "ethers";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Deployment } from "@strata/contracts";
import {
  buildBatch,
  buildBatchV2,
  buildProof,
  DEFAULT_MAX_QUILT_BYTES,
  encodeProof,
  proofModelOf,
  ProofVersion,
  signProof,
  StrataClient,
  type InferenceProof,
} from "@strata/core";
import { deployAndAdmit, startTestWalrus, type TestWalrus } from "@strata/devkit";
import { NODE_RUNTIME } from "@strata/node";
import { buildMlp, ModelSession, publishModel, tensorFromJson, toProofTensor } from "@strata/runtime";
import { EncoderPool, WalrusClient } from "@strata/walrus";
import { Verifier, type VerificationReport } from "@strata/verifier";
import { fmt, median } from "./lib/timing";

const PROOFS = 665;
const RUNS = Number(process.env.BENCH_VERIFY_QUILT_RUNS ?? 7);
const SHARDS = 1000;
const TARGET_BYTES = 50;
const TARGET_TIME = 20;
/** The workloads: the tiny MLP of the other benchmarks (4 inputs), and one with 4 KiB of input per request. */
const WORKLOADS: [string, number][] = [
  ["tiny-mlp", 4],
  ["mlp-1024", 1024],
];

interface Sample {
  bytes: number;
  reads: number;
  ms: number;
}

function mustPass(report: VerificationReport, what: string): VerificationReport {
  if (!report.ok)
    throw new Error(`${what}: a proof of the benchmark failed verification: ${JSON.stringify(report.steps)}`);
  return report;
}

interface Ratios {
  bytes: number;
  time: number;
}

/** One workload: 665 proofs of an MLP with `inputSize` float32 inputs, verified one at a time, v1 against v2. */
async function workload(
  env: { deployment: Deployment; owner: Signer; nodeSigner: HardhatEthersSigner; walrus: TestWalrus },
  name: string,
  inputSize: number,
): Promise<{ byIndex: Ratios; byNode: Ratios }> {
  const { deployment, owner, nodeSigner, walrus } = env;
  const started = performance.now();
  const servers: Server[] = [];
  try {
    const client = StrataClient.connect(deployment, ethers.provider);
    const mlp = buildMlp({ inputSize, hidden: [16], outputSize: 3, seed: 42 });
    const published = await publishModel({
      client: StrataClient.connect(deployment, owner),
      walrus: walrus.client,
      file: mlp,
      name,
    });
    const version = await client.models.getVersion(published.modelId, published.index);
    const session = await ModelSession.load(mlp, `the benchmark's ${name}`);

    // The same inferences, signed as v1 and as v2 proofs.
    const v1: InferenceProof[] = [];
    const v2: InferenceProof[] = [];
    const timestamp = Math.floor(Date.now() / 1000);
    for (let i = 0; i < PROOFS; i++) {
      const data = Array.from({ length: inputSize }, (_, j) => Math.sin(i * inputSize + j));
      const inputs = [tensorFromJson("x", { dtype: "float32", dims: [1, inputSize], data })];
      const outputs = await session.run(inputs);
      const params = {
        domain: client.proofDomain,
        model: proofModelOf(version),
        inputs: inputs.map(toProofTensor),
        outputs: outputs.map(toProofTensor),
        runtime: NODE_RUNTIME,
        node: nodeSigner.address,
        timestamp,
      };
      v1.push(await signProof(buildProof(params), nodeSigner));
      v2.push(await signProof(buildProof(params, { version: ProofVersion.V2 }), nodeSigner));
    }
    await session.release();
    const anchorer = client.proofs.connect(nodeSigner);

    const batch1 = buildBatch(v1);
    const stored1 = await walrus.client.store(batch1.bytes, { epochs: 5 });
    await (await anchorer.anchorBuiltBatch(batch1, stored1.blobId, stored1.endEpoch)).wait();

    const batch2 = buildBatchV2(v2, { maxPerQuilt: PROOFS });
    if (batch2.quilts.length !== 1) throw new Error(`the v2 batch has ${batch2.quilts.length} quilts, not 1`);
    const [quilt] = batch2.quilts;
    const stored2 = await walrus.client.storeQuilt(quilt.patches, { epochs: 5 });
    await (await anchorer.anchorBatch(batch2.root, stored2.blobId, batch2.count, stored2.endEpoch)).wait();
    const patchIds = new Map(stored2.patches.map((p) => [p.identifier, p.patchId]));

    // The node's answer to GET /v1/proofs/:c for the v2 batch: where the patch is and its Merkle proof (a hint the
    // verifier checks: the patch against the commitment, the proof against the anchored root, on-chain too).
    const node = createServer((req, res) => {
      const c = /^\/v1\/proofs\/(0x[0-9a-f]{64})$/.exec(req.url ?? "")?.[1];
      const at = c === undefined ? -1 : batch2.commitments.indexOf(c as (typeof batch2.commitments)[number]);
      res.writeHead(at < 0 ? 404 : 200, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          at < 0
            ? { error: "unknown proof" }
            : {
                commitment: c,
                status: "anchored",
                root: batch2.root,
                blobId: stored2.blobId,
                quiltId: stored2.blobId,
                patchId: patchIds.get(c!),
                merkleProof: batch2.inclusions[at].proof,
              },
        ),
      );
    });
    await new Promise<void>((resolve) => node.listen(0, "127.0.0.1", resolve));
    servers.push(node);
    const nodeUrl = `http://127.0.0.1:${(node.address() as AddressInfo).port}`;
    console.log(
      `setup: ${PROOFS} inferences signed as v1 and v2 proofs, stored and anchored as one v1 batch blob ` +
        `(${fmt(batch1.bytes.byteLength, 0)} bytes) and one quilt (${fmt(stored2.quiltBytes, 0)} bytes) in ` +
        `${fmt((performance.now() - started) / 1000)} s`,
    );

    const cold = async (
      commitment: string,
      options: { root?: string; nodeUrl?: string },
      what: string,
    ): Promise<Sample> => {
      const pool = new EncoderPool();
      const verifier = new Verifier({
        client,
        walrus: new WalrusClient({ aggregatorUrls: [walrus.url], shards: SHARDS, pool }),
        ...(options.nodeUrl === undefined ? {} : { nodeUrl: options.nodeUrl }),
      });
      try {
        const t0 = performance.now();
        const report = mustPass(
          await verifier.verifyProof(commitment, {
            ...(options.root === undefined ? { nodeUrl: options.nodeUrl } : { root: options.root, nodeUrl: false }),
          }),
          what,
        );
        return { ms: performance.now() - t0, bytes: report.fetched.bytes, reads: report.fetched.reads };
      } finally {
        await verifier.close();
        await pool.close();
      }
    };

    const runs = { v1: [] as Sample[], index: [] as Sample[], node: [] as Sample[] };
    for (let run = 0; run < RUNS; run++) {
      const k = Math.floor(((run + 0.5) * PROOFS) / RUNS);
      // Side by side: the same position in each batch, one path after the other.
      runs.v1.push(await cold(batch1.commitments[k], { root: batch1.root }, "v1"));
      runs.index.push(await cold(batch2.commitments[k], { root: batch2.root }, "v2, index patch"));
      runs.node.push(await cold(batch2.commitments[k], { nodeUrl }, "v2, node's Merkle proof"));
    }

    const m = (samples: Sample[], key: keyof Sample) => median(samples.map((s) => s[key]));
    const v1Bytes = m(runs.v1, "bytes");
    const v1Ms = m(runs.v1, "ms");
    console.log(
      `\n${name}: one proof out of a full ${PROOFS}-proof batch, cold verifier (fresh caches and encoder pool), ` +
        `${SHARDS} shards, medians of ${RUNS} runs\n`,
    );
    const rows: [string, string, string, string, string, string][] = [
      ["path", "bytes fetched", "reads", "time (ms)", "bytes: fewer", "time: faster"],
    ];
    const row = (what: string, samples: Sample[]) => {
      const bytes = m(samples, "bytes");
      const ms = m(samples, "ms");
      rows.push([
        what,
        fmt(bytes, 0),
        fmt(m(samples, "reads"), 0),
        fmt(ms),
        `${fmt(v1Bytes / bytes)}x`,
        `${fmt(v1Ms / ms)}x`,
      ]);
      return { bytes: v1Bytes / bytes, time: v1Ms / ms };
    };
    row("v1: batch blob read whole, Blob ID recomputed", runs.v1);
    const byIndex = row("v2: proof's patch + the quilt's index patch", runs.index);
    const byNode = row("v2: proof's patch + the node's Merkle proof", runs.node);
    for (const r of rows) {
      console.log(
        `${r[0].padEnd(48)} ${r[1].padStart(13)} ${r[2].padStart(6)} ${r[3].padStart(10)} ${r[4].padStart(13)} ` +
          `${r[5].padStart(13)}`,
      );
    }
    console.log(
      `\nsizes: v1 batch blob ${fmt(batch1.bytes.byteLength, 0)} bytes; quilt ${fmt(stored2.quiltBytes, 0)} bytes; ` +
        `its index patch ${fmt(quilt.index.bytes.byteLength, 0)} bytes; one v2 proof patch ` +
        `${fmt(encodeProof(v2[0]).byteLength, 0)} bytes (v1 JSON proof in the batch: ` +
        `${fmt(batch1.bytes.byteLength / PROOFS, 0)} bytes on average with its share of the tree)`,
    );
    if (stored2.quiltBytes > DEFAULT_MAX_QUILT_BYTES) {
      console.log(
        `(this 665-proof quilt is over the publisher's default cap of ${fmt(DEFAULT_MAX_QUILT_BYTES, 0)} bytes: every ` +
          "one of its 666 patches takes at least one column, and the column size follows the largest patch (the index " +
          "patch here); the node seals fewer proofs " +
          "per quilt under the cap, and this benchmark builds the full 665-proof batch the issue asks for without it)",
      );
    }
    return { byIndex, byNode };
  } finally {
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function main(): Promise<void> {
  const [admin, owner, nodeSigner] = await ethers.getSigners();
  const { deployment } = await deployAndAdmit(admin, {
    network: "hardhat",
    nodes: [{ address: nodeSigner.address, url: "http://127.0.0.1:31416" }],
  });
  const walrus = await startTestWalrus({ shards: SHARDS, prefix: "strata-bench-verify-quilts-" });
  try {
    const env = { deployment, owner, nodeSigner, walrus };
    const results: [string, { byIndex: Ratios; byNode: Ratios }][] = [];
    for (const [name, inputSize] of WORKLOADS) {
      results.push([`${name} (${inputSize * 4} B of input)`, await workload(env, name, inputSize)]);
    }
    let missed = false;
    const verdict = (what: string, ratio: number, target: number) => {
      const met = ratio >= target;
      missed ||= !met;
      console.log(`  ${what} >= ${target}x: ${fmt(ratio)}x, ${met ? "met" : "MISSED"}`);
    };
    console.log("\ntargets (issue 10: one proof of a full 665-proof batch, v2 against v1, cold)");
    for (const [name, { byIndex, byNode }] of results) {
      console.log(` ${name}`);
      verdict("bytes fetched, v2 with the node's Merkle proof", byNode.bytes, TARGET_BYTES);
      verdict("time, v2 with the node's Merkle proof", byNode.time, TARGET_TIME);
      verdict("bytes fetched, v2 with the quilt's index patch", byIndex.bytes, TARGET_BYTES);
      verdict("time, v2 with the quilt's index patch", byIndex.time, TARGET_TIME);
    }
    console.log(
      "\n(the index patch holds 32 bytes per proof of its quilt, all of them needed to rebuild the subtree: against a " +
        "v1 batch of P-byte proofs the index path fetches at most about P/32 times fewer bytes)",
    );
    if (missed) process.exitCode = 1;
  } finally {
    await walrus.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
