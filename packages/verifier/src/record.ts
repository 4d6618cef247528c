import { blobIdToBytes32, StrataError, type BatchRoot, type BlobId, type Commitment } from "@strata/core";
import { fail, pass, type Anchor } from "./checks";
import { plural, type Outcome, type VerifierContext } from "./context";
import { ServiceUnreachableError } from "./errors";
import { isoTime, short, type StepValue } from "./report";
import { QuiltSource } from "./quilt";
import {
  AnnouncedBatchSource,
  SingleAnchorSource,
  StoredBatchSource,
  type NodeHint,
  type ProofSource,
} from "./sources";

/**
 * The chain-record step: reads the anchor a node made of a proof (its stored record and its event) and picks the
 * proof source that checks the rest, by how the node anchored it.
 */

/** The single anchor `node` made of `commitment`, as a source. */
export async function singleAnchorRecord(
  ctx: VerifierContext,
  commitment: Commitment,
  node: string,
): Promise<Outcome<ProofSource>> {
  const proofs = ctx.client.proofs;
  const [stored, reference] = await Promise.all([
    proofs.getProof(node, commitment),
    proofs.proofReference(commitment, node),
  ]);
  if (stored === null || reference === null) {
    return fail(`the ProofRegistry holds no single anchor of ${short(commitment)} by ${node}`, { commitment, node });
  }
  const anchor: Anchor = {
    kind: "single",
    node: stored.node,
    anchoredAt: stored.anchoredAt,
    ...blobIds(reference.blobId),
    blockNumber: reference.blockNumber,
    logIndex: reference.logIndex,
    txHash: reference.txHash,
    endEpoch: reference.endEpoch,
  };
  return {
    ...pass(
      `anchored singly by ${anchor.node} at ${isoTime(anchor.anchoredAt)} (block ${anchor.blockNumber}, ` +
        `tx ${short(anchor.txHash)}), blob ${anchor.blobId}`,
      anchorValues(anchor),
    ),
    value: new SingleAnchorSource(anchor, ctx),
  };
}

/**
 * The record of the batch `root` as `node` (the proof's signer) anchored or, failing that, announced it, as a stored
 * or an announced batch source. Another node's anchoring or announcement of the same root is never taken. An announced
 * batch has no stored record: its time is its block's, and its inclusion can only be checked off-chain.
 */
export async function batchRecord(
  ctx: VerifierContext,
  root: BatchRoot,
  node: string | undefined,
  options: { full: boolean; hint?: { commitment: Commitment; hint: NodeHint } },
): Promise<Outcome<StoredBatchSource | AnnouncedBatchSource | QuiltSource>> {
  const proofs = ctx.client.proofs;
  if (node === undefined) {
    const others = [...new Set((await proofs.batchReferences(root)).map((r) => r.node))];
    return fail(
      others.length === 0
        ? `no batch is anchored under root ${short(root)}: no such root was anchored: wrong root?`
        : `no readable blob under root ${short(root)} (referenced by ${others.join(", ")}) holds a proof that ` +
            "commits to this commitment, so its signer is unknown",
      { root },
    );
  }
  const [stored, reference] = await Promise.all([proofs.getBatch(node, root), proofs.batchReference(root, node)]);
  if (reference === null) {
    const others = [...new Set((await proofs.batchReferences(root)).map((r) => r.node))];
    return fail(
      `the batch ${short(root)} was not anchored or announced by the proof's signer ${node}` +
        (others.length ? ` (only by ${others.join(", ")}: a node anchors only the proofs it signed)` : ": wrong root?"),
      { root, node },
    );
  }
  if (stored !== null && !reference.anchored) {
    return fail(`the batch ${short(root)} is stored for ${node} but its BatchAnchored event is missing`, { root });
  }
  const announced = stored === null;
  const anchoredAt = stored?.anchoredAt ?? (await blockTime(ctx, reference.blockNumber));
  const anchor: Anchor = {
    kind: "batch",
    node,
    anchoredAt,
    ...blobIds(reference.blobId),
    blobIds: reference.blobIds,
    event: reference.event,
    blockNumber: reference.blockNumber,
    logIndex: reference.logIndex,
    txHash: reference.txHash,
    root,
    count: stored?.count ?? reference.count,
    announced,
    // The anchoring event's end epoch (the earliest of the batch's blobs), raised by the node's renewals.
    endEpoch: reference.endEpoch,
  };
  // A batch in quilts (v2): several quilts, or one blob that has a quilt index patch; else a v1 batch blob.
  const quilts =
    reference.blobIds.length > 1 ||
    reference.event.startsWith("Quilts") ||
    (await hintedQuilt(ctx, anchor, options.hint)) ||
    (await isQuilt(ctx, anchor));
  const blobs = quilts
    ? reference.blobIds.length === 1
      ? `quilt ${anchor.blobId}`
      : `${reference.blobIds.length} quilts (${reference.blobIds.join(", ")})`
    : `blob ${anchor.blobId}`;
  return {
    ...pass(
      `batch ${short(root)} of ${plural(anchor.count!, "proof")} ${announced ? `announced (${reference.event}: no stored record)` : `anchored (${reference.event})`} ` +
        `by ${anchor.node} at ${isoTime(anchor.anchoredAt)} (block ${anchor.blockNumber}, tx ${short(anchor.txHash)}), ` +
        blobs,
      { ...anchorValues(anchor), event: reference.event, quilts: quilts ? reference.blobIds.length : 0 },
    ),
    value: quilts
      ? new QuiltSource(anchor, ctx, !announced, options.full)
      : announced
        ? new AnnouncedBatchSource(anchor, ctx)
        : new StoredBatchSource(anchor, ctx),
  };
}

/** Whether the one blob of a batch is a quilt: its index patch is there (read once, small; see `patches.ts`). */
async function isQuilt(ctx: VerifierContext, anchor: Anchor): Promise<boolean> {
  return (await ctx.quiltIndex(anchor.blobId, anchor.root!)).found;
}

/**
 * Whether the node's hint proves the one blob of a batch a quilt: a patch read by the node's patch ID (which names the
 * quilt) served the proof (it commits to the commitment). Saves the index probe when the node's proof is used.
 */
async function hintedQuilt(
  ctx: VerifierContext,
  anchor: Anchor,
  hinted: { commitment: Commitment; hint: NodeHint } | undefined,
): Promise<boolean> {
  const { quiltId, patchId } = hinted?.hint ?? {};
  if (hinted === undefined || patchId === undefined || quiltId !== anchor.blobId) return false;
  const patch = await ctx.proofPatch(quiltId, hinted.commitment, patchId);
  return patch.found && patch.rejected === undefined;
}

async function blockTime(ctx: VerifierContext, blockNumber: number): Promise<number> {
  try {
    return await ctx.client.proofs.blockTime(blockNumber);
  } catch (error) {
    if (error instanceof StrataError) {
      throw new ServiceUnreachableError("chain", ctx.chainUrl, `block ${blockNumber} is unknown`, { cause: error });
    }
    throw error;
  }
}

/** An anchor's Blob ID, and its chain form for the report (`blobIdHex`, as the event carries it). */
function blobIds(blobId: BlobId): Pick<Anchor, "blobId" | "blobIdHex"> {
  return { blobId, blobIdHex: blobIdToBytes32(blobId) };
}

function anchorValues(anchor: Anchor): Record<string, StepValue> {
  return {
    kind: anchor.kind,
    announced: anchor.announced ?? false,
    node: anchor.node,
    anchoredAt: anchor.anchoredAt,
    anchoredAtIso: isoTime(anchor.anchoredAt),
    blockNumber: anchor.blockNumber,
    txHash: anchor.txHash,
    blobId: anchor.blobId,
    blobIdHex: anchor.blobIdHex,
    root: anchor.root ?? null,
    count: anchor.count ?? null,
    endEpoch: anchor.endEpoch ?? null,
  };
}
