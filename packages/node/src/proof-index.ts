import { mkdir } from "node:fs/promises";
import { ClassicLevel } from "classic-level";
import {
  BatchTree,
  verifyBatchInclusion,
  type BatchRoot,
  type BlobId,
  type Bytes32,
  type Commitment,
} from "@strata/core";
import { parseBlobId, parseQuiltPatchId, type QuiltPatchId } from "@strata/walrus";
import { NodeError } from "./errors";

/**
 * # The proof index
 *
 * An on-disk index of the batches this node anchored, so `GET /v1/proofs/:commitment` answers for old proofs without
 * the node keeping every commitment it ever accepted in memory. Opening reads one record whatever the history. A put
 * builds the batch's Merkle tree from its values (commitments, then the salt), checks it against the root and keeps its
 * nodes; a lookup reads the batch and its tree nodes (a small LRU keeps the latest, so repeated lookups in a batch are
 * cheap) and checks the proof against the root. Nothing is hashed in bulk on a lookup: rebuilding a 4,096-leaf tree
 * costs about 70 ms of CPU, a lookup from stored nodes about 3 ms.
 *
 * The store is LevelDB (`classic-level`: prebuilt binaries inside the npm package; an exclusive lock per directory).
 * Keys, all UTF-8:
 * - `meta` -> `{ format: 1, batches, proofs }`: the counts, kept in every write, so {@link ProofIndex.counts} is O(1);
 * - `b:<seq>` -> the batch (JSON), `seq` its 1-based anchoring position, zero-padded so keys sort in anchoring order;
 * - `t:<seq>` -> its tree: each value's tree index (uint32 LE), then the nodes, 32 bytes each, in the layout of
 *   `StandardMerkleTree`'s `tree` array; for a batch stored as several Walrus quilts, the tree of quilt 0, and
 *   `t:<seq>:<k>` the tree of quilt k (each quilt's values make a subtree; the batch record holds each quilt's path
 *   from its subroot up to the root, so a proof is the subtree proof followed by that path);
 * - `r:<root>` -> `seq`;
 * - `c:<commitment>` -> `<seq>:<index>`: the latest batch holding the commitment, and its position there.
 *
 * A put is one LevelDB write batch, written with `sync` (fsync of the write-ahead log): after a crash the index holds
 * the whole put or none of it (a torn last log record is dropped whole on recovery), never part of one. A write that
 * fails (a full disk) may still leave part of its record in the log, and LevelDB would append the next writes after it
 * and drop them on recovery; so after a failed write the store is reopened (which drops the torn record and starts a
 * new log) before anything more is written.
 */

/**
 * One Walrus quilt of a batch stored as quilts (batch format v2): it holds the next `count` commitments of the batch
 * (after those of the quilts before it), quilt 0 also the salt of a salted batch. Its values make a subtree of the
 * batch's tree; `path` leads from that subtree's root to the batch root (`[]` when the batch is one quilt).
 */
export interface IndexedQuilt {
  /** The quilt's Blob ID (base64url). */
  quiltId: BlobId;
  count: number;
  /** The siblings from the quilt's subroot up to the batch root (lowercase bytes32). */
  path: Bytes32[];
  /** The quilt patch ID of each of its proofs, in commitment order. */
  patchIds: QuiltPatchId[];
  /** The quilt patch ID of its index patch. */
  indexPatchId: QuiltPatchId;
}

/** A batch as the index keeps it: what the chain anchored, and where the batch blob (or its quilts) are. */
export interface IndexedBatch {
  /** The Merkle root (`0x` + 64 lowercase hex digits). */
  root: BatchRoot;
  /** The commitments, in batch order (index i = position i). */
  commitments: Commitment[];
  /** An optional extra tree value (lowercase bytes32) after the commitments: part of the Merkle tree, not a proof. */
  salt?: string;
  /** The Walrus Blob ID (base64url) of the batch blob; for a batch stored as quilts, the ID of its first quilt. */
  blobId: BlobId;
  /** The quilts of a batch stored as Walrus quilts (batch format v2), in order; absent for a v1 batch blob. */
  quilts?: IndexedQuilt[];
  /**
   * The earliest end epoch (exclusive) of the batch's blobs as anchored (from the store answers); absent for batches
   * anchored before ProofRegistry 2.0. Renewals recorded later raise it on-chain, not here.
   */
  endEpoch?: number;
  txHash: string;
  block: number;
  gasUsed?: string;
  /** When the node saw the batch anchored (ms since the epoch). */
  anchoredAt: number;
}

/** Where a commitment is: its latest batch, its position there, and the Merkle proof `ProofRegistry.isIncluded` accepts. */
export interface IndexedProof {
  commitment: Commitment;
  root: BatchRoot;
  index: number;
  batch: IndexedBatch;
  merkleProof: string[];
  /** For a batch stored as quilts: the proof's quilt (its position, ID and the proof's patch ID there). */
  quilt?: { index: number; quiltId: BlobId; patchId: QuiltPatchId; indexPatchId: QuiltPatchId };
}

export interface ProofIndexOptions {
  /**
   * How many batches (with their trees) to keep in memory (default 8). One of 4,096 proofs takes about 0.6 MiB.
   */
  treeCacheSize?: number;
}

/** The proof index could not be opened, read or written; the message says why and what to do. */
export class ProofIndexError extends NodeError {
  constructor(message: string, code = "PROOF_INDEX", options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A batch given to {@link ProofIndex.putBatch} is malformed, or its root is not the root of its values. */
export class InvalidIndexedBatchError extends ProofIndexError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`cannot index the batch: ${field} ${reason}`, "INVALID_INDEXED_BATCH");
  }
}

/** A lookup key (a commitment or a root) is not bytes32 hex. */
export class InvalidIndexKeyError extends ProofIndexError {
  constructor(
    readonly field: string,
    readonly value: unknown,
  ) {
    super(`${field} must be 0x followed by 64 hex digits, got ${describe(value)}`, "BAD_REQUEST");
  }
}

/** A batch with the same root is indexed already, with another anchor: the index keeps the first. */
export class ProofIndexConflictError extends ProofIndexError {
  constructor(
    readonly root: string,
    readonly field: string,
    readonly stored: unknown,
    readonly given: unknown,
  ) {
    super(
      `batch ${root} is indexed already with ${field} ${describe(stored)}, not ${describe(given)}: a root is ` +
        `anchored once per node, so one of the two anchors is wrong; check the chain (ProofRegistry) for the real one`,
      "PROOF_INDEX_CONFLICT",
    );
  }
}

/** A record of the index is not what this code wrote. */
export class ProofIndexCorruptError extends ProofIndexError {
  constructor(
    readonly dir: string,
    readonly key: string,
    readonly reason: string,
  ) {
    super(
      `the proof index at ${dir} is corrupt: record ${key} ${reason}; move the directory away and let the node ` +
        `rebuild it (anchored batches can be re-read from the chain and Walrus)`,
      "PROOF_INDEX_CORRUPT",
    );
  }
}

/** The format version of the records; a directory written by another version is refused. */
const FORMAT = 1;
const META = "meta";
const SEQ_DIGITS = 12;
const BYTES32 = /^0x[0-9a-f]{64}$/;
const ANY_CASE_BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const BATCH_FIELDS = new Set([
  "root",
  "commitments",
  "salt",
  "blobId",
  "quilts",
  "endEpoch",
  "txHash",
  "block",
  "gasUsed",
  "anchoredAt",
]);
const QUILT_FIELDS = new Set(["quiltId", "count", "path", "patchIds", "indexPatchId"]);

const batchKey = (seq: number) => `b:${String(seq).padStart(SEQ_DIGITS, "0")}`;
const treeKey = (seq: number, quilt = 0) => `t:${String(seq).padStart(SEQ_DIGITS, "0")}${quilt > 0 ? `:${quilt}` : ""}`;
const rootKey = (root: string) => `r:${root}`;
const commitmentKey = (commitment: string) => `c:${commitment}`;

interface Meta {
  format: number;
  batches: number;
  proofs: number;
}

interface Cached {
  batch: IndexedBatch;
  /** The batch's tree, or for a batch of several quilts each quilt's subtree. */
  trees: BatchTree[];
}

/** The on-disk index of anchored batches (see the module comment). One process opens a directory at a time. */
export class ProofIndex {
  private readonly cache: Lru<number, Cached>;
  private writing: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Set when a write failed: the store is reopened before the next operation (see {@link ready}). */
  private reopening: Promise<void> | undefined;
  private writeFailed = false;

  private constructor(
    private db: ClassicLevel<string, Buffer>,
    private readonly dir: string,
    private meta: Meta,
    options: Required<ProofIndexOptions>,
  ) {
    this.cache = new Lru(options.treeCacheSize);
  }

  /** Opens (or creates) the index in `dir`. Reads only the counts record, whatever the index holds. */
  static async open(dir: string, options: ProofIndexOptions = {}): Promise<ProofIndex> {
    const treeCacheSize = options.treeCacheSize ?? 8;
    if (!Number.isSafeInteger(treeCacheSize) || treeCacheSize < 1) {
      throw new ProofIndexError(`treeCacheSize must be a positive integer, got ${describe(treeCacheSize)}`);
    }
    const { db, meta } = await ProofIndex.openStore(dir);
    return new ProofIndex(db, dir, meta, { treeCacheSize });
  }

  private static async openStore(dir: string): Promise<{ db: ClassicLevel<string, Buffer>; meta: Meta }> {
    const db = new ClassicLevel<string, Buffer>(dir, {
      keyEncoding: "utf8",
      valueEncoding: "buffer",
      // Memory stays bounded whatever the index holds: LevelDB's block cache and its write buffer (4 MiB; two while
      // one is being compacted) are all it keeps.
      cacheSize: 8 * 2 ** 20,
      writeBufferSize: 4 * 2 ** 20,
    });
    try {
      await mkdir(dir, { recursive: true });
      await db.open();
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      if (cause?.code === "LEVEL_LOCKED") {
        throw new ProofIndexError(
          `the proof index at ${dir} is open in another process (or another ProofIndex in this one): stop the other ` +
            `node or give this one its own data directory`,
          "PROOF_INDEX",
          { cause: error },
        );
      }
      throw new ProofIndexError(
        `cannot open the proof index at ${dir}: ${messageOf(error)}; check that the directory is writable and the ` +
          `disk is not full`,
        "PROOF_INDEX",
        { cause: error },
      );
    }
    try {
      return { db, meta: await ProofIndex.loadMeta(db, dir) };
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  private static async loadMeta(db: ClassicLevel<string, Buffer>, dir: string): Promise<Meta> {
    const raw = await db.get(META);
    if (raw === undefined) {
      const any = await db.keys({ limit: 1 }).all();
      if (any.length > 0) throw new ProofIndexCorruptError(dir, META, "is missing while other records exist");
      const meta: Meta = { format: FORMAT, batches: 0, proofs: 0 };
      await db.put(META, json(meta), { sync: true });
      return meta;
    }
    const meta = parseJson(raw, dir, META) as Partial<Meta>;
    if (meta.format !== FORMAT) {
      throw new ProofIndexError(
        `the proof index at ${dir} has format ${describe(meta.format)}, this node reads format ${FORMAT}: run the ` +
          `node version that wrote it, or move the directory away to rebuild it`,
      );
    }
    if (!isCount(meta.batches) || !isCount(meta.proofs)) {
      throw new ProofIndexCorruptError(dir, META, `holds invalid counts ${describe(raw.toString())}`);
    }
    return { format: FORMAT, batches: meta.batches, proofs: meta.proofs };
  }

  /**
   * Indexes an anchored batch: one atomic, durable (fsync) write. The batch is checked first (its fields, and that its
   * root is the Merkle root of its commitments and salt). Putting a root that is indexed already, with the same
   * commitments in the same order, salt and anchor (blobId, txHash, block), changes nothing (the first `anchoredAt`
   * and `gasUsed` stay); anything else under that root throws {@link ProofIndexConflictError}. A commitment that an
   * earlier batch holds resolves to this one from now on. Puts run one at a time, in call order.
   */
  putBatch(batch: IndexedBatch): Promise<void> {
    // Checked at the call: a put queued before close() is finished by it.
    if (this.closed) return Promise.reject(this.closedError());
    const run = this.writing.then(() => this.put(batch));
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async put(input: IndexedBatch): Promise<void> {
    const batch = validateBatch(input);
    try {
      await this.ready(true);
    } catch (error) {
      throw new ProofIndexError(
        `cannot write batch ${batch.root} in the proof index at ${this.dir}: the index must be reopened after a ` +
          `failed write, and that failed (${messageOf(error)}); free disk space and retry`,
        "PROOF_INDEX",
        { cause: error },
      );
    }
    const seqOfRoot = await this.seqOf(batch.root);
    if (seqOfRoot !== undefined) {
      const existing = this.cache.get(seqOfRoot)?.batch ?? (await this.readBatch(seqOfRoot));
      // The tree sorts its leaves, so the root does not fix the commitments' order: compare it too.
      const same = {
        commitments: (b: IndexedBatch) => b.commitments.join(","),
        salt: (b: IndexedBatch) => b.salt,
        blobId: (b: IndexedBatch) => b.blobId,
        quilts: (b: IndexedBatch) => JSON.stringify(b.quilts?.map((q) => [q.quiltId, q.count, q.path])),
        txHash: (b: IndexedBatch) => b.txHash,
        block: (b: IndexedBatch) => b.block,
      };
      for (const [field, of] of Object.entries(same)) {
        if (of(existing) !== of(batch)) {
          throw new ProofIndexConflictError(batch.root, field, of(existing), of(batch));
        }
      }
      return;
    }
    const trees = checkedTrees(batch);

    const seq = this.meta.batches + 1;
    const first = new Map<string, number>();
    batch.commitments.forEach((c, i) => {
      if (!first.has(c)) first.set(c, i);
    });
    const unique = [...first.keys()];
    const known = await this.run("read", () => this.db.getMany(unique.map(commitmentKey)));
    const added = known.filter((v) => v === undefined).length;
    const meta: Meta = { format: FORMAT, batches: seq, proofs: this.meta.proofs + added };
    const ops: { type: "put"; key: string; value: Buffer }[] = [
      { type: "put", key: batchKey(seq), value: json(batch) },
      ...trees.map((tree, k) => ({ type: "put" as const, key: treeKey(seq, k), value: tree.bytes() })),
      { type: "put", key: rootKey(batch.root), value: Buffer.from(String(seq)) },
      ...unique.map((c) => ({
        type: "put" as const,
        key: commitmentKey(c),
        value: Buffer.from(`${seq}:${first.get(c)}`),
      })),
      { type: "put", key: META, value: json(meta) },
    ];
    try {
      await this.run(`write batch ${batch.root}`, () => this.db.batch(ops, { sync: true }));
    } catch (error) {
      // A failed write (a full disk) can leave part of its record in LevelDB's log, and LevelDB appends the next
      // writes after it: on recovery it then drops those too, acknowledged or not. So write nothing more to this log:
      // reopen first, which drops the torn record and starts a new log.
      this.writeFailed = true;
      throw error;
    }
    // State follows the durable write.
    this.meta = meta;
    this.cache.set(seq, { batch, trees });
  }

  /** The latest indexed batch holding `commitment` (either hex case), its position and Merkle proof; or `undefined`. */
  async get(commitment: string): Promise<IndexedProof | undefined> {
    this.checkOpen();
    const c = lookupKey(commitment, "commitment") as Commitment;
    await this.ready(false);
    const raw = await this.run("read", () => this.db.get(commitmentKey(c)));
    if (raw === undefined) return undefined;
    const location = raw.toString();
    const match = /^([0-9]+):([0-9]+)$/.exec(location);
    if (!match) throw new ProofIndexCorruptError(this.dir, commitmentKey(c), `holds ${describe(location)}`);
    const seq = Number(match[1]);
    const index = Number(match[2]);
    const { batch, trees } = await this.cached(seq);
    if (batch.commitments[index] !== c) {
      throw new ProofIndexCorruptError(this.dir, commitmentKey(c), `points at position ${index} of ${batchKey(seq)}`);
    }
    const at = quiltOf(batch, index);
    const quilt = batch.quilts?.[at.quilt];
    const merkleProof = [...trees[at.quilt].proof(at.position), ...(quilt?.path ?? [])];
    if (!verifyBatchInclusion(batch.root, c, merkleProof)) {
      throw new ProofIndexCorruptError(
        this.dir,
        treeKey(seq, at.quilt),
        `gives a proof for position ${index} that does not fold to ${batch.root}`,
      );
    }
    return {
      commitment: c,
      root: batch.root,
      index,
      batch: copyBatch(batch),
      merkleProof,
      ...(quilt
        ? {
            quilt: {
              index: at.quilt,
              quiltId: quilt.quiltId,
              patchId: quilt.patchIds[at.position],
              indexPatchId: quilt.indexPatchId,
            },
          }
        : {}),
    };
  }

  /** The batch with Merkle root `root` (either hex case), or `undefined`. */
  async getBatch(root: string): Promise<IndexedBatch | undefined> {
    this.checkOpen();
    const r = lookupKey(root, "root");
    await this.ready(false);
    const seq = await this.seqOf(r);
    if (seq === undefined) return undefined;
    const hit = this.cache.get(seq);
    return hit ? copyBatch(hit.batch) : this.readBatch(seq);
  }

  /** Whether a batch with Merkle root `root` (either hex case) is indexed. */
  async hasBatch(root: string): Promise<boolean> {
    this.checkOpen();
    const r = lookupKey(root, "root");
    await this.ready(false);
    return (await this.seqOf(r)) !== undefined;
  }

  /** The indexed batches in anchoring order (newest first with `reverse`), at most `limit` of them. */
  async *batches(options: { reverse?: boolean; limit?: number } = {}): AsyncIterable<IndexedBatch> {
    this.checkOpen();
    const { reverse = false, limit } = options;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new ProofIndexError(`limit must be a non-negative integer, got ${describe(limit)}`, "BAD_REQUEST");
    }
    if (limit === 0) return;
    await this.ready(false);
    const iterator = this.db.iterator({ gt: "b:", lt: "b;", reverse, limit: limit ?? -1 });
    try {
      for (;;) {
        const entry = await this.run("read", () => iterator.next());
        if (entry === undefined) return;
        const [key, value] = entry;
        yield parseBatch(value, this.dir, key);
      }
    } finally {
      await iterator.close();
    }
  }

  /** How many batches are indexed, and how many distinct commitments they hold. O(1): kept in the store. */
  counts(): { batches: number; proofs: number } {
    return { batches: this.meta.batches, proofs: this.meta.proofs };
  }

  /** Closes the store after the put in progress. Later calls throw {@link ProofIndexError}. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writing;
    await this.reopening?.catch(() => undefined);
    this.cache.clear();
    await this.db.close();
  }

  /**
   * Reopens the store after a failed write, before the next write (once, however many callers wait). Reads go on from
   * the open handle meanwhile (the failed write changed nothing in it); if the reopen fails (no space yet), the handle
   * is closed and every call tries again, throwing a {@link ProofIndexError} that says why until it succeeds.
   */
  private async ready(forWrite: boolean): Promise<void> {
    if (!(this.writeFailed && forWrite) && this.db.status === "open") return;
    this.reopening ??= (async () => {
      try {
        await this.db.close().catch(() => undefined);
        const { db, meta } = await ProofIndex.openStore(this.dir);
        this.db = db;
        this.meta = meta;
        this.writeFailed = false;
      } finally {
        this.reopening = undefined;
      }
    })();
    await this.reopening;
  }

  private checkOpen(): void {
    if (this.closed) throw this.closedError();
  }

  private closedError(): ProofIndexError {
    return new ProofIndexError(`the proof index at ${this.dir} is closed: open it again with ProofIndex.open`);
  }

  private async seqOf(root: string): Promise<number | undefined> {
    const raw = await this.run("read", () => this.db.get(rootKey(root)));
    if (raw === undefined) return undefined;
    const seq = raw.toString();
    if (!DECIMAL.test(seq)) throw new ProofIndexCorruptError(this.dir, rootKey(root), `holds ${describe(seq)}`);
    return Number(seq);
  }

  private async readBatch(seq: number): Promise<IndexedBatch> {
    const key = batchKey(seq);
    const raw = await this.run("read", () => this.db.get(key));
    if (raw === undefined)
      throw new ProofIndexCorruptError(this.dir, key, "is missing but indexed records point at it");
    return parseBatch(raw, this.dir, key);
  }

  /** The batch at `seq` and its tree, from the LRU or the store. */
  private async cached(seq: number): Promise<Cached> {
    const hit = this.cache.get(seq);
    if (hit) return hit;
    const batch = await this.readBatch(seq);
    const values = quiltValues(batch);
    const stored = await this.run("read", () => this.db.getMany(values.map((_, k) => treeKey(seq, k))));
    const trees = stored.map((bytes, k) => {
      if (bytes === undefined)
        throw new ProofIndexCorruptError(this.dir, treeKey(seq, k), "is missing but its batch is there");
      const tree = BatchTree.fromBytes(bytes, values[k].length);
      const subroot = values.length === 1 ? batch.root : tree?.root;
      if (tree === undefined || tree.root !== subroot || !foldsTo(batch, k, tree)) {
        throw new ProofIndexCorruptError(this.dir, treeKey(seq, k), `is not the tree of batch ${batch.root}`);
      }
      return tree;
    });
    const entry = { batch, trees };
    this.cache.set(seq, entry);
    return entry;
  }

  /** Runs a store operation, turning its failure into a {@link ProofIndexError} that says what failed. */
  private async run<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof ProofIndexError) throw error;
      if (this.closed) throw this.closedError();
      throw new ProofIndexError(
        `cannot ${what} in the proof index at ${this.dir}: ${messageOf(error)}; check the disk (free space, ` +
          `permissions) and retry`,
        "PROOF_INDEX",
        { cause: error },
      );
    }
  }
}

/**
 * The Merkle root of a batch's tree: OpenZeppelin `StandardMerkleTree.of(values.map((v) => [v]), ["bytes32"]).root`
 * where the values are the commitments, then the salt when there is one.
 */
export function indexedBatchRoot(commitments: readonly string[], salt?: string): string {
  const values = [...commitments, ...(salt === undefined ? [] : [salt])];
  values.forEach((v, i) => {
    if (typeof v !== "string" || !BYTES32.test(v)) {
      throw new InvalidIndexedBatchError(
        i < commitments.length ? `commitments[${i}]` : "salt",
        `must be 0x and 64 lowercase hex digits, got ${describe(v)}`,
      );
    }
  });
  if (commitments.length === 0) throw new InvalidIndexedBatchError("commitments", "must hold at least one commitment");
  return BatchTree.of(values).root;
}

// ---------------------------------------------------------------------------------------------------------------------

function treeValues(batch: IndexedBatch): string[] {
  return batch.salt === undefined ? batch.commitments : [...batch.commitments, batch.salt];
}

/** The values of each subtree: the whole batch's (one tree), or each quilt's commitments (quilt 0 with the salt). */
function quiltValues(batch: IndexedBatch): string[][] {
  if (!batch.quilts || batch.quilts.length === 1) return [treeValues(batch)];
  let offset = 0;
  return batch.quilts.map((q, k) => {
    const values = batch.commitments.slice(offset, offset + q.count);
    offset += q.count;
    return k === 0 && batch.salt !== undefined ? [...values, batch.salt] : values;
  });
}

/** The quilt holding position `index` of the batch, and the position there (quilt 0 for a single tree). */
function quiltOf(batch: IndexedBatch, index: number): { quilt: number; position: number } {
  let position = index;
  const quilts = batch.quilts ?? [];
  for (let k = 0; k < quilts.length; k++) {
    if (position < quilts[k].count) return { quilt: k, position };
    position -= quilts[k].count;
  }
  return { quilt: 0, position: index };
}

/** Whether the subtree of quilt `k` with its path leads to the batch root (checked through its first value). */
function foldsTo(batch: IndexedBatch, k: number, tree: BatchTree): boolean {
  const path = batch.quilts?.[k]?.path ?? [];
  const first = quiltValues(batch)[k][0];
  return verifyBatchInclusion(batch.root, first, [...tree.proof(0), ...path]);
}

/** The trees of a batch to index, checked against its root (one tree, or each quilt's subtree with its path). */
function checkedTrees(batch: IndexedBatch): BatchTree[] {
  const values = quiltValues(batch);
  const trees = values.map((v) => BatchTree.of(v));
  if (values.length === 1) {
    if (trees[0].root !== batch.root) {
      throw new InvalidIndexedBatchError(
        "root",
        `is ${batch.root} but the Merkle root of its ${batch.commitments.length} commitments` +
          `${batch.salt === undefined ? "" : " and its salt"} is ${trees[0].root}: pass the root of ` +
          `StandardMerkleTree.of(values, ["bytes32"]) over the commitments (then the salt, if any)`,
      );
    }
    return trees;
  }
  trees.forEach((tree, k) => {
    if (!foldsTo(batch, k, tree)) {
      throw new InvalidIndexedBatchError(
        `quilts[${k}].path`,
        `does not lead from the subroot ${tree.root} of the quilt's ${values[k].length} values to the root ` +
          `${batch.root}: pass each quilt's path in the batch's top tree`,
      );
    }
  });
  return trees;
}

/** A small least-recently-used map (a Map keeps insertion order: re-insert on use, evict the first). */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  clear(): void {
    this.map.clear();
  }
}

/** Checks a batch's fields (no root check) and returns a copy holding only them. */
function validateBatch(input: unknown): IndexedBatch {
  const fail = (field: string, reason: string) => new InvalidIndexedBatchError(field, reason);
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw fail("batch", `must be an object, got ${describe(input)}`);
  }
  const b = input as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!BATCH_FIELDS.has(key)) throw fail(key, `is not a field of an indexed batch (${[...BATCH_FIELDS].join(", ")})`);
  }
  const bytes32 = (value: unknown, field: string): string => {
    if (typeof value !== "string" || !BYTES32.test(value)) {
      throw fail(field, `must be 0x and 64 lowercase hex digits, got ${describe(value)}`);
    }
    return value;
  };
  const root = bytes32(b.root, "root") as BatchRoot;
  if (!Array.isArray(b.commitments) || b.commitments.length === 0) {
    throw fail("commitments", `must be a non-empty array, got ${describe(b.commitments)}`);
  }
  const commitments = (b.commitments as unknown[]).map((c, i) => bytes32(c, `commitments[${i}]`) as Commitment);
  const salt = b.salt === undefined ? undefined : bytes32(b.salt, "salt");
  if (typeof b.blobId !== "string") throw fail("blobId", `must be a base64url Blob ID, got ${describe(b.blobId)}`);
  let blobId: BlobId;
  try {
    blobId = parseBlobId(b.blobId);
  } catch (error) {
    throw fail("blobId", `is not a Walrus Blob ID: ${messageOf(error)}`);
  }
  const quilts =
    b.quilts === undefined ? undefined : validateQuilts(b.quilts, commitments.length, blobId, bytes32, fail);
  if (
    b.endEpoch !== undefined &&
    (typeof b.endEpoch !== "number" || !Number.isInteger(b.endEpoch) || b.endEpoch < 1 || b.endEpoch >= 2 ** 32)
  ) {
    throw fail("endEpoch", `must be a Walrus epoch (an integer from 1 to 2^32 - 1), got ${describe(b.endEpoch)}`);
  }
  const txHash = bytes32(b.txHash, "txHash");
  if (!isCount(b.block)) throw fail("block", `must be a non-negative integer, got ${describe(b.block)}`);
  if (b.gasUsed !== undefined && (typeof b.gasUsed !== "string" || !DECIMAL.test(b.gasUsed))) {
    throw fail("gasUsed", `must be a decimal integer string, got ${describe(b.gasUsed)}`);
  }
  if (!isCount(b.anchoredAt)) {
    throw fail("anchoredAt", `must be a non-negative integer (ms since the epoch), got ${describe(b.anchoredAt)}`);
  }
  return {
    root,
    commitments,
    ...(salt === undefined ? {} : { salt }),
    blobId,
    ...(quilts === undefined ? {} : { quilts }),
    ...(b.endEpoch === undefined ? {} : { endEpoch: b.endEpoch as number }),
    txHash,
    block: b.block,
    ...(b.gasUsed === undefined ? {} : { gasUsed: b.gasUsed as string }),
    anchoredAt: b.anchoredAt,
  };
}

function validateQuilts(
  value: unknown,
  proofs: number,
  blobId: BlobId,
  bytes32: (value: unknown, field: string) => string,
  fail: (field: string, reason: string) => InvalidIndexedBatchError,
): IndexedQuilt[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw fail("quilts", `must be a non-empty array when present, got ${describe(value)}`);
  }
  let total = 0;
  const quilts = value.map((q: unknown, k): IndexedQuilt => {
    const at = `quilts[${k}]`;
    if (typeof q !== "object" || q === null || Array.isArray(q))
      throw fail(at, `must be an object, got ${describe(q)}`);
    const r = q as Record<string, unknown>;
    for (const key of Object.keys(r)) {
      if (!QUILT_FIELDS.has(key)) throw fail(`${at}.${key}`, `is not a field of an indexed quilt`);
    }
    let quiltId: BlobId;
    try {
      quiltId = parseBlobId(r.quiltId as string);
    } catch (error) {
      throw fail(`${at}.quiltId`, `is not a Walrus Blob ID: ${messageOf(error)}`);
    }
    if (!isCount(r.count) || r.count === 0)
      throw fail(`${at}.count`, `must be a positive integer, got ${describe(r.count)}`);
    if (!Array.isArray(r.path)) throw fail(`${at}.path`, `must be an array of bytes32, got ${describe(r.path)}`);
    const path = r.path.map((node, i) => bytes32(node, `${at}.path[${i}]`) as Bytes32);
    const patchId = (id: unknown, field: string): QuiltPatchId => {
      let inQuilt: BlobId | undefined;
      try {
        inQuilt = typeof id === "string" ? parseQuiltPatchId(id).quiltId : undefined;
      } catch {
        inQuilt = undefined;
      }
      if (inQuilt !== quiltId) throw fail(field, `must be a quilt patch ID in quilt ${quiltId}, got ${describe(id)}`);
      return id as QuiltPatchId;
    };
    if (!Array.isArray(r.patchIds) || r.patchIds.length !== r.count) {
      throw fail(
        `${at}.patchIds`,
        `must hold ${String(r.count)} patch IDs (one per proof), got ${describe(r.patchIds)}`,
      );
    }
    const patchIds = r.patchIds.map((id, i) => patchId(id, `${at}.patchIds[${i}]`));
    total += r.count;
    return { quiltId, count: r.count, path, patchIds, indexPatchId: patchId(r.indexPatchId, `${at}.indexPatchId`) };
  });
  if (total !== proofs) throw fail("quilts", `hold ${total} proofs in all, but the batch has ${proofs} commitments`);
  if (quilts[0].quiltId !== blobId) throw fail("blobId", `must be the ID of the first quilt, ${quilts[0].quiltId}`);
  if (quilts.length === 1 && quilts[0].path.length !== 0) {
    throw fail("quilts[0].path", "must be empty: the root of a one-quilt batch is the quilt's subroot");
  }
  return quilts;
}

function parseBatch(raw: Buffer, dir: string, key: string): IndexedBatch {
  try {
    return validateBatch(parseJson(raw, dir, key));
  } catch (error) {
    if (error instanceof InvalidIndexedBatchError) throw new ProofIndexCorruptError(dir, key, error.message);
    throw error;
  }
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function parseJson(raw: Buffer, dir: string, key: string): unknown {
  try {
    return JSON.parse(raw.toString()) as unknown;
  } catch (error) {
    throw new ProofIndexCorruptError(dir, key, `is not JSON (${messageOf(error)})`);
  }
}

function copyBatch(batch: IndexedBatch): IndexedBatch {
  return {
    ...batch,
    commitments: [...batch.commitments],
    ...(batch.quilts
      ? { quilts: batch.quilts.map((q) => ({ ...q, path: [...q.path], patchIds: [...q.patchIds] })) }
      : {}),
  };
}

function lookupKey(value: unknown, field: string): string {
  if (typeof value !== "string" || !ANY_CASE_BYTES32.test(value)) throw new InvalidIndexKeyError(field, value);
  return value.toLowerCase();
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null || typeof value !== "object") return String(value);
  return "an object";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
