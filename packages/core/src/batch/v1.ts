import { BatchFormatError, StrataError } from "../errors";
import { isBytes32Hex, type BatchRoot, type Bytes32, type Commitment } from "../ids";
import { canonicalJsonBytes } from "../json";
import { ProofVersion, SUPPORTED_PROOF_VERSIONS, validateProofForCommitment, type InferenceProof } from "../proof";
import { join, kind, ShapeChecker } from "../shape";
import {
  BATCH_KIND,
  BatchVersion,
  type BatchFormat,
  type BatchInclusion,
  type BatchInspection,
  type BatchLeafEntry,
  type BuildBatchOptions,
  type ProofBatch,
  type ProofBatchDocumentV1,
} from "./format";
import { BatchTree, checkTreeDump, proofInCheckedTree, type BatchLeaf, type BatchTreeDump } from "./tree";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

/**
 * # Batch format version 1
 *
 * The canonical JSON of `{ version: 1, kind: "strata.proof-batch", root, tree, proofs }` where `proofs` are the proof
 * documents and `tree` is the `dump()` of an OpenZeppelin `StandardMerkleTree` with leaf encoding `["bytes32"]` whose
 * value `i` is `[commitment of proofs[i]]` (see `tree.ts`).
 *
 * A batch may be **salted**: `{ ..., salt }` with the salt (bytes32) as one extra tree value after the proofs' (value
 * `proofs.length`). The root changes and nothing else does: the count anchored is still the number of proofs, and the
 * salt is never a proof (no document commits to it). A node re-seals a batch with a salt when another node already
 * holds the batch's root (anchors are keyed by node, but a node must anchor under a root no one else has made its own
 * to report it cleanly). An unsalted batch has no `salt` field: its bytes and root are those of the first format.
 */
export const batchFormatV1: BatchFormat = {
  version: BatchVersion.V1,
  build: buildV1,
  decode: decodeV1,
  inspect: inspectV1,
};

const check = new ShapeChecker((field, reason) => new BatchFormatError(field || "$", reason));

function buildV1(proofs: readonly InferenceProof[], options: Omit<BuildBatchOptions, "version">): ProofBatch {
  if (proofs.length === 0) throw new BatchFormatError("proofs", "must hold at least one proof");
  const salt = options.salt === undefined ? undefined : check.bytes32(options.salt, "salt");
  proofs.forEach((proof, i) => checkV1Proof(proof, i));
  const validated = proofs.map((proof, i) =>
    inner(`proofs[${i}]`, () => validateProofForCommitment(proof, `proofs[${i}]`)),
  );
  const checked = validated.map((v) => v.proof);
  const commitments = validated.map((v, i) => inner(`proofs[${i}]`, () => v.commitment()));
  checkUnique(commitments);
  checkSaltApart(salt, commitments);
  const values: Bytes32[] = salt === undefined ? commitments : [...commitments, salt];
  const tree = BatchTree.of(values);
  const dump = tree.dump(values);
  const document: ProofBatchDocumentV1 = {
    version: BatchVersion.V1,
    kind: BATCH_KIND,
    root: tree.root,
    tree: dump,
    proofs: checked,
    ...(salt === undefined ? {} : { salt }),
  };
  return assemble(document, commitments, canonicalJsonBytes(document));
}

/**
 * Checks it all: the shape, every proof (shape and hashes), that the tree is a valid StandardMerkleTree with one leaf
 * per proof, that value `i` of the tree is the commitment of proof `i`, and that the declared root is the tree's root.
 */
function decodeV1(parsed: Record<string, unknown>, bytes: Uint8Array): ProofBatch {
  const r = check.object(parsed, "", ["version", "kind", "root", "tree", "proofs"], ["salt"]);
  if (r.kind !== BATCH_KIND) throw new BatchFormatError("kind", `must be "${BATCH_KIND}", got ${kind(r.kind)}`);
  const root = check.bytes32(r.root, "root") as BatchRoot;
  // Each proof is validated once, its tensors decoded once; its commitment is computed after the tree's checks.
  const checked = check.array(r.proofs, "proofs", { minLength: 1 }).map((proof, i) => {
    checkV1Proof(proof, i);
    return inner(`proofs[${i}]`, () => validateProofForCommitment(proof, `proofs[${i}]`));
  });
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
  const treeRoot = checkTreeDump(dump);
  if (treeRoot !== root) throw new BatchFormatError("root", `is ${root} but the tree's root is ${treeRoot}`);

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
  return assemble(document, commitments, bytes);
}

/** The outer shape only; throws {@link BatchFormatError} naming the field at fault. */
function inspectV1(doc: Record<string, unknown>): BatchInspection {
  const fail = (field: string, reason: string) => new BatchFormatError(field, reason);
  if (doc.kind !== BATCH_KIND) throw fail("kind", `must be "${BATCH_KIND}", got ${JSON.stringify(doc.kind)}`);
  if (typeof doc.root !== "string") throw fail("root", "must be a bytes32 hex string");
  const tree = record(doc.tree, "tree");
  if (!Array.isArray(tree.tree) || !tree.tree.every((n) => typeof n === "string")) {
    throw fail("tree.tree", "must be an array of hex node hashes");
  }
  if (!Array.isArray(tree.values)) throw fail("tree.values", "must be an array");
  const leaves = tree.values.map((item: unknown, i): BatchLeafEntry => {
    const at = `tree.values[${i}]`;
    const value = record(item, at);
    const leaf = value.value;
    if (!Array.isArray(leaf) || leaf.length !== 1 || !isBytes32Hex(leaf[0])) {
      throw fail(`${at}.value`, "must hold exactly one bytes32 commitment");
    }
    if (typeof value.treeIndex !== "number" || !Number.isSafeInteger(value.treeIndex) || value.treeIndex < 0) {
      throw fail(`${at}.treeIndex`, "must be a non-negative integer");
    }
    return { commitment: leaf[0].toLowerCase() as Commitment, treeIndex: value.treeIndex };
  });
  if (!Array.isArray(doc.proofs)) throw fail("proofs", "must be an array");
  let salt: Bytes32 | undefined;
  if (doc.salt !== undefined) {
    // A salted batch: one extra tree value after the proofs', never a proof.
    if (!isBytes32Hex(doc.salt)) throw fail("salt", "must be a bytes32 hex string");
    salt = doc.salt.toLowerCase();
    const last = leaves.pop();
    if (last?.commitment !== salt) {
      throw fail("salt", `must be the tree's last value, which is ${last?.commitment ?? "missing"}`);
    }
  }
  if (doc.proofs.length !== leaves.length) {
    throw fail(
      "proofs",
      `holds ${doc.proofs.length} proofs but the tree has ${leaves.length} leaves${salt === undefined ? "" : " besides its salt"}`,
    );
  }
  return {
    version: BatchVersion.V1,
    root: doc.root,
    leaves,
    nodes: tree.tree as string[],
    proofs: doc.proofs,
    ...(salt === undefined ? {} : { salt }),
  };
}

// ---------------------------------------------------------------------------------------------------------------------

/**
 * The batch of a checked document whose tree (`document.tree`, checked: every leaf the hash of its value, every inner
 * node the hash of its children) holds `commitments`. The StandardMerkleTree object is built on first use of
 * `batch.tree`. Inclusion proofs are read off the checked tree's nodes, as `StandardMerkleTree.getProof` does.
 */
function assemble(document: ProofBatchDocumentV1, commitments: Commitment[], bytes: Uint8Array): ProofBatch {
  const nodes = document.tree.tree;
  const root = nodes[0] as BatchRoot;
  const inclusions = commitments.map((commitment, index): BatchInclusion => {
    const treeIndex = document.tree.values[index].treeIndex;
    return { root, index, commitment, leaf: nodes[treeIndex], proof: proofInCheckedTree(nodes, treeIndex) };
  });
  let loaded: StandardMerkleTree<BatchLeaf> | undefined;
  return {
    version: document.version,
    ...(document.salt === undefined ? {} : { salt: document.salt }),
    root,
    count: commitments.length,
    proofs: document.proofs,
    commitments,
    get tree() {
      return (loaded ??= StandardMerkleTree.load(document.tree));
    },
    set tree(value: StandardMerkleTree<BatchLeaf>) {
      loaded = value;
    },
    inclusions,
    document,
    bytes,
  };
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

/**
 * A v1 batch is JSON and holds v1 proofs; a v2 proof (binary tensors) goes into a v2 batch (a quilt, `buildBatchV2`).
 */
function checkV1Proof(proof: unknown, i: number): void {
  const version = (proof as { version?: unknown } | null)?.version;
  if (
    version !== undefined &&
    version !== ProofVersion.V1 &&
    SUPPORTED_PROOF_VERSIONS.includes(version as ProofVersion)
  ) {
    throw new BatchFormatError(
      `proofs[${i}].version`,
      `is ${String(version)}: a v1 batch holds v1 proofs; put v2 proofs in a v2 batch (buildBatchV2)`,
    );
  }
}

/** A salt equal to a proof's commitment would make that proof's leaf appear twice: refused. */
function checkSaltApart(salt: Bytes32 | undefined, commitments: readonly Commitment[]): void {
  if (salt === undefined) return;
  const index = (commitments as readonly Bytes32[]).indexOf(salt);
  if (index >= 0) {
    throw new BatchFormatError("salt", `is the commitment of proofs[${index}]: choose a random salt`);
  }
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

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BatchFormatError(field, "must be a JSON object");
  }
  return value as Record<string, unknown>;
}
