import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { BatchFormatError, InvalidArgumentError, NotInBatchError, StrataError } from "../errors";
import { isBytes32Hex, toCommitment, type BatchRoot, type Bytes32, type Commitment } from "../ids";
import { canonicalJson, canonicalJsonBytes, parseJson } from "../json";
import { keccak256Hex, writeHex } from "../keccak";
import { isBinaryProof } from "../proof-binary";
import {
  decodeProof,
  encodeProof,
  ProofVersion,
  validateProofForCommitment,
  type InferenceProof,
  type InferenceProofV2,
} from "../proof";
import { join, kind, ShapeChecker } from "../shape";
import { BATCH_KIND, BatchVersion, type BatchInclusion, type BatchLeafEntry } from "./format";
import { BatchTree, checkTreeDump, merkleProofAt, proofInCheckedTree, type BatchTreeDump } from "./tree";
import { validateDump } from "./v1";

/**
 * # Batch format version 2: a batch is a list of Walrus quilts
 *
 * One root anchors `count` proofs stored in `n` quilts (`ProofRegistry.anchorBatch` for one quilt, `anchorQuilts` for
 * more). Quilt `k` holds:
 * - one patch per proof: identifier = the proof's commitment (lowercase `0x` hex), contents = the proof's v2 bytes
 *   (`encodeProof`), so each proof is read by itself (by quilt ID + identifier, or by its patch ID);
 * - the index patch, identifier {@link BATCH_INDEX_IDENTIFIER} (`strata-index`): the canonical JSON (see `json.ts`) of
 *   `{ kind: "strata.proof-batch", version: 2, root, quilt: k, quilts: n, count, tree, path, salt? }` where `tree` is
 *   the `StandardMerkleTree` dump of the quilt's values (its proofs' commitments in batch order, then, in quilt 0 of a
 *   salted batch, the salt) and `path` the proof of that tree's root (the quilt's *subroot*) up to `root`.
 *
 * ## The two-level tree
 * Each quilt's values make a subtree, exactly the v1 batch tree (`tree.ts`: leaf = `keccak256(keccak256(abi.encode(
 * c)))` = `ProofRegistry.leafOf(c)`, sorted-pair keccak256 nodes). The root is OpenZeppelin's `SimpleMerkleTree` (its
 * defaults: the values are the leaves, sorted; sorted-pair keccak256 nodes) over the subroots in quilt order; with one
 * quilt the root is the subroot and every path is `[]`, so a one-quilt batch has the root a v1 batch of the same
 * values has. Both levels hash pairs the same commutative way, so the inclusion proof of a commitment is its subtree
 * proof followed by its quilt's path, and OpenZeppelin's `MerkleProof.verify` and `ProofRegistry.isIncluded` accept it
 * unchanged. A leaf is a double hash (64-byte preimages are inner nodes only), so no subroot can pass for a proof.
 *
 * ## Limits
 * A quilt holds at most {@link DEFAULT_MAX_PER_QUILT} proofs (665: Walrus's 666 patches at 1000 shards, less the index)
 * and, when the caller gives the quilt's encoded size (`sizeOf`, e.g. `quiltSize` of `@strata/walrus`: core does not
 * import walrus), at most `maxQuiltBytes` bytes with its index patch. {@link planBatchV2} splits a batch in order.
 */

/** The identifier of the index patch of every v2 batch quilt. */
export const BATCH_INDEX_IDENTIFIER = "strata-index";

/** The most proofs in one quilt by default: 666 patches at 1000 shards, one of them the index. */
export const DEFAULT_MAX_PER_QUILT = 665;

/** The default byte cap of one quilt when a `sizeOf` is given: the publisher's default body limit, 10 MiB. */
export const DEFAULT_MAX_QUILT_BYTES = 10 * 1024 * 1024;

/** A quilt patch as core builds it (the walrus `QuiltPatchInput` without tags). */
export interface BatchPatch {
  identifier: string;
  contents: Uint8Array;
}

/** The encoded byte size of a quilt of these patches (walrus `quiltSize`), for planning by bytes. */
export type QuiltSizeOf = (patches: readonly { identifier: string; size: number }[]) => number;

/** How {@link planBatchV2} (and {@link buildBatchV2}) split a batch into quilts. */
export interface QuiltPlanOptions {
  /** At most this many proofs per quilt (default {@link DEFAULT_MAX_PER_QUILT}, at most 665). */
  maxPerQuilt?: number;
  /** At most this many bytes per quilt, index patch included (default {@link DEFAULT_MAX_QUILT_BYTES}); needs `sizeOf`. */
  maxQuiltBytes?: number;
  /** The quilt's encoded size; without it quilts are bounded by count only. */
  sizeOf?: QuiltSizeOf;
  /** Whether the batch is salted (the salt adds a value to quilt 0's index). */
  salted?: boolean;
}

/** One proof to plan: its patch identifier (commitment) and the byte length of its patch contents. */
export interface QuiltPlanItem {
  commitment: string;
  size: number;
}

/** A quilt of a plan: proofs `start` (inclusive) to `end` (exclusive) of the batch. */
export interface QuiltRange {
  start: number;
  end: number;
}

/** A v2 proof already encoded by the caller: `bytes` = `encodeProof(proof)`, `commitment` = its commitment. */
export interface EncodedProofV2 {
  commitment: Commitment;
  bytes: Uint8Array;
}

/** Options of {@link buildBatchV2}. */
export interface BuildBatchV2Options extends Omit<QuiltPlanOptions, "salted"> {
  /** A salt (bytes32, not any proof's commitment), one extra value of quilt 0's subtree: the root changes. */
  salt?: Bytes32;
}

/** The index patch document of a v2 quilt. */
export interface BatchIndexDocumentV2 {
  kind: typeof BATCH_KIND;
  version: BatchVersion.V2;
  root: BatchRoot;
  /** This quilt's position in the batch (0-based). */
  quilt: number;
  /** The number of quilts under the root. */
  quilts: number;
  /** The number of proofs under the root (all quilts): the `count` anchored. */
  count: number;
  /** `StandardMerkleTree.dump()` of this quilt's values. */
  tree: BatchTreeDump;
  /** The sibling hashes from this quilt's subroot up to the root (`[]` for a one-quilt batch). */
  path: Bytes32[];
  /** The salt of a salted batch: quilt 0's last tree value. */
  salt?: Bytes32;
}

/** An index patch checked by {@link decodeBatchIndex} (or built by {@link buildBatchV2}). */
export interface BatchIndexV2 {
  document: BatchIndexDocumentV2;
  root: BatchRoot;
  quilt: number;
  quilts: number;
  count: number;
  /** The root of this quilt's subtree. */
  subroot: Bytes32;
  path: Bytes32[];
  /** The commitments of this quilt's proofs, in batch order (the salt left out). */
  commitments: Commitment[];
  salt?: Bytes32;
  /** The patch contents: canonical JSON. */
  bytes: Uint8Array;
}

/** Where a proof sits in a v2 batch: a {@link BatchInclusion} (proof = subtree proof ++ path) and its quilt. */
export interface BatchInclusionV2 extends BatchInclusion {
  /** The quilt that holds the proof's patch. */
  quilt: number;
  /** The patch identifier (the commitment). */
  identifier: string;
}

/** One quilt of a built v2 batch. */
export interface BatchQuiltV2 {
  quilt: number;
  /** The proof patches in batch order, then the index patch. Walrus sorts patches by identifier; order is free. */
  patches: BatchPatch[];
  commitments: Commitment[];
  subroot: Bytes32;
  path: Bytes32[];
  index: BatchIndexV2;
  /** `sizeOf(patches)` when a `sizeOf` was given. */
  size?: number;
}

/** A v2 batch, built: what the node stores (`quilts[k].patches` as quilt k) and anchors (`root`, `count`). */
export interface ProofBatchV2 {
  version: BatchVersion.V2;
  root: BatchRoot;
  count: number;
  /** Every commitment, in batch order (quilt 0's first). */
  commitments: Commitment[];
  quilts: BatchQuiltV2[];
  /** `inclusions[i]` proves `commitments[i]`. */
  inclusions: BatchInclusionV2[];
  salt?: Bytes32;
}

/** An index patch read leniently ({@link inspectBatchIndex}): its outer shape only, nothing proven. */
export interface BatchIndexInspection {
  version: BatchVersion.V2;
  /** The root the patch declares; the anchored root is what counts. */
  root: string;
  quilt: number;
  quilts: number;
  count: number;
  /** The commitments of the tree's values with their tree index (the salt excluded). */
  leaves: BatchLeafEntry[];
  /** The tree's node hashes, root first, unchecked. */
  nodes: string[];
  /** The path to the root, unchecked. */
  path: string[];
  salt?: Bytes32;
}

/** A whole quilt checked by {@link decodeBatchQuilt}: its index and every proof patch. */
export interface BatchQuiltContents {
  index: BatchIndexV2;
  /** The proofs in the index's order (`proofs[i]` commits to `index.commitments[i]`). */
  proofs: InferenceProofV2[];
}

const check = new ShapeChecker((field, reason) => new BatchFormatError(field || "$", reason));
const INDEX_FIELDS = ["kind", "version", "root", "quilt", "quilts", "count", "tree", "path"];
const MAX_QUILT_PROOFS = 665;

// ---------------------------------------------------------------------------------------------------------------------
// Planning

/**
 * Splits `items` (in batch order) into consecutive quilts of at most `maxPerQuilt` proofs and, with `sizeOf`, at most
 * `maxQuiltBytes` bytes each, the index patch counted at an upper bound of its size ({@link batchIndexSizeBound}).
 * Greedy: each quilt takes as many proofs as fit, found by a galloping then binary search over the quilt's size
 * (a quilt never gets smaller when a patch is added), so `sizeOf` runs O(log n) times per quilt. Throws
 * {@link BatchFormatError} naming `proofs[i]` for a proof that does not fit in a quilt by itself, and
 * {@link InvalidArgumentError} for bad limits.
 */
export function planBatchV2(items: readonly QuiltPlanItem[], options: QuiltPlanOptions = {}): QuiltRange[] {
  const { maxPerQuilt, maxQuiltBytes, sizeOf } = planLimits(options);
  if (items.length === 0) throw new BatchFormatError("proofs", "must hold at least one proof");
  const ranges: QuiltRange[] = [];
  let start = 0;
  while (start < items.length) {
    const limit = Math.min(maxPerQuilt, items.length - start);
    let take = limit;
    if (sizeOf !== undefined) {
      const salted = options.salted === true && ranges.length === 0;
      const sizeWith = (m: number) =>
        sizeOf([
          ...items.slice(start, start + m).map((item) => ({ identifier: item.commitment, size: item.size })),
          { identifier: BATCH_INDEX_IDENTIFIER, size: batchIndexSizeBound(m, items.length, salted) },
        ]);
      const alone = sizeWith(1);
      if (alone > maxQuiltBytes) {
        throw new BatchFormatError(
          `proofs[${start}]`,
          `does not fit in a quilt: with its index patch the quilt takes ${alone} bytes, above the cap of ` +
            `${maxQuiltBytes}; raise maxQuiltBytes (the publisher's body limit) or make the proof smaller`,
        );
      }
      // `fits` holds for `lo`; `hi` is the least count known not to fit (limit + 1: none known).
      let lo = 1;
      let hi = limit + 1;
      while (lo < limit && hi === limit + 1) {
        const next = Math.min(2 * lo, limit);
        if (sizeWith(next) <= maxQuiltBytes) lo = next;
        else hi = next;
      }
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (sizeWith(mid) <= maxQuiltBytes) lo = mid;
        else hi = mid;
      }
      take = lo;
    }
    ranges.push({ start, end: start + take });
    start += take;
  }
  return ranges;
}

function planLimits(options: QuiltPlanOptions): { maxPerQuilt: number; maxQuiltBytes: number; sizeOf?: QuiltSizeOf } {
  const maxPerQuilt = options.maxPerQuilt ?? DEFAULT_MAX_PER_QUILT;
  if (!Number.isSafeInteger(maxPerQuilt) || maxPerQuilt < 1 || maxPerQuilt > MAX_QUILT_PROOFS) {
    throw new InvalidArgumentError("maxPerQuilt", maxPerQuilt, `must be an integer from 1 to ${MAX_QUILT_PROOFS}`);
  }
  if (options.maxQuiltBytes !== undefined && options.sizeOf === undefined) {
    throw new InvalidArgumentError(
      "maxQuiltBytes",
      options.maxQuiltBytes,
      "needs sizeOf, the quilt's encoded size (quiltSize of @strata/walrus)",
    );
  }
  const maxQuiltBytes = options.maxQuiltBytes ?? DEFAULT_MAX_QUILT_BYTES;
  if (!Number.isSafeInteger(maxQuiltBytes) || maxQuiltBytes < 1) {
    throw new InvalidArgumentError("maxQuiltBytes", maxQuiltBytes, "must be a positive integer");
  }
  return { maxPerQuilt, maxQuiltBytes, sizeOf: options.sizeOf };
}

/**
 * An upper bound of the byte length of the index patch of a quilt of `values` proofs in a batch of `count` proofs
 * (`salted`: quilt 0 of a salted batch, one more value and the `salt` field). Exact for everything but the path (at
 * most `ceil(log2(count))` siblings: there are at most `count` quilts) and the quilt numbers (at most `count`).
 */
export function batchIndexSizeBound(values: number, count: number, salted = false): number {
  const n = values + (salted ? 1 : 0);
  const word = "0x" + "0".repeat(64);
  const depth = count <= 1 ? 0 : Math.ceil(Math.log2(count));
  const empty: Record<string, unknown> = {
    kind: BATCH_KIND,
    version: BatchVersion.V2,
    root: word,
    quilt: Math.max(count - 1, 0),
    quilts: count,
    count,
    tree: { format: "standard-v1", leafEncoding: ["bytes32"], tree: [], values: [] },
    path: Array.from({ length: depth }, () => word),
    ...(salted ? { salt: word } : {}),
  };
  let size = Buffer.byteLength(canonicalJson(empty));
  const nodes = 2 * n - 1;
  size += nodes * 68 + (nodes - 1); // `"0x…"` and commas
  // `{"treeIndex":t,"value":["0x…"]}` for t = n-1 … 2n-2 (the leaves are the last n nodes), and commas.
  for (let t = n - 1; t <= 2 * n - 2; t++) size += 93 + String(t).length;
  return size + (n - 1);
}

// ---------------------------------------------------------------------------------------------------------------------
// Building

/**
 * Builds a v2 batch of `proofs` (at least one, in batch order, no two with the same commitment): v2 documents (checked:
 * shape and hashes, then encoded) or {@link EncodedProofV2}s the caller vouches for (its own proofs, encoded and
 * committed when it signed them: their bytes must be a binary proof, and are not decoded again). Splits them into quilts
 * as {@link planBatchV2} does, builds each quilt's subtree and index patch and the root over the subroots.
 */
export function buildBatchV2(
  proofs: readonly (InferenceProof | EncodedProofV2)[],
  options: BuildBatchV2Options = {},
): ProofBatchV2 {
  if (proofs.length === 0) throw new BatchFormatError("proofs", "must hold at least one proof");
  const salt = options.salt === undefined ? undefined : check.bytes32(options.salt, "salt");
  const encoded = proofs.map((proof, i) => encodedOf(proof, i));
  const commitments = encoded.map((e) => e.commitment);
  checkUnique(commitments);
  if (salt !== undefined) {
    const at = (commitments as readonly string[]).indexOf(salt);
    if (at >= 0) throw new BatchFormatError("salt", `is the commitment of proofs[${at}]: choose a random salt`);
  }
  const plan = planBatchV2(
    encoded.map((e) => ({ commitment: e.commitment, size: e.bytes.length })),
    { ...options, salted: salt !== undefined },
  );
  const subtrees = plan.map(({ start, end }, k) => {
    const quiltCommitments = commitments.slice(start, end);
    const values: Bytes32[] = k === 0 && salt !== undefined ? [...quiltCommitments, salt] : quiltCommitments;
    return { start, end, commitments: quiltCommitments, values, tree: BatchTree.of(values) };
  });
  const { root, paths } = topLevel(subtrees.map((s) => s.tree.root));
  const count = proofs.length;
  const inclusions: BatchInclusionV2[] = [];
  const quilts = subtrees.map((s, k): BatchQuiltV2 => {
    const document: BatchIndexDocumentV2 = {
      kind: BATCH_KIND,
      version: BatchVersion.V2,
      root,
      quilt: k,
      quilts: subtrees.length,
      count,
      tree: s.tree.dump(s.values),
      path: paths[k],
      ...(k === 0 && salt !== undefined ? { salt } : {}),
    };
    const bytes = canonicalJsonBytes(document);
    const index: BatchIndexV2 = {
      document,
      root,
      quilt: k,
      quilts: subtrees.length,
      count,
      subroot: s.tree.root,
      path: paths[k],
      commitments: s.commitments,
      ...(k === 0 && salt !== undefined ? { salt } : {}),
      bytes,
    };
    const nodes = document.tree.tree;
    s.commitments.forEach((commitment, j) => {
      inclusions.push({
        root,
        index: s.start + j,
        commitment,
        leaf: nodes[s.tree.treeIndex(j)],
        proof: [...s.tree.proof(j), ...paths[k]],
        quilt: k,
        identifier: commitment,
      });
    });
    const patches: BatchPatch[] = [
      ...encoded.slice(s.start, s.end).map((e) => ({ identifier: e.commitment, contents: e.bytes })),
      { identifier: BATCH_INDEX_IDENTIFIER, contents: bytes },
    ];
    const quilt: BatchQuiltV2 = {
      quilt: k,
      patches,
      commitments: s.commitments,
      subroot: s.tree.root,
      path: paths[k],
      index,
    };
    if (options.sizeOf !== undefined) {
      quilt.size = options.sizeOf(patches.map((p) => ({ identifier: p.identifier, size: p.contents.length })));
      const cap = options.maxQuiltBytes ?? DEFAULT_MAX_QUILT_BYTES;
      if (quilt.size > cap) {
        // The plan bounds the index from above; reaching this is a bug in that bound.
        throw new BatchFormatError(`quilts[${k}]`, `takes ${quilt.size} bytes, above the cap of ${cap}`);
      }
    }
    return quilt;
  });
  return {
    version: BatchVersion.V2,
    root,
    count,
    commitments,
    quilts,
    inclusions,
    ...(salt === undefined ? {} : { salt }),
  };
}

/** The root over the subroots (OpenZeppelin SimpleMerkleTree; one quilt: the subroot) and each quilt's path. */
function topLevel(subroots: readonly Bytes32[]): { root: BatchRoot; paths: Bytes32[][] } {
  if (subroots.length === 1) return { root: subroots[0] as BatchRoot, paths: [[]] };
  const tree = SimpleMerkleTree.of([...subroots]);
  return {
    root: tree.root.toLowerCase() as BatchRoot,
    paths: subroots.map((_, k) => tree.getProof(k).map((node) => node.toLowerCase())),
  };
}

function encodedOf(proof: InferenceProof | EncodedProofV2, i: number): EncodedProofV2 {
  const field = `proofs[${i}]`;
  if (isEncoded(proof)) {
    const commitment = toCommitmentAt(proof.commitment, `${field}.commitment`);
    if (!(proof.bytes instanceof Uint8Array) || !isBinaryProof(proof.bytes)) {
      throw new BatchFormatError(`${field}.bytes`, "must be the bytes of a v2 proof (encodeProof of a v2 document)");
    }
    return { commitment, bytes: proof.bytes };
  }
  if ((proof as { version?: unknown }).version !== ProofVersion.V2) {
    throw new BatchFormatError(
      `${field}.version`,
      `is ${String((proof as { version?: unknown }).version)}: a v2 batch holds v2 proofs (buildProof(params, { version: 2 }))`,
    );
  }
  return inner(field, () => {
    const checked = validateProofForCommitment(proof, field);
    const commitment = checked.commitment();
    return { commitment, bytes: encodeProof(checked.proof) };
  });
}

function isEncoded(proof: InferenceProof | EncodedProofV2): proof is EncodedProofV2 {
  return (proof as EncodedProofV2).bytes !== undefined && (proof as { version?: unknown }).version === undefined;
}

function toCommitmentAt(value: unknown, field: string): Commitment {
  if (!isBytes32Hex(value)) throw new BatchFormatError(field, `must be a bytes32 hex commitment, got ${kind(value)}`);
  return toCommitment(value.toLowerCase());
}

// ---------------------------------------------------------------------------------------------------------------------
// Reading

/**
 * The strict reader of an index patch: canonical JSON of the exact shape; a valid StandardMerkleTree of unique values
 * (the salt last, in quilt 0 only); `path` leads from the tree's root to `root` (with one quilt: `path` is `[]` and
 * `root` is the tree's root); `quilt < quilts <= count`. Throws {@link BatchFormatError} naming the field.
 */
export function decodeBatchIndex(input: Uint8Array | string): BatchIndexV2 {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  const r = check.object(parseIndex(bytes), "", INDEX_FIELDS, ["salt"]);
  if (r.kind !== BATCH_KIND) throw new BatchFormatError("kind", `must be "${BATCH_KIND}", got ${kind(r.kind)}`);
  if (r.version !== BatchVersion.V2) {
    throw new BatchFormatError("version", `must be ${BatchVersion.V2} in an index patch, got ${kind(r.version)}`);
  }
  const root = check.bytes32(r.root, "root") as BatchRoot;
  const count = check.integer(r.count, "count", 1, 2 ** 32 - 1);
  const quilts = check.integer(r.quilts, "quilts", 1, count);
  const quilt = check.integer(r.quilt, "quilt", 0, quilts - 1);
  const salt = r.salt === undefined ? undefined : check.bytes32(r.salt, "salt");
  if (salt !== undefined && quilt !== 0) {
    throw new BatchFormatError("salt", `is in the index of quilt ${quilt}: a batch's salt is in quilt 0's tree only`);
  }
  const valuesLength = Array.isArray((r.tree as { values?: unknown } | null)?.values)
    ? (r.tree as { values: unknown[] }).values.length
    : 0;
  const dump = validateDump(r.tree, Math.max(valuesLength, 1));
  const commitments = dump.values.map((v) => v.value[0] as Commitment);
  if (salt !== undefined) {
    const last = commitments.pop();
    if (last !== salt) {
      throw new BatchFormatError(
        `tree.values[${dump.values.length - 1}]`,
        `is ${last} but the batch's salt is ${salt}: the salt must be the last tree value`,
      );
    }
  }
  if (commitments.length === 0) throw new BatchFormatError("tree.values", "must hold at least one proof commitment");
  if (commitments.length > count) {
    throw new BatchFormatError("count", `is ${count} but this quilt alone holds ${commitments.length} proofs`);
  }
  checkUniqueValues(dump.values.map((v) => v.value[0]));
  const subroot = checkTreeDump(dump);
  const path = check.array(r.path, "path").map((node, i) => check.bytes32(node, join("path", i)));
  if (quilts === 1 && path.length !== 0) {
    throw new BatchFormatError("path", "must be [] in a one-quilt batch (its root is the quilt's tree root)");
  }
  if (path.length > 32)
    throw new BatchFormatError("path", `holds ${path.length} nodes; a batch has at most 32 levels of quilts`);
  const reached = path.reduce<string>((node, sibling) => hashPair(node, sibling), subroot);
  if (reached !== root) {
    throw new BatchFormatError(
      "path",
      `leads from the quilt's tree root ${subroot} to ${reached}, not to the batch root ${root}: the index was altered`,
    );
  }
  const document: BatchIndexDocumentV2 = {
    kind: BATCH_KIND,
    version: BatchVersion.V2,
    root,
    quilt,
    quilts,
    count,
    tree: dump,
    path,
    ...(salt === undefined ? {} : { salt }),
  };
  const canonical = canonicalJsonBytes(document);
  if (!Buffer.from(canonical).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) {
    throw new BatchFormatError(
      "$",
      "is not the canonical JSON of the index (sorted keys, no whitespace, lowercase hex): an index patch has one encoding",
    );
  }
  return {
    document,
    root,
    quilt,
    quilts,
    count,
    subroot,
    path,
    commitments,
    ...(salt === undefined ? {} : { salt }),
    bytes,
  };
}

/**
 * The lenient reader of an index patch, for verifying ONE proof: the outer shape (kind, version, the tree's values and
 * nodes, the path), nothing proven. A proof's inclusion is then `inclusionOf(inspection, commitment).proof` checked
 * against the anchored root (`provesBatchInclusion`, `ProofRegistry.isIncluded`): an index that lies gives a proof that
 * fails. Throws {@link BatchFormatError} naming the field.
 */
export function inspectBatchIndex(input: Uint8Array | string): BatchIndexInspection {
  const doc = parseIndex(typeof input === "string" ? new TextEncoder().encode(input) : input);
  const fail = (field: string, reason: string) => new BatchFormatError(field, reason);
  if (doc.kind !== BATCH_KIND) throw fail("kind", `must be "${BATCH_KIND}", got ${kind(doc.kind)}`);
  if (doc.version !== BatchVersion.V2) throw fail("version", `must be 2 in an index patch, got ${kind(doc.version)}`);
  if (typeof doc.root !== "string") throw fail("root", "must be a bytes32 hex string");
  const integer = (field: string) => {
    const value = doc[field];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
      throw fail(field, "must be a non-negative integer");
    return value;
  };
  const tree = doc.tree as Record<string, unknown> | null;
  if (typeof tree !== "object" || tree === null || Array.isArray(tree)) throw fail("tree", "must be a JSON object");
  if (!Array.isArray(tree.tree) || !tree.tree.every((n) => typeof n === "string")) {
    throw fail("tree.tree", "must be an array of hex node hashes");
  }
  if (!Array.isArray(tree.values)) throw fail("tree.values", "must be an array");
  const leaves = tree.values.map((item: unknown, i): BatchLeafEntry => {
    const at = `tree.values[${i}]`;
    const value = item as { value?: unknown; treeIndex?: unknown } | null;
    const leaf = value?.value;
    if (!Array.isArray(leaf) || leaf.length !== 1 || !isBytes32Hex(leaf[0])) {
      throw fail(`${at}.value`, "must hold exactly one bytes32 commitment");
    }
    const treeIndex = value?.treeIndex;
    if (typeof treeIndex !== "number" || !Number.isSafeInteger(treeIndex) || treeIndex < 0) {
      throw fail(`${at}.treeIndex`, "must be a non-negative integer");
    }
    return { commitment: leaf[0].toLowerCase() as Commitment, treeIndex };
  });
  if (!Array.isArray(doc.path) || !doc.path.every((n) => typeof n === "string")) {
    throw fail("path", "must be an array of hex node hashes");
  }
  let salt: Bytes32 | undefined;
  if (doc.salt !== undefined) {
    if (!isBytes32Hex(doc.salt)) throw fail("salt", "must be a bytes32 hex string");
    salt = doc.salt.toLowerCase();
    const last = leaves.pop();
    if (last?.commitment !== salt)
      throw fail("salt", `must be the tree's last value, which is ${last?.commitment ?? "missing"}`);
  }
  return {
    version: BatchVersion.V2,
    root: doc.root,
    quilt: integer("quilt"),
    quilts: integer("quilts"),
    count: integer("count"),
    leaves,
    nodes: tree.tree as string[],
    path: doc.path as string[],
    ...(salt === undefined ? {} : { salt }),
  };
}

/**
 * Where `commitment` sits under an index patch (strict {@link BatchIndexV2} or lenient {@link BatchIndexInspection})
 * and its inclusion proof: the subtree proof followed by the quilt's path, what `ProofRegistry.isIncluded(root,
 * commitment, proof)` and `verifyBatchInclusion` accept. For an inspection nothing is proven until the proof is checked
 * against the anchored root. Throws {@link NotInBatchError} when the index has no such value, {@link BatchFormatError}
 * when an inspected tree is too malformed to give a proof.
 */
export function inclusionOf(
  index: BatchIndexV2 | BatchIndexInspection,
  commitment: Commitment | string,
): { root: string; proof: Bytes32[]; leaf: Bytes32; quilt: number; treeIndex: number } {
  const wanted = toCommitment(commitment, "commitment");
  if ("document" in index) {
    const at = index.commitments.indexOf(wanted);
    if (at < 0) throw new NotInBatchError(wanted, index.root);
    const nodes = index.document.tree.tree;
    const treeIndex = index.document.tree.values[at].treeIndex;
    return {
      root: index.root,
      proof: [...proofInCheckedTree(nodes, treeIndex), ...index.path],
      leaf: nodes[treeIndex],
      quilt: index.quilt,
      treeIndex,
    };
  }
  const entry = index.leaves.find((leaf) => leaf.commitment === wanted);
  if (entry === undefined) throw new NotInBatchError(wanted, index.root);
  const proof = merkleProofAt(index.nodes, entry.treeIndex);
  if (proof === null || !index.path.every((node) => isBytes32Hex(node))) {
    throw new BatchFormatError("tree", `cannot give a Merkle proof of ${wanted}: a node or path entry is not bytes32`);
  }
  const leaf = index.nodes[entry.treeIndex];
  return {
    root: index.root,
    proof: [...proof, ...index.path.map((node) => node.toLowerCase())],
    leaf: (isBytes32Hex(leaf) ? leaf.toLowerCase() : leaf) as Bytes32,
    quilt: index.quilt,
    treeIndex: entry.treeIndex,
  };
}

/**
 * The strict reader of a whole quilt (every patch, e.g. from a whole-quilt read): the index patch
 * ({@link decodeBatchIndex}), and one proof patch per index value, each a v2 proof (`decodeProof`) whose commitment is
 * its identifier; no other patch. Throws {@link BatchFormatError} naming the patch (`patches["<identifier>"]`).
 */
export function decodeBatchQuilt(patches: readonly BatchPatch[]): BatchQuiltContents {
  const byId = new Map<string, Uint8Array>();
  for (const patch of patches) {
    if (byId.has(patch.identifier)) {
      throw new BatchFormatError(`patches[${JSON.stringify(patch.identifier)}]`, "appears twice");
    }
    byId.set(patch.identifier, patch.contents);
  }
  const indexBytes = byId.get(BATCH_INDEX_IDENTIFIER);
  if (indexBytes === undefined) {
    throw new BatchFormatError(
      `patches[${JSON.stringify(BATCH_INDEX_IDENTIFIER)}]`,
      "is missing: a v2 quilt has an index patch",
    );
  }
  const index = decodeBatchIndex(indexBytes);
  const wanted = new Set<string>(index.commitments);
  for (const identifier of byId.keys()) {
    if (identifier !== BATCH_INDEX_IDENTIFIER && !wanted.has(identifier)) {
      throw new BatchFormatError(`patches[${JSON.stringify(identifier)}]`, "is not a proof of the quilt's index");
    }
  }
  const proofs = index.commitments.map((commitment) => {
    const field = `patches[${JSON.stringify(commitment)}]`;
    const contents = byId.get(commitment);
    if (contents === undefined) throw new BatchFormatError(field, "is missing: the index names this proof");
    return inner(field, () => {
      const proof = decodeProof(contents);
      if (proof.version !== ProofVersion.V2) throw new BatchFormatError(`${field}.version`, "must be 2 in a v2 batch");
      const actual = validateProofForCommitment(proof, field).commitment();
      if (actual !== commitment) {
        throw new BatchFormatError(
          field,
          `holds a proof that commits to ${actual}, not to its identifier ${commitment}`,
        );
      }
      return proof;
    });
  });
  return { index, proofs };
}

// ---------------------------------------------------------------------------------------------------------------------

/** Parses an index patch to a JSON object. */
function parseIndex(bytes: Uint8Array): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseJson(bytes);
  } catch (error) {
    throw new BatchFormatError("$", `is not UTF-8 JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new BatchFormatError("$", `must be an object, got ${kind(parsed)}`);
  }
  return parsed as Record<string, unknown>;
}

/** keccak256 of two lowercase bytes32 hex nodes, sorted (OpenZeppelin's commutative node hash). */
function hashPair(a: string, b: string): string {
  const [first, second] = a < b ? [a, b] : [b, a];
  const pair = new Uint8Array(64);
  writeHex(first, pair, 0, 32);
  writeHex(second, pair, 32, 32);
  return keccak256Hex(pair);
}

function checkUnique(commitments: readonly Commitment[]): void {
  const first = new Map<Commitment, number>();
  commitments.forEach((commitment, i) => {
    const earlier = first.get(commitment);
    if (earlier !== undefined) {
      throw new BatchFormatError(`proofs[${i}]`, `has the same commitment ${commitment} as proofs[${earlier}]`);
    }
    first.set(commitment, i);
  });
}

function checkUniqueValues(values: readonly string[]): void {
  const seen = new Map<string, number>();
  values.forEach((value, i) => {
    const earlier = seen.get(value);
    if (earlier !== undefined) throw new BatchFormatError(`tree.values[${i}]`, `repeats tree.values[${earlier}]`);
    seen.set(value, i);
  });
}

/** Runs a per-proof check, reporting its failure as a batch error at `field` (the cause keeps the original). */
function inner<T>(field: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof BatchFormatError || !(error instanceof StrataError)) throw error;
    const reason = error.message.replace(/^Invalid proof: /, "");
    throw new BatchFormatError(field, `is not a valid proof: ${reason}`, { cause: error });
  }
}
