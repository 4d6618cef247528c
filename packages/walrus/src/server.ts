/**
 * A local Walrus-compatible store for devnets and tests: the publisher and aggregator routes of the Walrus daemon, with
 * the same JSON shapes and errors, true Blob IDs (computed in the encoder pool, off the event loop), blobs kept as
 * files named by Blob ID and written atomically, and a simulated epoch clock under which blobs expire as on Walrus.
 */
import { createHash } from "node:crypto";
import { createReadStream, type Stats } from "node:fs";
import { mkdir, readdir, readFile, rm, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import bs58 from "bs58";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import parseRange from "range-parser";
import writeFileAtomic from "write-file-atomic";
import type { AlreadyCertifiedResponse, NewlyCreatedResponse, StoreResponse, WalrusErrorBody } from "./api";
import { parseBlobId, type BlobId } from "@strata/core";
import { LOCAL_WALRUS_PORT } from "./config";
import { defaultEncoderPool, type EncoderPool } from "./encoder-pool";
import { assertShards, DEFAULT_SHARDS, encodedBlobLength, maxBlobSize } from "./encoding";
import { StrataError } from "@strata/errors";
import { BlobTooLargeError, InvalidBlobIdError, LocalStoreError } from "./errors";
import { QUILT_ROUTE_METHODS, registerQuiltRoutes } from "./quilt-routes";
import { EPOCH_ROUTE_METHODS, EpochClock, registerEpochRoutes } from "./epochs";
import { MAX_EPOCHS_AHEAD } from "./network-clock";
export { DEFAULT_EPOCH_MS } from "./epochs";

export interface LocalWalrusOptions {
  /** Directory the blobs and the epoch clock's genesis are kept in (created if missing). */
  dir: string;
  /** TCP port; 0 picks a free one. Default 31415. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Shard count the Blob IDs are computed for (default 1000, as Walrus mainnet and testnet). */
  shards?: number;
  /** Largest body accepted by `PUT /v1/blobs` (default 512 MiB; at most what the encoder can take). */
  maxBlobSize?: number;
  /** Length of an epoch in milliseconds (default one day, as Walrus testnet). Fixed when the directory is created. */
  epochMs?: number;
  /** Largest `epochs` a store may ask for (default 53, as Walrus). */
  maxEpochsAhead?: number;
  /** Encoder pool (default: the process-wide one). */
  pool?: EncoderPool;
  /** The clock, in milliseconds since 1970 (tests move it to expire blobs). Default `Date.now`. */
  now?: () => number;
  /** Where warnings go (skipped records on start, internal errors). Default `process.emitWarning`. */
  warn?: (message: string) => void;
  /**
   * Check each blob file against the sha256 recorded at store time before serving it (default true): an altered file
   * is then answered as unavailable. Turn it off only in tests that play an aggregator serving altered bytes (by
   * editing the files). Sizes are always checked, so a short file never stalls a reader.
   */
  verifyFiles?: boolean;
}

export interface LocalWalrus {
  /** Base URL, for example `http://127.0.0.1:31415`: both the publisher and the aggregator URL. */
  url: string;
  port: number;
  dir: string;
  shards: number;
  maxBlobSize: number;
  /** The current epoch of the simulated clock. */
  currentEpoch(): number;
  /** Moves the clock ahead by whole epochs (persisted, as `POST /local/clock/advance`); resolves to the new epoch. */
  advanceEpochs(epochs: number): Promise<number>;
  close(): Promise<void>;
}

/** One certified storage registration of a blob (a Walrus `Blob` object). */
interface Registration {
  seq: number;
  objectId: string;
  storageId: string;
  registeredEpoch: number;
  certifiedEpoch: number;
  startEpoch: number;
  endEpoch: number;
  storageSize: number;
  deletable: boolean;
  txDigest: string;
  eventSeq: string;
  /** False when the object left the publisher (`send_object_to`, `share`): it can then not extend it. */
  owned?: boolean;
}

/** The parameters of a store request, once checked. */
export interface StoreParams {
  epochs: number;
  deletable: boolean;
  force: boolean;
  share: boolean;
  /** The address the new blob object is sent to (`send_object_to`), if any. */
  sendObjectTo?: string;
}

/** What is kept beside each blob file, as `<blobId>.json`. */
interface BlobRecord {
  version: 1;
  blobId: BlobId;
  size: number;
  sha256: string;
  rootHash: string;
  shards: number;
  registrations: Registration[];
}

export const DEFAULT_LOCAL_MAX_BLOB_SIZE = 512 * 1024 * 1024;

/** Walrus testnet prices, in FROST: per storage unit (1 MiB of encoded length) and epoch, and per unit written. */
const STORAGE_PRICE_PER_UNIT_EPOCH = 100;
const WRITE_PRICE_PER_UNIT = 2000;
const STORAGE_UNIT = 1024 * 1024;

const ERROR_DOMAIN = "local.walrus.strata";
/** Blob files are streamed in 1 MiB reads: 64 KiB reads make a 256 MiB download several times slower. */
const READ_CHUNK = 1024 * 1024;
const OBJECT_ID = /^0x[0-9a-fA-F]{64}$/;
const SUI_ADDRESS = /^0x[0-9a-fA-F]{1,64}$/;
const BLOB_FILE = /^[A-Za-z0-9_-]{43}$/;
const RECORD_FILE = /^[A-Za-z0-9_-]{43}\.json$/;

/**
 * The status strings the Walrus daemon pairs with each HTTP code (walrus-storage-node-client `api/errors.rs`): a body
 * with any other pair fails to parse in Walrus's own client. There is no pair for 413: the daemon's body limit answers
 * it in plain text (see {@link BODY_LIMIT_MESSAGE}).
 */
const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  416: "RANGE_NOT_SATISFIABLE",
  429: "RESOURCE_EXHAUSTED",
  451: "UNAVAILABLE_FOR_LEGAL_REASONS",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** What the daemon (axum's `DefaultBodyLimit`) answers, as text/plain, for a body above the publisher's limit. */
const BODY_LIMIT_MESSAGE = "Failed to buffer the request body: length limit exceeded";

/** The aggregator's cache policy for blobs (a Blob ID names immutable content; the ETag lets caches revalidate). */
const BLOB_CACHE_CONTROL = "public, max-age=86400, stale-while-revalidate=3600";

/** The query parameters each route takes (the daemon's query structs are `deny_unknown_fields`). */
const PUT_PARAMETERS = new Set([
  "encoding_type",
  "epochs",
  "deletable",
  "permanent",
  "force",
  "quilt_version",
  "send_object_to",
  "share",
]);
const READ_PARAMETERS = new Set(["strict_consistency_check", "skip_consistency_check"]);

/** The methods of each route, for a 405's `Allow` (GET routes also answer HEAD, as axum's do). */
const ROUTE_METHODS: [RegExp, string][] = [
  [/^\/v1\/blobs\/?$/, "PUT"],
  [/^\/v1\/blobs\/by-object-id\/[^/]+$/, "GET,HEAD"],
  [/^\/v1\/blobs\/[^/]+$/, "GET,HEAD"],
  [/^\/status$/, "GET,HEAD"],
  [/^\/local\/status$/, "GET,HEAD"],
  ...QUILT_ROUTE_METHODS,
  ...EPOCH_ROUTE_METHODS,
];

/**
 * The one table of this server's error answers: each reason (the `code` of an {@link HttpProblem}, and the `reason`
 * of the Walrus error body) and the HTTP status the daemon answers it with. A body too large is answered apart (413 in
 * plain text, as the daemon's body limit does), and so is a framework error with a 4xx of its own (`BAD_REQUEST`).
 * `GET /v1/blobs/{id}/byte-range` answers `INVALID_BYTE_RANGE` with 400, as the daemon's `ByteRangeReadError` does.
 */
export const LOCAL_WALRUS_STATUS = {
  BAD_REQUEST: 400,
  INVALID_QUERY_PARAMETERS: 400,
  INVALID_PARAMETER: 400,
  INVALID_EPOCHS: 400,
  INVALID_CONSISTENCY_CHECK: 400,
  INVALID_BLOB_ID: 400,
  INVALID_OBJECT_ID: 400,
  INVALID_QUILT_PATCH_ID: 400,
  MALFORMED_REQUEST: 400,
  NOT_FOUND: 404,
  BLOB_NOT_FOUND: 404,
  QUILT_PATCH_NOT_FOUND: 404,
  INVALID_BYTE_RANGE: 416,
  BLOB_UNAVAILABLE: 500,
  STORAGE_FULL: 500,
  INTERNAL_ERROR: 500,
} as const satisfies Record<string, number>;

/** The reason of an error answer of the local store: a key of {@link LOCAL_WALRUS_STATUS}. */
export type LocalWalrusReason = keyof typeof LOCAL_WALRUS_STATUS;

/** An error answered with the Walrus error body; its `code` is the body's reason, its status from the table. */
class HttpProblem extends StrataError {
  declare readonly code: LocalWalrusReason;
  /** The HTTP status, when the route answers this reason with another status than the table's. */
  readonly status?: number;

  constructor(reason: LocalWalrusReason, message: string, status?: number) {
    super(reason, message);
    if (status !== undefined) this.status = status;
  }
}

/** The Walrus error body of `reason`, with the status of the table (or `status`, a framework error's own 4xx). */
function problemBody(
  reason: LocalWalrusReason,
  message: string,
  status: number = LOCAL_WALRUS_STATUS[reason],
): WalrusErrorBody {
  return errorBody(status, reason, message);
}

function errorBody(status: number, reason: string, message: string): WalrusErrorBody {
  return {
    error: {
      status: STATUS_NAMES[status] ?? "UNKNOWN",
      code: status,
      message,
      details: [{ "@type": "ErrorInfo", reason, domain: ERROR_DOMAIN, metadata: {} }],
    },
  };
}

/** Fails with 400 on a query parameter the route does not take, or one given twice, as the daemon does. */
function checkQuery(query: unknown, allowed: ReadonlySet<string>): Record<string, string> {
  const entries = Object.entries((query ?? {}) as Record<string, unknown>);
  const unknown = entries.filter(([key]) => !allowed.has(key)).map(([key]) => key);
  if (unknown.length > 0) {
    throw new HttpProblem(
      "INVALID_QUERY_PARAMETERS",
      `unknown query parameter${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")}: ` +
        `this route takes ${[...allowed].join(", ")}`,
    );
  }
  const repeated = entries.filter(([, value]) => typeof value !== "string").map(([key]) => key);
  if (repeated.length > 0) {
    throw new HttpProblem("INVALID_QUERY_PARAMETERS", `query parameter ${repeated.join(", ")} is given twice`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/** An entity tag from If-None-Match without its weak prefix and quotes (the blob's ETag is its Blob ID). */
function unquoteEtag(tag: string): string {
  return tag
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");
}

function digest(...parts: (string | number)[]): Buffer {
  return createHash("sha256").update(parts.join(":")).digest();
}

/** Runs tasks one after the other per key (stores of the same Blob ID), and concurrently across keys. */
class KeyedSerializer {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }
}

/** The blobs on disk and their registrations, indexed in memory. */
class BlobStore {
  readonly #blobs = new Map<string, BlobRecord>();
  readonly #objects = new Map<string, { blobId: BlobId; registration: Registration }>();
  #nextSeq = 1;

  constructor(readonly dir: string) {}

  blobPath(blobId: string): string {
    return path.join(this.dir, blobId);
  }

  get(blobId: string): BlobRecord | undefined {
    return this.#blobs.get(blobId);
  }

  byObjectId(objectId: string): { blobId: BlobId; registration: Registration } | undefined {
    return this.#objects.get(objectId.toLowerCase());
  }

  get size(): number {
    return this.#blobs.size;
  }

  get bytes(): number {
    let total = 0;
    for (const record of this.#blobs.values()) total += record.size;
    return total;
  }

  nextSeq(): number {
    return this.#nextSeq++;
  }

  /** Rebuilds the index from the directory: records whose blob file is missing or the wrong size are skipped. */
  async load(warn: (message: string) => void): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const names = await readdir(this.dir);
    for (const name of names) {
      if (BLOB_FILE.test(name)) continue;
      if (!RECORD_FILE.test(name)) {
        // A temporary file left by a write that never completed.
        await unlink(path.join(this.dir, name)).catch(() => undefined);
        continue;
      }
      const blobId = name.slice(0, -".json".length);
      try {
        const record = JSON.parse(await readFile(path.join(this.dir, name), "utf8")) as BlobRecord;
        if (record.version !== 1 || record.blobId !== blobId)
          throw new LocalStoreError("not a blob record of this store", this.dir);
        const { size } = await stat(this.blobPath(blobId));
        if (size !== record.size)
          throw new LocalStoreError(`the blob file has ${size} bytes, the record says ${record.size}`, this.dir);
        this.#index(record);
      } catch (error) {
        warn(`local walrus: skipping blob ${blobId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  /** Writes the blob file (if it is not there yet) and then its record, each atomically (temp file, fsync, rename). */
  async save(record: BlobRecord, bytes: Uint8Array | undefined): Promise<void> {
    try {
      if (bytes !== undefined) {
        const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        await writeFileAtomic(this.blobPath(record.blobId), view, { fsync: true });
      }
      await writeFileAtomic(`${this.blobPath(record.blobId)}.json`, `${JSON.stringify(record, null, 1)}\n`, {
        fsync: true,
      });
    } catch (error) {
      // Nothing half-written stays: a blob file without its record (or a short one) would only fill the disk.
      if (bytes !== undefined && !this.#blobs.has(record.blobId))
        await rm(this.blobPath(record.blobId), { force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG") {
        throw new HttpProblem(
          "STORAGE_FULL",
          `the local Walrus store's disk is full (${this.dir}): ${(error as Error).message}; free disk space there ` +
            "and store the blob again (nothing of it was kept)",
        );
      }
      throw error;
    }
    this.#index(record);
  }

  #index(record: BlobRecord): void {
    this.#blobs.set(record.blobId, record);
    for (const registration of record.registrations) {
      this.#objects.set(registration.objectId, { blobId: record.blobId, registration });
      this.#nextSeq = Math.max(this.#nextSeq, registration.seq + 1);
    }
  }
}

function parseBoolean(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "false") return false;
  if (value === "true" || value === "") return true;
  throw new HttpProblem("INVALID_PARAMETER", `${name} must be true or false, got ${JSON.stringify(value)}`);
}

/** Why a blob's file cannot serve the bytes its record promises, or undefined when it can. */
type Unavailability = string | undefined;

/** The identity of a file's current contents as far as `stat` tells (a rewrite or truncation changes it). */
function statKey(info: Stats): string {
  return `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
}

/** sha256 of a file, streamed. */
async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Passes a blob file's bytes through and fails the stream (so the connection is reset, never left waiting for bytes
 * that will not come) if the file ends before `expected` bytes, or, for a whole blob, if the bytes do not hash to the
 * recorded sha256. The last chunk is held back until the check passes.
 */
class GuardedBlobStream extends Transform {
  readonly #hash = createHash("sha256");
  #held: Buffer | undefined;
  #seen = 0;

  constructor(
    private readonly expected: number,
    private readonly sha256: string | undefined,
    private readonly blobId: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.byteLength;
    if (this.sha256 !== undefined) this.#hash.update(chunk);
    const previous = this.#held;
    this.#held = chunk;
    done(null, previous);
  }

  override _flush(done: TransformCallback): void {
    if (this.#seen !== this.expected) {
      done(new LocalStoreError(`blob ${this.blobId}: the file ended after ${this.#seen} of ${this.expected} bytes`));
      return;
    }
    if (this.sha256 !== undefined && this.#hash.digest("hex") !== this.sha256) {
      done(new LocalStoreError(`blob ${this.blobId}: the file no longer matches its recorded sha256`));
      return;
    }
    done(null, this.#held);
  }
}

/** The live certified object of a blob the publisher owns, of the kind asked for, that lasts longest. */
function extendable(record: BlobRecord | undefined, epoch: number, deletable: boolean): Registration | undefined {
  return record?.registrations
    .filter((r) => r.endEpoch > epoch && r.deletable === deletable && r.owned !== false)
    .sort((a, b) => b.endEpoch - a.endEpoch)[0];
}

/** The publisher's answer for an object extended in place: `newlyCreated` with `reuseAndExtend`, as Walrus's. */
function extensionAnswer(record: BlobRecord, r: Registration, epochsExtended: number): NewlyCreatedResponse {
  return {
    newlyCreated: {
      blobObject: {
        id: r.objectId,
        registeredEpoch: r.registeredEpoch,
        blobId: record.blobId,
        size: record.size,
        encodingType: "RS2",
        certifiedEpoch: r.certifiedEpoch,
        storage: { id: r.storageId, startEpoch: r.startEpoch, endEpoch: r.endEpoch, storageSize: r.storageSize },
        deletable: r.deletable,
      },
      resourceOperation: { reuseAndExtend: { encodedLength: r.storageSize, epochsExtended } },
      // Extending buys storage for the added epochs only; nothing is written again.
      cost: Math.ceil(r.storageSize / STORAGE_UNIT) * STORAGE_PRICE_PER_UNIT_EPOCH * epochsExtended,
    },
  };
}

/** Starts the local store and resolves once it listens. */
export async function startLocalWalrus(options: LocalWalrusOptions): Promise<LocalWalrus> {
  const shards = options.shards ?? DEFAULT_SHARDS;
  assertShards(shards);
  const limit = options.maxBlobSize ?? Math.min(DEFAULT_LOCAL_MAX_BLOB_SIZE, maxBlobSize(shards));
  if (!Number.isInteger(limit) || limit < 0 || limit > maxBlobSize(shards)) {
    throw new RangeError(
      `maxBlobSize ${limit} is out of range: the encoder takes at most ${maxBlobSize(shards)} bytes at ${shards} shards`,
    );
  }
  const maxEpochsAhead = options.maxEpochsAhead ?? MAX_EPOCHS_AHEAD;
  const pool = options.pool ?? defaultEncoderPool();
  const now = options.now ?? Date.now;
  const verifyFiles = options.verifyFiles ?? true;
  const dir = path.resolve(options.dir);
  await mkdir(dir, { recursive: true });

  const clock = await EpochClock.load(dir, { shards, epochMs: options.epochMs, now });
  const currentEpoch = (): number => clock.currentEpoch();

  const store = new BlobStore(path.join(dir, "blobs"));
  const warn = options.warn ?? ((message: string) => process.emitWarning(message));
  await store.load(warn);
  const serializer = new KeyedSerializer();

  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: Math.max(limit, 1),
    // Errors raised before routing (a malformed URL) get the Walrus error body too.
    frameworkErrors: (error, _request, reply) => {
      void (reply as unknown as FastifyReply)
        .code(LOCAL_WALRUS_STATUS.BAD_REQUEST)
        .send(problemBody("BAD_REQUEST", error.message));
    },
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: Math.max(limit, 1) }, (_request, body, done) =>
    done(null, body),
  );

  app.setErrorHandler((error: unknown, _request, reply) => {
    if (error instanceof HttpProblem) {
      const status = error.status ?? LOCAL_WALRUS_STATUS[error.code];
      return reply.code(status).send(problemBody(error.code, error.message, status));
    }
    const code = (error as { code?: string }).code;
    const statusCode = (error as { statusCode?: number }).statusCode;
    if (error instanceof BlobTooLargeError || code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      // As the daemon: its body limit answers in plain text (there is no Walrus status for 413).
      return reply.code(413).type("text/plain; charset=utf-8").send(BODY_LIMIT_MESSAGE);
    }
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      const message = error instanceof Error ? error.message : String(error);
      return reply.code(statusCode).send(problemBody("BAD_REQUEST", message, statusCode));
    }
    warn(`local walrus: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return reply
      .code(LOCAL_WALRUS_STATUS.INTERNAL_ERROR)
      .send(problemBody("INTERNAL_ERROR", "internal error of the local Walrus store"));
  });

  // CORS as the daemon's `CorsLayer` (any origin, method and header; preflights cached for a day). It runs before
  // routing, so every answer carries it and an OPTIONS preflight is answered for any path.
  app.addHook("onRequest", async (request, reply) => {
    reply
      .header("access-control-allow-origin", "*")
      .header("vary", "origin, access-control-request-method, access-control-request-headers");
    if (request.method === "OPTIONS") {
      reply
        .header("access-control-allow-methods", "*")
        .header("access-control-allow-headers", "*")
        .header("access-control-max-age", "86400");
      return reply.code(200).send();
    }
    return undefined;
  });

  app.setNotFoundHandler((request, reply) => {
    const route = request.url.split("?")[0];
    const allow = ROUTE_METHODS.find(([pattern]) => pattern.test(route))?.[1];
    // A known route with another method: 405 with Allow and an empty body, as axum answers.
    if (allow !== undefined) return reply.code(405).header("allow", allow).send();
    return reply
      .code(LOCAL_WALRUS_STATUS.NOT_FOUND)
      .send(problemBody("NOT_FOUND", `No route ${request.method} ${route}`));
  });

  /** The parameters of a store (`PUT /v1/blobs` and `PUT /v1/quilts` take the same), checked as the daemon does. */
  function parseStoreQuery(rawQuery: unknown): StoreParams {
    const query = checkQuery(rawQuery, PUT_PARAMETERS);
    if (query.encoding_type !== undefined && query.encoding_type !== "RS2") {
      throw new HttpProblem(
        "INVALID_QUERY_PARAMETERS",
        `unknown encoding_type ${JSON.stringify(query.encoding_type)}: Walrus encodes blobs with RS2`,
      );
    }
    if (query.quilt_version !== undefined && !["v1", "V1", "1"].includes(query.quilt_version)) {
      throw new HttpProblem(
        "INVALID_QUERY_PARAMETERS",
        `unknown quilt_version ${JSON.stringify(query.quilt_version)}: use v1`,
      );
    }
    const epochsText = query.epochs ?? "1";
    if (!/^[1-9][0-9]{0,8}$/.test(epochsText) || Number(epochsText) > maxEpochsAhead) {
      throw new HttpProblem(
        "INVALID_EPOCHS",
        `epochs must be an integer from 1 to ${maxEpochsAhead}, got ${JSON.stringify(epochsText)}`,
      );
    }
    const epochs = Number(epochsText);
    const permanent = parseBoolean("permanent", query.permanent);
    const deletableFlag = parseBoolean("deletable", query.deletable);
    const force = parseBoolean("force", query.force);
    const share = parseBoolean("share", query.share);
    if (permanent && deletableFlag) {
      throw new HttpProblem("INVALID_PARAMETER", "a blob cannot be both permanent and deletable");
    }
    if (query.send_object_to !== undefined && !SUI_ADDRESS.test(query.send_object_to)) {
      throw new HttpProblem("INVALID_PARAMETER", "send_object_to must be a Sui address (0x and hex digits)");
    }
    if (share && query.send_object_to !== undefined) {
      throw new HttpProblem("INVALID_PARAMETER", "share and send_object_to cannot be used together");
    }
    return {
      epochs,
      deletable: !permanent,
      force,
      share,
      ...(query.send_object_to !== undefined ? { sendObjectTo: query.send_object_to } : {}),
    };
  }

  /** Stores `body` as a blob: a new certified registration, or the live one that already covers the request. */
  async function storeBlob(params: StoreParams, body: Buffer): Promise<StoreResponse> {
    const { epochs, deletable, force, share, sendObjectTo } = params;
    if (body.byteLength > limit)
      throw new BlobTooLargeError(body.byteLength, limit, { why: "above this store's limit" });

    // The encoder takes the body without a copy and hands it back.
    const { metadata, bytes } = await pool.computeMetadataOwned(body, { shards });

    return serializer.run(metadata.blobId, async (): Promise<StoreResponse> => {
      const epoch = currentEpoch();
      const wantedEnd = epoch + epochs;
      const record = store.get(metadata.blobId);
      // A registered blob whose file was lost or damaged is repaired with the bytes just received.
      if (record !== undefined && (await unavailability(record)) !== undefined) await store.save(record, bytes);
      if (!force && record !== undefined) {
        // A live certified blob that lasts long enough answers the store, as on Walrus: a permanent one serves any
        // request, a deletable one only a request for a deletable blob.
        const covering = record.registrations
          .filter((r) => r.endEpoch > epoch && r.endEpoch >= wantedEnd && (deletable || !r.deletable))
          .sort((a, b) => b.endEpoch - a.endEpoch)[0];
        if (covering !== undefined) {
          const answer: AlreadyCertifiedResponse = {
            alreadyCertified: {
              blobId: metadata.blobId,
              event: { txDigest: covering.txDigest, eventSeq: covering.eventSeq },
              endEpoch: covering.endEpoch,
            },
          };
          return answer;
        }
      }
      const storageSize = encodedBlobLength(metadata.size, shards);
      // As the Walrus client: a live certified object the publisher still owns is extended (`reuseAndExtend`).
      const own = force || share || sendObjectTo !== undefined ? undefined : extendable(record, epoch, deletable);
      if (record !== undefined && own !== undefined) {
        const epochsExtended = wantedEnd - own.endEpoch;
        const extended: Registration = { ...own, endEpoch: wantedEnd };
        const registrations = record.registrations.map((r) => (r.seq === own.seq ? extended : r));
        await store.save({ ...record, registrations }, undefined);
        return extensionAnswer(record, extended, epochsExtended);
      }
      const seq = store.nextSeq();
      const registration: Registration = {
        seq,
        objectId: `0x${digest("object", metadata.blobId, seq).toString("hex")}`,
        storageId: `0x${digest("storage", metadata.blobId, seq).toString("hex")}`,
        registeredEpoch: epoch,
        certifiedEpoch: epoch,
        startEpoch: epoch,
        endEpoch: wantedEnd,
        storageSize,
        deletable,
        txDigest: bs58.encode(digest("transaction", metadata.blobId, seq)),
        eventSeq: "0",
        ...(share || sendObjectTo !== undefined ? { owned: false } : {}),
      };
      const next: BlobRecord = {
        version: 1,
        blobId: metadata.blobId,
        size: metadata.size,
        sha256: metadata.sha256,
        rootHash: metadata.rootHash,
        shards,
        registrations: [...(record?.registrations ?? []), registration],
      };
      await store.save(next, record !== undefined ? undefined : bytes);
      const units = Math.ceil(storageSize / STORAGE_UNIT);
      const answer: NewlyCreatedResponse = {
        newlyCreated: {
          blobObject: {
            id: registration.objectId,
            registeredEpoch: epoch,
            blobId: metadata.blobId,
            size: metadata.size,
            encodingType: "RS2",
            certifiedEpoch: epoch,
            storage: { id: registration.storageId, startEpoch: epoch, endEpoch: wantedEnd, storageSize },
            deletable,
          },
          resourceOperation: { registerFromScratch: { encodedLength: storageSize, epochsAhead: epochs } },
          cost: units * (STORAGE_PRICE_PER_UNIT_EPOCH * epochs + WRITE_PRICE_PER_UNIT),
          ...(share ? { sharedBlobObject: `0x${digest("shared", metadata.blobId, seq).toString("hex")}` } : {}),
        },
      };
      return answer;
    });
  }

  app.put<{ Body: Buffer | undefined }>("/v1/blobs", async (request, reply) => {
    const params = parseStoreQuery(request.query);
    return reply.code(200).send(await storeBlob(params, request.body ?? Buffer.alloc(0)));
  });

  /** The live registration serving a blob, or a 404. */
  function liveRecord(blobId: BlobId): BlobRecord {
    const record = store.get(blobId);
    const epoch = currentEpoch();
    if (record === undefined || !record.registrations.some((r) => r.endEpoch > epoch)) {
      throw new HttpProblem("BLOB_NOT_FOUND", `blob ${blobId} was not found or has expired`);
    }
    return record;
  }

  /** Verifications of blob files by sha256, by the file's stat identity: a file is hashed once per version. */
  const verified = new Map<string, { key: string; check: Promise<Unavailability> }>();

  /** Why a blob's file cannot serve its recorded bytes (missing, short, or altered), or undefined when it can. */
  async function unavailability(record: BlobRecord): Promise<Unavailability> {
    const file = store.blobPath(record.blobId);
    let info: Stats;
    try {
      info = await stat(file);
    } catch {
      return "its stored file is missing";
    }
    if (info.size !== record.size) return `the stored file has ${info.size} of ${record.size} bytes`;
    if (!verifyFiles) return undefined;
    const key = statKey(info);
    let entry = verified.get(record.blobId);
    if (entry === undefined || entry.key !== key) {
      const check = sha256OfFile(file).then(
        (actual): Unavailability =>
          actual === record.sha256 ? undefined : `the stored file's sha256 is ${actual}, recorded ${record.sha256}`,
        (error: unknown): Unavailability => `its stored file cannot be read (${(error as Error).message})`,
      );
      entry = { key, check };
      verified.set(record.blobId, entry);
    }
    return entry.check;
  }

  /** Throws the aggregator's answer for a blob it cannot reconstruct (500 INTERNAL) when the file is not intact. */
  async function assertAvailable(record: BlobRecord): Promise<void> {
    const problem = await unavailability(record);
    if (problem !== undefined) {
      throw new HttpProblem(
        "BLOB_UNAVAILABLE",
        `blob ${record.blobId} is registered here but its data is unavailable: ${problem}. ` +
          `Store the blob again (PUT /v1/blobs) to repair it, or read it from another aggregator.`,
      );
    }
  }

  /** The aggregator's read options; the strict and the skip consistency check exclude each other. */
  function checkReadQuery(query: unknown): void {
    const read = checkQuery(query, READ_PARAMETERS);
    const strict = parseBoolean("strict_consistency_check", read.strict_consistency_check);
    const skip = parseBoolean("skip_consistency_check", read.skip_consistency_check);
    if (strict && skip) {
      throw new HttpProblem("INVALID_CONSISTENCY_CHECK", "cannot set both strict and skip consistency check options");
    }
  }

  async function sendBlob(request: FastifyRequest, reply: FastifyReply, record: BlobRecord): Promise<FastifyReply> {
    checkReadQuery(request.query);
    await assertAvailable(record);
    const file = store.blobPath(record.blobId);
    // The aggregator mirrors an Accept without wildcards as the content type.
    const accept = request.headers.accept;
    reply
      .header("etag", record.blobId)
      .header("accept-ranges", "bytes")
      .header("content-type", accept !== undefined && !accept.includes("*") ? accept : "application/octet-stream")
      .header("x-content-type-options", "nosniff")
      .header("cache-control", BLOB_CACHE_CONTROL);
    const ifNoneMatch = request.headers["if-none-match"];
    if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((tag) => unquoteEtag(tag) === record.blobId)) {
      return reply.code(304).send();
    }
    const rangeHeader = request.headers.range;
    if (rangeHeader !== undefined && record.size > 0) {
      const ranges = parseRange(record.size, rangeHeader, { combine: true });
      if (ranges === -1) {
        reply.header("content-range", `bytes */${record.size}`);
        throw new HttpProblem(
          "INVALID_BYTE_RANGE",
          `invalid byte range parameters: range ${rangeHeader} is outside the blob's ${record.size} bytes`,
        );
      }
      // A malformed range (-2) or several ranges are ignored, and the whole blob is sent (RFC 9110 allows both).
      if (ranges !== -2 && ranges.type === "bytes" && ranges.length === 1) {
        const { start, end } = ranges[0];
        reply
          .code(206)
          .header("content-range", `bytes ${start}-${end}/${record.size}`)
          .header("content-length", end - start + 1);
        const part = createReadStream(file, { start, end, highWaterMark: READ_CHUNK });
        const guard = new GuardedBlobStream(end - start + 1, undefined, record.blobId);
        part.on("error", (error) => guard.destroy(error));
        return reply.send(part.pipe(guard));
      }
    }
    reply.code(200).header("content-length", record.size);
    if (record.size === 0) return reply.send(Buffer.alloc(0));
    const source = createReadStream(file, { highWaterMark: READ_CHUNK });
    const guard = new GuardedBlobStream(record.size, verifyFiles ? record.sha256 : undefined, record.blobId);
    source.on("error", (error) => guard.destroy(error));
    return reply.send(source.pipe(guard));
  }

  app.get<{ Params: { blobId: string } }>("/v1/blobs/:blobId", async (request, reply) => {
    let blobId: BlobId;
    try {
      blobId = parseBlobId(request.params.blobId);
    } catch (error) {
      throw new HttpProblem("INVALID_BLOB_ID", (error as InvalidBlobIdError).message);
    }
    return sendBlob(request, reply, liveRecord(blobId));
  });

  app.get<{ Params: { objectId: string } }>("/v1/blobs/by-object-id/:objectId", async (request, reply) => {
    const objectId = request.params.objectId;
    if (!OBJECT_ID.test(objectId)) {
      throw new HttpProblem("INVALID_OBJECT_ID", `object id ${JSON.stringify(objectId)} is not 0x + 64 hex digits`);
    }
    const found = store.byObjectId(objectId);
    if (found === undefined || found.registration.endEpoch <= currentEpoch()) {
      throw new HttpProblem("BLOB_NOT_FOUND", `no live blob object ${objectId}`);
    }
    const record = store.get(found.blobId);
    if (record === undefined) throw new HttpProblem("BLOB_NOT_FOUND", `no live blob object ${objectId}`);
    return sendBlob(request, reply, record);
  });

  registerQuiltRoutes(app, {
    shards,
    maxBlobSize: limit,
    problem: (reason, message, status) => new HttpProblem(reason, message, status),
    checkQuery,
    parseStoreQuery,
    storeBlob,
    async liveBlob(blobId) {
      const record = liveRecord(blobId);
      await assertAvailable(record);
      return { blobId: record.blobId, size: record.size, sha256: record.sha256, file: store.blobPath(record.blobId) };
    },
  });

  registerEpochRoutes(app, {
    clock,
    problem: (reason, message, status) => new HttpProblem(reason, message, status),
    checkQuery,
    endEpochOf: (blobId) => {
      const record = store.get(blobId);
      return record === undefined ? undefined : Math.max(...record.registrations.map((r) => r.endEpoch));
    },
  });

  // As the daemon: 200 and a plain "OK" whenever it is up.
  app.get("/status", async (_request, reply) => reply.type("text/plain; charset=utf-8").send("OK"));

  // This store's own figures (not a Walrus route).
  app.get("/local/status", async () => ({
    service: "strata-local-walrus",
    epoch: currentEpoch(),
    epochMs: clock.epochMs,
    genesisMs: clock.genesisMs,
    advancedMs: clock.advancedMs,
    shards,
    maxBlobSize: limit,
    maxEpochsAhead,
    blobs: store.size,
    bytes: store.bytes,
  }));

  const host = options.host ?? "127.0.0.1";
  await app.listen({ port: options.port ?? LOCAL_WALRUS_PORT, host });
  const address = app.server.address();
  if (address === null || typeof address === "string")
    throw new LocalStoreError(
      "the local Walrus store listens on no TCP address: start it with a TCP host and port",
      dir,
    );
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    dir,
    shards,
    maxBlobSize: limit,
    currentEpoch,
    advanceEpochs: (epochs) => clock.advance(epochs),
    close: async () => {
      const closing = app.close();
      // A response that finished a moment ago can leave its keep-alive connection busy when the close begins, and
      // closing then waits for the keep-alive timeout (72 s): sweep connections again until they are all gone.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 25);
      try {
        await closing;
      } finally {
        clearInterval(sweep);
      }
    },
  };
}
