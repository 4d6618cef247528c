/**
 * The quilt routes of the local Walrus store, as the Walrus daemon serves them (`crates/walrus-service`
 * `publisher_openapi.yaml`, `aggregator_openapi.yaml` and `client/daemon/routes.rs`):
 *
 * - `PUT /v1/quilts`: a multipart form, one part per patch (its field name is the identifier) and an optional
 *   `_metadata` part (`[{"identifier": ..., "tags": {...}}]`); the quilt is encoded here and stored as an ordinary blob,
 *   answered `{"blobStoreResult": ..., "storedQuiltBlobs": [{"identifier", "quiltPatchId"}]}`.
 * - `GET /v1/blobs/by-quilt-patch-id/{id}` and `GET /v1/blobs/by-quilt-id/{quilt_id}/{identifier}`: the patch's
 *   contents, with `X-Quilt-Patch-Identifier` and `ETag` (the quilt ID, as the daemon sets it).
 * - `GET /v1/quilts/{quilt_id}/patches`: `[{"identifier", "patch_id", "tags"}]` (the daemon's `QuiltPatchItem` is
 *   not renamed to camelCase).
 * - `GET /v1/blobs/{id}/byte-range?start=&length=`: 200 and the bytes, `ETag: <blobId>-<start>-<length>`.
 */
import { createHash } from "node:crypto";
import { open, readFile, stat } from "node:fs/promises";
import Busboy from "@fastify/busboy";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { LRUCache } from "lru-cache";
import { parseBlobId, type BlobId } from "@strata/core";
import type { StoreResponse } from "./api";
import { BlobTooLargeError } from "./errors";
import {
  decodeQuilt,
  encodeQuilt,
  maxQuiltPatches,
  parseQuiltPatchId,
  quiltPatchId,
  type DecodedQuilt,
  type QuiltPatchEntry,
  type QuiltPatchInput,
} from "./quilt";
import { InvalidQuiltError, QuiltFormatError } from "./quilt-errors";
import type { LocalWalrusReason, StoreParams } from "./server";

/** The field that carries Walrus-native metadata in a quilt upload. */
export const QUILT_METADATA_FIELD = "_metadata";
/** The header that names the patch a patch answer holds. */
export const QUILT_PATCH_IDENTIFIER_HEADER = "X-Quilt-Patch-Identifier";

/** The methods of the quilt routes, for the store's 405 answers. */
export const QUILT_ROUTE_METHODS: [RegExp, string][] = [
  [/^\/v1\/quilts\/?$/, "PUT"],
  [/^\/v1\/quilts\/[^/]+\/patches$/, "GET,HEAD"],
  [/^\/v1\/blobs\/by-quilt-patch-id\/[^/]+$/, "GET,HEAD"],
  [/^\/v1\/blobs\/by-quilt-id\/[^/]+\/.+$/, "GET,HEAD"],
  [/^\/v1\/blobs\/[^/]+\/byte-range$/, "GET,HEAD"],
];

const BLOB_CACHE_CONTROL = "public, max-age=86400, stale-while-revalidate=3600";
/** Decoded quilts kept in memory (their bytes), so that reading patch after patch does not reread the file. */
const QUILT_CACHE_BYTES = 256 * 1024 * 1024;
/** What a header value may hold (visible ASCII, space and tab): other identifiers get no identifier header. */
const HEADER_SAFE = /^[\t\x20-\x7e]*$/;
const UNSIGNED = /^(0|[1-9][0-9]*)$/;

/** What the store gives its quilt routes: its checks, its blob store and its error answers. */
export interface QuiltRouteContext {
  shards: number;
  maxBlobSize: number;
  problem(reason: LocalWalrusReason, message: string, status?: number): Error;
  checkQuery(query: unknown, allowed: ReadonlySet<string>): Record<string, string>;
  parseStoreQuery(query: unknown): StoreParams;
  storeBlob(params: StoreParams, body: Buffer): Promise<StoreResponse>;
  /** A live blob whose file is intact (else the store's 404 or 500 is thrown). */
  liveBlob(blobId: BlobId): Promise<{ blobId: BlobId; size: number; sha256: string; file: string }>;
}

interface CachedQuilt {
  key: string;
  quilt: DecodedQuilt;
}

/** Registers the quilt routes on the store's Fastify instance. */
export function registerQuiltRoutes(app: FastifyInstance, ctx: QuiltRouteContext): void {
  // Each entry is counted at its quilt's size in bytes.
  const cache = new LRUCache<string, CachedQuilt>({ maxSize: QUILT_CACHE_BYTES });

  function parseQuiltId(text: string): BlobId {
    try {
      return parseBlobId(text);
    } catch (error) {
      throw ctx.problem("INVALID_BLOB_ID", (error as Error).message);
    }
  }

  /** The decoded quilt of a live blob, or 404 QUILT_PATCH_NOT_FOUND when the blob is not a quilt. */
  async function quiltOf(quiltId: BlobId): Promise<DecodedQuilt> {
    const blob = await ctx.liveBlob(quiltId);
    const info = await stat(blob.file);
    const key = `${blob.sha256}:${info.ino}:${info.size}:${info.mtimeMs}`;
    const cached = cache.get(quiltId);
    if (cached !== undefined && cached.key === key) return cached.quilt;
    const bytes = await readFile(blob.file);
    if (bytes.length !== blob.size || createHash("sha256").update(bytes).digest("hex") !== blob.sha256) {
      throw ctx.problem(
        "BLOB_UNAVAILABLE",
        `blob ${quiltId} is registered here but its data is unavailable: its file changed while it was read`,
      );
    }
    let quilt: DecodedQuilt;
    try {
      quilt = decodeQuilt(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { nShards: ctx.shards });
    } catch (error) {
      if (error instanceof QuiltFormatError) {
        throw ctx.problem(
          "QUILT_PATCH_NOT_FOUND",
          `blob ${quiltId} is not a quilt (${error.message}): it has no patches; read it with GET /v1/blobs/${quiltId}`,
        );
      }
      throw error;
    }
    if (bytes.length <= QUILT_CACHE_BYTES / 4) cache.set(quiltId, { key, quilt }, { size: Math.max(bytes.length, 1) });
    return quilt;
  }

  function sendPatch(
    request: FastifyRequest,
    reply: FastifyReply,
    quiltId: BlobId,
    quilt: DecodedQuilt,
    entry: QuiltPatchEntry,
  ): FastifyReply {
    const contents = quilt.patch(entry);
    const accept = request.headers.accept;
    reply
      .code(200)
      .header("etag", quiltId)
      .header("content-type", accept !== undefined && !accept.includes("*") ? accept : "application/octet-stream")
      .header("x-content-type-options", "nosniff")
      .header("cache-control", BLOB_CACHE_CONTROL)
      .header("content-length", contents.length);
    // As the daemon: an identifier that cannot be a header value is left out.
    if (HEADER_SAFE.test(entry.identifier)) reply.header(QUILT_PATCH_IDENTIFIER_HEADER, entry.identifier);
    return reply.send(Buffer.from(contents.buffer, contents.byteOffset, contents.byteLength));
  }

  const NO_PARAMETERS: ReadonlySet<string> = new Set();

  app.get<{ Params: { patchId: string } }>("/v1/blobs/by-quilt-patch-id/:patchId", async (request, reply) => {
    ctx.checkQuery(request.query, NO_PARAMETERS);
    let parsed: ReturnType<typeof parseQuiltPatchId>;
    try {
      parsed = parseQuiltPatchId(request.params.patchId);
    } catch (error) {
      throw ctx.problem("INVALID_QUILT_PATCH_ID", (error as Error).message);
    }
    const quilt = await quiltOf(parsed.quiltId);
    const entry = quilt.patches.find((p) => p.startIndex === parsed.startIndex && p.endIndex === parsed.endIndex);
    if (entry === undefined) {
      throw ctx.problem(
        "QUILT_PATCH_NOT_FOUND",
        `quilt ${parsed.quiltId} has no patch in columns ${parsed.startIndex}..${parsed.endIndex}`,
      );
    }
    return sendPatch(request, reply, parsed.quiltId, quilt, entry);
  });

  app.get<{ Params: { quiltId: string; "*": string } }>("/v1/blobs/by-quilt-id/:quiltId/*", async (request, reply) => {
    ctx.checkQuery(request.query, NO_PARAMETERS);
    const quiltId = parseQuiltId(request.params.quiltId);
    const identifier = request.params["*"];
    const quilt = await quiltOf(quiltId);
    const entry = quilt.patches.find((p) => p.identifier === identifier);
    if (entry === undefined) {
      throw ctx.problem(
        "QUILT_PATCH_NOT_FOUND",
        `quilt ${quiltId} has no patch ${JSON.stringify(identifier)}; GET /v1/quilts/${quiltId}/patches lists them`,
      );
    }
    return sendPatch(request, reply, quiltId, quilt, entry);
  });

  app.get<{ Params: { quiltId: string } }>("/v1/quilts/:quiltId/patches", async (request, reply) => {
    ctx.checkQuery(request.query, NO_PARAMETERS);
    const quiltId = parseQuiltId(request.params.quiltId);
    const quilt = await quiltOf(quiltId);
    return reply
      .code(200)
      .send(quilt.patches.map((p) => ({ identifier: p.identifier, patch_id: quiltPatchId(quiltId, p), tags: p.tags })));
  });

  const RANGE_PARAMETERS: ReadonlySet<string> = new Set(["start", "length"]);

  app.get<{ Params: { blobId: string } }>("/v1/blobs/:blobId/byte-range", async (request, reply) => {
    const query = ctx.checkQuery(request.query, RANGE_PARAMETERS);
    const blobId = parseQuiltId(request.params.blobId);
    const invalid = (message: string): Error =>
      ctx.problem("INVALID_BYTE_RANGE", `invalid byte range parameters: ${message}`, 400);
    for (const name of ["start", "length"] as const) {
      if (query[name] === undefined) throw invalid(`${name} is required (start=<offset>&length=<bytes>)`);
      if (!UNSIGNED.test(query[name])) throw invalid(`${name} must be a non-negative integer, got ${query[name]}`);
    }
    const start = Number(query.start);
    const length = Number(query.length);
    if (length === 0) throw invalid("length must be greater than 0");
    if (!Number.isSafeInteger(start + length)) throw invalid("start + length overflows");
    const blob = await ctx.liveBlob(blobId);
    if (start + length > blob.size) {
      throw invalid(`the range [${start}, ${start + length}) is outside the blob's ${blob.size} bytes`);
    }
    const bytes = Buffer.alloc(length);
    const handle = await open(blob.file, "r");
    try {
      let read = 0;
      while (read < length) {
        const { bytesRead } = await handle.read(bytes, read, length - read, start + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      if (read !== length) {
        throw ctx.problem("BLOB_UNAVAILABLE", `blob ${blobId}: its stored file ended after ${start + read} bytes`);
      }
    } finally {
      await handle.close();
    }
    const accept = request.headers.accept;
    return reply
      .code(200)
      .header("etag", `${blobId}-${start}-${length}`)
      .header("content-type", accept !== undefined && !accept.includes("*") ? accept : "application/octet-stream")
      .header("x-content-type-options", "nosniff")
      .header("cache-control", BLOB_CACHE_CONTROL)
      .header("content-length", length)
      .send(bytes);
  });

  app.put<{ Body: Buffer | undefined }>("/v1/quilts", async (request, reply) => {
    const params = ctx.parseStoreQuery(request.query);
    const patches = await parseQuiltForm(request, ctx);
    let encoded: ReturnType<typeof encodeQuilt>;
    try {
      encoded = encodeQuilt(patches, { nShards: ctx.shards });
    } catch (error) {
      if (error instanceof InvalidQuiltError) {
        throw ctx.problem("MALFORMED_REQUEST", `the request is malformed: failed to construct quilt: ${error.message}`);
      }
      throw error;
    }
    if (encoded.bytes.length > ctx.maxBlobSize) {
      throw new BlobTooLargeError(encoded.bytes.length, ctx.maxBlobSize, {
        why: "the quilt is above this store's limit",
      });
    }
    const bytes = Buffer.from(encoded.bytes.buffer, encoded.bytes.byteOffset, encoded.bytes.byteLength);
    const blobStoreResult = await ctx.storeBlob(params, bytes);
    const quiltId =
      "newlyCreated" in blobStoreResult
        ? (blobStoreResult.newlyCreated.blobObject.blobId as BlobId)
        : (blobStoreResult.alreadyCertified.blobId as BlobId);
    return reply.code(200).send({
      blobStoreResult,
      storedQuiltBlobs: encoded.patches.map((p) => ({
        identifier: p.identifier,
        quiltPatchId: quiltPatchId(quiltId, p),
      })),
    });
  });
}

/** The patches of a quilt upload: every part is a patch named by its field, except `_metadata` (their tags). */
async function parseQuiltForm(request: FastifyRequest, ctx: QuiltRouteContext): Promise<QuiltPatchInput[]> {
  const malformed = (message: string): Error =>
    ctx.problem("MALFORMED_REQUEST", `the request is malformed: ${message}`);
  const contentType = request.headers["content-type"];
  if (contentType === undefined || !/^multipart\/form-data\s*;/i.test(contentType)) {
    throw malformed(
      `expected a multipart/form-data body with a boundary, got ${contentType === undefined ? "no content type" : contentType}`,
    );
  }
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const parts: { name: string; bytes: Buffer }[] = [];
  const maxParts = maxQuiltPatches(ctx.shards) + 1;
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (error: Error): void => {
      if (!failed) {
        failed = true;
        reject(error);
      }
    };
    let busboy: ReturnType<typeof Busboy>;
    try {
      busboy = Busboy({
        headers: { ...request.headers, "content-type": contentType },
        // Every part is taken as bytes: identifiers are field names, and fields may hold any bytes.
        isPartAFile: () => true,
        limits: {
          fileSize: Math.max(ctx.maxBlobSize, 1),
          files: maxParts,
          parts: maxParts,
          fieldNameSize: 70 * 1024,
          headerSize: 160 * 1024,
        },
      });
    } catch (error) {
      fail(malformed(`failed to parse multipart form: ${(error as Error).message}`));
      return;
    }
    const pending: Promise<void>[] = [];
    busboy.on("file", (name, stream) => {
      pending.push(
        new Promise<void>((done) => {
          const chunks: Buffer[] = [];
          stream.on("data", (chunk: Buffer) => chunks.push(chunk));
          stream.on("limit", () => fail(new BlobTooLargeError(ctx.maxBlobSize + 1, ctx.maxBlobSize)));
          stream.on("error", (error) => fail(malformed(`failed to parse multipart form: ${error.message}`)));
          stream.on("end", () => {
            parts.push({ name, bytes: Buffer.concat(chunks) });
            done();
          });
        }),
      );
    });
    busboy.on("partsLimit", () => fail(malformed(`a quilt holds at most ${maxParts - 1} patches`)));
    busboy.on("filesLimit", () => fail(malformed(`a quilt holds at most ${maxParts - 1} patches`)));
    busboy.on("error", (error) => fail(malformed(`failed to parse multipart form: ${(error as Error).message}`)));
    busboy.on("finish", () => {
      void Promise.all(pending).then(() => {
        if (!failed) resolve();
      });
    });
    busboy.end(body);
  });

  const tagsOf = new Map<string, Record<string, string>>();
  const files: { name: string; bytes: Buffer }[] = [];
  for (const part of parts) {
    if (part.name !== QUILT_METADATA_FIELD) {
      files.push(part);
      continue;
    }
    let metadata: unknown;
    try {
      metadata = JSON.parse(part.bytes.toString("utf8"));
    } catch (error) {
      throw malformed(`failed to parse multipart form: _metadata is not JSON (${(error as Error).message})`);
    }
    if (!Array.isArray(metadata)) throw malformed("_metadata must be a JSON array of {identifier, tags}");
    for (const item of metadata as unknown[]) {
      if (
        typeof item !== "object" ||
        item === null ||
        typeof (item as { identifier?: unknown }).identifier !== "string"
      ) {
        throw malformed("each _metadata entry must be an object with a string identifier");
      }
      const { identifier, tags } = item as { identifier: string; tags?: unknown };
      if (tagsOf.has(identifier))
        throw malformed(`duplicate identifiers found in _metadata: ${JSON.stringify(identifier)}`);
      if (tags !== undefined && (typeof tags !== "object" || tags === null || Array.isArray(tags))) {
        throw malformed(`the tags of ${JSON.stringify(identifier)} in _metadata must be a JSON object`);
      }
      // As the daemon: string values as they are, any other JSON value as its JSON text.
      const entries = Object.entries((tags ?? {}) as Record<string, unknown>).map(([key, value]) => [
        key,
        typeof value === "string" ? value : JSON.stringify(value),
      ]);
      tagsOf.set(identifier, Object.fromEntries(entries) as Record<string, string>);
    }
  }
  if (files.length === 0) throw malformed("no files provided in multipart form");
  return files.map(({ name, bytes }) => {
    const tags = tagsOf.get(name);
    return {
      identifier: name,
      contents: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      ...(tags !== undefined && Object.keys(tags).length > 0 ? { tags } : {}),
    };
  });
}
