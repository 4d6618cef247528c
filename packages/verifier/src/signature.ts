import { createRequire } from "node:module";
import { getAddress, keccak256, recoverAddress } from "ethers";
import { assertCanonicalSignature, type Bytes32 } from "@strata/core";

/**
 * Signer recovery for proof signatures: libsecp256k1 through the native binding of the `secp256k1` package (tens of
 * times faster than the JS curve ethers ships) with exactly the acceptance rules of core's `recoverProofSigner`: core's
 * `assertCanonicalSignature` first (low s, v 27 or 28, r and s in range: any other encoding of a signature is refused
 * with its typed error naming the value), then recovery. Anything the native path cannot recover goes to ethers, so a
 * rejected signature fails with ethers' own error; if the binding does not load on this platform, every signature goes
 * to ethers ({@link signatureRecovery} says which).
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

/**
 * The signer of `commitment` by `signature` (65 bytes, r s v), checksummed, as core's `recoverProofSigner` recovers
 * it. Throws core's `NonCanonicalSignatureError` (naming the part and its value) for a signature not in canonical form
 * (not 65 bytes of hex, r or s out of range, s above n/2, v other than 27 or 28), and ethers' error for one with no
 * point for r or a digest that is not 32 bytes.
 */
export function recoverSignerFast(commitment: Bytes32, signature: string, native = loaded.native): string {
  assertCanonicalSignature(signature);
  if (native === null) return recoverSignerEthers(commitment, signature);
  const bytes = Buffer.from(signature.slice(2), "hex");
  const yParity = bytes[64] - 27;
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
  assertCanonicalSignature(signature);
  return recoverAddress(commitment, signature);
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
