/**
 * What the registries say is stored, and until when: every model version (owner, deprecated, Blob ID, sha256, size,
 * end epoch) and every proof batch of the watched nodes (root, Blob IDs, count, end epoch, anchoring time and the
 * epoch it fell in). The end epochs are the chain's: the anchoring event's, raised by later extension records.
 */
import type { BatchReference, BatchRoot, BlobId, Bytes32, ModelId, StrataClient } from "@strata/core";
import { epochAt, type EpochNow, type NetworkClock } from "@strata/walrus";

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

export type Lease = ModelLease | BatchLease;

/** Every lease, read at one clock reading. */
export interface Inventory {
  now: EpochNow;
  models: ModelLease[];
  batches: BatchLease[];
}

export interface InventoryOptions {
  /** Read the model versions (default true). */
  models?: boolean;
  /** The nodes whose proof batches to read (none: no batches; `"all"`: every node's). */
  nodes: readonly string[] | "all";
}

export function modelKey(modelId: string, index: number): string {
  return `model:${modelId}/${index}`;
}

export function batchKey(node: string, root: string): string {
  return `batch:${node.toLowerCase()}/${root}`;
}

/** Reads every lease the options name from the registries of `client`, and the clock. */
export async function readInventory(
  client: StrataClient,
  clock: NetworkClock,
  options: InventoryOptions,
): Promise<Inventory> {
  const now = await clock.now();
  const [models, batches] = await Promise.all([
    options.models === false ? Promise.resolve([]) : readModels(client),
    readBatches(client, now, options.nodes),
  ]);
  return { now, models, batches };
}

async function readModels(client: StrataClient): Promise<ModelLease[]> {
  const listings = await client.models.listModels();
  const perModel = await Promise.all(
    listings.map(async (listing) => {
      const [model, versions] = await Promise.all([
        client.models.getModel(listing.id),
        client.models.listVersions(listing.id),
      ]);
      return versions.map((v): ModelLease => ({
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
    }),
  );
  return perModel.flat();
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
