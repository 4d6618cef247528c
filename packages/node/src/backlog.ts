import {
  proofCommitment,
  type BatchRoot,
  type BatchTree,
  type BlobId,
  type Bytes32,
  type Commitment,
  type InferenceProof,
} from "@strata/core";
import { OutboxError } from "./errors";

/** A record of the outbox journal. */
export type OutboxRecord =
  | { t: "proof"; doc: InferenceProof }
  | { t: "batch"; root: BatchRoot; commitments: Commitment[]; salt?: Bytes32 }
  | { t: "stored"; root: BatchRoot; blobId: BlobId }
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
  /** The batch blob on Walrus (base64url), once stored. */
  blobId?: BlobId;
  txHash?: string;
  block?: number;
}

/** A batch as the outbox reports it (sealed and on its way, or anchored). */
export interface BatchInfo {
  root: BatchRoot;
  commitments: Commitment[];
  salt?: Bytes32;
  blobId?: BlobId;
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
  attempts: number;
  nextAt: number;
  lastError?: string;
  quarantined: boolean;
  /** The anchoring transaction sent and not yet seen mined. */
  tx?: { hash: string; sentAt: number };
  tree?: BatchTree;
}

export interface PendingProof {
  doc: InferenceProof;
  /** Bytes the proof adds to a batch blob (estimate: its JSON plus its share of the tree). */
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
  waiting: { commitment: Commitment; at: number; size: number }[] = [];
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
          this.addWaiting(commitment, record.doc, proofSize(record.doc), now);
          break;
        }
        case "batch": {
          if (this.sealed.has(record.root)) break;
          this.seal(record.root, record.commitments, record.salt);
          break;
        }
        case "stored": {
          const batch = this.sealed.get(record.root);
          if (batch) batch.blobId = record.blobId;
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

  addWaiting(commitment: Commitment, doc: InferenceProof, size: number, at: number): void {
    this.pending.set(commitment, { doc, size });
    this.waiting.push({ commitment, at, size });
    this.waitingBytes += size;
    this.backlogBytes += size;
  }

  seal(root: BatchRoot, commitments: Commitment[], salt?: Bytes32, bytes?: Uint8Array): SealedBatch {
    const members = new Set(commitments);
    const taken = this.waiting.filter((w) => members.has(w.commitment));
    this.waiting = this.waiting.filter((w) => !members.has(w.commitment));
    for (const w of taken) this.waitingBytes -= w.size;
    for (const c of commitments) {
      const proof = this.pending.get(c);
      if (!proof) throw new OutboxError(`journal: batch ${root} names proof ${c}, which the journal never accepted`);
      proof.root = root;
    }
    const batch: SealedBatch = { root, commitments, salt, bytes, attempts: 0, nextAt: 0, quarantined: false };
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
      this.waitingBytes += proof.size;
      return { commitment, at: 0, size: proof.size };
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
      for (const c of batch.commitments) records.push({ t: "proof", doc: this.pending.get(c)!.doc });
      records.push({
        t: "batch",
        root: batch.root,
        commitments: batch.commitments,
        ...(batch.salt ? { salt: batch.salt } : {}),
      });
      if (batch.blobId) records.push({ t: "stored", root: batch.root, blobId: batch.blobId });
    }
    for (const w of this.waiting) records.push({ t: "proof", doc: this.pending.get(w.commitment)!.doc });
    return records;
  }
}

/** Bytes a proof adds to a batch blob: its JSON (as canonical JSON would print it) plus its tree nodes. */
function proofSize(doc: InferenceProof): number {
  return Buffer.byteLength(JSON.stringify(doc)) + PER_PROOF_OVERHEAD;
}
