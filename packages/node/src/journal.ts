import { constants } from "node:fs";
import { appendFile, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { JournalWriteError, NodeError, OutboxError } from "./errors";

/** The part of a file handle the journal uses; injectable so tests can fail writes the way a full disk does. */
export interface JournalFile {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  truncate(length: number): Promise<void>;
  datasync(): Promise<void>;
  close(): Promise<void>;
  /**
   * Whether a write returns only once its bytes are on disk (the file is open with `O_DSYNC`): the journal then calls
   * no `datasync` after a record. Absent (false): every record is followed by `datasync`.
   */
  readonly syncsOnWrite?: boolean;
}

/**
 * Opens `path` for positioned reads and writes, creating it if needed (never truncating it), with `O_DSYNC`: a write
 * returns once its bytes are on disk (data integrity completion, what write + fdatasync give), so a record costs one
 * operation on libuv's threads, not two. It runs on while the main thread is busy (an ONNX Runtime run, converting an
 * answer), and saves a wake-up of the main thread per record when the machine is loaded.
 */
export async function openJournalFile(path: string): Promise<JournalFile> {
  const handle = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC, 0o600);
  return {
    syncsOnWrite: true,
    write: (buffer, offset, length, position) => handle.write(buffer, offset, length, position),
    truncate: (length) => handle.truncate(length),
    datasync: () => handle.datasync(),
    close: () => handle.close(),
  };
}

export interface JournalOptions {
  /** How the journal opens its files (default {@link openJournalFile}). */
  openFile?: (path: string) => Promise<JournalFile>;
}

/**
 * How a journal keeps some records as binary frames rather than JSON lines: records with large binary parts (a v2
 * proof's raw tensor bytes) are written as they are, without base64 or JSON around them.
 */
export interface JournalCodec<R> {
  /** The frame payload of `record`, or `undefined` to write it as a JSON line. */
  encode(record: R): Uint8Array | undefined;
  /** The record a frame payload holds; throws for a payload it cannot read (the frame is then skipped and reported). */
  decode(payload: Uint8Array): R;
}

/** The first byte of a binary frame (ASCII record separator: a JSON line starts with `{`). */
const FRAME_MARK = 0x1e;
/** Mark, u32 LE payload length, u32 LE CRC-32 of the payload. */
const FRAME_HEADER = 9;

/** The bytes of a binary frame: mark, u32 LE length, u32 LE CRC-32 (zlib's) of the payload, the payload, newline. */
export function journalFrame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length + 1);
  out[0] = FRAME_MARK;
  out.writeUInt32LE(payload.length, 1);
  out.writeUInt32LE(crc32(payload), 5);
  out.set(payload, FRAME_HEADER);
  out[FRAME_HEADER + payload.length] = 0x0a;
  return out;
}

/** A line of the journal that is not a record: bytes of a write that failed and was never acknowledged. */
export interface SkippedLine {
  /** 1-based line number in the journal as it was read. */
  line: number;
  text: string;
}

interface Pending {
  bytes: Buffer;
  apply?: () => void;
  resolve: () => void;
  reject: (e: Error) => void;
}

const JOURNAL = "journal.jsonl";

/**
 * An append-only journal of records (JSON lines, or binary frames through a {@link JournalCodec}) with group commit: every `append` resolves only after its record is on disk
 * (every byte written, then fdatasync), and appends that arrive while a sync is in flight share the next one.
 *
 * Failures lose nothing that was acknowledged and leave nothing half-written behind:
 * - Records are written at the journal's known good length. A write that stores only part of its bytes (ENOSPC) or
 *   whose sync fails is rejected, and the file is truncated back to the last good record before anything else is
 *   written; while that truncation fails, every append is refused.
 * - An `apply` callback given with a record runs only once the record is durable, before `append` resolves, so state
 *   derived from the journal never runs ahead of it (and a compaction never misses it).
 * - Opening writes nothing but the truncation of a torn last line or frame (which shrinks the file), so a node starts
 *   on a full disk. A binary frame carries its length and a CRC-32: one that does not check is skipped like a bad line. A line that does not parse between good lines (left by a failed write of an older version) is skipped,
 *   copied to `journal.skipped` and reported; a good record glued to it is recovered.
 * - `compact` replaces the journal by a snapshot of the live records atomically (temporary file, fsync, rename, fsync of
 *   the directory); if it cannot be written the old journal stays as it was.
 */
export class Journal<R> {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private compacting: Promise<void> | null = null;
  private closed = false;
  /** The file holds bytes past {@link size} from a failed write: truncate before the next write. */
  private dirty = false;
  private _size: number;

  private constructor(
    private readonly dir: string,
    private handle: JournalFile,
    size: number,
    private readonly openFile: (path: string) => Promise<JournalFile>,
    private readonly codec: JournalCodec<R> | undefined,
  ) {
    this._size = size;
  }

  /** Bytes of acknowledged records in the journal file. */
  get size(): number {
    return this._size;
  }

  /** Opens (or creates) the journal in `dir` and returns it with every record it holds, in order. */
  static async open<R>(
    dir: string,
    options: JournalOptions = {},
    codec?: JournalCodec<R>,
  ): Promise<{ journal: Journal<R>; records: R[]; skipped: SkippedLine[] }> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, JOURNAL);
    let text: Buffer = Buffer.alloc(0);
    try {
      text = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const { records, skipped, validLength } = parseJournal<R>(text, codec);
    const openFile = options.openFile ?? openJournalFile;
    const handle = await openFile(path);
    if (validLength !== text.length) {
      await handle.truncate(validLength); // a torn tail: a write that was never acknowledged
      await handle.datasync();
    }
    if (skipped.length > 0) {
      // Keep the unreadable bytes for the operator (best effort: on a full disk this may fail, and nothing depends on it).
      const note = skipped.map((s) => `line ${s.line} (skipped ${new Date().toISOString()}): ${s.text}\n`).join("");
      await appendFile(join(dir, "journal.skipped"), note).catch(() => undefined);
    }
    return { journal: new Journal<R>(dir, handle, validLength, openFile, codec), records, skipped };
  }

  /**
   * Appends `records`; resolves once they are durable. `apply`, if given, runs right after they are durable and before
   * the promise resolves; it never runs for a write that failed.
   */
  append(records: R[], apply?: () => void): Promise<void> {
    if (!this.codec) {
      return this.appendJson(
        records.map((r) => JSON.stringify(r)),
        apply,
      );
    }
    return this.appendBytes(Buffer.concat(records.map((r) => this.recordBytes(r))), apply);
  }

  /** {@link append} for records the caller has already serialized (`JSON.stringify` of each, no newline). */
  appendJson(records: string[], apply?: () => void): Promise<void> {
    return this.appendBytes(Buffer.from(records.map((r) => r + "\n").join("")), apply);
  }

  /** {@link append} for one record the caller has already encoded as a frame payload (what the codec's `decode` reads). */
  appendFrame(payload: Uint8Array, apply?: () => void): Promise<void> {
    return this.appendBytes(journalFrame(payload), apply);
  }

  private recordBytes(record: R): Buffer {
    const payload = this.codec?.encode(record);
    return payload === undefined ? Buffer.from(JSON.stringify(record) + "\n") : journalFrame(payload);
  }

  private appendBytes(bytes: Buffer, apply?: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new OutboxError("the journal is closed: the node is stopping"));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, apply, resolve, reject });
      if (!this.flushing && !this.compacting) this.flushing = this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        await this.writeAll(Buffer.concat(group.map((g) => g.bytes)));
      } catch (error) {
        for (const g of group) g.reject(error as Error);
        continue;
      }
      for (const g of group) {
        try {
          g.apply?.();
        } finally {
          g.resolve();
        }
      }
    }
    this.flushing = null;
  }

  /** Writes `bytes` at the end of the good records and syncs; on any failure the file is cut back. */
  private async writeAll(bytes: Buffer): Promise<void> {
    if (this.dirty) {
      try {
        await this.handle.truncate(this._size);
        await this.handle.datasync();
        this.dirty = false;
      } catch (error) {
        throw this.writeError("truncate the journal back to its last good record", error);
      }
    }
    let step = "write";
    try {
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written, this._size + written);
        if (bytesWritten <= 0) throw new NodeError("EIO", "the write stored no bytes");
        written += bytesWritten;
      }
      step = "fdatasync";
      if (!this.handle.syncsOnWrite) await this.handle.datasync();
    } catch (error) {
      this.dirty = true;
      const failure = this.writeError(step === "write" ? "write a record" : "fdatasync a record", error);
      try {
        await this.handle.truncate(this._size);
        this.dirty = false;
      } catch {
        // retried before the next write
      }
      throw failure;
    }
    this._size += bytes.length;
  }

  private writeError(what: string, error: unknown): JournalWriteError {
    return new JournalWriteError(this.dir, what, error as NodeJS.ErrnoException);
  }

  /**
   * Replaces the journal by the records `live()` returns, atomically. Appends wait meanwhile and go to the new journal
   * afterwards. `live()` must reflect every record whose append has resolved (the `apply` callbacks guarantee it);
   * replay must tolerate a record twice. Rejects with {@link JournalWriteError}, leaving the old journal, when the
   * snapshot cannot be written.
   */
  async compact(live: () => R[]): Promise<void> {
    while (this.compacting) await this.compacting;
    let release!: () => void;
    this.compacting = new Promise<void>((resolve) => (release = resolve));
    try {
      while (this.flushing) await this.flushing;
      if (this.closed) return;
      const path = join(this.dir, JOURNAL);
      const tmp = `${path}.compact`;
      const bytes = Buffer.concat(live().map((r) => this.recordBytes(r)));
      await rm(tmp, { force: true });
      let next: JournalFile | undefined;
      try {
        next = await this.openFile(tmp);
        let written = 0;
        while (written < bytes.length) {
          const { bytesWritten } = await next.write(bytes, written, bytes.length - written, written);
          written += bytesWritten;
        }
        await next.datasync();
        await rename(tmp, path);
        const dirHandle = await open(this.dir, "r");
        await dirHandle.sync().finally(() => dirHandle.close());
      } catch (error) {
        await next?.close().catch(() => undefined);
        await rm(tmp, { force: true }).catch(() => undefined);
        throw this.writeError("write a compacted journal (the old one is kept)", error);
      }
      const old = this.handle;
      this.handle = next;
      this._size = bytes.length;
      this.dirty = false;
      await old.close().catch(() => undefined);
    } finally {
      this.compacting = null;
      release();
      if (this.queue.length > 0 && !this.flushing) this.flushing = this.flush();
    }
  }

  async close(): Promise<void> {
    while (this.flushing || this.compacting) await (this.flushing ?? this.compacting);
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** Splits a journal into its records; see {@link Journal} for what is skipped and recovered. */
function parseJournal<R>(
  text: Buffer,
  codec?: JournalCodec<R>,
): { records: R[]; skipped: SkippedLine[]; validLength: number } {
  const records: R[] = [];
  const skipped: SkippedLine[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < text.length) {
    if (text[start] === FRAME_MARK) {
      const frame = readFrame(text, start, codec);
      if (frame === "torn") break; // the file ends inside the frame: a write that was never acknowledged
      lineNo++;
      if (frame.ok) {
        records.push(frame.record);
        start = frame.end;
        continue;
      }
      // A frame that does not check: skip it whole when its length still ends at a newline, else to the next record
      // that reads (a frame's payload may hold newlines, so a newline alone is not a record boundary).
      const next = frame.end ?? nextRecordStart(text, start + 1, codec);
      if (next < 0) break;
      skipped.push({ line: lineNo, text: `binary frame at byte ${start}: ${frame.reason}` });
      start = next;
      continue;
    }
    const end = text.indexOf(0x0a, start);
    if (end < 0) break; // no newline: a torn tail (or nothing)
    lineNo++;
    const line = text.subarray(start, end).toString("utf8");
    const lineStart = start;
    start = end + 1;
    if (line.length === 0) continue;
    const record = parseRecord<R>(line);
    if (record !== undefined) {
      records.push(record);
      continue;
    }
    // A binary frame glued to a partial line (a torn write of an older version before it): recover it.
    const mark = text.indexOf(FRAME_MARK, lineStart + 1);
    if (mark > lineStart && mark < end) {
      const frame = readFrame(text, mark, codec);
      if (frame !== "torn" && frame.ok) {
        skipped.push({ line: lineNo, text: text.subarray(lineStart, mark).toString("utf8") });
        records.push(frame.record);
        start = frame.end;
        continue;
      }
    }
    // Not a record: a partial write, possibly with the next (good) record appended right after it on this line.
    let recovered: R | undefined;
    let cut = line.indexOf('{"t":', 1);
    while (cut > 0 && recovered === undefined) {
      recovered = parseRecord<R>(line.slice(cut));
      if (recovered === undefined) cut = line.indexOf('{"t":', cut + 1);
    }
    skipped.push({ line: lineNo, text: recovered === undefined ? line : line.slice(0, cut) });
    if (recovered !== undefined) records.push(recovered);
  }
  return { records, skipped, validLength: start };
}

/** The frame at `start`: its record and where the next record starts, why it does not check, or "torn" (cut short). */
function readFrame<R>(
  text: Buffer,
  start: number,
  codec: JournalCodec<R> | undefined,
): "torn" | { ok: true; record: R; end: number } | { ok: false; reason: string; end?: number } {
  if (start + FRAME_HEADER > text.length) return "torn";
  const length = text.readUInt32LE(start + 1);
  const end = start + FRAME_HEADER + length;
  if (end + 1 > text.length) return "torn";
  if (text[end] !== 0x0a) return { ok: false, reason: `no newline after its ${length} bytes` };
  const payload = text.subarray(start + FRAME_HEADER, end);
  if (crc32(payload) !== text.readUInt32LE(start + 5))
    return { ok: false, reason: `its ${length} bytes fail their CRC-32`, end: end + 1 };
  if (!codec) return { ok: false, reason: "this journal reads no binary records", end: end + 1 };
  try {
    return { ok: true, record: codec.decode(payload), end: end + 1 };
  } catch (error) {
    return { ok: false, reason: `its record is unreadable (${(error as Error).message.split("\n")[0]})`, end: end + 1 };
  }
}

/** Where the next record that reads (a JSON line, or a frame that checks) starts after a newline from `from`, or -1. */
function nextRecordStart<R>(text: Buffer, from: number, codec: JournalCodec<R> | undefined): number {
  for (let nl = text.indexOf(0x0a, from); nl >= 0 && nl + 1 < text.length; nl = text.indexOf(0x0a, nl + 1)) {
    const next = nl + 1;
    if (text[next] === FRAME_MARK) {
      const frame = readFrame(text, next, codec);
      if (frame !== "torn" && frame.ok) return next;
    } else if (text[next] === 0x7b) {
      const end = text.indexOf(0x0a, next);
      if (end > 0 && parseRecord(text.subarray(next, end).toString("utf8")) !== undefined) return next;
    }
  }
  return -1;
}

function parseRecord<R>(line: string): R | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as R) : undefined;
  } catch {
    return undefined;
  }
}
