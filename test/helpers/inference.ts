/**
 * On-chain forms of core's proof values, for the InferenceRequests and ProofDigest tests: tensors as
 * `abi.encode(ProofDigest.Tensor[])` (sorted by UTF-8 name, raw element bytes) and a proof document's EIP-712 message as
 * the `ProofDigest.Proof` struct. Everything is derived from `@strata/core` (`tensorBytes`, `proofTypedData`), never
 * recomputed here.
 */
import { AbiCoder, hexlify } from "ethers";
import {
  proofTypedData,
  tensorBytes,
  type InferenceProof,
  type Tensor,
  type UnsignedInferenceProof,
} from "@strata/core";

/** The ABI type of an encoded tensor set (`ProofDigest.Tensor[]`). */
export const TENSORS_ABI = "tuple(string name,string dtype,uint256[] dims,bytes data)[]";

/** `ProofDigest.Proof`, as ethers passes a struct. */
export interface ProofStruct {
  version: number;
  modelId: string;
  modelVersion: number;
  modelBlobId: string;
  modelSha256: string;
  modelRegistry: string;
  inputHash: string;
  outputHash: string;
  runtimeHash: string;
  node: string;
  timestamp: number;
  requestId: string;
}

/** `tensors` as a `ProofDigest.Tensor[]`, sorted by name as core sorts them (byte-wise on UTF-8). */
export function chainTensors(
  tensors: readonly Tensor[],
): { name: string; dtype: string; dims: number[]; data: string }[] {
  return [...tensors]
    .sort((a, b) => Buffer.compare(Buffer.from(a.name, "utf8"), Buffer.from(b.name, "utf8")))
    .map((t) => ({ name: t.name, dtype: t.dtype, dims: [...t.dims], data: hexlify(tensorBytes(t)) }));
}

/** `abi.encode(ProofDigest.Tensor[])` of `tensors`, sorted by name. */
export function encodeTensors(tensors: readonly Tensor[]): string {
  const sorted = chainTensors(tensors).map((t) => [t.name, t.dtype, t.dims, t.data]);
  return AbiCoder.defaultAbiCoder().encode([TENSORS_ABI], [sorted]);
}

/** The `ProofDigest.Proof` of a proof document: its EIP-712 message as core computes it. */
export function proofStruct(doc: UnsignedInferenceProof | InferenceProof): ProofStruct {
  const m = proofTypedData(doc).message;
  return { ...m };
}
