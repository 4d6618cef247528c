/**
 * Opens an encrypted proof's envelope IN THE BROWSER with a key typed in the page: the key and the plaintext never
 * leave it. The envelope format is core's (packages/core/src/privacy/envelope.ts): a 199-byte header, the content key
 * wrapped to the recipient, the payload AES-256-GCM under a key derived from the content key. Core's own code runs on
 * node:crypto (X25519, HKDF, AES-GCM through OpenSSL), so this is a small opener on the browser's WebCrypto (X25519,
 * HKDF-SHA256, AES-256-GCM, SHA-256) and, for suite 1 keys only, the same `@noble` primitives core uses (secp256k1,
 * ChaCha20-Poly1305). The browser test opens envelopes sealed by core's `sealTensors` (through the node) with it.
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha";
import { secp256k1 } from "@noble/curves/secp256k1";
import { StrataError } from "@strata/errors";

/** A named byte string of an opened envelope (`input/x`, `output/y`: one tensor's element bytes). */
export interface OpenedTensor {
  name: string;
  bytes: Uint8Array;
}

/** Why an envelope could not be opened: what was wrong and what to do. */
export class OpenError extends StrataError {
  constructor(message: string) {
    super("ENVELOPE_NOT_OPENED", message);
  }
}

const HEADER = {
  magic: [0, 4],
  version: [4, 1],
  suite: [5, 1],
  ephemeralPublicKey: [6, 33],
  keyCheck: [39, 16],
  contextDigest: [55, 32],
  keyCommitment: [87, 32],
  wrappedKey: [119, 48],
  nonce: [167, 12],
  ciphertextLength: [179, 4],
  headerChecksum: [183, 16],
} as const;
const HEADER_SIZE = 199;
const LABEL_WRAP = new TextEncoder().encode("strata-envelope-v1/wrap");
const LABEL_PAYLOAD = new TextEncoder().encode("strata-envelope-v1/payload");
/** PKCS#8 prefix of a raw X25519 private key (RFC 8410). */
const X25519_PKCS8_PREFIX = hex("302e020100300506032b656e04220420");

type Key = { kind: "disclosure"; contentKey: Uint8Array } | { kind: "private"; suite: 1 | 2; privateKey: Uint8Array };

/** Reads a key as typed: `strata-sk2:`, `strata-sk1:` (a requester's private key) or `strata-dk1:` (a disclosure key). */
export function parseKey(text: string): Key {
  const value = text.trim();
  const match = /^(strata-(?:sk1|sk2|dk1)):([0-9a-fA-F]{64})$/.exec(value);
  if (match === null) {
    if (/^strata-pk[12]:/.test(value)) {
      throw new OpenError(
        "This is a public key: type the private key (strata-sk2:…) or a disclosure key (strata-dk1:…)",
      );
    }
    throw new OpenError(
      "Not a key: type a private key (strata-sk2:… or strata-sk1:…, 64 hex digits) or a disclosure key (strata-dk1:…)",
    );
  }
  const bytes = hex(match[2]);
  if (match[1] === "strata-dk1") return { kind: "disclosure", contentKey: bytes };
  return { kind: "private", suite: match[1] === "strata-sk2" ? 2 : 1, privateKey: bytes };
}

/**
 * Opens `envelope` (bound to `context`, the proof's envelope context) with `keyText`; returns its named byte strings.
 * Throws {@link OpenError} naming what failed: the format, the key (not the recipient's), the context, or the bytes.
 */
export async function openEnvelope(
  envelope: Uint8Array,
  context: Uint8Array,
  keyText: string,
): Promise<OpenedTensor[]> {
  const key = parseKey(keyText);
  const field = (name: keyof typeof HEADER) => envelope.subarray(HEADER[name][0], HEADER[name][0] + HEADER[name][1]);
  if (envelope.length < HEADER_SIZE + 17 || new TextDecoder().decode(field("magic")) !== "SENV") {
    throw new OpenError("These bytes are not a Strata envelope (no SENV header)");
  }
  if (envelope[4] !== 1) throw new OpenError(`Envelope version ${envelope[4]} is not one this page reads (1)`);
  const suite = envelope[5];
  if (suite !== 1 && suite !== 2) throw new OpenError(`Envelope suite ${suite} is unknown (1 or 2)`);
  const checksum = (await sha256(envelope.subarray(0, HEADER.headerChecksum[0]))).subarray(0, 16);
  if (!equal(checksum, field("headerChecksum"))) throw new OpenError("The envelope's header checksum does not match");
  if (!equal(await sha256(context), field("contextDigest"))) {
    throw new OpenError("The envelope is bound to another context: it belongs to another proof");
  }
  const header = envelope.subarray(0, HEADER_SIZE);
  const ciphertext = envelope.subarray(HEADER_SIZE);

  let contentKey: Uint8Array;
  if (key.kind === "disclosure") {
    contentKey = key.contentKey;
  } else {
    if (key.suite !== suite) {
      throw new OpenError(
        `This envelope is sealed with suite ${suite} (${suite === 2 ? "X25519" : "secp256k1"}) and the key typed is ` +
          `a suite ${key.suite} key: not the recipient's`,
      );
    }
    const ephemeral = field("ephemeralPublicKey");
    const { shared, publicKey } =
      suite === 2 ? await x25519Shared(key.privateKey, ephemeral) : secp256k1Shared(key.privateKey, ephemeral);
    const info = concat(LABEL_WRAP, Uint8Array.of(suite), ephemeral, publicKey);
    const okm = await hkdf(shared, info, 60);
    const [kek, nonce, keyCheck] = [okm.subarray(0, 32), okm.subarray(32, 44), okm.subarray(44, 60)];
    if (!equal(keyCheck, field("keyCheck"))) {
      throw new OpenError(
        "This key does not open this envelope: it was not sealed to it. Type the private key of the public key the " +
          "request named, or the proof's disclosure key",
      );
    }
    const aad = envelope.subarray(0, HEADER.wrappedKey[0]);
    try {
      contentKey =
        suite === 2
          ? await aesGcmOpen(kek, nonce, aad, field("wrappedKey"))
          : chacha20poly1305(kek, nonce, aad).decrypt(field("wrappedKey"));
    } catch {
      throw new OpenError("The wrapped content key failed authentication: the envelope was altered");
    }
  }
  const payload = await hkdf(contentKey, LABEL_PAYLOAD, 64);
  if (!equal(payload.subarray(32, 64), field("keyCommitment"))) {
    throw new OpenError(
      key.kind === "disclosure"
        ? "This disclosure key does not open this envelope (it is another proof's, or not one at all)"
        : "The content key does not match the envelope's key commitment",
    );
  }
  let framed: Uint8Array;
  try {
    framed = await aesGcmOpen(payload.subarray(0, 32), field("nonce"), header, ciphertext);
  } catch {
    throw new OpenError("The ciphertext failed authentication under the envelope's content key: it was altered");
  }
  return unframe(framed);
}

function unframe(framed: Uint8Array): OpenedTensor[] {
  if (framed[0] !== 1) throw new OpenError("The envelope holds bytes, not the proof's tensors");
  const view = new DataView(framed.buffer, framed.byteOffset, framed.byteLength);
  const count = view.getUint32(1);
  const out: OpenedTensor[] = [];
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let at = 5;
  for (let i = 0; i < count; i++) {
    if (at + 2 > framed.length) throw new OpenError(`The plaintext ends inside tensor ${i}`);
    const nameLength = view.getUint16(at);
    const name = decoder.decode(framed.subarray(at + 2, at + 2 + nameLength));
    at += 2 + nameLength;
    if (at + 4 > framed.length) throw new OpenError(`The plaintext ends inside tensor ${i}`);
    const length = view.getUint32(at);
    if (at + 4 + length > framed.length) throw new OpenError(`The plaintext ends inside tensor ${i}'s bytes`);
    out.push({ name, bytes: framed.slice(at + 4, at + 4 + length) });
    at += 4 + length;
  }
  if (at !== framed.length) throw new OpenError(`The plaintext has ${framed.length - at} bytes after the last tensor`);
  return out;
}

// WebCrypto -----------------------------------------------------------------------------------------------------------

async function x25519Shared(privateKey: Uint8Array, ephemeralField: Uint8Array) {
  if (ephemeralField[0] !== 0) throw new OpenError("The envelope's ephemeral key is not a suite 2 (X25519) key");
  const subtle = crypto.subtle;
  const priv = await subtle.importKey("pkcs8", own(concat(X25519_PKCS8_PREFIX, privateKey)), { name: "X25519" }, true, [
    "deriveBits",
  ]);
  const jwk = await subtle.exportKey("jwk", priv);
  const publicKey = base64url(jwk.x ?? "");
  const ephemeral = await subtle.importKey("raw", own(ephemeralField.slice(1)), { name: "X25519" }, false, []);
  let bits: ArrayBuffer;
  try {
    bits = await subtle.deriveBits({ name: "X25519", public: ephemeral }, priv, 256);
  } catch {
    throw new OpenError("The envelope's X25519 ephemeral key gives no shared secret (a low-order point)");
  }
  return { shared: new Uint8Array(bits), publicKey };
}

function secp256k1Shared(privateKey: Uint8Array, ephemeralField: Uint8Array) {
  try {
    return {
      shared: secp256k1.getSharedSecret(privateKey, ephemeralField, true).subarray(1),
      publicKey: secp256k1.getPublicKey(privateKey, true),
    };
  } catch {
    throw new OpenError("The key or the envelope's ephemeral key is not a valid secp256k1 key");
  }
}

async function hkdf(ikm: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", own(ikm), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: own(info) },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

async function aesGcmOpen(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", own(key), "AES-GCM", false, ["decrypt"]);
  return new Uint8Array(
    await crypto.subtle.decrypt({ name: "AES-GCM", iv: own(iv), additionalData: own(aad) }, k, own(sealed)),
  );
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", own(bytes)));
}

// Bytes ---------------------------------------------------------------------------------------------------------------

/** A copy on its own ArrayBuffer (what WebCrypto's types ask for). */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

function hex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function base64url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
