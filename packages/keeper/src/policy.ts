/**
 * The keeper's policy, as pure functions of a lease (what is stored, until which epoch) and the current epoch:
 *
 * - active (not deprecated) model versions are kept at least `modelAhead` (E) epochs ahead: when fewer than E epochs
 *   are left, they are renewed to `current + min(53, 2E)`;
 * - deprecated versions lapse (reported, never renewed);
 * - proof batches are kept until `anchoredEpoch + retention` (R): when fewer than `renewWithin` (W) epochs are left,
 *   they are renewed to `min(anchoredEpoch + R, current + 53)`; after that they lapse;
 * - nothing is ever bought beyond `current + 53` (Walrus's limit), and an expired blob cannot be renewed (Walrus
 *   extends only before expiry): it is reported "could not renew: expired at epoch E".
 *
 * - a model's metadata blob is kept like an active version (E epochs ahead, renewed to `current + min(53, 2E)`) while
 *   the model has any active version, and lapses once every version is deprecated. Its end epoch is the keeper's own
 *   record (the chain has none): without one it is unknown, and the keeper learns it by storing the bytes again with
 *   the target epochs (`learn`: free when it already lasts long enough, a renewal otherwise);
 * - singly anchored proofs are kept as batches are.
 *
 * End epochs are exclusive, as Walrus's: a blob whose end epoch is E is gone once epoch E starts.
 */
import { MAX_EPOCHS_AHEAD } from "@strata/walrus";
import { KeeperPolicyError } from "./errors";

export interface KeeperPolicy {
  /** E: active model versions are kept at least this many epochs ahead (renewed when fewer are left). */
  modelAhead: number;
  /** R: proofs are kept this many epochs after the epoch they were anchored in. */
  retention: number;
  /** W: a proof batch is renewed when fewer than this many epochs are left. */
  renewWithin: number;
}

/** The defaults: E = 5, R = 26, W = 2 (see the package README). */
export const DEFAULT_POLICY: Readonly<KeeperPolicy> = Object.freeze({ modelAhead: 5, retention: 26, renewWithin: 2 });

/** What a lease is, to the policy. */
export type LeaseSubject =
  | { kind: "model"; deprecated: boolean; endEpoch: number }
  | { kind: "batch" | "proof"; anchoredEpoch: number; endEpoch: number }
  /** `endEpoch` is the keeper's record; `undefined`: unknown (not yet seen by the keeper). */
  | { kind: "metadata"; activeVersions: number; endEpoch: number | undefined };

/** What the policy says to do with a lease now. */
export type Decision =
  /** Buy storage up to `target` (exclusive end epoch), now. */
  | { action: "renew"; target: number; reason: string }
  /**
   * The end epoch is unknown (a metadata blob the keeper has not seen): store the bytes again up to `target` and learn
   * it from the answer (free when it already lasts that long, a renewal otherwise).
   */
  | { action: "learn"; target: number; reason: string }
  /** Nothing to do yet: the lease lasts long enough. */
  | { action: "keep"; reason: string }
  /** The policy does not keep it (deprecated, or past its retention): it is let lapse. */
  | { action: "lapse"; reason: string }
  /** The policy keeps it but its storage has already ended: it cannot be renewed. */
  | { action: "expired"; reason: string };

/** How an end epoch the keeper has no record of is told. */
export const UNKNOWN_END = "unknown (not yet seen by the keeper)";

/** The state of a lease, as `strata status` shows it. */
export type LeaseState = "ok" | "warn" | "at-risk" | "expired" | "lapsing" | "lapsed";

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new KeeperPolicyError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** Checks a policy; throws {@link KeeperPolicyError} naming the setting that is out of range. */
export function checkPolicy(policy: KeeperPolicy): KeeperPolicy {
  checkInteger("the model lead E (--model-ahead)", policy.modelAhead, 1, MAX_EPOCHS_AHEAD);
  checkInteger("the proof retention R (--retention)", policy.retention, 1, 1_000_000);
  checkInteger("the proof renewal window W (--renew-within)", policy.renewWithin, 1, MAX_EPOCHS_AHEAD);
  return policy;
}

/**
 * The end epoch (exclusive) the policy keeps the lease to, seen from `current`: `undefined` when the policy no longer
 * keeps it (a deprecated version, a batch past its retention).
 */
export function keptUntil(subject: LeaseSubject, current: number, policy: KeeperPolicy): number | undefined {
  const ahead = current + Math.min(MAX_EPOCHS_AHEAD, 2 * policy.modelAhead);
  if (subject.kind === "model") return subject.deprecated ? undefined : ahead;
  if (subject.kind === "metadata") return subject.activeVersions > 0 ? ahead : undefined;
  const until = subject.anchoredEpoch + policy.retention;
  return until > current ? until : undefined;
}

/** What to do with a lease at epoch `current`. */
export function decide(subject: LeaseSubject, current: number, policy: KeeperPolicy): Decision {
  const until = keptUntil(subject, current, policy);
  const why = () =>
    subject.kind === "model"
      ? "deprecated"
      : subject.kind === "metadata"
        ? "every version deprecated"
        : `its retention of ${policy.retention} epochs ended at epoch ${subject.anchoredEpoch + policy.retention}`;
  if (subject.endEpoch === undefined) {
    if (until === undefined) return { action: "lapse", reason: `${why()}: let lapse (end epoch ${UNKNOWN_END})` };
    const target = Math.min(until, current + MAX_EPOCHS_AHEAD);
    return {
      action: "learn",
      target,
      reason: `end epoch ${UNKNOWN_END}: store it again to epoch ${target} to learn it (free if it lasts that long)`,
    };
  }
  const endEpoch = subject.endEpoch;
  const left = endEpoch - current;
  if (until === undefined) {
    const why_ = why();
    return {
      action: "lapse",
      reason: left > 0 ? `${why_}: let lapse at epoch ${endEpoch}` : `${why_}: lapsed at epoch ${endEpoch}`,
    };
  }
  if (left <= 0) {
    return {
      action: "expired",
      reason: `could not renew: expired at epoch ${endEpoch} (Walrus extends storage only before it ends)`,
    };
  }
  const threshold = subject.kind === "model" || subject.kind === "metadata" ? policy.modelAhead : policy.renewWithin;
  // Never beyond current + 53; a batch never beyond its retention.
  const target = Math.min(until, current + MAX_EPOCHS_AHEAD);
  if (target <= endEpoch) {
    return { action: "keep", reason: `stored until epoch ${endEpoch}, as far as the policy keeps it` };
  }
  if (left < threshold) {
    return {
      action: "renew",
      target,
      reason: `${left} epoch(s) left, fewer than ${threshold}: renew to epoch ${target}`,
    };
  }
  return { action: "keep", reason: `${left} epoch(s) left: renewal is due when fewer than ${threshold} are` };
}

/**
 * The state `strata status` shows: `expired` (kept by the policy, storage ended), `at-risk` (kept, and its renewal is
 * due but not done), `warn` (kept, fewer than `warnWithin` epochs left), `ok`; `lapsing` / `lapsed` for what the policy
 * no longer keeps (still stored / gone).
 */
export function leaseState(
  subject: LeaseSubject,
  current: number,
  policy: KeeperPolicy,
  warnWithin: number,
): LeaseState {
  const decision = decide(subject, current, policy);
  // An unknown end epoch is never `ok`: a lease the policy keeps is `warn` until the keeper has seen it.
  const left = subject.endEpoch === undefined ? undefined : subject.endEpoch - current;
  switch (decision.action) {
    case "learn":
      return "warn";
    case "lapse":
      return left === undefined || left > 0 ? "lapsing" : "lapsed";
    case "expired":
      return "expired";
    case "renew":
      return "at-risk";
    case "keep":
      return left === undefined || left < warnWithin ? "warn" : "ok";
  }
}

/** Whether a state makes `strata status` exit 1: something the policy keeps is at risk or expired. */
export function isFailing(state: LeaseState): boolean {
  return state === "at-risk" || state === "expired";
}
