/**
 * `strata status`: every lease with its end epoch, the epochs left, the approximate date it ends (from the network's
 * epoch length) and its state under the policy; failing when anything the policy keeps is at risk or expired. A model's
 * metadata blob has no end epoch on-chain: its row shows the keeper's record (`readKeeperRecords`), or "unknown (not
 * yet seen by the keeper)" with state `warn` (never `ok`) while the policy keeps it.
 */
import { formatEpochDate, epochStartDate, type EpochNow } from "@strata/walrus";
import type { Inventory, Lease, LeaseKind } from "./inventory";
import { decide, isFailing, leaseState, UNKNOWN_END, type KeeperPolicy, type LeaseState } from "./policy";

/** `strata status --warn-within`'s default: warn when fewer than this many epochs are left. */
export const DEFAULT_WARN_WITHIN = 3;

export interface StatusRow {
  kind: LeaseKind;
  /**
   * `name/index` for a model version, the model's name for its metadata (model id in `modelId`), the batch root or
   * the proof's commitment (node in `node`).
   */
  subject: string;
  modelId?: string;
  node?: string;
  blobIds: string[];
  /** `null`: unknown (a metadata blob the keeper has not seen; the chain records none). */
  endEpoch: number | null;
  epochsLeft: number | null;
  /** Approximate wall-clock start of the end epoch (ISO 8601); `null` when the end epoch is unknown. */
  endsAbout: string | null;
  state: LeaseState;
  /** What the policy says. */
  note: string;
}

export interface StatusReport {
  currentEpoch: number;
  /** The epoch length, in seconds. */
  epochSeconds: number;
  warnWithin: number;
  policy: KeeperPolicy;
  rows: StatusRow[];
  counts: Record<LeaseState, number>;
  /** Something the policy keeps is at risk or expired. */
  failing: boolean;
}

function subjectOf(lease: Lease): Pick<StatusRow, "subject" | "modelId" | "node" | "blobIds"> {
  switch (lease.kind) {
    case "model":
      return { subject: `${lease.name}/${lease.index}`, modelId: lease.modelId, blobIds: [lease.blobId] };
    case "metadata":
      return { subject: lease.name, modelId: lease.modelId, blobIds: [lease.blobId] };
    case "batch":
      return { subject: lease.root, node: lease.node, blobIds: lease.blobIds };
    case "proof":
      return { subject: lease.commitment, node: lease.node, blobIds: [lease.blobId] };
  }
}

function rowOf(lease: Lease, now: EpochNow, policy: KeeperPolicy, warnWithin: number): StatusRow {
  const state = leaseState(lease, now.epoch, policy, warnWithin);
  const end = lease.endEpoch;
  const reason = decide(lease, now.epoch, policy).reason;
  return {
    kind: lease.kind,
    ...subjectOf(lease),
    endEpoch: end ?? null,
    epochsLeft: end === undefined ? null : end - now.epoch,
    endsAbout: end === undefined ? null : epochStartDate(now, Math.max(0, end)).toISOString(),
    state,
    note:
      lease.kind === "metadata" && end !== undefined
        ? `${reason} (the keeper's record, from a store answer: the chain records no end epoch for metadata)`
        : reason,
  };
}

/** The status of every lease of `inventory` under `policy`. */
export function statusOf(inventory: Inventory, policy: KeeperPolicy, warnWithin = DEFAULT_WARN_WITHIN): StatusReport {
  const leases: Lease[] = [...inventory.models, ...inventory.metadata, ...inventory.batches, ...inventory.proofs];
  const rows = leases.map((l) => rowOf(l, inventory.now, policy, warnWithin));
  const counts: Record<LeaseState, number> = { ok: 0, warn: 0, "at-risk": 0, expired: 0, lapsing: 0, lapsed: 0 };
  for (const row of rows) counts[row.state]++;
  return {
    currentEpoch: inventory.now.epoch,
    epochSeconds: inventory.now.epochMs / 1000,
    warnWithin,
    policy,
    rows,
    counts,
    failing: rows.some((r) => isFailing(r.state)),
  };
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The status as a text table, with a summary line. */
export function formatStatus(report: StatusReport): string[] {
  const header = ["KIND", "MODEL/VERSION OR BATCH ROOT", "BLOB ID(S)", "END EPOCH", "LEFT", "ABOUT", "STATE"];
  const body = report.rows.map((r) => [
    r.kind,
    r.kind === "batch" || r.kind === "proof" ? shorten(r.subject, 18) : r.subject,
    r.blobIds.length === 1 ? r.blobIds[0] : `${r.blobIds[0]} +${r.blobIds.length - 1}`,
    r.endEpoch === null ? UNKNOWN_END : String(r.endEpoch),
    r.epochsLeft === null ? "-" : String(r.epochsLeft),
    r.endsAbout === null ? "-" : formatEpochDate(new Date(r.endsAbout)),
    r.state,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const c = report.counts;
  return [
    line(header),
    ...body.map(line),
    `epoch ${report.currentEpoch} (epochs of ${report.epochSeconds} s): ${report.rows.length} lease(s): ` +
      `${c.ok} ok, ${c.warn} warn (fewer than ${report.warnWithin} epochs left), ${c["at-risk"]} at risk, ` +
      `${c.expired} expired, ${c.lapsing} lapsing, ${c.lapsed} lapsed`,
    ...report.rows
      .filter((r) => isFailing(r.state))
      .map((r) => `${r.state.toUpperCase()}: ${r.kind} ${r.subject}: ${r.note}`),
  ];
}
