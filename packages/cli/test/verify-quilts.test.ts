import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { encodeProof } from "@strata/core";
import {
  anchorQuiltBatch,
  asV2,
  serveChain,
  setup,
  teardown,
  type Env,
  type QuiltBatch,
} from "../../verifier/test/fixture";
import { runStrata } from "./in-process";

describe("strata verify and strata proof show: proofs in quilts", function () {
  let env: Env;
  let chain: { url: string; close: () => Promise<void> };
  let dir: string;
  let network: string[];
  let batch: QuiltBatch;

  before(async function () {
    env = await setup();
    chain = await serveChain();
    dir = await mkdtemp(path.join(tmpdir(), "strata-verify-quilts-cli-"));
    const deploymentFile = path.join(dir, "deployment.json");
    await writeFile(deploymentFile, JSON.stringify(env.deployment));
    network = [
      "--rpc",
      chain.url,
      "--deployment",
      deploymentFile,
      "--shards",
      String(env.shards),
      "--clock-skew",
      String(env.clockSkewSeconds),
      "--aggregator",
      env.walrus.url,
      "--no-node-hint",
    ];
    const base = env.batches[0].proofs[0];
    const docs = await Promise.all(Array.from({ length: 3 }, () => asV2(base, env.nodeA)));
    batch = await anchorQuiltBatch(env, docs, env.nodeA, { maxPerQuilt: 2 });
  });

  after(async function () {
    await chain?.close();
    await teardown(env);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("verify prints the quilt ID, the patch ID and the bytes fetched, in text and in JSON", async function () {
    const c = batch.commitments[2];
    const patchId = batch.patchIds.get(c)!;
    const text = await runStrata(["verify", c, ...network]);
    expect(text.exitCode, text.out).to.equal(0);
    expect(text.out).to.match(/: VERIFIED$/m);
    const fetched = batch.batch.quilts[1].index.bytes.byteLength + encodeProof(batch.proofs[2]).byteLength;
    expect(text.out).to.include(
      `  fetched ${fetched.toLocaleString("en-US")} bytes from Walrus in 2 reads: patch ${patchId} ` +
        `(the proof: ${encodeProof(batch.proofs[2]).byteLength.toLocaleString("en-US")} bytes) of quilt ${batch.quiltIds[1]} ` +
        "(quilt 2 of 2), Merkle proof from the quilt's index patch",
    );

    const json = await runStrata(["verify", c, "--json", ...network]);
    expect(json.exitCode, json.out).to.equal(0);
    const report = JSON.parse(json.out) as { ok: boolean; fetched: { bytes: number; location: object } };
    expect(report.ok).to.equal(true);
    expect(report.fetched.bytes).to.equal(fetched);
    expect(report.fetched.location).to.deep.include({ blobId: batch.quiltIds[1], patchId, quilt: 1, quilts: 2 });
  });

  it("verify --full reads the quilt whole too and says so", async function () {
    const run = await runStrata(["verify", batch.commitments[0], "--full", ...network]);
    expect(run.exitCode, run.out).to.equal(0);
    expect(run.out).to.match(/the whole quilt \([\d,]+ bytes\) read and checked against its Blob ID/);
    expect(run.out).to.match(
      /PASS {2}blob +patch .* the whole quilt \([\d,]+ bytes\) was read too, its Blob ID recomputed/,
    );
  });

  it("proof show prints where the proof lives (quilt, patch), the bytes fetched, and its v2 document as JSON", async function () {
    const c = batch.commitments[1];
    const patchId = batch.patchIds.get(c)!;
    const text = await runStrata(["proof", "show", c, ...network]);
    expect(text.exitCode, text.out).to.equal(0);
    expect(text.out).to.include(`  lives in   batch ${batch.root} (proof #1 of 3), Walrus quilt ${batch.quiltIds[0]}`);
    expect(text.out).to.match(new RegExp(`^ {2}patch {6}${patchId} \\(identifier = the commitment\\)`, "m"));
    expect(text.out).to.match(/^ {2}fetched {4}[\d,]+ bytes from Walrus in 2 reads: patch /m);

    const json = await runStrata(["proof", "show", c, "--json", ...network]);
    expect(json.exitCode, json.out).to.equal(0);
    const shown = JSON.parse(json.out) as {
      location: object;
      fetched: { bytes: number; reads: number };
      document: { version: number; input: { tensors: { data: string }[] } };
    };
    expect(shown.location).to.deep.include({ kind: "batch", quiltId: batch.quiltIds[0], patchId, quilt: 0 });
    expect(shown.fetched.reads).to.equal(2);
    expect(shown.document.version).to.equal(2);
    expect(shown.document.input.tensors[0].data).to.equal(batch.proofs[1].input.tensors[0].data);
  });
});
