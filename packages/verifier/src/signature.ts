import { createRequire } from "node:module";
import { getAddress, keccak256, recoverAddress, Signature } from "ethers";
import type { Bytes32 } from "@strata/core";

/**
 * Signer recovery for proof signatures: libsecp256k1 through the native binding of the `secp256k1` package (tens of
 * times faster than the JS curve ethers ships) with exactly the acceptance rules of ethers' `Signature.from` and
 * `recoverAddress`, which core's `recoverProofSigner` uses. Anything the native path does not accept as is goes to
 * ethers, so a rejected signature fails with ethers' own error; if the binding does not load on this platform, every
 * signature goes to ethers ({@link signatureRecovery} says which).
 */

type Secp256k1 = typeof import("secp256k1");

/** How signatures are recovered in this process, and why not natively when they are not. */
export interface SignatureRecovery {
  backend: "native" | "ethers";
  /** Why the native binding is not used (its load error). */
  reason?: string;
}

function loadNative(): { native: Secp256k1 | null; recovery: SignatureRecovery } {
  try {
    // The binding itself: the package's main entry silently falls back to a pure-JS build (elliptic) instead.
    const native = createRequire(__filename)("secp256k1/bindings") as Secp256k1;
    return { native, recovery: { backend: "native" } };
  } catch (error) {
    const reason = `the native secp256k1 module did not load (${(error as Error).message.split("\n")[0]})`;
    return { native: null, recovery: { backend: "ethers", reason } };
  }
}

const loaded = loadNative();

/** How this process recovers signatures: `native` (libsecp256k1) or `ethers` (its JS secp256k1, the fallback). */
export const signatureRecovery: Readonly<SignatureRecovery> = loaded.recovery;

/** A note for reports when signatures are recovered by the fallback, else undefined. */
export function recoveryNote(): string | undefined {
  const { backend, reason } = signatureRecovery;
  return backend === "native" ? undefined : `signatures recovered with ethers' JS secp256k1: ${reason}`;
}

const SIGNATURE_HEX = /^0x[0-9a-fA-F]{130}$/;

/**
 * The signer of `commitment` by `signature` (65 bytes, r s v), as ethers' `recoverAddress` (after `Signature.from`)
 * returns it: checksummed. Throws for what ethers rejects (not 65 bytes of hex, an s with its top bit set, a v other
 * than 0, 1, 27, 28 or an EIP-155 one, r or s out of range, no point for r), with ethers' error.
 */
export function recoverSignerFast(commitment: Bytes32, signature: string, native = loaded.native): string {
  if (native === null || typeof signature !== "string" || !SIGNATURE_HEX.test(signature)) {
    return recoverSignerEthers(commitment, signature);
  }
  const bytes = Buffer.from(signature.slice(2), "hex");
  const v = bytes[64];
  // Signature.from rejects an s with the top bit set ("non-canonical s") and a v in 2..26 or 29..34 ("invalid v").
  if (bytes[32] >= 0x80 || (v > 1 && v < 27) || (v > 28 && v < 35)) return recoverSignerEthers(commitment, signature);
  // Signature.getNormalizedV: 0 and 27 are y parity 0, 1 and 28 are 1; an EIP-155 v is 0 when odd, 1 when even.
  const yParity = v === 0 || v === 27 ? 0 : v === 1 || v === 28 ? 1 : (v & 1) === 1 ? 0 : 1;
  const digest = typeof commitment === "string" && /^0x[0-9a-fA-F]{64}$/.test(commitment) ? commitment : null;
  if (digest === null) return recoverSignerEthers(commitment, signature);
  let publicKey: Uint8Array;
  try {
    publicKey = native.ecdsaRecover(bytes.subarray(0, 64), yParity, Buffer.from(digest.slice(2), "hex"), false);
  } catch {
    // r or s out of range, or no curve point: ethers rejects it as well, with its own error.
    return recoverSignerEthers(commitment, signature);
  }
  return addressOf(publicKey);
}

/** The same recovery through ethers alone: what core does, and the fallback. */
export function recoverSignerEthers(commitment: Bytes32, signature: string): string {
  const parsed = Signature.from(signature);
  // Reading `.s` throws for a non-canonical (high) s.
  return recoverAddress(commitment, { r: parsed.r, s: parsed.s, v: parsed.v });
}

/** Addresses of recovered public keys (a batch is signed by a handful of nodes): a pure function's memo, bounded. */
const ADDRESSES = new Map<string, string>();
const MAX_ADDRESSES = 1024;

/** The checksummed address of a 65-byte uncompressed public key: the last 20 bytes of keccak256 of X || Y. */
function addressOf(publicKey: Uint8Array): string {
  const key = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString("hex");
  let address = ADDRESSES.get(key);
  if (address === undefined) {
    address = getAddress(`0x${keccak256(publicKey.subarray(1)).slice(-40)}`);
    if (ADDRESSES.size >= MAX_ADDRESSES) ADDRESSES.clear();
    ADDRESSES.set(key, address);
  }
  return address;
}

/** Checksummed addresses by their input string (the same node in every proof of a batch): a memo of `getAddress`. */
const CHECKSUMMED = new Map<string, string>();

/** `getAddress(address)`, memoized. */
export function checksummed(address: string): string {
  let result = CHECKSUMMED.get(address);
  if (result === undefined) {
    result = getAddress(address);
    if (CHECKSUMMED.size >= MAX_ADDRESSES) CHECKSUMMED.clear();
    CHECKSUMMED.set(address, result);
  }
  return result;
}
