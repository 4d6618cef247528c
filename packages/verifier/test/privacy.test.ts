import { expect } from "chai";
import {
  encodeBinaryTensor,
  formatPrivacyPublicKey,
  generatePrivacyKey,
  privateProofDisclosureKey,
  isPrivateProof,
  type Commitment,
  type Tensor,
} from "@strata/core";
import { tensorFromJson, type TensorJson } from "@strata/runtime";
import { renderReport, type StepName, type VerificationReport } from "@strata/verifier";
import { input, setup, teardown, verifier, type Env } from "./fixture";

function stepOf(report: VerificationReport, name: StepName) {
  const found = report.steps.find((s) => s.step === name);
  if (found === undefined) throw new Error(`the report has no step ${name}`);
  return found;
}

function tensors(json: Record<string, TensorJson>): Tensor[] {
  return Object.entries(json).map(([name, t]) => {
    const decoded = tensorFromJson(name, t);
    return encodeBinaryTensor(decoded.name, decoded.dtype, decoded.dims, decoded.values);
  });
}

/** Every step up to the model passed (located, read, included, committed, signed, active, domain, model). */
function expectCheckedUpToModel(report: VerificationReport): void {
  for (const s of report.steps.slice(0, report.steps.findIndex((r) => r.step === "model") + 1)) {
    expect(s.status, `${s.step}: ${s.detail}`).to.equal("pass");
  }
}

describe("Verifier: private proofs say what they could check", function () {
  let env: Env;
  const requester = generatePrivacyKey();
  const outsider = generatePrivacyKey();
  const rows = [[0.25, -3, 1.5, 8]];
  let hashed: { commitment: Commitment; outputs: Record<string, TensorJson> };
  let encrypted: { commitment: Commitment; outputs: Record<string, TensorJson> };

  before(async function () {
    env = await setup();
    const h = await env.node.infer({ model: "tiny-mlp", inputs: input(rows), privacy: "hashed" });
    const e = await env.node.infer({
      model: "tiny-mlp",
      inputs: input(rows),
      privacy: "encrypted",
      recipient: formatPrivacyPublicKey(requester.publicKey),
    });
    await env.node.outbox.flush();
    hashed = { commitment: h.proof.commitment as Commitment, outputs: h.outputs as Record<string, TensorJson> };
    encrypted = { commitment: e.proof.commitment as Commitment, outputs: e.outputs as Record<string, TensorJson> };
  });
  after(async function () {
    await teardown(env);
  });

  const verify = (commitment: Commitment, options: Parameters<ReturnType<typeof verifier>["verifyProof"]>[1] = {}) =>
    verifier(env, { clockSkewSeconds: env.clockSkewSeconds }).verifyProof(commitment, {
      nodeUrl: env.nodeUrl,
      ...options,
    });

  it("a hashed proof without its data: every step but re-execution checked, re-execution not possible (not failed)", async function () {
    const report = await verify(hashed.commitment);
    expect(report.ok, renderReport(report)).to.equal(true);
    expectCheckedUpToModel(report);
    const reexecution = stepOf(report, "reexecution");
    expect(reexecution.status).to.equal("unavailable");
    expect(reexecution.detail).to.match(/^not possible without the data: a hashed proof/);
    const text = renderReport(report);
    expect(text).to.contain("VERIFIED except reexecution (not possible without the data)");
    expect(text).to.match(/N\/A\s+reexecution/);
  });

  it("a hashed proof with its holder's tensors re-executes bit-exact", async function () {
    const report = await verify(hashed.commitment, {
      reveal: { inputs: tensors(input(rows) as Record<string, TensorJson>), outputs: tensors(hashed.outputs) },
    });
    expect(report.ok, renderReport(report)).to.equal(true);
    expect(stepOf(report, "runtime").status).to.equal("pass");
    const reexecution = stepOf(report, "reexecution");
    expect(reexecution.status, reexecution.detail).to.equal("pass");
    expect(reexecution.values.dataMatchesCommitment).to.equal(true);
  });

  it("hashed-mode data that does not match the committed hashes is rejected before anything runs", async function () {
    const other = input([[0.25, -3, 1.5, 9]]) as Record<string, TensorJson>;
    const report = await verify(hashed.commitment, {
      reveal: { inputs: tensors(other), outputs: tensors(hashed.outputs) },
    });
    expect(report.ok).to.equal(false);
    const reexecution = stepOf(report, "reexecution");
    expect(reexecution.status).to.equal("fail");
    expect(reexecution.detail).to.match(/nothing was run.*input tensor "x".*not the data the node ran/);
    expect(reexecution.values.code).to.equal("PRIVATE_DATA");
    expect(reexecution.values.runMs).to.equal(undefined);
  });

  it("an encrypted proof re-executes with the requester's key or its disclosure key, and not without one", async function () {
    const without = await verify(encrypted.commitment);
    expect(without.ok, renderReport(without)).to.equal(true);
    expectCheckedUpToModel(without);
    expect(stepOf(without, "reexecution").status).to.equal("unavailable");
    expect(stepOf(without, "reexecution").detail).to.match(/encrypted proof's tensors are sealed/);

    const withKey = await verify(encrypted.commitment, { reveal: { privateKey: requester.privateKey } });
    expect(withKey.ok, renderReport(withKey)).to.equal(true);
    expect(stepOf(withKey, "reexecution").status).to.equal("pass");

    const record = await verifier(env).showProof(encrypted.commitment, { nodeUrl: env.nodeUrl });
    if (!isPrivateProof(record.document)) throw new Error("expected a private proof");
    const disclosureKey = privateProofDisclosureKey(record.document, requester.privateKey);
    const withDisclosure = await verify(encrypted.commitment, { reveal: { disclosureKey } });
    expect(withDisclosure.ok, renderReport(withDisclosure)).to.equal(true);
    expect(stepOf(withDisclosure, "reexecution").status).to.equal("pass");
  });

  it("a wrong key fails the re-execution clearly, and every other check still passes", async function () {
    const report = await verify(encrypted.commitment, { reveal: { privateKey: outsider.privateKey } });
    expect(report.ok).to.equal(false);
    expectCheckedUpToModel(report);
    const reexecution = stepOf(report, "reexecution");
    expect(reexecution.status).to.equal("fail");
    expect(reexecution.detail).to.match(/this envelope was not sealed to this key/);
    expect(reexecution.values.code).to.equal("ENVELOPE_WRONG_KEY");
    expect(renderReport(report)).to.not.contain(Buffer.from(outsider.privateKey).toString("hex"));
  });

  it("a batch holding private proofs verifies whole", async function () {
    const report = await verify(hashed.commitment);
    const batch = await verifier(env, { clockSkewSeconds: env.clockSkewSeconds }).verifyBatch(report.root!);
    expect(batch.ok, JSON.stringify(batch.proofs.filter((p) => !p.ok))).to.equal(true);
    expect(batch.passed).to.equal(2);
  });
});
