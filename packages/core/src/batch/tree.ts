import createKeccakHash from "keccak";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { BatchFormatError } from "../errors";
import { isBytes32Hex, leafOf, toBytes32, type BatchRoot, type Bytes32 } from "../ids";
import { keccak256Hex, writeHex } from "../keccak";

/**
 * # Batch trees
 *
 * The Merkle tree of a proof batch, in one place: built, stored, checked and proven here, for the batch format (see
 * `format.ts`), the node's outbox and proof index, and the verifier.
 *
 * The tree is OpenZeppelin's `StandardMerkleTree` with leaf encoding `["bytes32"]` and the library's defaults: leaf =
 * `keccak256(keccak256(abi.encode(value)))`, leaves sorted by hash and placed from the end of the node array, node `i`
 * the keccak256 of its two children (`2i + 1`, `2i + 2`) sorted. That is what `ProofRegistry.leafOf` and
 * `MerkleProof.verify` expect, and what `StandardMerkleTree.dump()` writes into a batch blob. The values are the
 * commitments of the batch's proofs in order, then its salt when there is one.
 */

/** The leaf encoding of batch trees. */
export const BATCH_LEAF_ENCODING: readonly string[] = ["bytes32"];

/** A batch tree value: one proof commitment (or the salt). */
export type BatchLeaf = [commitment: Bytes32];

/** The JSON form of a batch tree: `StandardMerkleTree.dump()` (format `standard-v1`). */
export type BatchTreeDump = ReturnType<StandardMerkleTree<BatchLeaf>["dump"]>;

/**
 * A batch tree as flat bytes: the nodes in the layout of `StandardMerkleTree`'s `tree` array, 32 bytes each, and each
 * value's tree index. Built with a native keccak256 (about 6x faster than `StandardMerkleTree.of`) and stored as is by
 * the node's proof index ({@link BatchTree.bytes}, {@link BatchTree.fromBytes}).
 */
export class BatchTree {
  private constructor(
    private readonly nodes: Buffer,
    private readonly treeIndexes: Uint32Array,
  ) {}

  /**
   * The tree over `values` (lowercase bytes32 hex, at least one): `StandardMerkleTree.of(values.map((v) => [v]),
   * ["bytes32"])`. Repeated values are allowed (each gets its own leaf, as in the library). Throws
   * {@link BatchFormatError} naming `values[i]` for a value that is not lowercase bytes32 hex.
   */
  static of(values: readonly Bytes32[]): BatchTree {
    if (values.length === 0) throw new BatchFormatError("values", "must hold at least one value");
    values.forEach((v, i) => {
      if (typeof v !== "string" || !LOWER_BYTES32.test(v)) {
        throw new BatchFormatError(`values[${i}]`, "must be 0x and 64 lowercase hex digits");
      }
    });
    const n = values.length;
    const size = 2 * n - 1;
    const nodes = Buffer.allocUnsafe(32 * size);
    const leaves = values.map((v) => leafBuffer(v));
    // Sorted by hash; Array.prototype.sort is stable, as the library's sort of equal leaves is.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => Buffer.compare(leaves[a], leaves[b]));
    const treeIndexes = new Uint32Array(n);
    order.forEach((valueIndex, k) => {
      const at = size - 1 - k;
      treeIndexes[valueIndex] = at;
      leaves[valueIndex].copy(nodes, 32 * at);
    });
    const pair = Buffer.allocUnsafe(64);
    for (let i = size - 1 - n; i >= 0; i--) {
      const left = nodes.subarray(32 * (2 * i + 1), 32 * (2 * i + 2));
      const right = nodes.subarray(32 * (2 * i + 2), 32 * (2 * i + 3));
      nodeBuffer(left, right, pair).copy(nodes, 32 * i);
    }
    return new BatchTree(nodes, treeIndexes);
  }

  /** The tree of `values` values stored by {@link bytes}, or `undefined` if the bytes cannot be one. */
  static fromBytes(bytes: Uint8Array, values: number): BatchTree | undefined {
    const size = 2 * values - 1;
    if (!Number.isSafeInteger(values) || values < 1 || bytes.length !== 4 * values + 32 * size) return undefined;
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const treeIndexes = new Uint32Array(values);
    for (let i = 0; i < values; i++) {
      treeIndexes[i] = buffer.readUInt32LE(4 * i);
      if (treeIndexes[i] < values - 1 || treeIndexes[i] >= size) return undefined;
    }
    return new BatchTree(Buffer.from(buffer.subarray(4 * values)), treeIndexes);
  }

  /** Each value's tree index (uint32 LE), then the nodes. */
  bytes(): Buffer {
    const out = Buffer.allocUnsafe(4 * this.treeIndexes.length + this.nodes.length);
    this.treeIndexes.forEach((at, i) => out.writeUInt32LE(at, 4 * i));
    this.nodes.copy(out, 4 * this.treeIndexes.length);
    return out;
  }

  /** The Merkle root. */
  get root(): BatchRoot {
    return this.node(0) as BatchRoot;
  }

  /** The number of values (leaves). */
  get size(): number {
    return this.treeIndexes.length;
  }

  /** Where value `valueIndex`'s leaf sits in the node array. */
  treeIndex(valueIndex: number): number {
    return this.treeIndexes[valueIndex];
  }

  /** The leaf hash of value `valueIndex` (`leafOf` of it). */
  leaf(valueIndex: number): Bytes32 {
    return this.node(this.treeIndexes[valueIndex]);
  }

  /** `StandardMerkleTree.getProof(valueIndex)`: the sibling hashes from the value's leaf up to the root. */
  proof(valueIndex: number): Bytes32[] {
    const proof: Bytes32[] = [];
    for (let i = this.treeIndexes[valueIndex]; i > 0; i = (i - 1) >> 1) {
      proof.push(this.node(i % 2 === 1 ? i + 1 : i - 1));
    }
    return proof;
  }

  /** The nodes as lowercase bytes32 hex, root first (the `tree` of a dump). */
  hexNodes(): Bytes32[] {
    return Array.from({ length: this.nodes.length / 32 }, (_, i) => this.node(i));
  }

  /** `StandardMerkleTree.dump()` of this tree, whose values are `values` (the ones it was built of). */
  dump(values: readonly Bytes32[]): BatchTreeDump {
    return {
      format: "standard-v1",
      leafEncoding: [...BATCH_LEAF_ENCODING],
      tree: this.hexNodes(),
      values: values.map((value, i) => ({ value: [value] as BatchLeaf, treeIndex: this.treeIndexes[i] })),
    };
  }

  private node(i: number): Bytes32 {
    return "0x" + this.nodes.toString("hex", 32 * i, 32 * i + 32);
  }
}

/**
 * The Merkle proof (sibling hashes, leaf to root) of the node at `treeIndex` in a stored, unchecked node array
 * (OpenZeppelin's layout: the node at `i` has its sibling at `i + 1` for odd `i`, `i - 1` for even `i`, its parent at
 * `(i - 1) / 2`). Lowercased. A malformed tree gives `null` (an index outside the array, a sibling that is not
 * bytes32 hex): the lenient reader's proof, checked against an anchored root before anything is believed.
 */
export function merkleProofAt(nodes: readonly unknown[], treeIndex: number): Bytes32[] | null {
  if (!Number.isSafeInteger(treeIndex) || treeIndex < 0 || treeIndex >= nodes.length) return null;
  const proof: Bytes32[] = [];
  for (let i = treeIndex; i > 0; i = Math.floor((i - 1) / 2)) {
    const hash = nodes[i % 2 === 1 ? i + 1 : i - 1];
    if (!isBytes32Hex(hash)) return null;
    proof.push(hash.toLowerCase());
  }
  return proof;
}

/**
 * Whether `proof` proves `commitment` under `root`, off-chain (the same check `ProofRegistry.isIncluded` makes, minus
 * "is the root anchored"). Throws {@link InvalidArgumentError} for a root or commitment that is not bytes32 hex.
 */
export function verifyBatchInclusion(root: Bytes32, commitment: Bytes32, proof: readonly Bytes32[]): boolean {
  const expected = toBytes32(root, "root");
  const leaf = toBytes32(commitment, "commitment");
  if (!proof.every((node) => typeof node === "string" && PROOF_NODE.test(node))) {
    // Not all bytes32 hex: the library decides (it reads other forms, and rejects what is not 32 bytes).
    return StandardMerkleTree.verify<BatchLeaf>(expected, [...BATCH_LEAF_ENCODING], [leaf], [...proof]);
  }
  // StandardMerkleTree.verify: hash the leaf, then each sorted pair up to the root.
  let node = leafHash(leaf);
  for (const sibling of proof) {
    node = nodeHash(node, (sibling.startsWith("0x") ? sibling : `0x${sibling}`).toLowerCase());
  }
  return node === expected;
}

/**
 * Like {@link verifyBatchInclusion}, for untrusted input: `false` instead of an error for a malformed root,
 * commitment or proof, and for a missing proof (`null`, what {@link merkleProofAt} gives for a malformed tree).
 */
export function provesBatchInclusion(root: unknown, commitment: unknown, proof: readonly unknown[] | null): boolean {
  if (proof === null || !isBytes32Hex(root) || !isBytes32Hex(commitment)) return false;
  try {
    return verifyBatchInclusion(root, commitment, proof as Bytes32[]);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------------

const LOWER_BYTES32 = /^0x[0-9a-f]{64}$/;
/** A proof sibling, bytes32 hex with or without `0x` (what the fast path of {@link verifyBatchInclusion} reads). */
const PROOF_NODE = /^(?:0x)?[0-9a-fA-F]{64}$/;

function keccak256(data: Buffer): Buffer {
  return createKeccakHash("keccak256").update(data).digest();
}

/** keccak256(keccak256(abi.encode(bytes32))): abi.encode(bytes32) is the 32 bytes themselves. */
function leafBuffer(value: Bytes32): Buffer {
  return keccak256(keccak256(Buffer.from(value.slice(2), "hex")));
}

/** keccak256 of the two nodes, sorted (`standardNodeHash`). */
function nodeBuffer(left: Buffer, right: Buffer, pair = Buffer.allocUnsafe(64)): Buffer {
  const [a, b] = Buffer.compare(left, right) <= 0 ? [left, right] : [right, left];
  a.copy(pair, 0);
  b.copy(pair, 32);
  return keccak256(pair);
}

/**
 * The leaf and node hashes of the tree {@link checkTreeDump} checked last, by their input (a commitment; two nodes in
 * order). Verifying the inclusion proofs of a batch just decoded walks exactly these hashes: lookups instead of a dozen
 * keccak256 each. A memo of a pure function (the same bytes hash to the same value), replaced by each tree checked and
 * kept only for trees of up to {@link MAX_MEMO_LEAVES} leaves.
 */
let memo: { leaves: Map<string, Bytes32>; nodes: Map<string, Bytes32> } | undefined;
const MAX_MEMO_LEAVES = 1 << 16;

/** {@link leafOf} of a lowercase bytes32 commitment (remembered while checking a tree). */
function leafHash(commitment: Bytes32, remember = false): Bytes32 {
  const known = memo?.leaves.get(commitment);
  if (known !== undefined) return known;
  const hash = leafOf(commitment);
  if (remember) memo?.leaves.set(commitment, hash);
  return hash;
}

/** The hash of two tree nodes (lowercase bytes32 hex): keccak256 of the two sorted, as `standardNodeHash`. */
function nodeHash(a: string, b: string, remember = false): Bytes32 {
  // Same-length lowercase hex compares as the numbers do.
  const [first, second] = a < b ? [a, b] : [b, a];
  const key = first + second;
  const known = memo?.nodes.get(key);
  if (known !== undefined) return known;
  const pair = new Uint8Array(64);
  writeHex(first, pair, 0, 32);
  writeHex(second, pair, 32, 32);
  const hash = keccak256Hex(pair);
  if (remember) memo?.nodes.set(key, hash);
  return hash;
}

/**
 * Checks a tree dump whose shape is checked (lowercase bytes32 nodes, one leaf per value) as `StandardMerkleTree.load`
 * does: the node at each value's tree index is the leaf hash of the value, then every node with children is the hash
 * of its two children and none has only one. Returns the root; throws {@link BatchFormatError} naming `tree`.
 */
export function checkTreeDump(dump: BatchTreeDump): BatchRoot {
  const invalid = (reason: string) => new BatchFormatError("tree", `is not a valid Merkle tree: ${reason}`);
  const nodes = dump.tree;
  memo = dump.values.length <= MAX_MEMO_LEAVES ? { leaves: new Map(), nodes: new Map() } : undefined;
  for (const { value, treeIndex } of dump.values) {
    if (nodes[treeIndex] !== leafHash(value[0], true)) throw invalid("Merkle tree does not contain the expected value");
  }
  for (let i = 0; i < nodes.length; i++) {
    const left = 2 * i + 1;
    const right = left + 1;
    const valid = right >= nodes.length ? left >= nodes.length : nodes[i] === nodeHash(nodes[left], nodes[right], true);
    if (!valid) throw invalid("Merkle tree is invalid");
  }
  if (nodes.length === 0) throw invalid("Merkle tree is invalid");
  return nodes[0] as BatchRoot;
}

/** The sibling hashes from the node at `treeIndex` of a checked node array up to the root. */
export function proofInCheckedTree(nodes: readonly Bytes32[], treeIndex: number): Bytes32[] {
  const proof: Bytes32[] = [];
  for (let i = treeIndex; i > 0; i = Math.floor((i - 1) / 2)) proof.push(nodes[i % 2 === 1 ? i + 1 : i - 1]);
  return proof;
}
