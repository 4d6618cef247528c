/**
 * The keeper's journal: an append-only log of JSON lines, each written and fsynced before the step it announces, so
 * a keeper killed at any moment knows on restart what it was doing:
 *
 *   intent    (before the Walrus store)  key, kind, target
 *   stored    (after the store answered)  endEpoch the publisher answered
 *   recording (before the chain tx)       the intents one transaction records, and the end epoch it records
 *   sent      (after the tx was sent)     its hash
 *   done      (after the tx was mined, or when nothing is left to do) outcome
 *
 * A renewal without `done` is pending: the keeper finishes it (stores again only when `stored` is missing: storing
 * known content is idempotent on Walrus) and records it unless the chain already says so (a transaction mined before
 * the crash is seen by re-reading the end epoch), so nothing is recorded twice. A torn last line (a crash mid-write)
 * is ignored. On open, a journal whose renewals are all done is compacted (atomically rewritten) to what is still
 * needed: the renewals on Walrus that the signer could not record on-chain (and metadata blobs' end epochs, which no
 * chain records: the keeper's own record of them is their latest `unrecorded` renewal).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import writeFileAtomic from "write-file-atomic";
import { KeeperJournalError } from "./errors";
import type { LeaseKind } from "./inventory";

export type RenewalOutcome =
  /** Stored on Walrus and recorded on-chain (now or before a crash). */
  | "recorded"
  /** Stored on Walrus; the signer may not record it on-chain (not the owner, not the anchoring node). */
  | "unrecorded"
  /** Given up: the failure is in `reason`. */
  | "failed";

export type JournalEntry =
  | { op: "intent"; id: string; key: string; kind: LeaseKind; target: number; at: number }
  /** `bought: false`: the store answered `alreadyCertified` (nothing bought; the end epoch learnt). */
  | { op: "stored"; id: string; endEpoch: number; bought?: boolean }
  | { op: "recording"; ids: string[]; endEpoch: number }
  | { op: "sent"; ids: string[]; hash: string }
  | { op: "done"; id: string; outcome: RenewalOutcome; endEpoch?: number; reason?: string };

/** One renewal as the journal tells it. */
export interface RenewalRecord {
  id: string;
  key: string;
  kind: LeaseKind;
  target: number;
  at: number;
  /** The end epoch the publisher answered, once stored. */
  storedEndEpoch?: number;
  /** Whether that store bought storage (false: `alreadyCertified`, the end epoch only learnt). */
  storedBought?: boolean;
  /** The end epoch a chain transaction was about to record (or recorded). */
  recordingEndEpoch?: number;
  txHash?: string;
  outcome?: RenewalOutcome;
  doneEndEpoch?: number;
  reason?: string;
}

export class KeeperJournal {
  private readonly records = new Map<string, RenewalRecord>();
  private seq = 0;

  private readOnly = false;

  private constructor(readonly path: string) {}

  /**
   * Reads the journal at `path` without writing it (no compaction, no repair): what another process's keeper knows,
   * e.g. for `strata status`. A missing file is an empty journal. Appending to it throws.
   */
  static read(path: string): KeeperJournal {
    const journal = new KeeperJournal(path);
    journal.readOnly = true;
    try {
      if (existsSync(path)) journal.replay(readFileSync(path, "utf8"));
    } catch (error) {
      if (error instanceof KeeperJournalError) throw error;
      throw new KeeperJournalError(path, `cannot be read (${(error as Error).message})`, { cause: error });
    }
    return journal;
  }

  /** Opens (creating) the journal at `path`, replaying it; compacts it when nothing is pending. */
  static async open(path: string): Promise<KeeperJournal> {
    const journal = new KeeperJournal(path);
    try {
      mkdirSync(dirname(path), { recursive: true });
      if (existsSync(path)) {
        const text = readFileSync(path, "utf8");
        journal.replay(text);
        // A torn last line is cut off, so the next entry starts a line of its own.
        if (text.length > 0 && !text.endsWith("\n"))
          truncateSync(path, Buffer.byteLength(text.slice(0, text.lastIndexOf("\n") + 1)));
      }
    } catch (error) {
      throw new KeeperJournalError(
        path,
        `cannot be read (${(error as Error).message}); move it aside to start afresh`,
        {
          cause: error,
        },
      );
    }
    if (journal.pending().length === 0) await journal.compact();
    return journal;
  }

  private replay(text: string): void {
    const lines = text.split("\n");
    lines.forEach((line, i) => {
      if (line.trim() === "") return;
      let entry: JournalEntry;
      try {
        entry = JSON.parse(line) as JournalEntry;
      } catch (error) {
        // A torn last line is a crash mid-append: what it announced never started.
        if (i >= lines.length - 2) return;
        throw new KeeperJournalError(this.path, `line ${i + 1} is not JSON`, { cause: error });
      }
      this.apply(entry);
    });
  }

  private apply(entry: JournalEntry): void {
    switch (entry.op) {
      case "intent": {
        this.records.set(entry.id, {
          id: entry.id,
          key: entry.key,
          kind: entry.kind,
          target: entry.target,
          at: entry.at,
        });
        const n = Number(entry.id.split("-").pop());
        if (Number.isSafeInteger(n)) this.seq = Math.max(this.seq, n);
        return;
      }
      case "stored": {
        const r = this.records.get(entry.id);
        if (r) {
          r.storedEndEpoch = entry.endEpoch;
          if (entry.bought !== undefined) r.storedBought = entry.bought;
        }
        return;
      }
      case "recording":
        for (const id of entry.ids) {
          const r = this.records.get(id);
          if (r) r.recordingEndEpoch = entry.endEpoch;
        }
        return;
      case "sent":
        for (const id of entry.ids) {
          const r = this.records.get(id);
          if (r) r.txHash = entry.hash;
        }
        return;
      case "done": {
        const r = this.records.get(entry.id);
        if (!r) return;
        r.outcome = entry.outcome;
        if (entry.endEpoch !== undefined) r.doneEndEpoch = entry.endEpoch;
        if (entry.reason !== undefined) r.reason = entry.reason;
        return;
      }
    }
  }

  /** Appends `entries` and fsyncs before returning: the step they announce may then begin. */
  append(...entries: JournalEntry[]): void {
    if (this.readOnly)
      throw new KeeperJournalError(this.path, "was opened read-only (KeeperJournal.read): not written");
    const text = entries.map((e) => `${JSON.stringify(e)}\n`).join("");
    let fd: number | undefined;
    try {
      fd = openSync(this.path, "a");
      writeSync(fd, text);
      fsyncSync(fd);
    } catch (error) {
      throw new KeeperJournalError(this.path, `cannot be written (${(error as Error).message}): is the disk full?`, {
        cause: error,
      });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    for (const entry of entries) this.apply(entry);
  }

  /** Journals the intent to renew `key` to `target`; returns its id. */
  intend(key: string, kind: LeaseKind, target: number): string {
    const id = `r-${Date.now().toString(36)}-${++this.seq}`;
    this.append({ op: "intent", id, key, kind, target, at: Date.now() });
    return id;
  }

  get(id: string): RenewalRecord | undefined {
    return this.records.get(id);
  }

  /** The renewals begun and not done, oldest first. */
  pending(): RenewalRecord[] {
    return [...this.records.values()].filter((r) => r.outcome === undefined);
  }

  /** The pending renewal of `key`, if any. */
  pendingFor(key: string): RenewalRecord | undefined {
    return this.pending().find((r) => r.key === key);
  }

  /**
   * The end epoch each key was renewed to on Walrus without an on-chain record (the signer may not record it): the
   * keeper treats it as the lease's end, so it does not buy the same storage every cycle.
   */
  unrecorded(): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.records.values()) {
      if (r.outcome !== "unrecorded" || r.doneEndEpoch === undefined) continue;
      out.set(r.key, Math.max(out.get(r.key) ?? 0, r.doneEndEpoch));
    }
    return out;
  }

  /** Rewrites the journal (atomically) to what is still needed: pending renewals and the unrecorded ones. */
  async compact(): Promise<void> {
    if (this.readOnly)
      throw new KeeperJournalError(this.path, "was opened read-only (KeeperJournal.read): not rewritten");
    const keep: JournalEntry[] = [];
    const latestUnrecorded = new Map<string, RenewalRecord>();
    for (const r of this.records.values()) {
      if (r.outcome === "unrecorded") {
        const held = latestUnrecorded.get(r.key);
        if (!held || (held.doneEndEpoch ?? 0) < (r.doneEndEpoch ?? 0)) latestUnrecorded.set(r.key, r);
      }
    }
    const kept = [...this.records.values()].filter((r) => r.outcome === undefined || latestUnrecorded.get(r.key) === r);
    for (const r of kept) {
      keep.push({ op: "intent", id: r.id, key: r.key, kind: r.kind, target: r.target, at: r.at });
      if (r.storedEndEpoch !== undefined)
        keep.push({
          op: "stored",
          id: r.id,
          endEpoch: r.storedEndEpoch,
          ...(r.storedBought !== undefined ? { bought: r.storedBought } : {}),
        });
      if (r.recordingEndEpoch !== undefined) keep.push({ op: "recording", ids: [r.id], endEpoch: r.recordingEndEpoch });
      if (r.txHash !== undefined) keep.push({ op: "sent", ids: [r.id], hash: r.txHash });
      if (r.outcome !== undefined)
        keep.push({
          op: "done",
          id: r.id,
          outcome: r.outcome,
          ...(r.doneEndEpoch !== undefined ? { endEpoch: r.doneEndEpoch } : {}),
          ...(r.reason !== undefined ? { reason: r.reason } : {}),
        });
    }
    try {
      await writeFileAtomic(this.path, keep.map((e) => `${JSON.stringify(e)}\n`).join(""), { fsync: true });
    } catch (error) {
      throw new KeeperJournalError(this.path, `cannot be rewritten (${(error as Error).message})`, { cause: error });
    }
    this.records.clear();
    for (const entry of keep) this.apply(entry);
  }
}
