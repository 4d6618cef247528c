import { expect } from "chai";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
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

  it("verify prints the quilt ID, the patch ID (from the node, checked) and the bytes fetched, in text and in JSON", async function () {
    const c = batch.commitments[2];
    const patchId = batch.patchIds.get(c)!;
    const proofBytes = encodeProof(batch.proofs[2]).byteLength;
    const node = createServer((req, res) => {
      res.writeHead(req.url === `/v1/proofs/${c}` ? 200 : 404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          commitment: c,
          status: "anchored",
          root: batch.root,
          quiltId: batch.quiltIds[1],
          patchId,
          merkleProof: batch.batch.inclusions[2].proof,
        }),
      );
    });
    await new Promise<void>((resolve) => node.listen(0, "127.0.0.1", resolve));
    const nodeUrl = `http://127.0.0.1:${(node.address() as AddressInfo).port}`;
    try {
      const withNode = [...network.filter((a) => a !== "--no-node-hint"), "--node-url", nodeUrl];
      const text = await runStrata(["verify", c, ...withNode]);
      expect(text.exitCode, text.out).to.equal(0);
      expect(text.out).to.match(/: VERIFIED$/m);
      expect(text.out).to.include(
        `  fetched ${proofBytes.toLocaleString("en-US")} bytes from Walrus in 1 read: patch ${patchId} ` +
          `(the proof: ${proofBytes.toLocaleString("en-US")} bytes) of quilt ${batch.quiltIds[1]} ` +
          "(quilt 2 of 2), Merkle proof from the node",
      );

      const json = await runStrata(["verify", c, "--json", ...withNode]);
      expect(json.exitCode, json.out).to.equal(0);
      const report = JSON.parse(json.out) as { ok: boolean; fetched: { bytes: number; location: object } };
      expect(report.ok).to.equal(true);
      expect(report.fetched.bytes).to.equal(proofBytes);
      expect(report.fetched.location).to.deep.include({ blobId: batch.quiltIds[1], patchId, quilt: 1, quilts: 2 });
    } finally {
      await new Promise<void>((resolve) => node.close(() => resolve()));
    }

    // Without a node: found by the scan, which reads the index patch of each quilt (the first does not list it), then
    // the patch, read by quilt ID and identifier.
    const alone = await runStrata(["verify", c, ...network]);
    expect(alone.exitCode, alone.out).to.equal(0);
    const [first, second] = batch.batch.quilts.map((q) => q.index.bytes.byteLength);
    const fetched = first + second + proofBytes;
    expect(alone.out, alone.out).to.include(
      `  fetched ${fetched.toLocaleString("en-US")} bytes from Walrus in 3 reads: patch ${c.slice(0, 10)}…${c.slice(-6)} ` +
        `(read by quilt ID and identifier; the proof: ${proofBytes.toLocaleString("en-US")} bytes) of quilt ` +
        `${batch.quiltIds[1]} (quilt 2 of 2), Merkle proof from the quilt's index patch`,
    );
  });

  it("verify --full reads the quilt whole too and says so", async function () {
    const run = await runStrata(["verify", batch.commitments[0], "--full", ...network]);
    expect(run.exitCode, run.out).to.equal(0);
    expect(run.out).to.match(/the whole quilt \([\d,]+ bytes\) read and checked against its Blob ID/);
    // The patch ID, computed from the quilt read whole, is the publisher's.
    expect(run.out).to.include(`patch ${batch.patchIds.get(batch.commitments[0])}`);
    expect(run.out).to.match(
      /PASS {2}blob +patch .* the whole quilt \([\d,]+ bytes\) was read too, its Blob ID recomputed/,
    );
  });

  it("proof show prints where the proof lives (quilt, patch), the bytes fetched, and its v2 document as JSON", async function () {
    const c = batch.commitments[1];
    const patchId = batch.patchIds.get(c)!;
    const text = await runStrata(["proof", "show", c, ...network]);
    expect(text.exitCode, text.out).to.equal(0);
    expect(text.out).to.include(
      `  lives in   batch ${batch.root} (proof #1 of quilt 1 of 2, 3 proofs in all), Walrus quilt ${batch.quiltIds[0]}`,
    );
    expect(text.out).to.match(new RegExp(`^ {2}patch {6}${c} \\(read by quilt ID and identifier`, "m"));
    const full = await runStrata(["proof", "show", c, "--full", ...network]);
    expect(full.out).to.match(new RegExp(`^ {2}patch {6}${patchId}, \\d+ bytes, its commitment recomputed`, "m"));
    expect(text.out).to.match(/^ {2}fetched {4}[\d,]+ bytes from Walrus in 2 reads: patch /m);

    const json = await runStrata(["proof", "show", c, "--json", ...network]);
    expect(json.exitCode, json.out).to.equal(0);
    const shown = JSON.parse(json.out) as {
      location: object;
      fetched: { bytes: number; reads: number };
      document: { version: number; input: { tensors: { data: string }[] } };
    };
    expect(shown.location).to.deep.include({ kind: "batch", quiltId: batch.quiltIds[0], identifier: c, quilt: 0 });
    expect(shown.fetched.reads).to.equal(2);
    expect(shown.document.version).to.equal(2);
    expect(shown.document.input.tensors[0].data).to.equal(batch.proofs[1].input.tensors[0].data);
  });
});
