import type { AnyInferenceProof, BatchRoot, Commitment } from "@strata/core";
import type { Anchor } from "./checks";
import type { VerifierContext } from "./context";
import type { LocateStep } from "./locate";
import type { Tolerance } from "./reexecute";
import {
  STEPS,
  type FetchSummary,
  type FoundBy,
  type StepName,
  type StepResult,
  type StorageSummary,
  type VerificationReport,
} from "./report";
import { proofSteps, type PrivateReveal, type ProofState, type ProofStep } from "./steps";
import { storageSummary } from "./lease";

/** An anchored proof's document and where it lives: what `strata proof show` prints. */
export interface ProofRecord {
  commitment: Commitment;
  foundBy: FoundBy;
  anchor: Anchor;
  /** The proof's position in its batch. */
  index?: number;
  /** The document as stored (its commitment checked against the anchored one). */
  document: AnyInferenceProof;
  /**
   * Size in bytes of what was read for it: the proof blob, the v1 batch blob, or (a proof in a quilt) the proof's patch
   * (the quilt is not read whole).
   */
  blobSize: number;
  /** What was read from Walrus, and where the proof lives there. */
  fetched: FetchSummary;
  /** The steps that found and checked it (locate .. commitment). */
  steps: StepResult[];
  /** How long its blob(s) are stored on Walrus (`storage.proof`; no model is read by `show`). */
  storage: StorageSummary;
}

/** What one proof verification is asked, its arguments checked. */
export interface ProofRequest {
  commitment: Commitment;
  root: BatchRoot | undefined;
  index: number | undefined;
  nodeUrl: string | false | undefined;
  reexecute: boolean;
  tolerance: Tolerance | undefined;
  /** Read a proof's quilt whole too, and check it against its Blob ID. */
  full: boolean;
  /** A private proof's data (see `VerifyProofOptions.reveal`). */
  reveal: PrivateReveal | undefined;
}

/**
 * Runs the steps of one proof verification in order ({@link proofSteps}): each step's outcome goes into the report with
 * its time; a step a later one needs that gives nothing skips the rest, saying why. `show` stops after the commitment
 * step and hands back the {@link ProofRecord}.
 */
export class ProofPipeline {
  private readonly steps: ProofStep<unknown>[];

  constructor(
    private readonly ctx: VerifierContext,
    locate: LocateStep,
  ) {
    this.steps = proofSteps(ctx, locate);
  }

  async run(
    request: ProofRequest,
    mode: "verify" | "show",
    out?: { value?: ProofRecord },
  ): Promise<VerificationReport> {
    const { value, traffic } = await this.ctx.metered(() => this.runSteps(request, mode, out));
    value.fetched = { ...value.fetched, ...traffic };
    if (out?.value) {
      out.value.fetched = value.fetched;
      out.value.storage = value.storage;
    }
    return value;
  }

  private async runSteps(
    request: ProofRequest,
    mode: "verify" | "show",
    out?: { value?: ProofRecord },
  ): Promise<VerificationReport> {
    const started = performance.now();
    const results: StepResult[] = [];
    const timings: Partial<Record<StepName, number>> = {};
    const state: ProofState = { ...request };
    const report = async (): Promise<VerificationReport> => {
      const { located, document } = state;
      const storage = storageSummary(
        this.ctx.settings.clock,
        await this.ctx.epochNow(),
        state.source?.anchor,
        state.version === undefined ? [] : [state.version],
      );
      return {
        ok: results.every((s) => s.status !== "fail"),
        commitment: request.commitment,
        ...(located?.kind === "batch" ? { root: located.root } : {}),
        ...(document?.index !== undefined ? { index: document.index } : {}),
        ...(located ? { foundBy: located.foundBy } : {}),
        steps: results,
        // The traffic is filled in by `run` once every read is done.
        fetched: { bytes: 0, reads: 0, ...(state.location ? { location: state.location } : {}) },
        storage,
        timings: { totalMs: performance.now() - started, steps: timings },
      };
    };
    const last = mode === "show" ? STEPS.indexOf("commitment") : STEPS.length - 1;
    for (const step of this.steps.slice(0, last + 1)) {
      const skipped = step.skip?.(state);
      if (skipped !== undefined) {
        results.push({ step: step.name, status: "skip", detail: skipped, values: {} });
        continue;
      }
      const { outcome, ms } = await this.ctx.runCheck(() => step.run(state));
      results.push({ step: step.name, status: outcome.status, detail: outcome.detail, values: outcome.values });
      timings[step.name] = ms;
      const value = outcome.status === "pass" ? outcome.value : undefined;
      step.keep?.(state, value);
      const halted = value === undefined ? step.halt?.(state) : undefined;
      if (halted !== undefined) {
        // The steps that cannot run, up to the last of this mode, are skipped with the reason.
        const done = new Set(results.map((s) => s.step));
        for (const name of STEPS.slice(0, last + 1)) {
          if (!done.has(name)) results.push({ step: name, status: "skip", detail: `skipped: ${halted}`, values: {} });
        }
        return report();
      }
    }
    if (mode === "show" && out) {
      out.value = {
        commitment: request.commitment,
        foundBy: state.located!.foundBy,
        anchor: state.source!.anchor,
        ...(state.document!.index === undefined ? {} : { index: state.document!.index }),
        document: state.proof!,
        blobSize: state.location!.proofBytes ?? state.location!.blobSize ?? 0,
        fetched: { bytes: 0, reads: 0, location: state.location! },
        steps: results,
        // Filled in by `run`, from the report.
        storage: { network: null, currentEpoch: null, models: [] },
      };
    }
    return report();
  }
}
