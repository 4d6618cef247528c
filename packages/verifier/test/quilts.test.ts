import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { buildBatchV2, encodeProof, type InferenceProof } from "@strata/core";
import { WalrusClient } from "@strata/walrus";
import {
  renderBatchReport,
  renderReport,
  STEPS,
  type StepName,
  type VerificationReport,
  type Verifier,
} from "@strata/verifier";
import {
  alteringAggregator,
  anchorQuiltBatch,
  asV2,
  setup,
  teardown,
  verifier,
  type Env,
  type QuiltBatch,
} from "./fixture";

function stepOf(report: VerificationReport, name: StepName) {
  const found = report.steps.find((s) => s.step === name);
  if (found === undefined) throw new Error(`the report has no step ${name}`);
  return found;
}

/** The report failed, first at `step`, with a detail matching `why`; every step before it passed. */
function expectCaughtAt(report: VerificationReport, step: StepName, why: RegExp): void {
  const failed = report.steps.filter((s) => s.status === "fail");
  expect(report.ok, renderReport(report)).to.equal(false);
  expect(failed[0]?.step, renderReport(report)).to.equal(step);
  expect(failed[0].detail).to.match(why);
  for (const s of report.steps.slice(0, report.steps.indexOf(failed[0]))) {
    expect(s.status, `${s.step}: ${s.detail}`).to.equal("pass");
  }
}

/** A verifier whose Walrus client counts whole-blob reads (each recomputes a Blob ID) and patch reads. */
function countingVerifier(
  env: Env,
  options: { aggregators?: string[]; nodeUrl?: string; full?: boolean } = {},
): { v: Verifier; wholeReads: string[]; patchReads: string[] } {
  const walrus = new WalrusClient({
    aggregatorUrls: options.aggregators ?? [env.walrus.url],
    shards: env.shards,
    retries: 0,
  });
  const wholeReads: string[] = [];
  const patchReads: string[] = [];
  const read = walrus.read.bind(walrus);
  walrus.read = (blobId, readOptions) => {
    wholeReads.push(blobId);
    return read(blobId, readOptions);
  };
  const readPatch = walrus.readPatch.bind(walrus);
  walrus.readPatch = (ref, readOptions) => {
    patchReads.push(typeof ref === "string" ? ref : `${ref.quiltId}/${ref.identifier}`);
    return readPatch(ref, readOptions);
  };
  const v = verifier(env, {
    walrus,
    ...(options.nodeUrl === undefined ? {} : { nodeUrl: options.nodeUrl }),
    ...(options.full === undefined ? {} : { full: options.full }),
  });
  return { v, wholeReads, patchReads };
}

/** A node that answers `GET /v1/proofs/:c` with `answer(c)` (a v2 node's answer: root, quiltId, patchId, merkleProof). */
async function fakeNode(answer: (commitment: string) => object | undefined): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const commitment = /^\/v1\/proofs\/(0x[0-9a-fA-F]{64})$/.exec(req.url ?? "")?.[1];
    const body = commitment === undefined ? undefined : answer(commitment.toLowerCase());
    res.writeHead(body === undefined ? 404 : 200, { "content-type": "application/json" });
    res.end(JSON.stringify(body ?? { error: "not found" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("Verifier: proofs in Walrus quilts (batch format v2), verified from their patch", function () {
  let env: Env;
  let base: InferenceProof;
  /** One quilt of 4 proofs, anchored with anchorBatch. */
  let one: QuiltBatch;
  /** 5 proofs in 3 quilts (2, 2, 1), anchored with anchorQuilts. */
  let three: QuiltBatch;

  before(async function () {
    env = await setup();
    base = env.batches[0].proofs[0];
    const docs = async (n: number) => Promise.all(Array.from({ length: n }, () => asV2(base, env.nodeA)));
    three = await anchorQuiltBatch(env, await docs(5), env.nodeA, { maxPerQuilt: 2 });
    one = await anchorQuiltBatch(env, await docs(4), env.nodeA);
  });
  after(async function () {
    await teardown(env);
  });

  describe("the per-proof path", function () {
    it("verifies a proof of a one-quilt batch from its patch and the index patch alone, found by an event scan, without reading the quilt whole", async function () {
      const { v, wholeReads, patchReads } = countingVerifier(env);
      try {
        const c = one.commitments[2];
        const report = await v.verifyProof(c, { nodeUrl: false });
        expect(report.ok, renderReport(report)).to.equal(true);
        expect(report.steps.map((s) => [s.step, s.status])).to.deep.equal(
          STEPS.map((s) => [s, s === "runtime" || s === "reexecution" ? "skip" : "pass"]),
        );
        expect(report).to.include({ commitment: c, root: one.root, index: 2, foundBy: "event-scan" });
        // No Blob ID is recomputed: the quilt is never read whole; one index patch and one proof patch are read.
        expect(wholeReads).to.deep.equal([]);
        expect(patchReads).to.have.length(2);
        const index = one.batch.quilts[0].index.bytes.byteLength;
        const patch = encodeProof(one.proofs[2]).byteLength;
        expect(report.fetched).to.deep.include({ bytes: index + patch, reads: 2 });
        expect(report.fetched.location).to.deep.include({
          blobId: one.quiltIds[0],
          identifier: c,
          proofBytes: patch,
          quilt: 0,
          quilts: 1,
          inclusionFrom: "index-patch",
          full: false,
        });
        expect(stepOf(report, "chain-record").detail).to.match(/anchored \(BatchAnchored\).*quilt /);
        expect(stepOf(report, "blob").detail).to.match(/its integrity is its commitment.*not recomputed/);
        expect(stepOf(report, "inclusion").values).to.include({ onChain: true, offChain: true, from: "index-patch" });
        // Read by quilt ID and identifier: no patch ID is taken on an aggregator's word.
        expect(report.fetched.location?.patchId).to.equal(undefined);
        const text = renderReport(report);
        expect(text).to.include(`(read by quilt ID and identifier; the proof: ${patch.toLocaleString("en-US")} bytes)`);
        expect(text).to.include(`of quilt ${one.quiltIds[0]}`);
        expect(text).to.match(
          new RegExp(`fetched ${(index + patch).toLocaleString("en-US")} bytes from Walrus in 2 reads`),
        );
      } finally {
        await v.close();
      }
    });

    it("verifies a proof in the third of three quilts (anchorQuilts): subtree proof ++ path under the root, on-chain too", async function () {
      const { v, wholeReads } = countingVerifier(env);
      try {
        const c = three.commitments[4];
        const report = await v.verifyProof(c, { root: three.root, nodeUrl: false });
        expect(report.ok, renderReport(report)).to.equal(true);
        expect(wholeReads).to.deep.equal([]);
        expect(report.fetched.location).to.deep.include({ blobId: three.quiltIds[2], quilt: 2, quilts: 3 });
        expect(stepOf(report, "chain-record").detail).to.match(/QuiltsAnchored.*3 quilts/);
        expect(stepOf(report, "inclusion").values).to.include({ onChain: true, offChain: true, quilt: 2 });
        // The scan finds it too.
        const scanned = await v.verifyProof(three.commitments[1], { nodeUrl: false });
        expect(scanned.ok, renderReport(scanned)).to.equal(true);
        expect(scanned.fetched.location).to.deep.include({ blobId: three.quiltIds[0], quilt: 0 });
      } finally {
        await v.close();
      }
    });

    it("verifies a proof of announced quilts off-chain (no on-chain inclusion check exists for them)", async function () {
      const docs = await Promise.all([asV2(base, env.nodeA), asV2(base, env.nodeA), asV2(base, env.nodeA)]);
      const announced = await anchorQuiltBatch(env, docs, env.nodeA, { maxPerQuilt: 2, announce: true });
      const { v } = countingVerifier(env);
      try {
        const report = await v.verifyProof(announced.commitments[2], { root: announced.root, nodeUrl: false });
        expect(report.ok, renderReport(report)).to.equal(true);
        expect(stepOf(report, "chain-record").detail).to.match(/announced \(QuiltsAnnounced/);
        expect(stepOf(report, "inclusion").values).to.include({ offChain: true, onChain: null });
        expect(stepOf(report, "inclusion").detail).to.match(/no on-chain inclusion check exists/);
      } finally {
        await v.close();
      }
    });

    it("reads only the proof's patch when the node gives its patch ID and Merkle proof, and falls back to the index when the node's proof is wrong", async function () {
      const c = one.commitments[1];
      const inclusion = one.batch.inclusions[1];
      let lie = false;
      const node = await fakeNode((asked) =>
        asked !== c
          ? undefined
          : {
              commitment: c,
              status: "anchored",
              root: one.root,
              blobId: one.quiltIds[0],
              quiltId: one.quiltIds[0],
              patchId: one.patchIds.get(c),
              merkleProof: lie ? one.batch.inclusions[0].proof : inclusion.proof,
            },
      );
      try {
        const honest = countingVerifier(env, { nodeUrl: node.url });
        const report = await honest.v.verifyProof(c);
        expect(report.ok, renderReport(report)).to.equal(true);
        expect(report.foundBy).to.equal("node-hint");
        expect(honest.wholeReads).to.deep.equal([]);
        expect(honest.patchReads).to.deep.equal([one.patchIds.get(c)]);
        expect(report.fetched).to.deep.include({ bytes: encodeProof(one.proofs[1]).byteLength, reads: 1 });
        expect(report.fetched.location).to.deep.include({ inclusionFrom: "node", patchId: one.patchIds.get(c) });
        expect(stepOf(report, "inclusion").values).to.include({ from: "node", onChain: true });
        await honest.v.close();

        lie = true;
        const wary = countingVerifier(env, { nodeUrl: node.url });
        const checked = await wary.v.verifyProof(c);
        expect(checked.ok, renderReport(checked)).to.equal(true);
        expect(stepOf(checked, "inclusion").values).to.include({ from: "index-patch", onChain: true });
        expect(stepOf(checked, "inclusion").detail).to.match(/the node's Merkle proof does not verify/);
        await wary.v.close();
      } finally {
        await new Promise<void>((resolve) => node.server.close(() => resolve()));
      }
    });

    it("full: also reads the quilt whole, checks it against its Blob ID and the patch against it", async function () {
      const { v, wholeReads } = countingVerifier(env, { full: true });
      try {
        const report = await v.verifyProof(one.commitments[0], { root: one.root, nodeUrl: false });
        expect(report.ok, renderReport(report)).to.equal(true);
        expect(wholeReads).to.deep.equal([one.quiltIds[0]]);
        // The patch ID computed from the quilt read whole is the publisher's.
        expect(report.fetched.location).to.deep.include({ full: true, patchId: one.patchIds.get(one.commitments[0]) });
        expect(report.fetched.location?.blobSize).to.be.greaterThan(report.fetched.location?.proofBytes ?? 0);
        expect(stepOf(report, "blob").detail).to.match(/whole quilt .* read too, its Blob ID recomputed and matching/);
        expect(report.fetched.bytes).to.be.greaterThan(report.fetched.location!.blobSize!);
      } finally {
        await v.close();
      }
    });

    it("still verifies a v1 proof of a v1 batch blob beside them, reading the blob whole", async function () {
      const { v, wholeReads } = countingVerifier(env);
      try {
        const [batch] = env.batches;
        const report = await v.verifyProof(batch.commitments[0], { root: batch.root, nodeUrl: false });
        expect(report.ok, renderReport(report)).to.equal(true);
        expect(wholeReads).to.deep.equal([batch.blobId]);
        expect(report.fetched.location).to.deep.equal({ blobId: batch.blobId, blobSize: report.fetched.bytes });
      } finally {
        await v.close();
      }
    });
  });

  describe("tampering, each caught at its step", function () {
    it("an aggregator that corrupts the patch's bytes: caught at the commitment step (a tensor no longer matches its hash)", async function () {
      const c = one.commitments[3];
      const aggregator = await alteringAggregator(env, (path, body) => {
        if (!path.endsWith(`/${c}`)) return undefined;
        const altered = Buffer.from(body);
        altered[altered.length - 1] ^= 0x01; // the last output tensor byte
        return altered;
      });
      const { v } = countingVerifier(env, { aggregators: [aggregator.url] });
      try {
        const report = await v.verifyProof(c, { root: one.root, nodeUrl: false });
        expectCaughtAt(
          report,
          "commitment",
          /the proof's patch does not hash to a commitment: .*output\.tensors\[0\]\.hash .* the tensor or its hash was altered/,
        );
      } finally {
        await v.close();
        await aggregator.close();
      }
    });

    it("an aggregator that serves another proof's patch under this identifier: caught at the commitment step", async function () {
      const c = one.commitments[0];
      const other = Buffer.from(encodeProof(one.proofs[1]));
      const aggregator = await alteringAggregator(env, (path) => (path.endsWith(`/${c}`) ? other : undefined));
      const { v } = countingVerifier(env, { aggregators: [aggregator.url] });
      try {
        const report = await v.verifyProof(c, { root: one.root, nodeUrl: false });
        expectCaughtAt(
          report,
          "commitment",
          new RegExp(`the proof's patch recomputes to ${one.commitments[1]}, not the anchored ${c}`),
        );
      } finally {
        await v.close();
        await aggregator.close();
      }
    });

    it("a lying aggregator is passed over when another serves the true bytes", async function () {
      const c = one.commitments[2];
      const liar = await alteringAggregator(env, (path) =>
        path.endsWith(`/${c}`) ? Buffer.from(encodeProof(one.proofs[1])) : undefined,
      );
      const { v } = countingVerifier(env, { aggregators: [liar.url, env.walrus.url] });
      try {
        const report = await v.verifyProof(c, { root: one.root, nodeUrl: false });
        expect(report.ok, renderReport(report)).to.equal(true);
      } finally {
        await v.close();
        await liar.close();
      }
    });

    it("an index patch that lies: another root's index, and a forged tree under this root, caught at the inclusion step", async function () {
      const c = three.commitments[0];
      // Another batch's (true) index, served as this quilt's.
      const foreign = Buffer.from(one.batch.quilts[0].index.bytes);
      const swap = await alteringAggregator(env, (path) =>
        path.endsWith(`/${three.quiltIds[0]}/strata-index`) ? foreign : undefined,
      );
      // This quilt's index (its header: root, place, count, path) over the values of another quilt of the same root.
      const own = three.batch.quilts[0].index.bytes;
      const other = three.batch.quilts[1].index.bytes;
      const forged = Buffer.concat([own.subarray(0, own.length - 64), other.subarray(other.length - 64)]);
      const forge = await alteringAggregator(env, (path) =>
        path.endsWith(`/${three.quiltIds[0]}/strata-index`) ? forged : undefined,
      );
      const a = countingVerifier(env, { aggregators: [swap.url] });
      const b = countingVerifier(env, { aggregators: [forge.url] });
      try {
        const swapped = await a.v.verifyProof(c, { root: three.root, nodeUrl: false });
        expectCaughtAt(swapped, "inclusion", new RegExp(`declares root ${one.root}, not the anchored ${three.root}`));
        const lied = await b.v.verifyProof(c, { root: three.root, nodeUrl: false });
        expectCaughtAt(lied, "inclusion", /index patch .* (is not a batch index|does not match|does not prove)/);
      } finally {
        await a.v.close();
        await b.v.close();
        await swap.close();
        await forge.close();
      }
    });

    it("reports a quilt that was never stored (or expired) as not found", async function () {
      const docs = await Promise.all([asV2(base, env.nodeA), asV2(base, env.nodeA), asV2(base, env.nodeA)]);
      const several = await anchorQuiltBatch(env, docs, env.nodeA, { maxPerQuilt: 2, store: false });
      const single = await anchorQuiltBatch(env, [await asV2(base, env.nodeA)], env.nodeA, { store: false });
      const { v } = countingVerifier(env);
      try {
        const missing = await v.verifyProof(several.commitments[0], { root: several.root, nodeUrl: false });
        expectCaughtAt(missing, "blob", /no patch .* not found \(never stored, expired or deleted\)/);
        // One blob whose quilt index cannot be read: the blob itself is reported missing.
        const gone = await v.verifyProof(single.commitments[0], { root: single.root, nodeUrl: false });
        expectCaughtAt(gone, "blob", /is not on Walrus \(never stored, expired or deleted\)/);
      } finally {
        await v.close();
      }
    });
  });

  describe("whole batches", function () {
    it("fails a batch whose quilt holds another proof under an identifier, at the document step, naming the patch", async function () {
      const docs = await Promise.all([asV2(base, env.nodeA), asV2(base, env.nodeA)]);
      const built = buildBatchV2(docs);
      const [a, b] = built.quilts[0].patches;
      // A quilt stored as is (its Blob ID is its own), but with the two proofs' contents swapped under their identifiers.
      const swapped = [
        { ...a, contents: b.contents },
        { ...b, contents: a.contents },
        ...built.quilts[0].patches.slice(2),
      ];
      const stored = await env.walrusClient.storeQuilt(swapped, { epochs: 5 });
      await (
        await env.client.proofs.connect(env.nodeA).anchorBatch(built.root, stored.blobId, 2, stored.endEpoch)
      ).wait();
      const { v } = countingVerifier(env);
      try {
        const report = await v.verifyBatch(built.root, env.nodeA.address);
        expect(report.ok).to.equal(false);
        const failed = report.steps.find((s) => s.status === "fail");
        expect(failed?.step, renderBatchReport(report)).to.equal("document");
        expect(failed?.detail).to.match(
          new RegExp(`holds a proof that commits to ${b.identifier}, not to its identifier ${a.identifier}`),
        );
        // One proof alone: its patch is another proof's, caught at the commitment step.
        const one = await v.verifyProof(a.identifier, { root: built.root, nodeUrl: false });
        expectCaughtAt(
          one,
          "commitment",
          new RegExp(`recomputes to ${b.identifier}, not the anchored ${a.identifier}`),
        );
      } finally {
        await v.close();
      }
    });

    it("verifies every proof of a batch in three quilts, reading each quilt once", async function () {
      const { v, wholeReads, patchReads } = countingVerifier(env);
      try {
        const report = await v.verifyBatch(three.root);
        expect(report.ok, renderBatchReport(report)).to.equal(true);
        expect(report.passed).to.equal(5);
        expect([...wholeReads].sort()).to.deep.equal([...three.quiltIds].sort());
        // Besides the index patches, one proof patch at most: the first proof's, to learn the batch's signer.
        expect(patchReads.filter((p) => !p.endsWith("/strata-index"))).to.deep.equal([
          `${three.quiltIds[0]}/${three.commitments[0]}`,
        ]);
        expect(report.fetched.location).to.deep.include({ quilts: 3, full: true });
        expect(renderBatchReport(report)).to.match(/3 quilts read whole/);
      } finally {
        await v.close();
      }
    });
  });
});
