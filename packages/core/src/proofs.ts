import { JsonRpcProvider, type ContractRunner } from "ethers";
import { ProofRegistry__factory, type ProofRegistry } from "@strata/contracts";
import type { ProofBatch } from "./batch";
import { blobIdArgument, blobIdFromBytes32, type BlobId } from "./blob-id";
import {
  leafOf,
  toAddress,
  toBatchRoot,
  toBytes32,
  toCommitment,
  toEndEpoch,
  type BatchRoot,
  type Bytes32,
  type Commitment,
} from "./ids";
import { BlockRange, scanBlockRangesNewestFirst } from "./rpc";
import { InvalidArgumentError } from "./errors";
import {
  Base,
  minedOf,
  num,
  str,
  type ClientOptions,
  type Mined,
  type Transaction,
  type TxOverrides,
} from "./transaction";

/** A proof anchored singly. */
export interface AnchoredProof extends Mined {
  commitment: Commitment;
  /** The Walrus blob holding the proof document. */
  blobId: BlobId;
  node: string;
  /** The Walrus epoch (exclusive) at which the document's storage ends, as anchored. */
  endEpoch: number;
}

/** A batch anchored (stored, with on-chain inclusion checks) or announced (event only). */
export interface AnchoredBatch extends Mined {
  root: BatchRoot;
  /** The first Walrus blob of the batch: for a batch in one blob (a v1 batch blob or one quilt), the only one. */
  blobId: BlobId;
  /** Every Walrus blob of the batch in order: one, or the quilts of `anchorQuilts` / `announceQuilts`. */
  blobIds: BlobId[];
  count: number;
  node: string;
  /** The Walrus epoch (exclusive) at which the storage of the batch's blobs ends (the earliest of them), as anchored. */
  endEpoch: number;
}

/** A renewal record of batches (`extendBatches`, or `announceBatchesExtended` for announced ones). */
export interface BatchesExtended extends Mined {
  /** The roots whose end epoch was recorded, in the order of their `BatchStorageExtended` events. */
  roots: BatchRoot[];
  node: string;
  /** The new end epoch (exclusive) of every root. */
  endEpoch: number;
}

/** A renewal record of singly anchored proofs (`extendProofs`). */
export interface ProofsExtended extends Mined {
  /** The commitments whose end epoch was recorded, in the order of their `ProofStorageExtended` events. */
  commitments: Commitment[];
  node: string;
  /** The new end epoch (exclusive) of every proof document. */
  endEpoch: number;
}

/** The four batch events: one blob (`Batch…`) or several quilts (`Quilts…`), stored (`…Anchored`) or announced. */
export type BatchEventName = "BatchAnchored" | "BatchAnnounced" | "QuiltsAnchored" | "QuiltsAnnounced";

/** The stored anchor a node made of a proof (anchors are keyed by node and commitment). */
export interface ProofAnchorRecord {
  /** The anchoring node: the one asked about. */
  node: string;
  /** Unix seconds. */
  anchoredAt: number;
  /** The Walrus epoch (exclusive) at which the document's storage ends, as last recorded (raised by renewals). */
  endEpoch: number;
}

/** The stored anchor a node made of a batch (anchors are keyed by node and root). */
export interface BatchAnchorRecord {
  /** The anchoring node: the one asked about. */
  node: string;
  /** Unix seconds. */
  anchoredAt: number;
  count: number;
  /** The Walrus epoch (exclusive) at which the storage of the batch's blobs ends, as last recorded (raised by renewals). */
  endEpoch: number;
}

/** Where the document of an anchored proof lives, from the `ProofAnchored` event. */
export interface ProofReference {
  commitment: Commitment;
  blobId: BlobId;
  node: string;
  /**
   * The Walrus epoch (exclusive) at which the document's storage ends: the `ProofAnchored` event's, raised by the same
   * node's later `ProofStorageExtended` events (the latest wins).
   */
  endEpoch: number;
  blockNumber: number;
  /** The event's log index in its block. */
  logIndex: number;
  txHash: string;
}

/** Where a batch lives, from a `BatchAnchored`, `BatchAnnounced`, `QuiltsAnchored` or `QuiltsAnnounced` event. */
export interface BatchReference {
  root: BatchRoot;
  /** The first Walrus blob of the batch: for a batch in one blob (a v1 batch blob or one quilt), the only one. */
  blobId: BlobId;
  /** Every Walrus blob of the batch in order: one, or the quilts of `anchorQuilts` / `announceQuilts`. */
  blobIds: BlobId[];
  /** The event the reference comes from. */
  event: BatchEventName;
  node: string;
  count: number;
  /** `true` when stored (`anchorBatch`, `anchorQuilts`: inclusion checkable on-chain), `false` for an announcement. */
  anchored: boolean;
  /**
   * The Walrus epoch (exclusive) at which the storage of the batch's blobs ends (the earliest of them): the event's,
   * raised by the same node's later `BatchStorageExtended` events for the root (the latest wins).
   */
  endEpoch: number;
  blockNumber: number;
  /** The event's log index in its block. */
  logIndex: number;
  txHash: string;
}

/** Which batch events {@link ProofRegistryClient.scanBatchReferencesNewestFirst} hands over. */
export interface BatchReferenceScan {
  /** Only this node's anchorings and announcements (filtered on the indexed node). */
  node?: string;
  /** The most events handed over (default: no cap). */
  maxEvents?: number;
  /** The block range of the queries (default: the client's, shared with its other scans). */
  blockRange?: BlockRange;
}

/** What a newest-first batch search covered. */
export interface BatchReferenceScanResult {
  /** Events handed over. */
  events: number;
  /** Whether it stopped at `maxEvents` (not by the visitor, not at the first block). */
  capped: boolean;
  /** The lowest block searched, and the latest block (where it started). */
  fromBlock: number;
  toBlock: number;
}

/** The typed client of the ProofRegistry. */
export class ProofRegistryClient extends Base<ProofRegistry> {
  constructor(contract: ProofRegistry, options: ClientOptions = {}) {
    super(contract, "ProofRegistry", options);
  }

  /** The client of the ProofRegistry at `address`, through `runner`. */
  static at(address: string, runner: ContractRunner, options?: ClientOptions): ProofRegistryClient {
    return new ProofRegistryClient(ProofRegistry__factory.connect(address, runner), options);
  }

  /** The same client through another runner. */
  connect(runner: ContractRunner): ProofRegistryClient {
    return new ProofRegistryClient(this.contract.connect(runner), this.options);
  }

  // Writes (active nodes only, but for the renewal records of what a node anchored) --------------------------------

  /**
   * Anchors one proof `commitment`, whose document is the Walrus blob `blobId` stored until `endEpoch` (exclusive: the
   * store answer's `endEpoch`).
   */
  async anchorProof(
    commitment: Commitment,
    blobId: BlobId,
    endEpoch: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<AnchoredProof>> {
    const c = toCommitment(commitment, "commitment");
    const b = blobIdArgument(blobId, "blobId");
    const e = toEndEpoch(endEpoch);
    return this.send(
      "anchorProof",
      () => this.contract.anchorProof(c, b, e, overrides),
      async (receipt) => {
        const { args, mined } = await this.receiptEvent(receipt, "ProofAnchored");
        return {
          ...mined,
          commitment: toCommitment(str(args, "commitment")),
          blobId: blobIdFromBytes32(str(args, "blobId")),
          node: str(args, "node"),
          endEpoch: num(args, "endEpoch"),
        };
      },
    );
  }

  /** Anchors a batch of `count` proofs under `root`, stored in the Walrus blob `blobId` until `endEpoch` (exclusive). */
  async anchorBatch(
    root: BatchRoot,
    blobId: BlobId,
    count: number,
    endEpoch: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<AnchoredBatch>> {
    return this.sendBatch("anchorBatch", "BatchAnchored", root, blobId, count, endEpoch, overrides);
  }

  /** Anchors a built batch (see `buildBatch`) stored in the Walrus blob `blobId` until `endEpoch` (exclusive). */
  async anchorBuiltBatch(
    batch: ProofBatch,
    blobId: BlobId,
    endEpoch: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<AnchoredBatch>> {
    return this.anchorBatch(batch.root, blobId, batch.count, endEpoch, overrides);
  }

  /** Announces a batch in an event only: cheapest, but no on-chain existence or inclusion check. */
  async announceBatch(
    root: BatchRoot,
    blobId: BlobId,
    count: number,
    endEpoch: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<AnchoredBatch>> {
    return this.sendBatch("announceBatch", "BatchAnnounced", root, blobId, count, endEpoch, overrides);
  }

  /**
   * Anchors a batch of `count` proofs under `root`, stored in the Walrus quilts `quilts` (in the batch's quilt order)
   * until `endEpoch` (exclusive; the earliest end epoch of the quilts). For a batch in one blob, {@link anchorBatch}
   * costs less.
   */
  async anchorQuilts(
    root: BatchRoot,
    quilts: readonly BlobId[],
    count: number,
    endEpoch: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<AnchoredBatch>> {
    return this.sendQuilts("anchorQuilts", "QuiltsAnchored", root, quilts, count, endEpoch, overrides);
  }

  /** Announces a batch stored in the Walrus quilts `quilts` in an event only (no storage, no on-chain inclusion). */
  async announceQuilts(
    root: BatchRoot,
    quilts: readonly BlobId[],
    count: number,
    endEpoch: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<AnchoredBatch>> {
    return this.sendQuilts("announceQuilts", "QuiltsAnnounced", root, quilts, count, endEpoch, overrides);
  }

  /**
   * Records that the Walrus storage of the batches `roots`, which the sender anchored, was renewed up to `endEpoch`
   * (exclusive): one transaction for all, the stored end epochs raised in place, one `BatchStorageExtended` each. The
   * registry reverts (decoded) for a root the sender did not anchor or an end epoch not later than the recorded one.
   */
  async extendBatches(
    roots: readonly BatchRoot[],
    endEpoch: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<BatchesExtended>> {
    return this.sendBatchExtension("extendBatches", roots, endEpoch, overrides);
  }

  /**
   * Announces, in events only (`BatchStorageExtended` each), that the Walrus storage of the batches `roots` the sender
   * announced was renewed up to `endEpoch` (exclusive). For anchored roots use {@link extendBatches}.
   */
  async announceBatchesExtended(
    roots: readonly BatchRoot[],
    endEpoch: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<BatchesExtended>> {
    return this.sendBatchExtension("announceBatchesExtended", roots, endEpoch, overrides);
  }

  /**
   * Records that the Walrus storage of the documents of the proofs `commitments`, which the sender anchored singly, was
   * renewed up to `endEpoch` (exclusive): the stored end epochs raised in place, one `ProofStorageExtended` each.
   */
  async extendProofs(
    commitments: readonly Commitment[],
    endEpoch: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<ProofsExtended>> {
    const cs = nonEmpty(commitments, "commitments").map((c, i) => toCommitment(c, `commitments[${i}]`));
    const e = toEndEpoch(endEpoch);
    return this.send(
      "extendProofs",
      () => this.contract.extendProofs(cs, e, overrides),
      async (receipt) => {
        const events = await this.receiptEvents(receipt, "ProofStorageExtended");
        return {
          ...minedOf(receipt),
          commitments: events.map((args) => toCommitment(str(args, "commitment"))),
          node: str(events[0], "node"),
          endEpoch: num(events[0], "endEpoch"),
        };
      },
    );
  }

  // Reads -------------------------------------------------------------------------------------------------------------

  /** The registry's `version()`: the semantic version of its interface and behaviour, to tell deployments apart. */
  async version(): Promise<string> {
    return this.call("version", () => this.contract.version());
  }

  /** The anchor `node` made of the proof `commitment`, or `null` if that node did not anchor it singly. */
  async getProof(node: string, commitment: Commitment): Promise<ProofAnchorRecord | null> {
    const n = toAddress(node, "node");
    const c = toCommitment(commitment, "commitment");
    const anchor = await this.call("getProof", () => this.contract.getProof(n, c));
    return anchor.anchoredAt === 0n
      ? null
      : { node: n, anchoredAt: Number(anchor.anchoredAt), endEpoch: Number(anchor.endEpoch) };
  }

  /** The anchor `node` made of the batch `root`, or `null` (also for announced batches, which are not stored). */
  async getBatch(node: string, root: BatchRoot): Promise<BatchAnchorRecord | null> {
    const n = toAddress(node, "node");
    const r = toBatchRoot(root, "root");
    const anchor = await this.call("getBatch", () => this.contract.getBatch(n, r));
    return anchor.anchoredAt === 0n
      ? null
      : {
          node: n,
          anchoredAt: Number(anchor.anchoredAt),
          count: Number(anchor.count),
          endEpoch: Number(anchor.endEpoch),
        };
  }

  /**
   * Whether the batch `root` that `node` anchored includes `commitment`, by the Merkle `proof`; false for a root that
   * `node` did not anchor (an announced batch included: check it off-chain).
   */
  async isIncluded(node: string, root: BatchRoot, commitment: Commitment, proof: readonly Bytes32[]): Promise<boolean> {
    const n = toAddress(node, "node");
    const r = toBatchRoot(root, "root");
    const c = toCommitment(commitment, "commitment");
    const siblings = proof.map((p, i) => toBytes32(p, `proof[${i}]`));
    return this.call("isIncluded", () => this.contract.isIncluded(n, r, c, siblings));
  }

  /** Whether `node` may anchor proofs. */
  async isAnchorer(node: string): Promise<boolean> {
    const address = toAddress(node, "node");
    return this.call("isAnchorer", () => this.contract.isAnchorer(address));
  }

  /** The node registry that controls who may anchor. */
  async nodeRegistry(): Promise<string> {
    return this.call("nodeRegistry", () => this.contract.nodeRegistry());
  }

  /** The Merkle leaf of `commitment`, computed off-chain (twin of `leafOf`; see `ids.ts`). */
  leafOf(commitment: Commitment): Bytes32 {
    return leafOf(commitment);
  }

  /**
   * Every single anchoring of `commitment` (by `node` only, when given), oldest first, each with its latest end epoch
   * (raised by the same node's later `ProofStorageExtended` events). Each node anchors a commitment
   * at most once; any admitted node may anchor a copy of any public proof, so locate by the proof's signer
   * ({@link proofReference}).
   */
  async proofReferences(commitment: Commitment, node?: string): Promise<ProofReference[]> {
    const c = toCommitment(commitment, "commitment");
    const n = node === undefined ? undefined : toAddress(node, "node");
    const logs = await this.scan((from, to) => this.proofLogs(c, n, from, to));
    const references = withExtensions(logs).sort(byPosition);
    return references;
  }

  /**
   * Where the document of the proof `commitment` that `node` anchored singly lives (the `ProofAnchored` event filtered
   * on its indexed node), or `null` if that node did not anchor it. Another node's anchoring is never returned.
   */
  async proofReference(commitment: Commitment, node: string): Promise<ProofReference | null> {
    return (await this.proofReferences(commitment, node))[0] ?? null;
  }

  /** The Walrus Blob ID of the proof `commitment` that `node` anchored singly, or `null`. */
  async proofBlobId(commitment: Commitment, node: string): Promise<BlobId | null> {
    return (await this.proofReference(commitment, node))?.blobId ?? null;
  }

  /**
   * Every anchoring and announcement of the batch `root` (by `node` only, when given), oldest first, each with its
   * latest end epoch (raised by the same node's later `BatchStorageExtended` events). Anchoring is
   * write-once per node; announcements are not, and any active node may anchor or announce any root under its own
   * address, so prefer the signer's anchored reference ({@link batchReference}).
   */
  async batchReferences(root: BatchRoot, node?: string): Promise<BatchReference[]> {
    const r = toBatchRoot(root, "root");
    const n = node === undefined ? undefined : toAddress(node, "node");
    const logs = await this.scan((from, to) => this.batchLogs(r, n, from, to));
    return withExtensions(logs).sort(byPosition);
  }

  /**
   * The reference `node` made of the batch `root`: its anchoring if any, else its first announcement, else `null`.
   * Another node's anchoring or announcement of the same root is never returned.
   */
  async batchReference(root: BatchRoot, node: string): Promise<BatchReference | null> {
    const references = await this.batchReferences(root, node);
    return references.find((r) => r.anchored) ?? references[0] ?? null;
  }

  /** The Walrus Blob ID of the batch `root` as `node` referenced it (see {@link batchReference}), or `null`. */
  async batchBlobId(root: BatchRoot, node: string): Promise<BlobId | null> {
    return (await this.batchReference(root, node))?.blobId ?? null;
  }

  /**
   * The latest recorded end epoch (exclusive) of each of the batches `roots` that `node` anchored or announced, keyed
   * by root (lowercase hex): for an anchored root the stored one (`getBatch`, raised in place by `extendBatches`), for
   * one only announced the latest of its announcements and the node's later `BatchStorageExtended` events. A root the
   * node neither anchored nor announced is absent. Another node's records are never read.
   */
  async lifetimes(node: string, roots: readonly BatchRoot[]): Promise<Map<string, number>> {
    const n = toAddress(node, "node");
    const wanted = [...new Set(roots.map((r, i) => toBatchRoot(r, `roots[${i}]`)))];
    const lifetimes = new Map<string, number>();
    for (let i = 0; i < wanted.length; i += LIFETIME_READS_AT_ONCE) {
      const slice = wanted.slice(i, i + LIFETIME_READS_AT_ONCE);
      const anchors = await Promise.all(slice.map((r) => this.getBatch(n, r)));
      anchors.forEach((anchor, k) => anchor && lifetimes.set(slice[k], anchor.endEpoch));
    }
    const announced = new Set<string>(wanted.filter((r) => !lifetimes.has(r)));
    if (announced.size === 0) return lifetimes;
    const logs = await this.scan((from, to) => this.batchLogs(undefined, n, from, to));
    for (const reference of withExtensions(logs.filter((log) => announced.has(log.subject))).sort(byPosition)) {
      if (!reference.anchored) lifetimes.set(reference.root, reference.endEpoch);
    }
    return lifetimes;
  }

  // Newest-first searches (audits) ------------------------------------------------------------------------------------

  /**
   * Hands every batch reference (`BatchAnchored`, `BatchAnnounced`, `QuiltsAnchored`, `QuiltsAnnounced`; only
   * `node`'s, when given) to `visit`, newest first (by block, then log index), each with its latest end epoch (the
   * same node's later `BatchStorageExtended` events, which the newest-first search meets first), until `visit` returns `true` or `maxEvents` events were handed over. Queries run newest
   * block range first from the latest block down to the client's `fromBlock`, in ranges of `blockRange` (default the
   * client's; 10,000 blocks while it has no size), narrowing when the RPC refuses one (see
   * `scanBlockRangesNewestFirst`). Says how many events it handed over, whether `maxEvents` stopped it, and which
   * blocks it searched.
   */
  async scanBatchReferencesNewestFirst(
    visit: (reference: BatchReference) => boolean | Promise<boolean>,
    options: BatchReferenceScan = {},
  ): Promise<BatchReferenceScanResult> {
    const n = options.node === undefined ? undefined : toAddress(options.node, "node");
    const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
    const latest = await this.provider().getBlockNumber();
    let events = 0;
    let capped = false;
    /** The newest extension met so far per (node, root): later than every reference met after it. */
    const newestExtension = new Map<string, number>();
    const fromBlock = await scanBlockRangesNewestFirst(
      (from, to) => this.batchLogs(undefined, n, from, to),
      {
        fromBlock: this.options.fromBlock ?? 0,
        toBlock: latest,
        blockRange: options.blockRange ?? this.blockRange,
        latest: async () => latest,
        onNarrow: this.options.onBlockRangeNarrowed,
      },
      async (logs) => {
        logs.sort((a, b) => byPosition(b, a));
        for (const log of logs) {
          const key = extensionKey(log.node, log.subject);
          if (log.kind === "extension") {
            if (!newestExtension.has(key)) newestExtension.set(key, log.endEpoch);
            continue;
          }
          const reference = referenceOf(log, newestExtension.get(key));
          if (events >= maxEvents) {
            capped = true;
            return true;
          }
          events++;
          if (await visit(reference)) return true;
        }
        return false;
      },
    );
    return { events, capped, fromBlock: Math.min(fromBlock, latest), toBlock: latest };
  }

  /** The timestamp (Unix seconds) of block `blockNumber`, e.g. of an announced batch, which stores no time. */
  async blockTime(blockNumber: number): Promise<number> {
    return this.blockTimestamp(blockNumber);
  }

  /**
   * The URL of the JSON-RPC endpoint the client reads through, for messages; `undefined` for another provider. (ethers
   * exposes it only through `JsonRpcProvider._getConnection()`, read here alone.)
   */
  rpcUrl(): string | undefined {
    const provider = this.runner?.provider;
    return provider instanceof JsonRpcProvider ? provider._getConnection().url : undefined;
  }

  // Internals ---------------------------------------------------------------------------------------------------------

  /** The `ProofAnchored` and `ProofStorageExtended` events of `commitment` and `node` (any, when undefined), unsorted. */
  private async proofLogs(
    commitment: Commitment,
    node: string | undefined,
    from: number,
    to: number | "latest",
  ): Promise<Scanned<ProofReference>[]> {
    const { filters } = this.contract;
    const [anchored, extended] = await Promise.all([
      this.contract.queryFilter(filters.ProofAnchored(commitment, node), from, to),
      this.contract.queryFilter(filters.ProofStorageExtended(commitment, node), from, to),
    ]);
    return [
      ...anchored.map((log): Scanned<ProofReference> => ({
        kind: "reference",
        subject: toCommitment(log.args.commitment),
        commitment: toCommitment(log.args.commitment),
        blobId: blobIdFromBytes32(log.args.blobId),
        node: log.args.node,
        endEpoch: Number(log.args.endEpoch),
        blockNumber: log.blockNumber,
        logIndex: log.index,
        txHash: log.transactionHash,
      })),
      ...extended.map((log) => extensionOf(log, log.args.commitment)),
    ];
  }

  /**
   * The four batch events and the `BatchStorageExtended` events of `root` and `node` (any, when undefined) in blocks
   * `from`..`to`, unsorted.
   */
  private async batchLogs(
    root: BatchRoot | undefined,
    node: string | undefined,
    from: number,
    to: number | "latest",
  ): Promise<Scanned<BatchReference>[]> {
    const { filters } = this.contract;
    const [anchored, announced, quilted, quiltsAnnounced, extended] = await Promise.all([
      this.contract.queryFilter(filters.BatchAnchored(root, node), from, to),
      this.contract.queryFilter(filters.BatchAnnounced(root, node), from, to),
      this.contract.queryFilter(filters.QuiltsAnchored(root, node), from, to),
      this.contract.queryFilter(filters.QuiltsAnnounced(root, node), from, to),
      this.contract.queryFilter(filters.BatchStorageExtended(root, node), from, to),
    ]);
    const reference = (
      log: (typeof anchored)[number] | (typeof quilted)[number],
      event: BatchEventName,
      blobIds: BlobId[],
    ): Scanned<BatchReference> => ({
      kind: "reference",
      subject: toBatchRoot(log.args.root),
      root: toBatchRoot(log.args.root),
      blobId: blobIds[0],
      blobIds,
      event,
      node: log.args.node,
      count: Number(log.args.count),
      anchored: event.endsWith("Anchored"),
      endEpoch: Number(log.args.endEpoch),
      blockNumber: log.blockNumber,
      logIndex: log.index,
      txHash: log.transactionHash,
    });
    return [
      ...anchored.map((log) => reference(log, "BatchAnchored", [blobIdFromBytes32(log.args.blobId)])),
      ...announced.map((log) => reference(log, "BatchAnnounced", [blobIdFromBytes32(log.args.blobId)])),
      ...quilted.map((log) =>
        reference(
          log,
          "QuiltsAnchored",
          log.args.quilts.map((q) => blobIdFromBytes32(q)),
        ),
      ),
      ...quiltsAnnounced.map((log) =>
        reference(
          log,
          "QuiltsAnnounced",
          log.args.quilts.map((q) => blobIdFromBytes32(q)),
        ),
      ),
      ...extended.map((log) => extensionOf(log, log.args.root)),
    ];
  }

  private async sendBatchExtension(
    method: "extendBatches" | "announceBatchesExtended",
    roots: readonly BatchRoot[],
    endEpoch: number,
    overrides: TxOverrides,
  ): Promise<Transaction<BatchesExtended>> {
    const rs = nonEmpty(roots, "roots").map((r, i) => toBatchRoot(r, `roots[${i}]`));
    const e = toEndEpoch(endEpoch);
    return this.send(
      method,
      () => this.contract[method](rs, e, overrides),
      async (receipt) => {
        const events = await this.receiptEvents(receipt, "BatchStorageExtended");
        return {
          ...minedOf(receipt),
          roots: events.map((args) => toBatchRoot(str(args, "root"))),
          node: str(events[0], "node"),
          endEpoch: num(events[0], "endEpoch"),
        };
      },
    );
  }

  private async sendQuilts(
    method: "anchorQuilts" | "announceQuilts",
    eventName: "QuiltsAnchored" | "QuiltsAnnounced",
    root: BatchRoot,
    quilts: readonly BlobId[],
    count: number,
    endEpoch: number,
    overrides: TxOverrides,
  ): Promise<Transaction<AnchoredBatch>> {
    const r = toBatchRoot(root, "root");
    const ids = quilts.map((q, i) => blobIdArgument(q, `quilts[${i}]`));
    const e = toEndEpoch(endEpoch);
    return this.send(
      method,
      () => this.contract[method](r, ids, count, e, overrides),
      async (receipt) => {
        const { args, mined } = await this.receiptEvent(receipt, eventName);
        const blobIds = (args.quilts as readonly string[]).map((q) => blobIdFromBytes32(q));
        return {
          ...mined,
          root: toBatchRoot(str(args, "root")),
          blobId: blobIds[0],
          blobIds,
          count: num(args, "count"),
          node: str(args, "node"),
          endEpoch: num(args, "endEpoch"),
        };
      },
    );
  }

  private async sendBatch(
    method: "anchorBatch" | "announceBatch",
    eventName: "BatchAnchored" | "BatchAnnounced",
    root: BatchRoot,
    blobId: BlobId,
    count: number,
    endEpoch: number,
    overrides: TxOverrides,
  ): Promise<Transaction<AnchoredBatch>> {
    const r = toBatchRoot(root, "root");
    const b = blobIdArgument(blobId, "blobId");
    const e = toEndEpoch(endEpoch);
    return this.send(
      method,
      () => this.contract[method](r, b, count, e, overrides),
      async (receipt) => {
        const { args, mined } = await this.receiptEvent(receipt, eventName);
        const blobId = blobIdFromBytes32(str(args, "blobId"));
        return {
          ...mined,
          root: toBatchRoot(str(args, "root")),
          blobId,
          blobIds: [blobId],
          count: num(args, "count"),
          node: str(args, "node"),
          endEpoch: num(args, "endEpoch"),
        };
      },
    );
  }
}

/** The most `getBatch` reads {@link ProofRegistryClient.lifetimes} has in flight at once. */
const LIFETIME_READS_AT_ONCE = 32;

/** Where an event sits on the chain: by block, then log index. */
interface Positioned {
  blockNumber: number;
  logIndex: number;
}

/** Oldest first (by block, then log index). */
function byPosition(a: Positioned, b: Positioned): number {
  return a.blockNumber - b.blockNumber || a.logIndex - b.logIndex;
}

/** A `BatchStorageExtended` or `ProofStorageExtended` event, met in a scan beside the references. */
interface ScannedExtension extends Positioned {
  kind: "extension";
  /** The batch root or proof commitment extended (lowercase hex). */
  subject: string;
  node: string;
  endEpoch: number;
}

/** A reference (with `subject`: its batch root or proof commitment) or an extension, as a scan meets them. */
type Scanned<R extends Positioned & { node: string; endEpoch: number }> =
  (R & { kind: "reference"; subject: string }) | ScannedExtension;

function extensionOf(
  log: { args: { node: string; endEpoch: bigint }; blockNumber: number; index: number },
  subject: string,
): ScannedExtension {
  return {
    kind: "extension",
    subject: toBytes32(subject),
    node: log.args.node,
    endEpoch: Number(log.args.endEpoch),
    blockNumber: log.blockNumber,
    logIndex: log.index,
  };
}

/** The key of the records of `subject` (a batch root or proof commitment) by `node`. */
function extensionKey(node: string, subject: string): string {
  return `${node.toLowerCase()}/${subject.toLowerCase()}`;
}

/** `log`, a reference, as handed over: its end epoch raised to `extended` when a later extension was met. */
function referenceOf<R extends Positioned & { node: string; endEpoch: number }>(
  log: R & { kind: "reference"; subject: string },
  extended: number | undefined,
): R {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { kind, subject, ...rest } = log;
  const reference = rest as unknown as R;
  return extended === undefined ? reference : { ...reference, endEpoch: extended };
}

/**
 * The references among `logs`, each with its latest end epoch: the latest of its own event's and the same node's
 * extensions of the same root that come after it (extensions before it do not raise it: a re-announcement carries its
 * own end epoch).
 */
function withExtensions<R extends Positioned & { node: string; endEpoch: number }>(logs: Scanned<R>[]): R[] {
  const latest = new Map<string, ScannedExtension>();
  for (const log of logs) {
    if (log.kind !== "extension") continue;
    const key = extensionKey(log.node, log.subject);
    const seen = latest.get(key);
    if (!seen || byPosition(log, seen) > 0) latest.set(key, log);
  }
  return logs.flatMap((log) => {
    if (log.kind === "extension") return [];
    const extension = latest.get(extensionKey(log.node, log.subject));
    return [referenceOf(log, extension && byPosition(extension, log) > 0 ? extension.endEpoch : undefined)];
  });
}

/** `items`, unless empty: then {@link InvalidArgumentError} naming `argument`. */
function nonEmpty<T>(items: readonly T[], argument: string): readonly T[] {
  if (items.length === 0) throw new InvalidArgumentError(argument, items, "pass at least one to extend");
  return items;
}
