/**
 * @strata/core — typed registry clients over the typechain bindings, TypeScript twins of the on-chain ids, the
 * inference proof format (hashing, EIP-712 commitment and signature, canonical serialization) and Merkle proof batches.
 */
export * from "./errors";
export * from "./ids";
export * from "./blob-id";
export { canonicalJson, canonicalJsonBytes, type JsonValue } from "./json";
export * from "./tensor";
export * from "./proof";
export { PROOF_V2_MAGIC, isBinaryProof } from "./proof-binary";
export * from "./onchain-tensors";
export * from "./batch";
export * from "./metadata";
export { Transaction, Base, minedOf, type Mined, type ClientOptions, type TxOverrides } from "./transaction";
export * from "./models";
export * from "./nodes";
export * from "./proofs";
export * from "./client";
export * from "./rpc";
export { Memo, type MemoOptions } from "./memo";
export * from "./privacy";
export * from "./private-proof";
export * from "./equivocation";
