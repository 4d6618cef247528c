import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  buildBatch,
  ContractRevertError,
  proofCommitment,
  type Bytes32,
  type InferenceProof,
  type ProofRegistryClient,
} from "@strata/core";
import { blobIdToBytes32Hex, type WalrusClient } from "@strata/walrus";
import { Journal } from "./journal";

/** A record of the outbox journal. */
type OutboxRecord =
  | { t: "proof"; doc: InferenceProof }
  | { t: "batch"; root: Bytes32; commitments: Bytes32[] }
  | { t: "stored"; root: Bytes32; blobId: string }
  | { t: "anchored"; root: Bytes32; txHash: string; block: number; gasUsed?: string };

/** Where a proof is on its way to the chain. */
export type ProofState = "accepted" | "batched" | "anchored";

/** What `GET /v1/proofs/:commitment` answers. */
export interface ProofStatus {
  commitment: Bytes32;
  status: ProofState;
  /** The batch's Merkle root, once batched. */
  root?: Bytes32;
  /** The position of the proof in its batch, and the Merkle proof `ProofRegistry.isIncluded` accepts. */
  index?: number;
  merkleProof?: Bytes32[];
  /** The batch blob on Walrus (base64url), once stored. */
  blobId?: string;
  txHash?: string;
  block?: number;
}

interface BatchState {
  root: Bytes32;
  commitments: Bytes32[];
  blobId?: string;
  txHash?: string;
  block?: number;
  gasUsed?: string;
}

export interface OutboxOptions {
  /** Flush when this many proofs wait (default 4,096: a batch blob costs ~1.6 s of Blob ID encoding whatever its size). */
  maxBatch?: number;
  /** Flush when the oldest waiting proof is this old (default 2,000 ms). */
  maxAgeMs?: number;
  /** Walrus epochs to store batch blobs for (default 5). */
  epochs?: number;
  /** Called after each batch is anchored. */
  onAnchored?: (batch: Required<Omit<BatchState, "gasUsed">> & { gasUsed?: string }) => void;
  /** Called when a flush fails (it is retried on the next tick). */
  onError?: (error: Error) => void;
}

/**
 * The node's durable outbox. Every accepted proof is journalled (fsync) before `accept` resolves, so the node answers a
 * request only once its proof would survive a crash. A batcher seals waiting proofs into batches by count or age —
 * the batch's membership is journalled before anything leaves the machine — stores each batch as one Walrus blob and
 * anchors its Merkle root with one `anchorBatch` transaction. After a restart, sealed batches are rebuilt byte for byte
 * (canonical JSON), stored again (Walrus answers `alreadyCertified`) and anchored only if the chain does not already
 * hold the root, so every accepted proof is anchored exactly once; the contract's write-once rule backs this up.
 */
export class Outbox {
  private readonly docs = new Map<Bytes32, InferenceProof>();
  private readonly proofRoot = new Map<Bytes32, Bytes32>();
  private readonly batches = new Map<Bytes32, BatchState>();
  private waiting: { commitment: Bytes32; at: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | null = null;
  private stopped = false;
  private readonly trees = new Map<Bytes32, StandardMerkleTree<[string]>>();
  readonly stats = { accepted: 0, anchoredProofs: 0, anchoredBatches: 0, flushErrors: 0 };

  private constructor(
    private readonly journal: Journal<OutboxRecord>,
    private readonly walrus: Pick<WalrusClient, "store">,
    private readonly proofs: ProofRegistryClient,
    private readonly options: Required<Omit<OutboxOptions, "onAnchored" | "onError">> & OutboxOptions,
  ) {}

  /** Opens the outbox in `dir`, replaying its journal. Call {@link start} to run the batcher. */
  static async open(
    dir: string,
    walrus: Pick<WalrusClient, "store">,
    proofs: ProofRegistryClient,
    options: OutboxOptions = {},
  ): Promise<Outbox> {
    const { journal, records } = await Journal.open<OutboxRecord>(dir);
    const outbox = new Outbox(journal, walrus, proofs, { maxBatch: 4096, maxAgeMs: 2_000, epochs: 5, ...options });
    outbox.replay(records);
    await journal.compact(() => outbox.liveRecords());
    return outbox;
  }

  private replay(records: OutboxRecord[]): void {
    const now = Date.now();
    for (const record of records) {
      switch (record.t) {
        case "proof": {
          const commitment = proofCommitment(record.doc);
          if (this.docs.has(commitment) || this.proofRoot.has(commitment)) break; // written twice around a compaction
          this.docs.set(commitment, record.doc);
          this.waiting.push({ commitment, at: now });
          break;
        }
        case "batch": {
          if (this.batches.has(record.root)) break;
          this.batches.set(record.root, { root: record.root, commitments: record.commitments });
          const sealed = new Set(record.commitments);
          this.waiting = this.waiting.filter((w) => !sealed.has(w.commitment));
          for (const c of record.commitments) this.proofRoot.set(c, record.root);
          break;
        }
        case "stored":
          this.batches.get(record.root)!.blobId = record.blobId;
          break;
        case "anchored": {
          const batch = this.batches.get(record.root)!;
          Object.assign(batch, { txHash: record.txHash, block: record.block, gasUsed: record.gasUsed });
          for (const c of batch.commitments) this.docs.delete(c);
          break;
        }
      }
    }
  }

  /** The records that rebuild the current state: anchored batches without their proof documents. */
  private liveRecords(): OutboxRecord[] {
    const records: OutboxRecord[] = [];
    for (const batch of this.batches.values()) {
      if (!batch.txHash) for (const c of batch.commitments) records.push({ t: "proof", doc: this.docs.get(c)! });
      records.push({ t: "batch", root: batch.root, commitments: batch.commitments });
      if (batch.blobId) records.push({ t: "stored", root: batch.root, blobId: batch.blobId });
      if (batch.txHash) {
        records.push({
          t: "anchored",
          root: batch.root,
          txHash: batch.txHash,
          block: batch.block!,
          gasUsed: batch.gasUsed,
        });
      }
    }
    for (const w of this.waiting) records.push({ t: "proof", doc: this.docs.get(w.commitment)! });
    return records;
  }

  /** Persists an accepted proof (`commitment`: its commitment, when the caller has it); resolves once it is durable. */
  async accept(doc: InferenceProof, commitment: Bytes32 = proofCommitment(doc)): Promise<Bytes32> {
    // State first, then the journal: a compaction in between then keeps the record (see Journal.compact).
    this.docs.set(commitment, doc);
    const entry = { commitment, at: Date.now() };
    this.waiting.push(entry);
    try {
      await this.journal.append({ t: "proof", doc });
    } catch (error) {
      this.docs.delete(commitment);
      this.waiting = this.waiting.filter((w) => w !== entry);
      throw error;
    }
    this.stats.accepted++;
    if (this.waiting.length >= this.options.maxBatch) this.kick();
    return commitment;
  }

  /** Starts the batcher (and finishes any batch a previous run left sealed but unanchored). */
  start(): void {
    this.stopped = false;
    const tick = Math.max(50, Math.min(this.options.maxAgeMs / 4, 500));
    this.timer = setInterval(() => {
      const oldest = this.waiting[0];
      const unfinished = [...this.batches.values()].some((b) => !b.txHash);
      if (unfinished || (oldest && Date.now() - oldest.at >= this.options.maxAgeMs)) this.kick();
    }, tick);
    this.kick();
  }

  private kick(): void {
    if (this.stopped || this.flushing) return;
    this.flush().catch((error: Error) => {
      this.stats.flushErrors++;
      this.options.onError?.(error);
    });
  }

  /**
   * Seals and anchors everything waiting now; resolves when done (for tests and shutdown). Flushes never overlap: a
   * call while one runs waits for it and then runs once more, so no batch is completed twice.
   */
  flush(): Promise<void> {
    const previous = this.flushing ?? Promise.resolve();
    const run: Promise<void> = previous
      .catch(() => undefined)
      .then(() => this.flushOnce())
      .finally(() => {
        if (this.flushing === run) this.flushing = null;
      });
    this.flushing = run;
    return run;
  }

  private async flushOnce(): Promise<void> {
    for (const batch of this.batches.values()) if (!batch.txHash) await this.complete(batch);
    while (this.waiting.length > 0 && !this.stopped) {
      const take = this.waiting.slice(0, this.options.maxBatch).map((w) => w.commitment);
      const built = buildBatch(take.map((c) => this.docs.get(c)!));
      const batch: BatchState = { root: built.root, commitments: built.commitments };
      this.batches.set(built.root, batch);
      const sealed = new Set(built.commitments);
      this.waiting = this.waiting.filter((w) => !sealed.has(w.commitment));
      for (const c of built.commitments) this.proofRoot.set(c, built.root);
      await this.journal.append({ t: "batch", root: built.root, commitments: built.commitments });
      await this.complete(batch, built.bytes);
    }
  }

  /** Stores the batch blob (again, after a crash: same bytes, same Blob ID) and anchors its root exactly once. */
  private async complete(batch: BatchState, bytes?: Uint8Array): Promise<void> {
    if (!batch.blobId) {
      const blob = bytes ?? buildBatch(batch.commitments.map((c) => this.docs.get(c)!)).bytes;
      const stored = await this.walrus.store(blob, { epochs: this.options.epochs });
      batch.blobId = stored.blobId;
      await this.journal.append({ t: "stored", root: batch.root, blobId: stored.blobId });
    }
    let anchored: { txHash: string; block: number; gasUsed?: string };
    const onChain = await this.proofs.getBatch(batch.root);
    if (onChain) {
      anchored = await this.findAnchor(batch.root);
    } else {
      try {
        const tx = await this.proofs.anchorBatch(
          batch.root,
          blobIdToBytes32Hex(batch.blobId),
          batch.commitments.length,
        );
        const mined = await tx.wait();
        anchored = { txHash: mined.txHash, block: mined.blockNumber, gasUsed: mined.gasUsed?.toString() };
      } catch (error) {
        // A transaction sent before a crash may have been mined since: the root is anchored, once, by it.
        if (!(error instanceof ContractRevertError && error.errorName === "ProofRegistryAlreadyAnchored")) throw error;
        anchored = await this.findAnchor(batch.root);
      }
    }
    Object.assign(batch, anchored);
    for (const c of batch.commitments) this.docs.delete(c);
    await this.journal.append({ t: "anchored", root: batch.root, ...anchored });
    this.stats.anchoredBatches++;
    this.stats.anchoredProofs += batch.commitments.length;
    // Anchored proofs' documents now live on Walrus: drop them from the journal now and then.
    if (this.stats.anchoredBatches % 32 === 0) await this.journal.compact(() => this.liveRecords());
    this.options.onAnchored?.({ ...(batch as Required<BatchState>) });
  }

  private async findAnchor(root: Bytes32): Promise<{ txHash: string; block: number }> {
    const reference = await this.proofs.batchReference(root);
    if (!reference?.anchored)
      throw new Error(`batch ${root} is anchored on-chain but its BatchAnchored event is missing`);
    return { txHash: reference.txHash, block: reference.blockNumber };
  }

  /** The status of `commitment`, or `undefined` if this node never accepted it. */
  status(commitment: Bytes32): ProofStatus | undefined {
    const root = this.proofRoot.get(commitment);
    if (!root) return this.docs.has(commitment) ? { commitment, status: "accepted" } : undefined;
    const batch = this.batches.get(root)!;
    const tree = this.treeOf(batch);
    // StandardMerkleTree keeps values in the order given, so the value index is the index in the batch.
    const index = batch.commitments.indexOf(commitment);
    return {
      commitment,
      status: batch.txHash ? "anchored" : "batched",
      root,
      index,
      merkleProof: tree.getProof(index),
      blobId: batch.blobId,
      txHash: batch.txHash,
      block: batch.block,
    };
  }

  private treeOf(batch: BatchState): StandardMerkleTree<[string]> {
    let tree = this.trees.get(batch.root);
    if (!tree) {
      tree = StandardMerkleTree.of(
        batch.commitments.map((c): [string] => [c]),
        ["bytes32"],
      );
      if (this.trees.size > 64) this.trees.clear();
      this.trees.set(batch.root, tree);
    }
    return tree;
  }

  /** Counts for health and metrics. */
  counts(): { waiting: number; sealed: number; anchoredBatches: number } {
    const sealed = [...this.batches.values()].filter((b) => !b.txHash).length;
    return { waiting: this.waiting.length, sealed, anchoredBatches: this.batches.size - sealed };
  }

  /** Every batch this node sealed, in order. */
  listBatches(): BatchState[] {
    return [...this.batches.values()].map((b) => ({ ...b }));
  }

  /** Stops the batcher (after the flush in progress) and closes the journal. */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.flushing;
    await this.journal.close();
  }
}
