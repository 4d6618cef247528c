/**
 * The verifier knows time: every report says until when (epoch and approximate date) the proof's blobs and its model
 * version are stored, from the network's clock; an expired blob (not found, its recorded end epoch begun) is its own
 * failure, told apart from a blob missing while its lease runs and from a corrupted one.
 */
import { expect } from "chai";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildBatch, buildBatchV2, StrataClient, type Bytes32, type InferenceProof } from "@strata/core";
import { publishTestModel } from "@strata/devkit";
import type { PublishedModel } from "@strata/runtime";
import { localBlobLifetime, localNetworkClock, type NetworkClock } from "@strata/walrus";
import {
  assertVerified,
  renderBatchReport,
  renderReport,
  VerificationFailedError,
  type StepName,
  type VerificationReport,
} from "@strata/verifier";
import {
  anchorMissingBatch,
  asV2,
  input,
  setup,
  sign,
  teardown,
  UNEXPIRED_END_EPOCH,
  variant,
  verifier,
  type Env,
} from "./fixture";

const DATED = /^epoch \d+ \(about \d{4}-\d\d-\d\d \d\d:\d\d UTC\)$/;

function stepOf(report: VerificationReport, name: StepName) {
  const found = report.steps.find((s) => s.step === name);
  if (found === undefined) throw new Error(`the report has no step ${name}`);
  return found;
}

describe("Verifier: storage lifetimes (stored until, expired, missing, corrupted)", function () {
  this.timeout(180_000);
  let env: Env;
  let clock: NetworkClock;

  before(async function () {
    env = await setup();
    clock = localNetworkClock(env.walrus.url);
  });
  after(async function () {
    await teardown(env);
  });

  it("says until when the model version is stored (epoch, date, epochs left), in the text and the JSON report", async function () {
    const [batch] = env.batches;
    const report = await verifier(env, { clock }).verifyProof(batch.commitments[0], { root: batch.root });
    expect(report.ok, renderReport(report)).to.equal(true);
    const current = env.walrus.currentEpoch();
    expect(report.storage.currentEpoch).to.equal(current);
    expect(report.storage.network).to.equal("local");
    const [model] = report.storage.models;
    expect(model).to.include({
      modelId: env.model.modelId,
      version: env.model.index,
      blobId: env.model.blobId,
      endEpoch: env.model.endEpoch,
      currentEpoch: current,
      epochsLeft: env.model.endEpoch - current,
      expired: false,
    });
    expect(model.until).to.match(DATED);
    const text = renderReport(report);
    expect(text).to.include(`stored until ${model.until}: ${env.model.endEpoch - current} epochs left`);
    // The JSON form is the report as is.
    const json = JSON.parse(JSON.stringify(report)) as VerificationReport;
    expect(json.storage.models[0].until).to.equal(model.until);
  });

  it("says until when the proof's batch is stored: the end epoch anchored, which is the store's", async function () {
    for (const batch of [env.batches[0], env.nodeBatches[0]]) {
      const report = await verifier(env, { clock }).verifyProof(batch.commitments[0], { root: batch.root });
      expect(report.ok, renderReport(report)).to.equal(true);
      const stored = await localBlobLifetime(env.walrus.url, batch.blobId);
      const current = env.walrus.currentEpoch();
      expect(report.storage.proof).to.include({
        endEpoch: stored.endEpoch,
        currentEpoch: current,
        epochsLeft: stored.endEpoch - current,
        expired: false,
      });
      expect(report.storage.proof!.blobIds).to.deep.equal([batch.blobId]);
      expect(report.storage.proof!.until).to.match(DATED);
      expect(renderReport(report)).to.include(
        `  proof stored until ${report.storage.proof!.until}: ${stored.endEpoch - current} epochs left`,
      );
      const whole = await verifier(env, { clock }).verifyBatch(batch.root);
      expect(whole.storage.proof).to.include({ endEpoch: stored.endEpoch, expired: false });
      expect(renderBatchReport(whole)).to.include(`  batch stored until ${whole.storage.proof!.until}`);
    }
  });

  it("gives end epochs without dates when there is no clock, or it cannot be read, and does not fail for it", async function () {
    const [batch] = env.batches;
    for (const options of [{}, { clock: localNetworkClock("http://127.0.0.1:9") }]) {
      const report = await verifier(env, options).verifyProof(batch.commitments[0], { root: batch.root });
      expect(report.ok, renderReport(report)).to.equal(true);
      expect(report.storage.currentEpoch).to.equal(null);
      expect(report.storage.clockError).to.be.a("string");
      expect(report.storage.models[0]).to.include({
        endEpoch: env.model.endEpoch,
        until: `epoch ${env.model.endEpoch}`,
      });
      expect(report.storage.models[0].epochsLeft).to.equal(null);
      expect(renderReport(report)).to.include(
        `stored until epoch ${env.model.endEpoch} (the current epoch is unknown)`,
      );
    }
  });

  it("says until when each model version of a whole batch is stored", async function () {
    const [batch] = env.nodeBatches;
    const report = await verifier(env, { clock }).verifyBatch(batch.root);
    expect(report.ok, renderBatchReport(report)).to.equal(true);
    expect(report.storage.models.map((m) => m.endEpoch)).to.deep.equal([env.model.endEpoch]);
    expect(renderBatchReport(report)).to.include(`stored until ${report.storage.models[0].until}`);
  });

  describe("expired, missing and corrupted blobs: three distinct failures", function () {
    let base: InferenceProof;
    before(function () {
      base = env.batches[0].proofs[0];
    });

    it("fails a proof whose batch blob expired (its anchored end epoch has begun) as expired", async function () {
      const doc = await sign(variant(base), env.nodeA);
      const batch = buildBatch([doc]);
      const stored = await env.walrusClient.store(batch.bytes, { epochs: 1 });
      await (await env.client.proofs.connect(env.nodeA).anchorBuiltBatch(batch, stored.blobId, stored.endEpoch)).wait();
      // A v2 batch in one quilt, stored as briefly.
      const v2 = buildBatchV2([await asV2(base, env.nodeA)]);
      const quilt = await env.walrusClient.storeQuilt(v2.quilts[0].patches, { epochs: 1 });
      await (
        await env.client.proofs.connect(env.nodeA).anchorBatch(v2.root, quilt.blobId, v2.count, quilt.endEpoch)
      ).wait();
      expect((await verifier(env, { clock }).verifyProof(batch.commitments[0], { root: batch.root })).ok).to.equal(
        true,
      );
      await env.walrus.advanceEpochs(stored.endEpoch - env.walrus.currentEpoch());

      for (const [commitment, root, blobId, kind, endEpoch] of [
        [batch.commitments[0], batch.root, stored.blobId, "batch blob", stored.endEpoch],
        [v2.commitments[0], v2.root, quilt.blobId, "batch blob|quilt", quilt.endEpoch],
      ] as const) {
        const report = await verifier(env, { clock }).verifyProof(commitment, { root });
        const step = stepOf(report, "blob");
        expect(step.status, renderReport(report)).to.equal("fail");
        expect(step.values).to.include({ reason: "expired", code: "BLOB_EXPIRED", endEpoch });
        expect(step.detail).to.match(
          new RegExp(
            `^the (${kind}) ${blobId} expired at epoch ${endEpoch} \\(about .+ UTC\\); renewal was due by epoch ` +
              `${endEpoch - 1} \\(about .+ UTC\\).*renew with \`strata keeper\` before expiry`,
            "i",
          ),
        );
        expect(report.storage.proof).to.include({ endEpoch, expired: true });
        expect(renderReport(report)).to.include(`proof stored until ${report.storage.proof!.until}: EXPIRED`);
        // Searched for (no root given), its batch is unreadable, and said to be expired.
        const scanned = await verifier(env, { clock }).verifyProof(commitment);
        expect(stepOf(scanned, "locate").status, renderReport(scanned)).to.equal("fail");
        expect(stepOf(scanned, "locate").detail).to.match(
          new RegExp(`its storage expired at epoch ${endEpoch} \\(about .+ UTC\\)`),
        );
        const whole = await verifier(env, { clock }).verifyBatch(root);
        const blob = whole.steps.find((s) => s.step === "blob")!;
        expect(blob.status, renderBatchReport(whole)).to.equal("fail");
        expect(blob.values.reason).to.equal("expired");
        expect(blob.detail).to.match(/expired at epoch \d+ \(about .+\); renewal was due by epoch/);
      }
    });

    it("fails a blob not found while its lease runs as not found, saying it is not expired", async function () {
      const doc = await sign(variant(base), env.nodeA);
      const batch = await anchorMissingBatch(env, [doc], env.nodeA);
      const report = await verifier(env, { clock }).verifyProof(batch.commitments[0], { root: batch.root });
      const step = stepOf(report, "blob");
      expect(step.status, renderReport(report)).to.equal("fail");
      expect(step.values).to.include({ reason: "not-found", endEpoch: UNEXPIRED_END_EPOCH });
      expect(step.detail).to.match(
        new RegExp(
          `^the batch blob ${batch.blobId} is not on Walrus, although by the record its lease is not over \\(stored ` +
            `until epoch ${UNEXPIRED_END_EPOCH} \\(about .+\\), current epoch \\d+\\): not expired, but never stored or deleted`,
        ),
      );
      expect(step.detail).to.not.match(/expired at/);
      expect(report.storage.proof).to.include({ endEpoch: UNEXPIRED_END_EPOCH, expired: false });
    });

    it("fails a blob whose bytes were altered as corrupted", async function () {
      const doc = await sign(variant(base), env.nodeA);
      const batch = buildBatch([doc]);
      const stored = await env.walrusClient.store(batch.bytes, { epochs: 5 });
      await (await env.client.proofs.connect(env.nodeA).anchorBuiltBatch(batch, stored.blobId, stored.endEpoch)).wait();
      const file = join(env.walrusDir, "blobs", stored.blobId);
      const bytes = await readFile(file);
      const at = bytes.indexOf(Buffer.from('"timestamp":')) + 13;
      bytes[at] = bytes[at] === 0x31 ? 0x32 : 0x31;
      await writeFile(file, bytes);
      const report = await verifier(env, { clock }).verifyProof(batch.commitments[0], { root: batch.root });
      const step = stepOf(report, "blob");
      expect(step.status, renderReport(report)).to.equal("fail");
      expect(step.values.reason).to.equal("corrupted");
      expect(step.detail).to.match(/do not match it \(blob-id: .*\): corrupted/);
      expect(step.detail).to.not.match(/expired|not on Walrus/);
      expect(report.storage.proof).to.include({ endEpoch: stored.endEpoch, expired: false });
    });
  });

  describe("an expired model version in re-execution", function () {
    let short: PublishedModel;
    let commitment: Bytes32;

    before(async function () {
      // A model stored for 2 epochs, its proof in a batch the node stores for 5.
      short = await publishTestModel(StrataClient.connect(env.deployment, env.owner), env.walrusClient, {
        name: "short-lived-mlp",
        hidden: [8],
        outputSize: 3,
        seed: 11,
        epochs: 2,
      });
      const answer = await env.node.infer({ model: "short-lived-mlp", inputs: input([[1, 2, 3, 4]]) });
      commitment = answer.proof.commitment as Bytes32;
      await env.node.outbox.flush();
      await env.walrus.advanceEpochs(short.endEpoch - env.walrus.currentEpoch());
    });

    it("fails the re-execution as expired, naming the end epoch and when renewal was due", async function () {
      const report = await verifier(env, { clock, nodeUrl: env.nodeUrl }).verifyProof(commitment, {
        reexecute: true,
      });
      expect(stepOf(report, "blob").status, renderReport(report)).to.equal("pass");
      expect(stepOf(report, "model").status, renderReport(report)).to.equal("pass");
      const step = stepOf(report, "reexecution");
      expect(step.status, renderReport(report)).to.equal("fail");
      expect(step.values.reason).to.equal("expired");
      expect(step.values.code).to.equal("BLOB_EXPIRED");
      expect(step.detail).to.match(
        new RegExp(
          `^the model blob ${short.blobId} expired at epoch ${short.endEpoch} \\(about .+ UTC\\); renewal was due ` +
            `by epoch ${short.endEpoch - 1} \\(about .+ UTC\\).*strata keeper`,
        ),
      );
      const model = report.storage.models.find((m) => m.modelId === short.modelId)!;
      expect(model).to.include({ endEpoch: short.endEpoch, expired: true, epochsLeft: 0 });
      expect(renderReport(report)).to.include(`stored until ${model.until}: EXPIRED`);
      const error = (() => {
        try {
          assertVerified(report);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).to.be.instanceOf(VerificationFailedError);
      expect((error as VerificationFailedError).expired?.code).to.equal("BLOB_EXPIRED");
      expect((error as VerificationFailedError).expired?.endEpoch).to.equal(short.endEpoch);
    });
  });
});
