import { AbiCoder, getAddress, isAddress, keccak256, ZeroHash } from "ethers";
import { InvalidArgumentError } from "./errors";
import { keccak256Bytes, keccak256Hex, writeHex } from "./keccak";

/**
 * TypeScript twins of every id the registries derive on-chain, plus the bytes32 checks every other module uses.
 * Each twin has a parity test against the deployed contract.
 */

/** A 32-byte value as `0x` + 64 lowercase hex digits. */
export type Bytes32 = string;

/**
 * A branded type: `T` tagged with `B`, so two ids of the same representation cannot be mixed up (passing a
 * {@link Commitment} where a {@link BatchRoot} is expected is a compile error). A plain `T` is not a branded value: get
 * one from the checked conversions (`toModelId`, `toCommitment`, `toBatchRoot`, `parseBlobId`) or from the functions
 * that derive it. A branded value is still a `T` wherever a plain one is expected.
 */
export type Brand<T, B extends string> = T & { readonly __brand: B };

/** A model id: `keccak256(abi.encode(address creator, string name))` (Solidity `ModelId`), lowercase bytes32 hex. */
export type ModelId = Brand<Bytes32, "ModelId">;
/** An inference proof commitment (the EIP-712 digest of a proof; Solidity `Commitment`), lowercase bytes32 hex. */
export type Commitment = Brand<Bytes32, "Commitment">;
/** The Merkle root of a proof batch (Solidity `BatchRoot`), lowercase bytes32 hex. */
export type BatchRoot = Brand<Bytes32, "BatchRoot">;
/**
 * The raw 32 bytes of a Walrus Blob ID as bytes32 hex (Solidity `BlobId`), never the UTF-8 of its base64url text. Only
 * the codec (`blob-id.ts`) and the registry clients handle this form; everything else holds a {@link BlobId}.
 */
export type BlobIdHex = Brand<Bytes32, "BlobIdHex">;

const abi = AbiCoder.defaultAbiCoder();
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** Whether `value` is `0x` followed by exactly 64 hex digits (either case). */
export function isBytes32Hex(value: unknown): value is Bytes32 {
  return typeof value === "string" && BYTES32.test(value);
}

/** `value` as lowercase bytes32 hex; throws {@link InvalidArgumentError} naming `argument` when it is not one. */
export function toBytes32(value: unknown, argument = "bytes32"): Bytes32 {
  if (!isBytes32Hex(value)) {
    throw new InvalidArgumentError(argument, value, "expected 0x followed by 64 hex digits (32 bytes)");
  }
  return value.toLowerCase();
}

/** Like {@link toBytes32}, and rejects the zero value (never a valid Blob ID, commitment or root). */
export function toNonZeroBytes32(value: unknown, argument = "bytes32"): Bytes32 {
  const hex = toBytes32(value, argument);
  if (hex === ZeroHash) throw new InvalidArgumentError(argument, value, "must not be zero");
  return hex;
}

/** `value` as a {@link ModelId} (lowercase bytes32 hex); throws {@link InvalidArgumentError} naming `argument`. */
export function toModelId(value: unknown, argument = "modelId"): ModelId {
  return toBytes32(value, argument) as ModelId;
}

/** `value` as a {@link Commitment} (lowercase bytes32 hex); throws {@link InvalidArgumentError} naming `argument`. */
export function toCommitment(value: unknown, argument = "commitment"): Commitment {
  return toBytes32(value, argument) as Commitment;
}

/** `value` as a {@link BatchRoot} (lowercase bytes32 hex); throws {@link InvalidArgumentError} naming `argument`. */
export function toBatchRoot(value: unknown, argument = "root"): BatchRoot {
  return toBytes32(value, argument) as BatchRoot;
}

/**
 * `value` (bytes32 hex) as a {@link BlobIdHex}: a check of the form, not a conversion (the conversions from and to a
 * Blob ID are the codec's, `blob-id.ts`). Throws {@link InvalidArgumentError} naming `argument`.
 */
export function toBlobIdHex(value: unknown, argument = "blobId"): BlobIdHex {
  return toBytes32(value, argument) as BlobIdHex;
}

/** The largest Walrus epoch the registries can record (`uint32`). */
export const MAX_END_EPOCH = 2 ** 32 - 1;

/**
 * `value` as a Walrus end epoch (exclusive: the blob expires at the start of that epoch): a positive integer below
 * 2^32, as the registries store it. Throws {@link InvalidArgumentError} naming `argument`.
 */
export function toEndEpoch(value: unknown, argument = "endEpoch"): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_END_EPOCH) {
    throw new InvalidArgumentError(
      argument,
      value,
      "expected a Walrus epoch: an integer from 1 to 2^32 - 1 (the endEpoch of the Walrus store answer)",
    );
  }
  return value;
}

/** `value` as a checksummed address; throws {@link InvalidArgumentError} naming `argument` when it is not one. */
export function toAddress(value: unknown, argument = "address"): string {
  if (typeof value !== "string" || !isAddress(value)) {
    throw new InvalidArgumentError(
      argument,
      value,
      "expected a 20-byte hex address (with a valid checksum if mixed case)",
    );
  }
  return getAddress(value);
}

/** The id of the model `name` created by `creator`: twin of `ModelRegistry.modelIdOf` / `ModelIdLib.derive`. */
export function modelIdOf(creator: string, name: string): ModelId {
  return keccak256(abi.encode(["address", "string"], [toAddress(creator, "creator"), name])) as ModelId;
}

/**
 * The key of a model version in the registry's storage, `keccak256(abi.encode(modelId, blobId))`: twin of
 * `ModelRegistry._versionKey`. A model cannot hold the same Blob ID twice, so this names a version uniquely.
 */
export function versionKeyOf(modelId: ModelId, blobId: BlobIdHex): Bytes32 {
  return keccak256(abi.encode(["bytes32", "bytes32"], [toBytes32(modelId, "modelId"), toBytes32(blobId, "blobId")]));
}

/**
 * The Merkle leaf of a proof commitment in a batch tree, `keccak256(bytes.concat(keccak256(abi.encode(commitment))))`:
 * twin of `ProofRegistry.leafOf`, and the leaf hash of an OpenZeppelin `StandardMerkleTree` with encoding `["bytes32"]`.
 */
export function leafOf(commitment: Bytes32): Bytes32 {
  // abi.encode(bytes32) is the 32 bytes themselves.
  const encoded = new Uint8Array(32);
  writeHex(toBytes32(commitment, "commitment"), encoded, 0, 32);
  return keccak256Hex(keccak256Bytes(encoded));
}

/** A model reference resolved to an id, with the creator and name when the reference named them. */
export interface ParsedModelRef {
  modelId: ModelId;
  creator?: string;
  name?: string;
}

const CREATOR_NAME = /^(0x[0-9a-fA-F]{40})\/(.+)$/s;

/**
 * Parses a model reference without touching the chain:
 * - `0x` + 64 hex digits: a model id;
 * - `<creator address>/<name>`: the model `name` created by `creator` (the id does not change when the model changes
 *   hands, so this is always the creator, not the current owner);
 * - anything else: a bare name, created by `defaultCreator` (required then).
 */
export function parseModelRef(ref: string, defaultCreator?: string): ParsedModelRef {
  if (typeof ref !== "string" || ref.length === 0) {
    throw new InvalidArgumentError("model reference", ref, "expected a model id, creator/name, or a name");
  }
  if (isBytes32Hex(ref)) return { modelId: ref.toLowerCase() as ModelId };
  const match = CREATOR_NAME.exec(ref);
  if (match) {
    const creator = toAddress(match[1], "model reference creator");
    return { modelId: modelIdOf(creator, match[2]), creator, name: match[2] };
  }
  if (defaultCreator === undefined) {
    throw new InvalidArgumentError(
      "model reference",
      ref,
      "a bare name needs a default creator; write it as <creator address>/<name> or pass the model id",
    );
  }
  const creator = toAddress(defaultCreator, "default creator");
  return { modelId: modelIdOf(creator, ref), creator, name: ref };
}
