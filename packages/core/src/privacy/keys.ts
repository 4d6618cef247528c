/**
 * Privacy keys: the requester's long-term secp256k1 key pair, and the per-envelope content key that a disclosure
 * hands out. Text forms are self-describing (`strata-pk1:`, `strata-sk1:`, `strata-dk1:` and lower-case hex), so a
 * key pasted in the wrong place is named, never silently misread.
 */
import { secp256k1 } from "@noble/curves/secp256k1";
import { PrivacyKeyError } from "./errors";

/** The prefix of a privacy public key's text: then the 33-byte compressed secp256k1 point in hex. */
export const PRIVACY_PUBLIC_KEY_PREFIX = "strata-pk1:";
/** The prefix of a privacy private key's text: then the 32-byte scalar in hex. Keep it secret. */
export const PRIVACY_PRIVATE_KEY_PREFIX = "strata-sk1:";
/** The prefix of a disclosure key's text: then one envelope's 32-byte content key in hex. */
export const DISCLOSURE_KEY_PREFIX = "strata-dk1:";

/** A requester's long-term key pair: envelopes are sealed to `publicKey` and opened with `privateKey`. */
export interface PrivacyKeyPair {
  /** 32 bytes, a secp256k1 scalar in 1 .. n-1. */
  privateKey: Uint8Array;
  /** 33 bytes, the compressed SEC1 point (`02`/`03` then x). */
  publicKey: Uint8Array;
}

/** A public key as bytes (33, compressed) or as `strata-pk1:` text. */
export type PublicKeyInput = Uint8Array | string;
/** A private key as bytes (32) or as `strata-sk1:` text. */
export type PrivateKeyInput = Uint8Array | string;
/** A content key as bytes (32) or as `strata-dk1:` text. */
export type ContentKeyInput = Uint8Array | string;

const KINDS = [
  { kind: "public", prefix: PRIVACY_PUBLIC_KEY_PREFIX, name: "a privacy public key" },
  { kind: "private", prefix: PRIVACY_PRIVATE_KEY_PREFIX, name: "a privacy private key (never share it)" },
  { kind: "disclosure", prefix: DISCLOSURE_KEY_PREFIX, name: "a disclosure key" },
] as const;

type Kind = (typeof KINDS)[number]["kind"];

/** A fresh key pair from the platform's CSPRNG. */
export function generatePrivacyKey(): PrivacyKeyPair {
  const privateKey = secp256k1.utils.randomPrivateKey();
  return { privateKey, publicKey: secp256k1.getPublicKey(privateKey, true) };
}

/** The compressed public key of `privateKey`. */
export function privacyPublicKeyOf(privateKey: PrivateKeyInput): Uint8Array {
  return secp256k1.getPublicKey(parsePrivacyPrivateKey(privateKey), true);
}

/** `strata-pk1:` and the 66 hex digits of the compressed point. */
export function formatPrivacyPublicKey(publicKey: Uint8Array): string {
  return PRIVACY_PUBLIC_KEY_PREFIX + toHex(parsePrivacyPublicKey(publicKey));
}

/** `strata-sk1:` and the 64 hex digits of the scalar. */
export function formatPrivacyPrivateKey(privateKey: Uint8Array): string {
  return PRIVACY_PRIVATE_KEY_PREFIX + toHex(parsePrivacyPrivateKey(privateKey));
}

/** `strata-dk1:` and the 64 hex digits of one envelope's content key: what `strata proof disclose` prints. */
export function formatDisclosureKey(contentKey: Uint8Array): string {
  return DISCLOSURE_KEY_PREFIX + toHex(parseDisclosureKey(contentKey));
}

/** The 33 bytes of a public key (text or bytes), checked to be a compressed point on secp256k1. */
export function parsePrivacyPublicKey(input: PublicKeyInput): Uint8Array {
  const bytes = bytesOf(input, "public", 33);
  if (bytes[0] !== 2 && bytes[0] !== 3) {
    throw new PrivacyKeyError(
      "public",
      `the prefix 0x${toHex(bytes.subarray(0, 1))} is not that of a compressed secp256k1 point (02 or 03)`,
    );
  }
  try {
    secp256k1.ProjectivePoint.fromHex(bytes).assertValidity();
  } catch {
    throw new PrivacyKeyError("public", "its x-coordinate is not a point on secp256k1");
  }
  return bytes;
}

/** The 32 bytes of a private key (text or bytes), checked to be a scalar in 1 .. n-1. */
export function parsePrivacyPrivateKey(input: PrivateKeyInput): Uint8Array {
  const bytes = bytesOf(input, "private", 32);
  if (!secp256k1.utils.isValidPrivateKey(bytes)) {
    throw new PrivacyKeyError("private", "a secp256k1 private key is a number in 1 .. n-1");
  }
  return bytes;
}

/** The 32 bytes of a content key (`strata-dk1:` text or bytes). */
export function parseDisclosureKey(input: ContentKeyInput): Uint8Array {
  return bytesOf(input, "disclosure", 32);
}

// ---------------------------------------------------------------------------------------------------------------------

function bytesOf(input: Uint8Array | string, kind: Kind, length: number): Uint8Array {
  let bytes: Uint8Array;
  if (typeof input === "string") {
    bytes = fromText(input.trim(), kind);
  } else if (input instanceof Uint8Array) {
    bytes = input.slice();
  } else {
    throw new PrivacyKeyError(kind, `expected bytes or text, got ${typeof input}`);
  }
  if (bytes.length !== length) {
    throw new PrivacyKeyError(kind, `must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

function fromText(text: string, kind: Kind): Uint8Array {
  const own = KINDS.find((k) => k.kind === kind)!;
  if (!text.startsWith(own.prefix)) {
    const other = KINDS.find((k) => text.startsWith(k.prefix));
    if (other) throw new PrivacyKeyError(kind, `this text is ${other.name}, not ${own.name}`);
    const version = /^strata-(pk|sk|dk)(\d+):/.exec(text);
    if (version && version[1] === own.prefix.slice(7, 9)) {
      throw new PrivacyKeyError(kind, `version ${version[2]}: this @strata/core reads version 1 (${own.prefix})`);
    }
    throw new PrivacyKeyError(kind, `must start with "${own.prefix}"`);
  }
  const hex = text.slice(own.prefix.length);
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new PrivacyKeyError(kind, `after "${own.prefix}" come hex digits, two per byte`);
  }
  return new Uint8Array(Buffer.from(hex, "hex"));
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
