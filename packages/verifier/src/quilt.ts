import {
  decodeBatchQuilt,
  decodeAnyProof,
  inclusionOf,
  provesBatchInclusion,
  StrataError,
  type BatchRoot,
  type BlobId,
  type Bytes32,
  type Commitment,
} from "@strata/core";
import { decodeQuilt, QuiltFormatError, quiltPatchId } from "@strata/walrus";
import { fail, pass, type Anchor, type CheckResult } from "./checks";
import { plural, type Outcome, type VerifierContext } from "./context";
import { bytes, short, type Location, type StepValue } from "./report";
import { readBlob } from "./blob";
import { epochText, expiredValues, notFoundVerdict } from "./lease";
import {
  ANNOUNCED_SPOT_CHECK,
  spotCheckStored,
  type CheckedBatch,
  type Document,
  type Located,
  type ProofSource,
} from "./sources";
import { QUILT_INDEX_IDENTIFIER, type IndexLookup, type PatchLookup } from "./patches";

/**
 * # Proofs in quilts (batch format v2)
 *
 * A v2 batch is one quilt or several (`anchorBatch` with one quilt, `anchorQuilts` / `announceQuilts` with more): each
 * proof is a patch whose identifier is its commitment, and each quilt has an index patch (`strata-index`) with its
 * subtree and the path from the subtree's root to the anchored root. One proof is verified from its patch alone plus
 * the index patch (or the Merkle proof a node gave): the patch's integrity is its commitment, which must be the one
 * asked, and the commitment's inclusion under the anchored root (`ProofRegistry.isIncluded` for a stored root). The
 * quilt's Blob ID is not recomputed on this path: nothing in the proof's check depends on the other patches. The
 * `full` audit reads each quilt whole as well, checks it against its Blob ID and the patches against it.
 */

/** What the blob step of a quilt source read. */
export interface QuiltFetched {
  quiltId: BlobId;
  /** Its position among the quilts of the root. */
  quilt: number;
  /** The proof's patch (its bytes kept even when they failed the read's check: the later steps say what is wrong). */
  patch: Extract<PatchLookup, { found: true }>;
  /** The node's Merkle proof for the commitment (a hint, checked), when it gave one and the patch was its. */
  nodeProof?: Bytes32[];
  /** The patch ID, when known for sure (read by the node's patch ID, or computed from the whole quilt). */
  patchId?: string;
  /** The proof's position in its quilt, when the quilt's index patch listed it. */
  position?: number;
  /** The whole quilt's size, when the `full` audit read it. */
  quiltBytes?: number;
}

/**
 * A proof in a quilt of a stored (`anchorBatch` of one quilt, `anchorQuilts`) or announced root: read from its patch,
 * its inclusion proven by the quilt's index patch or the node's Merkle proof (on-chain too when the root is stored).
 */
export class QuiltSource implements ProofSource<QuiltFetched> {
  readonly kind: "stored-quilts" | "announced-quilts";
  readonly documentName: string;

  constructor(
    readonly anchor: Anchor,
    private readonly ctx: VerifierContext,
    /** Whether the root is stored (then `ProofRegistry.isIncluded` checks inclusion on-chain). */
    private readonly stored: boolean,
    /** Read each quilt whole too and check it against its Blob ID. */
    private readonly full: boolean,
  ) {
    this.kind = stored ? "stored-quilts" : "announced-quilts";
    this.documentName = "the proof's patch";
  }

  get root(): BatchRoot {
    return this.anchor.root!;
  }

  get quilts(): BlobId[] {
    return this.anchor.blobIds ?? [this.anchor.blobId];
  }

  async read(located: Located, commitment: Commitment): Promise<Outcome<QuiltFetched>> {
    const { quilts } = this;
    const values: Record<string, StepValue> = { root: this.root, quilts: quilts.length, commitment };
    const notes: string[] = [];
    let chosen:
      | { quilt: number; patch: Extract<PatchLookup, { found: true }>; nodeProof?: Bytes32[]; position?: number }
      | undefined;

    // The node's hint: the patch by its patch ID, when it is one of this root's quilts.
    const hint = located.kind === "batch" ? located.hint : undefined;
    if (hint?.patchId !== undefined) {
      const quilt = hint.quiltId === undefined ? -1 : quilts.indexOf(hint.quiltId);
      if (quilt < 0) {
        notes.push(`the node's patch ID ${hint.patchId} is not in a quilt of this root (ignored)`);
      } else {
        const patch = await this.ctx.proofPatch(quilts[quilt], commitment, hint.patchId);
        if (patch.found && patch.rejected === undefined) {
          chosen = { quilt, patch, ...(hint.merkleProof === undefined ? {} : { nodeProof: hint.merkleProof }) };
        } else {
          notes.push(
            `the node's patch ID ${hint.patchId} ${patch.found ? `served another document (${patch.rejected})` : `was not found (${patch.why})`}; read by identifier instead`,
          );
        }
      }
    }

    // Else: the quilt whose index patch lists the commitment (index patches are small), then the patch by identifier.
    if (chosen === undefined) {
      let quilt = -1;
      let position: number | undefined;
      for (let k = 0; k < quilts.length && quilt < 0; k++) {
        const index = await this.ctx.quiltIndex(quilts[k], this.root);
        const at = index.found ? (index.view?.values.indexOf(commitment) ?? -1) : -1;
        if (at >= 0) [quilt, position] = [k, at];
      }
      // No index lists it (an index may lie by omission): look for the patch in each quilt, by identifier.
      const candidates = quilt >= 0 ? [quilt] : quilts.map((_, k) => k);
      const missing: string[] = [];
      for (const k of candidates) {
        const patch = await this.ctx.proofPatch(quilts[k], commitment);
        if (patch.found) {
          chosen = { quilt: k, patch, ...(position === undefined ? {} : { position }) };
          break;
        }
        missing.push(patch.why);
      }
      if (chosen === undefined) {
        const where =
          quilts.length === 1
            ? `quilt ${quilts[0]}`
            : `any of the ${quilts.length} quilts of ${short(this.root)} (${quilts.join(", ")})`;
        // Not found in any quilt: an expired lease says why, by the chain's record (the earliest end of the quilts).
        const now = await this.ctx.epochNow();
        const candidateQuilt = quilts[candidates[0]];
        const verdict = notFoundVerdict("quilt", candidateQuilt, this.anchor.endEpoch, now);
        if ("expired" in verdict) {
          return fail(verdict.expired.message, { ...values, ...expiredValues(verdict.expired) });
        }
        if (this.anchor.endEpoch !== undefined && !("error" in now)) {
          return fail(
            `no patch ${short(commitment)} in ${where}: ${missing[0] ?? "not found"}; by the record the quilts' lease ` +
              `is not over (stored until ${epochText(now, this.anchor.endEpoch)}, current epoch ${now.epoch}): the ` +
              "quilt was never stored or was deleted, or this root does not hold the proof: wrong root?",
            { ...values, ...verdict.values },
          );
        }
        return fail(
          `no patch ${short(commitment)} in ${where}: ${missing[0] ?? "not found"} (the quilt was never stored, ` +
            "expired or was deleted, or this root does not hold the proof: wrong root?)",
          values,
        );
      }
    }

    const { quilt, patch } = chosen;
    const quiltId = quilts[quilt];
    Object.assign(values, {
      quiltId,
      quilt,
      patchId: patch.patchId ?? null,
      patchBytes: patch.bytes.byteLength,
      inclusionFrom: chosen.nodeProof === undefined ? "index-patch" : "node",
    });
    const fetched: QuiltFetched = {
      quiltId,
      quilt,
      patch,
      ...(patch.patchId === undefined ? {} : { patchId: patch.patchId }),
      ...(chosen.position === undefined ? {} : { position: chosen.position }),
      ...(chosen.nodeProof === undefined ? {} : { nodeProof: chosen.nodeProof }),
    };
    if (this.full) {
      const audit = await this.audit(quiltId, commitment, patch.bytes);
      if (typeof audit === "string") return fail(audit, values);
      fetched.quiltBytes = audit.size;
      fetched.patchId = audit.patchId;
      Object.assign(values, { quiltBytes: audit.size, patchId: audit.patchId });
    }
    const of = quilts.length > 1 ? ` (quilt ${quilt + 1} of ${quilts.length})` : "";
    const by = patch.patchId !== undefined ? "by the node's patch ID" : "by quilt ID and identifier";
    const integrity = this.full
      ? `; the whole quilt (${bytes(fetched.quiltBytes!)}) was read too, its Blob ID recomputed and matching, and the ` +
        "patch is the quilt's"
      : "; its integrity is its commitment (checked below), the quilt's Blob ID is not recomputed";
    return {
      ...pass(
        `patch ${fetched.patchId ?? short(commitment)} (${bytes(patch.bytes.byteLength)}) read from quilt ${quiltId}${of} ` +
          `${by}${integrity}${notes.length ? `; ${notes.join("; ")}` : ""}`,
        values,
      ),
      value: fetched,
    };
  }

  where(fetched: QuiltFetched): Location {
    return {
      blobId: fetched.quiltId,
      ...(fetched.quiltBytes === undefined ? {} : { blobSize: fetched.quiltBytes }),
      identifier: fetched.patch.identifier,
      ...(fetched.patchId === undefined ? {} : { patchId: fetched.patchId }),
      proofBytes: fetched.patch.bytes.byteLength,
      quilt: fetched.quilt,
      quilts: this.quilts.length,
      inclusionFrom: fetched.nodeProof === undefined ? "index-patch" : "node",
      full: this.full,
    };
  }

  document(fetched: QuiltFetched, commitment: Commitment): Outcome<Document> {
    const { patch } = fetched;
    let raw: unknown;
    try {
      raw = decodeAnyProof(patch.bytes);
    } catch (error) {
      if (!(error instanceof StrataError)) throw error;
      return fail(
        `the patch ${short(commitment)} of quilt ${fetched.quiltId} is not a proof document: ${error.message} ` +
          "(the aggregator served altered bytes, or the quilt holds something else under this identifier)",
        { patchBytes: patch.bytes.byteLength },
      );
    }
    const version = (raw as { version?: unknown }).version;
    const values = { version: typeof version === "number" ? version : null, patchBytes: patch.bytes.byteLength };
    return {
      ...pass(`a version ${String(version)} inference proof document, ${bytes(patch.bytes.byteLength)}`, values),
      value: { raw, ...(fetched.position === undefined ? {} : { index: fetched.position }) },
    };
  }

  inclusionSkip(): undefined {
    return undefined;
  }

  async inclusion(
    fetched: QuiltFetched,
    commitment: Commitment,
    wantedIndex: number | undefined,
  ): Promise<Outcome<number | undefined>> {
    const { root, anchor, quilts } = this;
    const { quiltId, quilt } = fetched;
    const values: Record<string, StepValue> = {
      root,
      quiltId,
      quilt,
      requestedIndex: wantedIndex ?? null,
      anchoredCount: anchor.count ?? null,
    };
    const notes: string[] = [];
    if (fetched.nodeProof !== undefined && wantedIndex === undefined) {
      const proof = fetched.nodeProof;
      const offChain = provesBatchInclusion(root, commitment, proof);
      if (offChain) {
        values.from = "node";
        return this.proven(undefined, commitment, proof, offChain, values, "the node's", notes);
      }
      notes.push("the node's Merkle proof does not verify off-chain (ignored: the index patch was read instead)");
    }
    const index: IndexLookup = await this.ctx.quiltIndex(quiltId, root);
    values.from = "index-patch";
    if (!index.found) {
      // A known quilt whose index patch the aggregator fails to serve: the aggregator is unreachable.
      if (index.serverError !== undefined) throw index.serverError;
      return fail(
        `the index patch ${QUILT_INDEX_IDENTIFIER} of quilt ${quiltId} could not be read: ${index.why}`,
        values,
      );
    }
    values.indexBytes = index.bytes.byteLength;
    const view = index.view;
    if (view === undefined) {
      return fail(
        `the index patch ${QUILT_INDEX_IDENTIFIER} of quilt ${quiltId} is not a batch index: ${index.rejected}`,
        values,
      );
    }
    Object.assign(values, {
      indexRoot: view.root,
      indexQuilt: view.quilt,
      indexQuilts: view.quilts,
      indexCount: view.count,
      quiltProofs: view.values.length,
    });
    const problems: string[] = index.rejected === undefined ? [] : [index.rejected];
    if (view.quilts !== quilts.length) {
      problems.push(`it says the root has ${plural(view.quilts, "quilt")}, the chain records ${quilts.length}`);
    }
    if (view.quilt !== quilt) problems.push(`it says it is quilt ${view.quilt}, the chain has it at ${quilt}`);
    if (view.count !== anchor.count) {
      problems.push(`it says the root covers ${plural(view.count, "proof")}, the chain records ${anchor.count}`);
    }
    const position = view.values.indexOf(commitment);
    values.index = position < 0 ? null : position;
    if (position < 0) problems.push(`it does not list ${short(commitment)}`);
    if (problems.length > 0) {
      return fail(
        `the index patch of quilt ${quiltId} does not match the anchor of root ${short(root)}: ${problems.join("; ")}`,
        values,
      );
    }
    if (wantedIndex !== undefined && wantedIndex !== position) {
      const there = view.values[wantedIndex];
      return fail(
        `index ${wantedIndex} of quilt ${quiltId} ${there === undefined ? "does not exist" : `holds ${short(there)}`}, ` +
          `not ${short(commitment)} (which is at index ${position}): wrong index`,
        { ...values, leafAtRequestedIndex: there ?? null },
      );
    }
    const proof = view.proofOf(commitment);
    const offChain = provesBatchInclusion(root, commitment, proof);
    return this.proven(position, commitment, proof, offChain, values, "the index patch's", notes);
  }

  /** The inclusion step's verdict on `proof` (checked off-chain: `offChain`; on-chain too for a stored root). */
  private async proven(
    position: number | undefined,
    commitment: Commitment,
    proof: Bytes32[] | null,
    offChain: boolean,
    values: Record<string, StepValue>,
    whose: string,
    notes: string[],
  ): Promise<Outcome<number | undefined>> {
    const { root } = this;
    const onChain =
      this.stored && proof !== null
        ? await this.ctx.client.proofs.isIncluded(this.anchor.node, root, commitment, proof)
        : null;
    Object.assign(values, { offChain, onChain, proofLength: proof?.length ?? null });
    const noted = notes.length ? `; ${notes.join("; ")}` : "";
    const leaf = position === undefined ? "" : `leaf ${position} of its quilt; `;
    if (!offChain || onChain === false) {
      return fail(
        `${whose} Merkle proof does not prove ${short(commitment)} under the ${this.stored ? "anchored" : "announced"} ` +
          `root ${short(root)} (off-chain ${offChain}, ProofRegistry.isIncluded ${onChain ?? "n/a: announced"}): ` +
          `the index patch lies, or the proof is not under this root${noted}`,
        values,
      );
    }
    const how = this.stored
      ? "verifies off-chain and with ProofRegistry.isIncluded"
      : "verifies off-chain under the announced root (announced, not stored: no on-chain inclusion check exists for it)";
    return {
      ...pass(`${leaf}${whose} ${proof!.length}-hash Merkle proof (subtree ++ path) ${how}${noted}`, values),
      value: position,
    };
  }

  /** A whole batch's on-chain spot check (stored roots; an announced one has none). */
  spotCheck(batch: CheckedBatch): Promise<CheckResult> {
    return this.stored ? spotCheckStored(this.ctx, this.anchor, batch) : Promise.resolve(ANNOUNCED_SPOT_CHECK);
  }

  /** The `full` audit: the quilt read whole (its Blob ID recomputed) and the proof's patch cut from it; its size. */
  private async audit(
    quiltId: BlobId,
    commitment: Commitment,
    patch: Uint8Array,
  ): Promise<{ size: number; patchId: string } | string> {
    const whole = await this.ctx.fetchReferenced(quiltId, false);
    if (typeof whole === "string") return `the whole quilt ${quiltId} could not be read for the full audit: ${whole}`;
    let contents: Uint8Array;
    let patchId: string;
    try {
      const quilt = decodeQuilt(whole.bytes, { nShards: this.ctx.walrus.shards });
      const entry = quilt.patches.find((p) => p.identifier === commitment);
      if (entry === undefined)
        return `the quilt ${quiltId} (Blob ID recomputed and matching) has no patch ${commitment}`;
      contents = quilt.patch(entry);
      patchId = quiltPatchId(quiltId, entry);
    } catch (error) {
      if (!(error instanceof StrataError)) throw error;
      const what = error instanceof QuiltFormatError ? "is not a well-formed quilt" : "has no such patch";
      return `the quilt ${quiltId} (Blob ID recomputed and matching) ${what}: ${error.message}`;
    }
    return equal(contents, patch)
      ? { size: whole.bytes.byteLength, patchId }
      : `the patch ${short(commitment)} served alone differs from the one in quilt ${quiltId} read whole (Blob ID ` +
          "recomputed and matching): the aggregator serves altered patches";
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

// ---------------------------------------------------------------------------------------------------------------------
// Whole batches in quilts

/** One quilt of a root, read whole. */
export interface WholeQuilt {
  quiltId: BlobId;
  bytes: Uint8Array;
}

/** The blob step of a whole batch in quilts: each quilt read once, whole, its Blob ID recomputed. */
export async function readQuilts(ctx: VerifierContext, source: QuiltSource): Promise<Outcome<WholeQuilt[]>> {
  const quilts: WholeQuilt[] = [];
  const values: Record<string, StepValue> = { quilts: source.quilts.length };
  for (const [k, quiltId] of source.quilts.entries()) {
    const read = await readBlob(ctx, { ...source.anchor, blobId: quiltId }, "caller-root", false, "quilt");
    if (read.status !== "pass") {
      return fail(`quilt ${k + 1} of ${source.quilts.length}: ${read.detail}`, { ...values, ...read.values });
    }
    quilts.push({ quiltId, bytes: read.value!.bytes });
  }
  const total = quilts.reduce((n, q) => n + q.bytes.byteLength, 0);
  return {
    ...pass(
      `${plural(quilts.length, "quilt")} read whole (${bytes(total)}), each once; every Blob ID recomputed from the ` +
        "bytes is the anchored one",
      { ...values, size: total },
    ),
    value: quilts,
  };
}

/**
 * The document step of a whole batch in quilts: every quilt well formed, its index patch a batch index of this root
 * (its place among the quilts, the count), every other patch a proof that commits to its identifier and is listed by
 * the index (and every listed commitment a patch), the counts adding up to the anchored one.
 */
export function decodeQuiltBatch(
  ctx: VerifierContext,
  source: QuiltSource,
  quilts: readonly WholeQuilt[],
): Outcome<CheckedBatch> {
  const { root, anchor } = source;
  const batch: CheckedBatch = { count: 0, proofs: [], commitments: [], inclusions: [] };
  const values: Record<string, StepValue> = { quilts: quilts.length, anchoredCount: anchor.count ?? null, root };
  for (const [k, { quiltId, bytes: whole }] of quilts.entries()) {
    const where = `quilt ${k + 1} of ${quilts.length} (${quiltId})`;
    let contents: ReturnType<typeof decodeBatchQuilt>;
    try {
      const quilt = decodeQuilt(whole, { nShards: ctx.walrus.shards });
      // core's strict whole-quilt read: the index patch, every proof patch committing to its identifier, none else.
      contents = decodeBatchQuilt(quilt.patches.map((p) => ({ identifier: p.identifier, contents: quilt.patch(p) })));
    } catch (error) {
      if (error instanceof StrataError) return fail(`${where} is not a valid batch quilt: ${error.message}`, values);
      throw error;
    }
    const { index, proofs } = contents;
    const problems: string[] = [];
    if (index.root !== root) problems.push(`it declares root ${index.root}`);
    if (index.quilt !== k) problems.push(`it says it is quilt ${index.quilt}`);
    if (index.quilts !== quilts.length) problems.push(`it says the root has ${plural(index.quilts, "quilt")}`);
    if (index.count !== anchor.count) problems.push(`it says the root covers ${plural(index.count, "proof")}`);
    if (problems.length > 0) {
      return fail(`the index patch of ${where} does not match the anchor: ${problems.join("; ")}`, values);
    }
    for (const [i, commitment] of index.commitments.entries()) {
      batch.proofs.push(proofs[i]);
      batch.commitments.push(commitment);
      batch.inclusions.push({ proof: inclusionOf(index, commitment).proof });
    }
    batch.count += index.commitments.length;
  }
  values.count = batch.count;
  if (batch.count !== anchor.count) {
    return fail(`the quilts hold ${batch.count} proofs but the chain records ${anchor.count}`, values);
  }
  return {
    ...pass(
      `${batch.count} proofs in ${plural(quilts.length, "quilt")}, each a valid patch committing to its identifier and ` +
        "listed by its quilt's index patch; the indexes are this root's",
      values,
    ),
    value: batch,
  };
}
