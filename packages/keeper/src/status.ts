/**
 * `strata status`: every lease with its end epoch, the epochs left, the approximate date it ends (from the network's
 * epoch length) and its state under the policy; failing when anything the policy keeps is at risk or expired.
 */
import { formatEpochDate, epochStartDate, type EpochNow } from "@strata/walrus";
import type { Inventory, Lease } from "./inventory";
import { decide, isFailing, leaseState, type KeeperPolicy, type LeaseState } from "./policy";

/** `strata status --warn-within`'s default: warn when fewer than this many epochs are left. */
export const DEFAULT_WARN_WITHIN = 3;

export interface StatusRow {
  kind: "model" | "batch";
  /** `name/index` (model id in `modelId`) or the batch root. */
  subject: string;
  modelId?: string;
  node?: string;
  blobIds: string[];
  endEpoch: number;
  epochsLeft: number;
  /** Approximate wall-clock start of the end epoch (ISO 8601). */
  endsAbout: string;
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

function rowOf(lease: Lease, now: EpochNow, policy: KeeperPolicy, warnWithin: number): StatusRow {
  const state = leaseState(lease, now.epoch, policy, warnWithin);
  return {
    kind: lease.kind,
    subject: lease.kind === "model" ? `${lease.name}/${lease.index}` : lease.root,
    ...(lease.kind === "model" ? { modelId: lease.modelId } : { node: lease.node }),
    blobIds: lease.kind === "model" ? [lease.blobId] : lease.blobIds,
    endEpoch: lease.endEpoch,
    epochsLeft: lease.endEpoch - now.epoch,
    endsAbout: epochStartDate(now, Math.max(0, lease.endEpoch)).toISOString(),
    state,
    note: decide(lease, now.epoch, policy).reason,
  };
}

/** The status of every lease of `inventory` under `policy`. */
export function statusOf(inventory: Inventory, policy: KeeperPolicy, warnWithin = DEFAULT_WARN_WITHIN): StatusReport {
  const rows = [...inventory.models, ...inventory.batches].map((l) => rowOf(l, inventory.now, policy, warnWithin));
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
    r.kind === "batch" ? shorten(r.subject, 18) : r.subject,
    r.blobIds.length === 1 ? r.blobIds[0] : `${r.blobIds[0]} +${r.blobIds.length - 1}`,
    String(r.endEpoch),
    String(r.epochsLeft),
    formatEpochDate(new Date(r.endsAbout)),
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
