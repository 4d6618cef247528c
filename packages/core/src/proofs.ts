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
  type BatchRoot,
  type Bytes32,
  type Commitment,
} from "./ids";
import { BlockRange, scanBlockRangesNewestFirst } from "./rpc";
import { Base, num, str, type ClientOptions, type Mined, type Transaction, type TxOverrides } from "./transaction";

/** A proof anchored singly. */
export interface AnchoredProof extends Mined {
  commitment: Commitment;
  /** The Walrus blob holding the proof document. */
  blobId: BlobId;
  node: string;
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
}

/** The four batch events: one blob (`Batch…`) or several quilts (`Quilts…`), stored (`…Anchored`) or announced. */
export type BatchEventName = "BatchAnchored" | "BatchAnnounced" | "QuiltsAnchored" | "QuiltsAnnounced";

/** The stored anchor a node made of a proof (anchors are keyed by node and commitment). */
export interface ProofAnchorRecord {
  /** The anchoring node: the one asked about. */
  node: string;
  /** Unix seconds. */
  anchoredAt: number;
}

/** The stored anchor a node made of a batch (anchors are keyed by node and root). */
export interface BatchAnchorRecord {
  /** The anchoring node: the one asked about. */
  node: string;
  /** Unix seconds. */
  anchoredAt: number;
  count: number;
}

/** Where the document of an anchored proof lives, from the `ProofAnchored` event. */
export interface ProofReference {
  commitment: Commitment;
  blobId: BlobId;
  node: string;
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

  // Writes (active nodes only) ----------------------------------------------------------------------------------------

  /** Anchors one proof `commitment`, whose document is the Walrus blob `blobId`. */
  async anchorProof(
    commitment: Commitment,
    blobId: BlobId,
    overrides: TxOverrides = {},
  ): Promise<Transaction<AnchoredProof>> {
    const c = toCommitment(commitment, "commitment");
    const b = blobIdArgument(blobId, "blobId");
    return this.send(
      "anchorProof",
      () => this.contract.anchorProof(c, b, overrides),
      async (receipt) => {
        const { args, mined } = await this.receiptEvent(receipt, "ProofAnchored");
        return {
          ...mined,
          commitment: toCommitment(str(args, "commitment")),
          blobId: blobIdFromBytes32(str(args, "blobId")),
          node: str(args, "node"),
        };
      },
    );
  }

  /** Anchors a batch of `count` proofs under `root`, stored in the Walrus blob `blobId`. */
  async anchorBatch(
    root: BatchRoot,
    blobId: BlobId,
    count: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<AnchoredBatch>> {
    return this.sendBatch("anchorBatch", "BatchAnchored", root, blobId, count, overrides);
  }

  /** Anchors a built batch (see `buildBatch`) stored in the Walrus blob `blobId`. */
  async anchorBuiltBatch(
    batch: ProofBatch,
    blobId: BlobId,
    overrides: TxOverrides = {},
  ): Promise<Transaction<AnchoredBatch>> {
    return this.anchorBatch(batch.root, blobId, batch.count, overrides);
  }

  /** Announces a batch in an event only: cheapest, but no on-chain existence or inclusion check. */
  async announceBatch(
    root: BatchRoot,
    blobId: BlobId,
    count: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<AnchoredBatch>> {
    return this.sendBatch("announceBatch", "BatchAnnounced", root, blobId, count, overrides);
  }

  /**
   * Anchors a batch of `count` proofs under `root`, stored in the Walrus quilts `quilts` (in the batch's quilt order).
   * For a batch in one blob, {@link anchorBatch} costs less.
   */
  async anchorQuilts(
    root: BatchRoot,
    quilts: readonly BlobId[],
    count: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<AnchoredBatch>> {
    return this.sendQuilts("anchorQuilts", "QuiltsAnchored", root, quilts, count, overrides);
  }

  /** Announces a batch stored in the Walrus quilts `quilts` in an event only (no storage, no on-chain inclusion). */
  async announceQuilts(
    root: BatchRoot,
    quilts: readonly BlobId[],
    count: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<AnchoredBatch>> {
    return this.sendQuilts("announceQuilts", "QuiltsAnnounced", root, quilts, count, overrides);
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
    return anchor.anchoredAt === 0n ? null : { node: n, anchoredAt: Number(anchor.anchoredAt) };
  }

  /** The anchor `node` made of the batch `root`, or `null` (also for announced batches, which are not stored). */
  async getBatch(node: string, root: BatchRoot): Promise<BatchAnchorRecord | null> {
    const n = toAddress(node, "node");
    const r = toBatchRoot(root, "root");
    const anchor = await this.call("getBatch", () => this.contract.getBatch(n, r));
    return anchor.anchoredAt === 0n
      ? null
      : { node: n, anchoredAt: Number(anchor.anchoredAt), count: Number(anchor.count) };
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
   * Every single anchoring of `commitment` (by `node` only, when given), oldest first. Each node anchors a commitment
   * at most once; any admitted node may anchor a copy of any public proof, so locate by the proof's signer
   * ({@link proofReference}).
   */
  async proofReferences(commitment: Commitment, node?: string): Promise<ProofReference[]> {
    const c = toCommitment(commitment, "commitment");
    const n = node === undefined ? undefined : toAddress(node, "node");
    const logs = await this.scan((from, to) =>
      this.contract.queryFilter(this.contract.filters.ProofAnchored(c, n), from, to),
    );
    return logs
      .sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index)
      .map((log) => ({
        commitment: toCommitment(log.args.commitment),
        blobId: blobIdFromBytes32(log.args.blobId),
        node: log.args.node,
        blockNumber: log.blockNumber,
        logIndex: log.index,
        txHash: log.transactionHash,
      }));
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
   * Every anchoring and announcement of the batch `root` (by `node` only, when given), oldest first. Anchoring is
   * write-once per node; announcements are not, and any active node may anchor or announce any root under its own
   * address, so prefer the signer's anchored reference ({@link batchReference}).
   */
  async batchReferences(root: BatchRoot, node?: string): Promise<BatchReference[]> {
    const r = toBatchRoot(root, "root");
    const n = node === undefined ? undefined : toAddress(node, "node");
    const logs = await this.scan((from, to) => this.batchLogs(r, n, from, to));
    return logs.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
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

  // Newest-first searches (audits) ------------------------------------------------------------------------------------

  /**
   * Hands every `BatchAnchored` and `BatchAnnounced` event (only `node`'s, when given) to `visit`, newest first (by
   * block, then log index), until `visit` returns `true` or `maxEvents` events were handed over. Queries run newest
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
        logs.sort((a, b) => b.blockNumber - a.blockNumber || b.logIndex - a.logIndex);
        for (const reference of logs) {
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

  /** The four batch events of `root` and `node` (any, when undefined) in blocks `from`..`to`, unsorted. */
  private async batchLogs(
    root: BatchRoot | undefined,
    node: string | undefined,
    from: number,
    to: number | "latest",
  ): Promise<BatchReference[]> {
    const { filters } = this.contract;
    const [anchored, announced, quilted, quiltsAnnounced] = await Promise.all([
      this.contract.queryFilter(filters.BatchAnchored(root, node), from, to),
      this.contract.queryFilter(filters.BatchAnnounced(root, node), from, to),
      this.contract.queryFilter(filters.QuiltsAnchored(root, node), from, to),
      this.contract.queryFilter(filters.QuiltsAnnounced(root, node), from, to),
    ]);
    const reference = (
      log: (typeof anchored)[number] | (typeof quilted)[number],
      event: BatchEventName,
      blobIds: BlobId[],
    ): BatchReference => ({
      root: toBatchRoot(log.args.root),
      blobId: blobIds[0],
      blobIds,
      event,
      node: log.args.node,
      count: Number(log.args.count),
      anchored: event.endsWith("Anchored"),
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
    ];
  }

  private async sendQuilts(
    method: "anchorQuilts" | "announceQuilts",
    eventName: "QuiltsAnchored" | "QuiltsAnnounced",
    root: BatchRoot,
    quilts: readonly BlobId[],
    count: number,
    overrides: TxOverrides,
  ): Promise<Transaction<AnchoredBatch>> {
    const r = toBatchRoot(root, "root");
    const ids = quilts.map((q, i) => blobIdArgument(q, `quilts[${i}]`));
    return this.send(
      method,
      () => this.contract[method](r, ids, count, overrides),
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
    overrides: TxOverrides,
  ): Promise<Transaction<AnchoredBatch>> {
    const r = toBatchRoot(root, "root");
    const b = blobIdArgument(blobId, "blobId");
    return this.send(
      method,
      () => this.contract[method](r, b, count, overrides),
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
        };
      },
    );
  }
}
