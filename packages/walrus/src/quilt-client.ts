/**
 * The quilt calls of `WalrusClient` (it delegates to these functions): store a quilt (encoded locally, so the quilt ID
 * and every patch ID are known before the publisher answers, and checked against its answer), read one patch verified
 * against a hash the caller trusts, list a quilt's patches, and read a byte range.
 */
import { parseBlobId, type BlobId } from "@strata/core";
import type { StoreResponse } from "./api";
import type { ReadOptions, StoreOptions, StoreResult } from "./client";
import type { BlobMetadata, EncoderPool } from "./encoder-pool";
import { BlobIntegrityError, BlobNotFoundError, WalrusResponseError } from "./errors";
import {
  decodeQuilt,
  encodeQuilt,
  parseQuiltPatchId,
  quiltPatchId,
  type QuiltPatchEntry,
  type QuiltPatchId,
  type QuiltPatchInput,
} from "./quilt";
import { InvalidQuiltError, QuiltPatchMismatchError, QuiltPatchNotFoundError } from "./quilt-errors";

/** A response body as the client's read path delivers it: after the size bounds and the sha256 check, if asked. */
export interface FetchedBody {
  url: string;
  bytes: Uint8Array;
  sha256: string;
  size: number;
  headers: Record<string, string | string[] | undefined>;
}

/** What the quilt calls use of a `WalrusClient`: its publish and read paths, with their retries and failover. */
export interface QuiltClientTransport {
  readonly shards: number;
  readonly publisherUrl: string | undefined;
  readonly pool: EncoderPool;
  checkPublishSize(size: number, url: string): void;
  storeQuery(options: StoreOptions): URLSearchParams;
  publish(
    url: string,
    bytes: Uint8Array,
    contentType: string,
    blobId: BlobId,
    options: StoreOptions,
    unwrap: (json: unknown) => unknown,
  ): Promise<{ response: StoreResponse; json: unknown }>;
  storeResult(response: StoreResponse, metadata: BlobMetadata, url: string): StoreResult;
  /** GETs `route` from the aggregators (failover, retries, size bounds, sha256 when `options.sha256` is set). */
  fetch<T>(route: string, id: BlobId, options: ReadOptions, finish: (body: FetchedBody) => Promise<T>): Promise<T>;
  /** Reads a whole blob verified by its Blob ID (or its sha256). */
  read(blobId: BlobId, options: ReadOptions): Promise<Uint8Array>;
}

/** One patch of a stored quilt, with the patch ID computed locally (and confirmed by the publisher). */
export interface StoredQuiltPatch {
  identifier: string;
  patchId: QuiltPatchId;
  startIndex: number;
  endIndex: number;
  tags: Record<string, string>;
}

/** A stored quilt: the store result of the quilt blob (its `blobId` is the quilt ID) and its patches. */
export type QuiltStoreResult = StoreResult & {
  /** The patches in quilt order (sorted by identifier). */
  patches: StoredQuiltPatch[];
  /** The size of the encoded quilt (the blob stored). */
  quiltBytes: number;
};

/** Exactly one way of trusting a patch's bytes. */
export type PatchIntegrity =
  /** The patch's sha256 (64 hex digits), known beforehand. */
  | { sha256: string; verify?: undefined; wholeQuilt?: undefined }
  /** The caller's own check of the bytes and the identifier the aggregator named (throw to refuse them). */
  | { verify: (bytes: Uint8Array, identifier: string) => void; sha256?: undefined; wholeQuilt?: undefined }
  /** Read the whole quilt, verify it by its Blob ID, and cut the patch out. */
  | { wholeQuilt: true; sha256?: undefined; verify?: undefined };

export type ReadPatchOptions = Omit<ReadOptions, "sha256"> & PatchIntegrity;

/** A patch read and verified. */
export interface PatchRead {
  bytes: Uint8Array;
  /** The patch's identifier: the one asked for, the one in the verified quilt, or the one the aggregator named. */
  identifier: string;
  /** The patch ID, when it is known (given, or found in the verified quilt). */
  patchId?: QuiltPatchId;
  /** Bytes that came over the wire: the patch's, or the whole quilt's with `wholeQuilt`. */
  fetchedBytes: number;
  /** How the bytes were verified. */
  integrity: "sha256" | "verify" | "whole-quilt";
}

/** A patch as an aggregator lists it: its position is the aggregator's word, not verified. */
export interface ListedPatch {
  identifier: string;
  patchId: QuiltPatchId;
  tags: Record<string, string>;
  startIndex: number;
  endIndex: number;
}

/** A byte range read and verified against its sha256. */
export interface RangeRead {
  bytes: Uint8Array;
  fetchedBytes: number;
}

/** A reference to a patch: its patch ID, or its quilt ID and identifier. */
export type PatchRef = QuiltPatchId | string | { quiltId: BlobId | string; identifier: string };

const IDENTIFIER_HEADER = "x-quilt-patch-identifier";
/** What a header value may hold: an aggregator leaves out the identifier header for other identifiers. */
const HEADER_SAFE = /^[\t\x20-\x7e]*$/;
/** The most bytes a patch listing may take (666 patches with long identifiers and tags). */
const MAX_LISTING_BYTES = 64 * 1024 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Encodes the quilt locally, stores it through the publisher, and checks the quilt ID and every patch ID. */
export async function storeQuilt(
  t: QuiltClientTransport,
  patches: readonly QuiltPatchInput[],
  options: StoreOptions = {},
): Promise<QuiltStoreResult> {
  const publisher = t.publisherUrl;
  if (publisher === undefined) throw new TypeError("WalrusClient.storeQuilt needs a publisherUrl");
  const query = t.storeQuery(options);
  for (const patch of patches) {
    // Multipart field names escape '"' as %22 (WHATWG), which a publisher does not undo: the identifier would change.
    if (typeof patch?.identifier === "string" && patch.identifier.includes('"')) {
      throw new InvalidQuiltError(
        "identifier-not-sendable",
        `Identifier ${JSON.stringify(patch.identifier)} holds '"', which a multipart upload cannot carry unchanged: ` +
          `choose another identifier.`,
        patch.identifier,
      );
    }
  }
  const encoded = encodeQuilt(patches, { nShards: t.shards });
  const form = new FormData();
  for (const patch of patches) form.append(patch.identifier, new Blob([patch.contents]), patch.identifier);
  const tagged = encoded.patches.filter((p) => Object.keys(p.tags).length > 0);
  if (tagged.length > 0) {
    form.append("_metadata", JSON.stringify(tagged.map((p) => ({ identifier: p.identifier, tags: p.tags }))));
  }
  const serialized = new Response(form);
  const body = new Uint8Array(await serialized.arrayBuffer());
  const contentType = serialized.headers.get("content-type") ?? "multipart/form-data";
  // A publisher limits the request body; the quilt it builds from it is at least as large.
  t.checkPublishSize(Math.max(body.byteLength, encoded.bytes.byteLength), publisher);

  const metadata = await t.pool.computeMetadata(encoded.bytes, { shards: t.shards, signal: options.signal });
  const quiltId = metadata.blobId;
  const url = `${publisher}/v1/quilts?${query}`;
  const { response, json } = await t.publish(url, body, contentType, quiltId, options, (answer) => {
    if (!isRecord(answer) || !isRecord(answer.blobStoreResult)) {
      throw new WalrusResponseError(url, "the quilt store answer has no blobStoreResult", quiltId);
    }
    return answer.blobStoreResult;
  });
  const result = t.storeResult(response, metadata, url);

  const local = encoded.patches.map((entry) => ({
    identifier: entry.identifier,
    patchId: quiltPatchId(quiltId, entry),
    startIndex: entry.startIndex,
    endIndex: entry.endIndex,
    tags: entry.tags,
  }));
  const answered = (json as { storedQuiltBlobs?: unknown }).storedQuiltBlobs;
  if (!Array.isArray(answered)) throw new WalrusResponseError(url, "the answer has no storedQuiltBlobs array", quiltId);
  const byIdentifier = new Map<string, string>();
  for (const item of answered as unknown[]) {
    if (!isRecord(item) || typeof item.identifier !== "string" || typeof item.quiltPatchId !== "string") {
      throw new WalrusResponseError(url, "a storedQuiltBlobs entry is not {identifier, quiltPatchId}", quiltId);
    }
    if (byIdentifier.has(item.identifier)) {
      throw new QuiltPatchMismatchError(quiltId, url, item.identifier, undefined, item.quiltPatchId);
    }
    byIdentifier.set(item.identifier, item.quiltPatchId);
  }
  for (const patch of local) {
    const theirs = byIdentifier.get(patch.identifier);
    if (theirs !== patch.patchId) {
      throw new QuiltPatchMismatchError(quiltId, url, patch.identifier, patch.patchId, theirs);
    }
    byIdentifier.delete(patch.identifier);
  }
  for (const [identifier, theirs] of byIdentifier) {
    throw new QuiltPatchMismatchError(quiltId, url, identifier, undefined, theirs);
  }
  return { ...result, patches: local, quiltBytes: encoded.bytes.byteLength };
}

function integrityOf(options: ReadPatchOptions): PatchRead["integrity"] {
  const modes = [
    options.sha256 !== undefined ? "sha256" : undefined,
    options.verify !== undefined ? "verify" : undefined,
    options.wholeQuilt === true ? "whole-quilt" : undefined,
  ].filter((m): m is PatchRead["integrity"] => m !== undefined);
  if (modes.length !== 1) {
    throw new TypeError(
      `readPatch needs exactly one integrity check: { sha256 } (the patch's hash), { verify(bytes, identifier) } or ` +
        `{ wholeQuilt: true } (read and verify the whole quilt); got ${modes.length === 0 ? "none" : modes.join(" and ")}. ` +
        `A patch ID is a position, not a hash: bytes read by it alone prove nothing.`,
    );
  }
  if (options.verify !== undefined && typeof options.verify !== "function") {
    throw new TypeError("readPatch: verify must be a function (bytes, identifier) that throws to refuse the bytes");
  }
  return modes[0];
}

function resolveRef(ref: PatchRef): { quiltId: BlobId; patchId?: QuiltPatchId; identifier?: string } {
  if (typeof ref === "string") {
    const parsed = parseQuiltPatchId(ref);
    return { quiltId: parsed.quiltId, patchId: ref as QuiltPatchId };
  }
  if (typeof ref.identifier !== "string" || ref.identifier.length === 0) {
    throw new TypeError("readPatch: the identifier must be a non-empty string");
  }
  return { quiltId: parseBlobId(ref.quiltId), identifier: ref.identifier };
}

/**
 * Reads one patch, by patch ID or by quilt ID and identifier, and verifies it the one way the caller chose: its
 * sha256, the caller's `verify`, or the whole quilt by its Blob ID. Bytes that fail are discarded and the next
 * aggregator is asked (`BlobIntegrityError`).
 */
export async function readPatch(t: QuiltClientTransport, ref: PatchRef, options: ReadPatchOptions): Promise<PatchRead> {
  const integrity = integrityOf(options);
  const target = resolveRef(ref);
  if (integrity === "whole-quilt") return readFromWholeQuilt(t, target, options);

  const route =
    target.patchId !== undefined
      ? `/v1/blobs/by-quilt-patch-id/${target.patchId}`
      : `/v1/blobs/by-quilt-id/${target.quiltId}/${encodeURIComponent(target.identifier ?? "")}`;
  const readOptions: ReadOptions = {
    ...(options.sha256 !== undefined ? { sha256: options.sha256 } : {}),
    ...(options.expectedSize !== undefined ? { expectedSize: options.expectedSize } : {}),
    ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  };
  const asked = target.patchId ?? target.identifier ?? "";
  try {
    return await t.fetch(route, target.quiltId, readOptions, async (body) =>
      checkPatchBody(body, target, integrity, options),
    );
  } catch (error) {
    if (error instanceof BlobNotFoundError && error.reason === "QUILT_PATCH_NOT_FOUND") {
      throw new QuiltPatchNotFoundError(asked, { quiltId: target.quiltId, url: error.url });
    }
    throw error;
  }
}

/** Checks a patch answer: the identifier the aggregator names, then the caller's `verify` (sha256 is checked before). */
function checkPatchBody(
  body: FetchedBody,
  target: { quiltId: BlobId; patchId?: QuiltPatchId; identifier?: string },
  integrity: PatchRead["integrity"],
  options: ReadPatchOptions,
): PatchRead {
  const header = body.headers[IDENTIFIER_HEADER];
  const named = typeof header === "string" ? header : undefined;
  const asked = target.identifier;
  if (asked !== undefined) {
    // The aggregator leaves the header out only for identifiers that cannot be header values.
    if (named !== undefined ? named !== asked : HEADER_SAFE.test(asked)) {
      throw new BlobIntegrityError(
        target.quiltId,
        body.url,
        "identifier",
        asked,
        named ?? "(no X-Quilt-Patch-Identifier header)",
      );
    }
  }
  const identifier = asked ?? named ?? "";
  if (integrity === "verify" && options.verify !== undefined) {
    try {
      options.verify(body.bytes, identifier);
    } catch (error) {
      throw new BlobIntegrityError(
        target.quiltId,
        body.url,
        "verify",
        "",
        error instanceof Error ? error.message : String(error),
        error,
      );
    }
  }
  return {
    bytes: body.bytes,
    identifier,
    ...(target.patchId !== undefined ? { patchId: target.patchId } : {}),
    fetchedBytes: body.size,
    integrity,
  };
}

/** Reads the whole quilt (verified by its Blob ID), decodes it and cuts the patch out. */
async function readFromWholeQuilt(
  t: QuiltClientTransport,
  target: { quiltId: BlobId; patchId?: QuiltPatchId; identifier?: string },
  options: ReadPatchOptions,
): Promise<PatchRead> {
  const bytes = await t.read(target.quiltId, {
    ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  });
  const quilt = decodeQuilt(bytes, { nShards: t.shards });
  let entry: QuiltPatchEntry | undefined;
  if (target.patchId !== undefined) {
    const { startIndex, endIndex } = parseQuiltPatchId(target.patchId);
    entry = quilt.patches.find((p) => p.startIndex === startIndex && p.endIndex === endIndex);
  } else {
    entry = quilt.patches.find((p) => p.identifier === target.identifier);
  }
  if (entry === undefined) {
    throw new QuiltPatchNotFoundError(target.patchId ?? target.identifier ?? "", {
      quiltId: target.quiltId,
      available: quilt.patches.length,
    });
  }
  const contents = quilt.patch(entry);
  if (options.expectedSize !== undefined && contents.length !== options.expectedSize) {
    throw new BlobIntegrityError(
      target.quiltId,
      undefined,
      "size",
      String(options.expectedSize),
      String(contents.length),
    );
  }
  return {
    bytes: contents,
    identifier: entry.identifier,
    patchId: quiltPatchId(target.quiltId, entry),
    fetchedBytes: bytes.length,
    integrity: "whole-quilt",
  };
}

/**
 * Lists a quilt's patches as an aggregator answers (`GET /v1/quilts/{id}/patches`). The identifiers, tags and
 * positions are the aggregator's word and are NOT verified: use them to find a patch, then read it with an integrity
 * check (`readPatch`), or read the whole quilt.
 */
export async function listPatches(
  t: QuiltClientTransport,
  quiltId: BlobId | string,
  options: Omit<ReadOptions, "sha256" | "expectedSize"> = {},
): Promise<ListedPatch[]> {
  const id = parseBlobId(quiltId);
  const route = `/v1/quilts/${id}/patches`;
  return t.fetch(
    route,
    id,
    {
      maxBytes: options.maxBytes ?? MAX_LISTING_BYTES,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    },
    async (body) => {
      let json: unknown;
      try {
        json = JSON.parse(Buffer.from(body.bytes).toString("utf8"));
      } catch {
        throw new WalrusResponseError(body.url, "the patch listing is not JSON", id);
      }
      if (!Array.isArray(json)) throw new WalrusResponseError(body.url, "the patch listing is not a JSON array", id);
      return (json as unknown[]).map((item) => {
        // The daemon's QuiltPatchItem serializes `patch_id` (not renamed to camelCase).
        const patchId = isRecord(item) ? (item.patch_id ?? item.patchId) : undefined;
        if (!isRecord(item) || typeof item.identifier !== "string" || typeof patchId !== "string") {
          throw new WalrusResponseError(body.url, "a patch listing entry is not {identifier, patch_id, tags}", id);
        }
        let parsed: ReturnType<typeof parseQuiltPatchId>;
        try {
          parsed = parseQuiltPatchId(patchId);
        } catch (error) {
          throw new WalrusResponseError(body.url, (error as Error).message, id);
        }
        if (parsed.quiltId !== id) {
          throw new WalrusResponseError(body.url, `patch ${patchId} is listed for quilt ${id} but names another`, id);
        }
        const tags = item.tags ?? {};
        if (!isRecord(tags) || !Object.values(tags).every((v) => typeof v === "string")) {
          throw new WalrusResponseError(body.url, `the tags of ${JSON.stringify(item.identifier)} are not strings`, id);
        }
        return {
          identifier: item.identifier,
          patchId: patchId as QuiltPatchId,
          tags: tags as Record<string, string>,
          startIndex: parsed.startIndex,
          endIndex: parsed.endIndex,
        };
      });
    },
  );
}

/** Reads `length` bytes of a blob at `start` (`GET /v1/blobs/{id}/byte-range`), verified against their sha256. */
export async function readRange(
  t: QuiltClientTransport,
  blobId: BlobId | string,
  start: number,
  length: number,
  options: Omit<ReadOptions, "sha256" | "expectedSize"> & { sha256: string },
): Promise<RangeRead> {
  const id = parseBlobId(blobId);
  if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(length) || length <= 0) {
    throw new RangeError(`readRange needs start >= 0 and length > 0 (integers), got start ${start}, length ${length}`);
  }
  if (typeof options?.sha256 !== "string") {
    throw new TypeError("readRange needs the range's sha256: bytes read over HTTP are not trusted without it");
  }
  const route = `/v1/blobs/${id}/byte-range?start=${start}&length=${length}`;
  return t.fetch(route, id, { ...options, expectedSize: length }, async (body) => ({
    bytes: body.bytes,
    fetchedBytes: body.size,
  }));
}
