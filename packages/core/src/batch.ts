import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { BatchFormatError, NotInBatchError, StrataError, UnsupportedVersionError } from "./errors";
import { leafOf, toBytes32, type Bytes32 } from "./ids";
import { canonicalJsonBytes, parseJson } from "./json";
import { keccak256Hex, writeHex } from "./keccak";
import { validateProofForCommitment, type InferenceProof } from "./proof";
import { join, kind, ShapeChecker } from "./shape";

/**
 * # Proof batches
 *
 * A batch is one Walrus blob holding many proofs and the Merkle tree over their commitments; the chain holds the root
 * (`ProofRegistry.anchorBatch`) and checks inclusion (`ProofRegistry.isIncluded`).
 *
 * The blob is the canonical JSON (see `json.ts`) of
 * `{ version: 1, kind: "strata.proof-batch", root, tree, proofs }` where `proofs` are the proof documents and `tree` is
 * the `dump()` of an OpenZeppelin `StandardMerkleTree` with leaf encoding `["bytes32"]` whose value `i` is
 * `[commitment of proofs[i]]` (leaf = `keccak256(keccak256(abi.encode(commitment)))`, sorted pairs, leaves sorted by
 * hash: the library's defaults, and what `ProofRegistry.leafOf` / `MerkleProof.verify` expect).
 *
 * A batch may be **salted**: `{ ..., salt }` with the salt (bytes32) as one extra tree value after the proofs' (value
 * `proofs.length`). The root changes and nothing else does: the count anchored is still the number of proofs, and the
 * salt is never a proof (no document commits to it). A node re-seals a batch with a salt when another node already
 * holds the batch's root (anchors are keyed by node, but a node must anchor under a root no one else has made its own
 * to report it cleanly). An unsalted batch has no `salt` field: its bytes and root are those of the first format.
 */

/** The `kind` of a proof batch document. */
export const BATCH_KIND = "strata.proof-batch";
/** The leaf encoding of batch trees. */
export const BATCH_LEAF_ENCODING: readonly string[] = ["bytes32"];

/** The batch format versions. */
export enum BatchVersion {
  V1 = 1,
}

/** Every batch version this library reads. */
export const SUPPORTED_BATCH_VERSIONS: readonly BatchVersion[] = [BatchVersion.V1];

/** A batch tree value: one proof commitment. */
export type BatchLeaf = [commitment: Bytes32];

/** The JSON form of a batch tree: `StandardMerkleTree.dump()` (format `standard-v1`). */
export type BatchTreeDump = ReturnType<StandardMerkleTree<BatchLeaf>["dump"]>;

/** The batch document (v1), as stored on Walrus. */
export interface ProofBatchDocumentV1 {
  version: BatchVersion.V1;
  kind: typeof BATCH_KIND;
  root: Bytes32;
  tree: BatchTreeDump;
  proofs: InferenceProof[];
  /** The salt, the tree's last value (see above); absent in an unsalted batch. */
  salt?: Bytes32;
}

/** Options of {@link buildBatch}. */
export interface BuildBatchOptions {
  /** A salt (bytes32, not any proof's commitment) added as one extra tree value: the root changes. */
  salt?: Bytes32;
}

/** Where a proof sits in a batch, and the Merkle proof that `ProofRegistry.isIncluded` accepts. */
export interface BatchInclusion {
  root: Bytes32;
  /** The proof's position in the batch's `proofs`. */
  index: number;
  commitment: Bytes32;
  /** The Merkle leaf of the commitment ({@link leafOf}). */
  leaf: Bytes32;
  /** The sibling hashes from the leaf up to the root. */
  proof: Bytes32[];
}

/** A batch, built or decoded. */
export interface ProofBatch {
  root: Bytes32;
  /** The number of proofs: the `count` to anchor. */
  count: number;
  proofs: InferenceProof[];
  /** `commitments[i]` is the commitment of `proofs[i]`. */
  commitments: Bytes32[];
  tree: StandardMerkleTree<BatchLeaf>;
  /** `inclusions[i]` proves that `proofs[i]` is in the batch. */
  inclusions: BatchInclusion[];
  document: ProofBatchDocumentV1;
  /** The blob bytes: canonical JSON from {@link buildBatch}; the bytes given to {@link decodeBatch}. */
  bytes: Uint8Array;
  /** The salt of a salted batch (the tree's last value, not a proof). */
  salt?: Bytes32;
}

/**
 * Builds a batch of `proofs` (at least one, no two with the same commitment). Every proof is checked: its shape, and
 * that its stored hashes match its data (signatures are the verifier's concern). `options.salt` seals a salted batch
 * (see the format above).
 */
export function buildBatch(proofs: readonly InferenceProof[], options: BuildBatchOptions = {}): ProofBatch {
  if (proofs.length === 0) throw new BatchFormatError("proofs", "must hold at least one proof");
  const salt = options.salt === undefined ? undefined : checkSalt(options.salt);
  const validated = proofs.map((proof, i) =>
    inner(`proofs[${i}]`, () => validateProofForCommitment(proof, `proofs[${i}]`)),
  );
  const checked = validated.map((v) => v.proof);
  const commitments = validated.map((v, i) => inner(`proofs[${i}]`, () => v.commitment()));
  checkUnique(commitments);
  checkSaltApart(salt, commitments);
  const values = commitments.map((c): BatchLeaf => [c]);
  if (salt !== undefined) values.push([salt]);
  const tree = StandardMerkleTree.of<BatchLeaf>(values, [...BATCH_LEAF_ENCODING]);
  const document: ProofBatchDocumentV1 = {
    version: BatchVersion.V1,
    kind: BATCH_KIND,
    root: tree.root,
    tree: tree.dump(),
    proofs: checked,
    ...(salt === undefined ? {} : { salt }),
  };
  return assemble(document, () => tree, commitments, canonicalJsonBytes(document));
}

/**
 * Reads a batch blob and checks it all: the shape, every proof (shape and hashes), that the tree is a valid
 * StandardMerkleTree with one leaf per proof, that value `i` of the tree is the commitment of proof `i`, and that the
 * declared root is the tree's root. Throws {@link BatchFormatError} naming the field (or
 * {@link UnsupportedVersionError} for an unknown batch version).
 */
export function decodeBatch(input: Uint8Array | string): ProofBatch {
  let parsed: unknown;
  try {
    parsed = parseJson(input);
  } catch (error) {
    throw new BatchFormatError("$", `is not UTF-8 JSON: ${(error as Error).message}`, { cause: error });
  }
  const r = check.object(parsed, "", ["version", "kind", "root", "tree", "proofs"], ["salt"]);
  if (!SUPPORTED_BATCH_VERSIONS.includes(r.version as BatchVersion)) {
    throw new UnsupportedVersionError("batch", r.version, SUPPORTED_BATCH_VERSIONS);
  }
  if (r.kind !== BATCH_KIND) throw new BatchFormatError("kind", `must be "${BATCH_KIND}", got ${kind(r.kind)}`);
  const root = check.bytes32(r.root, "root");
  // Each proof is validated once, its tensors decoded once; its commitment is computed after the tree's checks.
  const checked = check
    .array(r.proofs, "proofs", { minLength: 1 })
    .map((proof, i) => inner(`proofs[${i}]`, () => validateProofForCommitment(proof, `proofs[${i}]`)));
  const proofs = checked.map((c) => c.proof);
  const salt = r.salt === undefined ? undefined : check.bytes32(r.salt, "salt");
  const dump = validateDump(r.tree, proofs.length + (salt === undefined ? 0 : 1));
  if (salt !== undefined && dump.values[proofs.length].value[0] !== salt) {
    throw new BatchFormatError(
      `tree.values[${proofs.length}]`,
      `is ${dump.values[proofs.length].value[0]} but the batch's salt is ${salt}: the salt must be the last tree value`,
    );
  }

  // What `StandardMerkleTree.load` checks, with a faster keccak256; the tree object is built on first use.
  const treeRoot = checkTree(dump);
  if (treeRoot !== root) throw new BatchFormatError("root", `is ${root} but the tree's root is ${treeRoot}`);
  let loaded: StandardMerkleTree<BatchLeaf> | undefined;
  const tree = () => (loaded ??= StandardMerkleTree.load(dump));

  const commitments = checked.map((c, i) => inner(`proofs[${i}]`, () => c.commitment()));
  commitments.forEach((commitment, i) => {
    const value = dump.values[i].value[0];
    if (value !== commitment) {
      throw new BatchFormatError(
        `tree.values[${i}]`,
        `is ${value} but proofs[${i}] commits to ${commitment}: the proof or the tree was altered`,
      );
    }
  });
  checkUnique(commitments);
  checkSaltApart(salt, commitments);
  const document: ProofBatchDocumentV1 = {
    version: BatchVersion.V1,
    kind: BATCH_KIND,
    root,
    tree: dump,
    proofs,
    ...(salt === undefined ? {} : { salt }),
  };
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  return assemble(document, tree, commitments, bytes);
}

/** Where `commitment` sits in `batch` and its Merkle proof; throws {@link NotInBatchError} if it is not there. */
export function batchProofFor(batch: ProofBatch, commitment: Bytes32): BatchInclusion {
  const wanted = toBytes32(commitment, "commitment");
  const index = batch.commitments.indexOf(wanted);
  if (index < 0) throw new NotInBatchError(wanted, batch.root);
  return batch.inclusions[index];
}

/**
 * Whether `proof` proves `commitment` under `root`, off-chain (the same check `ProofRegistry.isIncluded` makes, minus
 * "is the root anchored").
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

// ---------------------------------------------------------------------------------------------------------------------

const check = new ShapeChecker((field, reason) => new BatchFormatError(field || "$", reason));

/**
 * The batch of a checked document whose tree (`document.tree`, checked: every leaf the hash of its value, every inner
 * node the hash of its children) holds `commitments`. `tree` gives the StandardMerkleTree object, built on first use
 * of `batch.tree`. Inclusion proofs are read off the checked tree's nodes, as `StandardMerkleTree.getProof` does.
 */
function assemble(
  document: ProofBatchDocumentV1,
  tree: () => StandardMerkleTree<BatchLeaf>,
  commitments: Bytes32[],
  bytes: Uint8Array,
): ProofBatch {
  const nodes = document.tree.tree;
  const root = nodes[0];
  const inclusions = commitments.map((commitment, index): BatchInclusion => {
    const treeIndex = document.tree.values[index].treeIndex;
    return { root, index, commitment, leaf: nodes[treeIndex], proof: proofAt(nodes, treeIndex) };
  });
  let replaced: StandardMerkleTree<BatchLeaf> | undefined;
  return {
    ...(document.salt === undefined ? {} : { salt: document.salt }),
    root,
    count: commitments.length,
    proofs: document.proofs,
    commitments,
    get tree() {
      return replaced ?? tree();
    },
    set tree(value: StandardMerkleTree<BatchLeaf>) {
      replaced = value;
    },
    inclusions,
    document,
    bytes,
  };
}

/** A proof sibling, bytes32 hex with or without `0x` (what the fast path of {@link verifyBatchInclusion} reads). */
const PROOF_NODE = /^(?:0x)?[0-9a-fA-F]{64}$/;

/**
 * The leaf and node hashes of the tree {@link checkTree} checked last, by their input (a commitment; two nodes in
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
 * Checks a tree dump (shape already checked by {@link validateDump}: lowercase bytes32 nodes, one leaf per value) as
 * `StandardMerkleTree.load` does: the node at each value's tree index is the leaf hash of the value, then every node
 * with children is the hash of its two children and none has only one. Returns the root.
 */
function checkTree(dump: BatchTreeDump): Bytes32 {
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
  return nodes[0];
}

/** The sibling hashes from the node at `treeIndex` up to the root (`getProof` of OpenZeppelin's tree layout). */
function proofAt(nodes: readonly Bytes32[], treeIndex: number): Bytes32[] {
  const proof: Bytes32[] = [];
  for (let i = treeIndex; i > 0; i = Math.floor((i - 1) / 2)) proof.push(nodes[i % 2 === 1 ? i + 1 : i - 1]);
  return proof;
}

/** Checks the JSON of a StandardMerkleTree dump and that it has exactly one leaf per proof. */
function validateDump(value: unknown, count: number): BatchTreeDump {
  const t = check.object(value, "tree", ["format", "leafEncoding", "tree", "values"]);
  if (t.format !== "standard-v1")
    throw new BatchFormatError("tree.format", `must be "standard-v1", got ${kind(t.format)}`);
  const encoding = check.array(t.leafEncoding, "tree.leafEncoding");
  if (encoding.length !== 1 || encoding[0] !== "bytes32") {
    throw new BatchFormatError("tree.leafEncoding", `must be ["bytes32"], got ${JSON.stringify(encoding)}`);
  }
  const nodes = check.array(t.tree, "tree.tree").map((node, i) => check.bytes32(node, `tree.tree[${i}]`));
  if (nodes.length !== 2 * count - 1) {
    throw new BatchFormatError(
      "tree.tree",
      `must hold ${2 * count - 1} nodes for ${count} proofs, got ${nodes.length}`,
    );
  }
  const seen = new Set<number>();
  const values = check.array(t.values, "tree.values").map((item, i) => {
    const at = join("tree.values", i);
    const v = check.object(item, at, ["value", "treeIndex"]);
    const leaf = check.array(v.value, join(at, "value"));
    if (leaf.length !== 1) throw new BatchFormatError(join(at, "value"), "must hold exactly one commitment");
    // Leaves are the last `count` nodes of the tree array.
    const treeIndex = check.integer(v.treeIndex, join(at, "treeIndex"), count - 1, 2 * count - 2);
    if (seen.has(treeIndex)) throw new BatchFormatError(join(at, "treeIndex"), `repeats tree index ${treeIndex}`);
    seen.add(treeIndex);
    return { value: [check.bytes32(leaf[0], join(join(at, "value"), 0))] as BatchLeaf, treeIndex };
  });
  if (values.length !== count) {
    throw new BatchFormatError("tree.values", `must hold one value per proof (${count}), got ${values.length}`);
  }
  return { format: "standard-v1", leafEncoding: ["bytes32"], tree: nodes, values };
}

/** A salt as lowercase bytes32, or a {@link BatchFormatError} naming `salt`. */
function checkSalt(salt: unknown): Bytes32 {
  return check.bytes32(salt, "salt");
}

/** A salt equal to a proof's commitment would make that proof's leaf appear twice: refused. */
function checkSaltApart(salt: Bytes32 | undefined, commitments: readonly Bytes32[]): void {
  if (salt === undefined) return;
  const index = commitments.indexOf(salt);
  if (index >= 0) {
    throw new BatchFormatError("salt", `is the commitment of proofs[${index}]: choose a random salt`);
  }
}

function checkUnique(commitments: readonly Bytes32[]): void {
  const first = new Map<Bytes32, number>();
  commitments.forEach((commitment, i) => {
    const earlier = first.get(commitment);
    if (earlier !== undefined) {
      throw new BatchFormatError(`proofs[${i}]`, `has the same commitment ${commitment} as proofs[${earlier}]`);
    }
    first.set(commitment, i);
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
