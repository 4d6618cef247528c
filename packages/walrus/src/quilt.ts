/**
 * Walrus quilts (QuiltV1), pure and without I/O: up to 666 small blobs ("patches") stored as one Walrus blob, each
 * readable alone by its quilt patch ID.
 *
 * The layout is walrus-core's (`encoding/quilt_encoding.rs`) and `@mysten/walrus`'s (`utils/quilts.ts`): the blob is a
 * matrix of `nRows` (primary source symbols) x `nCols` (secondary source symbols) symbols, stored row by row. A patch
 * fills whole columns, top to bottom: a 6-byte header (version 1, u32 LE length, mask), the identifier (u16 LE size +
 * BCS string), the tags when there are any (u16 LE size + BCS map), then the contents. Column 0 (up to 10 columns)
 * holds the index: version byte 1, u32 LE length, and the BCS `QuiltIndexV1` (per patch: end column, identifier, tags).
 * Patches are sorted by identifier; the symbol size is the smallest even one with which every patch fits.
 *
 * `encodeQuilt` gives the same bytes as `@mysten/walrus`'s `encodeQuilt` (checked by the parity test), copying whole
 * symbol runs with `TypedArray.set` instead of byte by byte.
 */
import { bcs } from "@mysten/bcs";
import { blobIdFromBytes, blobIdToBytes, type BlobId } from "@strata/core";
import { DEFAULT_SHARDS, sourceSymbols } from "./encoding";
import { InvalidQuiltError, InvalidQuiltPatchIdError, QuiltFormatError, QuiltPatchNotFoundError } from "./quilt-errors";

/** The version byte of QuiltV1 (first byte of the quilt, of every patch header and of every patch ID's 5 bytes). */
export const QUILT_VERSION_V1 = 1;
/** Bytes of a quilt patch ID: the 32-byte quilt Blob ID, version, start column u16 LE, end column u16 LE. */
export const QUILT_PATCH_ID_BYTES = 37;
/** Characters of a quilt patch ID (unpadded base64url of 37 bytes). */
export const QUILT_PATCH_ID_LENGTH = 50;
/** The largest BCS-serialized identifier (walrus-core refuses a serialized size of u16::MAX and above). */
export const MAX_QUILT_IDENTIFIER_BYTES = 65_534;
/** The largest BCS-serialized tags of one patch (their size is a u16). */
export const MAX_QUILT_TAGS_BYTES = 65_535;

const INDEX_PREFIX_SIZE = 5;
const PATCH_HEADER_SIZE = 6;
const SIZE_FIELD = 2;
const MAX_INDEX_COLUMNS = 10;
const HAS_TAGS = 1;
/** Largest RS2 symbol: a u16, and even. */
const MAX_SYMBOL_SIZE = 65_534;
/** Runs shorter than this are copied in a loop: below it, `subarray` + `set` costs more than it saves. */
const SHORT_RUN = 24;

// The BCS types of walrus-core `metadata.rs` (QuiltIndexV1, QuiltPatchV1) and `encoding/quilt_encoding.rs`.
const Tags = bcs.map(bcs.string(), bcs.string());
const QuiltPatchV1 = bcs.struct("QuiltPatchV1", { endIndex: bcs.u16(), identifier: bcs.string(), tags: Tags });
const QuiltIndexV1 = bcs.struct("QuiltIndexV1", { patches: bcs.vector(QuiltPatchV1) });
const PatchHeader = bcs.struct("QuiltPatchBlobHeader", { version: bcs.u8(), length: bcs.u32(), mask: bcs.u8() });
const QuiltPatchIdBcs = bcs.struct("QuiltPatchId", {
  quiltId: bcs.bytes(32),
  patchId: bcs.struct("QuiltPatchInternalIdV1", { version: bcs.u8(), startIndex: bcs.u16(), endIndex: bcs.u16() }),
});

export interface QuiltPatchInput {
  /** Unique in the quilt; starts with a letter or digit; no trailing whitespace or control characters. */
  identifier: string;
  contents: Uint8Array;
  /** Walrus-native metadata of the patch (at most 64 KB serialized). */
  tags?: Record<string, string>;
}

/** A patch's place in a quilt: columns `[startIndex, endIndex)`. */
export interface QuiltPatchEntry {
  identifier: string;
  tags: Record<string, string>;
  startIndex: number;
  endIndex: number;
}

export interface EncodedQuilt {
  /** The quilt blob (its Blob ID is the quilt ID). */
  bytes: Uint8Array;
  /** The patches, sorted by identifier as Walrus sorts them. */
  patches: QuiltPatchEntry[];
  symbolSize: number;
  nShards: number;
}

export interface DecodedQuilt {
  /** The patches of the index, in quilt order, each checked against its patch header. */
  patches: QuiltPatchEntry[];
  /** The contents of a patch, by identifier or by entry (position); `QuiltPatchNotFoundError` when there is none. */
  patch(ref: string | QuiltPatchEntry): Uint8Array;
}

/** A quilt patch ID: 50 characters of unpadded base64url. */
export type QuiltPatchId = string & { readonly __brand: "QuiltPatchId" };

export interface QuiltOptions {
  /** Shard count of the network the quilt is for (default 1000, as mainnet and testnet). */
  nShards?: number;
}

/** The matrix of a quilt: rows (primary source symbols), columns (secondary source symbols), symbol size. */
interface Geometry {
  nRows: number;
  nCols: number;
  symbolSize: number;
  rowSize: number;
  columnSize: number;
}

/** Most patches in one quilt at `nShards`: the secondary source symbols less the index column (666 at 1000 shards). */
export function maxQuiltPatches(nShards: number = DEFAULT_SHARDS): number {
  return sourceSymbols(nShards).secondary - 1;
}

const encoder = new TextEncoder();
const LEADING_ALPHANUMERIC = /^[\p{Alphabetic}\p{N}]/u;
const TRAILING_WHITESPACE = /\p{White_Space}$/u;
const CONTROL = /\p{Cc}/u;
const LONE_SURROGATE = /\p{Cs}/u;

/** Checks an identifier against Walrus's rules (docs `system-overview/quilt.mdx`, walrus-core `validate_quilt_identifier`). */
function checkIdentifier(identifier: unknown): asserts identifier is string {
  if (typeof identifier !== "string" || identifier.length === 0) {
    throw new InvalidQuiltError("identifier-empty", "A quilt patch identifier must be a non-empty string.");
  }
  const shown = identifier.length > 64 ? `${JSON.stringify(identifier.slice(0, 64))}...` : JSON.stringify(identifier);
  if (LONE_SURROGATE.test(identifier)) {
    throw new InvalidQuiltError(
      "identifier-malformed-unicode",
      `Identifier ${shown} holds a lone UTF-16 surrogate, which has no UTF-8 form: fix the string.`,
      identifier,
    );
  }
  if (!LEADING_ALPHANUMERIC.test(identifier)) {
    throw new InvalidQuiltError(
      "identifier-start",
      `Identifier ${shown} must start with a letter or a digit (Walrus reserves "_" for its own fields such as ` +
        `_metadata).`,
      identifier,
    );
  }
  if (TRAILING_WHITESPACE.test(identifier)) {
    throw new InvalidQuiltError(
      "identifier-trailing-whitespace",
      `Identifier ${shown} ends with whitespace, which Walrus refuses: trim it.`,
      identifier,
    );
  }
  if (CONTROL.test(identifier)) {
    throw new InvalidQuiltError(
      "identifier-control-character",
      `Identifier ${shown} holds a control character, which Walrus refuses.`,
      identifier,
    );
  }
}

function checkTags(identifier: string, tags: unknown): Record<string, string> {
  if (tags === undefined) return {};
  if (typeof tags !== "object" || tags === null || Array.isArray(tags)) {
    throw new InvalidQuiltError(
      "tags-invalid",
      `The tags of ${JSON.stringify(identifier)} must be an object of strings.`,
      identifier,
    );
  }
  for (const [key, value] of Object.entries(tags)) {
    if (typeof value !== "string" || LONE_SURROGATE.test(key) || LONE_SURROGATE.test(value)) {
      throw new InvalidQuiltError(
        "tags-invalid",
        `Tag ${JSON.stringify(key)} of ${JSON.stringify(identifier)} must map a well-formed string to a well-formed ` +
          `string.`,
        identifier,
      );
    }
  }
  return tags as Record<string, string>;
}

/** One patch as laid out: its identifier and tags in BCS, and the prefix written before its contents. */
interface PlannedPatch {
  identifier: string;
  /** UTF-8 of the identifier, for sorting as walrus-core does (byte order). */
  key: Uint8Array;
  tags: Record<string, string>;
  identifierBcs: Uint8Array;
  /** The BCS tags of the patch header, when there are tags. */
  tagsBcs: Uint8Array | undefined;
  size: number;
  /** The full serialized size: header, identifier, tags and contents. */
  total: number;
  /** Index in the caller's array. */
  input: number;
}

interface QuiltPlan {
  patches: PlannedPatch[];
  indexSize: number;
  geometry: Geometry;
  indexColumns: number;
}

/** Compares UTF-8 byte strings (walrus-core sorts identifiers as Rust `String`s: by their UTF-8 bytes). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** The ULEB128 length of `n` (BCS vector and string lengths). */
function ulebSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** Validates the patches, sorts them and finds the symbol size: everything but the bytes. */
function plan(
  patches: readonly { identifier: string; size: number; tags?: Record<string, string> }[],
  nShards: number,
): QuiltPlan {
  const { primary: nRows, secondary: nCols } = sourceSymbols(nShards);
  const max = nCols - 1;
  if (patches.length === 0) {
    throw new InvalidQuiltError("no-patches", "A quilt needs at least one patch.");
  }
  if (patches.length > max) {
    throw new InvalidQuiltError(
      "too-many-patches",
      `A quilt holds at most ${max} patches at ${nShards} shards, got ${patches.length}: split them into several quilts.`,
    );
  }
  const planned: PlannedPatch[] = patches.map((patch, input) => {
    checkIdentifier(patch.identifier);
    const identifier = patch.identifier;
    const tags = checkTags(identifier, patch.tags);
    const key = encoder.encode(identifier);
    const identifierBcs = bcs.string().serialize(identifier).toBytes();
    if (identifierBcs.length > MAX_QUILT_IDENTIFIER_BYTES) {
      throw new InvalidQuiltError(
        "identifier-too-long",
        `Identifier ${JSON.stringify(identifier.slice(0, 64))}... takes ${identifierBcs.length} bytes serialized; ` +
          `Walrus takes at most ${MAX_QUILT_IDENTIFIER_BYTES}.`,
        identifier,
      );
    }
    const tagsBcs = Object.keys(tags).length > 0 ? Tags.serialize(new Map(Object.entries(tags))).toBytes() : undefined;
    if (tagsBcs !== undefined && tagsBcs.length > MAX_QUILT_TAGS_BYTES) {
      throw new InvalidQuiltError(
        "tags-too-large",
        `The tags of ${JSON.stringify(identifier)} take ${tagsBcs.length} bytes serialized; Walrus takes at most ` +
          `${MAX_QUILT_TAGS_BYTES} per patch.`,
        identifier,
      );
    }
    if (!Number.isSafeInteger(patch.size) || patch.size < 0) {
      throw new InvalidQuiltError(
        "contents-invalid",
        `The size of ${JSON.stringify(identifier)} must be a non-negative integer, got ${patch.size}.`,
        identifier,
      );
    }
    const prefix =
      PATCH_HEADER_SIZE + SIZE_FIELD + identifierBcs.length + (tagsBcs !== undefined ? SIZE_FIELD + tagsBcs.length : 0);
    return { identifier, key, tags, identifierBcs, tagsBcs, size: patch.size, total: prefix + patch.size, input };
  });
  planned.sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 1; i < planned.length; i++) {
    if (compareBytes(planned[i - 1].key, planned[i].key) === 0) {
      throw new InvalidQuiltError(
        "identifier-duplicate",
        `Identifier ${JSON.stringify(planned[i].identifier)} is given twice: identifiers are unique in a quilt.`,
        planned[i].identifier,
      );
    }
  }
  // The index: version, u32 length, then the BCS vector of (u16 end, identifier, tags; an empty map is one 0 byte).
  let indexSize = INDEX_PREFIX_SIZE + ulebSize(planned.length);
  for (const patch of planned) indexSize += 2 + patch.identifierBcs.length + (patch.tagsBcs?.length ?? 1);

  const symbolSize = computeSymbolSize([indexSize, ...planned.map((p) => p.total)], nCols, nRows, nShards);
  const columnSize = symbolSize * nRows;
  const geometry: Geometry = { nRows, nCols, symbolSize, rowSize: symbolSize * nCols, columnSize };
  return { patches: planned, indexSize, geometry, indexColumns: Math.ceil(indexSize / columnSize) };
}

/** Whether blobs of `sizes` (index first) fit in `nCols` columns of `columnSize` bytes, each in whole columns. */
function fits(sizes: readonly number[], nCols: number, columnSize: number): boolean {
  let columns = 0;
  for (const size of sizes) columns += Math.ceil(size / columnSize);
  return columns <= nCols;
}

/**
 * The smallest even symbol size with which every blob (the index first) fits in whole columns: walrus-core's
 * `compute_symbol_size` (a binary search between a lower bound and an upper one).
 */
function computeSymbolSize(sizes: readonly number[], nCols: number, nRows: number, nShards: number): number {
  let total = 0;
  let largest = 0;
  for (const size of sizes) {
    total += size;
    largest = Math.max(largest, size);
  }
  let low = Math.max(
    Math.ceil(total / (nCols * nRows)),
    Math.ceil(sizes[0] / (nRows * MAX_INDEX_COLUMNS)),
    Math.ceil(INDEX_PREFIX_SIZE / nRows),
  );
  let high = Math.max(low, Math.ceil(largest / (Math.floor(nCols / sizes.length) * nRows)));
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (fits(sizes, nCols, mid * nRows)) high = mid;
    else low = mid + 1;
  }
  const symbolSize = low % 2 === 0 ? low : low + 1;
  if (symbolSize > MAX_SYMBOL_SIZE) {
    throw new InvalidQuiltError(
      "quilt-too-large",
      `These patches need a symbol size of ${symbolSize} bytes at ${nShards} shards, above the largest, ` +
        `${MAX_SYMBOL_SIZE}: put fewer or smaller patches in this quilt.`,
    );
  }
  if (Math.ceil(sizes[0] / (symbolSize * nRows)) > MAX_INDEX_COLUMNS) {
    throw new InvalidQuiltError(
      "quilt-too-large",
      `The quilt's index (${sizes[0]} bytes: identifiers and tags) needs more than ${MAX_INDEX_COLUMNS} columns: ` +
        `use shorter identifiers or fewer tags.`,
    );
  }
  return symbolSize;
}

/**
 * Writes `source` into the quilt as bytes `[offset, offset + source.length)` of the column run starting at
 * `startColumn` (top to bottom within a column, then the next column), one symbol-sized run at a time.
 */
function scatter(quilt: Uint8Array, source: Uint8Array, startColumn: number, offset: number, g: Geometry): void {
  const { symbolSize, nRows, rowSize } = g;
  const symbol = Math.floor(offset / symbolSize);
  let within = offset - symbol * symbolSize;
  let column = startColumn + Math.floor(symbol / nRows);
  let row = symbol % nRows;
  let at = row * rowSize + column * symbolSize;
  let i = 0;
  while (i < source.length) {
    const length = Math.min(symbolSize - within, source.length - i);
    const target = at + within;
    if (length < SHORT_RUN) {
      for (let k = 0; k < length; k++) quilt[target + k] = source[i + k];
    } else {
      quilt.set(source.subarray(i, i + length), target);
    }
    i += length;
    within = 0;
    if (++row === nRows) {
      row = 0;
      column++;
      at = column * symbolSize;
    } else {
      at += rowSize;
    }
  }
}

/** Reads `length` bytes at `offset` of the column run starting at `startColumn` (the inverse of `scatter`). */
function gather(quilt: Uint8Array, startColumn: number, offset: number, length: number, g: Geometry): Uint8Array {
  const out = new Uint8Array(length);
  const { symbolSize, nRows, rowSize } = g;
  const symbol = Math.floor(offset / symbolSize);
  let within = offset - symbol * symbolSize;
  let column = startColumn + Math.floor(symbol / nRows);
  let row = symbol % nRows;
  let at = row * rowSize + column * symbolSize;
  let i = 0;
  while (i < length) {
    const run = Math.min(symbolSize - within, length - i);
    const source = at + within;
    if (run < SHORT_RUN) {
      for (let k = 0; k < run; k++) out[i + k] = quilt[source + k];
    } else {
      out.set(quilt.subarray(source, source + run), i);
    }
    i += run;
    within = 0;
    if (++row === nRows) {
      row = 0;
      column++;
      at = column * symbolSize;
    } else {
      at += rowSize;
    }
  }
  return out;
}

function options(nShards: number | undefined): number {
  return nShards ?? DEFAULT_SHARDS;
}

/**
 * Encodes patches as a QuiltV1 blob, byte for byte as `@mysten/walrus` and walrus-core do; its Blob ID is the quilt
 * ID. Throws `InvalidQuiltError` for patches Walrus refuses (identifier rules, duplicate identifiers, tags over 64 KB,
 * none or more than {@link maxQuiltPatches}, or more than a quilt can hold).
 */
export function encodeQuilt(patches: readonly QuiltPatchInput[], opts: QuiltOptions = {}): EncodedQuilt {
  const nShards = options(opts.nShards);
  for (const patch of patches) {
    if (!(patch?.contents instanceof Uint8Array)) {
      throw new InvalidQuiltError(
        "contents-invalid",
        `The contents of patch ${JSON.stringify(patch?.identifier)} must be a Uint8Array.`,
        typeof patch?.identifier === "string" ? patch.identifier : undefined,
      );
    }
  }
  const {
    patches: planned,
    geometry,
    indexColumns,
    indexSize,
  } = plan(
    patches.map((p) => ({ identifier: p.identifier, size: p.contents.length, tags: p.tags })),
    nShards,
  );
  const quilt = new Uint8Array(geometry.rowSize * geometry.nRows);
  const entries: QuiltPatchEntry[] = [];
  let column = indexColumns;
  for (const patch of planned) {
    const prefix = new Uint8Array(patch.total - patch.size);
    const view = new DataView(prefix.buffer);
    prefix.set(
      PatchHeader.serialize({
        version: QUILT_VERSION_V1,
        length: patch.total - PATCH_HEADER_SIZE,
        mask: patch.tagsBcs ? HAS_TAGS : 0,
      }).toBytes(),
    );
    let offset = PATCH_HEADER_SIZE;
    view.setUint16(offset, patch.identifierBcs.length, true);
    prefix.set(patch.identifierBcs, offset + SIZE_FIELD);
    offset += SIZE_FIELD + patch.identifierBcs.length;
    if (patch.tagsBcs !== undefined) {
      view.setUint16(offset, patch.tagsBcs.length, true);
      prefix.set(patch.tagsBcs, offset + SIZE_FIELD);
    }
    scatter(quilt, prefix, column, 0, geometry);
    scatter(quilt, patches[patch.input].contents, column, prefix.length, geometry);
    const columns = Math.ceil(patch.total / geometry.columnSize);
    entries.push({
      identifier: patch.identifier,
      tags: { ...patch.tags },
      startIndex: column,
      endIndex: column + columns,
    });
    column += columns;
  }
  const index = QuiltIndexV1.serialize({
    patches: entries.map((e) => ({
      endIndex: e.endIndex,
      identifier: e.identifier,
      tags: new Map(Object.entries(e.tags)),
    })),
  }).toBytes();
  if (index.length + INDEX_PREFIX_SIZE !== indexSize) {
    throw new QuiltFormatError("index", `the index took ${index.length} bytes, ${indexSize} were planned (a bug)`);
  }
  const head = new Uint8Array(INDEX_PREFIX_SIZE + index.length);
  head[0] = QUILT_VERSION_V1;
  new DataView(head.buffer).setUint32(1, index.length, true);
  head.set(index, INDEX_PREFIX_SIZE);
  scatter(quilt, head, 0, 0, geometry);
  return { bytes: quilt, patches: entries, symbolSize: geometry.symbolSize, nShards };
}

/**
 * The size in bytes of the quilt {@link encodeQuilt} would build for patches of these identifiers, sizes and tags,
 * without building it (to seal a batch under a byte cap). Throws as `encodeQuilt` does.
 */
export function quiltSize(
  patches: readonly { identifier: string; size: number; tags?: Record<string, string> }[],
  opts: QuiltOptions = {},
): number {
  const { geometry } = plan(patches, options(opts.nShards));
  return geometry.rowSize * geometry.nRows;
}

/** Reads an unsigned little-endian integer of `width` bytes from `bytes` at `offset`. */
function readUint(bytes: Uint8Array, offset: number, width: 2 | 4): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return width === 2 ? view.getUint16(offset, true) : view.getUint32(offset, true);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/** Parses `bytes` as the BCS `type`, strictly: re-serializing must give the same bytes (no trailing or odd bytes). */
function parseStrict<T, I>(
  type: { parse(bytes: Uint8Array): T; serialize(value: I): { toBytes(): Uint8Array } },
  bytes: Uint8Array,
  toInput: (value: T) => I,
  part: string,
): T {
  let value: T;
  try {
    value = type.parse(bytes);
  } catch (error) {
    throw new QuiltFormatError(part, `its BCS does not parse (${(error as Error).message})`);
  }
  let again: Uint8Array;
  try {
    again = type.serialize(toInput(value)).toBytes();
  } catch (error) {
    throw new QuiltFormatError(part, `its BCS does not serialize back (${(error as Error).message})`);
  }
  if (!sameBytes(again, bytes)) {
    throw new QuiltFormatError(
      part,
      `its ${bytes.length} bytes are not the canonical BCS of what they hold (trailing bytes, invalid UTF-8 or ` +
        `unsorted tags)`,
    );
  }
  return value;
}

/** Walrus's identifier rules as its decoder applies them (it accepts a leading "_"). */
function decodedIdentifierProblem(identifier: string): string | undefined {
  if (identifier.length === 0) return "an empty identifier";
  if (TRAILING_WHITESPACE.test(identifier)) return `identifier ${JSON.stringify(identifier)} ends with whitespace`;
  if (CONTROL.test(identifier)) return `identifier ${JSON.stringify(identifier)} holds a control character`;
  return undefined;
}

/**
 * Decodes a QuiltV1 blob, strictly: the length must be a whole matrix for `nShards`, the version byte 1, the index
 * length within 10 columns, the index canonical BCS with unique identifiers in consecutive columns, and every patch
 * header must agree with the index (version, length, identifier, tags). Throws `QuiltFormatError` naming the part.
 */
export function decodeQuilt(bytes: Uint8Array, opts: QuiltOptions = {}): DecodedQuilt {
  const nShards = options(opts.nShards);
  const { primary: nRows, secondary: nCols } = sourceSymbols(nShards);
  const cells = nRows * nCols;
  if (!(bytes instanceof Uint8Array) || bytes.length === 0 || bytes.length % cells !== 0) {
    throw new QuiltFormatError(
      "length",
      `${bytes?.length ?? "no"} bytes are not a whole number of ${nRows}x${nCols} symbol matrices (${nShards} shards)`,
    );
  }
  const symbolSize = bytes.length / cells;
  if (symbolSize % 2 !== 0 || symbolSize > MAX_SYMBOL_SIZE) {
    throw new QuiltFormatError("length", `the symbol size would be ${symbolSize}, which RS2 cannot have`);
  }
  const g: Geometry = { nRows, nCols, symbolSize, rowSize: symbolSize * nCols, columnSize: symbolSize * nRows };
  const streamBytes = (column: number): number => (nCols - column) * g.columnSize;

  if (bytes[0] !== QUILT_VERSION_V1) {
    throw new QuiltFormatError("version", `the version byte is ${bytes[0]}, QuiltV1 has ${QUILT_VERSION_V1}`);
  }
  const indexLength = readUint(gather(bytes, 0, 1, 4, g), 0, 4);
  const indexTotal = INDEX_PREFIX_SIZE + indexLength;
  if (indexTotal > MAX_INDEX_COLUMNS * g.columnSize || indexTotal > streamBytes(0)) {
    throw new QuiltFormatError(
      "index-length",
      `the index claims ${indexLength} bytes, more than its ${MAX_INDEX_COLUMNS} columns of ${g.columnSize} hold`,
    );
  }
  const index = parseStrict(
    QuiltIndexV1,
    gather(bytes, 0, INDEX_PREFIX_SIZE, indexLength, g),
    (value) => value,
    "index",
  );
  const indexColumns = Math.ceil(indexTotal / g.columnSize);
  if (index.patches.length === 0) throw new QuiltFormatError("index", "the index lists no patches");
  const patches: QuiltPatchEntry[] = [];
  const contentAt = new Map<number, { offset: number; length: number }>();
  const byIdentifier = new Map<string, QuiltPatchEntry>();
  let start = indexColumns;
  for (const [i, patch] of index.patches.entries()) {
    const identifier = patch.identifier;
    const problem = decodedIdentifierProblem(identifier);
    if (problem !== undefined) throw new QuiltFormatError("index", `patch ${i} has ${problem}`);
    if (byIdentifier.has(identifier)) {
      throw new QuiltFormatError("index", `identifier ${JSON.stringify(identifier)} is listed twice`);
    }
    if (patch.endIndex <= start || patch.endIndex > nCols) {
      throw new QuiltFormatError(
        "index",
        `patch ${JSON.stringify(identifier)} ends at column ${patch.endIndex}, but starts at ${start} of ${nCols}`,
      );
    }
    const tags = Object.fromEntries(patch.tags) as Record<string, string>;
    const entry: QuiltPatchEntry = { identifier, tags, startIndex: start, endIndex: patch.endIndex };
    contentAt.set(start, checkPatchHeader(bytes, entry, g));
    patches.push(entry);
    byIdentifier.set(identifier, entry);
    start = patch.endIndex;
  }
  return {
    patches,
    patch(ref: string | QuiltPatchEntry): Uint8Array {
      const entry =
        typeof ref === "string"
          ? byIdentifier.get(ref)
          : patches.find((p) => p.startIndex === ref.startIndex && p.endIndex === ref.endIndex);
      const at = entry === undefined ? undefined : contentAt.get(entry.startIndex);
      if (entry === undefined || at === undefined) {
        throw new QuiltPatchNotFoundError(
          typeof ref === "string" ? ref : `columns ${ref.startIndex}..${ref.endIndex}`,
          { available: patches.length },
        );
      }
      return gather(bytes, entry.startIndex, at.offset, at.length, g);
    },
  };
}

/** Checks a patch's header against its index entry; returns where its contents lie in its column run. */
function checkPatchHeader(bytes: Uint8Array, entry: QuiltPatchEntry, g: Geometry): { offset: number; length: number } {
  const name = JSON.stringify(entry.identifier);
  const capacity = (entry.endIndex - entry.startIndex) * g.columnSize;
  const read = (offset: number, length: number, what: string): Uint8Array => {
    if (offset + length > capacity) {
      throw new QuiltFormatError("patch-header", `the ${what} of patch ${name} runs past its columns`);
    }
    return gather(bytes, entry.startIndex, offset, length, g);
  };
  const header = PatchHeader.parse(read(0, PATCH_HEADER_SIZE, "header"));
  if (header.version !== QUILT_VERSION_V1) {
    throw new QuiltFormatError("patch-header", `patch ${name} has version ${header.version}, not ${QUILT_VERSION_V1}`);
  }
  if ((header.mask & ~HAS_TAGS) !== 0) {
    throw new QuiltFormatError("patch-header", `patch ${name} sets unknown feature bits (mask ${header.mask})`);
  }
  const total = PATCH_HEADER_SIZE + header.length;
  if (Math.ceil(total / g.columnSize) !== entry.endIndex - entry.startIndex) {
    throw new QuiltFormatError(
      "patch-header",
      `patch ${name} claims ${header.length} bytes, which do not fill exactly its ${entry.endIndex - entry.startIndex} ` +
        `columns of ${g.columnSize} bytes`,
    );
  }
  let offset = PATCH_HEADER_SIZE;
  const identifierSize = readUint(read(offset, SIZE_FIELD, "identifier size"), 0, 2);
  offset += SIZE_FIELD;
  const identifier = parseStrict(bcs.string(), read(offset, identifierSize, "identifier"), (v) => v, "patch-header");
  offset += identifierSize;
  if (identifier !== entry.identifier) {
    throw new QuiltFormatError(
      "patch-header",
      `the patch at column ${entry.startIndex} is ${JSON.stringify(identifier)}, the index says ${name}`,
    );
  }
  let tags: Record<string, string> = {};
  if ((header.mask & HAS_TAGS) !== 0) {
    const tagsSize = readUint(read(offset, SIZE_FIELD, "tags size"), 0, 2);
    offset += SIZE_FIELD;
    tags = Object.fromEntries(parseStrict(Tags, read(offset, tagsSize, "tags"), (v) => v, "patch-header"));
    offset += tagsSize;
    if (Object.keys(tags).length === 0) {
      throw new QuiltFormatError("patch-header", `patch ${name} flags tags but holds none`);
    }
  }
  const sameTags =
    Object.keys(tags).length === Object.keys(entry.tags).length &&
    Object.entries(tags).every(([k, v]) => entry.tags[k] === v);
  if (!sameTags) throw new QuiltFormatError("patch-header", `the tags of patch ${name} differ from the index's`);
  if (offset > total) {
    throw new QuiltFormatError("patch-header", `patch ${name} claims ${header.length} bytes, less than its metadata`);
  }
  return { offset, length: total - offset };
}

const PATCH_ID_TEXT = /^[A-Za-z0-9_-]{50}$/;

/** The quilt patch ID of the patch in columns `[startIndex, endIndex)` of quilt `quiltId`. */
export function quiltPatchId(quiltId: BlobId, entry: { startIndex: number; endIndex: number }): QuiltPatchId {
  const { startIndex, endIndex } = entry;
  if (!Number.isInteger(startIndex) || !Number.isInteger(endIndex) || startIndex < 0 || endIndex <= startIndex) {
    throw new RangeError(
      `a patch occupies columns [start, end) with 0 <= start < end, got [${startIndex}, ${endIndex})`,
    );
  }
  if (endIndex > 0xffff) throw new RangeError(`column ${endIndex} does not fit in a u16`);
  const bytes = QuiltPatchIdBcs.serialize({
    quiltId: blobIdToBytes(quiltId),
    patchId: { version: QUILT_VERSION_V1, startIndex, endIndex },
  }).toBytes();
  return Buffer.from(bytes).toString("base64url") as QuiltPatchId;
}

/** Parses a quilt patch ID; `InvalidQuiltPatchIdError` when it is not one (of version 1, with start < end). */
export function parseQuiltPatchId(id: string): {
  quiltId: BlobId;
  version: number;
  startIndex: number;
  endIndex: number;
} {
  if (typeof id !== "string" || !PATCH_ID_TEXT.test(id)) {
    throw new InvalidQuiltPatchIdError(
      String(id),
      typeof id === "string" ? `it has ${id.length} characters or characters outside base64url` : "it is not a string",
    );
  }
  const bytes = Buffer.from(id, "base64url");
  if (bytes.length !== QUILT_PATCH_ID_BYTES || bytes.toString("base64url") !== id) {
    throw new InvalidQuiltPatchIdError(id, "it is not the canonical base64url of 37 bytes");
  }
  const parsed = QuiltPatchIdBcs.parse(new Uint8Array(bytes));
  const { version, startIndex, endIndex } = parsed.patchId;
  if (version !== QUILT_VERSION_V1) {
    throw new InvalidQuiltPatchIdError(id, `its version byte is ${version}; only QuiltV1 (1) exists`);
  }
  if (endIndex <= startIndex) {
    throw new InvalidQuiltPatchIdError(id, `its columns [${startIndex}, ${endIndex}) are empty`);
  }
  return { quiltId: blobIdFromBytes(parsed.quiltId), version, startIndex, endIndex };
}

/** Whether `id` is a well-formed quilt patch ID. */
export function isQuiltPatchId(id: unknown): id is QuiltPatchId {
  try {
    parseQuiltPatchId(id as string);
    return true;
  } catch {
    return false;
  }
}
