/**
 * The encrypted-mode envelope: an ECIES-style container that seals a proof's tensors to the requester's public key.
 *
 * - A fresh random 32-byte **content key** per envelope (per proof) encrypts the payload: HKDF-SHA256 of it gives the
 *   AES-256-GCM key and a key commitment; the payload is AES-256-GCM with a random 96-bit nonce, its AAD the whole
 *   header, which carries the sha256 of the caller's context (the proof's chain, registry, model and request fields).
 * - The content key is **wrapped** to the recipient: the x-coordinate of ECDH(ephemeral, recipient) on secp256k1,
 *   HKDF-SHA256 with both public keys in the info, gives a ChaCha20-Poly1305 key and nonce (used once) and a key check.
 * - The serialized form is versioned binary with a fixed 199-byte header ({@link ENVELOPE_LAYOUT}); the parser is
 *   strict and names the offending field and byte offset. See the package README for the format and what each key
 *   reveals.
 *
 * Primitives, suite 1: `@noble/curves` (secp256k1), `@noble/hashes` (HKDF-SHA256, sha256), `@noble/ciphers`
 * (ChaCha20-Poly1305, and AES-256-GCM through its WebCrypto binding). Suite 2 (the default for new keys): OpenSSL
 * through node:crypto for all of it: X25519, HKDF-SHA256, AES-256-GCM for the key wrap and the payload (same layout,
 * the suite byte 2, the ephemeral key field `0x00` then the 32-byte X25519 key). Nothing here is a cipher of its own.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from "node:crypto";
import { chacha20poly1305 } from "@noble/ciphers/chacha";
import { equalBytes } from "@noble/ciphers/utils";
import { gcm, randomBytes } from "@noble/ciphers/webcrypto";
import { secp256k1 } from "@noble/curves/secp256k1";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { InvalidArgumentError } from "../errors";
import type { Bytes32 } from "../ids";
import { canonicalJson, type JsonValue } from "../json";
import { keccak256Hex } from "../keccak";
import {
  EnvelopeContextError,
  EnvelopeCorruptedError,
  EnvelopeFormatError,
  EnvelopeKeyError,
  PrivacyKeyError,
} from "./errors";
import {
  formatPrivacyPublicKey,
  parseDisclosureKey,
  parsePrivacyPrivateKeyWithSuite,
  parsePrivacyPublicKey,
  privacyKeySuite,
  privacyPublicKeyOf,
  x25519PrivateKeyObject,
  x25519PublicBytes,
  x25519PublicKeyObject,
  type PrivacySuite,
  type ContentKeyInput,
  type PrivateKeyInput,
  type PublicKeyInput,
} from "./keys";

/** The first four bytes of every envelope: ASCII `SENV`. */
export const ENVELOPE_MAGIC = "SENV";
/** The envelope format version this library writes and reads. */
export const ENVELOPE_VERSION = 1;
/** Suite 1: secp256k1 ECDH, HKDF-SHA256, ChaCha20-Poly1305 key wrap, AES-256-GCM payload (`@noble`). */
export const ENVELOPE_SUITE = 1;
/** Suite 2: X25519, HKDF-SHA256, AES-256-GCM key wrap and payload (OpenSSL through node:crypto). */
export const ENVELOPE_SUITE_X25519 = 2;
/** The suites this library reads; it seals with the suite of the recipient's key (new keys: suite 2). */
export const ENVELOPE_SUITES: readonly PrivacySuite[] = [1, 2];

/** A header field of an envelope. */
export type EnvelopeField =
  | "magic"
  | "version"
  | "suite"
  | "ephemeralPublicKey"
  | "keyCheck"
  | "contextDigest"
  | "keyCommitment"
  | "wrappedKey"
  | "nonce"
  | "ciphertextLength"
  | "headerChecksum";

/** The header, field by field: offsets and sizes in bytes. The ciphertext (with its 16-byte tag) follows it. */
export const ENVELOPE_LAYOUT: readonly {
  readonly field: EnvelopeField;
  readonly offset: number;
  readonly size: number;
}[] = (() => {
  const sizes: [EnvelopeField, number][] = [
    ["magic", 4],
    ["version", 1],
    ["suite", 1],
    ["ephemeralPublicKey", 33],
    ["keyCheck", 16],
    ["contextDigest", 32],
    ["keyCommitment", 32],
    ["wrappedKey", 48],
    ["nonce", 12],
    ["ciphertextLength", 4],
    ["headerChecksum", 16],
  ];
  let offset = 0;
  return Object.freeze(
    sizes.map(([field, size]) => {
      const entry = Object.freeze({ field, offset, size });
      offset += size;
      return entry;
    }),
  );
})();

/** The size of the header: 199 bytes. */
export const ENVELOPE_HEADER_SIZE = ENVELOPE_LAYOUT.reduce((end, f) => Math.max(end, f.offset + f.size), 0);

/** A named byte string: one tensor's element bytes. */
export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/** What an envelope holds: one byte string, or named byte strings (in order). */
export type EnvelopePlaintext = Uint8Array | readonly NamedBytes[];

/** An opened envelope's contents, as sealed. */
export type EnvelopeContents = { kind: "bytes"; bytes: Uint8Array } | { kind: "tensors"; tensors: NamedBytes[] };

/** The context an envelope is bound to; sealing and opening must give the same bytes. */
export interface EnvelopeOptions {
  /** The context's bytes (see {@link envelopeContext}) or text (UTF-8). Public: it is not encrypted. */
  aad: Uint8Array | string;
}

/** A parsed envelope: every header field (views into the bytes) and the ciphertext with its tag. */
export interface ParsedEnvelope {
  version: number;
  suite: number;
  ephemeralPublicKey: Uint8Array;
  keyCheck: Uint8Array;
  contextDigest: Uint8Array;
  keyCommitment: Uint8Array;
  wrappedKey: Uint8Array;
  nonce: Uint8Array;
  ciphertextLength: number;
  headerChecksum: Uint8Array;
  /** The 199 header bytes: the AAD of the payload. */
  header: Uint8Array;
  /** The AES-256-GCM ciphertext followed by its 16-byte tag. */
  ciphertext: Uint8Array;
}

const TAG_SIZE = 16;
const MAX_CIPHERTEXT = 0xffff_ffff;
const KIND_BYTES = 0;
const KIND_TENSORS = 1;
const MAGIC = new Uint8Array([0x53, 0x45, 0x4e, 0x56]);
const LABEL_WRAP = utf8("strata-envelope-v1/wrap");
const LABEL_PAYLOAD = utf8("strata-envelope-v1/payload");
const CONTEXT_PREFIX = "strata-envelope-context-v1\n";

const AT = Object.fromEntries(ENVELOPE_LAYOUT.map((f) => [f.field, f])) as unknown as Record<
  EnvelopeField,
  { offset: number; size: number }
>;

/**
 * The context bytes for the fields an envelope is bound to (chain id, registries, model, request id, tensor set...):
 * the line `strata-envelope-context-v1`, then the fields' canonical JSON. The same fields give the same bytes.
 */
export function envelopeContext(fields: Readonly<Record<string, JsonValue>>): Uint8Array {
  let json: string;
  try {
    json = canonicalJson(fields);
  } catch (error) {
    throw new InvalidArgumentError("envelope context", fields, (error as Error).message);
  }
  return utf8(CONTEXT_PREFIX + json);
}

/**
 * Seals `plaintext` (one byte string, or named byte strings) to `recipient`'s public key, bound to `options.aad`.
 * Returns the serialized envelope. The content key is not returned: the recipient derives it ({@link contentKeyOf}).
 */
export async function sealTensors(
  plaintext: EnvelopePlaintext,
  recipient: PublicKeyInput,
  options: EnvelopeOptions,
): Promise<Uint8Array> {
  const recipientKey = parsePrivacyPublicKey(recipient);
  const aad = aadOf(options);
  const framed = frame(plaintext);
  if (framed.size + TAG_SIZE > MAX_CIPHERTEXT) {
    throw new InvalidArgumentError("plaintext", `${framed.size} bytes`, "an envelope holds at most 4 GiB");
  }
  if (privacyKeySuite(recipientKey) === 2) return sealX25519(framed, recipientKey, aad);
  const ephemeralKey = secp256k1.utils.randomPrivateKey();
  const ephemeralPublicKey = secp256k1.getPublicKey(ephemeralKey, true);
  const shared = recipientPoint(recipientKey)
    .multiply(secp256k1.utils.normPrivateKeyToScalar(ephemeralKey))
    .toRawBytes(true)
    .subarray(1);
  ephemeralKey.fill(0);
  const wrap = wrapKeys(ENVELOPE_SUITE, shared, ephemeralPublicKey, recipientKey);
  const contentKey = randomBytes(32);
  const payload = payloadKeys(contentKey);

  const out = new Uint8Array(ENVELOPE_HEADER_SIZE + framed.size + TAG_SIZE);
  out.set(MAGIC, AT.magic.offset);
  out[AT.version.offset] = ENVELOPE_VERSION;
  out[AT.suite.offset] = ENVELOPE_SUITE;
  out.set(ephemeralPublicKey, AT.ephemeralPublicKey.offset);
  out.set(wrap.keyCheck, AT.keyCheck.offset);
  out.set(sha256(aad), AT.contextDigest.offset);
  out.set(payload.commitment, AT.keyCommitment.offset);
  const wrapped = chacha20poly1305(wrap.key, wrap.nonce, out.slice(0, AT.wrappedKey.offset)).encrypt(contentKey);
  out.set(wrapped, AT.wrappedKey.offset);
  wrap.key.fill(0);
  contentKey.fill(0);
  const nonce = randomBytes(AT.nonce.size);
  out.set(nonce, AT.nonce.offset);
  writeUint32(out, AT.ciphertextLength.offset, framed.size + TAG_SIZE);
  out.set(headerChecksum(out), AT.headerChecksum.offset);
  const header = out.slice(0, ENVELOPE_HEADER_SIZE);
  // The plaintext is framed in place, where its ciphertext goes; WebCrypto reads a copy and returns a new buffer.
  framed.write(out, ENVELOPE_HEADER_SIZE);
  const ciphertext = await gcm(payload.key, nonce, header).encrypt(
    out.subarray(ENVELOPE_HEADER_SIZE, out.length - TAG_SIZE),
  );
  payload.key.fill(0);
  out.set(ciphertext, ENVELOPE_HEADER_SIZE);
  return out;
}

/** Opens `envelope` with the recipient's private key, in the context it was sealed for. */
export async function openEnvelope(
  envelope: Uint8Array,
  privateKey: PrivateKeyInput,
  options: EnvelopeOptions,
): Promise<EnvelopeContents> {
  const parsed = parseEnvelope(envelope);
  const contentKey = unwrapContentKey(parsed, privateKey);
  checkContext(parsed, aadOf(options));
  const keys = payloadKeys(contentKey, parsed.suite);
  contentKey.fill(0);
  return decryptPayload(parsed, keys);
}

/**
 * Opens `envelope` with its content key (a disclosure key: bytes or `strata-dk1:` text), in the context it was sealed
 * for. The content key opens this one envelope only.
 */
export async function openWithContentKey(
  envelope: Uint8Array,
  contentKey: ContentKeyInput,
  options: EnvelopeOptions,
): Promise<EnvelopeContents> {
  const parsed = parseEnvelope(envelope);
  const keys = payloadKeys(parseDisclosureKey(contentKey), parsed.suite);
  if (!equalBytes(keys.commitment, parsed.keyCommitment)) {
    throw new EnvelopeKeyError(
      "content",
      "Cannot open: this content key does not open this envelope (it is the disclosure key of another envelope, " +
        "or not one at all)",
    );
  }
  checkContext(parsed, aadOf(options));
  return decryptPayload(parsed, keys);
}

/**
 * The content key of `envelope` (what `strata proof disclose` prints, through `formatDisclosureKey`): it opens this
 * envelope and nothing else, and says nothing of `privateKey`.
 */
export function contentKeyOf(envelope: Uint8Array, privateKey: PrivateKeyInput): Uint8Array {
  return unwrapContentKey(parseEnvelope(envelope), privateKey);
}

/** keccak256 of the serialized envelope's bytes (`0x` + 64 hex digits): the ciphertext hash a proof commits to. */
export function ciphertextHash(envelope: Uint8Array): Bytes32 {
  if (!(envelope instanceof Uint8Array)) throw new InvalidArgumentError("envelope", envelope, "expected bytes");
  return keccak256Hex(envelope);
}

/**
 * Parses an envelope strictly: magic, version, suite, every field present, the header checksum, the ephemeral key a
 * point on secp256k1, and the ciphertext exactly as long as the header says. Decrypts nothing.
 */
export function parseEnvelope(envelope: Uint8Array): ParsedEnvelope {
  if (!(envelope instanceof Uint8Array)) throw new InvalidArgumentError("envelope", envelope, "expected bytes");
  const length = envelope.length;
  for (const { field, offset, size } of ENVELOPE_LAYOUT) {
    if (length < offset + size) {
      throw new EnvelopeFormatError(
        field,
        offset,
        `is truncated: the envelope ends at byte ${length}, the field takes bytes ${offset}..${offset + size - 1}`,
      );
    }
    if (field === "magic" && !equalBytes(envelope.subarray(0, 4), MAGIC)) {
      throw new EnvelopeFormatError(
        "magic",
        0,
        `is 0x${hex(envelope.subarray(0, 4))}, not "${ENVELOPE_MAGIC}": these bytes are not a Strata envelope`,
      );
    }
    if (field === "version" && envelope[offset] !== ENVELOPE_VERSION) {
      throw new EnvelopeFormatError(
        "version",
        offset,
        `is ${envelope[offset]}: this @strata/core reads envelope version ${ENVELOPE_VERSION}; upgrade it to read newer envelopes`,
      );
    }
    if (field === "suite" && !(ENVELOPE_SUITES as readonly number[]).includes(envelope[offset])) {
      throw new EnvelopeFormatError(
        "suite",
        offset,
        `is ${envelope[offset]}: version ${ENVELOPE_VERSION} envelopes use suite 1 ` +
          "(secp256k1, HKDF-SHA256, ChaCha20-Poly1305, AES-256-GCM) or 2 (X25519, HKDF-SHA256, AES-256-GCM)",
      );
    }
  }
  const view = (field: EnvelopeField) => envelope.subarray(AT[field].offset, AT[field].offset + AT[field].size);
  if (!equalBytes(headerChecksum(envelope), view("headerChecksum"))) {
    throw new EnvelopeCorruptedError(
      "header",
      `the header checksum (bytes ${AT.headerChecksum.offset}..${ENVELOPE_HEADER_SIZE - 1}) does not match ` +
        `bytes 0..${AT.headerChecksum.offset - 1}: a header byte changed after sealing`,
    );
  }
  const ciphertextLength = readUint32(envelope, AT.ciphertextLength.offset);
  if (ciphertextLength < 1 + TAG_SIZE) {
    throw new EnvelopeFormatError(
      "ciphertextLength",
      AT.ciphertextLength.offset,
      `is ${ciphertextLength}: a ciphertext holds at least a kind byte and the ${TAG_SIZE}-byte tag`,
    );
  }
  const available = length - ENVELOPE_HEADER_SIZE;
  if (available < ciphertextLength) {
    throw new EnvelopeFormatError(
      "ciphertext",
      ENVELOPE_HEADER_SIZE,
      `is truncated: ciphertextLength (byte ${AT.ciphertextLength.offset}) says ${ciphertextLength} bytes, ` +
        `${available} follow the header`,
    );
  }
  if (available > ciphertextLength) {
    const extra = available - ciphertextLength;
    throw new EnvelopeFormatError(
      "ciphertext",
      ENVELOPE_HEADER_SIZE + ciphertextLength,
      `has ${extra} byte${extra === 1 ? "" : "s"} after the ciphertext (ciphertextLength says ${ciphertextLength})`,
    );
  }
  const ephemeralPublicKey = view("ephemeralPublicKey");
  if (envelope[AT.suite.offset] === ENVELOPE_SUITE_X25519) {
    if (ephemeralPublicKey[0] !== 0) {
      throw new EnvelopeFormatError(
        "ephemeralPublicKey",
        AT.ephemeralPublicKey.offset,
        "does not start with 0x00 (suite 2: 0x00, then the 32-byte X25519 public key)",
      );
    }
  } else
    try {
      secp256k1.ProjectivePoint.fromHex(ephemeralPublicKey).assertValidity();
    } catch {
      throw new EnvelopeFormatError(
        "ephemeralPublicKey",
        AT.ephemeralPublicKey.offset,
        "is not a point on secp256k1 (a compressed point: 02 or 03, then x)",
      );
    }
  return {
    version: envelope[AT.version.offset],
    suite: envelope[AT.suite.offset],
    ephemeralPublicKey,
    keyCheck: view("keyCheck"),
    contextDigest: view("contextDigest"),
    keyCommitment: view("keyCommitment"),
    wrappedKey: view("wrappedKey"),
    nonce: view("nonce"),
    ciphertextLength,
    headerChecksum: view("headerChecksum"),
    header: envelope.subarray(0, ENVELOPE_HEADER_SIZE),
    ciphertext: envelope.subarray(ENVELOPE_HEADER_SIZE),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Keys

/**
 * KEK, its nonce and the key check, from the shared secret (suite 1: the ECDH x-coordinate; suite 2: the X25519
 * output) and both public keys as the header and the key text hold them: HKDF-SHA256 with info = label || suite ||
 * ephemeral field (33 bytes) || recipient public key (33 or 32 bytes). Suite 1 through `@noble/hashes`, suite 2
 * through node:crypto (the same function).
 */
function wrapKeys(suite: PrivacySuite, shared: Uint8Array, ephemeralPublicKey: Uint8Array, recipientKey: Uint8Array) {
  const info = new Uint8Array(LABEL_WRAP.length + 1 + 33 + recipientKey.length);
  info.set(LABEL_WRAP, 0);
  info[LABEL_WRAP.length] = suite;
  info.set(ephemeralPublicKey, LABEL_WRAP.length + 1);
  info.set(recipientKey, LABEL_WRAP.length + 34);
  const okm =
    suite === 2
      ? new Uint8Array(hkdfSync("sha256", shared, new Uint8Array(0), info, 60))
      : hkdf(sha256, shared, undefined, info, 60);
  return { key: okm.slice(0, 32), nonce: okm.slice(32, 44), keyCheck: okm.slice(44, 60) };
}

/** Suite 2's seal: the same layout and steps as suite 1's, every primitive from OpenSSL (node:crypto). */
/**
 * Suite 2's seal: the same layout and steps as suite 1's, every primitive from OpenSSL (node:crypto), synchronously
 * (node:crypto's WebCrypto `subtle.encrypt` measured twice as slow here: its two threadpool round trips cost more than
 * the cipher).
 */
function sealX25519(framed: ReturnType<typeof frame>, recipientKey: Uint8Array, aad: Uint8Array): Uint8Array {
  const ephemeral = generateKeyPairSync("x25519");
  const ephemeralField = new Uint8Array(33);
  ephemeralField.set(x25519PublicBytes(ephemeral.publicKey), 1);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: x25519PublicKeyObject(recipientKey) });
  } catch (error) {
    throw new PrivacyKeyError("public", `this X25519 public key gives no shared secret (${(error as Error).message})`);
  }
  const wrap = wrapKeys(ENVELOPE_SUITE_X25519, shared, ephemeralField, recipientKey);
  shared.fill(0);
  const contentKey = randomBytes(32);
  const payload = payloadKeys(contentKey, ENVELOPE_SUITE_X25519);
  const out = new Uint8Array(ENVELOPE_HEADER_SIZE + framed.size + TAG_SIZE);
  out.set(MAGIC, AT.magic.offset);
  out[AT.version.offset] = ENVELOPE_VERSION;
  out[AT.suite.offset] = ENVELOPE_SUITE_X25519;
  out.set(ephemeralField, AT.ephemeralPublicKey.offset);
  out.set(wrap.keyCheck, AT.keyCheck.offset);
  out.set(createHash("sha256").update(aad).digest(), AT.contextDigest.offset);
  out.set(payload.commitment, AT.keyCommitment.offset);
  out.set(aesGcmSeal(wrap.key, wrap.nonce, out.subarray(0, AT.wrappedKey.offset), contentKey), AT.wrappedKey.offset);
  wrap.key.fill(0);
  contentKey.fill(0);
  const nonce = randomBytes(AT.nonce.size);
  out.set(nonce, AT.nonce.offset);
  writeUint32(out, AT.ciphertextLength.offset, framed.size + TAG_SIZE);
  out.set(headerChecksum(out), AT.headerChecksum.offset);
  // The plaintext is framed in place, where its ciphertext goes; OpenSSL returns the ciphertext in a new buffer.
  framed.write(out, ENVELOPE_HEADER_SIZE);
  const cipher = createCipheriv("aes-256-gcm", payload.key, nonce);
  payload.key.fill(0);
  cipher.setAAD(out.subarray(0, ENVELOPE_HEADER_SIZE));
  const encrypted = cipher.update(out.subarray(ENVELOPE_HEADER_SIZE, out.length - TAG_SIZE));
  cipher.final();
  out.set(encrypted, ENVELOPE_HEADER_SIZE);
  out.set(cipher.getAuthTag(), out.length - TAG_SIZE);
  return out;
}

/** The X25519 shared secret; an ephemeral key that gives none (a low-order point) is a malformed envelope. */
function x25519Shared(privateKey: KeyObject, ephemeral: Uint8Array): Uint8Array {
  try {
    return new Uint8Array(diffieHellman({ privateKey, publicKey: x25519PublicKeyObject(ephemeral) }));
  } catch {
    throw new EnvelopeFormatError(
      "ephemeralPublicKey",
      AT.ephemeralPublicKey.offset,
      "is an X25519 key that gives no shared secret (a low-order point)",
    );
  }
}

/** AES-256-GCM (node:crypto) of `plaintext`: the ciphertext then the 16-byte tag. */
function aesGcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([head, cipher.getAuthTag()]);
}

/** AES-256-GCM (node:crypto) decryption of ciphertext || tag; throws when authentication fails. */
function aesGcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  const head = decipher.update(sealed.subarray(0, sealed.length - TAG_SIZE));
  decipher.final();
  return new Uint8Array(head);
}

/** The AES-256-GCM key and the key commitment, from the content key. */
function payloadKeys(contentKey: Uint8Array, suite: number = ENVELOPE_SUITE) {
  const okm =
    suite === ENVELOPE_SUITE_X25519
      ? new Uint8Array(hkdfSync("sha256", contentKey, new Uint8Array(0), LABEL_PAYLOAD, 64))
      : hkdf(sha256, contentKey, undefined, LABEL_PAYLOAD, 64);
  return { key: okm.slice(0, 32), commitment: okm.slice(32, 64) };
}

function unwrapContentKey(parsed: ParsedEnvelope, privateKeyInput: PrivateKeyInput): Uint8Array {
  const suite = parsed.suite as PrivacySuite;
  let key: { suite: PrivacySuite; bytes: Uint8Array };
  try {
    key = parsePrivacyPrivateKeyWithSuite(privateKeyInput, suite);
  } catch (error) {
    // A text key of the other suite: not this envelope's recipient (said as such; the key is never repeated).
    if (typeof privateKeyInput === "string" && parsePrivacyPrivateKeyWithSuite(privateKeyInput).suite !== suite) {
      throw new EnvelopeKeyError(
        "private",
        `Cannot open: this envelope is sealed with suite ${suite} (${suite === 2 ? "X25519" : "secp256k1"}) and ` +
          `the key given is a suite ${suite === 2 ? 1 : 2} key: not the recipient's. Open it with the private key of ` +
          "the public key the request named, or with the envelope's disclosure key",
      );
    }
    throw error;
  }
  const privateKey = key.bytes;
  let publicKey: Uint8Array;
  let shared: Uint8Array;
  if (suite === 2) {
    const keyObject = x25519PrivateKeyObject(privateKey);
    publicKey = x25519PublicBytes(keyObject);
    shared = x25519Shared(keyObject, parsed.ephemeralPublicKey.subarray(1));
  } else {
    publicKey = privacyPublicKeyOf(privateKey, suite);
    shared = secp256k1.getSharedSecret(privateKey, parsed.ephemeralPublicKey, true).subarray(1);
  }
  const wrap = wrapKeys(suite, shared, parsed.ephemeralPublicKey, publicKey);
  if (!equalBytes(wrap.keyCheck, parsed.keyCheck)) {
    throw new EnvelopeKeyError(
      "private",
      `Cannot open: this envelope was not sealed to this key (${formatPrivacyPublicKey(publicKey)}). Open it with ` +
        "the private key of the public key the request named, or with the envelope's disclosure key",
    );
  }
  let contentKey: Uint8Array;
  try {
    const aad = parsed.header.subarray(0, AT.wrappedKey.offset);
    contentKey =
      suite === 2
        ? aesGcmOpen(wrap.key, wrap.nonce, aad, parsed.wrappedKey)
        : chacha20poly1305(wrap.key, wrap.nonce, aad).decrypt(parsed.wrappedKey);
  } catch (error) {
    throw new EnvelopeCorruptedError(
      "wrapped key",
      `the wrapped content key (bytes ${AT.wrappedKey.offset}..${AT.wrappedKey.offset + AT.wrappedKey.size - 1}) ` +
        "failed authentication under this recipient's key: the key wrap, or a header field it binds, was changed",
      { cause: error },
    );
  }
  wrap.key.fill(0);
  if (!equalBytes(payloadKeys(contentKey, suite).commitment, parsed.keyCommitment)) {
    throw new EnvelopeCorruptedError("header", "the content key does not match the envelope's key commitment");
  }
  return contentKey;
}

function checkContext(parsed: ParsedEnvelope, aad: Uint8Array): void {
  const digest = sha256(aad);
  if (!equalBytes(digest, parsed.contextDigest)) {
    throw new EnvelopeContextError(`0x${hex(digest)}`, `0x${hex(parsed.contextDigest)}`);
  }
}

async function decryptPayload(
  parsed: ParsedEnvelope,
  keys: { key: Uint8Array; commitment: Uint8Array },
): Promise<EnvelopeContents> {
  let framed: Uint8Array;
  try {
    framed =
      parsed.suite === ENVELOPE_SUITE_X25519
        ? aesGcmOpen(keys.key, parsed.nonce, parsed.header, parsed.ciphertext)
        : await gcm(keys.key, parsed.nonce, parsed.header).decrypt(parsed.ciphertext);
  } catch (error) {
    throw new EnvelopeCorruptedError(
      "payload",
      `the ciphertext or its tag (bytes ${ENVELOPE_HEADER_SIZE}..${ENVELOPE_HEADER_SIZE + parsed.ciphertextLength - 1}) ` +
        "failed authentication under the envelope's content key",
      { cause: error },
    );
  } finally {
    keys.key.fill(0);
  }
  return unframe(framed);
}

/**
 * Recipients' points, kept with a wNAF precomputation from their second seal on: a node seals every proof of a
 * requester to the same key, and the precomputed point multiplies about 6x faster. Bounded; public data only.
 */
const RECIPIENT_POINTS = new Map<
  string,
  { point: ReturnType<typeof secp256k1.ProjectivePoint.fromHex>; uses: number }
>();
const RECIPIENT_POINTS_MAX = 32;
const PRECOMPUTE_WINDOW = 4;

function recipientPoint(publicKey: Uint8Array) {
  const id = hex(publicKey);
  let entry = RECIPIENT_POINTS.get(id);
  if (entry === undefined) {
    if (RECIPIENT_POINTS.size >= RECIPIENT_POINTS_MAX) RECIPIENT_POINTS.clear();
    entry = { point: secp256k1.ProjectivePoint.fromHex(publicKey), uses: 0 };
    RECIPIENT_POINTS.set(id, entry);
  }
  entry.uses++;
  if (entry.uses === 2) secp256k1.utils.precompute(PRECOMPUTE_WINDOW, entry.point);
  return entry.point;
}

// ---------------------------------------------------------------------------------------------------------------------
// Payload framing: a kind byte, then the bytes (kind 0), or count and (name, bytes) pairs (kind 1), big-endian lengths.

/** The framed plaintext's size, and a writer that frames it into `out` at `offset` (no intermediate copy). */
function frame(plaintext: EnvelopePlaintext): { size: number; write(out: Uint8Array, offset: number): void } {
  if (plaintext instanceof Uint8Array) {
    return {
      size: 1 + plaintext.length,
      write(out, offset) {
        out[offset] = KIND_BYTES;
        out.set(plaintext, offset + 1);
      },
    };
  }
  if (!Array.isArray(plaintext)) {
    throw new InvalidArgumentError("plaintext", plaintext, "expected bytes or an array of { name, bytes }");
  }
  const names = new Set<string>();
  const encoded = plaintext.map((tensor: NamedBytes, i) => {
    if (typeof tensor?.name !== "string" || tensor.name.length === 0) {
      throw new InvalidArgumentError(`plaintext[${i}].name`, tensor?.name, "a tensor name is a non-empty string");
    }
    const name = Buffer.from(tensor.name, "utf8");
    if (name.toString("utf8") !== tensor.name || name.length > 0xffff) {
      throw new InvalidArgumentError(
        `plaintext[${i}].name`,
        tensor.name,
        "a tensor name is well-formed Unicode of at most 65535 UTF-8 bytes",
      );
    }
    if (names.has(tensor.name)) {
      throw new InvalidArgumentError("plaintext", tensor.name, `two tensors named ${JSON.stringify(tensor.name)}`);
    }
    names.add(tensor.name);
    if (!(tensor.bytes instanceof Uint8Array)) {
      throw new InvalidArgumentError(`plaintext[${i}].bytes`, typeof tensor.bytes, "expected a Uint8Array");
    }
    return { name, bytes: tensor.bytes };
  });
  return {
    size: encoded.reduce((sum, t) => sum + 2 + t.name.length + 4 + t.bytes.length, 5),
    write(out, offset) {
      out[offset] = KIND_TENSORS;
      writeUint32(out, offset + 1, encoded.length);
      let at = offset + 5;
      for (const { name, bytes } of encoded) {
        out[at] = name.length >>> 8;
        out[at + 1] = name.length & 0xff;
        out.set(name, at + 2);
        at += 2 + name.length;
        writeUint32(out, at, bytes.length);
        out.set(bytes, at + 4);
        at += 4 + bytes.length;
      }
    },
  };
}

function unframe(framed: Uint8Array): EnvelopeContents {
  // The payload authenticated: a malformed frame means the sealer wrote it wrong. No message echoes its bytes.
  const fail = (offset: number, reason: string) => new EnvelopeFormatError("plaintext", offset, reason);
  if (framed[0] === KIND_BYTES) return { kind: "bytes", bytes: framed.subarray(1) };
  if (framed[0] !== KIND_TENSORS) throw fail(0, `has the unknown kind ${framed[0]} (0 bytes, 1 tensors)`);
  const need = (at: number, size: number, what: string) => {
    if (at + size > framed.length) throw fail(at, `ends inside ${what}`);
  };
  need(1, 4, "the tensor count");
  const count = readUint32(framed, 1);
  const tensors: NamedBytes[] = [];
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let at = 5;
  for (let i = 0; i < count; i++) {
    need(at, 2, `tensor ${i}'s name length`);
    const nameLength = (framed[at] << 8) | framed[at + 1];
    need(at + 2, nameLength, `tensor ${i}'s name`);
    let name: string;
    try {
      name = decoder.decode(framed.subarray(at + 2, at + 2 + nameLength));
    } catch {
      throw fail(at + 2, `holds a name (tensor ${i}) that is not UTF-8`);
    }
    at += 2 + nameLength;
    need(at, 4, `tensor ${i}'s byte length`);
    const length = readUint32(framed, at);
    need(at + 4, length, `tensor ${i}'s bytes`);
    tensors.push({ name, bytes: framed.subarray(at + 4, at + 4 + length) });
    at += 4 + length;
  }
  const extra = framed.length - at;
  if (extra !== 0) throw fail(at, `has ${extra} byte${extra === 1 ? "" : "s"} after the last tensor`);
  return { kind: "tensors", tensors };
}

// ---------------------------------------------------------------------------------------------------------------------

function aadOf(options: EnvelopeOptions | undefined): Uint8Array {
  const aad = options?.aad;
  if (typeof aad === "string") return utf8(aad);
  if (aad instanceof Uint8Array) return aad;
  throw new InvalidArgumentError(
    "aad",
    aad,
    "pass the context the envelope is bound to (envelopeContext of the proof's fields), as bytes or text",
  );
}

function headerChecksum(envelope: Uint8Array): Uint8Array {
  return sha256(envelope.subarray(0, AT.headerChecksum.offset)).subarray(0, AT.headerChecksum.size);
}

function writeUint32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value >>> 24;
  out[offset + 1] = value >>> 16;
  out[offset + 2] = value >>> 8;
  out[offset + 3] = value;
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
