import { StrataError } from "@strata/errors";
import {
  BATCH_KIND,
  SUPPORTED_BATCH_VERSIONS,
  isBytes32Hex,
  verifyBatchInclusion,
  type BatchVersion,
  type Bytes32,
} from "@strata/core";

/**
 * A lenient reader of proof batch blobs, for verifying ONE proof of a batch: it reads the batch's outer shape, the leaves
 * of its tree and the raw proof documents, without requiring every other proof of the batch to be valid. Each proof
 * is then checked on its own (core's `validateProof` / `proofCommitment`), and its inclusion is proven against the
 * anchored root with a Merkle proof taken from the stored tree and checked by core's `verifyBatchInclusion` and by
 * `ProofRegistry.isIncluded`: a tree that lies gives a proof that fails, so nothing here is taken on trust.
 * Whole-batch checks use core's strict `decodeBatch`.
 */

/** One leaf of a stored batch tree: a commitment and where its node sits in the tree array. */
export interface BatchLeafEntry {
  commitment: Bytes32;
  treeIndex: number;
}

/** The parts of a batch blob a single-proof verification reads. */
export interface BatchContainer {
  version: BatchVersion;
  /** The root the document declares (the anchored root is what counts). */
  root: string;
  /** `leaves[i]` is the commitment of `proofs[i]` according to the tree. */
  leaves: BatchLeafEntry[];
  /** The tree's node hashes, root first (OpenZeppelin's array layout). */
  nodes: string[];
  /** The proof documents, unchecked. */
  proofs: unknown[];
  /** The salt of a salted batch: the tree's last value, which is not a proof (and not in `leaves`). */
  salt?: Bytes32;
}

/** A batch blob that is not a batch document (not JSON, wrong kind or version, malformed tree or proof list). */
export class BatchContainerError extends StrataError {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super("BATCH_CONTAINER", `${field} ${reason}`);
  }
}

/** Reads the outer shape of a batch blob. Throws {@link BatchContainerError} naming the field at fault. */
export function readBatchContainer(bytes: Uint8Array): BatchContainer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as unknown;
  } catch (error) {
    throw new BatchContainerError("$", `is not UTF-8 JSON: ${(error as Error).message}`);
  }
  const doc = record(parsed, "$");
  if (!SUPPORTED_BATCH_VERSIONS.includes(doc.version as BatchVersion)) {
    throw new BatchContainerError(
      "version",
      `is ${JSON.stringify(doc.version)}; this verifier reads batch version ${SUPPORTED_BATCH_VERSIONS.join(", ")}`,
    );
  }
  if (doc.kind !== BATCH_KIND) {
    throw new BatchContainerError("kind", `must be "${BATCH_KIND}", got ${JSON.stringify(doc.kind)}`);
  }
  if (typeof doc.root !== "string") throw new BatchContainerError("root", "must be a bytes32 hex string");
  const tree = record(doc.tree, "tree");
  if (!Array.isArray(tree.tree) || !tree.tree.every((n) => typeof n === "string")) {
    throw new BatchContainerError("tree.tree", "must be an array of hex node hashes");
  }
  if (!Array.isArray(tree.values)) throw new BatchContainerError("tree.values", "must be an array");
  const leaves = tree.values.map((item: unknown, i): BatchLeafEntry => {
    const at = `tree.values[${i}]`;
    const value = record(item, at);
    const leaf = value.value;
    if (!Array.isArray(leaf) || leaf.length !== 1 || !isBytes32Hex(leaf[0])) {
      throw new BatchContainerError(`${at}.value`, "must hold exactly one bytes32 commitment");
    }
    if (typeof value.treeIndex !== "number" || !Number.isSafeInteger(value.treeIndex) || value.treeIndex < 0) {
      throw new BatchContainerError(`${at}.treeIndex`, "must be a non-negative integer");
    }
    return { commitment: leaf[0].toLowerCase(), treeIndex: value.treeIndex };
  });
  if (!Array.isArray(doc.proofs)) throw new BatchContainerError("proofs", "must be an array");
  let salt: Bytes32 | undefined;
  if (doc.salt !== undefined) {
    // A salted batch (core's buildBatch with a salt): one extra tree value after the proofs', never a proof.
    if (!isBytes32Hex(doc.salt)) throw new BatchContainerError("salt", "must be a bytes32 hex string");
    salt = doc.salt.toLowerCase();
    const last = leaves.pop();
    if (last?.commitment !== salt) {
      throw new BatchContainerError("salt", `must be the tree's last value, which is ${last?.commitment ?? "missing"}`);
    }
  }
  if (doc.proofs.length !== leaves.length) {
    throw new BatchContainerError(
      "proofs",
      `holds ${doc.proofs.length} proofs but the tree has ${leaves.length} leaves${salt === undefined ? "" : " besides its salt"}`,
    );
  }
  return {
    version: doc.version as BatchVersion,
    root: doc.root,
    leaves,
    nodes: tree.tree as string[],
    proofs: doc.proofs,
    ...(salt === undefined ? {} : { salt }),
  };
}

/**
 * The Merkle proof (sibling hashes, leaf to root) of the node at `treeIndex` in a stored tree: OpenZeppelin's array
 * layout, where the node at `i` has its sibling at `i + 1` (odd `i`) or `i - 1` (even `i`) and its parent at
 * `(i - 1) / 2`. A malformed tree gives `null` (a sibling outside the array).
 */
export function merkleProofAt(nodes: readonly string[], treeIndex: number): Bytes32[] | null {
  const proof: Bytes32[] = [];
  if (treeIndex >= nodes.length) return null;
  for (let i = treeIndex; i > 0; i = Math.floor((i - 1) / 2)) {
    const sibling = i % 2 === 1 ? i + 1 : i - 1;
    const hash = nodes[sibling];
    if (!isBytes32Hex(hash)) return null;
    proof.push(hash.toLowerCase());
  }
  return proof;
}

/** Whether `proof` proves `commitment` under `root` off-chain (core's check); false for malformed input. */
export function provesInclusion(root: Bytes32, commitment: Bytes32, proof: readonly Bytes32[] | null): boolean {
  if (proof === null) return false;
  try {
    return verifyBatchInclusion(root, commitment, proof);
  } catch {
    return false;
  }
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BatchContainerError(field, "must be a JSON object");
  }
  return value as Record<string, unknown>;
}
