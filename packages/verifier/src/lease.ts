import { describeEpoch, formatEpochDate, epochStartDate, type EpochNow, type NetworkClock } from "@strata/walrus";
import type { ModelVersion } from "@strata/core";
import type { Anchor } from "./checks";
import { BlobExpiredError, type ExpiredBlobKind } from "./errors";
import type { ModelLease, StorageLease, StorageSummary, StepValue } from "./report";

/**
 * # Storage leases
 *
 * Walrus stores a blob until its end epoch (exclusive: it expires at the start of that epoch), and an expired blob
 * answers 404 like one never stored: whether a blob expired is known only from the end epoch the chain records (the
 * anchoring event's, raised by renewals; a model version's in the ModelRegistry) and the network's current epoch.
 */

/** The network's clock at one reading, or why it could not be read (a verification never fails for that). */
export type EpochReading = EpochNow | { error: string };

/** Reads `clock`, or says why there is no reading. */
export async function readClock(clock: NetworkClock | undefined): Promise<EpochReading> {
  if (clock === undefined) return { error: "no network clock was given (VerifierOptions.clock)" };
  try {
    return await clock.now();
  } catch (error) {
    return { error: `the clock of ${clock.network} cannot be read: ${(error as Error).message.split("\n")[0]}` };
  }
}

/** `epoch 12 (about 2026-12-05 14:00 UTC)`, or `epoch 12` without a reading. */
export function epochText(now: EpochReading, epoch: number): string {
  return "error" in now || epoch < 0 ? `epoch ${epoch}` : describeEpoch(now, epoch);
}

/** The lease of a blob stored until `endEpoch`, by the reading `now`. */
export function leaseOf(endEpoch: number, now: EpochReading): StorageLease {
  if ("error" in now) {
    return { endEpoch, currentEpoch: null, epochsLeft: null, expired: null, until: `epoch ${endEpoch}` };
  }
  return {
    endEpoch,
    currentEpoch: now.epoch,
    epochsLeft: endEpoch - now.epoch,
    expired: endEpoch <= now.epoch,
    until: describeEpoch(now, endEpoch),
    untilDate: formatEpochDate(epochStartDate(now, endEpoch)),
  };
}

/**
 * What a "not found" answer for a blob means by its recorded lease: expired (its end epoch has begun: a
 * {@link BlobExpiredError}), or missing although the record says it is still stored, or unknown (no end epoch
 * recorded, or no clock).
 */
export function notFoundVerdict(
  kind: ExpiredBlobKind,
  blobId: string,
  endEpoch: number | undefined,
  now: EpochReading,
): { expired: BlobExpiredError } | { detail: string; values: Record<string, StepValue> } {
  if (endEpoch === undefined) {
    return {
      detail: "not on Walrus (never stored, expired or deleted): no end epoch is recorded on-chain to tell which",
      values: { reason: "not-found", endEpoch: null },
    };
  }
  if ("error" in now) {
    return {
      detail:
        `not on Walrus (never stored, expired or deleted): it is recorded as stored until epoch ${endEpoch}, but ` +
        `whether that epoch has begun is unknown (${now.error})`,
      values: { reason: "not-found", endEpoch, currentEpoch: null },
    };
  }
  if (endEpoch <= now.epoch) {
    return {
      expired: new BlobExpiredError(kind, blobId, endEpoch, now.epoch, {
        expiredAt: describeEpoch(now, endEpoch),
        ...(endEpoch >= 2 ? { renewalDueBy: describeEpoch(now, endEpoch - 1) } : {}),
      }),
    };
  }
  return {
    detail:
      `not on Walrus, although by the record its lease is not over (stored until ${describeEpoch(now, endEpoch)}, ` +
      `current epoch ${now.epoch}): not expired, but never stored or deleted`,
    values: { reason: "not-found", endEpoch, currentEpoch: now.epoch },
  };
}

/** The step values of an expired blob. */
export function expiredValues(error: BlobExpiredError): Record<string, StepValue> {
  return {
    reason: "expired",
    code: error.code,
    blobKind: error.kind,
    expiredBlobId: error.blobId,
    endEpoch: error.endEpoch,
    currentEpoch: error.currentEpoch,
    expiredAt: error.expiredAt ?? null,
    renewalDueBy: error.renewalDueBy ?? null,
  };
}

/**
 * A report's storage summary: the lease of the anchor's blob(s) (when the chain records an end epoch) and of each
 * model version, at one reading of the clock.
 */
export function storageSummary(
  clock: NetworkClock | undefined,
  now: EpochReading,
  anchor: Anchor | undefined,
  versions: readonly ModelVersion[],
): StorageSummary {
  const models: ModelLease[] = [];
  const seen = new Set<string>();
  for (const version of versions) {
    const key = `${version.modelId}:${version.index}`;
    if (seen.has(key)) continue;
    seen.add(key);
    models.push({
      modelId: version.modelId,
      version: version.index,
      blobId: version.blobId,
      ...leaseOf(version.endEpoch, now),
    });
  }
  return {
    network: clock?.network ?? null,
    currentEpoch: "error" in now ? null : now.epoch,
    ...("error" in now ? { clockError: now.error } : {}),
    ...(anchor?.endEpoch === undefined
      ? {}
      : { proof: { blobIds: anchor.blobIds ?? [anchor.blobId], ...leaseOf(anchor.endEpoch, now) } }),
    models,
  };
}
