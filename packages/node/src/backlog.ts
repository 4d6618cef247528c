import {
  proofCommitment,
  type BatchRoot,
  type BatchTree,
  type BlobId,
  type Bytes32,
  type Commitment,
  type InferenceProof,
  type ProofBatchV2,
} from "@strata/core";
import type { QuiltPatchId } from "@strata/walrus";
import { OutboxError } from "./errors";

/** How a v2 batch was split into quilts when it was sealed: rebuilding it with these limits gives the same quilts. */
export interface QuiltPlan {
  /** The number of proofs of each quilt, in order. */
  counts: number[];
  /** Each quilt's path from its subroot to the root. */
  paths: Bytes32[][];
  /** The byte cap and shard count the quilts were sized with. */
  maxQuiltBytes: number;
  nShards: number;
}

/** A stored quilt of a v2 batch: its ID and the patch ID of each of its proofs (in batch order) and of its index. */
export interface StoredQuilt {
  quiltId: BlobId;
  patchIds: QuiltPatchId[];
  indexPatchId: QuiltPatchId;
  /** The Walrus epoch (exclusive) its storage ends, from the store answer (absent in journals before ProofRegistry 2). */
  endEpoch?: number;
}

/** A record of the outbox journal. */
export type OutboxRecord =
  /** A v1 proof (a JSON line). */
  | { t: "proof"; doc: InferenceProof }
  /** A v2 proof: its binary encoding (a binary frame of the journal) and its commitment (recomputed on replay). */
  | { t: "proof2"; commitment: Commitment; bytes: Uint8Array }
  /** A sealed batch: a v1 batch blob, or (with `quilts`) a v2 batch of Walrus quilts. */
  | { t: "batch"; root: BatchRoot; commitments: Commitment[]; salt?: Bytes32; quilts?: QuiltPlan }
  /**
   * A sealed batch stored on Walrus. `endEpoch`: the earliest end epoch (exclusive) of its blobs, from the store answers,
   * anchored with the root. A record without it (a journal written before ProofRegistry 2.0) is replayed as not stored:
   * the batch is stored again (the same bytes, so the same Blob IDs) to learn the end epoch from the answer.
   */
  | { t: "stored"; root: BatchRoot; blobId: BlobId; quilts?: StoredQuilt[]; endEpoch?: number }
  | { t: "anchored"; root: BatchRoot; txHash: string; block: number; gasUsed?: string }
  /** A sealed batch replaced by the batch records that follow (re-sealed with a salt, or split to fit the cap). */
  | { t: "dropped"; root: BatchRoot; reason: string };

/** Where a proof is on its way to the chain. */
export type ProofState = "accepted" | "batched" | "anchored";

/** What `GET /v1/proofs/:commitment` answers. */
export interface ProofStatus {
  commitment: Commitment;
  status: ProofState;
  /** The batch's Merkle root, once batched. */
  root?: BatchRoot;
  /** The position of the proof in its batch, and the Merkle proof `ProofRegistry.isIncluded` accepts. */
  index?: number;
  merkleProof?: Bytes32[];
  /** The batch blob on Walrus (base64url), once stored; for a batch of quilts, the quilt that holds the proof. */
  blobId?: BlobId;
  /** For a batch of quilts, once stored: the proof's quilt, its patch there and the quilt's index patch. */
  quiltId?: BlobId;
  patchId?: QuiltPatchId;
  indexPatchId?: QuiltPatchId;
  txHash?: string;
  block?: number;
}

/** A batch as the outbox reports it (sealed and on its way, or anchored). */
export interface BatchInfo {
  root: BatchRoot;
  commitments: Commitment[];
  salt?: Bytes32;
  blobId?: BlobId;
  /** The quilt IDs of a batch stored as Walrus quilts, in order (`blobId` is the first). */
  quiltIds?: BlobId[];
  /** Once stored: the earliest end epoch (exclusive) of its blobs, from the store answers; anchored with the root. */
  endEpoch?: number;
  txHash?: string;
  block?: number;
  gasUsed?: string;
}

/** A sealed batch that keeps failing, as health and metrics show it. */
export interface QuarantinedBatch {
  root: BatchRoot;
  proofs: number;
  attempts: number;
  lastError: string;
  nextAttemptAt: string;
}

export interface SealedBatch extends BatchInfo {
  /** Bytes of the batch blob, kept from sealing until it is stored. */
  bytes?: Uint8Array;
  /** A v2 batch: how it is split into quilts. */
  plan?: QuiltPlan;
  /** A v2 batch as built at sealing, kept until it is stored. */
  built?: ProofBatchV2;
  /** A v2 batch's quilts once stored. */
  quilts?: StoredQuilt[];
  /** Quilts stored in the current attempt (not journalled: a restart stores them again, with the same IDs). */
  storedSoFar?: StoredQuilt[];
  /** A v2 batch's subtrees (one per quilt), built on demand for status answers. */
  subtrees?: BatchTree[];
  attempts: number;
  nextAt: number;
  lastError?: string;
  quarantined: boolean;
  /** The anchoring transaction sent and not yet seen mined. */
  tx?: { hash: string; sentAt: number };
  tree?: BatchTree;
}

export interface PendingProof {
  /** A v1 proof's document. */
  doc?: InferenceProof;
  /** A v2 proof's binary encoding (its quilt patch). */
  bytes?: Uint8Array;
  /** Bytes the proof adds to a batch (v1: its JSON plus its share of the tree; v2: its patch). */
  size: number;
  /** The sealed batch holding it, once batched. */
  root?: BatchRoot;
}

/** Bytes of a batch blob besides its proofs, and per proof besides its document (tree nodes and values). */
export const BATCH_OVERHEAD = 1_024;
export const PER_PROOF_OVERHEAD = 320;
export const RECORD_ENVELOPE = JSON.stringify({ t: "proof", doc: null }).length - "null".length;

/**
 * The outbox's in-memory state: the proofs accepted and not yet anchored, waiting or in a sealed batch. Every change
 * follows a record the journal already holds (the outbox applies it in the journal's `apply` callback), so replaying
 * the journal rebuilds exactly this; anchored batches leave it for the proof index.
 */
export class Backlog {
  readonly pending = new Map<Commitment, PendingProof>();
  readonly sealed = new Map<BatchRoot, SealedBatch>();
  waiting: { commitment: Commitment; at: number; size: number; v2: boolean }[] = [];
  /** Bytes of the waiting v1 proofs (a v1 batch blob is sealed by them; v2 quilts are sized when built). */
  waitingBytes = 0;
  backlogBytes = 0;
  quarantinedCount = 0;

  /** Rebuilds the state from the journal's records, in order (a record twice, around a compaction, is harmless). */
  replay(records: OutboxRecord[]): void {
    const now = Date.now();
    for (const record of records) {
      switch (record.t) {
        case "proof": {
          const commitment = proofCommitment(record.doc);
          if (this.pending.has(commitment)) break; // written twice around a compaction
          this.addWaiting(commitment, { doc: record.doc }, proofSize(record.doc), now);
          break;
        }
        case "proof2": {
          if (this.pending.has(record.commitment)) break;
          this.addWaiting(record.commitment, { bytes: record.bytes }, record.bytes.length, now);
          break;
        }
        case "batch": {
          if (this.sealed.has(record.root)) break;
          this.seal(record.root, record.commitments, record.salt, undefined, record.quilts);
          break;
        }
        case "stored": {
          const batch = this.sealed.get(record.root);
          if (batch && record.endEpoch !== undefined) {
            batch.endEpoch = record.endEpoch;
            batch.blobId = record.blobId;
            if (record.quilts) batch.quilts = record.quilts;
          }
          break;
        }
        case "anchored":
          this.retire(record.root);
          break;
        case "dropped":
          this.unseal(record.root);
          break;
      }
    }
  }

  addWaiting(
    commitment: Commitment,
    proof: { doc?: InferenceProof; bytes?: Uint8Array },
    size: number,
    at: number,
  ): void {
    this.pending.set(commitment, { ...proof, size });
    this.waiting.push({ commitment, at, size, v2: proof.bytes !== undefined });
    if (proof.bytes === undefined) this.waitingBytes += size;
    this.backlogBytes += size;
  }

  seal(
    root: BatchRoot,
    commitments: Commitment[],
    salt?: Bytes32,
    bytes?: Uint8Array,
    plan?: QuiltPlan,
    built?: ProofBatchV2,
  ): SealedBatch {
    const members = new Set(commitments);
    const taken = this.waiting.filter((w) => members.has(w.commitment));
    this.waiting = this.waiting.filter((w) => !members.has(w.commitment));
    for (const w of taken) if (!w.v2) this.waitingBytes -= w.size;
    for (const c of commitments) {
      const proof = this.pending.get(c);
      if (!proof) throw new OutboxError(`journal: batch ${root} names proof ${c}, which the journal never accepted`);
      proof.root = root;
    }
    const batch: SealedBatch = {
      root,
      commitments,
      salt,
      bytes,
      plan,
      built,
      attempts: 0,
      nextAt: 0,
      quarantined: false,
    };
    this.sealed.set(root, batch);
    return batch;
  }

  /** Takes a sealed batch apart (its proofs wait again, at the front, until the replacement batch records follow). */
  unseal(root: BatchRoot): void {
    const batch = this.sealed.get(root);
    if (!batch) return;
    this.sealed.delete(root);
    if (batch.quarantined) this.quarantinedCount--;
    const back = batch.commitments.map((commitment) => {
      const proof = this.pending.get(commitment)!;
      proof.root = undefined;
      if (proof.bytes === undefined) this.waitingBytes += proof.size;
      return { commitment, at: 0, size: proof.size, v2: proof.bytes !== undefined };
    });
    this.waiting = [...back, ...this.waiting];
  }

  /** An anchored batch leaves memory: its documents are on Walrus and its record in the index. */
  retire(root: BatchRoot): void {
    const batch = this.sealed.get(root);
    if (!batch) return;
    this.sealed.delete(root);
    if (batch.quarantined) this.quarantinedCount--;
    for (const c of batch.commitments) {
      this.backlogBytes -= this.pending.get(c)?.size ?? 0;
      this.pending.delete(c);
    }
  }

  /** The records that rebuild the current state: the backlog only (anchored batches live in the index). */
  liveRecords(): OutboxRecord[] {
    const records: OutboxRecord[] = [];
    for (const batch of this.sealed.values()) {
      for (const c of batch.commitments) records.push(this.proofRecord(c));
      records.push({
        t: "batch",
        root: batch.root,
        commitments: batch.commitments,
        ...(batch.salt ? { salt: batch.salt } : {}),
        ...(batch.plan ? { quilts: batch.plan } : {}),
      });
      if (batch.blobId) {
        records.push({
          t: "stored",
          root: batch.root,
          blobId: batch.blobId,
          ...(batch.quilts ? { quilts: batch.quilts } : {}),
          ...(batch.endEpoch !== undefined ? { endEpoch: batch.endEpoch } : {}),
        });
      }
    }
    for (const w of this.waiting) records.push(this.proofRecord(w.commitment));
    return records;
  }

  private proofRecord(commitment: Commitment): OutboxRecord {
    const proof = this.pending.get(commitment)!;
    return proof.bytes ? { t: "proof2", commitment, bytes: proof.bytes } : { t: "proof", doc: proof.doc! };
  }
}

/** Bytes a proof adds to a batch blob: its JSON (as canonical JSON would print it) plus its tree nodes. */
function proofSize(doc: InferenceProof): number {
  return Buffer.byteLength(JSON.stringify(doc)) + PER_PROOF_OVERHEAD;
}
