import {
  decodeTensor,
  isPrivateProof,
  openPrivateProof,
  revealPrivateProof,
  StrataError,
  validateAnyProofForCommitment,
  type AnyInferenceProof,
  type BatchRoot,
  type Commitment,
  type HashedTensor,
  type ModelVersion,
  type PrivateInferenceProof,
  type PrivateProofData,
  type PrivateProofKey,
  type Tensor,
} from "@strata/core";
import { ModelExpiredError, StrataRuntimeError, type ModelSession } from "@strata/runtime";
import { expiredValues, notFoundVerdict } from "./lease";
import { checkActivity, checkDomain, checkModel, checkSignature, fail, pass, type CheckResult } from "./checks";
import { round, type Outcome, type VerifierContext } from "./context";
import type { LocateStep } from "./locate";
import { compareOutputs, compareRuntime, localRuntime, type Tolerance } from "./reexecute";
import { short, type Location, type StepName, type StepValue } from "./report";
import { batchRecord, singleAnchorRecord } from "./record";
import type { Document, Located, ProofSource } from "./sources";

/**
 * # The steps of a proof verification
 *
 * Each step is an object: its name in the report, when it does not apply (a skip), the check it runs on what the
 * earlier steps found ({@link ProofState}), what it keeps for the later steps, and whether the rest can run without
 * it. The pipeline (`pipeline.ts`) runs them in the report's order.
 */

/** What the steps of one proof verification found so far. */
export interface ProofState {
  readonly commitment: Commitment;
  /** The batch root the caller gave. */
  readonly root: BatchRoot | undefined;
  /** The index the caller gave. */
  readonly index: number | undefined;
  readonly nodeUrl: string | false | undefined;
  readonly reexecute: boolean;
  readonly tolerance: Tolerance | undefined;
  /** Read a proof's quilt whole too, and check it against its Blob ID. */
  readonly full: boolean;
  /** A private proof's data: its tensors (hashed mode), or a key that opens its envelope (encrypted mode). */
  readonly reveal: PrivateReveal | undefined;
  /** Set by `locate`. */
  located?: Located;
  /** Set by `chain-record`: the anchor and the way the proof is anchored. */
  source?: ProofSource;
  /** Set by `blob`: what the source read, and where the proof was read from. */
  fetched?: unknown;
  location?: Location;
  /** Set by `document`. */
  document?: Document;
  /** Set by `commitment`: the document, validated, committing to the anchored commitment. */
  proof?: AnyInferenceProof;
  /** Set by `model`: the registry's version the proof names. */
  version?: ModelVersion;
}

/** One step of a proof verification. */
export interface ProofStep<T> {
  readonly name: StepName;
  /** The detail of a skip when the step does not apply (it then does not run), else undefined. */
  skip?(state: ProofState): string | undefined;
  run(state: ProofState): Outcome<T> | Promise<Outcome<T>>;
  /** Keeps the step's value (undefined unless it passed) for the later steps. */
  keep?(state: ProofState, value: T | undefined): void;
  /** Why the later steps cannot run after the step gave no value; undefined: they still run. */
  halt?(state: ProofState): string | undefined;
}

const NOT_REQUESTED = "not requested (re-execution is optional)";

/**
 * What re-executes a private proof: the holder's tensors (a hashed proof: inputs and outputs, checked against the
 * committed hashes first), or a key that opens an encrypted proof's envelope (the requester's private key, or the
 * proof's disclosure key).
 */
export type PrivateReveal = { inputs: readonly Tensor[]; outputs: readonly Tensor[] } | PrivateProofKey;

/** The detail of a private proof's re-execution without its data: neither passed nor failed. */
export function notPossibleWithoutData(proof: PrivateInferenceProof): string {
  return proof.privacy === "hashed"
    ? "not possible without the data: a hashed proof holds only its tensors' hashes; the holder passes the inputs " +
        "and outputs (--inputs, --outputs) to re-execute it"
    : "not possible without the data: an encrypted proof's tensors are sealed to its requester; re-execute with " +
        "the requester's key (--privacy-key) or the proof's disclosure key (--disclosure-key)";
}

/** The steps of a proof verification, in the report's order (see `STEPS`). */
export function proofSteps(ctx: VerifierContext, locate: LocateStep): ProofStep<unknown>[] {
  const { settings } = ctx;
  const steps: [
    ProofStep<Located>,
    ProofStep<ProofSource>,
    ProofStep<unknown>,
    ProofStep<Document>,
    ProofStep<number>,
    ProofStep<AnyInferenceProof>,
    ProofStep<never>,
    ProofStep<never>,
    ProofStep<never>,
    ProofStep<ModelVersion>,
    ProofStep<never>,
    ProofStep<never>,
  ] = [
    {
      name: "locate",
      run: (s) => locate.locate(s.commitment, s.root, { nodeUrl: s.nodeUrl }),
      keep: (s, located) => (s.located = located),
      halt: () => "no anchor was found",
    },
    {
      name: "chain-record",
      run: ({ located, commitment, ...s }) =>
        located!.kind === "single"
          ? singleAnchorRecord(ctx, commitment, located!.node)
          : batchRecord(ctx, located!.root, located!.node, {
              full: s.full,
              ...(located!.hint === undefined ? {} : { hint: { commitment, hint: located!.hint } }),
            }),
      keep: (s, source) => (s.source = source),
      halt: () => "there is no anchor to check",
    },
    {
      name: "blob",
      run: (s) => s.source!.read(s.located!, s.commitment),
      keep: (s, fetched) => {
        s.fetched = fetched;
        if (fetched !== undefined) s.location = s.source!.where(fetched);
      },
      halt: () => "the anchored blob could not be read",
    },
    {
      name: "document",
      run: (s) => s.source!.document(s.fetched!, s.commitment),
      keep: (s, document) => (s.document = document),
      halt: () => "the blob is not a readable document",
    },
    {
      name: "inclusion",
      skip: (s) => s.source!.inclusionSkip(s.index),
      run: (s) => s.source!.inclusion(s.fetched!, s.commitment, s.index),
      // A wrong caller index fails the step, but the proof's true position still gives a document to check.
      halt: (s) => (s.document!.raw === undefined ? "the commitment is not in the batch" : undefined),
    },
    {
      name: "commitment",
      run: (s) => commitmentStep(s.document!.raw, s.commitment, s.source!.documentName),
      keep: (s, proof) => (s.proof = proof),
      halt: () => "the document is not the one anchored",
    },
    {
      name: "signature",
      run: (s) => withRegistrationNote(ctx, checkSignature(s.proof!, s.commitment, s.source!.anchor.node)),
    },
    {
      name: "node-active",
      run: async ({ proof, source }) =>
        checkActivity(proof!, source!.anchor, await ctx.nodeIntervals(source!.anchor.node), settings.clockSkewSeconds),
    },
    { name: "domain", run: (s) => checkDomain(s.proof!, ctx.client.proofDomain) },
    {
      name: "model",
      run: async ({ proof }): Promise<Outcome<ModelVersion>> => {
        const version = await ctx.modelVersion(proof!.model.id, proof!.model.version);
        const result = checkModel(proof!, version);
        return version instanceof Error ? result : { ...result, value: version };
      },
      keep: (s, version) => (s.version = version),
    },
    {
      name: "runtime",
      skip: (s) => (s.reexecute ? undefined : NOT_REQUESTED),
      run: (s) => runtimeStep(s.proof!, s.tolerance),
    },
    {
      name: "reexecution",
      // A private proof without its data: the step runs, and says re-execution is not possible (neither pass nor fail).
      skip: (s) =>
        isPrivateProof(s.proof) && s.reveal === undefined
          ? undefined
          : !s.reexecute
            ? NOT_REQUESTED
            : s.version === undefined
              ? "skipped: the proof's model does not match the registry, so there is no model to re-run"
              : undefined,
      run: async (s) => {
        const proof = s.proof!;
        if (!isPrivateProof(proof))
          return reexecutionStep(ctx, proof.input.tensors, proof.output.tensors, s.version!, s.tolerance);
        if (s.reveal === undefined) {
          return { status: "unavailable", detail: notPossibleWithoutData(proof), values: { privacy: proof.privacy } };
        }
        const data = await privateData(proof, s.reveal);
        if (!("inputs" in data)) return data;
        const result = await reexecutionStep(ctx, data.inputs, data.outputs, s.version!, s.tolerance);
        return { ...result, values: { ...result.values, privacy: proof.privacy, dataMatchesCommitment: true } };
      },
    },
  ];
  return steps;
}

// ---------------------------------------------------------------------------------------------------------------------
// Checks (shared with the batch verification where they apply)

/**
 * The data of a private proof, checked against its committed hashes before anything runs: the holder's tensors
 * (hashed mode), or its envelope opened with the key given (encrypted mode). A failed check is the step's failure.
 */
async function privateData(
  proof: PrivateInferenceProof,
  reveal: PrivateReveal,
): Promise<PrivateProofData | CheckResult> {
  const values = { privacy: proof.privacy };
  try {
    if ("inputs" in reveal) return revealPrivateProof(proof, reveal);
    if (proof.privacy !== "encrypted") {
      return fail("a hashed proof has no envelope to open with a key: pass its tensors (--inputs, --outputs)", values);
    }
    return await openPrivateProof(proof, reveal);
  } catch (error) {
    if (error instanceof StrataError) {
      return fail(`the data given cannot re-execute this proof (nothing was run): ${error.message}`, {
        ...values,
        code: error.code,
      });
    }
    throw error;
  }
}

/** The commitment step: `raw` (named `where` in messages) is a proof document that hashes to `commitment`. */
function commitmentStep(raw: unknown, commitment: Commitment, where: string): Outcome<AnyInferenceProof> {
  let doc: AnyInferenceProof;
  let recomputed: Commitment;
  try {
    // validateProof then proofCommitment, sharing their work (the document validated and decoded once).
    const checked = validateAnyProofForCommitment(raw);
    doc = checked.proof;
    recomputed = checked.commitment();
  } catch (error) {
    if (error instanceof StrataError) {
      return fail(`${where} does not hash to a commitment: ${error.message}`, { anchored: commitment });
    }
    throw error;
  }
  const values = { anchored: commitment, recomputed };
  if (recomputed !== commitment) {
    return fail(
      `${where} recomputes to ${recomputed}, not the anchored ${commitment}: the document was altered`,
      values,
    );
  }
  return { ...pass(`recomputed ${short(recomputed)} = anchored ${short(commitment)}`, values), value: doc };
}

/** Adds, to a failed signature check, whether the key that signed is an admitted node at all. */
async function withRegistrationNote(
  ctx: VerifierContext,
  result: CheckResult & { recovered: string | null },
): Promise<CheckResult> {
  const { recovered, ...check } = result;
  if (check.status !== "fail" || recovered === null) return check;
  if (!(await ctx.everAdmitted(recovered))) {
    return {
      ...check,
      detail: `${check.detail} (${recovered} was never admitted to the NodeRegistry)`,
      values: { ...check.values, recoveredIsNode: false },
    };
  }
  return { ...check, values: { ...check.values, recoveredIsNode: true } };
}

function runtimeStep(doc: AnyInferenceProof, tolerance: Tolerance | undefined): CheckResult {
  const local = localRuntime();
  const differences = compareRuntime(doc.runtime, local);
  const values: Record<string, StepValue> = {
    recorded: `${doc.runtime.engine} ${doc.runtime.version} ${doc.runtime.graphOptimizationLevel}`,
    local: `${local.engine} ${local.version} ${local.graphOptimizationLevel}`,
    differences: differences.length,
  };
  for (const d of differences) {
    values[`recorded.${d.field}`] = d.recorded;
    values[`local.${d.field}`] = d.local;
  }
  if (differences.length === 0) {
    return pass(
      `the recorded runtime is this machine's: ${local.engine} ${local.version}, graph optimization ` +
        `${local.graphOptimizationLevel}, ${local.executionMode}, ${local.intraOpNumThreads} thread(s), ${local.platform}`,
      values,
    );
  }
  const listed = differences.map((d) => `${d.field} ${d.recorded} here ${d.local}`).join("; ");
  if (tolerance !== undefined) {
    return pass(
      `the recorded runtime differs from this machine's (${listed}): outputs are compared within the stated ` +
        "tolerance, not bit for bit",
      values,
    );
  }
  return fail(
    `the recorded runtime differs from this machine's (${listed}): a bit-exact re-execution needs the recorded ` +
      "runtime; state a tolerance (--tolerance) to compare across runtimes",
    values,
  );
}

async function reexecutionStep(
  ctx: VerifierContext,
  inputs: readonly HashedTensor[],
  recorded: readonly HashedTensor[],
  version: ModelVersion,
  tolerance: Tolerance | undefined,
): Promise<CheckResult> {
  const blobId = version.blobId;
  const values: Record<string, StepValue> = { modelBlobId: blobId, modelSha256: version.sha256 };
  let session: ModelSession;
  const t0 = performance.now();
  try {
    session = await ctx.session(version);
  } catch (error) {
    // Not found (or refused by a lease-checking cache): expired by the registry's end epoch, or missing.
    if (
      error instanceof ModelExpiredError ||
      (error instanceof StrataRuntimeError && error.code === "MODEL_BLOB_NOT_FOUND")
    ) {
      const verdict = notFoundVerdict("model blob", blobId, version.endEpoch, await ctx.epochNow());
      if ("expired" in verdict) return fail(verdict.expired.message, { ...values, ...expiredValues(verdict.expired) });
      return fail(`the model blob ${blobId} is ${verdict.detail}: ${error.message}`, { ...values, ...verdict.values });
    }
    if (error instanceof StrataRuntimeError) {
      const corrupted: Record<string, StepValue> = error.code === "MODEL_INTEGRITY" ? { reason: "corrupted" } : {};
      return fail(`the model ${blobId} could not be fetched and loaded: ${error.message}`, { ...values, ...corrupted });
    }
    throw error;
  }
  const loadMs = performance.now() - t0;
  let outputs;
  const t1 = performance.now();
  try {
    outputs = await session.run(inputs.map((t) => decodeTensor(t)));
  } catch (error) {
    if (error instanceof StrataRuntimeError || error instanceof StrataError) {
      return fail(`the model does not run on the recorded inputs: ${error.message}`, values);
    }
    throw error;
  }
  const runMs = performance.now() - t1;
  const comparison = compareOutputs(recorded, outputs, tolerance);
  const all = { ...values, ...comparison.values, loadMs: round(loadMs), runMs: round(runMs) };
  return comparison.ok ? pass(comparison.detail, all) : fail(comparison.detail, all);
}
