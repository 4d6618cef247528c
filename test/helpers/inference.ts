/**
 * On-chain forms of core's proof values, for the InferenceRequests and ProofDigest tests: tensors as
 * `abi.encode(ProofDigest.Tensor[])` (sorted by UTF-8 name, raw element bytes) and a proof document's EIP-712 message as
 * the `ProofDigest.Proof` struct. Everything comes from `@strata/core` (`onchain-tensors.ts`), never recomputed here.
 */
import { hexlify } from "ethers";
import { encodeOnchainTensors, proofStructOf, tensorBytes, type Tensor } from "@strata/core";

export { TENSORS_ABI, type ProofStruct } from "@strata/core";

/** `tensors` as a `ProofDigest.Tensor[]`, sorted by name as core sorts them (byte-wise on UTF-8). */
export function chainTensors(
  tensors: readonly Tensor[],
): { name: string; dtype: string; dims: number[]; data: string }[] {
  return [...tensors]
    .sort((a, b) => Buffer.compare(Buffer.from(a.name, "utf8"), Buffer.from(b.name, "utf8")))
    .map((t) => ({ name: t.name, dtype: t.dtype, dims: [...t.dims], data: hexlify(tensorBytes(t)) }));
}

/** `abi.encode(ProofDigest.Tensor[])` of `tensors`, sorted by name (core's `encodeOnchainTensors`). */
export const encodeTensors = encodeOnchainTensors;

/** The `ProofDigest.Proof` of a proof document: its EIP-712 message as core computes it (core's `proofStructOf`). */
export const proofStruct = proofStructOf;
