import { InvalidBlobIdError } from "./errors";

/**
 * A Walrus Blob ID in its canonical text form: 32 bytes as unpadded base64url, exactly 43 characters. Values of this
 * type come only from the parsers and conversions below, so holding one means it has been checked.
 */
export type BlobIdString = string & { readonly __brand: "WalrusBlobId" };

/** A Blob ID as the chain stores it (Solidity `type BlobId is bytes32`): `0x` and 64 lowercase hex digits. */
export type Bytes32Hex = `0x${string}`;

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
export function parseBlobId(input: string): BlobIdString {
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
  return input as BlobIdString;
}

/** True when `input` is a canonical Blob ID string. */
export function isBlobId(input: unknown): input is BlobIdString {
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
export function blobIdFromBytes(bytes: Uint8Array | readonly number[]): BlobIdString {
  if (bytes.length !== BLOB_ID_BYTES) {
    throw new InvalidBlobIdError(`<${bytes.length} bytes>`, "bytes", `expected ${BLOB_ID_BYTES} bytes`);
  }
  return Buffer.from(bytes).toString("base64url") as BlobIdString;
}

/** The Blob ID as the chain's `bytes32`: the same 32 bytes, in order, as `0x` + 64 lowercase hex digits. */
export function blobIdToBytes32Hex(blobId: string): Bytes32Hex {
  return `0x${Buffer.from(blobIdToBytes(blobId)).toString("hex")}`;
}

/** The Blob ID of a `bytes32` hex string (`0x` + 64 hex digits, either case). */
export function blobIdFromBytes32Hex(hex: string): BlobIdString {
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
export function blobIdFromU256(value: string | bigint): BlobIdString {
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
