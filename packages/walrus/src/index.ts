/**
 * `@strata/walrus`: true Walrus Blob IDs (computed off the event loop and memoized), a verified client of Walrus
 * publishers and aggregators, and a local Walrus-compatible store for devnets and tests.
 */
// The Blob ID codec is core's (one definition); the forms Walrus speaks are re-exported here.
export {
  BLOB_ID_BYTES,
  BLOB_ID_LENGTH,
  blobIdFromBytes,
  blobIdFromU256,
  blobIdToBytes,
  blobIdToU256,
  isBlobId,
  parseBlobId,
  type BlobId,
  /** @deprecated The same type as `BlobId`: use that. */
  type BlobId as BlobIdString,
} from "@strata/core";
export {
  DEFAULT_SHARDS,
  MAX_SHARDS,
  MAX_WASM_BLOB_SIZE,
  MIN_SHARDS,
  assertEncodable,
  encodedBlobLength,
  maxBlobSize,
  sourceSymbols,
  symbolSize,
} from "./encoding";
export {
  EncoderPool,
  blobId,
  blobMetadata,
  blobMetadataOfFile,
  closeDefaultEncoderPool,
  defaultEncoderPool,
  sha256File,
  sha256Hex,
  type BlobMetadata,
  type ComputeOptions,
  type EncoderPoolOptions,
  type PoolStats,
} from "./encoder-pool";
export {
  WalrusClient,
  type ReadOptions,
  type ReadToFileResult,
  type StoreOptions,
  type StoreResult,
  type TransferProgress,
  type WalrusClientOptions,
} from "./client";
export {
  DEFAULT_EPOCH_MS,
  DEFAULT_LOCAL_MAX_BLOB_SIZE,
  startLocalWalrus,
  type LocalWalrus,
  type LocalWalrusOptions,
} from "./server";
export { type LocalBlobLifetime } from "./epochs";
export { advanceLocalEpochs, localBlobLifetime } from "./epochs-client";
export {
  MAX_QUILT_IDENTIFIER_BYTES,
  MAX_QUILT_TAGS_BYTES,
  QUILT_PATCH_ID_BYTES,
  QUILT_PATCH_ID_LENGTH,
  QUILT_VERSION_V1,
  decodeQuilt,
  encodeQuilt,
  isQuiltPatchId,
  maxQuiltPatches,
  parseQuiltPatchId,
  quiltPatchId,
  quiltSize,
  type DecodedQuilt,
  type EncodedQuilt,
  type QuiltOptions,
  type QuiltPatchEntry,
  type QuiltPatchId,
  type QuiltPatchInput,
} from "./quilt";
export type {
  ListedPatch,
  PatchIntegrity,
  PatchRead,
  PatchRef,
  QuiltStoreResult,
  RangeRead,
  ReadPatchOptions,
  StoredQuiltPatch,
} from "./quilt-client";
export {
  InvalidQuiltError,
  InvalidQuiltPatchIdError,
  QuiltFormatError,
  QuiltPatchMismatchError,
  QuiltPatchNotFoundError,
  type QuiltInputProblem,
} from "./quilt-errors";
export {
  LOCAL_WALRUS,
  LOCAL_WALRUS_PORT,
  networkClockFor,
  WALRUS_MAINNET_EPOCHS,
  WALRUS_NETWORKS,
  WALRUS_TESTNET,
  WALRUS_TESTNET_EPOCHS,
  type WalrusNetworkConfig,
} from "./config";
export {
  describeEpoch,
  epochAt,
  epochStartDate,
  EpochUnknownError,
  formatEpochDate,
  LocalNetworkClock,
  localNetworkClock,
  MAX_EPOCHS_AHEAD,
  ScheduleClock,
  scheduleClock,
  type EpochNow,
  type EpochSchedule,
  type LocalClockReading,
  type NetworkClock,
} from "./network-clock";
export type {
  AlreadyCertifiedResponse,
  BlobObject,
  BlobStoreResult,
  MarkedInvalidResponse,
  NewlyCreatedResponse,
  ResourceOperation,
  StoreFailedResponse,
  StoreResponse,
  WalrusErrorBody,
} from "./api";
export {
  BlobIntegrityError,
  BlobMarkedInvalidError,
  BlobNotFoundError,
  BlobTooLargeError,
  InvalidBlobIdError,
  LocalStoreError,
  PublisherMismatchError,
  WalrusError,
  WalrusHttpError,
  WalrusNetworkError,
  WalrusResponseError,
  WalrusInternalError,
  WalrusStoreFailedError,
  WalrusTimeoutError,
  type IntegrityFailure,
  type WalrusErrorCode,
} from "./errors";
