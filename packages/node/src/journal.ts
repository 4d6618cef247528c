import { open, readFile, rename, mkdir, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { OutboxError } from "./errors";

/**
 * An append-only journal of JSON records with group commit: every `append` resolves only after its record is on disk
 * (write + fdatasync), and appends that arrive while a sync is in flight share the next one. A crash can leave at most
 * a torn last line, which was never acknowledged and is dropped on replay. `compact` replaces the journal by a snapshot
 * of the live records, atomically (temporary file, fsync, rename).
 */
export class Journal<R> {
  private queue: { line: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private compacting: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private handle: FileHandle,
  ) {}

  /** Opens (or creates) the journal in `dir` and returns it with every record it holds, in order. */
  static async open<R>(dir: string): Promise<{ journal: Journal<R>; records: R[] }> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, "journal.jsonl");
    const records: R[] = [];
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const lines = text.split("\n");
    let validLength = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const complete = i < lines.length - 1; // the last piece has no newline: torn or empty
      if (!complete) break;
      try {
        records.push(JSON.parse(line) as R);
      } catch {
        throw new OutboxError(
          `journal ${path} line ${i + 1} is corrupt (not a torn tail: later lines follow); ` +
            "restore it from a backup or move it aside to start empty",
        );
      }
      validLength += Buffer.byteLength(line) + 1;
    }
    const handle = await open(path, "a+");
    if (validLength !== Buffer.byteLength(text)) {
      await handle.truncate(validLength); // drop the torn tail of a crashed write
      await handle.datasync();
    }
    return { journal: new Journal<R>(dir, handle), records };
  }

  /** Appends `records`; resolves once they are durable. */
  append(...records: R[]): Promise<void> {
    if (this.closed) return Promise.reject(new OutboxError("the journal is closed"));
    const line = records.map((r) => JSON.stringify(r) + "\n").join("");
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      if (!this.flushing && !this.compacting) this.flushing = this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        await this.handle.write(group.map((g) => g.line).join(""));
        await this.handle.datasync();
        for (const g of group) g.resolve();
      } catch (error) {
        const failure = new OutboxError(`could not persist to the journal in ${this.dir}: ${(error as Error).message}`);
        for (const g of group) g.reject(failure);
      }
    }
    this.flushing = null;
  }

  /**
   * Replaces the journal by the records `live()` returns, atomically. Appends wait meanwhile and go to the new journal
   * afterwards, so `live()` must already reflect every record appended or queued (replay must tolerate a record twice).
   */
  async compact(live: () => R[]): Promise<void> {
    while (this.compacting) await this.compacting;
    let release!: () => void;
    this.compacting = new Promise<void>((resolve) => (release = resolve));
    try {
      while (this.flushing) await this.flushing;
      const path = join(this.dir, "journal.jsonl");
      const tmp = `${path}.compact`;
      await writeFile(
        tmp,
        live()
          .map((r) => JSON.stringify(r) + "\n")
          .join(""),
      );
      const tmpHandle = await open(tmp, "r+");
      await tmpHandle.datasync();
      await tmpHandle.close();
      await rename(tmp, path);
      const dirHandle = await open(this.dir, "r");
      await dirHandle.sync();
      await dirHandle.close();
      const old = this.handle;
      this.handle = await open(path, "a+");
      await old.close();
    } finally {
      this.compacting = null;
      release();
      if (this.queue.length > 0 && !this.flushing) this.flushing = this.flush();
    }
  }

  async close(): Promise<void> {
    while (this.flushing || this.compacting) await (this.flushing ?? this.compacting);
    this.closed = true;
    await this.handle.close();
  }
}
