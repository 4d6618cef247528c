import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, writeFile, stat, rm, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import {
  httpStatusOf,
  Journal,
  journalFrame,
  JournalWriteError,
  openJournalFile,
  type JournalCodec,
  type JournalFile,
} from "@strata/node";

interface Rec {
  t: string;
  n: number;
  pad?: string;
}

/**
 * A journal file that fails like a full disk: after `budget` bytes every write stores only the bytes that still fit and
 * then fails with ENOSPC (what `write(2)` does on a full filesystem), and `failSync`/`failTruncate` make those fail.
 */
class FullDisk implements JournalFile {
  failSync = false;
  failTruncate = false;
  constructor(
    private readonly inner: JournalFile,
    public budget: number,
  ) {}
  async write(buffer: Uint8Array, offset: number, length: number, position: number) {
    const fits = Math.max(0, Math.min(length, this.budget));
    if (fits > 0) {
      await this.inner.write(buffer, offset, fits, position);
      this.budget -= fits;
    }
    if (fits < length) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    return { bytesWritten: fits };
  }
  async truncate(length: number) {
    if (this.failTruncate) throw Object.assign(new Error("EIO: i/o error, ftruncate"), { code: "EIO" });
    return this.inner.truncate(length);
  }
  async datasync() {
    if (this.failSync) throw Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
    return this.inner.datasync();
  }
  close() {
    return this.inner.close();
  }
}

async function withFullDisk(dir: string, budget: number) {
  let disk: FullDisk | undefined;
  const opened = await Journal.open<Rec>(dir, {
    openFile: async (path) => (disk = new FullDisk(await openJournalFile(path), budget)),
  });
  return { ...opened, disk: disk! };
}

/** Awaits `promise`, expecting it to reject with an instance of `type` whose message matches `pattern`. */
async function rejects(
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
  pattern?: RegExp,
): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error, "expected a rejection").to.be.instanceOf(type);
  if (pattern) expect(error!.message).to.match(pattern);
  return error!;
}

const line = (r: Rec) => JSON.stringify(r) + "\n";

describe("Journal", function () {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "strata-journal-"))));

  it("replays every acknowledged record after a reopen", async function () {
    const { journal } = await Journal.open<Rec>(dir);
    await journal.append([{ t: "a", n: 1 }]);
    await Promise.all([
      journal.append([{ t: "a", n: 2 }]),
      journal.append([
        { t: "a", n: 3 },
        { t: "a", n: 4 },
      ]),
    ]);
    await journal.close();
    const { records } = await Journal.open<Rec>(dir);
    expect(records.map((r) => r.n)).to.deep.equal([1, 2, 3, 4]);
  });

  it("runs a record's apply callback only once the record is durable, and never for a failed write", async function () {
    const { journal, disk } = await withFullDisk(dir, 1_000);
    const applied: number[] = [];
    await journal.append([{ t: "a", n: 1 }], () => applied.push(1));
    disk.budget = 5;
    const failed = journal.append([{ t: "a", n: 2, pad: "x".repeat(100) }], () => applied.push(2));
    await rejects(failed, JournalWriteError);
    expect(applied).to.deep.equal([1]);
    await journal.close();
  });

  it("truncates a partial write (ENOSPC) back to the last good record and rejects it with 507", async function () {
    const { journal, disk } = await withFullDisk(dir, line({ t: "a", n: 1 }).length + 10);
    await journal.append([{ t: "a", n: 1 }]);
    const error = await journal.append([{ t: "a", n: 2, pad: "y".repeat(200) }]).then(
      () => undefined,
      (e: JournalWriteError) => e,
    );
    expect(error).to.be.instanceOf(JournalWriteError);
    expect(httpStatusOf(error!)).to.equal(507);
    expect(error!.message)
      .to.match(/no space left/i)
      .and.match(/free disk space/i);
    expect(await readFile(join(dir, "journal.jsonl"), "utf8")).to.equal(line({ t: "a", n: 1 }));
    // Space comes back: the next record follows the last good one, and a restart reads both.
    disk.budget = 10_000;
    await journal.append([{ t: "a", n: 3 }]);
    await journal.close();
    const { records } = await Journal.open<Rec>(dir);
    expect(records.map((r) => r.n)).to.deep.equal([1, 3]);
  });

  it("retries the truncation before the next write when it failed, and refuses the write while it fails", async function () {
    const { journal, disk } = await withFullDisk(dir, line({ t: "a", n: 1 }).length + 10);
    await journal.append([{ t: "a", n: 1 }]);
    disk.failTruncate = true;
    await rejects(journal.append([{ t: "a", n: 2, pad: "z".repeat(100) }]), JournalWriteError);
    disk.budget = 10_000;
    await rejects(journal.append([{ t: "a", n: 3 }]), JournalWriteError, /truncate/);
    disk.failTruncate = false;
    await journal.append([{ t: "a", n: 4 }]);
    await journal.close();
    const { records } = await Journal.open<Rec>(dir);
    expect(records.map((r) => r.n)).to.deep.equal([1, 4]);
  });

  it("rejects a record whose fdatasync failed and does not keep it", async function () {
    const { journal, disk } = await withFullDisk(dir, 10_000);
    await journal.append([{ t: "a", n: 1 }]);
    disk.failSync = true;
    await rejects(journal.append([{ t: "a", n: 2 }]), JournalWriteError, /fdatasync/);
    disk.failSync = false;
    await journal.append([{ t: "a", n: 3 }]);
    await journal.close();
    const { records } = await Journal.open<Rec>(dir);
    expect(records.map((r) => r.n)).to.deep.equal([1, 3]);
  });

  it("drops a torn last line on open without rewriting the journal", async function () {
    const path = join(dir, "journal.jsonl");
    await writeFile(path, line({ t: "a", n: 1 }) + '{"t":"a","n":');
    const { journal, records } = await Journal.open<Rec>(dir);
    expect(records.map((r) => r.n)).to.deep.equal([1]);
    await journal.append([{ t: "a", n: 2 }]);
    await journal.close();
    expect(await readFile(path, "utf8")).to.equal(line({ t: "a", n: 1 }) + line({ t: "a", n: 2 }));
  });

  it("starts on a journal that an older node left with an unacknowledged partial record between good ones", async function () {
    // What a node before the fix wrote on a full disk: a partial record (its request was refused), then the next
    // record appended right after it on the same line, then more lines.
    const path = join(dir, "journal.jsonl");
    const partial = JSON.stringify({ t: "a", n: 2, pad: "q".repeat(50) }).slice(0, 30);
    await writeFile(path, line({ t: "a", n: 1 }) + partial + line({ t: "a", n: 3 }) + line({ t: "a", n: 4 }));
    const { journal, records, skipped } = await Journal.open<Rec>(dir);
    expect(records.map((r) => r.n)).to.deep.equal([1, 3, 4]);
    expect(skipped).to.have.length(1);
    expect(skipped[0].text).to.equal(partial);
    await journal.close();
    // The skipped bytes are kept aside for the operator, never silently thrown away.
    expect(await readFile(join(dir, "journal.skipped"), "utf8")).to.contain(partial);
  });

  it("opens a journal on a full disk (opening writes nothing)", async function () {
    const { journal: first } = await Journal.open<Rec>(dir);
    await first.append([{ t: "a", n: 1 }]);
    await first.close();
    const { journal, records } = await withFullDisk(dir, 0);
    expect(records.map((r) => r.n)).to.deep.equal([1]);
    await rejects(journal.append([{ t: "a", n: 2 }]), JournalWriteError);
    await journal.close();
  });

  it("compacts to the live records atomically, and keeps the old journal when the compaction cannot be written", async function () {
    const { journal } = await Journal.open<Rec>(dir);
    for (let n = 1; n <= 5; n++) await journal.append([{ t: "a", n }]);
    await journal.compact(() => [{ t: "a", n: 5 }]);
    await journal.append([{ t: "a", n: 6 }]);
    expect(journal.size).to.equal(line({ t: "a", n: 5 }).length + line({ t: "a", n: 6 }).length);
    await journal.close();
    const reopened = await Journal.open<Rec>(dir, {
      openFile: async (path) => new FullDisk(await openJournalFile(path), path.endsWith(".compact") ? 3 : 10_000),
    });
    expect(reopened.records.map((r) => r.n)).to.deep.equal([5, 6]);
    await rejects(
      reopened.journal.compact(() => [{ t: "a", n: 6, pad: "long" }]),
      JournalWriteError,
    );
    await reopened.journal.append([{ t: "a", n: 7 }]);
    await reopened.journal.close();
    const { records } = await Journal.open<Rec>(dir);
    expect(records.map((r) => r.n)).to.deep.equal([5, 6, 7]);
    expect((await stat(join(dir, "journal.jsonl"))).size).to.be.greaterThan(0);
  });

  describe("binary frames", function () {
    /** Records with a `blob` go into frames: `n` as u32 LE, then the bytes. */
    type BinRec = Rec & { blob?: Uint8Array };
    const codec: JournalCodec<BinRec> = {
      encode: (r) => {
        if (!r.blob) return undefined;
        const out = Buffer.alloc(4 + r.blob.length);
        out.writeUInt32LE(r.n, 0);
        out.set(r.blob, 4);
        return out;
      },
      decode: (payload) => ({ t: "bin", n: Buffer.from(payload).readUInt32LE(0), blob: payload.slice(4) }),
    };
    /** A blob whose bytes include newlines, record separators and braces (a frame must not be split at them). */
    const blob = (n: number, size = 3000) =>
      Uint8Array.from({ length: size }, (_, i) => [0x0a, 0x1e, 0x7b, n, i][i % 5] & 0xff);

    it("keeps frames with raw bytes (newlines included) beside JSON lines, across reopen and compaction", async function () {
      const { journal } = await Journal.open<BinRec>(dir, {}, codec);
      await journal.append([
        { t: "a", n: 1 },
        { t: "bin", n: 2, blob: blob(2) },
      ]);
      await journal.appendFrame(codec.encode({ t: "bin", n: 3, blob: blob(3, 0) })!);
      await journal.append([{ t: "a", n: 4 }]);
      await journal.close();
      let opened = await Journal.open<BinRec>(dir, {}, codec);
      expect(opened.skipped).to.deep.equal([]);
      expect(
        opened.records.map((r) => [
          r.n,
          r.blob ? Buffer.from(r.blob).equals(Buffer.from(blob(r.n, r.n === 3 ? 0 : 3000))) : null,
        ]),
      ).to.deep.equal([
        [1, null],
        [2, true],
        [3, true],
        [4, null],
      ]);
      await opened.journal.compact(() => [
        { t: "bin", n: 5, blob: blob(5) },
        { t: "a", n: 6 },
      ]);
      await opened.journal.close();
      opened = await Journal.open<BinRec>(dir, {}, codec);
      expect(opened.records.map((r) => r.n)).to.deep.equal([5, 6]);
      expect(Buffer.from(opened.records[0].blob!).equals(Buffer.from(blob(5)))).to.equal(true);
      await opened.journal.close();
    });

    it("truncates a frame torn inside its payload at the end, and keeps every record before it", async function () {
      const path = join(dir, "journal.jsonl");
      const whole = journalFrame(codec.encode({ t: "bin", n: 2, blob: blob(2) })!);
      await writeFile(path, Buffer.concat([Buffer.from(line({ t: "a", n: 1 })), whole.subarray(0, 1000)]));
      const { journal, records, skipped } = await Journal.open<BinRec>(dir, {}, codec);
      expect(records.map((r) => r.n)).to.deep.equal([1]);
      expect(skipped).to.deep.equal([]);
      await journal.append([{ t: "a", n: 3 }]);
      await journal.close();
      expect(await readFile(path, "utf8")).to.equal(line({ t: "a", n: 1 }) + line({ t: "a", n: 3 }));
    });

    it("skips a frame whose CRC-32 fails between good records, reports it, and keeps the records after it", async function () {
      const path = join(dir, "journal.jsonl");
      const bad = journalFrame(codec.encode({ t: "bin", n: 2, blob: blob(2) })!);
      bad[500] ^= 0xff; // a flipped byte in the payload
      expect(crc32(bad.subarray(9, bad.length - 1))).to.not.equal(bad.readUInt32LE(5));
      const good = journalFrame(codec.encode({ t: "bin", n: 3, blob: blob(3) })!);
      await writeFile(
        path,
        Buffer.concat([Buffer.from(line({ t: "a", n: 1 })), bad, good, Buffer.from(line({ t: "a", n: 4 }))]),
      );
      const { journal, records, skipped } = await Journal.open<BinRec>(dir, {}, codec);
      expect(records.map((r) => r.n)).to.deep.equal([1, 3, 4]);
      expect(skipped).to.have.length(1);
      expect(skipped[0].text).to.match(/binary frame at byte \d+: its 3004 bytes fail their CRC-32/);
      await journal.close();
    });
  });

  describe("on a real full filesystem (8 MiB tmpfs)", function () {
    let mountpoint: string;
    before(async function () {
      if (process.getuid?.() !== 0) this.skip(); // mounting a tmpfs needs root (CI and these machines run as root)
      mountpoint = await mkdtemp(join(tmpdir(), "strata-tmpfs-"));
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountpoint]);
    });
    after(async function () {
      if (mountpoint) {
        execFileSync("umount", ["-l", mountpoint]);
        await rm(mountpoint, { recursive: true, force: true });
      }
    });

    it("never acknowledges a record the disk could not hold, and every acknowledged record replays", async function () {
      const jdir = join(mountpoint, "outbox");
      await mkdir(jdir);
      const { journal } = await Journal.open<Rec>(jdir);
      const acknowledged: number[] = [];
      let refused = 0;
      const pad = "p".repeat(60_000);
      for (let n = 0; n < 400; n++) {
        await journal.append([{ t: "a", n, pad }]).then(
          () => acknowledged.push(n),
          (error: JournalWriteError) => {
            expect(error).to.be.instanceOf(JournalWriteError);
            refused++;
          },
        );
      }
      expect(refused, "the disk never filled").to.be.greaterThan(0);
      await journal.close();
      const { records, skipped } = await Journal.open<Rec>(jdir);
      expect(records.map((r) => r.n)).to.deep.equal(acknowledged);
      expect(skipped).to.have.length(0);
    });
  });
});
