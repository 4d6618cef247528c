import {
  BATCH_INDEX_IDENTIFIER,
  decodeBatchIndex,
  decodeAnyProof,
  inclusionOf,
  NotInBatchError,
  StrataError,
  validateAnyProofForCommitment,
  type BatchRoot,
  type BlobId,
  type Bytes32,
  type Commitment,
} from "@strata/core";
import {
  BlobIntegrityError,
  BlobNotFoundError,
  BlobTooLargeError,
  QuiltPatchNotFoundError,
  WalrusHttpError,
  type QuiltPatchId,
  type WalrusClient,
} from "@strata/walrus";
import { PatchRejectedError } from "./errors";

/**
 * # Patch reads
 *
 * The two patches a proof in a quilt is verified from: its own (identifier = its commitment) and its quilt's index
 * patch. Each read goes through `WalrusClient.readPatch` with a check of the bytes served (a patch ID is a position,
 * not a hash, so nothing served is taken on trust): the proof's patch must commit to the commitment asked, the index
 * must be a batch index of the anchored root. Bytes that fail the check make the client try the next aggregator; when
 * none serves bytes that pass, the last bytes served are kept, with why they failed, so that the verification's steps
 * say what is wrong with them (a corrupted patch fails the commitment step, a lying index the inclusion step).
 */

/** The identifier of a quilt's index patch. */
export const QUILT_INDEX_IDENTIFIER = BATCH_INDEX_IDENTIFIER;

/** A patch read, or why none could be. */
export type PatchLookup =
  | {
      found: true;
      bytes: Uint8Array;
      identifier: string;
      patchId?: QuiltPatchId;
      /** Why the bytes failed the read's check (they are the last ones served), when they did. */
      rejected?: string;
    }
  | { found: false; why: string };

/**
 * A quilt's index patch read: core's reading of it (`view`, unless it failed the check), or why none was read. An
 * aggregator that fails (5xx) to serve a blob's index patch is kept as `serverError`: for a blob whose format is being
 * told (v1 blob or quilt?) it means "not readable as a quilt", and the blob is then read whole; for a known quilt the
 * error is rethrown (the aggregator is unreachable).
 */
export type IndexLookup =
  (Extract<PatchLookup, { found: true }> & { view?: IndexView }) | { found: false; why: string; serverError?: unknown };

/** What the verifier uses of a quilt's index patch. */
export interface IndexView {
  /** The root it declares (the anchored root is what counts). */
  root: string;
  /** This quilt's position among the quilts of the root, and how many there are. */
  quilt: number;
  quilts: number;
  /** The proofs under the root, in every quilt. */
  count: number;
  /** The commitments of this quilt's proofs, in tree order (a salt excluded). */
  values: Commitment[];
  /** The Merkle proof of `commitment` under the root (its subtree proof, then the quilt's path), else null. */
  proofOf(commitment: Commitment): Bytes32[] | null;
}

/** Reads `ref` checked by `check` (undefined: the bytes pass; else why not), counting the bytes served. */
export async function readCheckedPatch(
  walrus: WalrusClient,
  ref: QuiltPatchId | { quiltId: BlobId; identifier: string },
  check: (bytes: Uint8Array) => string | undefined,
  options: { maxBytes: number; count: (bytes: number) => void; keepServerErrors?: boolean },
): Promise<PatchLookup | { found: false; why: string; serverError: unknown }> {
  let last: { bytes: Uint8Array; identifier: string; rejected: string } | undefined;
  try {
    const read = await walrus.readPatch(ref, {
      maxBytes: options.maxBytes,
      verify: (bytes, identifier) => {
        options.count(bytes.byteLength);
        const rejected = check(bytes);
        if (rejected === undefined) return;
        last = { bytes, identifier, rejected };
        throw new PatchRejectedError(typeof ref === "string" ? ref : `${ref.quiltId}/${ref.identifier}`, rejected);
      },
    });
    return {
      found: true,
      bytes: read.bytes,
      identifier: read.identifier,
      ...(read.patchId === undefined ? {} : { patchId: read.patchId }),
    };
  } catch (error) {
    if (last !== undefined) return { found: true, ...last };
    if (error instanceof QuiltPatchNotFoundError || error instanceof BlobNotFoundError) {
      return { found: false, why: "not found (never stored, expired or deleted)" };
    }
    if (error instanceof BlobIntegrityError && error.failure === "identifier") {
      return {
        found: false,
        why: `every aggregator answered with another patch (X-Quilt-Patch-Identifier ${error.actual})`,
      };
    }
    if (options.keepServerErrors && error instanceof WalrusHttpError && error.status >= 500) {
      return { found: false, why: `the aggregator answered HTTP ${error.status}`, serverError: error };
    }
    if (error instanceof BlobTooLargeError) {
      return { found: false, why: `over the verifier's cap of ${options.maxBytes} bytes (maxBlobBytes)` };
    }
    throw error;
  }
}

/** Why `bytes` are not a valid batch index of `root`, else undefined (with core's reading of them). */
export function readIndex(bytes: Uint8Array, root: BatchRoot): { view?: IndexView; rejected?: string } {
  let view: IndexView;
  try {
    view = viewIndex(bytes);
  } catch (error) {
    if (error instanceof StrataError) return { rejected: error.message };
    throw error;
  }
  if (view.root.toLowerCase() !== root) {
    return { view, rejected: `it declares root ${view.root}, not the anchored ${root}` };
  }
  return { view };
}

/** Why the patch `bytes` is not a proof document that commits to `commitment`, else undefined. */
export function patchCommitsTo(bytes: Uint8Array, commitment: Commitment): string | undefined {
  let recomputed: Commitment;
  try {
    recomputed = validateAnyProofForCommitment(decodeAnyProof(bytes)).commitment();
  } catch (error) {
    if (error instanceof StrataError) return `not a valid proof document (${error.message})`;
    throw error;
  }
  return recomputed === commitment ? undefined : `it commits to ${recomputed}`;
}

/** Core's strict reading of an index patch (`decodeBatchIndex`: canonical JSON, a valid tree, a path to its root). */
function viewIndex(bytes: Uint8Array): IndexView {
  const index = decodeBatchIndex(bytes);
  return {
    root: index.root,
    quilt: index.quilt,
    quilts: index.quilts,
    count: index.count,
    values: index.commitments,
    proofOf: (commitment) => {
      try {
        return inclusionOf(index, commitment).proof;
      } catch (error) {
        if (error instanceof NotInBatchError) return null;
        throw error;
      }
    },
  };
}
