import type { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { BatchRoot, Bytes32, Commitment } from "../ids";
import type { InferenceProof } from "../proof";
import type { BatchLeaf, BatchTreeDump } from "./tree";

/**
 * # Proof batches
 *
 * A batch is one Walrus blob holding many proofs and the Merkle tree over their commitments; the chain holds the root
 * (`ProofRegistry.anchorBatch`) and checks inclusion (`ProofRegistry.isIncluded`).
 *
 * Every layout is a version behind one interface, {@link BatchFormat}: a writer ({@link BatchFormat.build}), a strict
 * reader ({@link BatchFormat.decode}: the whole blob checked), a lenient reader ({@link BatchFormat.inspect}: the
 * outer shape only, for verifying one proof of a batch whose other proofs need not be valid) and inclusion proofs
 * (`ProofBatch.inclusions`, `merkleProofAt` over an inspection). `index.ts` dispatches on the blob's `version`; a new
 * layout is one more entry in its table, not another reader.
 *
 * Version 1 is the canonical JSON (see `json.ts`) of `{ version: 1, kind: "strata.proof-batch", root, tree, proofs }`
 * (see `v1.ts`).
 *
 * Version 2 is not one blob but a list of quilts (see `v2.ts`: `buildBatchV2`, `decodeBatchIndex`, `inspectBatchIndex`,
 * `inclusionOf`, `decodeBatchQuilt`), so it is not a {@link BatchFormat}; the blob readers here refuse an index patch
 * with a message that says so.
 */

/** The `kind` of a proof batch document. */
export const BATCH_KIND = "strata.proof-batch";

/** The batch format versions. */
export enum BatchVersion {
  V1 = 1,
  /** A list of Walrus quilts: one patch per proof plus an index patch per quilt (see `v2.ts`). */
  V2 = 2,
}

/** The batch document (v1), as stored on Walrus. */
export interface ProofBatchDocumentV1 {
  version: BatchVersion.V1;
  kind: typeof BATCH_KIND;
  root: BatchRoot;
  tree: BatchTreeDump;
  proofs: InferenceProof[];
  /** The salt, the tree's last value (see `v1.ts`); absent in an unsalted batch. */
  salt?: Bytes32;
}

/** A batch document of any version this library reads. */
export type ProofBatchDocument = ProofBatchDocumentV1;

/** Options of `buildBatch`. */
export interface BuildBatchOptions {
  /** A salt (bytes32, not any proof's commitment) added as one extra tree value: the root changes. */
  salt?: Bytes32;
  /** The format version to write (default: the latest, {@link BatchVersion.V1}). */
  version?: BatchVersion;
}

/** Where a proof sits in a batch, and the Merkle proof that `ProofRegistry.isIncluded` accepts. */
export interface BatchInclusion {
  root: BatchRoot;
  /** The proof's position in the batch's `proofs`. */
  index: number;
  commitment: Commitment;
  /** The Merkle leaf of the commitment (`leafOf`). */
  leaf: Bytes32;
  /** The sibling hashes from the leaf up to the root. */
  proof: Bytes32[];
}

/** A batch, built or decoded (everything in it checked). */
export interface ProofBatch {
  version: BatchVersion;
  root: BatchRoot;
  /** The number of proofs: the `count` to anchor. */
  count: number;
  proofs: InferenceProof[];
  /** `commitments[i]` is the commitment of `proofs[i]`. */
  commitments: Commitment[];
  /** The OpenZeppelin tree object, built on first use. */
  tree: StandardMerkleTree<BatchLeaf>;
  /** `inclusions[i]` proves that `proofs[i]` is in the batch. */
  inclusions: BatchInclusion[];
  document: ProofBatchDocument;
  /** The blob bytes: canonical JSON from `buildBatch`; the bytes given to `decodeBatch`. */
  bytes: Uint8Array;
  /** The salt of a salted batch (the tree's last value, not a proof). */
  salt?: Bytes32;
}

/** One leaf of a stored batch tree, as the lenient reader sees it: a commitment and where its node sits. */
export interface BatchLeafEntry {
  commitment: Commitment;
  treeIndex: number;
}

/**
 * The outer shape of a batch blob, read leniently ({@link BatchFormat.inspect}): nothing in it is proven. The proofs
 * are raw documents, to be checked one by one (`validateProof`, `proofCommitment`); a proof's inclusion is proven by
 * `merkleProofAt(inspection.nodes, leaf.treeIndex)` checked against the anchored root (`provesBatchInclusion`,
 * `ProofRegistry.isIncluded`): a tree that lies gives a proof that fails.
 */
export interface BatchInspection {
  version: BatchVersion;
  /** The root the document declares (the anchored root is what counts); not checked to be bytes32. */
  root: string;
  /** `leaves[i]` is the commitment of `proofs[i]` according to the tree (the salt's leaf excluded). */
  leaves: BatchLeafEntry[];
  /** The tree's node hashes, root first (OpenZeppelin's array layout), as stored: unchecked strings. */
  nodes: string[];
  /** The proof documents, unchecked. */
  proofs: unknown[];
  /** The salt of a salted batch: the tree's last value, which is not a proof (and not in `leaves`). */
  salt?: Bytes32;
}

/** One batch layout: its writer, strict reader and lenient reader. */
export interface BatchFormat {
  readonly version: BatchVersion;
  /** Builds a batch of `proofs` (checked: shape and hashes; unique commitments; at least one). */
  build(proofs: readonly InferenceProof[], options: Omit<BuildBatchOptions, "version">): ProofBatch;
  /** Checks a parsed document of this version entirely; `bytes` are the blob's bytes. */
  decode(document: Record<string, unknown>, bytes: Uint8Array): ProofBatch;
  /** Reads a parsed document of this version leniently (see {@link BatchInspection}). */
  inspect(document: Record<string, unknown>): BatchInspection;
}
