/**
 * RedStuff (RS2) sizes, as Walrus computes them (walrus-core `encoding/config.rs`, `@mysten/walrus` utils): how many
 * source symbols a blob is cut into, the encoded length a store is charged for, and the largest blob that can be
 * encoded at all.
 */
import { BlobTooLargeError } from "./errors";

/** Walrus mainnet and testnet both run with 1000 shards. */
export const DEFAULT_SHARDS = 1000;

/** The smallest committee the encoder accepts (fewer panics inside the wasm). */
export const MIN_SHARDS = 4;
/** Shard indices are u16. */
export const MAX_SHARDS = 65_535;

/** Symbols are u16-sized and RS2 needs them even. */
const MAX_SYMBOL_SIZE = 65_534;

const DIGEST_LEN = 32;
const BLOB_ID_LEN = 32;

/**
 * The largest blob handed to the wasm encoder: 1 GiB. `@mysten/walrus-wasm` is a wasm32 module, so all its memory
 * lives in at most 4 GiB, and computing the metadata of a blob takes about 2.7 times the blob's size there (the copy
 * of the input plus the RedStuff expansion), which puts the hard ceiling near 1.45 GiB; Walrus notes that 2 GiB fails.
 * Measured here at 1000 shards: 1 GiB took 74 s and 2.8 GB of RSS, 1.4 GiB took 102 s and 3.8 GB. 1 GiB keeps a
 * margin below the ceiling, and anything larger is refused before the wasm is called.
 */
export const MAX_WASM_BLOB_SIZE = 1024 * 1024 * 1024;

/** Source symbols per sliver pair: primary and secondary counts for `nShards` (RS2: no safety margin). */
export function sourceSymbols(nShards: number): { primary: number; secondary: number } {
  assertShards(nShards);
  const maxFaulty = Math.floor((nShards - 1) / 3);
  const minCorrect = nShards - maxFaulty;
  return { primary: minCorrect - maxFaulty, secondary: minCorrect };
}

/** The RS2 symbol size of a blob of `size` bytes: ceil(max(size, 1) / (primary * secondary)), rounded up to even. */
export function symbolSize(size: number, nShards: number = DEFAULT_SHARDS): number {
  const { primary, secondary } = sourceSymbols(nShards);
  const symbol = Math.ceil(Math.max(size, 1) / (primary * secondary));
  return symbol % 2 === 1 ? symbol + 1 : symbol;
}

/**
 * The encoded length of a blob (Walrus `storageSize` / `encodedLength`): the metadata (two hashes per sliver pair and
 * shard, plus a Blob ID per shard) and every shard's primary and secondary slivers. For 1000 shards:
 * `n*(n*64+32) + (334+667)*symbolSize*n`.
 */
export function encodedBlobLength(size: number, nShards: number = DEFAULT_SHARDS): number {
  const { primary, secondary } = sourceSymbols(nShards);
  const metadata = nShards * (nShards * DIGEST_LEN * 2 + BLOB_ID_LEN);
  return metadata + (primary + secondary) * symbolSize(size, nShards) * nShards;
}

/** The largest blob that can be encoded for `nShards`: the smaller of the RS2 symbol limit and the wasm's memory. */
export function maxBlobSize(nShards: number = DEFAULT_SHARDS): number {
  const { primary, secondary } = sourceSymbols(nShards);
  return Math.min(primary * secondary * MAX_SYMBOL_SIZE, MAX_WASM_BLOB_SIZE);
}

/** Fails up front, with a clear error, for a blob the wasm encoder cannot take. */
export function assertEncodable(size: number, nShards: number = DEFAULT_SHARDS): void {
  const limit = maxBlobSize(nShards);
  if (size > limit) {
    const why =
      limit === MAX_WASM_BLOB_SIZE
        ? `the Blob ID encoder (32-bit wasm) takes at most ${limit} bytes`
        : `with ${nShards} shards RedStuff encodes at most ${limit} bytes`;
    throw new BlobTooLargeError(size, limit, { why, advice: "Split the content into several blobs." });
  }
}

/** Checks a shard count: an integer the encoder accepts. */
export function assertShards(nShards: number): void {
  if (!Number.isInteger(nShards) || nShards < MIN_SHARDS || nShards > MAX_SHARDS) {
    throw new RangeError(
      `Invalid shard count ${nShards}: expected an integer from ${MIN_SHARDS} to ${MAX_SHARDS} ` +
        `(Walrus mainnet and testnet use ${DEFAULT_SHARDS})`,
    );
  }
}
