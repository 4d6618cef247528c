/**
 * What the explorer knows, read from the chain (core's registry clients), Walrus (verified reads) and the nodes'
 * health endpoints, shaped as the API's types. Read-only: nothing here signs or sends a transaction.
 */
import {
  anyProofToJson,
  decodeBatch,
  decodeBatchIndex,
  decodeModelMetadata,
  BATCH_INDEX_IDENTIFIER,
  isPrivateProof,
  proofEnvelopeContext,
  proofModelBlobId,
  toBatchRoot,
  toCommitment,
  type AnyInferenceProof,
  type BatchReference,
  type StrataClient,
} from "@strata/core";
import { VerificationFailedError, Verifier, type VerifierOptions } from "@strata/verifier";
import { describeEpoch, type EpochNow, type NetworkClock, type WalrusClient } from "@strata/walrus";
import type {
  BatchDetailResponse,
  BatchView,
  Expiry,
  ModelMetadataView,
  ModelView,
  NodeHealthView,
  NodeView,
  OverviewResponse,
  ProofResponse,
  SearchHit,
  SearchResponse,
  TensorView,
} from "./api-types";
import { ExplorerError } from "./errors";
import { imageShape, tensorValues } from "./tensors";

/** Where the explorer reads from. */
export interface ExplorerSources {
  /** Registry clients of the deployment, connected to a provider (reads only). */
  client: StrataClient;
  /** Aggregator reads, verified (by Blob ID, sha256 or the proof's commitment). */
  walrus: WalrusClient;
  /** The network's clock, for the current epoch and the dates of end epochs; none: end epochs shown without one. */
  clock?: NetworkClock;
  /**
   * Options of the verifiers the explorer runs (a fresh one per request, so a proof shown or verified is read anew):
   * everything but the client and Walrus, which are the explorer's.
   */
  verifier?: Omit<VerifierOptions, "client" | "walrus">;
  /** An end epoch within this many epochs of the current one is shown as a warning (default 3). */
  warnWithinEpochs?: number;
  /** How long a node's `/v1/health` may take (default 2,000 ms). */
  healthTimeoutMs?: number;
}

const DEFAULT_WARN_WITHIN = 3;

export class ExplorerData {
  readonly client: StrataClient;
  readonly walrus: WalrusClient;
  readonly warnWithinEpochs: number;
  private readonly clock: NetworkClock | undefined;
  private readonly verifierOptions: Omit<VerifierOptions, "client" | "walrus">;
  private readonly healthTimeoutMs: number;
  private readonly gas = new Map<string, Promise<string | null>>();
  private readonly times = new Map<number, Promise<number>>();

  constructor(sources: ExplorerSources) {
    this.client = sources.client;
    this.walrus = sources.walrus;
    this.clock = sources.clock;
    this.verifierOptions = sources.verifier ?? {};
    this.warnWithinEpochs = sources.warnWithinEpochs ?? DEFAULT_WARN_WITHIN;
    this.healthTimeoutMs = sources.healthTimeoutMs ?? 2_000;
  }

  /** A verifier of the deployment, new for each call (its caches live as long as one request). */
  verifier(): Verifier {
    // The network's clock too, so every report says until when its blobs are stored and tells expired from missing.
    return new Verifier({
      ...this.verifierOptions,
      client: this.client,
      walrus: this.walrus,
      ...(this.clock !== undefined ? { clock: this.clock } : {}),
    });
  }

  // -------------------------------------------------------------------------------------------------------------------

  /** The network's clock now, or null when it cannot be read (an unreachable store, an unknown testnet epoch). */
  async now(): Promise<EpochNow | null> {
    if (this.clock === undefined) return null;
    try {
      return await this.clock.now();
    } catch {
      return null;
    }
  }

  /** How long a blob with end epoch `endEpoch` is kept, against `now`. */
  expiry(endEpoch: number | null, now: EpochNow | null): Expiry {
    if (endEpoch === null || endEpoch === 0) {
      return { endEpoch: null, currentEpoch: now?.epoch ?? null, epochsLeft: null, state: "unknown", until: null };
    }
    if (now === null) return { endEpoch, currentEpoch: null, epochsLeft: null, state: "unknown", until: null };
    const epochsLeft = endEpoch - now.epoch;
    const state = epochsLeft <= 0 ? "expired" : epochsLeft <= this.warnWithinEpochs ? "soon" : "ok";
    return { endEpoch, currentEpoch: now.epoch, epochsLeft, state, until: describeEpoch(now, endEpoch) };
  }

  async overview(): Promise<OverviewResponse> {
    const { deployment } = this.client;
    const [latestBlock, now, models, nodes, batches] = await Promise.all([
      this.provider().getBlockNumber(),
      this.now(),
      this.client.models.listModels(),
      this.nodeAddresses(),
      this.batchReferences(),
    ]);
    return {
      chainId: deployment.chainId,
      network: deployment.network,
      registries: { ...deployment.contracts },
      latestBlock,
      currentEpoch: now?.epoch ?? null,
      warnWithinEpochs: this.warnWithinEpochs,
      counts: { models: models.length, nodes: nodes.length, batches: batches.length },
    };
  }

  // Models ------------------------------------------------------------------------------------------------------------

  async models(): Promise<ModelView[]> {
    const [listings, now] = await Promise.all([this.client.models.listModels(), this.now()]);
    return Promise.all(
      listings.map(async (listing): Promise<ModelView> => {
        const [record, versions, metadata] = await Promise.all([
          this.client.models.getModel(listing.id),
          this.client.models.listVersions(listing.id),
          this.metadata(listing.metadataBlobId),
        ]);
        return {
          id: listing.id,
          name: listing.name,
          creator: listing.creator,
          owner: record.owner,
          metadataBlobId: record.metadataBlobId,
          ...metadata,
          versions: versions.map((v) => ({
            index: v.index,
            blobId: v.blobId,
            sha256: v.sha256,
            size: v.size.toString(),
            publishedAt: v.publishedAt,
            deprecated: v.deprecated,
            expiry: this.expiry(v.endEpoch, now),
          })),
        };
      }),
    );
  }

  private async metadata(blobId: string): Promise<Pick<ModelView, "metadata" | "metadataError">> {
    try {
      const doc: ModelMetadataView = decodeModelMetadata(await this.walrus.read(blobId));
      return { metadata: doc, metadataError: null };
    } catch (error) {
      return { metadata: null, metadataError: (error as Error).message };
    }
  }

  // Nodes -------------------------------------------------------------------------------------------------------------

  /** Every node ever admitted, in order of first admission. */
  async nodeAddresses(): Promise<string[]> {
    const contract = this.client.nodes.contract;
    const from = this.client.deployment.block ?? 0;
    const logs = await contract.queryFilter(contract.filters.NodeAdmitted(), from, "latest");
    return [...new Set(logs.map((log) => log.args.node))];
  }

  async nodes(): Promise<NodeView[]> {
    const [addresses, batches] = await Promise.all([this.nodeAddresses(), this.batchReferences()]);
    return Promise.all(
      addresses.map(async (address): Promise<NodeView> => {
        const [active, intervals, endpoint] = await Promise.all([
          this.client.nodes.isActive(address),
          this.client.nodes.activeIntervals(address),
          this.client.nodes.endpoint(address),
        ]);
        return {
          address,
          endpoint,
          active,
          intervals: intervals.map((i) => ({ from: i.from, to: i.to })),
          batches: batches.filter((b) => b.node === address).length,
          health: await this.health(endpoint),
        };
      }),
    );
  }

  private async health(endpoint: string | null): Promise<NodeHealthView> {
    if (endpoint === null) return { reachable: false, status: null, body: null, error: "no endpoint registered" };
    try {
      const res = await fetch(`${endpoint.replace(/\/+$/, "")}/v1/health`, {
        signal: AbortSignal.timeout(this.healthTimeoutMs),
      });
      const text = await res.text();
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
      return { reachable: true, status: res.status, body, error: null };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return { reachable: false, status: null, body: null, error: cause ?? (error as Error).message };
    }
  }

  // Batches -----------------------------------------------------------------------------------------------------------

  /** Every batch anchored or announced, newest first. */
  async batchReferences(options: { sinceBlock?: number } = {}): Promise<BatchReference[]> {
    const found: BatchReference[] = [];
    await this.client.proofs.scanBatchReferencesNewestFirst((reference) => {
      if (options.sinceBlock !== undefined && reference.blockNumber <= options.sinceBlock) return true;
      found.push(reference);
      return false;
    });
    return found;
  }

  async batches(options: { sinceBlock?: number } = {}): Promise<BatchView[]> {
    const [references, now] = await Promise.all([this.batchReferences(options), this.now()]);
    return Promise.all(references.map((r) => this.batchView(r, now)));
  }

  async batchView(reference: BatchReference, now: EpochNow | null): Promise<BatchView> {
    const [timestamp, gasUsed] = await Promise.all([
      this.blockTime(reference.blockNumber),
      this.gasUsed(reference.txHash),
    ]);
    return {
      root: reference.root,
      node: reference.node,
      event: reference.event,
      anchored: reference.anchored,
      blobIds: [...reference.blobIds],
      count: reference.count,
      txHash: reference.txHash,
      blockNumber: reference.blockNumber,
      timestamp,
      gasUsed,
      expiry: this.expiry(reference.endEpoch, now),
    };
  }

  async batch(node: string, rootArg: string): Promise<BatchDetailResponse> {
    const root = badRequest("root", () => toBatchRoot(rootArg, "batch root"));
    const references = await this.client.proofs.batchReferences(root, node);
    if (references.length === 0) {
      throw new ExplorerError("NOT_FOUND", `No batch ${root} of node ${node} is anchored or announced on this chain`);
    }
    const reference = references[references.length - 1];
    const batch = await this.batchView(reference, await this.now());
    try {
      return { batch, commitments: await this.commitmentsOf(reference), commitmentsError: null };
    } catch (error) {
      return { batch, commitments: [], commitmentsError: (error as Error).message };
    }
  }

  /**
   * The commitments under a batch: each quilt's index patch (checked against the root by core's decoder), or a v1
   * batch blob read whole (verified by its Blob ID, every commitment checked by core's decoder).
   */
  private async commitmentsOf(reference: BatchReference): Promise<string[]> {
    const out: string[] = [];
    for (const quiltId of reference.blobIds) {
      let index: ReturnType<typeof decodeBatchIndex> | undefined;
      try {
        const read = await this.walrus.readPatch(
          { quiltId, identifier: BATCH_INDEX_IDENTIFIER },
          {
            verify: (bytes) => {
              const decoded = decodeBatchIndex(bytes);
              if (decoded.root !== reference.root) {
                throw new ExplorerError("NOT_FOUND", `the index patch of ${quiltId} is of root ${decoded.root}`);
              }
            },
          },
        );
        index = decodeBatchIndex(read.bytes);
      } catch {
        index = undefined;
      }
      if (index !== undefined) {
        out.push(...index.commitments);
        continue;
      }
      const batch = decodeBatch(await this.walrus.read(quiltId));
      if (batch.root !== reference.root) {
        throw new ExplorerError("NOT_FOUND", `blob ${quiltId} holds batch ${batch.root}, not ${reference.root}`);
      }
      out.push(...batch.commitments);
    }
    return out;
  }

  private blockTime(blockNumber: number): Promise<number> {
    let time = this.times.get(blockNumber);
    if (time === undefined) {
      time = this.client.proofs.blockTime(blockNumber);
      this.times.set(blockNumber, time);
      time.catch(() => this.times.delete(blockNumber));
    }
    return time;
  }

  private gasUsed(txHash: string): Promise<string | null> {
    let gas = this.gas.get(txHash);
    if (gas === undefined) {
      gas = this.provider()
        .getTransactionReceipt(txHash)
        .then((receipt) => (receipt === null ? null : receipt.gasUsed.toString()))
        .catch(() => null);
      this.gas.set(txHash, gas);
    }
    return gas;
  }

  // Proofs ------------------------------------------------------------------------------------------------------------

  async proof(commitmentArg: string): Promise<ProofResponse> {
    const commitment = badRequest("commitment", () => toCommitment(commitmentArg, "commitment"));
    const verifier = this.verifier();
    try {
      let record;
      try {
        record = await verifier.showProof(commitment, { nodeUrl: false });
      } catch (error) {
        if (error instanceof VerificationFailedError) {
          const failed = error.report.steps.find((s) => s.status === "fail");
          throw new ExplorerError(
            "NOT_FOUND",
            failed === undefined
              ? `Proof ${commitment} could not be read`
              : `Proof ${commitment}: ${failed.step} failed: ${failed.detail}`,
            { cause: error },
          );
        }
        throw error;
      }
      const doc = record.document;
      const [name, now, version] = await Promise.all([
        this.client.models.getModelName(doc.model.id).catch(() => null),
        this.now(),
        this.client.models.getVersion(doc.model.id, doc.model.version).catch(() => null),
      ]);
      // The proof's blob(s): its batch's end epoch, or its single anchor's (each raised by later extensions).
      const proofEnd =
        record.anchor.root === undefined
          ? ((await this.client.proofs.proofReference(commitment, record.anchor.node).catch(() => null))?.endEpoch ??
            null)
          : ((await this.client.proofs.batchReference(record.anchor.root, record.anchor.node).catch(() => null))
              ?.endEpoch ?? null);
      return {
        commitment,
        privacy: isPrivateProof(doc) ? doc.privacy : "public",
        version: doc.version,
        node: doc.node,
        timestamp: doc.timestamp,
        model: {
          id: doc.model.id,
          name,
          version: doc.model.version,
          blobId: proofModelBlobId(doc),
          sha256: doc.model.sha256,
        },
        foundBy: record.foundBy,
        anchor: scalars(record.anchor),
        index: record.index ?? null,
        root: record.anchor.root ?? null,
        location: scalars(record.fetched.location ?? {}),
        blobSize: record.blobSize,
        tensors: tensorsOf(doc),
        envelope: envelopeOf(doc),
        document: anyProofToJson(doc),
        storage: { proof: this.expiry(proofEnd, now), model: this.expiry(version?.endEpoch ?? null, now) },
      };
    } finally {
      await verifier.close();
    }
  }

  // Search ------------------------------------------------------------------------------------------------------------

  /** What `query` names: a commitment or batch root, a Blob ID, a model name, or an address (node or model creator). */
  async search(queryArg: string): Promise<SearchResponse> {
    const query = queryArg.trim();
    const hits: SearchHit[] = [];
    if (query === "") return { query, hits };
    if (/^0x[0-9a-fA-F]{64}$/.test(query)) {
      const value = query.toLowerCase();
      for (const b of await this.batchReferences()) {
        if (b.root === value) {
          hits.push({
            kind: "batch",
            href: `#/batches/${b.node}/${b.root}`,
            label: `batch ${b.root}`,
            detail: `${b.count} proofs, ${b.event} by ${b.node} in block ${b.blockNumber}`,
          });
        }
      }
      if (hits.length === 0) {
        const verifier = this.verifier();
        try {
          const record = await verifier.showProof(value, { nodeUrl: false });
          hits.push({
            kind: "proof",
            href: `#/proofs/${value}`,
            label: `proof ${value}`,
            detail:
              record.anchor.root === undefined
                ? `anchored singly by ${record.anchor.node}`
                : `#${record.index ?? "?"} of batch ${record.anchor.root} (node ${record.anchor.node})`,
          });
        } catch {
          // Not a proof this chain anchors (or its blob cannot be read): no hit.
        } finally {
          await verifier.close();
        }
      }
      return { query, hits };
    }
    if (/^0x[0-9a-fA-F]{40}$/.test(query)) {
      const address = query.toLowerCase();
      for (const node of await this.nodeAddresses()) {
        if (node.toLowerCase() === address) {
          hits.push({ kind: "node", href: `#/nodes/${node}`, label: `node ${node}`, detail: "an inference node" });
        }
      }
      // The registry client filters on the event's indexed creator topic.
      for (const model of await this.client.models.listModels({ creator: query })) hits.push(modelHit(model));
      return { query, hits };
    }
    const [models, batches] = await Promise.all([this.client.models.listModels(), this.batchReferences()]);
    for (const model of models) {
      if (model.metadataBlobId === query) {
        hits.push({
          kind: "blob",
          href: `#/models/${model.id}`,
          label: `metadata of ${model.name}`,
          detail: `Blob ID ${query}`,
        });
      }
      const versions = await this.client.models.listVersions(model.id);
      for (const v of versions) {
        if (v.blobId === query) {
          hits.push({
            kind: "blob",
            href: `#/models/${model.id}`,
            label: `${model.name}@${v.index}`,
            detail: `model file, Blob ID ${query}`,
          });
        }
      }
    }
    for (const b of batches) {
      const at = b.blobIds.indexOf(query as (typeof b.blobIds)[number]);
      if (at >= 0) {
        hits.push({
          kind: "blob",
          href: `#/batches/${b.node}/${b.root}`,
          label: `batch ${b.root}`,
          detail: b.blobIds.length > 1 ? `quilt ${at + 1} of ${b.blobIds.length}` : `its blob ${query}`,
        });
      }
    }
    const needle = query.toLowerCase();
    for (const model of models) {
      if (model.name.toLowerCase().includes(needle)) {
        hits.push(modelHit(model));
      }
    }
    return { query, hits };
  }

  private provider() {
    const provider = this.client.proofs.runner?.provider;
    if (!provider) throw new ExplorerError("BAD_REQUEST", "the registry clients have no provider: connect them to one");
    return provider;
  }
}

// ---------------------------------------------------------------------------------------------------------------------

function tensorsOf(doc: AnyInferenceProof): TensorView[] {
  const sets = [
    ["input", doc.input.tensors],
    ["output", doc.output.tensors],
  ] as const;
  const out: TensorView[] = [];
  for (const [set, tensors] of sets) {
    for (const t of tensors) {
      const base = {
        set,
        name: t.name,
        dtype: t.dtype,
        dims: [...t.dims],
        hash: "hash" in t && typeof t.hash === "string" ? t.hash : null,
        image: imageShape(t.dims),
      };
      if (isPrivateProof(doc)) {
        out.push({ ...base, values: null, elements: t.dims.reduce((a, b) => a * b, 1), truncated: false });
      } else {
        out.push({ ...base, ...tensorValues(t as Parameters<typeof tensorValues>[0]) });
      }
    }
  }
  return out;
}

function envelopeOf(doc: AnyInferenceProof): ProofResponse["envelope"] {
  if (!isPrivateProof(doc) || doc.envelope === undefined) return null;
  return {
    bytes: Buffer.from(doc.envelope.bytes).toString("base64"),
    context: Buffer.from(proofEnvelopeContext(doc)).toString("base64"),
    hash: doc.envelope.hash,
  };
}

function scalars(value: object): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) out[key] = v.join(", ");
    else if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[key] = v;
    else out[key] = String(v);
  }
  return out;
}

function badRequest<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new ExplorerError("BAD_REQUEST", `The ${what} is not valid: ${(error as Error).message}`, { cause: error });
  }
}

/** A search hit that opens a model's page. */
function modelHit(model: { id: string; name: string; creator: string }): SearchHit {
  return {
    kind: "model",
    href: `#/models/${model.id}`,
    label: `model ${model.name}`,
    detail: `created by ${model.creator}`,
  };
}
