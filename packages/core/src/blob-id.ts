import { InvalidArgumentError, StrataError } from "./errors";
import type { Brand, BlobIdHex } from "./ids";

/**
 * # Walrus Blob IDs, once
 *
 * The one codec of Blob IDs. A Blob ID is 32 bytes; it has three forms, and every conversion between them is here:
 * - base64url text, unpadded, 43 characters: what Walrus, the CLI, the node's HTTP API and every Strata API speak
 *   ({@link BlobId});
 * - bytes32 hex, the same 32 bytes in order: what the registries store (Solidity `type BlobId is bytes32`;
 *   {@link BlobIdHex}). Only the registry clients and the proof format (whose `model.blobId` is bytes32) use it;
 * - a Sui `u256`, the 32 bytes read little-endian: what Walrus's Move code holds.
 */

/**
 * A Walrus Blob ID in its canonical text form: 32 bytes as unpadded base64url, exactly 43 characters. Values of this
 * type come only from the parsers and conversions below, so holding one means it has been checked.
 */
export type BlobId = Brand<string, "BlobId">;

/** A Blob ID that is not one, in the form it was given in; `reason` says what is wrong with it. */
export class InvalidBlobIdError extends StrataError {
  /** The rejected input, exactly as given. */
  readonly input: string;
  /** Which form the input was parsed as. */
  readonly form: "base64url" | "bytes32 hex" | "u256" | "bytes";
  /** What was wrong with it. */
  readonly reason: string;

  constructor(input: string, form: InvalidBlobIdError["form"], reason: string) {
    super("INVALID_BLOB_ID", `Invalid Blob ID ${quote(input)} (${form}): ${reason}`);
    this.input = input;
    this.form = form;
    this.reason = reason;
  }
}

export const BLOB_ID_BYTES = 32;
export const BLOB_ID_LENGTH = 43;

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const U256_MAX = (1n << 256n) - 1n;

/**
 * Checks a Blob ID string strictly: 43 characters of the base64url alphabet, no padding, and canonical (the last
 * character carries 4 data bits, so its 2 low bits must be zero: otherwise two strings would name the same bytes).
 * @throws InvalidBlobIdError naming the input and what is wrong with it.
 */
export function parseBlobId(input: string): BlobId {
  if (typeof input !== "string") {
    throw new InvalidBlobIdError(String(input), "base64url", `expected a string, got ${typeof input}`);
  }
  if (input.includes("=")) {
    throw new InvalidBlobIdError(input, "base64url", "Blob IDs are unpadded base64url: remove the '=' padding");
  }
  if (!BASE64URL.test(input)) {
    const bad = [...input].find((c) => !BASE64URL_ALPHABET.includes(c));
    throw new InvalidBlobIdError(
      input,
      "base64url",
      `character ${JSON.stringify(bad)} is not in the base64url alphabet (A-Z a-z 0-9 - _)`,
    );
  }
  if (input.length !== BLOB_ID_LENGTH) {
    throw new InvalidBlobIdError(input, "base64url", `expected ${BLOB_ID_LENGTH} characters, got ${input.length}`);
  }
  const last = BASE64URL_ALPHABET.indexOf(input[BLOB_ID_LENGTH - 1]);
  if ((last & 0b11) !== 0) {
    throw new InvalidBlobIdError(input, "base64url", "non-canonical encoding: the last character has stray low bits");
  }
  return input as BlobId;
}

/** True when `input` is a canonical Blob ID string. */
export function isBlobId(input: unknown): input is BlobId {
  if (typeof input !== "string") return false;
  try {
    parseBlobId(input);
    return true;
  } catch {
    return false;
  }
}

/** The 32 raw bytes of a Blob ID. */
export function blobIdToBytes(blobId: string): Uint8Array {
  return Uint8Array.from(Buffer.from(parseBlobId(blobId), "base64url"));
}

/** The Blob ID of 32 raw bytes (as the wasm encoder returns them). */
export function blobIdFromBytes(bytes: Uint8Array | readonly number[]): BlobId {
  if (bytes.length !== BLOB_ID_BYTES) {
    throw new InvalidBlobIdError(`<${bytes.length} bytes>`, "bytes", `expected ${BLOB_ID_BYTES} bytes`);
  }
  return Buffer.from(bytes).toString("base64url") as BlobId;
}

/**
 * The Blob ID as the chain's `bytes32`: the same 32 bytes, in order, as `0x` + 64 lowercase hex digits. For the
 * registry clients and the proof format; everything else holds the {@link BlobId}.
 */
export function blobIdToBytes32(blobId: string): BlobIdHex {
  return `0x${Buffer.from(blobIdToBytes(blobId)).toString("hex")}` as BlobIdHex;
}

/** The Blob ID of a `bytes32` hex string (`0x` + 64 hex digits, either case): what a registry returns. */
export function blobIdFromBytes32(hex: string): BlobId {
  if (typeof hex !== "string" || !HEX32.test(hex)) {
    const why =
      typeof hex !== "string"
        ? `expected a string, got ${typeof hex}`
        : !hex.startsWith("0x")
          ? "expected a 0x prefix"
          : hex.length !== 66
            ? `expected 64 hex digits after 0x, got ${hex.length - 2}`
            : "contains a character that is not a hex digit";
    throw new InvalidBlobIdError(String(hex), "bytes32 hex", why);
  }
  return blobIdFromBytes(Buffer.from(hex.slice(2), "hex"));
}

/**
 * A registry client's Blob ID argument as the chain's `bytes32`: {@link blobIdToBytes32}, with a malformed value
 * reported as an {@link InvalidArgumentError} naming `argument` (its cause the codec's {@link InvalidBlobIdError}).
 */
export function blobIdArgument(value: unknown, argument = "blobId"): BlobIdHex {
  try {
    return blobIdToBytes32(value as string);
  } catch (error) {
    if (!(error instanceof InvalidBlobIdError)) throw error;
    const invalid = new InvalidArgumentError(
      argument,
      value,
      `expected a Walrus Blob ID (43 unpadded base64url characters): ${error.reason}`,
    );
    invalid.cause = error;
    throw invalid;
  }
}

/**
 * The Blob ID as Sui's `u256`, in decimal: Walrus's Move code reads the 32 bytes as a little-endian integer
 * (`@mysten/walrus`'s `blobIdToInt`).
 */
export function blobIdToU256(blobId: string): string {
  const bytes = blobIdToBytes(blobId);
  let value = 0n;
  for (let i = BLOB_ID_BYTES - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value.toString(10);
}

/** The Blob ID of a Sui `u256` (a canonical decimal string without sign or leading zeros, or a bigint). */
export function blobIdFromU256(value: string | bigint): BlobId {
  let n: bigint;
  if (typeof value === "bigint") {
    n = value;
  } else if (typeof value === "string" && DECIMAL.test(value)) {
    n = BigInt(value);
  } else {
    throw new InvalidBlobIdError(
      String(value),
      "u256",
      "expected a decimal integer without sign, spaces or leading zeros",
    );
  }
  if (n < 0n || n > U256_MAX) throw new InvalidBlobIdError(String(value), "u256", "out of the u256 range");
  const bytes = new Uint8Array(BLOB_ID_BYTES);
  for (let i = 0; i < BLOB_ID_BYTES; i++) {
    bytes[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return blobIdFromBytes(bytes);
}

/** `input` for a message: quoted, and shortened when long. */
function quote(input: string): string {
  return JSON.stringify(input.length > 80 ? `${input.slice(0, 77)}...` : input);
}
