import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { BatchFormatError, InvalidArgumentError, NotInBatchError, StrataError } from "../errors";
import { isBytes32Hex, toCommitment, type BatchRoot, type Bytes32, type Commitment } from "../ids";
import { decodeFrame, encodeFrame, FRAME_PREFIX, hasMagic, type Frame, type FramePiece } from "../frame";
import { canonicalJson, canonicalJsonBytes, parseJson } from "../json";
import { keccak256Hex, writeHex } from "../keccak";
import { isBinaryProof } from "../proof-binary";
import {
  encodeProof,
  ProofVersion,
  validateProofForCommitment,
  type InferenceProof,
  type InferenceProofV2,
} from "../proof";
import { decodeAnyProof, isPrivateProof, privateProofCommitment, type PrivateInferenceProof } from "../private-proof";
import { join, kind, ShapeChecker } from "../shape";
import { BATCH_KIND, BatchVersion, type BatchInclusion, type BatchLeafEntry } from "./format";
import { BatchTree } from "./tree";

/**
 * # Batch format version 2: a batch is a list of Walrus quilts
 *
 * One root anchors `count` proofs stored in `n` quilts (`ProofRegistry.anchorBatch` for one quilt, `anchorQuilts` for
 * more). Quilt `k` holds:
 * - one patch per proof: identifier = the proof's commitment (lowercase `0x` hex), contents = the proof's v2 bytes
 *   (`encodeProof`), so each proof is read by itself (by quilt ID + identifier, or by its patch ID);
 * - the index patch, identifier {@link BATCH_INDEX_IDENTIFIER} (`strata-index`), small (about 32 bytes per proof: at
 *   1000 shards every patch of a full quilt gets one column, so one large patch inflates the whole quilt). It is the
 *   binary frame of `frame.ts` with the magic {@link BATCH_INDEX_MAGIC} (`0x89 "STI"`), version 2, the header
 *   `{ kind: "strata.proof-batch", version: 2, root, quilt: k, quilts: n, count, leaves, path, salt? }` (canonical
 *   JSON) and a body of `leaves` raw 32-byte words: the quilt's values, i.e. its proofs' commitments in batch order,
 *   then, in quilt 0 of a salted batch, the salt. `path` leads from the subtree's root (the quilt's *subroot*) to
 *   `root`. No tree is stored: readers rebuild the subtree from the values, and `path` ties it to the root, so nothing
 *   in the patch is trusted.
 *
 * ## The two-level tree
 * Each quilt's values make a subtree, exactly the v1 batch tree (`tree.ts`: OpenZeppelin `StandardMerkleTree`, leaf =
 * `keccak256(keccak256(abi.encode(c)))` = `ProofRegistry.leafOf(c)`, sorted-pair keccak256 nodes). The root is
 * OpenZeppelin's `SimpleMerkleTree` over the subroots in quilt order (`sortLeaves: false`, so quilt `k`'s path has the
 * fixed length `floor(log2(2n - 1 - k))`); with one quilt the root is the subroot and the path `[]`, so a one-quilt
 * batch has the root of a v1 batch of the same values. Both levels hash pairs the same commutative way, so the
 * inclusion proof of a commitment is its subtree proof followed by its quilt's path, and OpenZeppelin's
 * `MerkleProof.verify` and `ProofRegistry.isIncluded` accept it unchanged. A leaf is a double hash (64-byte preimages
 * are inner nodes only), so no subroot can pass for a proof.
 *
 * ## Limits
 * A quilt holds at most {@link DEFAULT_MAX_PER_QUILT} proofs (665: Walrus's 666 patches at 1000 shards, less the index)
 * and, when the caller gives the quilt's encoded size (`sizeOf`, e.g. `quiltSize` of `@strata/walrus`: core does not
 * import walrus), at most `maxQuiltBytes` bytes with its index patch ({@link batchIndexPatchSize}). {@link planBatchV2}
 * splits a batch in order.
 */

/** The identifier of the index patch of every v2 batch quilt. */
export const BATCH_INDEX_IDENTIFIER = "strata-index";

/** The most proofs in one quilt by default: 666 patches at 1000 shards, one of them the index. */
export const DEFAULT_MAX_PER_QUILT = 665;

/** The first four bytes of an index patch: 0x89 "STI" (Strata Index). */
export const BATCH_INDEX_MAGIC: Uint8Array = Uint8Array.of(0x89, 0x53, 0x54, 0x49);

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
  /**
   * The split into quilts, when the caller made it (consecutive ranges covering every proof, each of at most
   * `maxPerQuilt`); default {@link planBatchV2} with these options. With `sizeOf`, every quilt is still checked against
   * `maxQuiltBytes`.
   */
  plan?: readonly QuiltRange[];
}

/** The header of a v2 index patch (its body is the `leaves` values). */
export interface BatchIndexHeaderV2 {
  kind: typeof BATCH_KIND;
  version: BatchVersion.V2;
  root: BatchRoot;
  /** This quilt's position in the batch (0-based). */
  quilt: number;
  /** The number of quilts under the root. */
  quilts: number;
  /** The number of proofs under the root (all quilts): the `count` anchored. */
  count: number;
  /** The number of values in the body: this quilt's proofs, plus one for a salt. */
  leaves: number;
  /** The sibling hashes from this quilt's subroot up to the root (`[]` for a one-quilt batch). */
  path: Bytes32[];
  /** The salt of a salted batch: quilt 0's last value. */
  salt?: Bytes32;
}

/** An index patch checked by {@link decodeBatchIndex} (or built by {@link buildBatchV2}). */
export interface BatchIndexV2 {
  header: BatchIndexHeaderV2;
  root: BatchRoot;
  quilt: number;
  quilts: number;
  count: number;
  /** The quilt's values (commitments, then the salt if any), in order. */
  values: Bytes32[];
  /** The subtree over {@link values} (rebuilt, so consistent by construction). */
  tree: BatchTree;
  /** The root of this quilt's subtree. */
  subroot: Bytes32;
  path: Bytes32[];
  /** The commitments of this quilt's proofs, in batch order (the salt left out). */
  commitments: Commitment[];
  salt?: Bytes32;
  /** The patch contents. */
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

/**
 * An index patch read leniently ({@link inspectBatchIndex}): its frame and outer shape, nothing proven (the path and
 * root may lie; the subtree is rebuilt from the values, so the proofs it gives are checked against the anchored root).
 */
export interface BatchIndexInspection {
  version: BatchVersion.V2;
  /** The root the patch declares; the anchored root is what counts. */
  root: string;
  quilt: number;
  quilts: number;
  count: number;
  /** The commitments of the quilt with their place in the rebuilt subtree (the salt excluded). */
  leaves: BatchLeafEntry[];
  /** The rebuilt subtree. */
  tree: BatchTree;
  /** The path to the root, unchecked. */
  path: string[];
  salt?: Bytes32;
}

/** A whole quilt checked by {@link decodeBatchQuilt}: its index and every proof patch. */
export interface BatchQuiltContents {
  index: BatchIndexV2;
  /** The proofs in the index's order (`proofs[i]` commits to `index.commitments[i]`). */
  /** The quilt's proofs in index order: v2 (public) or v3 (private, hashed or encrypted). */
  proofs: (InferenceProofV2 | PrivateInferenceProof)[];
}

const check = new ShapeChecker((field, reason) => new BatchFormatError(field || "$", reason));
const INDEX_FIELDS = ["kind", "version", "root", "quilt", "quilts", "count", "leaves", "path"];
const MAX_QUILT_PROOFS = 665;

// ---------------------------------------------------------------------------------------------------------------------
// Planning

/**
 * Splits `items` (in batch order) into consecutive quilts of at most `maxPerQuilt` proofs and, with `sizeOf`, at most
 * `maxQuiltBytes` bytes each, index patch included ({@link batchIndexPatchSize}, exact for the quilt's position and the
 * batch's count; the number of quilts, which the index's path and `quilts` depend on, is bounded by a first pass and
 * then the plan is made again under that bound). Greedy: each quilt takes as many proofs as fit, found by a galloping
 * then binary search over the quilt's size (a quilt never gets smaller when a patch is added), so `sizeOf` runs
 * O(log n) times per quilt. Throws {@link BatchFormatError} naming `proofs[i]` for a proof that does not fit in a quilt
 * by itself, and {@link InvalidArgumentError} for bad limits.
 */
export function planBatchV2(items: readonly QuiltPlanItem[], options: QuiltPlanOptions = {}): QuiltRange[] {
  const limits = planLimits(options);
  if (items.length === 0) throw new BatchFormatError("proofs", "must hold at least one proof");
  if (limits.sizeOf === undefined) return greedy(items, limits, options.salted === true, items.length);
  const first = greedy(items, limits, options.salted === true, items.length);
  const second = greedy(items, limits, options.salted === true, first.length);
  return second.length <= first.length ? second : first;
}

/** The greedy split of {@link planBatchV2}, with the index sized for a batch of at most `quilts` quilts. */
function greedy(
  items: readonly QuiltPlanItem[],
  { maxPerQuilt, maxQuiltBytes, sizeOf }: { maxPerQuilt: number; maxQuiltBytes: number; sizeOf?: QuiltSizeOf },
  salted: boolean,
  quilts: number,
): QuiltRange[] {
  const ranges: QuiltRange[] = [];
  let start = 0;
  while (start < items.length) {
    const limit = Math.min(maxPerQuilt, items.length - start);
    let take = limit;
    if (sizeOf !== undefined) {
      const k = ranges.length;
      // Past the assumed number of quilts (a plan the caller then drops): size the index for any position.
      const at = k < quilts ? { quilt: k, count: items.length } : { count: items.length };
      const sizeWith = (m: number) =>
        sizeOf([
          ...items.slice(start, start + m).map((item) => ({ identifier: item.commitment, size: item.size })),
          {
            identifier: BATCH_INDEX_IDENTIFIER,
            size: batchIndexPatchSize(m, Math.max(quilts, k + 1), salted && k === 0, at),
          },
        ]);
      const alone = sizeWith(1);
      if (alone > maxQuiltBytes) {
        throw new BatchFormatError(
          `proofs[${start}]`,
          `does not fit in a quilt: with its index patch the quilt takes ${alone} bytes, above the cap of ` +
            `${maxQuiltBytes}; raise maxQuiltBytes (the publisher's body limit) or make the proof smaller`,
        );
      }
      // `lo` fits; `hi` is the least count known not to fit (limit + 1: none known).
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
 * The byte length of the index patch of a quilt of `proofs` proofs (`salted`: quilt 0 of a salted batch, one more
 * value and the `salt` field) in a batch of `quilts` quilts: exact when `at.quilt` (its position) and `at.count` (the
 * proofs under the root) are given, else the largest over them (any position; a count up to 2^32 - 1).
 */
export function batchIndexPatchSize(
  proofs: number,
  quilts: number,
  salted: boolean,
  at: { quilt?: number; count?: number } = {},
): number {
  const word = "0x" + "0".repeat(64);
  const depth = at.quilt === undefined ? pathLength(0, quilts) : pathLength(at.quilt, quilts);
  const leaves = proofs + (salted ? 1 : 0);
  const header: Record<string, unknown> = {
    kind: BATCH_KIND,
    version: BatchVersion.V2,
    root: word,
    quilt: at.quilt ?? Math.max(quilts - 1, 0),
    quilts,
    count: at.count ?? 2 ** 32 - 1,
    leaves,
    path: Array.from({ length: depth }, () => word),
    ...(salted ? { salt: word } : {}),
  };
  return FRAME_PREFIX + Buffer.byteLength(canonicalJson(header)) + 32 * leaves;
}

/** The length of quilt `k`'s path in a top tree of `n` quilts (SimpleMerkleTree, leaves unsorted). */
function pathLength(k: number, n: number): number {
  return n <= 1 ? 0 : Math.floor(Math.log2(2 * n - 1 - k));
}

// ---------------------------------------------------------------------------------------------------------------------
// Building

/**
 * Builds a v2 batch of `proofs` (at least one, in batch order, no two with the same commitment): v2 documents (checked:
 * shape and hashes, then encoded) or {@link EncodedProofV2}s the caller vouches for (its own proofs, encoded and
 * committed when it signed them: their bytes must be a binary proof, and are not decoded again). Splits them into quilts
 * as {@link planBatchV2} does (or as `options.plan` says), builds each quilt's subtree and index patch and the root
 * over the subroots.
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
  const plan =
    options.plan === undefined
      ? planBatchV2(
          encoded.map((e) => ({ commitment: e.commitment, size: e.bytes.length })),
          { ...options, salted: salt !== undefined },
        )
      : checkPlan(options.plan, proofs.length, planLimits(options).maxPerQuilt);
  const subtrees = plan.map(({ start, end }, k) => {
    const quiltCommitments = commitments.slice(start, end);
    const values: Bytes32[] = k === 0 && salt !== undefined ? [...quiltCommitments, salt] : quiltCommitments;
    return { start, end, commitments: quiltCommitments, values, tree: BatchTree.of(values) };
  });
  const { root, paths } = topLevel(subtrees.map((s) => s.tree.root));
  const count = proofs.length;
  const cap = options.maxQuiltBytes ?? DEFAULT_MAX_QUILT_BYTES;
  const inclusions: BatchInclusionV2[] = [];
  const quilts = subtrees.map((s, k): BatchQuiltV2 => {
    const header: BatchIndexHeaderV2 = {
      kind: BATCH_KIND,
      version: BatchVersion.V2,
      root,
      quilt: k,
      quilts: subtrees.length,
      count,
      leaves: s.values.length,
      path: paths[k],
      ...(k === 0 && salt !== undefined ? { salt } : {}),
    };
    const bytes = encodeIndex(header, s.values);
    const index: BatchIndexV2 = {
      header,
      root,
      quilt: k,
      quilts: subtrees.length,
      count,
      values: s.values,
      tree: s.tree,
      subroot: s.tree.root,
      path: paths[k],
      commitments: s.commitments,
      ...(k === 0 && salt !== undefined ? { salt } : {}),
      bytes,
    };
    s.commitments.forEach((commitment, j) => {
      inclusions.push({
        root,
        index: s.start + j,
        commitment,
        leaf: s.tree.leaf(j),
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
      if (quilt.size > cap) {
        throw new BatchFormatError(
          `quilts[${k}]`,
          `takes ${quilt.size} bytes with its index patch, above the cap of ${cap}: split the proofs into smaller quilts`,
        );
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

/** Checks a caller's plan: consecutive non-empty ranges from 0 to `count`, each of at most `max` proofs. */
function checkPlan(plan: readonly QuiltRange[], count: number, max: number): readonly QuiltRange[] {
  let at = 0;
  plan.forEach((range, k) => {
    if (
      range.start !== at ||
      !Number.isSafeInteger(range.end) ||
      range.end <= range.start ||
      range.end - range.start > max
    ) {
      throw new BatchFormatError(
        `plan[${k}]`,
        `must be the next ${max} or fewer proofs from ${at} ({ start: ${at}, end: > ${at} }), got ${JSON.stringify(range)}`,
      );
    }
    at = range.end;
  });
  if (at !== count) throw new BatchFormatError("plan", `covers proofs 0 to ${at}, not all ${count}`);
  return plan;
}

/** The root over the subroots (OpenZeppelin SimpleMerkleTree, leaves in quilt order; one quilt: the subroot). */
function topLevel(subroots: readonly Bytes32[]): { root: BatchRoot; paths: Bytes32[][] } {
  if (subroots.length === 1) return { root: subroots[0] as BatchRoot, paths: [[]] };
  const tree = SimpleMerkleTree.of([...subroots], { sortLeaves: false });
  return {
    root: tree.root.toLowerCase() as BatchRoot,
    paths: subroots.map((_, k) => tree.getProof(k).map((node) => node.toLowerCase())),
  };
}

/** The index patch bytes: the frame with the header and the values as 32-byte words. */
function encodeIndex(header: BatchIndexHeaderV2, values: readonly Bytes32[]): Uint8Array {
  const body = new Uint8Array(32 * values.length);
  values.forEach((value, i) => writeHex(value, body, 32 * i, 32));
  return encodeFrame(BATCH_INDEX_MAGIC, BatchVersion.V2, canonicalJsonBytes(header), [body]);
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
 * The strict reader of an index patch: the frame (magic {@link BATCH_INDEX_MAGIC}, version 2, nothing trailing), a
 * canonical JSON header of the exact shape, `leaves` 32-byte values in the body, unique, the salt last and in quilt 0
 * only; the subtree rebuilt from them; `path` of the length quilt `quilt` of `quilts` has, leading from the subtree's
 * root to `root` (one quilt: `path` is `[]` and `root` is the subroot); `quilt < quilts <= count`. Throws
 * {@link BatchFormatError} naming the field (`magic`, `version`, `headerLength`, `header`, `leaves`, `values[i]`,
 * `trailing`, or the header field).
 */
export function decodeBatchIndex(input: Uint8Array): BatchIndexV2 {
  const { frame, header: h } = openIndex(input);
  const r = check.object(h, "", INDEX_FIELDS, ["salt"]);
  if (r.kind !== BATCH_KIND) throw new BatchFormatError("kind", `must be "${BATCH_KIND}", got ${kind(r.kind)}`);
  if (r.version !== BatchVersion.V2) {
    throw new BatchFormatError("version", `is ${kind(r.version)} in the header but 2 in the frame`);
  }
  const root = check.bytes32(r.root, "root") as BatchRoot;
  const count = check.integer(r.count, "count", 1, 2 ** 32 - 1);
  const quilts = check.integer(r.quilts, "quilts", 1, count);
  const quilt = check.integer(r.quilt, "quilt", 0, quilts - 1);
  const salt = r.salt === undefined ? undefined : check.bytes32(r.salt, "salt");
  if (salt !== undefined && quilt !== 0) {
    throw new BatchFormatError("salt", `is in the index of quilt ${quilt}: a batch's salt is in quilt 0's values only`);
  }
  const leaves = check.integer(r.leaves, "leaves", salt === undefined ? 1 : 2, MAX_QUILT_PROOFS + 1);
  const path = check.array(r.path, "path").map((node, i) => check.bytes32(node, join("path", i)));
  const body: FramePiece = { field: "leaves", length: 32 * leaves, bytes: new Uint8Array(0) };
  frame.slice([body]);
  const values = Array.from(
    { length: leaves },
    (_, i) => `0x${Buffer.from(body.bytes.subarray(32 * i, 32 * i + 32)).toString("hex")}`,
  );
  checkUniqueValues(values);
  const commitments = values.slice() as Commitment[];
  if (salt !== undefined && commitments.pop() !== salt) {
    throw new BatchFormatError(`values[${leaves - 1}]`, `must be the batch's salt ${salt}: the salt is the last value`);
  }
  if (commitments.length > count) {
    throw new BatchFormatError("count", `is ${count} but this quilt alone holds ${commitments.length} proofs`);
  }
  const expected = pathLength(quilt, quilts);
  if (path.length !== expected) {
    throw new BatchFormatError(
      "path",
      `holds ${path.length} node(s), but quilt ${quilt} of ${quilts} has a path of ${expected} (${quilts === 1 ? "a one-quilt batch's root is its subroot" : "OpenZeppelin SimpleMerkleTree over the subroots in quilt order"})`,
    );
  }
  const tree = BatchTree.of(values);
  const subroot = tree.root;
  const reached = path.reduce<string>((node, sibling) => hashPair(node, sibling), subroot);
  if (reached !== root) {
    throw new BatchFormatError(
      "path",
      `leads from the quilt's subroot ${subroot} to ${reached}, not to the batch root ${root}: the index was altered`,
    );
  }
  const header: BatchIndexHeaderV2 = {
    kind: BATCH_KIND,
    version: BatchVersion.V2,
    root,
    quilt,
    quilts,
    count,
    leaves,
    path,
    ...(salt === undefined ? {} : { salt }),
  };
  if (!Buffer.from(canonicalJsonBytes(header)).equals(Buffer.from(frame.header))) {
    throw new BatchFormatError(
      "header",
      "is not the canonical JSON of the index header (sorted keys, no whitespace, lowercase hex): an index has one encoding",
    );
  }
  return {
    header,
    root,
    quilt,
    quilts,
    count,
    values,
    tree,
    subroot,
    path,
    commitments,
    ...(salt === undefined ? {} : { salt }),
    bytes: input,
  };
}

/**
 * The lenient reader of an index patch, for verifying ONE proof: the frame, the header's outer shape and the values;
 * nothing proven. The subtree is rebuilt from the values; a proof's inclusion is then `inclusionOf(inspection,
 * commitment).proof` checked against the anchored root (`provesBatchInclusion`, `ProofRegistry.isIncluded`): an index
 * that lies gives a proof that fails. Throws {@link BatchFormatError} naming the field.
 */
export function inspectBatchIndex(input: Uint8Array): BatchIndexInspection {
  const { frame, header: doc } = openIndex(input);
  const fail = (field: string, reason: string) => new BatchFormatError(field, reason);
  if (doc.kind !== BATCH_KIND) throw fail("kind", `must be "${BATCH_KIND}", got ${kind(doc.kind)}`);
  if (typeof doc.root !== "string") throw fail("root", "must be a bytes32 hex string");
  const integer = (field: string) => {
    const value = doc[field];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw fail(field, "must be a non-negative integer");
    }
    return value;
  };
  const leaves = integer("leaves");
  if (leaves < 1 || 32 * leaves !== frame.body.length) {
    throw fail("leaves", `is ${leaves} but the body holds ${frame.body.length} bytes (32 per value, at least one)`);
  }
  if (!Array.isArray(doc.path) || !doc.path.every((n) => typeof n === "string")) {
    throw fail("path", "must be an array of hex node hashes");
  }
  const values = Array.from(
    { length: leaves },
    (_, i) => `0x${Buffer.from(frame.body.subarray(32 * i, 32 * i + 32)).toString("hex")}`,
  );
  let salt: Bytes32 | undefined;
  if (doc.salt !== undefined) {
    if (!isBytes32Hex(doc.salt)) throw fail("salt", "must be a bytes32 hex string");
    salt = doc.salt.toLowerCase();
    if (values[leaves - 1] !== salt) throw fail("salt", `must be the last value, which is ${values[leaves - 1]}`);
  }
  const tree = BatchTree.of(values);
  const proofs = salt === undefined ? leaves : leaves - 1;
  return {
    version: BatchVersion.V2,
    root: doc.root,
    quilt: integer("quilt"),
    quilts: integer("quilts"),
    count: integer("count"),
    leaves: values
      .slice(0, proofs)
      .map((commitment, i) => ({ commitment: commitment as Commitment, treeIndex: tree.treeIndex(i) })),
    tree,
    path: doc.path as string[],
    ...(salt === undefined ? {} : { salt }),
  };
}

/**
 * Where `commitment` sits under an index patch (strict {@link BatchIndexV2} or lenient {@link BatchIndexInspection})
 * and its inclusion proof: the subtree proof followed by the quilt's path, what `ProofRegistry.isIncluded(node, root,
 * commitment, proof)` and `verifyBatchInclusion` accept. For an inspection nothing is proven until the proof is checked
 * against the anchored root. Throws {@link NotInBatchError} when the index has no such commitment, and
 * {@link BatchFormatError} when an inspected path is not bytes32 hex.
 */
export function inclusionOf(
  index: BatchIndexV2 | BatchIndexInspection,
  commitment: Commitment | string,
): { root: string; proof: Bytes32[]; leaf: Bytes32; quilt: number; treeIndex: number } {
  const wanted = toCommitment(commitment, "commitment");
  const at =
    "commitments" in index ? index.commitments.indexOf(wanted) : index.leaves.findIndex((l) => l.commitment === wanted);
  if (at < 0) throw new NotInBatchError(wanted, index.root);
  if (!index.path.every((node) => isBytes32Hex(node))) {
    throw new BatchFormatError("path", `cannot give a Merkle proof of ${wanted}: a path entry is not bytes32 hex`);
  }
  return {
    root: index.root,
    proof: [...index.tree.proof(at), ...index.path.map((node) => node.toLowerCase())],
    leaf: index.tree.leaf(at),
    quilt: index.quilt,
    treeIndex: index.tree.treeIndex(at),
  };
}

/**
 * The strict reader of a whole quilt (every patch, e.g. from a whole-quilt read): the index patch
 * ({@link decodeBatchIndex}), and one proof patch per index commitment, each a v2 proof (`decodeProof`) whose
 * commitment is its identifier; no other patch. Throws {@link BatchFormatError} naming the patch
 * (`patches["<identifier>"]`).
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
      const proof = decodeAnyProof(contents);
      if (isPrivateProof(proof)) {
        const actual = privateProofCommitment(proof);
        if (actual !== commitment) {
          throw new BatchFormatError(
            field,
            `holds a proof that commits to ${actual}, not to its identifier ${commitment}`,
          );
        }
        return proof;
      }
      if (proof.version !== ProofVersion.V2) {
        throw new BatchFormatError(`${field}.version`, "must be 2 or 3 (private) in a v2 batch");
      }
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

/** Whether `bytes` start with {@link BATCH_INDEX_MAGIC} (a v2 index patch). */
export function isBatchIndex(bytes: Uint8Array): boolean {
  return hasMagic(bytes, BATCH_INDEX_MAGIC);
}

// ---------------------------------------------------------------------------------------------------------------------

/** Reads an index patch's frame (version 2) and parses its header to a JSON object. */
function openIndex(bytes: Uint8Array): { frame: Frame; header: Record<string, unknown> } {
  if (!(bytes instanceof Uint8Array)) throw new BatchFormatError("$", `must be the patch's bytes, got ${kind(bytes)}`);
  const frame = decodeFrame(
    bytes,
    BATCH_INDEX_MAGIC,
    "an index patch",
    (field, reason) => new BatchFormatError(field, reason),
  );
  if (frame.version !== BatchVersion.V2) {
    throw new BatchFormatError(
      "version",
      `is ${frame.version} in the frame; this library reads index patches of version 2`,
    );
  }
  let parsed: unknown;
  try {
    parsed = parseJson(frame.header);
  } catch (error) {
    throw new BatchFormatError("header", `is not UTF-8 JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new BatchFormatError("header", `must be a JSON object, got ${kind(parsed)}`);
  }
  return { frame, header: parsed as Record<string, unknown> };
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
    if (earlier !== undefined) throw new BatchFormatError(`values[${i}]`, `repeats values[${earlier}]`);
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
