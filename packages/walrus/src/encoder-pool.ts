/**
 * Blob IDs computed off the event loop. `@mysten/walrus-wasm`'s `BlobEncoder.compute_metadata` is synchronous and
 * costs ~1.5 s of CPU per blob at 1000 shards whatever its size (it always encodes 1000x1000 symbols), so it runs in a
 * pool of worker threads; results are memoized by (sha256, shard count) so the same content is never encoded twice,
 * and concurrent requests for the same content share one computation.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { LRUCache } from "lru-cache";
import { Piscina } from "piscina";
import { blobIdFromBytes, type BlobId } from "@strata/core";
import { assertEncodable, assertShards, DEFAULT_SHARDS } from "./encoding";
import { WalrusInternalError } from "./errors";

/** What the encoder computes for a blob, plus the sha256 it is memoized under. */
export interface BlobMetadata {
  blobId: BlobId;
  /** Merkle root over the sliver-pair hashes, `0x` + 64 hex. */
  rootHash: string;
  /** Unencoded size in bytes. */
  size: number;
  encodingType: "RS2";
  shards: number;
  /** sha256 of the content, 64 lowercase hex digits. */
  sha256: string;
}

export interface EncoderPoolOptions {
  /** Worker threads; default min(2, available CPUs). */
  threads?: number;
  /** Idle workers exit after this long, giving back their wasm memory (default 10 s). */
  idleTimeoutMs?: number;
  /** Results kept in the memo (default 4096). */
  memoEntries?: number;
}

export interface ComputeOptions {
  /** Shard count of the Walrus network (default 1000, as mainnet and testnet). */
  shards?: number;
  /** The content's sha256 when the caller has already computed it (it is trusted: it keys the memo). */
  sha256?: string;
  /** Stops waiting (the computation itself finishes and is memoized). */
  signal?: AbortSignal;
}

export interface PoolStats {
  /** Blobs handed to the wasm encoder. */
  encoded: number;
  /** Requests answered from the memo. */
  memoHits: number;
  /** Requests that joined a computation of the same content already under way. */
  joined: number;
}

interface WorkerTask {
  buffer: ArrayBuffer;
  byteOffset: number;
  byteLength: number;
  shards: number;
  giveBack: boolean;
}

interface WorkerResult {
  blobId: Uint8Array;
  rootHash: Uint8Array;
  unencodedLength: number;
  encodingType: string;
  buffer: ArrayBuffer | null;
}

const WORKER_FILE = path.join(__dirname, "encoder-worker.js");
const HASH_CHUNK = 4 * 1024 * 1024;

/**
 * sha256 of bytes in 4 MiB steps, yielding to the event loop between steps: a 256 MiB blob costs ~170 ms of hashing
 * but never blocks a server for more than a few milliseconds at a time.
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const hash = createHash("sha256");
  for (let offset = 0; offset < bytes.byteLength; offset += HASH_CHUNK) {
    hash.update(bytes.subarray(offset, Math.min(offset + HASH_CHUNK, bytes.byteLength)));
    if (offset + HASH_CHUNK < bytes.byteLength) await yieldToLoop();
  }
  return hash.digest("hex");
}

/** A private copy of `bytes` in its own buffer, made in 4 MiB steps so a large copy does not stall the event loop. */
async function copyYielding(bytes: Uint8Array): Promise<Uint8Array> {
  const copy = new Uint8Array(bytes.byteLength);
  for (let offset = 0; offset < bytes.byteLength; offset += HASH_CHUNK) {
    copy.set(bytes.subarray(offset, Math.min(offset + HASH_CHUNK, bytes.byteLength)), offset);
    if (offset + HASH_CHUNK < bytes.byteLength) await yieldToLoop();
  }
  return copy;
}

/** sha256 and size of a file, streamed. */
export async function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }
  return { sha256: hash.digest("hex"), size };
}

/** True when the view covers its whole (non-shared) ArrayBuffer, so the buffer can be transferred as is. */
function ownsWholeBuffer(bytes: Uint8Array): boolean {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** A pool of worker threads computing Blob IDs, with a memo. Idle workers do not keep the process alive. */
export class EncoderPool {
  readonly threads: number;
  readonly #piscina: Piscina<WorkerTask, WorkerResult>;
  readonly #memo: LRUCache<string, BlobMetadata>;
  readonly #inflight = new Map<string, Promise<BlobMetadata>>();
  readonly #stats: PoolStats = { encoded: 0, memoHits: 0, joined: 0 };

  constructor(options: EncoderPoolOptions = {}) {
    this.threads = options.threads ?? Math.max(1, Math.min(2, availableParallelism()));
    if (!Number.isInteger(this.threads) || this.threads < 1) {
      throw new RangeError(`EncoderPool threads must be a positive integer, got ${options.threads}`);
    }
    this.#piscina = new Piscina<WorkerTask, WorkerResult>({
      filename: WORKER_FILE,
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: options.idleTimeoutMs ?? 10_000,
    });
    this.#memo = new LRUCache<string, BlobMetadata>({ max: options.memoEntries ?? 4096 });
  }

  /** Counters since the pool was created. */
  get stats(): PoolStats {
    return { ...this.#stats };
  }

  /** The memoized metadata of content with this sha256, if it has been computed. */
  lookup(sha256: string, shards: number = DEFAULT_SHARDS): BlobMetadata | undefined {
    return this.#memo.get(`${shards}:${sha256}`);
  }

  /** The Blob ID of `bytes` (the bytes are copied to the worker; the caller keeps them). */
  async computeBlobId(bytes: Uint8Array, options: ComputeOptions = {}): Promise<BlobId> {
    return (await this.computeMetadata(bytes, options)).blobId;
  }

  /** Blob ID, root hash, size and sha256 of `bytes` (the bytes are copied to the worker; the caller keeps them). */
  async computeMetadata(bytes: Uint8Array, options: ComputeOptions = {}): Promise<BlobMetadata> {
    return (await this.#compute(bytes, options, false)).metadata;
  }

  /**
   * Like `computeMetadata`, but without copying: the caller hands its buffer over to the worker and gets it back as
   * `bytes` in the result. `bytes` given here must not be used after the call (it may be detached).
   */
  async computeMetadataOwned(
    bytes: Uint8Array,
    options: ComputeOptions = {},
  ): Promise<{ metadata: BlobMetadata; bytes: Uint8Array }> {
    return this.#compute(bytes, options, true);
  }

  /** Stops the workers. Pending computations are rejected. */
  async close(): Promise<void> {
    await this.#piscina.destroy();
  }

  async #compute(
    bytes: Uint8Array,
    options: ComputeOptions,
    owned: boolean,
  ): Promise<{ metadata: BlobMetadata; bytes: Uint8Array }> {
    const shards = options.shards ?? DEFAULT_SHARDS;
    assertShards(shards);
    assertEncodable(bytes.byteLength, shards);
    options.signal?.throwIfAborted();
    const sha256 = options.sha256 ?? (await sha256Hex(bytes));
    const key = `${shards}:${sha256}`;

    const known = this.#memo.get(key);
    if (known !== undefined) {
      this.#stats.memoHits++;
      return { metadata: known, bytes };
    }
    const pending = this.#inflight.get(key);
    if (pending !== undefined) {
      this.#stats.joined++;
      return { metadata: await abortable(pending, options.signal), bytes };
    }

    // Transfer the caller's buffer when it is handed over and whole; otherwise transfer a private copy.
    const giveBack = owned && ownsWholeBuffer(bytes);
    let returned = bytes;
    this.#stats.encoded++;
    const job = (async (): Promise<BlobMetadata> => {
      const input = giveBack ? bytes : await copyYielding(bytes);
      const result = await this.#piscina.run(
        {
          buffer: input.buffer as ArrayBuffer,
          byteOffset: input.byteOffset,
          byteLength: input.byteLength,
          shards,
          giveBack,
        },
        { transferList: [input.buffer as ArrayBuffer] },
      );
      if (giveBack && result.buffer !== null) returned = new Uint8Array(result.buffer);
      if (result.encodingType !== "RS2") {
        throw new WalrusInternalError(`the encoder returned encoding type ${result.encodingType}, not RS2`);
      }
      const metadata: BlobMetadata = {
        blobId: blobIdFromBytes(result.blobId),
        rootHash: `0x${Buffer.from(result.rootHash).toString("hex")}`,
        size: result.unencodedLength,
        encodingType: "RS2",
        shards,
        sha256,
      };
      this.#memo.set(key, metadata);
      return metadata;
    })();
    this.#inflight.set(key, job);
    // A caller that stops waiting leaves the job to finish (and be memoized) on its own.
    job.finally(() => this.#inflight.delete(key)).catch(() => undefined);
    const metadata = await abortable(job, options.signal);
    return { metadata, bytes: returned };
  }
}

let defaultPool: EncoderPool | undefined;

/** The process-wide pool used by `blobId()` and by clients and servers that are not given one. */
export function defaultEncoderPool(): EncoderPool {
  defaultPool ??= new EncoderPool();
  return defaultPool;
}

/** Closes the process-wide pool (a later call to `defaultEncoderPool()` makes a new one). */
export async function closeDefaultEncoderPool(): Promise<void> {
  const pool = defaultPool;
  defaultPool = undefined;
  await pool?.close();
}

/** The true Walrus Blob ID of `bytes` (base64url), computed off the event loop and memoized. */
export async function blobId(bytes: Uint8Array, options: ComputeOptions = {}): Promise<BlobId> {
  return defaultEncoderPool().computeBlobId(bytes, options);
}

/** The Blob ID metadata of `bytes` (Blob ID, root hash, size, sha256), computed off the event loop and memoized. */
export async function blobMetadata(bytes: Uint8Array, options: ComputeOptions = {}): Promise<BlobMetadata> {
  return defaultEncoderPool().computeMetadata(bytes, options);
}

/** The Blob ID metadata of a file. The file is read once and handed to a worker without another copy. */
export async function blobMetadataOfFile(
  file: string,
  options: ComputeOptions & { pool?: EncoderPool } = {},
): Promise<BlobMetadata> {
  const { size } = await stat(file);
  assertEncodable(size, options.shards ?? DEFAULT_SHARDS);
  const bytes = await readFile(file, { signal: options.signal });
  return (await (options.pool ?? defaultEncoderPool()).computeMetadataOwned(bytes, options)).metadata;
}
