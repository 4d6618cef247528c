/**
 * The storage keeper: every cycle it reads the registries (the inventory), asks the policy what to do with each lease,
 * and renews what is due through the publisher (read verified, store again with `epochs = target - current`, check the
 * answer), then records the new end epoch on-chain (ModelRegistry.extendVersion, ProofRegistry.extendBatches and
 * extendProofs: one transaction for many roots or commitments). A model's metadata blob has no end epoch on-chain:
 * its renewals are never recorded there, and the keeper's journal is the record of its end epoch (learnt at first
 * sight by storing the bytes again with the target epochs). Every step is journalled first (see journal.ts), renewals are rate-limited, and a dry
 * run only plans. Each cycle's report (renewed, let lapse, could not renew, deferred) goes to the log and to
 * Prometheus text (`metrics()`, served on `/metrics` by {@link serveKeeperMetrics}).
 */
import { join } from "node:path";
import type { Signer } from "ethers";
import type { BatchRoot, Commitment, StrataClient } from "@strata/core";
import { describeEpoch, type EpochNow, type NetworkClock, type WalrusClient } from "@strata/walrus";
import { RenewalError } from "./errors";
import {
  readInventory,
  type BatchLease,
  type Inventory,
  type Lease,
  type LeaseKind,
  type ModelLease,
  type ProofLease,
} from "./inventory";
import { KeeperJournal, type RenewalRecord } from "./journal";
import { checkPolicy, decide, DEFAULT_POLICY, type KeeperPolicy } from "./policy";

/** The keeper's defaults besides the policy's. */
export const KEEPER_DEFAULTS = Object.freeze({
  /** Seconds between cycles. */
  intervalSeconds: 300,
  /** Walrus stores per minute, at most. */
  renewalsPerMinute: 30,
  /** The port of `/metrics` (`strata keeper --metrics-port`). */
  metricsPort: 31417,
});

export interface KeeperOptions {
  /** Registry clients; writes go through `signer`. */
  client: StrataClient;
  /** The signer that records renewals (the model owner, the anchoring node). Without it nothing is recorded. */
  signer?: Signer;
  walrus: WalrusClient;
  clock: NetworkClock;
  /** Where the journal lives (`<dataDir>/keeper-journal.jsonl`). */
  dataDir: string;
  /** The nodes whose proof batches it keeps (default: the signer's address). */
  nodes?: readonly string[];
  /** Keep the model versions (default true). */
  models?: boolean;
  /** Keep the models' metadata blobs (default: as `models`). */
  metadata?: boolean;
  policy?: Partial<KeeperPolicy>;
  /** Plan only: no store, no transaction, no journal entry. */
  dryRun?: boolean;
  /** Walrus stores per minute, at most (default {@link KEEPER_DEFAULTS}.renewalsPerMinute). */
  renewalsPerMinute?: number;
  /** Where the log lines go (default: nowhere). */
  log?: (line: string) => void;
  /** The clock of the rate limit (tests). */
  wallMs?: () => number;
}

/** Why a metadata blob's renewal is never recorded on-chain. */
export const METADATA_NOT_ON_CHAIN = "a metadata blob has no end epoch on-chain: the keeper's journal keeps the record";

export interface Renewed {
  key: string;
  kind: LeaseKind;
  /** `name/index` for a model version, the model's name for its metadata, the root or commitment for proofs. */
  subject: string;
  blobIds: string[];
  /** The end epoch before, `null` when unknown (a metadata blob the keeper had not seen). */
  fromEpoch: number | null;
  toEpoch: number;
  /** Recorded on-chain (now, or by a transaction mined before a crash). */
  recorded: boolean;
  txHash?: string;
  /** Why it is not recorded, when it is not. */
  note?: string;
}

export interface Lapsed {
  key: string;
  subject: string;
  /** `null`: unknown (a metadata blob the keeper never saw). */
  endEpoch: number | null;
  reason: string;
}

export interface Unrenewed {
  key: string;
  subject: string;
  /** `null`: unknown (a metadata blob the keeper never saw). */
  endEpoch: number | null;
  reason: string;
}

export interface Planned {
  key: string;
  subject: string;
  fromEpoch: number | null;
  toEpoch: number;
}

/** A metadata blob's end epoch learnt from an `alreadyCertified` answer (mostly at first sight): nothing bought. */
export interface Learned {
  key: string;
  subject: string;
  blobIds: string[];
  endEpoch: number;
}

/** What one cycle did. */
export interface CycleReport {
  epoch: number;
  dryRun: boolean;
  renewed: Renewed[];
  lapsed: Lapsed[];
  couldNotRenew: Unrenewed[];
  /** Due, left to a later cycle by the rate limit. */
  deferred: Planned[];
  /** In a dry run: what would be renewed. */
  planned: Planned[];
  /** Metadata end epochs learnt from `alreadyCertified` answers, at no cost (what bought storage is in `renewed`). */
  learned: Learned[];
  /** Pending renewals of an earlier run finished in this cycle. */
  recovered: number;
  leases: { models: number; batches: number; metadata: number; proofs: number };
  ms: number;
}

interface Work {
  lease: Lease;
  target: number;
  /** The journal's record, once intended. */
  id?: string;
  storedEndEpoch?: number;
  /** Whether the store bought storage (false: `alreadyCertified`); unknown after a crash. */
  storedBought?: boolean;
}

function subjectOf(lease: Lease): string {
  switch (lease.kind) {
    case "model":
      return `${lease.name}/${lease.index}`;
    case "metadata":
      return lease.name;
    case "batch":
      return lease.root;
    case "proof":
      return lease.commitment;
  }
}

function blobIdsOf(lease: Lease): string[] {
  return lease.kind === "batch" ? lease.blobIds : [lease.blobId];
}

function endOf(lease: Lease): number | null {
  return lease.endEpoch ?? null;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Keeper {
  readonly policy: KeeperPolicy;
  private journal: KeeperJournal | undefined;
  private readonly stores: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CycleReport> | undefined;
  private stopped = false;
  private readonly totals = {
    cycles: 0,
    cycleErrors: 0,
    renewed: { model: 0, batch: 0, metadata: 0, proof: 0 } as Record<LeaseKind, number>,
    learned: 0,
    recorded: 0,
    unrecorded: 0,
    lapsed: 0,
    couldNotRenew: 0,
    deferred: 0,
    recovered: 0,
  };
  private last: CycleReport | undefined;
  private signerAddress: string | undefined;

  constructor(private readonly options: KeeperOptions) {
    this.policy = checkPolicy({ ...DEFAULT_POLICY, ...options.policy });
  }

  /** The journal's path. */
  get journalPath(): string {
    return join(this.options.dataDir, "keeper-journal.jsonl");
  }

  /** The last cycle's report. */
  get lastReport(): CycleReport | undefined {
    return this.last;
  }

  private log(line: string): void {
    this.options.log?.(`keeper: ${line}`);
  }

  private async address(): Promise<string | undefined> {
    if (this.signerAddress === undefined && this.options.signer)
      this.signerAddress = await this.options.signer.getAddress();
    return this.signerAddress;
  }

  private async nodes(): Promise<string[]> {
    if (this.options.nodes !== undefined) return [...this.options.nodes];
    const own = await this.address();
    return own === undefined ? [] : [own];
  }

  /** One cycle: scan, plan, execute; resolves to its report (also logged, and in {@link metrics}). */
  async cycle(): Promise<CycleReport> {
    if (this.running) return this.running;
    this.running = this.runCycle().finally(() => (this.running = undefined));
    return this.running;
  }

  private async runCycle(): Promise<CycleReport> {
    const started = Date.now();
    const dryRun = this.options.dryRun === true;
    if (!dryRun) this.journal ??= await KeeperJournal.open(this.journalPath);
    // A dry run reads the journal without writing it: the records it holds (metadata end epochs) count.
    const unrecorded = (this.journal ?? KeeperJournal.read(this.journalPath)).unrecorded();
    const inventory = await readInventory(this.options.client, this.options.clock, {
      nodes: await this.nodes(),
      models: this.options.models,
      metadata: this.options.metadata ?? this.options.models,
      metadataRecords: unrecorded,
    });
    const current = inventory.now.epoch;
    const leases: Lease[] = [...inventory.models, ...inventory.metadata, ...inventory.batches, ...inventory.proofs].map(
      (lease): Lease => {
        const held = unrecorded.get(lease.key);
        if (held === undefined) return lease;
        return { ...lease, endEpoch: Math.max(lease.endEpoch ?? 0, held) } as Lease;
      },
    );
    const byKey = new Map(leases.map((l) => [l.key, l]));
    const report: CycleReport = {
      epoch: current,
      dryRun,
      renewed: [],
      lapsed: [],
      couldNotRenew: [],
      deferred: [],
      planned: [],
      learned: [],
      recovered: 0,
      leases: {
        models: inventory.models.length,
        batches: inventory.batches.length,
        metadata: inventory.metadata.length,
        proofs: inventory.proofs.length,
      },
      ms: 0,
    };

    // Pending renewals of an earlier run first: finished, or found done on-chain.
    const work: Work[] = [];
    const pendingKeys = new Set<string>();
    for (const record of this.journal?.pending() ?? []) {
      const lease = byKey.get(record.key);
      pendingKeys.add(record.key);
      report.recovered++;
      if (lease === undefined) {
        this.journal?.append({ op: "done", id: record.id, outcome: "failed", reason: "no longer in the registries" });
        continue;
      }
      const wanted = record.recordingEndEpoch ?? record.storedEndEpoch ?? record.target;
      if (record.storedEndEpoch === undefined && record.target <= current && (lease.endEpoch ?? 0) < wanted) {
        // Begun too long ago: its target has passed. The plan below starts afresh.
        this.journal?.append({ op: "done", id: record.id, outcome: "failed", reason: "outdated: target passed" });
        pendingKeys.delete(record.key);
        report.recovered--;
        continue;
      }
      // (A metadata blob has no on-chain record: its pending renewal is always finished below.)
      if (lease.kind !== "metadata" && lease.endEpoch >= wanted) {
        // The chain already records it: a transaction mined before the crash.
        this.journal?.append({ op: "done", id: record.id, outcome: "recorded", endEpoch: lease.endEpoch });
        this.log(`${lease.key}: the renewal to epoch ${wanted} was already recorded on-chain (finished after restart)`);
        report.renewed.push(this.renewedOf(lease, true, lease.endEpoch, record.txHash));
        continue;
      }
      work.push({
        lease,
        target: record.target,
        id: record.id,
        storedEndEpoch: record.storedEndEpoch,
        ...(record.storedBought !== undefined ? { storedBought: record.storedBought } : {}),
      });
    }

    // The plan, soonest end first: what the rate limit defers is what can wait longest (an unknown end last).
    const urgency = (lease: Lease) => lease.endEpoch ?? Number.POSITIVE_INFINITY;
    for (const lease of [...leases].sort((a, b) => urgency(a) - urgency(b))) {
      if (pendingKeys.has(lease.key)) continue;
      const decision = decide(lease, current, this.policy);
      const subject = subjectOf(lease);
      if (decision.action === "lapse") {
        report.lapsed.push({ key: lease.key, subject, endEpoch: endOf(lease), reason: decision.reason });
      } else if (decision.action === "expired") {
        report.couldNotRenew.push({ key: lease.key, subject, endEpoch: endOf(lease), reason: decision.reason });
      } else if (decision.action === "renew" || decision.action === "learn") {
        work.push({ lease, target: decision.target });
      }
    }

    if (dryRun) {
      report.planned = work.map((w) => this.plannedOf(w));
    } else {
      await this.execute(work, inventory.now, report);
    }
    report.ms = Date.now() - started;
    this.finishReport(report, inventory.now);
    return report;
  }

  private plannedOf(w: Work): Planned {
    return { key: w.lease.key, subject: subjectOf(w.lease), fromEpoch: endOf(w.lease), toEpoch: w.target };
  }

  private renewedOf(lease: Lease, recorded: boolean, toEpoch: number, txHash?: string, note?: string) {
    return {
      key: lease.key,
      kind: lease.kind,
      subject: subjectOf(lease),
      blobIds: blobIdsOf(lease),
      fromEpoch: endOf(lease),
      toEpoch,
      recorded,
      ...(txHash !== undefined ? { txHash } : {}),
      ...(note !== undefined ? { note } : {}),
    } satisfies Renewed;
  }

  /** Takes one store from the rate limit, or says no. */
  private allowStore(): boolean {
    const now = (this.options.wallMs ?? Date.now)();
    while (this.stores.length > 0 && this.stores[0] <= now - 60_000) this.stores.shift();
    const limit = this.options.renewalsPerMinute ?? KEEPER_DEFAULTS.renewalsPerMinute;
    if (this.stores.length >= limit) return false;
    this.stores.push(now);
    return true;
  }

  private async execute(work: Work[], now: EpochNow, report: CycleReport): Promise<void> {
    const journal = this.journal;
    if (journal === undefined) return;
    const current = now.epoch;
    const stored: Work[] = [];
    for (const w of work) {
      if (this.stopped) break;
      const needsStore = w.storedEndEpoch === undefined || w.storedEndEpoch < w.target;
      if (needsStore && !this.allowStore()) {
        report.deferred.push(this.plannedOf(w));
        continue;
      }
      w.id ??= journal.intend(w.lease.key, w.lease.kind, w.target);
      if (!needsStore) {
        stored.push(w);
        continue;
      }
      try {
        const answer = await this.store(w.lease, w.target, current);
        w.storedEndEpoch = answer.endEpoch;
        w.storedBought = answer.bought;
        journal.append({ op: "stored", id: w.id, endEpoch: answer.endEpoch, bought: answer.bought });
        stored.push(w);
      } catch (error) {
        const reason = message(error);
        journal.append({ op: "done", id: w.id, outcome: "failed", reason });
        report.couldNotRenew.push({
          key: w.lease.key,
          subject: subjectOf(w.lease),
          endEpoch: endOf(w.lease),
          reason,
        });
      }
    }
    await this.record(stored, report);
  }

  /**
   * Reads every blob of the lease verified (a model by its sha256 and size, any other blob by recomputing its Blob ID)
   * and stores it again up to `target`; the earliest end epoch answered, and whether any store bought storage (not
   * only `alreadyCertified`).
   */
  private async store(lease: Lease, target: number, current: number): Promise<{ endEpoch: number; bought: boolean }> {
    const epochs = target - current;
    let earliest = Number.POSITIVE_INFINITY;
    let bought = false;
    const blobs =
      lease.kind === "model"
        ? [
            {
              blobId: lease.blobId,
              options: { sha256: lease.sha256.replace(/^0x/, ""), expectedSize: Number(lease.size) },
            },
          ]
        : blobIdsOf(lease).map((blobId) => ({ blobId, options: {} }));
    for (const { blobId, options } of blobs) {
      let bytes: Uint8Array;
      try {
        bytes = await this.options.walrus.read(blobId, options);
      } catch (error) {
        throw new RenewalError(lease.key, "read", `blob ${blobId}: ${message(error)}`, { cause: error });
      }
      let answer;
      try {
        answer = await this.options.walrus.store(bytes, { epochs });
      } catch (error) {
        throw new RenewalError(lease.key, "store", `blob ${blobId}, ${epochs} epochs: ${message(error)}`, {
          cause: error,
        });
      }
      if (answer.blobId !== blobId) {
        throw new RenewalError(lease.key, "check", `the publisher stored ${answer.blobId}, not ${blobId}`);
      }
      if (answer.endEpoch < target) {
        throw new RenewalError(
          lease.key,
          "check",
          `the publisher kept blob ${blobId} until epoch ${answer.endEpoch} only, short of epoch ${target}`,
        );
      }
      earliest = Math.min(earliest, answer.endEpoch);
      if (answer.status !== "alreadyCertified") bought = true;
    }
    return { endEpoch: earliest, bought };
  }

  /**
   * Records stored renewals on-chain: each model version by itself, batches and single proofs in one transaction per
   * node and end epoch; metadata blobs never (their `done` journal entry is the keeper's record).
   */
  private async record(stored: Work[], report: CycleReport): Promise<void> {
    const journal = this.journal;
    if (journal === undefined) return;
    const signer = this.options.signer;
    const me = (await this.address())?.toLowerCase();
    const unrecorded = (w: Work, note: string) => {
      const endEpoch = w.storedEndEpoch ?? w.target;
      journal.append({ op: "done", id: w.id ?? "", outcome: "unrecorded", endEpoch, reason: note });
      report.renewed.push(this.renewedOf(w.lease, false, endEpoch, undefined, note));
      this.log(`${w.lease.key}: renewed on Walrus to epoch ${endEpoch}, not recorded on-chain (${note})`);
    };
    const failed = (w: Work, error: unknown) => {
      report.couldNotRenew.push({
        key: w.lease.key,
        subject: subjectOf(w.lease),
        endEpoch: endOf(w.lease),
        reason: `stored on Walrus to epoch ${w.storedEndEpoch}, recording on-chain failed (retried next cycle): ${message(error)}`,
      });
    };

    for (const w of stored.filter((s): s is Work & { lease: ModelLease } => s.lease.kind === "model")) {
      const endEpoch = w.storedEndEpoch ?? w.target;
      if (signer === undefined || me !== w.lease.owner.toLowerCase()) {
        unrecorded(w, "not the owner");
        continue;
      }
      try {
        journal.append({ op: "recording", ids: [w.id ?? ""], endEpoch });
        const tx = await this.options.client.models
          .connect(signer)
          .extendVersion(w.lease.modelId, w.lease.index, endEpoch);
        journal.append({ op: "sent", ids: [w.id ?? ""], hash: tx.hash });
        await tx.wait();
        journal.append({ op: "done", id: w.id ?? "", outcome: "recorded", endEpoch });
        report.renewed.push(this.renewedOf(w.lease, true, endEpoch, tx.hash));
      } catch (error) {
        failed(w, error);
      }
    }

    // Metadata blobs: never recorded on-chain (no end epoch there); the journal's `done` is the keeper's record.
    for (const w of stored.filter((s) => s.lease.kind === "metadata")) {
      const endEpoch = w.storedEndEpoch ?? w.target;
      // The store answered `alreadyCertified`: nothing bought, the end epoch learnt (at first sight, or raised by
      // storage someone else bought since the keeper's record).
      if (w.storedBought === false) {
        journal.append({
          op: "done",
          id: w.id ?? "",
          outcome: "unrecorded",
          endEpoch,
          reason: "learnt: already stored long enough (alreadyCertified), nothing bought",
        });
        report.learned.push({
          key: w.lease.key,
          subject: subjectOf(w.lease),
          blobIds: blobIdsOf(w.lease),
          endEpoch,
        });
        continue;
      }
      unrecorded(w, METADATA_NOT_ON_CHAIN);
    }

    // Singly anchored proofs: one extendProofs per node and end epoch, by the anchoring node.
    const proofGroups = new Map<number, (Work & { lease: ProofLease })[]>();
    for (const w of stored.filter((s): s is Work & { lease: ProofLease } => s.lease.kind === "proof")) {
      if (signer === undefined || me !== w.lease.node.toLowerCase()) {
        unrecorded(w, "not the anchoring node");
        continue;
      }
      const endEpoch = w.storedEndEpoch ?? w.target;
      const group = proofGroups.get(endEpoch) ?? [];
      group.push(w);
      proofGroups.set(endEpoch, group);
    }
    for (const [endEpoch, group] of proofGroups) {
      const ids = group.map((w) => w.id ?? "");
      const commitments: Commitment[] = group.map((w) => w.lease.commitment);
      try {
        journal.append({ op: "recording", ids, endEpoch });
        const tx = await this.options.client.proofs.connect(signer as Signer).extendProofs(commitments, endEpoch);
        journal.append({ op: "sent", ids, hash: tx.hash });
        await tx.wait();
        for (const w of group) {
          journal.append({ op: "done", id: w.id ?? "", outcome: "recorded", endEpoch });
          report.renewed.push(this.renewedOf(w.lease, true, endEpoch, tx.hash));
        }
      } catch (error) {
        for (const w of group) failed(w, error);
      }
    }

    const groups = new Map<string, (Work & { lease: BatchLease })[]>();
    for (const w of stored.filter((s): s is Work & { lease: BatchLease } => s.lease.kind === "batch")) {
      if (signer === undefined || me !== w.lease.node.toLowerCase()) {
        unrecorded(w, "not the anchoring node");
        continue;
      }
      const groupKey = `${w.lease.anchored ? "anchored" : "announced"}:${w.storedEndEpoch ?? w.target}`;
      const group = groups.get(groupKey) ?? [];
      group.push(w);
      groups.set(groupKey, group);
    }
    for (const group of groups.values()) {
      const endEpoch = group[0].storedEndEpoch ?? group[0].target;
      const ids = group.map((w) => w.id ?? "");
      const roots: BatchRoot[] = group.map((w) => w.lease.root);
      try {
        journal.append({ op: "recording", ids, endEpoch });
        const proofs = this.options.client.proofs.connect(signer as Signer);
        const tx = group[0].lease.anchored
          ? await proofs.extendBatches(roots, endEpoch)
          : await proofs.announceBatchesExtended(roots, endEpoch);
        journal.append({ op: "sent", ids, hash: tx.hash });
        await tx.wait();
        for (const w of group) {
          journal.append({ op: "done", id: w.id ?? "", outcome: "recorded", endEpoch });
          report.renewed.push(this.renewedOf(w.lease, true, endEpoch, tx.hash));
        }
      } catch (error) {
        for (const w of group) failed(w, error);
      }
    }
  }

  private finishReport(report: CycleReport, now: EpochNow): void {
    this.last = report;
    const t = this.totals;
    t.cycles++;
    for (const r of report.renewed) {
      t.renewed[r.kind]++;
      if (r.recorded) t.recorded++;
      else t.unrecorded++;
    }
    t.learned += report.learned.length;
    t.lapsed += report.lapsed.length;
    t.couldNotRenew += report.couldNotRenew.length;
    t.deferred += report.deferred.length;
    t.recovered += report.recovered;
    const at = (epoch: number) => describeEpoch(now, epoch);
    for (const r of report.renewed) {
      this.log(
        `renewed ${r.kind} ${r.subject} (${r.blobIds.join(", ")}) from ` +
          `${r.fromEpoch === null ? "an unknown end epoch (first sight)" : `epoch ${r.fromEpoch}`} to ${at(r.toEpoch)}` +
          (r.recorded
            ? `, recorded on-chain${r.txHash ? ` in ${r.txHash}` : ""}`
            : `, not recorded on-chain (${r.note})`),
      );
    }
    for (const r of report.learned)
      this.log(
        `learnt metadata ${r.subject} (${r.blobIds.join(", ")}): stored until ${at(r.endEpoch)}, nothing bought ` +
          `(already stored long enough; the keeper's record, not on-chain)`,
      );
    for (const r of report.planned)
      this.log(
        `dry run: would renew ${r.subject} from ${r.fromEpoch === null ? "an unknown end epoch" : `epoch ${r.fromEpoch}`} to epoch ${r.toEpoch}`,
      );
    for (const r of report.deferred)
      this.log(`deferred by the rate limit: ${r.subject} (renewal to epoch ${r.toEpoch})`);
    for (const r of report.couldNotRenew) this.log(`could not renew ${r.subject}: ${r.reason}`);
    for (const r of report.lapsed) this.log(`let lapse ${r.subject}: ${r.reason}`);
    this.log(
      `cycle done at epoch ${report.epoch}${report.dryRun ? " (dry run)" : ""}: ${report.leases.models} model version(s), ` +
        `${report.leases.metadata} metadata blob(s), ${report.leases.batches} batch(es), ${report.leases.proofs} ` +
        `single proof(s); renewed ${report.renewed.length}, learnt ${report.learned.length}, let lapse ${report.lapsed.length}, ` +
        `could not renew ${report.couldNotRenew.length}, deferred ${report.deferred.length}` +
        (report.dryRun ? `, would renew ${report.planned.length}` : "") +
        ` (${report.ms} ms)`,
    );
  }

  /** Prometheus text: totals since start and the last cycle's figures. */
  metrics(): string {
    const t = this.totals;
    const last = this.last;
    const lines: [string, number][] = [
      ["strata_keeper_cycles_total", t.cycles],
      ["strata_keeper_cycle_errors_total", t.cycleErrors],
      ['strata_keeper_renewed_total{kind="model"}', t.renewed.model],
      ['strata_keeper_renewed_total{kind="batch"}', t.renewed.batch],
      ['strata_keeper_renewed_total{kind="metadata"}', t.renewed.metadata],
      ['strata_keeper_renewed_total{kind="proof"}', t.renewed.proof],
      ["strata_keeper_learned_total", t.learned],
      ["strata_keeper_recorded_total", t.recorded],
      ["strata_keeper_unrecorded_total", t.unrecorded],
      ["strata_keeper_lapsed_total", t.lapsed],
      ["strata_keeper_could_not_renew_total", t.couldNotRenew],
      ["strata_keeper_deferred_total", t.deferred],
      ["strata_keeper_recovered_total", t.recovered],
      ["strata_keeper_current_epoch", last?.epoch ?? 0],
      ["strata_keeper_last_cycle_renewed", last?.renewed.length ?? 0],
      ["strata_keeper_last_cycle_lapsed", last?.lapsed.length ?? 0],
      ["strata_keeper_last_cycle_could_not_renew", last?.couldNotRenew.length ?? 0],
      ["strata_keeper_last_cycle_deferred", last?.deferred.length ?? 0],
      ["strata_keeper_last_cycle_seconds", (last?.ms ?? 0) / 1000],
      ['strata_keeper_leases{kind="model"}', last?.leases.models ?? 0],
      ['strata_keeper_leases{kind="batch"}', last?.leases.batches ?? 0],
      ['strata_keeper_leases{kind="metadata"}', last?.leases.metadata ?? 0],
      ['strata_keeper_leases{kind="proof"}', last?.leases.proofs ?? 0],
      ["strata_keeper_dry_run", this.options.dryRun ? 1 : 0],
    ];
    return lines.map(([name, value]) => `${name} ${value}`).join("\n") + "\n";
  }

  /** Runs a cycle now and then every `intervalMs`; a failing cycle is logged and counted, and the next one runs. */
  start(intervalMs: number): void {
    const tick = async () => {
      if (this.stopped) return;
      try {
        await this.cycle();
      } catch (error) {
        this.totals.cycleErrors++;
        this.log(`cycle failed: ${message(error)} (next cycle in ${intervalMs / 1000} s)`);
      }
      if (!this.stopped) this.timer = setTimeout(() => void tick(), intervalMs);
    };
    void tick();
  }

  /** Stops the cycles after the current one. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}

/** The pending renewals the journal at `dataDir` holds (for tests and `strata status`). */
export async function pendingRenewals(dataDir: string): Promise<RenewalRecord[]> {
  return (await KeeperJournal.open(join(dataDir, "keeper-journal.jsonl"))).pending();
}

/**
 * The keeper's records of metadata blobs' end epochs (by lease key, {@link metadataKey}), read without writing from the
 * journals of the keepers whose data directories are `dataDirs` (the latest wins); a directory without a journal adds
 * nothing. The chain records no end epoch for a metadata blob: these are all there is (`strata status`).
 */
export function readKeeperRecords(dataDirs: readonly string[]): Map<string, number> {
  const records = new Map<string, number>();
  for (const dir of dataDirs) {
    for (const [key, endEpoch] of KeeperJournal.read(join(dir, "keeper-journal.jsonl")).unrecorded()) {
      if (key.startsWith("metadata:")) records.set(key, Math.max(records.get(key) ?? 0, endEpoch));
    }
  }
  return records;
}

export type { Inventory };
