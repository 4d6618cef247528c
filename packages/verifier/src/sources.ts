import { randomInt } from "node:crypto";
import {
  decodeProof,
  merkleProofAt,
  provesBatchInclusion,
  StrataError,
  type BatchRoot,
  type BlobId,
  type Bytes32,
  type Commitment,
  type AnyInferenceProof,
} from "@strata/core";
import { fail, pass, type Anchor, type CheckResult } from "./checks";
import { inspected, notABatch, plural, type FetchedBlob, type Outcome, type VerifierContext } from "./context";
import { short, type FoundBy, type Location, type StepValue } from "./report";
import { readBlob } from "./blob";

/**
 * # Proof sources
 *
 * Where an anchored proof's document lives and how its anchoring is checked, one strategy per way a node anchors:
 * a single anchor (`anchorProof`: one proof blob), a stored batch (`anchorBatch`: a batch blob whose root is stored, so
 * the chain checks inclusion) and an announced batch (`announceBatch`: an event only, inclusion checked off-chain).
 * The chain-record step (`record.ts`) reads the anchor and picks the source; the document and inclusion steps ask it.
 * A new way of anchoring (a quilt) is one more source.
 */

/**
 * Where the anchor of a commitment is, and by whom: the proof's signer (the `node` its document commits to), or
 * `undefined` when no readable copy of the proof named one (a caller's root whose blobs are all unreadable).
 */
export type Located =
  | { kind: "single"; foundBy: FoundBy; node: string }
  | { kind: "batch"; foundBy: FoundBy; root: BatchRoot; node: string | undefined; hint?: NodeHint };

/** Where a node says a proof in a quilt is (`GET /v1/proofs/:c`): hints, each checked before it is used. */
export interface NodeHint {
  quiltId?: BlobId;
  patchId?: string;
  merkleProof?: Bytes32[];
}

/** The document located for a commitment: the proof (unchecked for a batch) and its position. */
export interface Document {
  raw: unknown;
  index?: number;
}

/**
 * One way a proof is anchored: what holds it and how its inclusion is proven. `F` is what its blob step reads (a whole
 * blob, or a quilt's patches); the later steps get it back.
 */
export interface ProofSource<F = unknown> {
  readonly kind: "single-anchor" | "stored-batch" | "announced-batch" | "stored-quilts" | "announced-quilts";
  /** The anchor as the chain records it. */
  readonly anchor: Anchor;
  /** How the commitment step names the document it recomputes. */
  readonly documentName: string;
  /** The blob step: reads what holds the proof of `commitment` (located as `located` says). */
  read(located: Located, commitment: Commitment): Promise<Outcome<F>>;
  /** Where the proof was read from, for the report. */
  where(fetched: F): Location;
  /** The document step: the document of `commitment` in what was read. */
  document(fetched: F, commitment: Commitment): Outcome<Document>;
  /** The detail of a skipped inclusion step when the source has no inclusion to prove, else undefined. */
  inclusionSkip(wantedIndex: number | undefined): string | undefined;
  /** The inclusion step: the position of `commitment` in the blob, proven under the anchored root (or a skip). */
  inclusion(fetched: F, commitment: Commitment, wantedIndex: number | undefined): Promise<Outcome<number>>;
}

/** A whole batch as its verification checks it: every proof, its commitment and its Merkle proof under the root. */
export interface CheckedBatch {
  count: number;
  proofs: AnyInferenceProof[];
  commitments: Commitment[];
  inclusions: { proof: Bytes32[] }[];
}

/** A whole batch's on-chain spot check: one random proof through `ProofRegistry.isIncluded`. */
export async function spotCheckStored(ctx: VerifierContext, anchor: Anchor, batch: CheckedBatch): Promise<CheckResult> {
  const k = randomInt(batch.count);
  const included = await ctx.client.proofs.isIncluded(
    anchor.node,
    anchor.root!,
    batch.commitments[k],
    batch.inclusions[k].proof,
  );
  const values = { index: k, commitment: batch.commitments[k], onChain: included };
  return included
    ? pass(`ProofRegistry.isIncluded accepts proof #${k} (a random one) under the anchored root`, values)
    : fail(`ProofRegistry.isIncluded rejects proof #${k} under the anchored root`, values);
}

/** The spot check of an announced batch: there is none. */
export const ANNOUNCED_SPOT_CHECK: CheckResult = {
  status: "skip",
  detail:
    "the batch was announced, not stored: no on-chain inclusion check exists for it (each proof's " +
    "inclusion is checked off-chain below)",
  values: {},
};

/** A proof anchored singly: its blob is the proof document; there is no tree. */
export class SingleAnchorSource implements ProofSource<FetchedBlob> {
  readonly kind = "single-anchor";
  readonly documentName = "the document";

  constructor(
    readonly anchor: Anchor,
    private readonly ctx: VerifierContext,
  ) {}

  read(located: Located): Promise<Outcome<FetchedBlob>> {
    return readBlob(this.ctx, this.anchor, located.foundBy, false);
  }

  where(fetched: FetchedBlob): Location {
    const size = fetched.bytes.byteLength;
    return { blobId: this.anchor.blobId, blobSize: size, proofBytes: size };
  }

  document(fetched: FetchedBlob): Outcome<Document> {
    try {
      const doc = decodeProof(fetched.bytes);
      return {
        ...pass(`a version ${doc.version} inference proof document`, { version: doc.version }),
        value: { raw: doc },
      };
    } catch (error) {
      if (error instanceof StrataError) return fail(`the blob is not a proof document: ${error.message}`, {});
      throw error;
    }
  }

  inclusionSkip(wantedIndex: number | undefined): string {
    const ignored = wantedIndex === undefined ? "" : ` (the index ${wantedIndex} given does not apply)`;
    return `anchored singly: no batch, no Merkle proof${ignored}`;
  }

  inclusion(_fetched: FetchedBlob, _commitment: Commitment, wantedIndex: number | undefined): Promise<Outcome<number>> {
    return Promise.resolve({ status: "skip", detail: this.inclusionSkip(wantedIndex), values: {} });
  }
}

/** A proof in a batch blob (stored or announced): its document is a leaf of the blob's tree under the anchored root. */
export abstract class BatchSource implements ProofSource<FetchedBlob> {
  abstract readonly kind: "stored-batch" | "announced-batch";
  readonly documentName = "the batch's proof";

  constructor(
    readonly anchor: Anchor,
    protected readonly ctx: VerifierContext,
  ) {}

  get root(): BatchRoot {
    return this.anchor.root!;
  }

  read(located: Located): Promise<Outcome<FetchedBlob>> {
    return readBlob(this.ctx, this.anchor, located.foundBy, true);
  }

  where(fetched: FetchedBlob): Location {
    return { blobId: this.anchor.blobId, blobSize: fetched.bytes.byteLength };
  }

  document(fetched: FetchedBlob, commitment: Commitment): Outcome<Document> {
    const container = inspected(fetched);
    if (container === undefined) return fail(`the blob is not a proof batch document: ${notABatch(fetched)}`, {});
    const index = container.leaves.findIndex((leaf) => leaf.commitment === commitment);
    const values = { version: container.version, proofs: container.proofs.length, declaredRoot: container.root };
    if (index < 0) {
      // No document to check further; the inclusion step says why.
      return {
        ...pass(`a version ${container.version} proof batch of ${container.proofs.length} proofs`, values),
        value: { raw: undefined },
      };
    }
    return {
      ...pass(`a version ${container.version} proof batch of ${plural(container.proofs.length, "proof")}`, values),
      value: { raw: container.proofs[index], index },
    };
  }

  inclusionSkip(): undefined {
    return undefined;
  }

  async inclusion(
    fetched: FetchedBlob,
    commitment: Commitment,
    wantedIndex: number | undefined,
  ): Promise<Outcome<number>> {
    const { anchor, root } = this;
    // The document step passed: the blob is a batch document.
    const container = inspected(fetched)!;
    const index = container.leaves.findIndex((leaf) => leaf.commitment === commitment);
    const values: Record<string, StepValue> = {
      root,
      index: index < 0 ? null : index,
      requestedIndex: wantedIndex ?? null,
      anchoredCount: anchor.count ?? null,
      blobCount: container.leaves.length,
    };
    if (index < 0) {
      return fail(
        `the batch ${short(root)} (${plural(container.leaves.length, "proof")}) does not hold ${short(commitment)}: ` +
          "wrong root?",
        values,
      );
    }
    if (anchor.count !== container.leaves.length) {
      return fail(
        `the chain records ${plural(anchor.count ?? 0, "proof")} under ${short(root)} but the blob holds ` +
          container.leaves.length,
        values,
      );
    }
    if (wantedIndex !== undefined && wantedIndex !== index) {
      const there = container.leaves[wantedIndex]?.commitment;
      const proof =
        there === undefined ? null : merkleProofAt(container.nodes, container.leaves[wantedIndex].treeIndex);
      const { onChain, words } = await this.wrongIndexProof(commitment, proof);
      return fail(
        `index ${wantedIndex} of batch ${short(root)} ${there === undefined ? "does not exist" : `holds ${short(there)}`}` +
          `, not ${short(commitment)} (which is at index ${index}); the Merkle proof for index ${wantedIndex} ` +
          `${words}: wrong index`,
        { ...values, leafAtRequestedIndex: there ?? null, onChain },
      );
    }
    const proof = merkleProofAt(container.nodes, container.leaves[index].treeIndex);
    const offChain = provesBatchInclusion(root, commitment, proof);
    return this.proven(index, container.leaves.length, commitment, proof, offChain, values);
  }

  /** What the Merkle proof of a wrong index does under this source's root (`words` completes the detail). */
  protected abstract wrongIndexProof(
    commitment: Commitment,
    proof: Bytes32[] | null,
  ): Promise<{ onChain: boolean; words: string }>;

  /** The inclusion step's verdict on the proof of leaf `index`, checked off-chain (`offChain`). */
  protected abstract proven(
    index: number,
    leaves: number,
    commitment: Commitment,
    proof: Bytes32[] | null,
    offChain: boolean,
    values: Record<string, StepValue>,
  ): Promise<Outcome<number>>;

  /** A whole batch's on-chain spot check (`verifyBatch`): one random proof against the chain, where it can check. */
  abstract spotCheck(batch: CheckedBatch): Promise<CheckResult>;
}

/** A batch anchored with `anchorBatch`: its root is stored, and `ProofRegistry.isIncluded` proves inclusion. */
export class StoredBatchSource extends BatchSource {
  readonly kind = "stored-batch";

  private isIncluded(commitment: Commitment, proof: readonly Bytes32[]): Promise<boolean> {
    return this.ctx.client.proofs.isIncluded(this.anchor.node, this.root, commitment, proof);
  }

  protected async wrongIndexProof(commitment: Commitment, proof: Bytes32[] | null) {
    const onChain = proof === null ? false : await this.isIncluded(commitment, proof);
    return { onChain, words: onChain ? "unexpectedly verifies" : "fails ProofRegistry.isIncluded" };
  }

  protected async proven(
    index: number,
    leaves: number,
    commitment: Commitment,
    proof: Bytes32[] | null,
    offChain: boolean,
    values: Record<string, StepValue>,
  ): Promise<Outcome<number>> {
    const onChain = proof === null ? false : await this.isIncluded(commitment, proof);
    Object.assign(values, { offChain, onChain, proofLength: proof?.length ?? null });
    if (!offChain || !onChain) {
      return fail(
        `the Merkle proof of index ${index} from the stored tree does not prove ${short(commitment)} under the ` +
          `anchored root ${short(this.root)} (off-chain ${offChain}, ProofRegistry.isIncluded ${onChain})`,
        values,
      );
    }
    return {
      ...pass(
        `leaf ${index} of ${leaves}; its ${proof!.length}-hash Merkle proof verifies off-chain and ` +
          "with ProofRegistry.isIncluded",
        values,
      ),
      value: index,
    };
  }

  spotCheck(batch: CheckedBatch): Promise<CheckResult> {
    return spotCheckStored(this.ctx, this.anchor, batch);
  }
}

/** A batch only announced (`announceBatch`): nothing is stored, so inclusion is proven off-chain alone. */
export class AnnouncedBatchSource extends BatchSource {
  readonly kind = "announced-batch";

  protected wrongIndexProof(): Promise<{ onChain: boolean; words: string }> {
    return Promise.resolve({ onChain: false, words: "is for another leaf" });
  }

  protected proven(
    index: number,
    leaves: number,
    commitment: Commitment,
    proof: Bytes32[] | null,
    offChain: boolean,
    values: Record<string, StepValue>,
  ): Promise<Outcome<number>> {
    // BatchAnnounced stores nothing: no on-chain inclusion check exists for it; the announced root is the reference.
    Object.assign(values, { offChain, onChain: null, proofLength: proof?.length ?? null });
    if (!offChain) {
      return Promise.resolve(
        fail(
          `the Merkle proof of index ${index} from the stored tree does not prove ${short(commitment)} under the ` +
            `announced root ${short(this.root)} (checked off-chain; an announced batch has no on-chain inclusion check)`,
          values,
        ),
      );
    }
    return Promise.resolve({
      ...pass(
        `leaf ${index} of ${leaves}; its ${proof!.length}-hash Merkle proof verifies off-chain under ` +
          "the announced root (the batch was announced, not stored: no on-chain inclusion check exists for it)",
        values,
      ),
      value: index,
    });
  }

  spotCheck(): Promise<CheckResult> {
    return Promise.resolve(ANNOUNCED_SPOT_CHECK);
  }
}
