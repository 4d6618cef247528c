/**
 * The verifier knows time: every report says until when (epoch and approximate date) the proof's blobs and its model
 * version are stored, from the network's clock; an expired blob (not found, its recorded end epoch begun) is its own
 * failure, told apart from a blob missing while its lease runs and from a corrupted one.
 */
import { expect } from "chai";
import { StrataClient, type Bytes32 } from "@strata/core";
import { publishTestModel } from "@strata/devkit";
import type { PublishedModel } from "@strata/runtime";
import { localNetworkClock, type NetworkClock } from "@strata/walrus";
import {
  assertVerified,
  renderBatchReport,
  renderReport,
  VerificationFailedError,
  type StepName,
  type VerificationReport,
} from "@strata/verifier";
import { input, setup, teardown, verifier, type Env } from "./fixture";

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
