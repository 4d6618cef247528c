/** Deterministic test values: Blob IDs, digests, commitments, and the id derivations the contracts make. */
import { AbiCoder, keccak256, sha256, toUtf8Bytes, ZeroHash } from "ethers";

/** The zero bytes32, which every registry rejects as a Blob ID, digest, commitment or root. */
export const ZERO_BYTES32 = ZeroHash;

/** A non-zero Blob ID derived from `label` (the raw 32 bytes, as the contracts store them). */
export function blobIdOf(label: string): string {
  return keccak256(toUtf8Bytes(`blob:${label}`));
}

/** The sha256 commitment of the file bytes `content`. */
export function sha256Of(content: string): string {
  return sha256(toUtf8Bytes(content));
}

/** A non-zero proof commitment derived from `label`. */
export function commitmentOf(label: string): string {
  return keccak256(toUtf8Bytes(`proof:${label}`));
}

/** `keccak256(abi.encode(creator, name))`: the model id `createModel(name)` gives `creator`, computed off-chain. */
export function modelIdOf(creator: string, name: string): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["address", "string"], [creator, name]));
}

/**
 * A small deterministic pseudo-random generator (mulberry32), so sampled indices are the same on every run and a
 * failure can be reproduced.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
