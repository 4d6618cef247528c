import { randomBytes } from "node:crypto";
import {
  BATCH_INDEX_IDENTIFIER,
  batchIndexPatchSize,
  BatchTree,
  buildBatch,
  buildBatchV2,
  ContractRevertError,
  decodeAnyProof,
  DEFAULT_MAX_PER_QUILT,
  encodePrivateProof,
  encodeProof,
  isPrivateProof,
  privateProofCommitment,
  proofCommitment,
  ProofVersion,
  type BatchRoot,
  type BlobId,
  type Bytes32,
  type Commitment,
  type InferenceProof,
  type PrivateInferenceProof,
  type ProofBatchV2,
  type ProofRegistryClient,
} from "@strata/core";
import { BlobTooLargeError, maxQuiltPatches, quiltSize, WalrusHttpError, type WalrusClient } from "@strata/walrus";
import { NodeUnavailableError, OutboxError, ProofTooLargeError } from "./errors";
import { Journal, type JournalCodec, type JournalOptions } from "./journal";
import { ProofIndex, type IndexedBatch } from "./proof-index";
import {
  Backlog,
  BATCH_OVERHEAD,
  PER_PROOF_OVERHEAD,
  RECORD_ENVELOPE,
  type BatchInfo,
  type OutboxRecord,
  type ProofStatus,
  type QuarantinedBatch,
  type QuiltPlan,
  type SealedBatch,
  type StoredQuilt,
} from "./backlog";
import { backoffDelay, sendAndMine, TransactionPendingError, withTimeout } from "./chain";
import { NODE_DEFAULTS } from "./defaults";

/**
 * What the outbox stores batches with: `store` for v1 batch blobs, `storeQuilt` for v2 batches (Walrus quilts), and the
 * network's shard count (`shards`, default 1000), which sizes quilts.
 */
export type OutboxStore = Pick<WalrusClient, "store"> & Partial<Pick<WalrusClient, "storeQuilt" | "shards">>;

/** The shard count quilts are sized at when the store does not say (mainnet's and testnet's). */
const DEFAULT_SHARDS = 1000;

/**
 * Journal records of v2 and v3 (private) proofs are binary frames holding the proof's encoding (no base64, no JSON):
 * what the proof stores and nothing more (a hashed proof: no tensor data; an encrypted one: only the ciphertext).
 */
const JOURNAL_CODEC: JournalCodec<OutboxRecord> = {
  encode: (record) => (record.t === "proof2" ? record.bytes : undefined),
  decode: (payload) => {
    const bytes = payload.slice(); // its own copy: the journal's read buffer is not kept alive
    const doc = decodeAnyProof(bytes);
    if (isPrivateProof(doc)) return { t: "proof2", commitment: privateProofCommitment(doc), bytes };
    if (doc.version !== ProofVersion.V2) {
      throw new OutboxError(`a binary journal record holds a v${String(doc.version)} proof, not a v2 or v3 one`);
    }
    return { t: "proof2", commitment: proofCommitment(doc), bytes };
  },
};

export interface OutboxOptions {
  /** Seal a batch when this many proofs wait (default 4,096); a batch of v2 proofs spans as many quilts as it needs. */
  maxBatch?: number;
  /**
   * The publisher's body cap (default 10 MiB): no v1 batch blob and no quilt of a v2 batch (its index patch
   * included, by Walrus's exact quilt size) is larger.
   */
  maxBatchBytes?: number;
  /** At most this many proofs per quilt of a v2 batch (default 665: 666 patches at 1000 shards, less the index). */
  maxPerQuilt?: number;
  /** Seal a batch when the oldest waiting proof is this old (default 2,000 ms). */
  maxAgeMs?: number;
  /** Walrus epochs to store batch blobs for (default 5). */
  epochs?: number;
  /** Refuse new proofs (503) while this many bytes of proofs wait to be anchored (default 1 GiB). */
  maxBacklogBytes?: number;
  /** First retry delay of a failed batch (default 500 ms), doubled per failure up to `retryMaxMs` (default 60 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** A batch that failed this many times in a row is quarantined: shown in health, retried at the longest delay (default 5). */
  quarantineAfter?: number;
  /** How long an anchoring transaction may take to be mined before the outbox checks it was dropped (default 60 s). */
  txTimeoutMs?: number;
  /** How long one chain read may take (default 15 s). */
  chainTimeoutMs?: number;
  /** Compact the journal once it holds this many bytes more than after the last compaction (default 16 MiB). */
  compactBytes?: number;
  /** Called after each batch is anchored. */
  onAnchored?: (batch: Required<Omit<BatchInfo, "gasUsed" | "salt" | "quiltIds">> & BatchInfo) => void;
  /** Called when a batch attempt fails (it is retried with backoff). */
  onError?: (error: Error) => void;
  /** Called for events an operator should see: a batch re-sealed or split, a dropped transaction, a quarantine. */
  onEvent?: (message: string) => void;
  /** Called after each attempt to store a batch blob on Walrus (health reports the store from it). */
  onStored?: (ok: boolean, error?: Error) => void;
  /** How the journal opens its files (tests inject faults). */
  journal?: JournalOptions;
}

type ResolvedOptions = Required<Omit<OutboxOptions, "onAnchored" | "onError" | "onEvent" | "onStored" | "journal">> &
  OutboxOptions;

/**
 * The node's durable outbox. Every accepted proof is journalled (fsync) before `accept` resolves, so the node answers a
 * request only once its proof would survive a crash; memory follows the journal, never the other way round. A batcher
 * seals waiting proofs into batches by count, bytes or age (membership journalled before anything leaves the machine)
 * and anchors each batch's Merkle root with one transaction under this node's key. A batch of v2 proofs (what the node
 * signs) is a list of Walrus quilts, one patch per proof plus an index patch, each quilt within the publisher's cap by
 * Walrus's exact quilt size and at most 665 proofs: stored with `storeQuilt`, anchored with `anchorBatch` (one quilt) or
 * `anchorQuilts` (several). A batch of v1 proofs (an older node's journal) is one v1 batch blob, as before. Anchored batches move to an on-disk index ({@link ProofIndex}) and out of memory and the journal, so memory and
 * restart time follow the backlog, not the history.
 *
 * Failures back off (exponential, with jitter) per batch; a batch that keeps failing is quarantined without blocking
 * later ones. A transaction that is not mined in time is checked: dropped (the chain restarted) means it is sent again.
 * An existing anchor of this node's key under the root that is not this batch's blob means the root is not ours to
 * use: the batch is re-sealed with a salt (a new root) and the event is reported.
 */
export class Outbox {
  /** The proofs and batches on their way (what the journal holds). */
  private readonly b = new Backlog();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | null = null;
  private stopped = false;
  private compactedAt = 0;
  private compactingNow = false;
  private soloIndexBytes: number | undefined;
  /** Set when the chain refuses this node's anchors (removed from the node registry). */
  private refusedBy: string | undefined;
  readonly stats = { accepted: 0, anchoredProofs: 0, anchoredBatches: 0, flushErrors: 0, resealed: 0, resent: 0 };

  private constructor(
    private readonly journal: Journal<OutboxRecord>,
    private readonly index: ProofIndex,
    private readonly walrus: OutboxStore,
    private readonly proofs: ProofRegistryClient,
    private readonly node: string,
    private readonly options: ResolvedOptions,
  ) {}

  /** Opens the outbox in `dir`, replaying its journal. Call {@link start} to run the batcher. */
  static async open(
    dir: string,
    walrus: OutboxStore,
    proofs: ProofRegistryClient,
    node: string,
    options: OutboxOptions = {},
  ): Promise<Outbox> {
    const { journal, records, skipped } = await Journal.open<OutboxRecord>(dir, options.journal, JOURNAL_CODEC);
    const index = await ProofIndex.open(`${dir}/index`);
    const outbox = new Outbox(journal, index, walrus, proofs, node, {
      maxBatch: NODE_DEFAULTS.batchSize,
      maxBatchBytes: NODE_DEFAULTS.batchMaxBytes,
      maxPerQuilt: DEFAULT_MAX_PER_QUILT,
      maxAgeMs: NODE_DEFAULTS.batchAgeMs,
      epochs: NODE_DEFAULTS.batchEpochs,
      maxBacklogBytes: NODE_DEFAULTS.maxBacklogBytes,
      retryBaseMs: NODE_DEFAULTS.retryBaseMs,
      retryMaxMs: NODE_DEFAULTS.retryMaxMs,
      quarantineAfter: NODE_DEFAULTS.quarantineAfter,
      txTimeoutMs: NODE_DEFAULTS.txTimeoutMs,
      chainTimeoutMs: NODE_DEFAULTS.chainTimeoutMs,
      compactBytes: NODE_DEFAULTS.compactBytes,
      ...options,
    });
    if (skipped.length > 0) {
      options.onEvent?.(
        `journal: skipped ${skipped.length} unreadable line(s) left by writes that were never acknowledged ` +
          `(kept in ${dir}/journal.skipped)`,
      );
    }
    await outbox.replay(records);
    outbox.compactedAt = journal.size;
    return outbox;
  }

  private async replay(records: OutboxRecord[]): Promise<void> {
    this.b.replay(records);
    // A batch put in the index whose "anchored" record did not make it to the journal (crash, full disk) is anchored.
    for (const root of [...this.b.sealed.keys()]) if (await this.index.hasBatch(root)) this.b.retire(root);
  }

  // Accepting ---------------------------------------------------------------------------------------------------------

  /** Why the outbox refuses new proofs right now, or `undefined` when it accepts them. */
  refusal(): NodeUnavailableError | undefined {
    if (this.stopped)
      return new NodeUnavailableError("SHUTTING_DOWN", "the node is shutting down: retry on another node");
    if (this.refusedBy) {
      return new NodeUnavailableError(
        "NODE_NOT_ACTIVE",
        `the chain refuses this node's anchors (${this.refusedBy}): it is not an active node in the NodeRegistry; ` +
          "ask the registry admin to admit it, then restart the node",
      );
    }
    if (this.b.backlogBytes >= this.options.maxBacklogBytes) {
      return new NodeUnavailableError(
        "BACKLOG_FULL",
        `${this.b.backlogBytes} bytes of proofs wait to be anchored (limit ${this.options.maxBacklogBytes}): ` +
          "the node accepts new work once the backlog is anchored; check /v1/health for the batches that fail",
      );
    }
    return undefined;
  }

  /** The node registry lists this node as active again (the node's health check saw it): accept work again. */
  clearRefusal(): void {
    this.refusedBy = undefined;
  }

  /**
   * Refuses (413) a proof whose document would take `docBytes` bytes when it could never fit in a batch blob, so it is
   * never accepted and then stuck. Call it before running an inference with the size of its tensors, and again with the
   * size of the proof.
   */
  checkFits(docBytes: number, what?: string): void {
    const total = docBytes + PER_PROOF_OVERHEAD + BATCH_OVERHEAD;
    if (total > this.options.maxBatchBytes) throw new ProofTooLargeError(total, this.options.maxBatchBytes, what);
  }

  /**
   * Refuses (413) a v2 proof of `proofBytes` bytes (its binary encoding, or a lower bound of it) when a quilt holding
   * it alone, with the largest index patch a batch can give it, would pass the publisher's cap: Walrus's exact quilt
   * size at the network's shard count, so every proof accepted fits in some quilt.
   */
  checkFitsQuilt(proofBytes: number, what?: string): void {
    // The largest index a one-proof quilt can get: salted, in a root of up to maxBatch quilts (computed once).
    this.soloIndexBytes ??= batchIndexPatchSize(1, Math.max(this.options.maxBatch, 1), true);
    const size = this.quiltSizeOf([
      { identifier: `0x${"0".repeat(64)}`, size: proofBytes },
      { identifier: BATCH_INDEX_IDENTIFIER, size: this.soloIndexBytes },
    ]);
    if (size > this.options.maxBatchBytes) {
      throw new ProofTooLargeError(
        size,
        this.options.maxBatchBytes,
        what ?? "a quilt holding the proof of this inference",
      );
    }
  }

  private get nShards(): number {
    return this.walrus.shards ?? DEFAULT_SHARDS;
  }

  private quiltSizeOf(patches: readonly { identifier: string; size: number }[], nShards = this.nShards): number {
    return quiltSize(patches, { nShards });
  }

  /** Persists an accepted proof (`commitment`: its commitment, when the caller has it); resolves once it is durable. */
  async accept(
    doc: InferenceProof | PrivateInferenceProof,
    commitment: Commitment = isPrivateProof(doc) ? privateProofCommitment(doc) : proofCommitment(doc),
  ): Promise<Commitment> {
    const refused = this.refusal();
    if (refused) throw refused;
    if (this.b.pending.has(commitment)) return commitment;
    if (isPrivateProof(doc)) return this.acceptBinary(encodePrivateProof(doc), commitment);
    if (doc.version === ProofVersion.V2) return this.acceptBinary(encodeProof(doc), commitment);
    const record: OutboxRecord = { t: "proof", doc };
    const json = JSON.stringify(record);
    // The document's JSON is the record's less its envelope (`{"t":"proof","doc":` and `}`).
    const size = Buffer.byteLength(json) - RECORD_ENVELOPE + PER_PROOF_OVERHEAD;
    this.checkFits(size - PER_PROOF_OVERHEAD);
    await this.journal.appendJson([json], () => {
      if (this.b.pending.has(commitment)) return;
      this.b.addWaiting(commitment, { doc }, size, Date.now());
      this.stats.accepted++;
    });
    if (this.b.waiting.length >= this.options.maxBatch || this.b.waitingBytes >= this.sealBytes()) this.kick();
    return commitment;
  }

  /** A v2 or v3 proof goes into the journal as a binary frame of its encoding, which is also its quilt patch later. */
  private async acceptBinary(bytes: Uint8Array, commitment: Commitment): Promise<Commitment> {
    this.checkFitsQuilt(bytes.length);
    await this.journal.appendFrame(bytes, () => {
      if (this.b.pending.has(commitment)) return;
      this.b.addWaiting(commitment, { bytes }, bytes.length, Date.now());
      this.stats.accepted++;
    });
    if (this.b.waiting.length >= this.options.maxBatch) this.kick();
    return commitment;
  }

  private sealBytes(): number {
    return this.options.maxBatchBytes - BATCH_OVERHEAD;
  }

  // The batcher -------------------------------------------------------------------------------------------------------

  /** Starts the batcher (and finishes any batch a previous run left sealed but unanchored). */
  start(): void {
    this.stopped = false;
    const tick = Math.max(50, Math.min(this.options.maxAgeMs / 4, 500));
    this.timer = setInterval(() => {
      const now = Date.now();
      let retry = false;
      for (const b of this.b.sealed.values()) if (b.nextAt <= now) retry = true;
      if (retry || this.batchDue()) this.kick();
    }, tick);
    this.timer.unref?.();
    this.kick();
  }

  private kick(): void {
    if (this.stopped || this.flushing) return;
    this.run(false).catch((error: Error) => this.failed(error));
  }

  /**
   * Seals everything waiting now and tries every sealed batch, whatever its backoff; resolves when done (for tests and
   * shutdown). Runs never overlap: a call while one runs waits for it and then runs once more, so no batch is completed
   * twice. Failures of single batches are counted and reported, not thrown.
   */
  flush(): Promise<void> {
    return this.run(true);
  }

  private run(all: boolean): Promise<void> {
    const previous = this.flushing ?? Promise.resolve();
    const run: Promise<void> = previous
      .catch(() => undefined)
      .then(() => this.runOnce(all))
      .finally(() => {
        if (this.flushing === run) this.flushing = null;
      });
    this.flushing = run;
    return run;
  }

  private async runOnce(all: boolean): Promise<void> {
    try {
      await this.sealWaiting(all);
    } catch (error) {
      this.failed(error as Error); // the proofs stay waiting (nothing left the machine); sealing is tried again
    }
    // Every due batch once per run, including batches that this run re-sealed or split.
    const tried = new Set<Bytes32>();
    for (;;) {
      if (this.stopped && !all) break;
      const at = Date.now();
      const next = [...this.b.sealed.values()].find((b) => !tried.has(b.root) && (all || b.nextAt <= at));
      if (!next) break;
      tried.add(next.root);
      await this.attempt(next);
    }
  }

  /** Whether the waiting proofs make a batch now: a full one (count or bytes), or the oldest is old enough. */
  private batchDue(): boolean {
    const oldest = this.b.waiting[0];
    return (
      this.b.waiting.length >= this.options.maxBatch ||
      this.b.waitingBytes >= this.sealBytes() ||
      (oldest !== undefined && Date.now() - oldest.at >= this.options.maxAgeMs)
    );
  }

  /**
   * Seals waiting proofs into batches of at most `maxBatch` proofs and `maxBatchBytes` bytes while a batch is due
   * (`all`: every waiting proof now).
   */
  private async sealWaiting(all = true): Promise<void> {
    while (this.b.waiting.length > 0 && (all || this.batchDue()) && !(this.stopped && !all)) {
      // A batch holds proofs of one format: v1 proofs go into a v1 batch blob, v2 proofs into quilts.
      const v2 = this.b.waiting[0].v2;
      const take: Commitment[] = [];
      let bytes = 0;
      for (const w of this.b.waiting) {
        if (take.length >= this.options.maxBatch) break;
        if (w.v2 !== v2) continue;
        if (!v2 && take.length > 0 && bytes + w.size > this.sealBytes()) break;
        take.push(w.commitment);
        bytes += w.size;
      }
      await this.sealBatch(take);
    }
  }

  private async sealBatch(commitments: Commitment[], salt?: Bytes32, replaces?: { root: BatchRoot; reason: string }) {
    if (this.b.pending.get(commitments[0])?.bytes) return this.sealQuilts(commitments, salt, replaces);
    let built = this.build(commitments, salt);
    // The size estimate is close but not exact: shed proofs from the end until the blob fits (they wait for the next).
    while (built.bytes.length > this.options.maxBatchBytes && commitments.length > 1) {
      commitments = commitments.slice(0, Math.max(1, Math.floor(commitments.length * 0.9)));
      built = this.build(commitments, salt);
    }
    const records: OutboxRecord[] = [];
    if (replaces) records.push({ t: "dropped", root: replaces.root, reason: replaces.reason });
    records.push({ t: "batch", root: built.root, commitments: built.commitments, ...(salt ? { salt } : {}) });
    await this.journal.append(records, () => {
      if (replaces) this.b.unseal(replaces.root);
      this.b.seal(built.root, built.commitments, salt, built.bytes);
    });
    return built.root;
  }

  private build(commitments: Commitment[], salt?: Bytes32) {
    return buildBatch(
      commitments.map((c) => this.b.pending.get(c)!.doc!),
      salt ? { salt } : undefined,
    );
  }

  /**
   * Seals v2 proofs into one batch (one root) of quilts of at most `maxPerQuilt` proofs and `maxBatchBytes` bytes each,
   * index patch included. The split and each quilt's path are journalled with the membership, so the batch is rebuilt
   * identically after a restart.
   */
  private async sealQuilts(commitments: Commitment[], salt?: Bytes32, replaces?: { root: BatchRoot; reason: string }) {
    const built = this.buildQuilts(commitments, salt, this.options.maxBatchBytes, this.nShards);
    const plan: QuiltPlan = {
      counts: built.quilts.map((q) => q.commitments.length),
      paths: built.quilts.map((q) => q.path),
      maxQuiltBytes: this.options.maxBatchBytes,
      nShards: this.nShards,
    };
    const records: OutboxRecord[] = [];
    if (replaces) records.push({ t: "dropped", root: replaces.root, reason: replaces.reason });
    records.push({
      t: "batch",
      root: built.root,
      commitments: built.commitments,
      ...(salt ? { salt } : {}),
      quilts: plan,
    });
    await this.journal.append(records, () => {
      if (replaces) this.b.unseal(replaces.root);
      this.b.seal(built.root, built.commitments, salt, undefined, plan, built);
    });
    return built.root;
  }

  private buildQuilts(
    commitments: Commitment[],
    salt: Bytes32 | undefined,
    maxQuiltBytes: number,
    nShards: number,
    counts?: number[],
  ) {
    let start = 0;
    const plan = counts?.map((count) => ({ start, end: (start += count) }));
    return buildBatchV2(
      commitments.map((c) => ({ commitment: c, bytes: this.b.pending.get(c)!.bytes! })),
      {
        ...(salt ? { salt } : {}),
        ...(plan ? { plan } : {}),
        // 665 at 1000 shards; fewer on a smaller network (one patch per secondary column, one column for the index).
        maxPerQuilt: Math.min(this.options.maxPerQuilt, maxQuiltPatches(nShards) - 1),
        maxQuiltBytes,
        sizeOf: (patches) => this.quiltSizeOf(patches, nShards),
      },
    );
  }

  /** A sealed v2 batch rebuilt from its proofs in the quilts it was sealed as (after a restart): the same quilts. */
  private rebuildQuilts(batch: SealedBatch): ProofBatchV2 {
    const plan = batch.plan!;
    const built = this.buildQuilts(batch.commitments, batch.salt, plan.maxQuiltBytes, plan.nShards, plan.counts);
    const counts = built.quilts.map((q) => q.commitments.length);
    if (built.root !== batch.root || counts.join(",") !== plan.counts.join(",")) {
      throw new OutboxError(
        `batch ${batch.root}: its proofs rebuild to root ${built.root} in quilts of [${counts.join(", ")}] proofs, ` +
          `not root ${batch.root} in quilts of [${plan.counts.join(", ")}] it was sealed as: this node version ` +
          "builds quilts differently from the one that sealed it; finish the batch with that version",
      );
    }
    return built;
  }

  private async attempt(batch: SealedBatch): Promise<void> {
    try {
      await this.complete(batch);
    } catch (error) {
      batch.attempts++;
      batch.lastError = (error as Error).message;
      batch.nextAt = Date.now() + backoffDelay(batch.attempts, this.options.retryBaseMs, this.options.retryMaxMs);
      if (!batch.quarantined && batch.attempts >= this.options.quarantineAfter) {
        batch.quarantined = true;
        this.b.quarantinedCount++;
        this.options.onEvent?.(
          `batch ${batch.root} (${batch.commitments.length} proofs) quarantined after ${batch.attempts} failures: ` +
            `${batch.lastError}; later batches go on, this one is retried every ${this.options.retryMaxMs} ms`,
        );
      }
      if (error instanceof ContractRevertError && error.errorName === "ProofRegistryNotActiveNode") {
        this.refusedBy = `ProofRegistryNotActiveNode(${this.node})`;
      }
      this.failed(
        new OutboxError(
          `batch ${batch.root}: ${batch.lastError} (attempt ${batch.attempts}; next in ${batch.nextAt - Date.now()} ms)`,
        ),
      );
    }
  }

  private failed(error: Error): void {
    this.stats.flushErrors++;
    this.options.onError?.(error);
  }

  /** Stores the batch blob (again, after a crash: same bytes, same Blob ID) and anchors its root exactly once. */
  private async complete(batch: SealedBatch): Promise<void> {
    if (!batch.blobId && batch.plan) {
      const stored = await this.storeQuilts(batch);
      if (!stored) return; // split: its proofs are in new batches
    }
    if (!batch.blobId) {
      const bytes = batch.bytes ?? this.build(batch.commitments, batch.salt).bytes;
      if (bytes.length > this.options.maxBatchBytes) {
        if (batch.commitments.length === 1) throw new ProofTooLargeError(bytes.length, this.options.maxBatchBytes);
        return this.split(batch, bytes.length);
      }
      let blobId: BlobId;
      let endEpoch: number;
      try {
        ({ blobId, endEpoch } = await this.walrus.store(bytes, { epochs: this.options.epochs }));
        this.options.onStored?.(true);
      } catch (error) {
        this.options.onStored?.(false, error as Error);
        const tooLarge =
          error instanceof BlobTooLargeError || (error instanceof WalrusHttpError && error.status === 413);
        if (tooLarge && batch.commitments.length > 1) return this.split(batch, bytes.length);
        throw error;
      }
      await this.journal.append([{ t: "stored", root: batch.root, blobId, endEpoch }], () => {
        batch.blobId = blobId;
        batch.endEpoch = endEpoch;
        batch.bytes = undefined;
      });
    }
    const blobId = batch.blobId!;
    const endEpoch = batch.endEpoch;
    if (endEpoch === undefined) {
      // Replay never leaves a stored batch without its end epoch (see the "stored" record): a bug if reached.
      throw new OutboxError(`batch ${batch.root} is stored but its end epoch is unknown: it cannot be anchored`);
    }
    const provider = this.proofs.runner?.provider;
    if (!provider) throw new OutboxError("the outbox's ProofRegistry client has no provider");
    const read = <T>(what: string, call: () => Promise<T>) => withTimeout(call(), this.options.chainTimeoutMs, what);

    const quiltIds = batch.quilts?.map((q) => q.quiltId);
    let anchored: { txHash: string; block: number; gasUsed?: string } | undefined;
    const own = await read("getBatch", () => this.proofs.getBatch(this.node, batch.root));
    if (own) {
      const reference = await read("the BatchAnchored event", () => this.proofs.batchReference(batch.root, this.node));
      if (!reference?.anchored) {
        throw new OutboxError(`batch ${batch.root} is anchored by this node but its BatchAnchored event is missing`);
      }
      const ours = quiltIds ?? [blobId];
      if (reference.blobIds.join(",") !== ours.join(",")) {
        // Our key anchored this root with another blob (the same key used elsewhere): that anchor cannot prove this
        // batch. Re-seal the same proofs under a new root.
        return this.reseal(batch, `root already anchored by ${this.node} with another blob (tx ${reference.txHash})`);
      }
      anchored = { txHash: reference.txHash, block: reference.blockNumber };
    } else {
      const result = await sendAndMine({
        provider,
        sent: batch.tx,
        // One blob or one quilt: anchorBatch; a root over several quilts: anchorQuilts (their IDs in the event).
        send: () =>
          quiltIds && quiltIds.length > 1
            ? this.proofs.anchorQuilts(batch.root, quiltIds, batch.commitments.length, endEpoch)
            : this.proofs.anchorBatch(batch.root, blobId, batch.commitments.length, endEpoch),
        onSent: (hash) => (batch.tx = { hash, sentAt: Date.now() }),
        onDropped: (hash) => {
          this.stats.resent++;
          this.options.onEvent?.(
            `batch ${batch.root}: transaction ${hash} was dropped before it was mined (did the chain restart?); sending again`,
          );
        },
        timeoutMs: this.options.txTimeoutMs,
      }).catch((error: unknown) => {
        if (error instanceof ContractRevertError && error.errorName === "ProofRegistryAlreadyAnchored") return null;
        throw error;
      });
      batch.tx = undefined;
      if (result === null) return this.complete(batch); // mined meanwhile (a transaction from before a crash)
      anchored = { txHash: result.txHash, block: result.blockNumber, gasUsed: result.gasUsed?.toString() };
    }
    await this.finish(batch, blobId, endEpoch, anchored);
  }

  /**
   * Stores each quilt of a v2 batch with `storeQuilt` (its quilt ID computed and checked locally), then journals the
   * quilt and patch IDs. Returns false when the publisher refused a quilt as too large and the batch was split.
   */
  private async storeQuilts(batch: SealedBatch): Promise<boolean> {
    if (!this.walrus.storeQuilt) {
      throw new OutboxError(
        `batch ${batch.root} is a batch of quilts, but this outbox's Walrus client has no storeQuilt`,
      );
    }
    const built = batch.built ?? this.rebuildQuilts(batch);
    batch.built = built;
    const stored = batch.storedSoFar ?? [];
    batch.storedSoFar = stored;
    for (const quilt of built.quilts.slice(stored.length)) {
      let result: Awaited<ReturnType<WalrusClient["storeQuilt"]>>;
      try {
        result = await this.walrus.storeQuilt(quilt.patches, { epochs: this.options.epochs });
        this.options.onStored?.(true);
      } catch (error) {
        this.options.onStored?.(false, error as Error);
        const tooLarge =
          error instanceof BlobTooLargeError || (error instanceof WalrusHttpError && error.status === 413);
        if (tooLarge && batch.commitments.length > 1) {
          await this.split(batch, quilt.size ?? 0);
          return false;
        }
        if (tooLarge) throw new ProofTooLargeError(quilt.size ?? 0, this.options.maxBatchBytes);
        throw error;
      }
      const patchIds = new Map(result.patches.map((p) => [p.identifier, p.patchId]));
      const missing = [...quilt.commitments, BATCH_INDEX_IDENTIFIER].find((id) => !patchIds.has(id));
      if (missing !== undefined) {
        throw new OutboxError(`quilt ${result.blobId} of batch ${batch.root} came back without the patch ${missing}`);
      }
      stored.push({
        quiltId: result.blobId,
        patchIds: quilt.commitments.map((c) => patchIds.get(c)!),
        indexPatchId: patchIds.get(BATCH_INDEX_IDENTIFIER)!,
        endEpoch: result.endEpoch,
      });
    }
    // The batch lives as long as its first quilt to expire: that end epoch is anchored with the root.
    const endEpoch = Math.min(...stored.map((q) => q.endEpoch!));
    const record: OutboxRecord = { t: "stored", root: batch.root, blobId: stored[0].quiltId, quilts: stored, endEpoch };
    await this.journal.append([record], () => {
      batch.blobId = stored[0].quiltId;
      batch.endEpoch = endEpoch;
      batch.quilts = stored;
      batch.built = undefined;
      batch.storedSoFar = undefined;
    });
    return true;
  }

  private async finish(
    batch: SealedBatch,
    blobId: BlobId,
    endEpoch: number,
    anchored: { txHash: string; block: number; gasUsed?: string },
  ): Promise<void> {
    const plan = batch.plan;
    const quilts = batch.quilts?.map((q: StoredQuilt, k) => ({
      quiltId: q.quiltId,
      count: plan!.counts[k],
      path: plan!.paths[k],
      patchIds: q.patchIds,
      indexPatchId: q.indexPatchId,
    }));
    const indexed: IndexedBatch = {
      root: batch.root,
      commitments: batch.commitments,
      ...(batch.salt ? { salt: batch.salt } : {}),
      blobId,
      ...(quilts ? { quilts } : {}),
      endEpoch,
      txHash: anchored.txHash,
      block: anchored.block,
      ...(anchored.gasUsed ? { gasUsed: anchored.gasUsed } : {}),
      anchoredAt: Date.now(),
    };
    await this.index.putBatch(indexed);
    await this.journal.append([{ t: "anchored", root: batch.root, ...anchored }], () => {
      this.b.retire(batch.root);
      this.stats.anchoredBatches++;
      this.stats.anchoredProofs += batch.commitments.length;
    });
    this.refusedBy = undefined;
    await this.maybeCompact();
    const { quilts: _quilts, ...anchoredBatch } = indexed;
    this.options.onAnchored?.({
      ...anchoredBatch,
      endEpoch,
      ...(quilts ? { quiltIds: quilts.map((q) => q.quiltId) } : {}),
    });
  }

  private async reseal(batch: SealedBatch, reason: string): Promise<void> {
    const salt = `0x${randomBytes(32).toString("hex")}`;
    const root = await this.sealBatch(batch.commitments, salt, { root: batch.root, reason });
    this.stats.resealed++;
    this.options.onEvent?.(`batch ${batch.root} re-sealed as ${root}: ${reason}`);
  }

  /** A batch over the byte cap (sealed by an older node, or refused by the publisher) becomes smaller batches. */
  private async split(batch: SealedBatch, bytes: number): Promise<void> {
    const half = Math.ceil(batch.commitments.length / 2);
    const reason = `its blob of ${bytes} bytes is over the cap of ${this.options.maxBatchBytes}; split in two`;
    const first = await this.sealBatch(batch.commitments.slice(0, half), undefined, { root: batch.root, reason });
    const rest = batch.commitments.slice(half).filter((c) => !this.b.pending.get(c)?.root);
    if (rest.length > 0) await this.sealWaiting(true);
    this.options.onEvent?.(`batch ${batch.root} ${reason} (first part ${first})`);
  }

  private async maybeCompact(): Promise<void> {
    if (this.compactingNow || this.journal.size - this.compactedAt < this.options.compactBytes) return;
    this.compactingNow = true;
    try {
      await this.journal.compact(() => this.b.liveRecords());
      this.compactedAt = this.journal.size;
    } catch (error) {
      this.options.onError?.(error as Error); // the old journal is kept; compaction is tried again later
    } finally {
      this.compactingNow = false;
    }
  }

  // Reads -------------------------------------------------------------------------------------------------------------

  /** The status of `commitment`, or `undefined` if this node never accepted it. */
  async status(commitment: Commitment): Promise<ProofStatus | undefined> {
    const proof = this.b.pending.get(commitment);
    if (proof && !proof.root) return { commitment, status: "accepted" };
    if (proof?.root) {
      const batch = this.b.sealed.get(proof.root)!;
      const index = batch.commitments.indexOf(commitment);
      if (batch.plan) return { commitment, status: "batched", root: batch.root, index, ...quiltProof(batch, index) };
      batch.tree ??= BatchTree.of([...batch.commitments, ...(batch.salt ? [batch.salt] : [])]);
      return {
        commitment,
        status: "batched",
        root: batch.root,
        index,
        merkleProof: batch.tree.proof(index),
        blobId: batch.blobId,
      };
    }
    const indexed = await this.index.get(commitment);
    if (!indexed) return undefined;
    const quilt = indexed.quilt;
    return {
      commitment,
      status: "anchored",
      root: indexed.root,
      index: indexed.index,
      merkleProof: indexed.merkleProof,
      blobId: quilt?.quiltId ?? indexed.batch.blobId,
      ...(quilt ? { quiltId: quilt.quiltId, patchId: quilt.patchId, indexPatchId: quilt.indexPatchId } : {}),
      txHash: indexed.batch.txHash,
      block: indexed.batch.block,
    };
  }

  /** Counts for health and metrics (constant time). */
  counts(): { waiting: number; sealed: number; quarantined: number; anchoredBatches: number; backlogBytes: number } {
    return {
      waiting: this.b.waiting.length,
      sealed: this.b.sealed.size,
      quarantined: this.b.quarantinedCount,
      anchoredBatches: this.index.counts().batches,
      backlogBytes: this.b.backlogBytes,
    };
  }

  /** The batches that keep failing. */
  quarantined(): QuarantinedBatch[] {
    return [...this.b.sealed.values()]
      .filter((b) => b.quarantined)
      .map((b) => ({
        root: b.root,
        proofs: b.commitments.length,
        attempts: b.attempts,
        lastError: b.lastError ?? "",
        nextAttemptAt: new Date(b.nextAt).toISOString(),
      }));
  }

  /** Every batch: anchored ones (from the index, in anchoring order), then the sealed ones on their way. */
  async listBatches(): Promise<BatchInfo[]> {
    const list: BatchInfo[] = [];
    for await (const { quilts, ...b } of this.index.batches()) {
      list.push({ ...b, ...(quilts ? { quiltIds: quilts.map((q) => q.quiltId) } : {}) });
    }
    for (const b of this.b.sealed.values()) {
      list.push({
        root: b.root,
        commitments: [...b.commitments],
        salt: b.salt,
        blobId: b.blobId,
        ...(b.quilts ? { quiltIds: b.quilts.map((q) => q.quiltId) } : {}),
      });
    }
    return list;
  }

  /**
   * Stops the batcher and closes the journal and the index. Waits at most `graceMs` (default 10 s) for the batch in
   * progress: whatever it has not finished is in the journal and is finished by the next start.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.flushing) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.flushing.catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    await this.journal.close();
    await this.index.close();
  }
}

/**
 * The Merkle proof of position `index` of a sealed v2 batch (its quilt's subtree proof, then the quilt's path), and
 * once stored its quilt and patch IDs.
 */
function quiltProof(batch: SealedBatch, index: number): Omit<ProofStatus, "commitment" | "status" | "root" | "index"> {
  const plan = batch.plan!;
  let quilt = 0;
  let position = index;
  while (position >= plan.counts[quilt]) position -= plan.counts[quilt++];
  if (!batch.subtrees) {
    let offset = 0;
    batch.subtrees = plan.counts.map((count, k) => {
      const values: Bytes32[] = batch.commitments.slice(offset, (offset += count));
      return BatchTree.of(k === 0 && batch.salt ? [...values, batch.salt] : values);
    });
  }
  const stored = batch.quilts?.[quilt];
  return {
    merkleProof: [...batch.subtrees[quilt].proof(position), ...plan.paths[quilt]],
    ...(stored
      ? {
          blobId: stored.quiltId,
          quiltId: stored.quiltId,
          patchId: stored.patchIds[position],
          indexPatchId: stored.indexPatchId,
        }
      : {}),
  };
}

export { TransactionPendingError };
export type { BatchInfo, ProofState, ProofStatus, QuarantinedBatch } from "./backlog";
