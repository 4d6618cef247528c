/**
 * Privacy keys: the requester's long-term key pair (suite 2, the default: X25519 through node:crypto; suite 1:
 * secp256k1), and the per-envelope content key that a disclosure hands out. Text forms are self-describing (`strata-pk1:`, `strata-sk1:`, `strata-dk1:` and lower-case hex), so a
 * key pasted in the wrong place is named, never silently misread.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1";
import { PrivacyKeyError } from "./errors";

/**
 * The envelope suites, by their key agreement: 1 secp256k1 (`@noble/curves`), 2 X25519 (OpenSSL through node:crypto,
 * the default for new keys and so for new envelopes). A key's suite is that of the envelopes sealed to it.
 */
export type PrivacySuite = 1 | 2;
/** The suite {@link generatePrivacyKey} makes keys for. */
export const DEFAULT_PRIVACY_SUITE: PrivacySuite = 2;

/** The prefix of a suite 2 (X25519) public key's text: then its 32 bytes in hex. */
export const PRIVACY_PUBLIC_KEY_PREFIX_X25519 = "strata-pk2:";
/** The prefix of a suite 2 (X25519) private key's text: then its 32 bytes in hex. Keep it secret. */
export const PRIVACY_PRIVATE_KEY_PREFIX_X25519 = "strata-sk2:";

/** The prefix of a privacy public key's text: then the 33-byte compressed secp256k1 point in hex. */
export const PRIVACY_PUBLIC_KEY_PREFIX = "strata-pk1:";
/** The prefix of a privacy private key's text: then the 32-byte scalar in hex. Keep it secret. */
export const PRIVACY_PRIVATE_KEY_PREFIX = "strata-sk1:";
/** The prefix of a disclosure key's text: then one envelope's 32-byte content key in hex. */
export const DISCLOSURE_KEY_PREFIX = "strata-dk1:";

/** A requester's long-term key pair: envelopes are sealed to `publicKey` and opened with `privateKey`. */
export interface PrivacyKeyPair {
  /** The suite of the envelopes sealed to this key. */
  suite: PrivacySuite;
  /** 32 bytes: a secp256k1 scalar in 1 .. n-1 (suite 1), or an X25519 private key (suite 2). */
  privateKey: Uint8Array;
  /** 33 bytes, the compressed SEC1 point (`02`/`03` then x) (suite 1), or 32 bytes, an X25519 public key (suite 2). */
  publicKey: Uint8Array;
}

/** A public key as bytes (33, compressed) or as `strata-pk1:` text. */
export type PublicKeyInput = Uint8Array | string;
/** A private key as bytes (32) or as `strata-sk1:` text. */
export type PrivateKeyInput = Uint8Array | string;
/** A content key as bytes (32) or as `strata-dk1:` text. */
export type ContentKeyInput = Uint8Array | string;

const KINDS = [
  { kind: "public", suite: 1, prefix: PRIVACY_PUBLIC_KEY_PREFIX, name: "a privacy public key" },
  { kind: "public", suite: 2, prefix: PRIVACY_PUBLIC_KEY_PREFIX_X25519, name: "a privacy public key" },
  { kind: "private", suite: 1, prefix: PRIVACY_PRIVATE_KEY_PREFIX, name: "a privacy private key (never share it)" },
  {
    kind: "private",
    suite: 2,
    prefix: PRIVACY_PRIVATE_KEY_PREFIX_X25519,
    name: "a privacy private key (never share it)",
  },
  { kind: "disclosure", suite: 1, prefix: DISCLOSURE_KEY_PREFIX, name: "a disclosure key" },
] as const;

type Kind = (typeof KINDS)[number]["kind"];

/** A fresh key pair from the platform's CSPRNG, of `options.suite` (default {@link DEFAULT_PRIVACY_SUITE}, X25519). */
export function generatePrivacyKey(options: { suite?: PrivacySuite } = {}): PrivacyKeyPair {
  const suite = options.suite ?? DEFAULT_PRIVACY_SUITE;
  if (suite === 2) {
    const pair = generateKeyPairSync("x25519");
    return { suite, privateKey: x25519PrivateBytes(pair.privateKey), publicKey: x25519PublicBytes(pair.publicKey) };
  }
  if (suite !== 1) throw new PrivacyKeyError("private", `suite ${String(suite)} is not 1 (secp256k1) or 2 (X25519)`);
  const privateKey = secp256k1.utils.randomPrivateKey();
  return { suite, privateKey, publicKey: secp256k1.getPublicKey(privateKey, true) };
}

/**
 * The public key of `privateKey`: text says its suite; bytes are of `suite` (default 1, secp256k1: the compressed
 * point; 2: the X25519 public key).
 */
export function privacyPublicKeyOf(privateKey: PrivateKeyInput, suite?: PrivacySuite): Uint8Array {
  const key = parsePrivacyPrivateKeyWithSuite(privateKey, suite);
  return key.suite === 2 ? x25519PublicOf(key.bytes) : secp256k1.getPublicKey(key.bytes, true);
}

/** `strata-pk1:` and the 66 hex digits of a compressed secp256k1 point, or `strata-pk2:` and an X25519 key's 64. */
export function formatPrivacyPublicKey(publicKey: Uint8Array): string {
  const bytes = parsePrivacyPublicKey(publicKey);
  return (bytes.length === 32 ? PRIVACY_PUBLIC_KEY_PREFIX_X25519 : PRIVACY_PUBLIC_KEY_PREFIX) + toHex(bytes);
}

/**
 * `strata-sk1:` (suite 1, the default for bare bytes) or `strata-sk2:` (suite 2) and the key's 64 hex digits. Give
 * a key pair, or the suite with bare bytes: 32 bytes alone do not say which curve they belong to.
 */
export function formatPrivacyPrivateKey(privateKey: Uint8Array | PrivacyKeyPair, suite?: PrivacySuite): string {
  const bytes = privateKey instanceof Uint8Array ? privateKey : privateKey.privateKey;
  const which = privateKey instanceof Uint8Array ? (suite ?? 1) : privateKey.suite;
  const key = parsePrivacyPrivateKeyWithSuite(bytes, which);
  return (key.suite === 2 ? PRIVACY_PRIVATE_KEY_PREFIX_X25519 : PRIVACY_PRIVATE_KEY_PREFIX) + toHex(key.bytes);
}

/** `strata-dk1:` and the 64 hex digits of one envelope's content key: what `strata proof disclose` prints. */
export function formatDisclosureKey(contentKey: Uint8Array): string {
  return DISCLOSURE_KEY_PREFIX + toHex(parseDisclosureKey(contentKey));
}

/**
 * The bytes of a public key (text or bytes): 33 bytes, checked to be a compressed point on secp256k1 (suite 1,
 * `strata-pk1:`), or 32 bytes, an X25519 public key (suite 2, `strata-pk2:`).
 */
export function parsePrivacyPublicKey(input: PublicKeyInput): Uint8Array {
  const { suite, bytes } = bytesOf(input, "public", (s) => (s === 2 ? 32 : 33));
  if (suite === 2) return bytes;
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

/** The suite of a parsed public key (by its length: 33 secp256k1, 32 X25519). */
export function privacyKeySuite(publicKey: Uint8Array): PrivacySuite {
  return publicKey.length === 32 ? 2 : 1;
}

/**
 * The 32 bytes of a private key (text or bytes): a secp256k1 scalar in 1 .. n-1 (suite 1, `strata-sk1:`; bare bytes
 * unless `suite` says 2) or an X25519 private key (suite 2, `strata-sk2:`).
 */
export function parsePrivacyPrivateKey(input: PrivateKeyInput, suite?: PrivacySuite): Uint8Array {
  return parsePrivacyPrivateKeyWithSuite(input, suite).bytes;
}

/**
 * {@link parsePrivacyPrivateKey} with the suite it read: the text's (its prefix), else `suite` (default 1). A text
 * key of another suite than `expected` (when given) is refused, named as such.
 */
export function parsePrivacyPrivateKeyWithSuite(
  input: PrivateKeyInput,
  suite?: PrivacySuite,
): { suite: PrivacySuite; bytes: Uint8Array } {
  const key = bytesOf(input, "private", () => 32, suite);
  if (key.suite === 1 && !secp256k1.utils.isValidPrivateKey(key.bytes)) {
    throw new PrivacyKeyError("private", "a secp256k1 private key is a number in 1 .. n-1");
  }
  return key;
}

/** The 32 bytes of a content key (`strata-dk1:` text or bytes). */
export function parseDisclosureKey(input: ContentKeyInput): Uint8Array {
  return bytesOf(input, "disclosure", () => 32).bytes;
}

/** An X25519 private key as a node:crypto KeyObject (its 32 raw bytes wrapped in PKCS#8, RFC 8410). */
export function x25519PrivateKeyObject(bytes: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, bytes]), format: "der", type: "pkcs8" });
}

/**
 * An X25519 public key as a node:crypto KeyObject (its raw bytes as a JWK, RFC 8037: about 10x faster to import than
 * the DER form). Recipients' keys are kept (public data, bounded), since a node seals every proof of a requester to
 * the same key.
 */
export function x25519PublicKeyObject(bytes: Uint8Array): KeyObject {
  const x = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
  let key = X25519_PUBLIC_KEYS.get(x);
  if (key === undefined) {
    key = createPublicKey({ key: { kty: "OKP", crv: "X25519", x }, format: "jwk" });
    if (X25519_PUBLIC_KEYS.size >= 64) X25519_PUBLIC_KEYS.clear();
    X25519_PUBLIC_KEYS.set(x, key);
  }
  return key;
}

const X25519_PUBLIC_KEYS = new Map<string, KeyObject>();

/** The raw 32 bytes of an X25519 public KeyObject (or of the public half of a private one). */
export function x25519PublicBytes(key: KeyObject): Uint8Array {
  const jwk = (key.type === "private" ? createPublicKey(key) : key).export({ format: "jwk" });
  return new Uint8Array(Buffer.from(jwk.x ?? "", "base64url"));
}

function x25519PrivateBytes(key: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(key.export({ format: "jwk" }).d ?? "", "base64url"));
}

function x25519PublicOf(privateKey: Uint8Array): Uint8Array {
  return x25519PublicBytes(x25519PrivateKeyObject(privateKey));
}

/** The DER prefix of RFC 8410's X25519 PKCS#8 private key (OID 1.3.101.110), before the 32 raw key bytes. */
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

// ---------------------------------------------------------------------------------------------------------------------

/**
 * A key's bytes and suite: text by its prefix; bytes of `suite` when given, else (public keys) by their length, else
 * suite 1. `lengthOf(suite)` is the length a key of that suite has.
 */
function bytesOf(
  input: Uint8Array | string,
  kind: Kind,
  lengthOf: (suite: PrivacySuite) => number,
  suite?: PrivacySuite,
): { suite: PrivacySuite; bytes: Uint8Array } {
  let bytes: Uint8Array;
  let which: PrivacySuite;
  if (typeof input === "string") {
    ({ suite: which, bytes } = fromText(input.trim(), kind));
    if (suite !== undefined && which !== suite && kind !== "disclosure") {
      throw new PrivacyKeyError(kind, `this is a suite ${which} key, and a suite ${suite} key is needed here`);
    }
  } else if (input instanceof Uint8Array) {
    bytes = input.slice();
    which = suite ?? (kind === "public" && bytes.length === 32 ? 2 : 1);
  } else {
    throw new PrivacyKeyError(kind, `expected bytes or text, got ${typeof input}`);
  }
  const length = lengthOf(which);
  if (bytes.length !== length) {
    throw new PrivacyKeyError(kind, `must be ${length} bytes, got ${bytes.length}`);
  }
  return { suite: which, bytes };
}

function fromText(text: string, kind: Kind): { suite: PrivacySuite; bytes: Uint8Array } {
  const own = KINDS.filter((k) => k.kind === kind);
  const found = own.find((k) => text.startsWith(k.prefix));
  if (found === undefined) {
    const other = KINDS.find((k) => text.startsWith(k.prefix));
    if (other) throw new PrivacyKeyError(kind, `this text is ${other.name}, not ${own[0].name}`);
    const version = /^strata-(pk|sk|dk)(\d+):/.exec(text);
    if (version && version[1] === own[0].prefix.slice(7, 9)) {
      throw new PrivacyKeyError(
        kind,
        `version ${version[2]}: this @strata/core reads ${own.map((k) => k.prefix).join(" and ")}`,
      );
    }
    throw new PrivacyKeyError(kind, `must start with "${own.map((k) => k.prefix).join('" or "')}"`);
  }
  const hex = text.slice(found.prefix.length);
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new PrivacyKeyError(kind, `after "${found.prefix}" come hex digits, two per byte`);
  }
  return { suite: found.suite, bytes: new Uint8Array(Buffer.from(hex, "hex")) };
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
