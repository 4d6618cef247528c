/**
 * Per-step progress: `verifyProof(c, { onStep })` hands each step's result over as soon as it is known, in the
 * report's order, passes and failures alike (the explorer streams them to a browser).
 */
import { expect } from "chai";
import type { StepResult } from "@strata/verifier";
import { STEPS } from "@strata/verifier";
import { setup, teardown, verifier, type Env } from "./fixture";

describe("verifier: per-step progress (onStep)", function () {
  this.timeout(120_000);
  let env: Env | undefined;

  before(async function () {
    env = await setup();
  });
  after(async function () {
    await teardown(env);
  });

  it("tells each step's result as it finishes, in report order, before the report is returned", async function () {
    const seen: StepResult[] = [];
    let returned = false;
    const report = await verifier(env!).verifyProof(env!.nodeBatches[0].commitments[1], {
      onStep: (result) => {
        expect(returned, "a step told after the report was returned").to.equal(false);
        seen.push(result);
      },
    });
    returned = true;
    expect(report.ok).to.equal(true);
    expect(seen.map((s) => s.step)).to.deep.equal([...STEPS]);
    expect(seen).to.deep.equal(report.steps);
  });

  it("tells the failing step with its reason, then the steps skipped because of it", async function () {
    const seen: StepResult[] = [];
    const missing = `0x${"ab".repeat(32)}`;
    const report = await verifier(env!).verifyProof(missing, { nodeUrl: false, onStep: (r) => seen.push(r) });
    expect(report.ok).to.equal(false);
    expect(seen[0]).to.include({ step: "locate", status: "fail" });
    expect(seen[0].detail).to.match(/\S/);
    expect(seen.slice(1).every((s) => s.status === "skip")).to.equal(true);
    expect(seen).to.deep.equal(report.steps);
  });
});
