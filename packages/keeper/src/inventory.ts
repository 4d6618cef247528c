/**
 * What the registries say is stored, and until when: every model version (owner, deprecated, Blob ID, sha256, size,
 * end epoch), every model's current metadata blob, every proof batch and every singly anchored proof of the watched
 * nodes (Blob IDs, end epoch, anchoring time and the epoch it fell in). The end epochs are the chain's (the anchoring
 * event's, raised by later extension records), but for metadata blobs: the chain records none, so theirs is the
 * keeper's own record (from store answers), or unknown.
 */
import {
  blobIdFromBytes32,
  scanBlockRanges,
  toCommitment,
  type BatchReference,
  type BatchRoot,
  type BlobId,
  type Bytes32,
  type Commitment,
  type ModelId,
  type StrataClient,
} from "@strata/core";
import { epochAt, type EpochNow, type NetworkClock } from "@strata/walrus";
import { KeeperConfigError } from "./errors";

/** The kinds of leases the keeper knows. */
export type LeaseKind = "model" | "batch" | "metadata" | "proof";

/** A model version's storage lease. */
export interface ModelLease {
  kind: "model";
  /** `model:<modelId>/<index>`: the lease's key in the journal. */
  key: string;
  modelId: ModelId;
  /** The model's name (from its creation event). */
  name: string;
  index: number;
  owner: string;
  deprecated: boolean;
  blobId: BlobId;
  sha256: Bytes32;
  size: bigint;
  /** The recorded end epoch (exclusive). */
  endEpoch: number;
}

/** A proof batch's storage lease (every blob of the batch: one, or its quilts). */
export interface BatchLease {
  kind: "batch";
  /** `batch:<node>/<root>`. */
  key: string;
  root: BatchRoot;
  /** The node that anchored (or announced) it: only it may record a renewal. */
  node: string;
  blobIds: BlobId[];
  count: number;
  /** Stored on-chain (`anchorBatch` / `anchorQuilts`) or only announced in an event. */
  anchored: boolean;
  /** The recorded end epoch: the earliest among the batch's blobs (exclusive). */
  endEpoch: number;
  /** The anchoring block's timestamp (Unix seconds). */
  anchoredAt: number;
  /** The epoch in progress when it was anchored. */
  anchoredEpoch: number;
  blockNumber: number;
}

/**
 * A model's current metadata blob (`ModelRecord.metadataBlobId`: description, task, license, signature). The chain
 * records no end epoch for it: `endEpoch` is the keeper's own record (from a store answer), `undefined` before the
 * keeper first saw it.
 */
export interface MetadataLease {
  kind: "metadata";
  /** `metadata:<modelId>/<blobId>`: a new metadata blob is a new lease. */
  key: string;
  modelId: ModelId;
  name: string;
  owner: string;
  blobId: BlobId;
  /** The model's versions not deprecated: the policy keeps the metadata while there is one. */
  activeVersions: number;
  /** The keeper's record of its end epoch (exclusive), never on-chain; `undefined`: unknown (not yet seen). */
  endEpoch: number | undefined;
}

/** A singly anchored proof's storage lease (`anchorProof`: one document, one blob). */
export interface ProofLease {
  kind: "proof";
  /** `proof:<node>/<commitment>`. */
  key: string;
  commitment: Commitment;
  /** The node that anchored it: only it may record a renewal (`extendProofs`). */
  node: string;
  blobId: BlobId;
  /** The recorded end epoch (exclusive): the stored one, raised in place by `extendProofs`. */
  endEpoch: number;
  /** The anchoring time (Unix seconds, stored on-chain). */
  anchoredAt: number;
  /** The epoch in progress when it was anchored. */
  anchoredEpoch: number;
  blockNumber: number;
}

export type Lease = ModelLease | BatchLease | MetadataLease | ProofLease;

/** Every lease, read at one clock reading. */
export interface Inventory {
  now: EpochNow;
  models: ModelLease[];
  batches: BatchLease[];
  /** Every model's current metadata blob (read with the model versions). */
  metadata: MetadataLease[];
  /** The watched nodes' singly anchored proofs (read with their batches). */
  proofs: ProofLease[];
}

export interface InventoryOptions {
  /** Read the model versions (default true). */
  models?: boolean;
  /** Read the models' metadata blobs (default: as `models`). */
  metadata?: boolean;
  /** The nodes whose proof batches and single proofs to read (none: no proofs; `"all"`: every node's). */
  nodes: readonly string[] | "all";
  /**
   * The keeper's records of metadata end epochs, by lease key ({@link readKeeperRecords} of the keeper's data
   * directories): without one a metadata lease's end epoch is unknown.
   */
  metadataRecords?: ReadonlyMap<string, number>;
}

export function modelKey(modelId: string, index: number): string {
  return `model:${modelId}/${index}`;
}

export function batchKey(node: string, root: string): string {
  return `batch:${node.toLowerCase()}/${root}`;
}

export function metadataKey(modelId: string, blobId: string): string {
  return `metadata:${modelId}/${blobId}`;
}

export function proofKey(node: string, commitment: string): string {
  return `proof:${node.toLowerCase()}/${commitment.toLowerCase()}`;
}

/** Reads every lease the options name from the registries of `client`, and the clock. */
export async function readInventory(
  client: StrataClient,
  clock: NetworkClock,
  options: InventoryOptions,
): Promise<Inventory> {
  const now = await clock.now();
  const wantModels = options.models !== false;
  const wantMetadata = options.metadata ?? wantModels;
  const [models, batches, proofs] = await Promise.all([
    wantModels || wantMetadata
      ? readModels(client, options.metadataRecords ?? new Map<string, number>())
      : Promise.resolve({ versions: [], metadata: [] }),
    readBatches(client, now, options.nodes),
    readProofs(client, now, options.nodes),
  ]);
  return {
    now,
    models: wantModels ? models.versions : [],
    batches,
    metadata: wantMetadata ? models.metadata : [],
    proofs,
  };
}

async function readModels(
  client: StrataClient,
  records: ReadonlyMap<string, number>,
): Promise<{ versions: ModelLease[]; metadata: MetadataLease[] }> {
  const listings = await client.models.listModels();
  const perModel = await Promise.all(
    listings.map(async (listing) => {
      const [model, versions] = await Promise.all([
        client.models.getModel(listing.id),
        client.models.listVersions(listing.id),
      ]);
      const key = metadataKey(listing.id, model.metadataBlobId);
      const metadata: MetadataLease = {
        kind: "metadata",
        key,
        modelId: listing.id,
        name: listing.name,
        owner: model.owner,
        blobId: model.metadataBlobId,
        activeVersions: versions.filter((v) => !v.deprecated).length,
        endEpoch: records.get(key),
      };
      const leases = versions.map((v): ModelLease => ({
        kind: "model",
        key: modelKey(listing.id, v.index),
        modelId: listing.id,
        name: listing.name,
        index: v.index,
        owner: model.owner,
        deprecated: v.deprecated,
        blobId: v.blobId,
        sha256: v.sha256,
        size: v.size,
        endEpoch: v.endEpoch,
      }));
      return { leases, metadata };
    }),
  );
  return { versions: perModel.flatMap((m) => m.leases), metadata: perModel.map((m) => m.metadata) };
}

/** The most `getProof` reads {@link readProofs} has in flight at once. */
const PROOF_READS_AT_ONCE = 32;

/**
 * The singly anchored proofs of `nodes` (`ProofAnchored` events, scanned in the client's block ranges), each with its
 * stored anchor (anchoring time, end epoch raised in place by `extendProofs`).
 */
async function readProofs(
  client: StrataClient,
  now: EpochNow,
  nodes: readonly string[] | "all",
): Promise<ProofLease[]> {
  if (nodes !== "all" && nodes.length === 0) return [];
  const registry = client.proofs;
  const contract = registry.contract;
  const scanNode = (node: string | undefined) =>
    scanBlockRanges((from, to) => contract.queryFilter(contract.filters.ProofAnchored(undefined, node), from, to), {
      fromBlock: registry.options.fromBlock ?? 0,
      blockRange: registry.blockRange,
      latest: () => {
        const provider = contract.runner?.provider;
        if (!provider)
          throw new KeeperConfigError("the ProofRegistry client has no provider: connect it to a provider or signer");
        return provider.getBlockNumber();
      },
      onNarrow: registry.options.onBlockRangeNarrowed,
    });
  const logs = (nodes === "all" ? [await scanNode(undefined)] : await Promise.all(nodes.map(scanNode))).flat();
  const anchored = new Map<string, { commitment: Commitment; node: string; blobId: BlobId; blockNumber: number }>();
  for (const log of logs) {
    const commitment = toCommitment(log.args.commitment);
    const key = proofKey(log.args.node, commitment);
    if (!anchored.has(key))
      anchored.set(key, {
        commitment,
        node: log.args.node,
        blobId: blobIdFromBytes32(log.args.blobId),
        blockNumber: log.blockNumber,
      });
  }
  const entries = [...anchored.entries()];
  const leases: ProofLease[] = [];
  for (let i = 0; i < entries.length; i += PROOF_READS_AT_ONCE) {
    const slice = entries.slice(i, i + PROOF_READS_AT_ONCE);
    const anchors = await Promise.all(slice.map(([, p]) => registry.getProof(p.node, p.commitment)));
    slice.forEach(([key, p], k) => {
      const anchor = anchors[k];
      if (anchor === null) return;
      leases.push({
        kind: "proof",
        key,
        commitment: p.commitment,
        node: p.node,
        blobId: p.blobId,
        endEpoch: anchor.endEpoch,
        anchoredAt: anchor.anchoredAt,
        anchoredEpoch: epochAt(now, anchor.anchoredAt * 1000),
        blockNumber: p.blockNumber,
      });
    });
  }
  return leases;
}

async function readBatches(
  client: StrataClient,
  now: EpochNow,
  nodes: readonly string[] | "all",
): Promise<BatchLease[]> {
  if (nodes !== "all" && nodes.length === 0) return [];
  const references: BatchReference[] = [];
  const collect = (reference: BatchReference) => {
    references.push(reference);
    return false;
  };
  if (nodes === "all") await client.proofs.scanBatchReferencesNewestFirst(collect);
  else for (const node of nodes) await client.proofs.scanBatchReferencesNewestFirst(collect, { node });

  // One lease per node and root: its anchoring when there is one, else its first announcement.
  const chosen = new Map<string, BatchReference>();
  for (const reference of references.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex)) {
    const key = batchKey(reference.node, reference.root);
    const held = chosen.get(key);
    if (held === undefined || (!held.anchored && reference.anchored)) chosen.set(key, reference);
  }
  // The latest recorded end epoch of each root, per node (the extension events).
  const byNode = new Map<string, BatchReference[]>();
  for (const reference of chosen.values()) {
    const list = byNode.get(reference.node) ?? [];
    list.push(reference);
    byNode.set(reference.node, list);
  }
  const extended = new Map<string, number>();
  for (const [node, list] of byNode) {
    const lifetimes = await client.proofs.lifetimes(
      node,
      list.map((r) => r.root),
    );
    for (const [root, endEpoch] of lifetimes) extended.set(batchKey(node, root), endEpoch);
  }
  return Promise.all(
    [...chosen.entries()].map(async ([key, reference]): Promise<BatchLease> => {
      const anchoredAt = await client.proofs.blockTime(reference.blockNumber);
      return {
        kind: "batch",
        key,
        root: reference.root,
        node: reference.node,
        blobIds: reference.blobIds,
        count: reference.count,
        anchored: reference.anchored,
        endEpoch: Math.max(reference.endEpoch, extended.get(key) ?? 0),
        anchoredAt,
        anchoredEpoch: epochAt(now, anchoredAt * 1000),
        blockNumber: reference.blockNumber,
      };
    }),
  );
}
