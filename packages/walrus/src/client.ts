/**
 * A client of Walrus publishers and aggregators over HTTP (the `@mysten/walrus` SDK talks to storage nodes only).
 * Stores compute the Blob ID locally first and refuse a publisher that certifies another one; reads are verified,
 * against the sha256 when the caller knows it, otherwise by recomputing the Blob ID.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import pRetry from "p-retry";
import { request, type Dispatcher } from "undici";
import { checkStoreResponse, readErrorBody, type ResourceOperation, type StoreResponse } from "./api";
import { parseBlobId, type BlobId } from "@strata/core";
import type { WalrusNetworkConfig } from "./config";
import { defaultEncoderPool, type BlobMetadata, type EncoderPool } from "./encoder-pool";
import { assertEncodable, DEFAULT_SHARDS, maxBlobSize } from "./encoding";
import {
  BlobIntegrityError,
  BlobMarkedInvalidError,
  BlobNotFoundError,
  BlobTooLargeError,
  PUBLISHER_SIZE_ADVICE,
  PublisherMismatchError,
  WalrusError,
  WalrusHttpError,
  WalrusInternalError,
  WalrusNetworkError,
  WalrusResponseError,
  WalrusStoreFailedError,
  WalrusTimeoutError,
} from "./errors";
import { StrataError } from "@strata/errors";
import type { QuiltPatchInput } from "./quilt";
import {
  listPatches,
  readPatch,
  readRange,
  storeQuilt,
  type ListedPatch,
  type PatchRead,
  type PatchRef,
  type QuiltClientTransport,
  type QuiltStoreResult,
  type RangeRead,
  type ReadPatchOptions,
} from "./quilt-client";

export interface WalrusClientOptions extends Partial<WalrusNetworkConfig> {
  /** Publisher base URL (needed by `store`). */
  publisherUrl?: string;
  /** Aggregator base URLs, tried in order with failover (needed by `read`). */
  aggregatorUrls?: readonly string[];
  /** Shard count of the network, for local Blob IDs (default 1000, as mainnet and testnet). */
  shards?: number;
  /** Largest blob the publisher accepts; larger stores fail before any request. Default: no limit. */
  maxPublishBytes?: number;
  /** A request fails with a timeout when no response, or no body bytes, arrive for this long (default 30 s). */
  timeoutMs?: number;
  /** Retries after the first attempt, with exponential backoff and jitter (default 4). */
  retries?: number;
  /** First backoff delay (default 500 ms); it doubles, with jitter, up to `maxRetryDelayMs` (default 10 s). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** For this long after this client stored a blob, a 404 for it is retried as a cache miss (default 60 s). */
  freshNotFoundMs?: number;
  /** Encoder pool for Blob IDs (default: the process-wide one). */
  pool?: EncoderPool;
  /**
   * A bearer token (a JWT) for an authenticated publisher (the only kind on Mainnet), sent as
   * `Authorization: Bearer <token>` with every store and never to an aggregator. It is kept private: no error message,
   * `inspect` or `JSON.stringify` of the client shows it.
   */
  publisherToken?: string;
}

export interface StoreOptions {
  /** Epochs ahead to store for (default 1; Walrus takes at most 53). */
  epochs?: number;
  /** A permanent blob cannot be deleted before its end epoch (default: deletable). */
  permanent?: boolean;
  /** Store again even if the blob is already certified. */
  force?: boolean;
  /** Send the new Blob object to this Sui address (else the publisher keeps it). */
  sendObjectTo?: string;
  signal?: AbortSignal;
  /** Called as the body is sent. */
  onProgress?: (progress: TransferProgress) => void;
}

export interface StoreResult {
  blobId: BlobId;
  sha256: string;
  size: number;
  /** First epoch in which the blob is no longer available. */
  endEpoch: number;
  /** The Sui object id of the new Blob object (absent when the blob was already certified). */
  objectId?: string;
  /** `newlyCreated` when the publisher registered and certified it now, `alreadyCertified` when it already was. */
  status: "newlyCreated" | "alreadyCertified";
  newlyCreated: boolean;
  /** Cost in FROST, when newly created. */
  cost?: number;
  /** What the publisher did with storage and registration, when newly created. */
  resourceOperation?: ResourceOperation;
  /** The publisher's answer, as returned. */
  response: StoreResponse;
}

export interface ReadOptions {
  /**
   * The content's sha256 (64 hex digits), when the caller knows it (a registry records it beside the Blob ID): the
   * bytes are verified against it while they stream. Without it, the Blob ID is recomputed from the bytes.
   */
  sha256?: string;
  /**
   * The blob's exact size, when the caller knows it (a registry records it): a Content-Length that differs is refused
   * before the body is read, and the stream is cut as soon as more bytes arrive (`BlobIntegrityError`, failure
   * `size`; the next aggregator is tried). Only this size is ever allocated up front.
   */
  expectedSize?: number;
  /**
   * The most bytes the caller will take: a larger Content-Length is refused before the body is read, and the stream is
   * cut as soon as more bytes arrive (`BlobTooLargeError`, not retried).
   */
  maxBytes?: number;
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
}

export interface TransferProgress {
  bytes: number;
  /** Total bytes, when known. */
  total?: number;
  url: string;
}

export interface ReadToFileResult {
  blobId: BlobId;
  path: string;
  size: number;
  sha256: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** RFC 6750 `b64token`: what a bearer token may be, so that it can never break the header it is sent in. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const UPLOAD_CHUNK = 1024 * 1024;

/** Where a download's bytes go: memory for `read`, a temporary file for `readToFile`. */
interface Sink {
  /** `expected`: the size the caller vouches for, the only length ever allocated up front. */
  start(expected: number | undefined): Promise<void>;
  /** Returns a promise only when the write is asynchronous (a file); memory writes stay synchronous. */
  write(chunk: Uint8Array): void | Promise<void>;
  /** Drops what was written (before a retry or after a failure). */
  reset(): Promise<void>;
}

class MemorySink implements Sink {
  #chunks: Uint8Array[] = [];
  #buffer: Uint8Array | undefined;
  #length = 0;

  async start(expected: number | undefined): Promise<void> {
    // Never from a server's Content-Length: only the caller's expected size is allocated up front.
    this.#buffer = expected !== undefined ? new Uint8Array(expected) : undefined;
    this.#chunks = [];
    this.#length = 0;
  }

  write(chunk: Uint8Array): void {
    if (this.#buffer !== undefined && this.#length + chunk.byteLength <= this.#buffer.byteLength) {
      this.#buffer.set(chunk, this.#length);
    } else {
      if (this.#buffer !== undefined) {
        this.#chunks.push(this.#buffer.subarray(0, this.#length));
        this.#buffer = undefined;
      }
      this.#chunks.push(chunk);
    }
    this.#length += chunk.byteLength;
  }

  async reset(): Promise<void> {
    this.#chunks = [];
    this.#buffer = undefined;
    this.#length = 0;
  }

  /** The bytes, as a buffer of their own (so it can be handed to the encoder without a copy). */
  bytes(): Uint8Array {
    if (this.#buffer !== undefined) return this.#buffer.subarray(0, this.#length);
    return new Uint8Array(Buffer.concat(this.#chunks, this.#length));
  }
}

class FileSink implements Sink {
  readonly temp: string;
  #handle: Awaited<ReturnType<typeof open>> | undefined;

  constructor(target: string) {
    this.temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString("hex")}.partial`);
  }

  async start(): Promise<void> {
    await this.reset();
    this.#handle = await open(this.temp, "w");
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#handle === undefined) throw new WalrusInternalError("FileSink.write was called before FileSink.start");
    let offset = 0;
    while (offset < chunk.byteLength) {
      const { bytesWritten } = await this.#handle.write(chunk, offset, chunk.byteLength - offset);
      offset += bytesWritten;
    }
  }

  /** Flushes the file to disk and closes it. */
  async finish(): Promise<void> {
    if (this.#handle === undefined) return;
    await this.#handle.sync();
    await this.#handle.close();
    this.#handle = undefined;
  }

  async reset(): Promise<void> {
    await this.#handle?.close().catch(() => undefined);
    this.#handle = undefined;
    await unlink(this.temp).catch(() => undefined);
  }
}

/** An error of the local side of a download (the disk), kept apart from the network's; it is rethrown as its cause. */
class LocalFailure extends StrataError {
  declare readonly cause: unknown;
  constructor(cause: unknown) {
    super("LOCAL_WRITE", "writing the download to the local disk failed", { cause });
  }
}

/** Runs a local (disk) step of a download, marking its failure as local. */
async function local<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new LocalFailure(error);
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** Per-request timeout that restarts whenever bytes arrive, joined with the caller's signal. */
class ProgressTimer {
  readonly #controller = new AbortController();
  readonly signal: AbortSignal;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: () => WalrusTimeoutError,
    outer: AbortSignal | undefined,
  ) {
    this.signal = outer === undefined ? this.#controller.signal : AbortSignal.any([outer, this.#controller.signal]);
    this.touch();
  }

  get timedOut(): WalrusTimeoutError | undefined {
    const reason: unknown = this.#controller.signal.reason;
    return reason instanceof WalrusTimeoutError ? reason : undefined;
  }

  touch(): void {
    if (this.#stopped) return;
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#controller.abort(this.onTimeout()), this.timeoutMs);
    } else {
      this.#timer.refresh();
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}

export class WalrusClient {
  readonly publisherUrl: string | undefined;
  readonly aggregatorUrls: readonly string[];
  readonly shards: number;
  readonly maxPublishBytes: number | undefined;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly freshNotFoundMs: number;
  readonly #pool: EncoderPool;
  /** Blob IDs this client stored, with when: a 404 for them soon after is a cache miss worth retrying. */
  readonly #stored = new Map<string, number>();
  /** Index of the aggregator that answered last: it is tried first next time. */
  #preferred = 0;
  /** The publisher's bearer token (private: never shown). */
  readonly #publisherToken: string | undefined;

  constructor(options: WalrusClientOptions) {
    this.publisherUrl = options.publisherUrl === undefined ? undefined : trimSlash(options.publisherUrl);
    this.aggregatorUrls = (options.aggregatorUrls ?? []).map(trimSlash);
    this.shards = options.shards ?? DEFAULT_SHARDS;
    this.maxPublishBytes = options.maxPublishBytes;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 4;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
    this.freshNotFoundMs = options.freshNotFoundMs ?? 60_000;
    this.#pool = options.pool ?? defaultEncoderPool();
    for (const url of [this.publisherUrl, ...this.aggregatorUrls]) {
      if (url !== undefined && !/^https?:\/\/[^/]+/.test(url)) throw new TypeError(`Not an http(s) URL: ${url}`);
    }
    if (options.publisherToken !== undefined && !BEARER_TOKEN.test(options.publisherToken)) {
      // The token is not echoed: it is a credential.
      throw new TypeError(
        `publisherToken is not a bearer token (${options.publisherToken.length} characters; expected base64url-like ` +
          `characters only, without the "Bearer " prefix, spaces or line breaks)`,
      );
    }
    this.#publisherToken = options.publisherToken;
  }

  /** Whether stores send a bearer token (the token itself is never exposed). */
  get hasPublisherToken(): boolean {
    return this.#publisherToken !== undefined;
  }

  /**
   * Stores a blob (bytes, or the path of a file) through the publisher and returns its Blob ID, sha256, size, end
   * epoch and object id. The Blob ID is computed locally first; a publisher that answers with another one fails with
   * `PublisherMismatchError`.
   */
  async store(input: Uint8Array | string, options: StoreOptions = {}): Promise<StoreResult> {
    const publisher = this.publisherUrl;
    if (publisher === undefined) throw new TypeError("WalrusClient.store needs a publisherUrl");
    const query = this.#storeQuery(options);

    let bytes: Uint8Array;
    if (typeof input === "string") {
      const { size } = await stat(input);
      this.#checkPublishSize(size, publisher);
      assertEncodable(size, this.shards);
      bytes = await readFile(input, { signal: options.signal });
    } else {
      bytes = input;
    }
    this.#checkPublishSize(bytes.byteLength, publisher);
    // A file's buffer is ours: hand it to the encoder and get it back, without copies.
    const computed =
      typeof input === "string"
        ? await this.#pool.computeMetadataOwned(bytes, { shards: this.shards, signal: options.signal })
        : { metadata: await this.#pool.computeMetadata(bytes, { shards: this.shards, signal: options.signal }), bytes };
    const { metadata } = computed;
    bytes = computed.bytes;

    const url = `${publisher}/v1/blobs?${query}`;
    const { response } = await this.#publish(
      url,
      bytes,
      "application/octet-stream",
      metadata.blobId,
      options,
      (json) => json,
    );
    return this.#storeResult(response, metadata, url);
  }

  /** The query of a store: epochs, permanent, force and send_object_to (the same for blobs and quilts). */
  #storeQuery(options: StoreOptions): URLSearchParams {
    const epochs = options.epochs ?? 1;
    if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`epochs must be a positive integer: ${epochs}`);
    const query = new URLSearchParams({ epochs: String(epochs) });
    if (options.permanent === true) query.set("permanent", "true");
    if (options.force === true) query.set("force", "true");
    if (options.sendObjectTo !== undefined) query.set("send_object_to", options.sendObjectTo);
    return query;
  }

  /**
   * PUTs `bytes` to the publisher with retries and checks its answer: a store result (`unwrap` finds it in the JSON
   * body) that is not marked invalid nor failed. Returns it with the whole JSON answer.
   */
  async #publish(
    url: string,
    bytes: Uint8Array,
    contentType: string,
    blobId: BlobId,
    options: StoreOptions,
    unwrap: (json: unknown) => unknown,
  ): Promise<{ response: StoreResponse; json: unknown }> {
    const metadata = { blobId };
    return this.#retrying(options.signal, metadata.blobId, async () => {
      const timer = new ProgressTimer(
        this.timeoutMs,
        () => new WalrusTimeoutError(url, this.timeoutMs),
        options.signal,
      );
      try {
        const headers: Record<string, string> = {
          "content-type": contentType,
          "content-length": String(bytes.byteLength),
        };
        if (this.#publisherToken !== undefined) headers.authorization = `Bearer ${this.#publisherToken}`;
        const res = await this.#request(url, timer, {
          method: "PUT",
          headers,
          body: this.#uploadBody(bytes, url, timer, options.onProgress),
        });
        const text = await res.body.text();
        if (res.statusCode === 413) {
          throw new BlobTooLargeError(bytes.byteLength, this.maxPublishBytes, {
            url,
            blobId: metadata.blobId,
            advice: PUBLISHER_SIZE_ADVICE,
          });
        }
        if (res.statusCode < 200 || res.statusCode > 299) {
          const failure = this.#httpError(url, res.statusCode, text, metadata.blobId);
          // The daemon answers a `markedInvalid` result as a 500 with this message: no retry changes it.
          if (res.statusCode === 500 && /marked invalid/i.test(failure.message)) {
            throw new BlobMarkedInvalidError(metadata.blobId, url, undefined);
          }
          throw failure;
        }
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          throw new WalrusResponseError(url, `the body is not JSON: ${text.slice(0, 200)}`, metadata.blobId);
        }
        const checked = checkStoreResponse(unwrap(json));
        if (typeof checked === "string") throw new WalrusResponseError(url, checked, metadata.blobId);
        // Answers that no retry changes: thrown as they are.
        if ("markedInvalid" in checked) {
          throw new BlobMarkedInvalidError(checked.markedInvalid.blobId, url, checked.markedInvalid.event);
        }
        if ("error" in checked) {
          throw new WalrusStoreFailedError(url, checked.error.errorMsg, {
            failurePhase: checked.error.failurePhase,
            blobId: checked.error.blobId ?? metadata.blobId,
          });
        }
        return { response: checked, json };
      } catch (error) {
        throw this.#classify(error, url, timer, options.signal, metadata.blobId);
      } finally {
        timer.stop();
      }
    });
  }

  /** The result of a store, once the publisher's Blob ID is checked against the one computed locally. */
  #storeResult(response: StoreResponse, metadata: BlobMetadata, url: string): StoreResult {
    const certified =
      "newlyCreated" in response ? response.newlyCreated.blobObject.blobId : response.alreadyCertified.blobId;
    if (certified !== metadata.blobId) throw new PublisherMismatchError(metadata.blobId, certified, url);
    this.#rememberStored(metadata.blobId);
    if ("newlyCreated" in response) {
      const { blobObject, cost, resourceOperation } = response.newlyCreated;
      return {
        blobId: metadata.blobId,
        sha256: metadata.sha256,
        size: metadata.size,
        endEpoch: blobObject.storage.endEpoch,
        objectId: blobObject.id,
        status: "newlyCreated",
        newlyCreated: true,
        cost,
        ...(resourceOperation !== undefined ? { resourceOperation } : {}),
        response,
      };
    }
    return {
      blobId: metadata.blobId,
      sha256: metadata.sha256,
      size: metadata.size,
      endEpoch: response.alreadyCertified.endEpoch,
      ...(response.alreadyCertified.object !== undefined ? { objectId: response.alreadyCertified.object } : {}),
      status: "alreadyCertified",
      newlyCreated: false,
      response,
    };
  }

  /**
   * Stores patches as one Walrus quilt (`PUT /v1/quilts`). The quilt is encoded locally first, so its Blob ID (the
   * quilt ID) and every patch ID are known before the publisher answers; a publisher that answers with another quilt
   * ID fails with `PublisherMismatchError`, with another patch ID with `QuiltPatchMismatchError`.
   */
  async storeQuilt(patches: readonly QuiltPatchInput[], options: StoreOptions = {}): Promise<QuiltStoreResult> {
    return storeQuilt(this.#transport(), patches, options);
  }

  /**
   * Reads one patch of a quilt, by patch ID or by `{ quiltId, identifier }`, verified by exactly one of: `sha256`
   * (its hash), `verify(bytes, identifier)` (the caller's check; throw to refuse) or `wholeQuilt: true` (the whole
   * quilt is read and verified by its Blob ID). Reports the bytes fetched.
   */
  async readPatch(ref: PatchRef, options: ReadPatchOptions): Promise<PatchRead> {
    return readPatch(this.#transport(), ref, options);
  }

  /** Lists a quilt's patches as an aggregator answers: identifiers, tags and positions NOT verified. */
  async listPatches(
    quiltId: string,
    options: Omit<ReadOptions, "sha256" | "expectedSize"> = {},
  ): Promise<ListedPatch[]> {
    return listPatches(this.#transport(), quiltId, options);
  }

  /** Reads `length` bytes of a blob at `start`, verified against their sha256. */
  async readRange(
    blobId: string,
    start: number,
    length: number,
    options: Omit<ReadOptions, "sha256" | "expectedSize"> & { sha256: string },
  ): Promise<RangeRead> {
    return readRange(this.#transport(), blobId, start, length, options);
  }

  /** This client's publish and read paths, for the quilt calls. */
  #transport(): QuiltClientTransport {
    return {
      shards: this.shards,
      publisherUrl: this.publisherUrl,
      pool: this.#pool,
      checkPublishSize: (size, url) => this.#checkPublishSize(size, url),
      storeQuery: (options) => this.#storeQuery(options),
      publish: (url, bytes, contentType, blobId, options, unwrap) =>
        this.#publish(url, bytes, contentType, blobId, options, unwrap),
      storeResult: (response, metadata, url) => this.#storeResult(response, metadata, url),
      fetch: (route, id, options, finish) => {
        const expectedSha = this.#checkSha(options.sha256);
        const sink = new MemorySink();
        return this.#readVerified(route, id, expectedSha, sink, options, (url, sha256, size, headers) =>
          finish({ url, bytes: sink.bytes(), sha256, size, headers }),
        );
      },
      read: (blobId, options) => this.read(blobId, options),
    };
  }

  /** Reads a blob from the aggregators and returns its bytes once they are verified. */
  async read(blobId: string, options: ReadOptions = {}): Promise<Uint8Array> {
    const id = parseBlobId(blobId);
    const expectedSha = this.#checkSha(options.sha256);
    const sink = new MemorySink();
    return this.#readVerified(`/v1/blobs/${id}`, id, expectedSha, sink, options, async (url, sha256) => {
      const bytes = sink.bytes();
      if (expectedSha === undefined) {
        // Verify by recomputing the Blob ID; the buffer goes to the encoder and comes back without a copy.
        const { metadata, bytes: back } = await this.#pool.computeMetadataOwned(bytes, {
          shards: this.shards,
          sha256,
          signal: options.signal,
        });
        if (metadata.blobId !== id) throw new BlobIntegrityError(id, url, "blob-id", id, metadata.blobId);
        return back;
      }
      return bytes;
    });
  }

  /**
   * Streams a blob to `file`: the bytes go to a temporary file beside it, are verified, flushed to disk, and only then
   * renamed onto `file`. A truncated or corrupted download never lands at `file`.
   */
  async readToFile(blobId: string, file: string, options: ReadOptions = {}): Promise<ReadToFileResult> {
    const id = parseBlobId(blobId);
    const expectedSha = this.#checkSha(options.sha256);
    const target = path.resolve(file);
    await mkdir(path.dirname(target), { recursive: true });
    const sink = new FileSink(target);
    try {
      return await this.#readVerified(`/v1/blobs/${id}`, id, expectedSha, sink, options, async (url, sha256, size) => {
        await sink.finish();
        if (expectedSha === undefined) {
          const { metadata } = await this.#pool.computeMetadataOwned(await readFile(sink.temp), {
            shards: this.shards,
            sha256,
            signal: options.signal,
          });
          if (metadata.blobId !== id) throw new BlobIntegrityError(id, url, "blob-id", id, metadata.blobId);
        }
        await rename(sink.temp, target);
        return { blobId: id, path: target, size, sha256 };
      });
    } finally {
      await sink.reset();
    }
  }

  /**
   * Downloads into `sink` with retries and aggregator failover, checks the sha256 when given, then lets `finish`
   * verify the rest and produce the result. An integrity failure moves on to the next aggregator.
   */
  async #readVerified<T>(
    route: string,
    blobId: BlobId,
    expectedSha: string | undefined,
    sink: Sink,
    options: ReadOptions,
    finish: (url: string, sha256: string, size: number, headers: Dispatcher.ResponseData["headers"]) => Promise<T>,
  ): Promise<T> {
    if (this.aggregatorUrls.length === 0) throw new TypeError("WalrusClient.read needs at least one aggregator URL");
    const bounds = this.#readBounds(options);
    return this.#retrying(options.signal, blobId, async () => {
      const failures: unknown[] = [];
      const start = this.#preferred;
      for (let i = 0; i < this.aggregatorUrls.length; i++) {
        const index = (start + i) % this.aggregatorUrls.length;
        const url = `${this.aggregatorUrls[index]}${route}`;
        try {
          const { sha256, size, headers } = await this.#download(url, blobId, sink, bounds, options);
          if (expectedSha !== undefined && sha256 !== expectedSha) {
            throw new BlobIntegrityError(blobId, url, "sha256", expectedSha, sha256);
          }
          const result = await finish(url, sha256, size, headers);
          this.#preferred = index;
          return result;
        } catch (error) {
          await sink.reset();
          if (!this.#failsOver(error)) throw error;
          failures.push(error);
        }
      }
      throw this.#worstOf(failures, blobId);
    });
  }

  /** The size bounds of a read: the caller's expected size and maximum, within what a blob can be at all. */
  #readBounds(options: ReadOptions): ReadBounds {
    for (const [name, value] of [
      ["expectedSize", options.expectedSize],
      ["maxBytes", options.maxBytes],
    ] as const) {
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
        throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
      }
    }
    const blobLimit = maxBlobSize(this.shards);
    const max = options.maxBytes === undefined ? blobLimit : Math.min(options.maxBytes, blobLimit);
    const expected = options.expectedSize;
    if (expected !== undefined && expected > max) {
      throw new BlobTooLargeError(expected, max, {
        why:
          options.maxBytes !== undefined && options.maxBytes < blobLimit
            ? `it is above the maximum of ${options.maxBytes} bytes this read allows`
            : `no blob can exceed ${blobLimit} bytes at ${this.shards} shards`,
        advice: "Nothing was downloaded; raise the maximum if the blob is meant to be read.",
      });
    }
    return { expected, max, callerMax: options.maxBytes !== undefined && options.maxBytes < blobLimit };
  }

  /** The error for a body (announced or streamed) of `size` bytes beyond the bounds, or undefined within them. */
  #oversize(size: number, bounds: ReadBounds, url: string, blobId: BlobId): WalrusError | undefined {
    if (bounds.expected !== undefined && size > bounds.expected) {
      return new BlobIntegrityError(blobId, url, "size", String(bounds.expected), String(size));
    }
    if (size > bounds.max) {
      return new BlobTooLargeError(size, bounds.max, {
        url,
        blobId,
        why: bounds.callerMax
          ? `this read allows at most ${bounds.max} bytes`
          : `no blob can exceed ${bounds.max} bytes at ${this.shards} shards`,
        advice: "The download was stopped there; raise maxBytes if the blob is meant to be this large.",
      });
    }
    return undefined;
  }

  /** One GET of a blob into `sink`, hashing as it streams and stopping at the size bounds. */
  async #download(
    url: string,
    blobId: BlobId,
    sink: Sink,
    bounds: ReadBounds,
    options: ReadOptions,
  ): Promise<{ sha256: string; size: number; headers: Dispatcher.ResponseData["headers"] }> {
    const timer = new ProgressTimer(
      this.timeoutMs,
      () => new WalrusTimeoutError(url, this.timeoutMs, blobId),
      options.signal,
    );
    let total: number | undefined;
    let received = 0;
    try {
      const res = await this.#request(url, timer, { method: "GET" });
      try {
        if (res.statusCode !== 200) {
          const text = await res.body.text();
          if (res.statusCode === 404) {
            throw new BlobNotFoundError(blobId, url, readErrorBody(safeJson(text))?.reason);
          }
          throw this.#httpError(url, res.statusCode, text, blobId);
        }
        const length = res.headers["content-length"];
        total = typeof length === "string" && /^[0-9]+$/.test(length) ? Number(length) : undefined;
        if (total !== undefined) {
          const refused =
            bounds.expected !== undefined && total !== bounds.expected
              ? new BlobIntegrityError(blobId, url, "size", String(bounds.expected), String(total))
              : this.#oversize(total, bounds, url, blobId);
          if (refused !== undefined) throw refused;
        }
        // Only the size the caller vouches for is allocated up front, never the server's Content-Length alone.
        await local(() => sink.start(bounds.expected !== undefined && total === bounds.expected ? total : undefined));
        const hash = createHash("sha256");
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          timer.touch();
          received += chunk.byteLength;
          const over = this.#oversize(received, bounds, url, blobId);
          if (over !== undefined) throw over;
          hash.update(chunk);
          const written = sink.write(chunk);
          if (written !== undefined) await local(() => written);
          options.onProgress?.({ bytes: received, total, url });
        }
        const announced = total ?? bounds.expected;
        if (announced !== undefined && received < announced) {
          throw new BlobIntegrityError(blobId, url, "truncated", String(announced), String(received));
        }
        return { sha256: hash.digest("hex"), size: received, headers: res.headers };
      } finally {
        // Leaving early (an error, a refused length, an abort) must not leave the connection half-read. A body never
        // read emits its abort as an error: it is expected here.
        if (!res.body.readableEnded) res.body.on("error", () => undefined).destroy();
      }
    } catch (error) {
      // The local disk failed (full, read-only): that is no network error and no reason to retry.
      if (error instanceof LocalFailure) throw error.cause;
      const classified = this.#classify(error, url, timer, options.signal, blobId);
      // A body that broke off before its announced length is a truncated blob, whatever the socket said.
      if (classified instanceof WalrusNetworkError && total !== undefined && received < total) {
        throw new BlobIntegrityError(blobId, url, "truncated", String(total), String(received), error);
      }
      throw classified;
    } finally {
      timer.stop();
    }
  }

  /**
   * The upload body: small bodies as they are; larger ones as a stream of 1 MiB slices, pulled as the socket drains,
   * so that a long upload counts as progress for the timeout and can report it.
   */
  #uploadBody(
    bytes: Uint8Array,
    url: string,
    timer: ProgressTimer,
    onProgress: StoreOptions["onProgress"],
  ): Uint8Array | Readable {
    if (bytes.byteLength <= UPLOAD_CHUNK) {
      onProgress?.({ bytes: bytes.byteLength, total: bytes.byteLength, url });
      return bytes;
    }
    function* slices(): Generator<Uint8Array> {
      for (let offset = 0; offset < bytes.byteLength; offset += UPLOAD_CHUNK) {
        const end = Math.min(offset + UPLOAD_CHUNK, bytes.byteLength);
        yield bytes.subarray(offset, end);
        timer.touch();
        onProgress?.({ bytes: end, total: bytes.byteLength, url });
      }
    }
    return Readable.from(slices(), { objectMode: false });
  }

  /**
   * One HTTP request with undici's `request` (the engine under Node's fetch, without the web-stream layer: a 256 MiB
   * body arrives about twice as fast). Timeouts are the progress timer's, so undici's own are off.
   */
  async #request(
    url: string,
    timer: ProgressTimer,
    options: { method: "GET" | "PUT"; headers?: Record<string, string>; body?: Uint8Array | Readable },
  ): Promise<Dispatcher.ResponseData> {
    const res = await request(url, { ...options, signal: timer.signal, headersTimeout: 0, bodyTimeout: 0 });
    timer.touch();
    return res;
  }

  /** Runs `attempt` with retries, exponential backoff and jitter for errors worth retrying. */
  async #retrying<T>(signal: AbortSignal | undefined, blobId: string, attempt: () => Promise<T>): Promise<T> {
    return pRetry(attempt, {
      retries: this.retries,
      factor: 2,
      minTimeout: this.retryDelayMs,
      maxTimeout: this.maxRetryDelayMs,
      randomize: true,
      signal,
      shouldRetry: ({ error }) => this.#retryable(error, blobId),
    });
  }

  /** Errors that another try (after a backoff) may not repeat. */
  #retryable(error: unknown, blobId: string): boolean {
    if (error instanceof WalrusNetworkError || error instanceof WalrusTimeoutError) return true;
    if (error instanceof WalrusHttpError) return error.status >= 500 || error.status === 429;
    if (error instanceof BlobIntegrityError) return error.failure === "truncated";
    if (error instanceof BlobNotFoundError) {
      const stored = this.#stored.get(blobId);
      return stored !== undefined && Date.now() - stored < this.freshNotFoundMs;
    }
    return false;
  }

  /** Errors after which the next aggregator is worth asking at once. */
  #failsOver(error: unknown): boolean {
    return (
      error instanceof WalrusNetworkError ||
      error instanceof WalrusTimeoutError ||
      error instanceof BlobNotFoundError ||
      error instanceof BlobIntegrityError ||
      // 403 (SIZE_EXCEEDED: above this aggregator's configured maximum) and 451 (blocked by this aggregator): the
      // blob is still on Walrus, and another aggregator may serve it.
      (error instanceof WalrusHttpError &&
        (error.status >= 500 || error.status === 429 || error.status === 403 || error.status === 451))
    );
  }

  /** The error a round over every aggregator ends with: a retryable one if any, else integrity over not found. */
  #worstOf(failures: unknown[], blobId: string): unknown {
    return (
      failures.find((e) => this.#retryable(e, blobId)) ??
      failures.find((e) => e instanceof BlobIntegrityError) ??
      failures.find((e) => e instanceof BlobNotFoundError) ??
      failures[0]
    );
  }

  /** Turns whatever a request threw into a Walrus error (or the caller's abort reason, untouched). */
  #classify(
    error: unknown,
    url: string,
    timer: ProgressTimer,
    outer: AbortSignal | undefined,
    blobId: string | undefined,
  ): unknown {
    if (outer?.aborted === true) return outer.reason as unknown;
    const timedOut = timer.timedOut;
    if (timedOut !== undefined) return timedOut;
    if (error instanceof WalrusError) return error;
    return new WalrusNetworkError(url, error, blobId);
  }

  #httpError(url: string, status: number, text: string, blobId: string | undefined): WalrusHttpError {
    const body = readErrorBody(safeJson(text));
    const message = body?.message || text.slice(0, 300) || "(empty body)";
    return new WalrusHttpError(url, status, message, { blobId, reason: body?.reason, walrusStatus: body?.status });
  }

  #checkPublishSize(size: number, url: string): void {
    if (this.maxPublishBytes !== undefined && size > this.maxPublishBytes) {
      throw new BlobTooLargeError(size, this.maxPublishBytes, {
        url,
        advice: PUBLISHER_SIZE_ADVICE,
        why: `this publisher accepts at most ${this.maxPublishBytes} bytes per request`,
      });
    }
  }

  #checkSha(sha256: string | undefined): string | undefined {
    if (sha256 === undefined) return undefined;
    const normalized = sha256.toLowerCase().replace(/^0x/, "");
    if (!SHA256_HEX.test(normalized))
      throw new TypeError(`sha256 must be 64 hex digits, got ${JSON.stringify(sha256)}`);
    return normalized;
  }

  #rememberStored(blobId: string): void {
    const now = Date.now();
    for (const [id, at] of this.#stored) if (now - at >= this.freshNotFoundMs) this.#stored.delete(id);
    this.#stored.set(blobId, now);
  }
}

/** The size bounds of one read. */
interface ReadBounds {
  /** The exact size the caller expects, when it knows it. */
  expected: number | undefined;
  /** The most bytes taken: the caller's maximum or what a blob can be at all, whichever is lower. */
  max: number;
  /** Whether `max` is the caller's maximum (rather than the encoder's). */
  callerMax: boolean;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
