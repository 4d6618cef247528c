import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BlobIntegrityError,
  BlobNotFoundError,
  BlobTooLargeError,
  WalrusHttpError,
  WalrusNetworkError,
  WalrusTimeoutError,
  type NetworkClock,
  type TransferProgress,
  type WalrusClient,
} from "@strata/walrus";
import {
  ModelExpiredError,
  ModelIntegrityError,
  ModelTooLargeError,
  ModelUnavailableError,
  StrataRuntimeError,
  type ModelVersionLabel,
} from "./errors";

/** What the cache needs from Walrus: a verified download to a path (the file appears only once it checks out). */
export type BlobSource = Pick<WalrusClient, "readToFile">;

/** A cached model file. */
export interface CacheEntry {
  blobId: string;
  sha256: string;
  size: number;
  path: string;
  /** Last use (ms since the epoch): eviction takes the oldest first. */
  lastUsed: number;
  /**
   * The Walrus epoch (exclusive) at which the blob's storage ends, as the registry last said: from that epoch on the
   * entry is never served (the lease). Absent for an entry cached without one.
   */
  endEpoch?: number;
  /** The model version the file is, when the caller named it. */
  model?: ModelVersionLabel;
}

/** The reference the registry holds for a model file: what a download must match. */
export interface ModelFileRef {
  blobId: string;
  /** Hex, with or without 0x. */
  sha256: string;
  size: number;
  /**
   * The registry's end epoch (exclusive) of the blob's storage: recorded with the entry (a later one, after a renewal,
   * replaces it) and enforced when the cache has a clock.
   */
  endEpoch?: number;
  /** The model version this file is (kept with the entry, for listings and messages). */
  model?: ModelVersionLabel;
}

export interface ModelCacheOptions {
  /**
   * The largest model this cache downloads, in bytes (default: the cache bound). A model whose registered size is
   * larger is refused before any byte is fetched.
   */
  maxModelBytes?: number;
  /**
   * The network's epoch clock: with it, an entry (or a reference) whose end epoch has begun is refused with
   * {@link ModelExpiredError} and evicted, never served. An unreachable clock leaves the lease unchecked for that call.
   */
  clock?: NetworkClock;
}

const BLOB_ID = /^[A-Za-z0-9_-]{43}$/;
const strip0x = (hex: string) => hex.replace(/^0x/, "").toLowerCase();

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * A content-addressed model cache on disk, keyed by Walrus Blob ID. A file enters only after its sha256 matched the
 * registry's commitment, by an atomic rename; the cache is bounded in bytes with least-recently-used eviction; many
 * concurrent requests for the same uncached model share one download (single flight).
 */
export class ModelCache {
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  readonly downloads = { count: 0, bytes: 0 };
  /** The largest model downloaded, in bytes. */
  readonly maxModelBytes: number;
  /** The epoch clock leases are checked against (none: leases are recorded, not enforced by `get`). */
  readonly clock: NetworkClock | undefined;

  constructor(
    readonly dir: string,
    private readonly source: BlobSource,
    readonly maxBytes: number = 8 * 1024 ** 3,
    options: ModelCacheOptions = {},
  ) {
    this.maxModelBytes = options.maxModelBytes ?? maxBytes;
    this.clock = options.clock;
    for (const [name, value] of [
      ["maxBytes", maxBytes],
      ["maxModelBytes", this.maxModelBytes],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new RangeError(`ModelCache ${name} must be a non-negative integer of bytes, got ${value}`);
      }
    }
  }

  private blobPath(blobId: string): string {
    return join(this.dir, "blobs", blobId);
  }

  private metaPath(blobId: string): string {
    return join(this.dir, "blobs", `${blobId}.json`);
  }

  /**
   * The path of `ref`'s file: from the cache, or downloaded, verified and cached first. With a clock, a file whose
   * lease (the reference's end epoch, else the entry's) is over is refused with {@link ModelExpiredError}, and evicted.
   */
  async get(ref: ModelFileRef, onProgress?: (progress: TransferProgress) => void): Promise<CacheEntry> {
    if (!BLOB_ID.test(ref.blobId)) {
      throw new StrataRuntimeError(
        "INVALID_BLOB_ID",
        `"${ref.blobId}" is not a Walrus Blob ID (43 base64url characters)`,
      );
    }
    if (ref.endEpoch !== undefined && (!Number.isSafeInteger(ref.endEpoch) || ref.endEpoch < 0)) {
      throw new RangeError(`a model reference's endEpoch must be a non-negative integer, got ${ref.endEpoch}`);
    }
    const cached = await this.lookup(ref);
    if (cached) {
      await this.checkLease(cached, ref);
      return cached;
    }
    await this.checkLease(undefined, ref);
    this.checkSize(ref);
    let pending = this.inflight.get(ref.blobId);
    if (!pending) {
      pending = this.fetch(ref, onProgress).finally(() => this.inflight.delete(ref.blobId));
      this.inflight.set(ref.blobId, pending);
    }
    return pending;
  }

  /** The cached entry for `ref` if it is there and its recorded commitment matches; touches it for LRU. */
  private async lookup(ref: ModelFileRef): Promise<CacheEntry | undefined> {
    const entry = await this.entry(ref.blobId);
    if (!entry) return undefined;
    if (entry.sha256 !== strip0x(ref.sha256)) {
      // The same Blob ID with another sha256 means the registry and the cache disagree: never serve it.
      throw new ModelIntegrityError(ref.blobId, strip0x(ref.sha256), entry.sha256);
    }
    const now = new Date();
    await utimes(entry.path, now, now).catch(() => undefined);
    const updated = await this.relabel(entry, ref);
    return { ...updated, lastUsed: now.getTime() };
  }

  /** Records a new lease (the registry's, after a renewal) or label of `ref` with its entry. */
  private async relabel(entry: CacheEntry, ref: ModelFileRef): Promise<CacheEntry> {
    const endEpoch = ref.endEpoch ?? entry.endEpoch;
    const model = ref.model ?? entry.model;
    if (endEpoch === entry.endEpoch && JSON.stringify(model) === JSON.stringify(entry.model)) return entry;
    const meta = {
      blobId: entry.blobId,
      sha256: entry.sha256,
      size: entry.size,
      ...(endEpoch === undefined ? {} : { endEpoch }),
      ...(model === undefined ? {} : { model }),
    };
    await this.writeMeta(entry.blobId, meta, entry.size);
    return { ...entry, ...meta };
  }

  /**
   * Refuses (and evicts, when cached) a file whose lease is over by the clock: the reference's end epoch (the
   * registry's word now), else the one recorded with the entry. Without a clock, or when it cannot be read, it passes.
   */
  private async checkLease(entry: CacheEntry | undefined, ref: ModelFileRef): Promise<void> {
    const endEpoch = ref.endEpoch ?? entry?.endEpoch;
    if (endEpoch === undefined || this.clock === undefined) return;
    let epoch: number;
    try {
      epoch = (await this.clock.now()).epoch;
    } catch {
      return;
    }
    if (endEpoch > epoch) return;
    if (entry !== undefined) await this.remove(entry.blobId);
    throw new ModelExpiredError(ref.blobId, endEpoch, epoch, ref.model ?? entry?.model);
  }

  /** Removes the entry of `blobId`, if cached; whether it was. */
  async evict(blobId: string): Promise<boolean> {
    const cached = (await this.entry(blobId)) !== undefined;
    await this.remove(blobId);
    return cached;
  }

  /** Evicts every entry whose recorded lease is over at `currentEpoch` (end epoch <= current); returns them. */
  async evictExpired(currentEpoch: number): Promise<CacheEntry[]> {
    const evicted: CacheEntry[] = [];
    for (const entry of await this.list()) {
      if (entry.endEpoch === undefined || entry.endEpoch > currentEpoch) continue;
      await this.remove(entry.blobId);
      evicted.push(entry);
    }
    return evicted;
  }

  /** Refuses, from the registry's size alone, a model this cache will not hold: before any byte is fetched. */
  private checkSize(ref: ModelFileRef): void {
    if (!Number.isSafeInteger(ref.size) || ref.size < 0) {
      throw new StrataRuntimeError(
        "INVALID_MODEL_SIZE",
        `the registry gives model blob ${ref.blobId} a size of ${ref.size} bytes, which is not a byte count`,
      );
    }
    // The tighter bound is the one to name (the cache's when they are equal, as by default).
    if (ref.size > this.maxModelBytes && this.maxModelBytes < this.maxBytes) {
      throw new ModelTooLargeError(ref.blobId, ref.size, this.maxModelBytes, "max-model-bytes");
    }
    if (ref.size > this.maxBytes) throw new ModelTooLargeError(ref.blobId, ref.size, this.maxBytes, "cache-max-bytes");
  }

  private async fetch(ref: ModelFileRef, onProgress?: (progress: TransferProgress) => void): Promise<CacheEntry> {
    await mkdir(join(this.dir, "blobs"), { recursive: true });
    await mkdir(join(this.dir, "tmp"), { recursive: true });
    const sha = strip0x(ref.sha256);
    const tmp = join(this.dir, "tmp", `${ref.blobId}.${process.pid}.${Date.now()}`);
    try {
      try {
        // The registry's size bounds the download: a longer body is cut as soon as the extra bytes arrive.
        await this.source.readToFile(ref.blobId, tmp, { sha256: sha, expectedSize: ref.size, onProgress });
      } catch (error) {
        if (error instanceof BlobIntegrityError) {
          const expected = error.failure === "size" || error.failure === "truncated" ? `${error.expected} bytes` : "";
          throw new ModelIntegrityError(
            ref.blobId,
            `${error.failure} ${expected || error.expected}`,
            error.failure === "size" || error.failure === "truncated" ? `${error.actual} bytes` : error.actual,
          );
        }
        if (error instanceof BlobTooLargeError) {
          // Only a registered size no Walrus blob can have gets here (longer bodies fail as integrity errors).
          throw new StrataRuntimeError(
            "INVALID_MODEL_SIZE",
            `the registry gives model blob ${ref.blobId} a size of ${ref.size} bytes, more than a Walrus blob can ` +
              `hold (${error.limit ?? "the encoder's limit"} bytes); nothing was downloaded`,
          );
        }
        if (error instanceof WalrusTimeoutError) {
          throw new ModelUnavailableError(
            ref.blobId,
            "TIMEOUT",
            `no progress from ${error.url} for ${error.timeoutMs} ms`,
            {
              cause: error,
            },
          );
        }
        if (error instanceof WalrusNetworkError) {
          throw new ModelUnavailableError(ref.blobId, "NETWORK", error.message, { cause: error });
        }
        if (error instanceof WalrusHttpError) {
          throw new ModelUnavailableError(ref.blobId, "HTTP", error.message, { cause: error });
        }
        if (isDiskFull(error)) throw new CacheDiskFullError(this.dir, ref.blobId, ref.size, error as Error);
        if (error instanceof BlobNotFoundError) {
          throw new StrataRuntimeError(
            "MODEL_BLOB_NOT_FOUND",
            `model blob ${ref.blobId} is not on Walrus (expired or never stored): ${error.message}`,
          );
        }
        throw error;
      }
      // Checked here again, so nothing enters the cache on the word of the source alone.
      const [actual, info] = await Promise.all([sha256File(tmp), stat(tmp)]);
      if (actual !== sha) throw new ModelIntegrityError(ref.blobId, sha, actual);
      if (info.size !== ref.size) throw new ModelIntegrityError(ref.blobId, `${ref.size} bytes`, `${info.size} bytes`);
      await this.makeRoom(ref.blobId, info.size);
      const meta = {
        blobId: ref.blobId,
        sha256: sha,
        size: info.size,
        ...(ref.endEpoch === undefined ? {} : { endEpoch: ref.endEpoch }),
        ...(ref.model === undefined ? {} : { model: ref.model }),
      };
      await this.writeMeta(ref.blobId, meta, ref.size);
      await rename(tmp, this.blobPath(ref.blobId));
      this.downloads.count++;
      this.downloads.bytes += info.size;
      return { ...meta, path: this.blobPath(ref.blobId), lastUsed: Date.now() };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Writes an entry's metadata atomically (a temporary file, renamed). */
  private async writeMeta(blobId: string, meta: Omit<CacheEntry, "path" | "lastUsed">, size: number): Promise<void> {
    try {
      await writeFile(`${this.metaPath(blobId)}.tmp`, JSON.stringify(meta));
    } catch (error) {
      await rm(`${this.metaPath(blobId)}.tmp`, { force: true });
      if (isDiskFull(error)) throw new CacheDiskFullError(this.dir, blobId, size, error as Error);
      throw error;
    }
    await rename(`${this.metaPath(blobId)}.tmp`, this.metaPath(blobId));
  }

  private async entry(blobId: string): Promise<CacheEntry | undefined> {
    try {
      const meta = JSON.parse(await readFile(this.metaPath(blobId), "utf8")) as Omit<CacheEntry, "path" | "lastUsed">;
      const info = await stat(this.blobPath(blobId));
      if (info.size !== meta.size) return undefined;
      return { ...meta, path: this.blobPath(blobId), lastUsed: info.mtimeMs };
    } catch {
      return undefined;
    }
  }

  /** Every cached entry, most recently used first. */
  async list(): Promise<CacheEntry[]> {
    let names: string[];
    try {
      names = await readdir(join(this.dir, "blobs"));
    } catch {
      return [];
    }
    const entries = await Promise.all(names.filter((n) => BLOB_ID.test(n)).map((n) => this.entry(n)));
    return entries.filter((e): e is CacheEntry => !!e).sort((a, b) => b.lastUsed - a.lastUsed);
  }

  /** Re-hashes every entry; removes and reports the ones whose bytes no longer match their commitment. */
  async verify(): Promise<{ ok: CacheEntry[]; corrupt: (CacheEntry & { actual: string })[] }> {
    const ok: CacheEntry[] = [];
    const corrupt: (CacheEntry & { actual: string })[] = [];
    for (const entry of await this.list()) {
      const actual = await sha256File(entry.path);
      if (actual === entry.sha256) ok.push(entry);
      else {
        corrupt.push({ ...entry, actual });
        await this.remove(entry.blobId);
      }
    }
    return { ok, corrupt };
  }

  /** Evicts least-recently-used entries until at most `maxBytes` (default: the cache bound) remain. */
  async prune(maxBytes: number = this.maxBytes): Promise<CacheEntry[]> {
    const entries = await this.list();
    let total = entries.reduce((sum, e) => sum + e.size, 0);
    const evicted: CacheEntry[] = [];
    for (const entry of entries.reverse()) {
      if (total <= maxBytes) break;
      await this.remove(entry.blobId);
      total -= entry.size;
      evicted.push(entry);
    }
    return evicted;
  }

  private async makeRoom(blobId: string, incoming: number): Promise<void> {
    if (incoming > this.maxBytes) throw new ModelTooLargeError(blobId, incoming, this.maxBytes, "cache-max-bytes");
    await this.prune(this.maxBytes - incoming);
  }

  private async remove(blobId: string): Promise<void> {
    await rm(this.blobPath(blobId), { force: true });
    await rm(this.metaPath(blobId), { force: true });
  }
}

/** Whether `error` is a full disk (or quota) as the file system reports it. */
function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG";
}

/** The cache directory's disk is full: the model was not cached (and nothing partial was kept). */
export class CacheDiskFullError extends StrataRuntimeError {
  constructor(
    readonly dir: string,
    readonly blobId: string,
    readonly size: number,
    cause: Error,
  ) {
    super(
      "DISK_FULL",
      `no space left to cache model blob ${blobId} (${size} bytes) in ${dir} (${cause.message}); free disk space ` +
        "there or lower --cache-max-bytes so the cache evicts sooner, then retry",
    );
  }
}
