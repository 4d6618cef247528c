import { getAddress } from "ethers";
import {
  decodeAnyProof,
  decodeProof,
  isBytes32Hex,
  StrataError,
  toBatchRoot,
  type BatchReference,
  type BatchRoot,
  type BlobId,
  type BlockRange,
  type Bytes32,
  type Commitment,
} from "@strata/core";
import { isQuiltPatchId, parseQuiltPatchId } from "@strata/walrus";
import { NodeApiError, NodeClient, NodeResponseError, NodeUnreachableError, type ProofStatus } from "@strata/devkit";
import { epochText } from "./lease";
import { fail, pass } from "./checks";
import { inspected, plural, signerOf, type Outcome, type VerifierContext } from "./context";
import { short, type StepValue } from "./report";
import type { Located, NodeHint } from "./sources";

/** What a caller says about where a proof is: its batch root, and a node to ask (`false`: none). */
export interface LocateOptions {
  nodeUrl?: string | false;
}

/**
 * The locate step: finds where the anchor of a commitment is, and who signed the proof (see {@link LocateStep.locate}).
 * Its reads go through the registry clients (single anchors, batch references, the newest-first batch search) and the
 * verifier's blob cache; a node's answer is a hint, checked like any other.
 */
export class LocateStep {
  constructor(
    private readonly ctx: VerifierContext,
    /** The block range of the newest-first batch search. */
    private readonly blockRange: BlockRange,
  ) {}

  /**
   * Finds the anchor of `commitment` made by its signer: the `node` of the proof document, read from any copy that
   * commits to it. Anchors are keyed by node, and any admitted node may anchor a copy of a public proof or re-package
   * it in a batch of its own, so only the signer's anchors count: single anchors (`ProofAnchored` filtered on the
   * signer's topic), the caller's root or the node's hint (as the signer referenced it), else a scan of the newest
   * `BatchAnchored` and `BatchAnnounced` events (filtered on the signer once it is known).
   */
  async locate(commitment: Commitment, root: BatchRoot | undefined, options: LocateOptions): Promise<Outcome<Located>> {
    const notes: string[] = [];
    if (root !== undefined) {
      // No copy that commits to it names no signer: the root's anchoring node then, and later steps say what is wrong.
      const signer = (await this.signerUnderRoot(root, commitment, notes)) ?? (await this.anchoringNode(root));
      return {
        ...pass(`batch root ${short(root)} given by the caller`, {
          foundBy: "caller-root",
          root,
          signer: signer ?? null,
        }),
        value: { kind: "batch", foundBy: "caller-root", root, node: signer },
      };
    }
    const singles = (await this.ctx.client.proofs.proofReferences(commitment)).slice(
      0,
      this.ctx.settings.maxScanEvents,
    );
    let signer: string | undefined;
    for (const reference of singles) {
      signer = await this.signerInProofBlob(reference.blobId, commitment, notes);
      if (signer !== undefined) break;
    }
    if (signer !== undefined && singles.some((r) => r.node === signer)) {
      return {
        ...pass(`anchored singly by its signer ${short(signer)} (ProofAnchored, filtered on the node)`, {
          foundBy: "single-anchor",
          root: null,
          signer,
        }),
        value: { kind: "single", foundBy: "single-anchor", node: signer },
      };
    }
    if (signer !== undefined) {
      const others = [...new Set(singles.map((r) => r.node))].join(", ");
      notes.push(`anchored singly only by other nodes (${others}), not by its signer ${signer}`);
    }
    const nodeUrl =
      options.nodeUrl === false ? undefined : (options.nodeUrl?.replace(/\/+$/, "") ?? this.ctx.settings.nodeUrl);
    if (nodeUrl !== undefined) {
      const hint = await this.askNode(nodeUrl, commitment);
      if (hint.root !== undefined) {
        const inPatch =
          hint.hint?.patchId !== undefined && hint.hint.quiltId !== undefined
            ? await this.signerInPatch(hint.hint.quiltId, commitment, hint.hint.patchId)
            : undefined;
        const hinted =
          signer ??
          inPatch ??
          (await this.signerUnderRoot(hint.root, commitment, notes)) ??
          (await this.anchoringNode(hint.root));
        const own = hinted === undefined ? null : await this.ctx.client.proofs.batchReference(hint.root, hinted);
        if (hinted !== undefined && own !== null) {
          return {
            ...pass(`${hint.note} (a hint: everything below is checked independently)`, {
              foundBy: "node-hint",
              root: hint.root,
              nodeUrl,
              signer: hinted,
            }),
            value: {
              kind: "batch",
              foundBy: "node-hint",
              root: hint.root,
              node: hinted,
              ...(hint.hint === undefined ? {} : { hint: hint.hint }),
            },
          };
        }
        notes.push(`${hint.note}, but the proof's signer did not anchor or announce it`);
      } else {
        notes.push(hint.note);
      }
    }
    let scan = await this.scanBatches(commitment, signer);
    if (scan.root === undefined && scan.signer !== undefined && signer === undefined) {
      // Only other nodes' batches held it, but now the signer is known: search the signer's batches alone.
      signer = scan.signer;
      const first = scan;
      scan = await this.scanBatches(commitment, signer);
      scan.unreadable.unshift(...first.unreadable);
      scan.foreign += first.foreign;
    }
    const values: Record<string, StepValue> = {
      foundBy: "event-scan",
      scannedBatches: scan.scanned,
      scannedEvents: scan.events,
      fromBlock: scan.fromBlock,
      toBlock: scan.toBlock,
      unreadableBatches: scan.unreadable.length,
      otherNodesBatches: scan.foreign,
      signer: scan.signer ?? signer ?? null,
      nodeUrl: nodeUrl ?? null,
    };
    if (scan.root === undefined && signer === undefined && scan.signer === undefined) {
      // No copy anywhere commits to it: take the oldest single anchor, else the newest batch holding the leaf, so
      // that the later steps say what is wrong with its document.
      const single = singles[0];
      if (single !== undefined) {
        return {
          ...pass(`anchored singly by ${short(single.node)} (ProofRegistry.getProof)`, {
            foundBy: "single-anchor",
            root: null,
            signer: null,
          }),
          value: { kind: "single", foundBy: "single-anchor", node: getAddress(single.node) },
        };
      }
      if (scan.uncommitted !== undefined) {
        scan.root = scan.uncommitted.root;
        scan.signer = scan.uncommitted.node;
      }
    }
    if (scan.root !== undefined) {
      const foreign = scan.foreign
        ? `; ${plural(scan.foreign, "batch")} of other nodes also held it and were passed over`
        : "";
      return {
        ...pass(
          `found in batch ${short(scan.root)} of ${short(scan.signer!)} by scanning the newest ` +
            `batch events (BatchAnchored, BatchAnnounced, QuiltsAnchored, QuiltsAnnounced) (${scan.scanned} batch${scan.scanned === 1 ? "" : "es"} read)` +
            `${foreign}${notes.length ? `; ${notes.join("; ")}` : ""}`,
          { ...values, root: scan.root },
        ),
        value: { kind: "batch", foundBy: "event-scan", root: scan.root, node: scan.signer },
      };
    }
    const unreadable = scan.unreadable.length
      ? `; ${scan.unreadable.length} could not be read (${scan.unreadable.slice(0, 3).join("; ")})`
      : "";
    const cap = scan.capped ? `; the scan stopped at its cap: ${scan.capped}` : "";
    const whose = scan.signer ?? signer;
    return fail(
      `not anchored${whose ? ` by its signer ${whose}` : ""}: no single anchor, and none of the ${scan.scanned} newest ` +
        `${whose ? "of its signer's " : ""}anchored batches (blocks ${scan.fromBlock}–${scan.toBlock}, at most ` +
        `${this.ctx.settings.maxScanBatches}) holds it${unreadable}${cap}` +
        `${notes.length ? `; ${notes.join("; ")}` : ""}. Pass --root if you know its batch`,
      { ...values, capped: scan.capped ?? null },
    );
  }

  /** The node that anchored `root` first (announcing it, failing that), or undefined when no node referenced it. */
  async anchoringNode(root: BatchRoot): Promise<string | undefined> {
    const references = await this.ctx.client.proofs.batchReferences(root);
    const reference = references.find((r) => r.anchored) ?? references[0];
    return reference === undefined ? undefined : getAddress(reference.node);
  }

  /** The signer of `commitment` read from the proof blob `blobId`, or undefined (unreadable, not committing). */
  private async signerInProofBlob(
    blobId: BlobId,
    commitment: Commitment,
    notes: string[],
  ): Promise<string | undefined> {
    const fetched = await this.ctx.fetchReferenced(blobId, false);
    if (typeof fetched === "string") {
      notes.push(`proof blob ${blobId}: ${fetched}`);
      return undefined;
    }
    let raw: unknown;
    try {
      raw = decodeProof(fetched.bytes);
    } catch (error) {
      if (error instanceof StrataError) return undefined;
      throw error;
    }
    return signerOf(raw, commitment);
  }

  /** The signer of `commitment` read from any batch blob referenced under `root` (by any node), or undefined. */
  private async signerUnderRoot(root: BatchRoot, commitment: Commitment, notes: string[]): Promise<string | undefined> {
    const references = (await this.ctx.client.proofs.batchReferences(root)).slice(0, this.ctx.settings.maxScanBatches);
    const seen = new Set<string>();
    for (const reference of references) {
      if (seen.has(reference.blobId)) continue;
      seen.add(reference.blobId);
      const found = await this.findInReference(reference, commitment);
      if (typeof found === "string") {
        notes.push(`batch ${short(root)}: ${await this.withLease(reference, found)}`);
        continue;
      }
      if (found?.signer !== undefined) return found.signer;
    }
    return undefined;
  }

  /** Why a batch is unreadable, and that its storage expired when its recorded end epoch has begun. */
  private async withLease(reference: BatchReference, why: string): Promise<string> {
    const now = await this.ctx.epochNow();
    if ("error" in now || reference.endEpoch > now.epoch) return why;
    return `${why}: its storage expired at ${epochText(now, reference.endEpoch)} (current epoch ${now.epoch})`;
  }

  /**
   * Looks for `commitment` in the batch of `reference`: in quilts, by their index patches (small: a quilt is never read
   * whole here) and the proof's own patch when an index lists it; else in the v1 batch blob (see `findInBatchBlob`).
   */
  private async findInReference(
    reference: BatchReference,
    commitment: Commitment,
  ): Promise<{ signer: string | undefined } | null | string> {
    const [first] = reference.blobIds;
    const quilted =
      reference.blobIds.length > 1 ||
      reference.event.startsWith("Quilts") ||
      (await this.ctx.quiltIndex(first, reference.root)).found;
    if (!quilted) return this.findInBatchBlob(reference.blobId, commitment);
    const problems: string[] = [];
    for (const quiltId of reference.blobIds) {
      const index = await this.ctx.quiltIndex(quiltId, reference.root);
      if (!index.found) {
        problems.push(`index patch of quilt ${quiltId} ${index.why}`);
        continue;
      }
      if (index.view === undefined || !index.view.values.includes(commitment)) continue;
      return { signer: await this.signerInPatch(quiltId, commitment) };
    }
    return problems.length === reference.blobIds.length ? problems.join("; ") : null;
  }

  /** The signer of `commitment` read from its patch in quilt `quiltId` (by the node's `patchId`, if given). */
  private async signerInPatch(quiltId: BlobId, commitment: Commitment, patchId?: string): Promise<string | undefined> {
    const patch = await this.ctx.proofPatch(quiltId, commitment, patchId);
    if (!patch.found || patch.rejected !== undefined) return undefined;
    return signerOf(decodeAnyProof(patch.bytes), commitment);
  }

  /**
   * Reads the batch blob `blobId` and looks for `commitment`: `null` when it is not there, its signer when a proof
   * there commits to it (`signer` undefined when the entry does not), or a string saying why the blob is unreadable.
   */
  private async findInBatchBlob(
    blobId: BlobId,
    commitment: Commitment,
  ): Promise<{ signer: string | undefined } | null | string> {
    const fetched = await this.ctx.fetchReferenced(blobId, true);
    if (typeof fetched === "string") return fetched;
    const batch = inspected(fetched);
    if (batch === undefined) return "not a batch document";
    const index = batch.leaves.findIndex((leaf) => leaf.commitment === commitment);
    if (index < 0) return null;
    return { signer: signerOf(batch.proofs[index], commitment) };
  }

  /**
   * Asks a node where `commitment` is (devkit's {@link NodeClient}, `GET /v1/proofs/:commitment`). Never fails the
   * step: a node is only a hint, and what goes wrong asking it is a note.
   */
  private async askNode(
    nodeUrl: string,
    commitment: Commitment,
  ): Promise<{ root?: BatchRoot; hint?: NodeHint; note: string }> {
    const node = new NodeClient(nodeUrl, { timeoutMs: this.ctx.settings.timeoutMs });
    let answer: ProofStatus;
    try {
      answer = await node.proofStatus(commitment);
    } catch (error) {
      if (error instanceof NodeUnreachableError)
        return { note: `the node at ${nodeUrl} did not answer (${error.reason})` };
      if (error instanceof NodeApiError) {
        return error.status === 404
          ? { note: `the node at ${nodeUrl} does not know this proof` }
          : { note: `the node at ${nodeUrl} answered HTTP ${error.status}` };
      }
      if (error instanceof NodeResponseError)
        return { note: `the node at ${nodeUrl} answered with a body that is not JSON` };
      throw error;
    }
    if (answer.status !== "anchored") {
      return { note: `the node at ${nodeUrl} reports status ${JSON.stringify(answer.status)} (not anchored yet)` };
    }
    if (!isBytes32Hex(answer.root)) return { note: `the node at ${nodeUrl} answered without a valid batch root` };
    const root = toBatchRoot(answer.root);
    const hint = quiltHint(answer);
    const where = hint.patchId === undefined ? "" : `, patch ${hint.patchId} of quilt ${hint.quiltId}`;
    return { root, hint, note: `the node at ${nodeUrl} names batch ${short(root)}${where}` };
  }

  /**
   * Reads the newest `BatchAnchored` and `BatchAnnounced` events (newest first; only `signer`'s when given) and their
   * blobs until one of the signer's holds `commitment`. Without a signer, the first copy found names it (`signer`),
   * and a batch of another node that holds the proof is passed over (`foreign`). Stops at `maxScanBatches` blobs read
   * or `maxScanEvents` events seen, and says which cap it hit (`capped`).
   */
  private async scanBatches(
    commitment: Commitment,
    signer: string | undefined,
  ): Promise<{
    root?: BatchRoot;
    signer?: string;
    /** The newest batch whose tree holds the leaf but whose document does not commit to it. */
    uncommitted?: { root: BatchRoot; node: string };
    scanned: number;
    events: number;
    foreign: number;
    unreadable: string[];
    capped?: string;
    fromBlock: number;
    toBlock: number;
  }> {
    const unreadable: string[] = [];
    let scanned = 0;
    let foreign = 0;
    let learned = signer;
    let capped: string | undefined;
    let result: { root?: BatchRoot; fromBlock: number } | undefined;
    const read = new Set<string>();
    let uncommitted: { root: BatchRoot; node: string } | undefined;
    const { maxScanBatches, maxScanEvents } = this.ctx.settings;
    const scan = await this.ctx.client.proofs.scanBatchReferencesNewestFirst(
      async (reference) => {
        const key = `${reference.node}:${reference.blobId}`;
        if (read.has(key)) return false;
        if (scanned >= maxScanBatches) {
          capped = `${maxScanBatches} batches (maxScanBatches, --scan-batches)`;
          return true;
        }
        read.add(key);
        scanned++;
        const found = await this.findInReference(reference, commitment);
        if (typeof found === "string") {
          unreadable.push(`batch ${short(reference.root)}: ${await this.withLease(reference, found)}`);
          return false;
        }
        if (found === null) return false;
        if (found.signer === undefined) {
          uncommitted ??= { root: reference.root, node: getAddress(reference.node) };
          return false;
        }
        learned ??= found.signer;
        if (found.signer !== getAddress(reference.node) || found.signer !== learned) {
          foreign++;
          // The signer is known now: the caller rescans its batches alone.
          if (signer === undefined) result = { fromBlock: reference.blockNumber };
          return signer === undefined;
        }
        result = { root: reference.root, fromBlock: reference.blockNumber };
        return true;
      },
      { node: signer, maxEvents: maxScanEvents, blockRange: this.blockRange },
    );
    if (scan.capped) capped = `${maxScanEvents} events (maxScanEvents, --scan-events)`;
    const common = { scanned, events: scan.events, foreign, unreadable, toBlock: scan.toBlock };
    if (result !== undefined) {
      return {
        ...(result.root === undefined ? {} : { root: result.root }),
        ...(learned === undefined ? {} : { signer: learned }),
        ...common,
        fromBlock: result.fromBlock,
      };
    }
    if (capped === undefined && scanned >= maxScanBatches && scan.fromBlock > this.ctx.client.deployment.block) {
      capped = `${maxScanBatches} batches (maxScanBatches, --scan-batches)`;
    }
    return {
      ...(learned === undefined ? {} : { signer: learned }),
      ...(uncommitted === undefined ? {} : { uncommitted }),
      ...common,
      ...(capped === undefined ? {} : { capped }),
      fromBlock: scan.fromBlock,
    };
  }
}

/**
 * The quilt part of a node's answer (`quiltId`, `patchId`, `merkleProof`), each field kept only when well formed:
 * hints, checked before use (the patch's commitment, the proof under the anchored root, the quilt among the root's).
 */
function quiltHint(answer: object): NodeHint {
  const { quiltId, patchId, merkleProof } = answer as Record<string, unknown>;
  const hint: NodeHint = {};
  if (typeof patchId === "string" && isQuiltPatchId(patchId)) {
    hint.patchId = patchId;
    hint.quiltId = parseQuiltPatchId(patchId).quiltId;
  } else if (typeof quiltId === "string" && /^[A-Za-z0-9_-]{43}$/.test(quiltId)) {
    hint.quiltId = quiltId as BlobId;
  }
  if (Array.isArray(merkleProof) && merkleProof.every((node) => isBytes32Hex(node))) {
    hint.merkleProof = merkleProof.map((node: string) => node.toLowerCase() as Bytes32);
  }
  return hint;
}
