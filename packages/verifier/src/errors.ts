import { isError } from "ethers";
import { StrataError } from "@strata/errors";
import { InvalidArgumentError } from "@strata/core";
import {
  BlobTooLargeError,
  WalrusHttpError,
  WalrusNetworkError,
  WalrusResponseError,
  WalrusTimeoutError,
} from "@strata/walrus";
import type { BatchReport, BatchStepName, StepName, VerificationReport } from "./report";

/**
 * Typed errors of the verifier. A verification whose checks fail is not an exception: it is a report with `ok: false`
 * ({@link VerificationReport}); {@link assertVerified} turns one into a {@link VerificationFailedError} for callers who
 * prefer to throw. What is thrown is what stops a verification from running at all: a bad argument
 * ({@link VerifierUsageError}) or a service that cannot be reached ({@link ServiceUnreachableError}).
 *
 * `exitCode` is the `strata` CLI's exit status for each: 1 when a check failed, 2 for usage or an unreachable service.
 */

/** The stable machine-readable code of every {@link VerificationError}. */
export type VerificationErrorCode = "USAGE" | "UNREACHABLE" | "CHECK_FAILED" | "BLOB_EXPIRED";

/** The base of every error `@strata/verifier` throws: a {@link StrataError} with a {@link VerificationErrorCode}. */
export abstract class VerificationError extends StrataError {
  declare readonly code: VerificationErrorCode;
  /** The exit status of the `strata` CLI for this error. */
  abstract readonly exitCode: 1 | 2;

  protected constructor(code: VerificationErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** An argument or option is malformed, or the deployment does not match the chain: nothing was checked. */
export class VerifierUsageError extends VerificationError {
  declare readonly code: "USAGE";
  readonly exitCode = 2;

  constructor(
    /** The argument or option at fault, e.g. `commitment`, `index`, `deployment`. */
    readonly argument: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("USAGE", message, options);
  }
}

/** The services a verification talks to. */
export type VerifierService = "chain" | "walrus" | "node";

/** The chain RPC, a Walrus aggregator or a node did not answer (or answered with a server error). */
export class ServiceUnreachableError extends VerificationError {
  declare readonly code: "UNREACHABLE";
  readonly exitCode = 2;

  constructor(
    readonly service: VerifierService,
    /** Where it was asked, when known. */
    readonly url: string | undefined,
    /** What went wrong, in a few words. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      "UNREACHABLE",
      `The ${SERVICE_NAMES[service]}${url === undefined ? "" : ` at ${url}`} cannot be reached: ${reason}. ` +
        HINTS[service],
      options,
    );
  }
}

/** A verification ran and a check failed; carries the report. Thrown by {@link assertVerified}, never by a check. */
export class VerificationFailedError extends VerificationError {
  declare readonly code: "CHECK_FAILED";
  readonly exitCode = 1;
  /** The first failed step. */
  readonly step: StepName | BatchStepName;
  /** The expiry that failed it, when a blob's (or the model's) storage had expired. */
  readonly expired: BlobExpiredError | undefined;

  constructor(readonly report: VerificationReport | BatchReport) {
    const failed = firstFailure(report);
    const expired = report.steps.map(expiryOf).find((e) => e !== undefined);
    const subject = "commitment" in report ? `Proof ${report.commitment}` : `Batch ${report.root}`;
    super(
      "CHECK_FAILED",
      failed === undefined
        ? `${subject} failed verification`
        : `${subject} failed verification at step ${failed.step}: ${failed.detail}`,
    );
    this.step = failed?.step ?? "locate";
    this.expired = expired;
  }
}

/** What an expired blob held. */
export type ExpiredBlobKind = "proof blob" | "batch blob" | "quilt" | "model blob";

/**
 * A blob's storage on Walrus has ended: a read answered "not found" and the end epoch the chain records for it has
 * begun (Walrus drops a blob at the start of its end epoch, and answers it like one never stored). Distinct from a
 * blob not found although its lease is not over (never stored, or deleted) and from a corrupted one (its bytes do not
 * match its Blob ID or sha256). A verification reports it as its step's failure (`values.reason` "expired"); it is
 * thrown by nothing but carried by {@link VerificationFailedError.expired}.
 */
export class BlobExpiredError extends VerificationError {
  declare readonly code: "BLOB_EXPIRED";
  readonly exitCode = 1;
  /** `epoch E (about <date>)`, when the clock gave dates. */
  readonly expiredAt: string | undefined;
  /** `epoch E-1 (about <date>)`: the last epoch in which a renewal could still extend it. */
  readonly renewalDueBy: string | undefined;

  constructor(
    readonly kind: ExpiredBlobKind,
    readonly blobId: string,
    /** The end epoch (exclusive) the chain records. */
    readonly endEpoch: number,
    /** The network's current epoch. */
    readonly currentEpoch: number,
    dates: { expiredAt?: string; renewalDueBy?: string } = {},
  ) {
    const at = dates.expiredAt ?? `epoch ${endEpoch}`;
    const due = dates.renewalDueBy ?? `epoch ${Math.max(0, endEpoch - 1)}`;
    super(
      "BLOB_EXPIRED",
      `the ${kind} ${blobId} expired at ${at}; renewal was due by ${due} (the current epoch is ${currentEpoch}): ` +
        "Walrus no longer stores it (it answers not found). Renew with `strata keeper` before expiry; an expired blob " +
        "cannot be extended, only stored again from a copy (then record its new end epoch on-chain)",
    );
    this.expiredAt = dates.expiredAt;
    this.renewalDueBy = dates.renewalDueBy;
  }
}

const EXPIRED_KINDS: readonly string[] = ["proof blob", "batch blob", "quilt", "model blob"];

/** The {@link BlobExpiredError} a failed step's values describe, if it failed for an expiry. */
function expiryOf(step: { status: string; values: Record<string, unknown> }): BlobExpiredError | undefined {
  const v = step.values;
  if (step.status !== "fail" || v.reason !== "expired") return undefined;
  if (typeof v.expiredBlobId !== "string" || typeof v.endEpoch !== "number" || typeof v.currentEpoch !== "number") {
    return undefined;
  }
  const kind = EXPIRED_KINDS.includes(String(v.blobKind)) ? (v.blobKind as ExpiredBlobKind) : "proof blob";
  return new BlobExpiredError(kind, v.expiredBlobId, v.endEpoch, v.currentEpoch, {
    ...(typeof v.expiredAt === "string" ? { expiredAt: v.expiredAt } : {}),
    ...(typeof v.renewalDueBy === "string" ? { renewalDueBy: v.renewalDueBy } : {}),
  });
}

/**
 * Bytes an aggregator served for a quilt patch failed the verifier's check (the proof's patch does not commit to its
 * identifier, or the index patch is not an index of the anchored root). Thrown inside `WalrusClient.readPatch`'s
 * `verify` so that the next aggregator is tried; a verification never throws it (the steps report the bytes).
 */
export class PatchRejectedError extends VerificationError {
  declare readonly code: "CHECK_FAILED";
  readonly exitCode = 1;

  constructor(
    /** The patch ID, or `quiltId/identifier`. */
    readonly patch: string,
    readonly reason: string,
  ) {
    super("CHECK_FAILED", `The bytes served for patch ${patch} fail the verifier's check: ${reason}`);
  }
}

/** Throws {@link VerificationFailedError} unless every check of `report` passed (or was skipped as not requested). */
export function assertVerified<R extends VerificationReport | BatchReport>(report: R): R {
  if (!report.ok) throw new VerificationFailedError(report);
  return report;
}

/** The first failed step of a report (for a batch: a batch-level step, else the first failing proof's first step). */
export function firstFailure(
  report: VerificationReport | BatchReport,
): { step: StepName | BatchStepName; detail: string } | undefined {
  const step = report.steps.find((s) => s.status === "fail");
  if (step !== undefined) return step;
  if ("proofs" in report) {
    const proof = report.proofs.find((p) => !p.ok);
    const failure = proof?.failures[0];
    if (proof !== undefined && failure !== undefined) {
      return { step: failure.step, detail: `proof #${proof.index} ${proof.commitment}: ${failure.detail}` };
    }
  }
  return undefined;
}

const SOCKET_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ETIMEDOUT", "EHOSTUNREACH", "EPIPE"]);

const SERVICE_NAMES: Record<VerifierService, string> = {
  chain: "chain RPC",
  walrus: "Walrus aggregator",
  node: "inference node",
};

const HINTS: Record<VerifierService, string> = {
  chain: "Check the RPC URL (--rpc or STRATA_RPC_URL) and that the chain is running",
  walrus: "Check the aggregator URLs (--aggregator or STRATA_WALRUS_AGGREGATORS) and that the store is running",
  node: "Check the node URL (--node-url or STRATA_NODE_URL), or verify without it",
};

/**
 * The {@link ServiceUnreachableError} that `error` amounts to, or `undefined` when it is not a service failure (then it
 * is a check failure or a bug, and the caller decides). Walrus: network errors, timeouts, 5xx/429 answers and malformed
 * responses. Chain: ethers network, timeout and server errors.
 */
export function asServiceError(error: unknown, chainUrl?: string): ServiceUnreachableError | undefined {
  if (error instanceof ServiceUnreachableError) return error;
  if (error instanceof WalrusNetworkError || error instanceof WalrusTimeoutError) {
    return new ServiceUnreachableError("walrus", error.url, firstLine(error.message), { cause: error });
  }
  if (error instanceof WalrusHttpError && (error.status >= 500 || error.status === 429)) {
    return new ServiceUnreachableError("walrus", error.url, `it answered HTTP ${error.status}`, { cause: error });
  }
  if (error instanceof WalrusResponseError) {
    return new ServiceUnreachableError("walrus", error.url, firstLine(error.message), { cause: error });
  }
  if (error instanceof BlobTooLargeError) {
    return new ServiceUnreachableError("walrus", error.url, firstLine(error.message), { cause: error });
  }
  if (isError(error, "NETWORK_ERROR") || isError(error, "TIMEOUT") || isError(error, "SERVER_ERROR")) {
    return new ServiceUnreachableError("chain", chainUrl, firstLine(error.shortMessage), { cause: error });
  }
  if (isError(error, "UNKNOWN_ERROR") && /ECONNREFUSED|ECONNRESET|socket|fetch failed/i.test(String(error.message))) {
    return new ServiceUnreachableError("chain", chainUrl, firstLine(error.shortMessage), { cause: error });
  }
  // A socket error from the provider's transport (Walrus errors were classified above).
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && SOCKET_ERRORS.has(code)) {
    return new ServiceUnreachableError("chain", chainUrl, firstLine((error as Error).message), { cause: error });
  }
  return undefined;
}

/** Runs `parse`, turning core's {@link InvalidArgumentError} into a {@link VerifierUsageError}. */
export function usage<T>(argument: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new VerifierUsageError(argument, error.message, { cause: error });
    throw error;
  }
}

export function firstLine(message: string): string {
  return message.split("\n")[0];
}
