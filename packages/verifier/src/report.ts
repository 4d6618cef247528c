import type { Bytes32 } from "@strata/core";

/**
 * # Verification reports
 *
 * Every check of a verification is a step with a status and the values it compared; a report is the ordered steps,
 * whether they all held, and how long each took. Reports are plain data: `JSON.stringify(report)` is the JSON form
 * (every value is a string, number, boolean or null), and {@link renderReport} is the human one, one line per step.
 */

/** The checks of a proof verification, in the order they run. */
export const STEPS = [
  "locate",
  "chain-record",
  "blob",
  "document",
  "inclusion",
  "commitment",
  "signature",
  "node-active",
  "domain",
  "model",
  "runtime",
  "reexecution",
] as const;

/** One check of a verification. */
export type StepName = (typeof STEPS)[number];

/**
 * `pass` and `fail` are the outcome of a check; `skip` means it did not apply, was not requested, or could not run;
 * `unavailable` is a private proof's re-execution without its data: not possible without the data, neither passed nor
 * failed (the report is `ok` when nothing failed, and says what it could not check).
 */
export type StepStatus = "pass" | "fail" | "skip" | "unavailable";

/** A value a step compared or found (JSON scalars only, so a report serializes as is). */
export type StepValue = string | number | boolean | null;

/** The outcome of one step. */
export interface StepResult {
  step: StepName;
  status: StepStatus;
  /** One sentence: what was compared and what was found (for a failure: what failed and why). */
  detail: string;
  /** The values compared, by name (full hex; the detail may shorten them). */
  values: Record<string, StepValue>;
}

/** Where a proof was read from on Walrus. */
export interface Location {
  /** The blob that holds the proof: its proof blob, its v1 batch blob, or its quilt (the quilt ID). */
  blobId: string;
  /** The size of that blob in bytes, when it was read whole (a quilt is read whole only by a `full` audit). */
  blobSize?: number;
  /** A proof in a quilt: its patch's identifier (the commitment). */
  identifier?: string;
  /**
   * A proof in a quilt: the quilt patch ID of its patch, when it is known for sure: read by the patch ID a node gave
   * (the bytes served under it commit to the commitment), or computed from the whole quilt (`full`). A patch read by
   * quilt ID and identifier comes without one (an aggregator's word on positions is not taken).
   */
  patchId?: string;
  /** The size of the proof's own document in bytes (its patch, in a quilt; its blob, anchored singly). */
  proofBytes?: number;
  /** A proof in a quilt: the quilt's position among the quilts of its root (0-based), and how many there are. */
  quilt?: number;
  quilts?: number;
  /** A proof in a quilt: where its Merkle proof came from (the quilt's index patch, or the node's answer). */
  inclusionFrom?: "index-patch" | "node";
  /** The whole quilt was read and checked against its Blob ID (the `full` audit). */
  full?: boolean;
}

/**
 * What a verification read from Walrus: the bytes of proof data (blobs, patches) over the wire and the reads that
 * brought them (a read served from the verifier's cache brings nothing; a model fetched for re-execution is not
 * counted), and where the proof lives (absent when nothing was found).
 */
export interface FetchSummary {
  bytes: number;
  reads: number;
  location?: Location;
}

/** How long a blob is stored on Walrus, by the end epoch the chain records and the network's clock. */
export interface StorageLease {
  /** The end epoch (exclusive: the blob expires at its start), as recorded on-chain. */
  endEpoch: number;
  /** The network's current epoch; null when the clock could not be read. */
  currentEpoch: number | null;
  /** `endEpoch - currentEpoch` (0 or less once expired); null without a clock. */
  epochsLeft: number | null;
  /** Whether the end epoch has begun; null without a clock. */
  expired: boolean | null;
  /** `epoch E (about YYYY-MM-DD HH:MM UTC)`, or `epoch E` without a clock. */
  until: string;
  /** The approximate start of the end epoch (`YYYY-MM-DD HH:MM UTC`), when the clock gave it. */
  untilDate?: string;
}

/** The lease of a model version's file. */
export interface ModelLease extends StorageLease {
  modelId: string;
  version: number;
  blobId: string;
}

/** How long what a verification read stays on Walrus: the proof's blob(s) and the model version(s). */
export interface StorageSummary {
  /** The network whose clock was read, when one was. */
  network: string | null;
  /** The current epoch; null when unknown (then `clockError` says why, and leases have no dates). */
  currentEpoch: number | null;
  clockError?: string;
  /**
   * The proof's blob(s): its proof blob, its batch blob or every quilt of its root (the earliest end epoch among them,
   * as anchored, raised by renewals). Absent when no anchor was read, or when the chain records no end epoch.
   */
  proof?: StorageLease & { blobIds: string[] };
  /** The model version(s) the proofs name (one for a proof), as the ModelRegistry records them. */
  models: ModelLease[];
}

/** How the anchor of a commitment was found. */
export type FoundBy = "single-anchor" | "caller-root" | "node-hint" | "event-scan";

/** The report of one proof's verification. */
export interface VerificationReport {
  /** Every step passed or was skipped as not applicable: none failed. */
  ok: boolean;
  commitment: Bytes32;
  /** The batch root the proof is anchored under (absent for a single anchor or when none was found). */
  root?: Bytes32;
  /** The proof's position in the batch. */
  index?: number;
  /** How the anchor was found. */
  foundBy?: FoundBy;
  steps: StepResult[];
  /** What was read from Walrus, and where the proof lives there. */
  fetched: FetchSummary;
  /** How long the proof's blob(s) and its model version are stored on Walrus ("stored until epoch E"). */
  storage: StorageSummary;
  timings: Timings;
}

/** Milliseconds, in total and per step. */
export interface Timings {
  totalMs: number;
  steps: Partial<Record<StepName | BatchStepName, number>>;
}

/** The batch-level checks of {@link BatchReport}. */
export type BatchStepName = "chain-record" | "blob" | "document" | "spot-check" | "node-history";

/** The per-proof checks of a batch verification. */
export type BatchProofStep = "inclusion" | "signature" | "node-active" | "domain" | "model";

/** The outcome of one proof of a batch. */
export interface BatchProofOutcome {
  index: number;
  commitment: Bytes32;
  ok: boolean;
  /** The checks that failed, with why (empty when `ok`). */
  failures: { step: BatchProofStep; detail: string }[];
}

/** The report of a whole batch's verification ({@link Verifier.verifyBatch}). */
export interface BatchReport {
  /** Every batch-level step passed and every proof passed every check. */
  ok: boolean;
  root: Bytes32;
  /** The batch-level steps (chain record, blob, document, on-chain spot check, node history). */
  steps: (Omit<StepResult, "step"> & { step: StepName | BatchStepName })[];
  /** One outcome per proof, in batch order (empty when a batch-level step failed before proofs could be checked). */
  proofs: BatchProofOutcome[];
  passed: number;
  failed: number;
  /** How the checks ran, when it matters (e.g. signatures recovered by the slower fallback); absent otherwise. */
  notes?: string[];
  /** What was read from Walrus: the batch blob (or every quilt of the root, each once). */
  fetched: FetchSummary;
  /** How long the batch's blob(s) and the model versions its proofs name are stored on Walrus. */
  storage: StorageSummary;
  timings: Timings & {
    /** Chain reads, blob fetch with its integrity check, decoding (with every commitment), per-proof checks. */
    chainMs: number;
    fetchMs: number;
    decodeMs: number;
    checkMs: number;
    /** Proofs per second over the whole verification, and over decoding and checking only (fetch excluded). */
    proofsPerSecond: number;
    checkedPerSecond: number;
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Rendering

const MARK: Record<StepStatus, string> = { pass: "PASS", fail: "FAIL", skip: "skip", unavailable: "N/A " };
const FOUND_BY: Record<FoundBy, string> = {
  "single-anchor": "anchored singly",
  "caller-root": "batch root given by the caller",
  "node-hint": "batch root from the node (a hint, verified here)",
  "event-scan":
    "found by scanning the signer's batch events (BatchAnchored, BatchAnnounced, QuiltsAnchored, QuiltsAnnounced)",
};

/** The human form of a proof report: a verdict line, one line per step (status, name, what was compared), timing. */
export function renderReport(report: VerificationReport): string {
  const failed = report.steps.find((s) => s.status === "fail");
  const where =
    report.root === undefined
      ? report.foundBy === "single-anchor"
        ? " (anchored singly)"
        : ""
      : ` (batch ${short(report.root)}${report.index === undefined ? "" : ` #${report.index}`})`;
  const unavailable = report.steps.filter((s) => s.status === "unavailable").map((s) => s.step);
  const verdict = report.ok
    ? unavailable.length === 0
      ? "VERIFIED"
      : `VERIFIED except ${unavailable.join(", ")} (not possible without the data)`
    : `FAILED at ${failed?.step ?? "?"}`;
  const width = Math.max(...report.steps.map((s) => s.step.length));
  const lines = [
    `proof ${report.commitment}${where}: ${verdict}`,
    ...report.steps.map((s) => `  ${MARK[s.status]}  ${s.step.padEnd(width)}  ${s.detail}`),
  ];
  if (report.foundBy !== undefined) lines.push(`  (${FOUND_BY[report.foundBy]})`);
  lines.push(`  ${describeFetched(report.fetched)}`);
  lines.push(...describeStorage(report.storage, "proof").map((line) => `  ${line}`));
  lines.push(`  checked in ${formatMs(report.timings.totalMs)}`);
  return lines.join("\n");
}

/** The human form of a batch report: verdict, batch-level steps, each failing proof, throughput. */
export function renderBatchReport(report: BatchReport): string {
  const width = Math.max(...report.steps.map((s) => s.step.length));
  const total = report.passed + report.failed;
  const lines = [
    `batch ${report.root}: ${report.ok ? "VERIFIED" : "FAILED"} (${report.passed} of ${total} proofs pass)`,
    ...report.steps.map((s) => `  ${MARK[s.status]}  ${s.step.padEnd(width)}  ${s.detail}`),
  ];
  for (const proof of report.proofs.filter((p) => !p.ok)) {
    for (const failure of proof.failures) {
      lines.push(`  FAIL  proof #${proof.index} ${short(proof.commitment)} ${failure.step}: ${failure.detail}`);
    }
  }
  for (const note of report.notes ?? []) lines.push(`  note: ${note}`);
  lines.push(`  ${describeFetched(report.fetched)}`);
  lines.push(...describeStorage(report.storage, "batch").map((line) => `  ${line}`));
  const t = report.timings;
  lines.push(
    `  ${total} proofs in ${formatMs(t.totalMs)} (${Math.round(t.proofsPerSecond)} proofs/s; ` +
      `fetch ${formatMs(t.fetchMs)}, decode ${formatMs(t.decodeMs)}, checks ${formatMs(t.checkMs)}: ` +
      `${Math.round(t.checkedPerSecond)} proofs/s checked)`,
  );
  return lines.join("\n");
}

/**
 * One line on what a verification read from Walrus: `fetched 2,345 bytes from Walrus in 2 reads: patch … (the proof:
 * 1,234 bytes) of quilt …, Merkle proof from the quilt's index patch`.
 */
export function describeFetched(fetched: FetchSummary): string {
  const head = `fetched ${bytes(fetched.bytes)} from Walrus in ${fetched.reads} read${fetched.reads === 1 ? "" : "s"}`;
  const at = fetched.location;
  if (at === undefined) return head;
  if (at.identifier === undefined) {
    return `${head}: blob ${at.blobId}${at.blobSize === undefined ? "" : ` (${bytes(at.blobSize)}, read whole)`}`;
  }
  const how = at.patchId === undefined ? "read by quilt ID and identifier; " : "";
  const quilt = at.quilts !== undefined && at.quilts > 1 ? ` (quilt ${at.quilt! + 1} of ${at.quilts})` : "";
  const proof = at.proofBytes === undefined ? "" : `the proof: ${bytes(at.proofBytes)}`;
  const from =
    at.inclusionFrom === "node"
      ? ", Merkle proof from the node"
      : at.inclusionFrom === "index-patch"
        ? ", Merkle proof from the quilt's index patch"
        : "";
  const whole = at.full ? `; the whole quilt (${bytes(at.blobSize ?? 0)}) read and checked against its Blob ID` : "";
  const about = how || proof ? ` (${how}${proof})` : "";
  return `${head}: patch ${at.patchId ?? short(at.identifier)}${about} of quilt ${at.blobId}${quilt}${from}${whole}`;
}

/**
 * The storage lines of a report: `proof stored until epoch 12 (about 2026-12-05 14:00 UTC): 7 epochs left (current
 * epoch 5)`, one per model version likewise, and why dates are missing when the clock could not be read.
 */
export function describeStorage(storage: StorageSummary, subject: "proof" | "batch"): string[] {
  const lines: string[] = [];
  const { proof } = storage;
  if (proof !== undefined) {
    const blobs = proof.blobIds.length > 1 ? ` (${proof.blobIds.length} quilts, the earliest end)` : "";
    lines.push(`${subject} ${describeLease(proof)}${blobs}`);
  }
  for (const model of storage.models) {
    lines.push(`model ${short(model.modelId)} version ${model.version} ${describeLease(model)}`);
  }
  if (storage.clockError !== undefined && lines.length > 0) lines.push(`(no dates: ${storage.clockError})`);
  return lines;
}

/** `stored until epoch 12 (about …): 7 epochs left (current epoch 5)`, `…: EXPIRED (…)`, or without a clock. */
export function describeLease(lease: StorageLease): string {
  const head = `stored until ${lease.until}`;
  if (lease.epochsLeft === null) return `${head} (the current epoch is unknown)`;
  if (lease.expired) return `${head}: EXPIRED (the current epoch is ${lease.currentEpoch})`;
  return `${head}: ${lease.epochsLeft} epoch${lease.epochsLeft === 1 ? "" : "s"} left (current epoch ${lease.currentEpoch})`;
}

/** `1,234 bytes`. */
export function bytes(n: number): string {
  return `${n.toLocaleString("en-US")} byte${n === 1 ? "" : "s"}`;
}

/** `0x1234abcd…89ef` for a long hex value; anything else unchanged. */
export function short(hex: string): string {
  return /^0x[0-9a-fA-F]{40,}$/.test(hex) ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex;
}

/** Unix seconds as ISO 8601 (UTC). */
export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}
