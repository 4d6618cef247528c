/**
 * The verifier on batches whose proofs carry large tensors (base64 data well above 4.5 MB) and string tensors: it
 * verifies them, re-executes them bit for bit, and fails a check (never throws) when one is altered.
 */
import { expect } from "chai";
import { onnx } from "onnx-proto";
import { encodeTensor, makeTensorSet, proofCommitment, StrataClient, type InferenceProof } from "@strata/core";
import { publishModel } from "@strata/runtime";
import { renderBatchReport, renderReport } from "@strata/verifier";
import {
  anchorBatch,
  asV1,
  nudged,
  readNodeBatch,
  setup,
  sign,
  teardown,
  variant,
  verifier,
  type Env,
} from "./fixture";

/** A model with one string input `s` and its Identity `same`. */
function stringIdentity(): Uint8Array {
  const info = (name: string): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.STRING, shape: { dim: [{ dimParam: "n" }] } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: "strata-test",
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "strings",
      node: [{ opType: "Identity", input: ["s"], output: ["same"] }],
      input: [info("s")],
      output: [info("same")],
    },
  }).finish();
}

describe("Verifier: large and string tensors", function () {
  let env: Env;
  let big: InferenceProof;
  let words: InferenceProof;
  let root: string;

  before(async function () {
    // A batch of these proofs is ~9.4 MB: 30 shards encode up to ~16 MB (10 shards only ~1.8 MB).
    env = await setup({ shards: 30 });
    await publishModel({
      client: StrataClient.connect(env.deployment, env.owner),
      walrus: env.walrusClient,
      file: stringIdentity(),
      name: "strings",
    });
    const values = Float32Array.from({ length: 250_000 * 4 }, (_, i) => (i % 11) - 5);
    const data = encodeTensor("x", "float32", [250_000, 4], values).data;
    expect(data.length).to.be.greaterThan(5_000_000);
    const first = await env.node.infer({
      model: "tiny-mlp",
      inputs: { x: { dtype: "float32", dims: [250_000, 4], data } },
    });
    const second = await env.node.infer({
      model: "strings",
      inputs: { s: { dtype: "string", dims: [3], data: ["héllo", "", "😀"] } },
    });
    await env.node.outbox.flush();
    // The batch the node sealed, as it made it (for a node that makes v2 proofs: quilts, the large one a 4 MB patch).
    const sealed = (await env.node.outbox.listBatches()).at(-1)!;
    const batch = await readNodeBatch(env.walrusClient, sealed, env.shards);
    expect(batch.commitments).to.include(first.proof.commitment);
    root = batch.root;
    big = batch.proofs[batch.commitments.indexOf(first.proof.commitment as never)];
    words = batch.proofs[batch.commitments.indexOf(second.proof.commitment as never)];
  });
  after(async function () {
    await teardown(env);
  });

  it("verifies a batch holding a proof with a [250000,4] float32 input (5.3 MB of base64)", async function () {
    const report = await verifier(env).verifyBatch(root);
    expect(report.ok, renderBatchReport(report)).to.equal(true);
    expect(report).to.include({ passed: 2, failed: 0 });
  });

  it("re-executes the large proof and the string proof bit for bit", async function () {
    const v = verifier(env);
    try {
      for (const doc of [big, words]) {
        const commitment = proofCommitment(doc);
        const report = await v.verifyProof(commitment, { reexecute: true });
        expect(report.ok, renderReport(report)).to.equal(true);
      }
    } finally {
      await v.close();
    }
  });

  it("fails a check, not the run, when a large tensor or a string output is altered", async function () {
    // As v1 proofs in a v1 batch blob (the node's proofs re-signed as v1 documents when it makes v2 ones).
    const alteredBig = await sign(
      variant(await asV1(big, env.nodeA), (u) => ({ ...u, input: nudged(u.input.tensors, 1) })),
      env.nodeA,
    );
    const alteredWords = await sign(
      variant(await asV1(words, env.nodeA), (u) => ({
        ...u,
        output: makeTensorSet([encodeTensor("same", "string", [3], ["hello", "", "😀"])]),
      })),
      env.nodeA,
    );
    const anchored = await anchorBatch(env, [alteredBig, alteredWords], env.nodeA);
    const v = verifier(env);
    try {
      const report = await v.verifyBatch(anchored.root);
      // Both are validly signed by node A: the batch checks pass; re-execution is what catches them.
      expect(report.ok, renderBatchReport(report)).to.equal(true);
      for (const [doc, why] of [
        [alteredBig, /not bit-identical/],
        [alteredWords, /same\[0\] recorded "hello" vs re-executed "héllo"/],
      ] as const) {
        const commitment = proofCommitment(doc);
        const rerun = await v.verifyProof(commitment, { reexecute: true });
        expect(rerun.ok, renderReport(rerun)).to.equal(false);
        const failed = rerun.steps.filter((s) => s.status === "fail");
        expect(failed.map((s) => s.step)).to.deep.equal(["reexecution"]);
        expect(failed[0].detail).to.match(why);
      }
    } finally {
      await v.close();
    }
  });
});
