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
  { kind: "model"; deprecated: boolean; endEpoch: number } | { kind: "batch"; anchoredEpoch: number; endEpoch: number };

/** What the policy says to do with a lease now. */
export type Decision =
  /** Buy storage up to `target` (exclusive end epoch), now. */
  | { action: "renew"; target: number; reason: string }
  /** Nothing to do yet: the lease lasts long enough. */
  | { action: "keep"; reason: string }
  /** The policy does not keep it (deprecated, or past its retention): it is let lapse. */
  | { action: "lapse"; reason: string }
  /** The policy keeps it but its storage has already ended: it cannot be renewed. */
  | { action: "expired"; reason: string };

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
  if (subject.kind === "model") {
    return subject.deprecated ? undefined : current + Math.min(MAX_EPOCHS_AHEAD, 2 * policy.modelAhead);
  }
  const until = subject.anchoredEpoch + policy.retention;
  return until > current ? until : undefined;
}

/** What to do with a lease at epoch `current`. */
export function decide(subject: LeaseSubject, current: number, policy: KeeperPolicy): Decision {
  const { endEpoch } = subject;
  const left = endEpoch - current;
  const until = keptUntil(subject, current, policy);
  if (until === undefined) {
    const why =
      subject.kind === "model"
        ? "deprecated"
        : `its retention of ${policy.retention} epochs ended at epoch ${subject.anchoredEpoch + policy.retention}`;
    return {
      action: "lapse",
      reason: left > 0 ? `${why}: let lapse at epoch ${endEpoch}` : `${why}: lapsed at epoch ${endEpoch}`,
    };
  }
  if (left <= 0) {
    return {
      action: "expired",
      reason: `could not renew: expired at epoch ${endEpoch} (Walrus extends storage only before it ends)`,
    };
  }
  const threshold = subject.kind === "model" ? policy.modelAhead : policy.renewWithin;
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
  const left = subject.endEpoch - current;
  switch (decision.action) {
    case "lapse":
      return left > 0 ? "lapsing" : "lapsed";
    case "expired":
      return "expired";
    case "renew":
      return "at-risk";
    case "keep":
      return left < warnWithin ? "warn" : "ok";
  }
}

/** Whether a state makes `strata status` exit 1: something the policy keeps is at risk or expired. */
export function isFailing(state: LeaseState): boolean {
  return state === "at-risk" || state === "expired";
}
