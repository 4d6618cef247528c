/**
 * The on-chain forms of proof values that InferenceRequests reads (contracts/libraries/ProofDigest.sol):
 * - a tensor set as `abi.encode(ProofDigest.Tensor[])`, sorted by UTF-8 name, each tensor's raw element bytes (what
 *   `tensorBytes` returns): inline inputs, fulfilment outputs, and the input blobs of Walrus requests;
 * - a proof document's EIP-712 message as the `ProofDigest.Proof` struct, as {@link proofTypedData} computes it.
 */
import { AbiCoder, getBytes, hexlify, type BytesLike } from "ethers";
import { InvalidArgumentError } from "./errors";
import {
  proofTypedData,
  type InferenceProof,
  type InferenceProofMessageV1,
  type UnsignedInferenceProof,
} from "./proof";
import { isDtype, tensorBytes, tensorFromBytes, type Tensor } from "./tensor";

/** The ABI type of an encoded tensor set (`ProofDigest.Tensor[]`). */
export const TENSORS_ABI = "tuple(string name,string dtype,uint256[] dims,bytes data)[]";

/** `ProofDigest.Proof`, as ethers passes the struct: the fields of a proof's EIP-712 message, in order. */
export type ProofStruct = InferenceProofMessageV1;

const byName = (a: { name: string }, b: { name: string }) =>
  Buffer.compare(Buffer.from(a.name, "utf8"), Buffer.from(b.name, "utf8"));

/** `abi.encode(ProofDigest.Tensor[])` of `tensors` (hex), sorted by name as core and the contract sort them. */
export function encodeOnchainTensors(tensors: readonly Tensor[]): string {
  const rows = [...tensors].sort(byName).map((t) => [t.name, t.dtype, [...t.dims], hexlify(tensorBytes(t))]);
  return AbiCoder.defaultAbiCoder().encode([TENSORS_ABI], [rows]);
}

/**
 * The tensors of `abi.encode(ProofDigest.Tensor[])`, each checked as core checks a tensor (dtype, shape and data
 * length); throws {@link InvalidArgumentError} (argument `what`) when the bytes are not such an encoding or a tensor
 * is malformed.
 */
export function decodeOnchainTensors(encoded: BytesLike, what = "tensors"): Tensor[] {
  let rows: readonly [string, string, readonly bigint[], string][];
  try {
    rows = AbiCoder.defaultAbiCoder().decode([TENSORS_ABI], getBytes(encoded))[0] as typeof rows;
  } catch (error) {
    throw new InvalidArgumentError(
      what,
      hexlify(getBytes(encoded)).slice(0, 66),
      `not abi.encode(ProofDigest.Tensor[]) (${(error as Error).message.split("(")[0].trim()})`,
    );
  }
  return rows.map(([name, dtype, dims, data]) => {
    if (!isDtype(dtype)) throw new InvalidArgumentError(`${what} ${name}`, dtype, "not a Strata dtype");
    const shape = dims.map((d) => {
      if (d > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentError(`${what} ${name}`, d, "dim too large");
      return Number(d);
    });
    try {
      return tensorFromBytes(name, dtype, shape, getBytes(data));
    } catch (error) {
      throw new InvalidArgumentError(`${what} ${name}`, shape, (error as Error).message);
    }
  });
}

/** The `ProofDigest.Proof` struct of a proof document: its EIP-712 message (hashes recomputed from its contents). */
export function proofStructOf(doc: UnsignedInferenceProof | InferenceProof): ProofStruct {
  return { ...proofTypedData(doc).message };
}
