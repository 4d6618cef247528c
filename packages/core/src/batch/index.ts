import { BatchFormatError, NotInBatchError, UnsupportedVersionError } from "../errors";
import { toCommitment, type Commitment } from "../ids";
import { parseJson } from "../json";
import { kind } from "../shape";
import type { InferenceProof } from "../proof";
import {
  BATCH_KIND,
  BatchVersion,
  type BatchFormat,
  type BatchInclusion,
  type BatchInspection,
  type BuildBatchOptions,
  type ProofBatch,
} from "./format";
import { batchFormatV1 } from "./v1";
import { BATCH_INDEX_IDENTIFIER, isBatchIndex } from "./v2";

export * from "./format";
export {
  BATCH_INDEX_IDENTIFIER,
  DEFAULT_MAX_PER_QUILT,
  DEFAULT_MAX_QUILT_BYTES,
  BATCH_INDEX_MAGIC,
  batchIndexPatchSize,
  isBatchIndex,
  buildBatchV2,
  decodeBatchIndex,
  decodeBatchQuilt,
  inclusionOf,
  inspectBatchIndex,
  planBatchV2,
  type BatchIndexHeaderV2,
  type BatchIndexInspection,
  type BatchIndexV2,
  type BatchInclusionV2,
  type BatchPatch,
  type BatchQuiltContents,
  type BatchQuiltV2,
  type BuildBatchV2Options,
  type EncodedProofV2,
  type ProofBatchV2,
  type QuiltPlanItem,
  type QuiltPlanOptions,
  type QuiltRange,
  type QuiltSizeOf,
} from "./v2";
export {
  BATCH_LEAF_ENCODING,
  BatchTree,
  merkleProofAt,
  provesBatchInclusion,
  verifyBatchInclusion,
  type BatchLeaf,
  type BatchTreeDump,
} from "./tree";

/** Every batch layout this library reads and writes, by version. A new layout is one more entry here. */
export const BATCH_FORMATS: ReadonlyMap<BatchVersion, BatchFormat> = new Map([[BatchVersion.V1, batchFormatV1]]);

/** Every batch version this library reads. */
export const SUPPORTED_BATCH_VERSIONS: readonly BatchVersion[] = [...BATCH_FORMATS.keys()];

/** The version written when none is asked for. */
export const LATEST_BATCH_VERSION = BatchVersion.V1;

/**
 * Builds a batch of `proofs` (at least one, no two with the same commitment). Every proof is checked: its shape, and
 * that its stored hashes match its data (signatures are the verifier's concern). `options.salt` seals a salted batch;
 * `options.version` picks the layout (default {@link LATEST_BATCH_VERSION}).
 */
export function buildBatch(proofs: readonly InferenceProof[], options: BuildBatchOptions = {}): ProofBatch {
  const { version = LATEST_BATCH_VERSION, ...rest } = options;
  if (version === BatchVersion.V2) {
    throw new BatchFormatError("version", "is 2: a v2 batch is a list of quilts, built by buildBatchV2, not one blob");
  }
  return formatOf(version).build(proofs, rest);
}

/**
 * The strict reader: reads a batch blob and checks it all (the shape, every proof, the tree against the proofs and the
 * root). Throws {@link BatchFormatError} naming the field (or {@link UnsupportedVersionError} for an unknown version).
 */
export function decodeBatch(input: Uint8Array | string): ProofBatch {
  const { document, format } = open(input, "is not UTF-8 JSON");
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  return format.decode(document, bytes);
}

/**
 * The lenient reader, for inspection and for verifying ONE proof of a batch: the outer shape, the tree's leaves and
 * nodes and the raw proof documents, without requiring the other proofs to be valid or the tree to be consistent (see
 * {@link BatchInspection}). Throws {@link BatchFormatError} naming the field at fault, or
 * {@link UnsupportedVersionError}.
 */
export function inspectBatch(input: Uint8Array | string): BatchInspection {
  const { document, format } = open(input, "is not UTF-8 JSON");
  return format.inspect(document);
}

/** Where `commitment` sits in `batch` and its Merkle proof; throws {@link NotInBatchError} if it is not there. */
export function batchProofFor(batch: ProofBatch, commitment: Commitment): BatchInclusion {
  const wanted = toCommitment(commitment, "commitment");
  const index = batch.commitments.indexOf(wanted);
  if (index < 0) throw new NotInBatchError(wanted, batch.root);
  return batch.inclusions[index];
}

function formatOf(version: unknown): BatchFormat {
  const format = BATCH_FORMATS.get(version as BatchVersion);
  if (format === undefined) throw new UnsupportedVersionError("batch", version, SUPPORTED_BATCH_VERSIONS);
  return format;
}

/** Parses a blob to a JSON object and finds the format of its `version`. */
function open(input: Uint8Array | string, notJson: string): { document: Record<string, unknown>; format: BatchFormat } {
  if (typeof input !== "string" && isBatchIndex(input)) {
    throw new BatchFormatError(
      "$",
      `is the index patch (${BATCH_INDEX_IDENTIFIER}) of a v2 batch quilt, not a v1 batch blob: read it with ` +
        "decodeBatchIndex or inspectBatchIndex, and each proof from its own patch",
    );
  }
  let parsed: unknown;
  try {
    parsed = parseJson(input);
  } catch (error) {
    throw new BatchFormatError("$", `${notJson}: ${(error as Error).message}`, { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new BatchFormatError("$", `must be an object, got ${kind(parsed)}`);
  }
  const document = parsed as Record<string, unknown>;
  if (document.version === undefined) throw new BatchFormatError("version", "is missing");
  if (document.version === BatchVersion.V2 && document.kind === BATCH_KIND) {
    throw new BatchFormatError(
      "version",
      "is 2, but a v2 batch is a list of Walrus quilts, not one JSON blob: read its index patches with " +
        "decodeBatchIndex or inspectBatchIndex, and each proof from its own patch",
    );
  }
  return { document, format: formatOf(document.version) };
}
