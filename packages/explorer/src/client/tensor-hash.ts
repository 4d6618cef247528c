/**
 * A tensor's committed hash in the page: keccak256 of core's own `tensorHashPreimage` (packages/core/src/tensor-abi.ts,
 * the module `hashTensor` uses, bundled here) with @noble's keccak. The page checks each tensor it opens from an
 * envelope against the hash the signed proof commits to. The browser test checks it against core.
 */
import { keccak_256 } from "@noble/hashes/sha3";
import { tensorHashPreimage } from "@strata/core/src/tensor-abi";

/** `0x` + 64 hex digits: the hash of the tensor `name` (`dtype`, `dims`) whose element bytes are `bytes`. */
export function tensorHash(name: string, dtype: string, dims: readonly number[], bytes: Uint8Array): string {
  const digest = keccak_256(tensorHashPreimage(name, dtype, dims, keccak_256(bytes)));
  return `0x${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
