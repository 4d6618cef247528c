import { join } from "node:path";
import type { Signer } from "ethers";
import {
  buildProof,
  signProofWithCommitment,
  StrataClient,
  InvalidArgumentError,
  UnknownModelError,
  UnknownVersionError,
  NoActiveVersionError,
  type ModelVersion,
  type RuntimeV1,
} from "@strata/core";
import {
  ModelCache,
  ModelSession,
  RUNTIME_SETTINGS,
  tensorFromJson,
  tensorToJson,
  toProofTensor,
  ModelNotFoundError,
} from "@strata/runtime";
import { blobIdFromBytes32Hex, type WalrusClient } from "@strata/walrus";
import { NodeError } from "./errors";
import { Outbox, type OutboxOptions, type ProofStatus } from "./outbox";
import type { InferRequest, NodeService } from "./server";

export interface InferenceNodeOptions {
  /** Where the model cache and the outbox live. */
  dataDir: string;
  /** The node's key, connected to the chain: signs proofs and anchors batches. Never logged. */
  signer: Signer;
  /** Registry clients of the deployment (read through any runner; writes go through `signer`). */
  client: StrataClient;
  walrus: WalrusClient;
  /** Model cache bound in bytes (default 8 GiB). */
  cacheMaxBytes?: number;
  /** Owner of bare model names in requests (default: none; requests then name `owner/name` or an id). */
  defaultModelOwner?: string;
  batch?: OutboxOptions;
  /** How long a resolved "latest version" is reused before the chain is asked again (default 5 s). */
  latestTtlMs?: number;
}

/** The answer to POST /v1/infer. */
export interface InferResponse {
  model: { id: string; version: number; blobId: string; sha256: string };
  outputs: Record<string, ReturnType<typeof tensorToJson>>;
  proof: ProofStatus & { requestId: string; node: string; timestamp: number };
  timings: { resolveMs: number; loadMs: number; runMs: number; proofMs: number };
}

/** The runtime block of every proof this node signs. */
export const NODE_RUNTIME: RuntimeV1 = {
  ...RUNTIME_SETTINGS,
  executionProviders: [...RUNTIME_SETTINGS.executionProviders],
};

/**
 * The inference node: resolves a model on-chain, fetches it from Walrus by Blob ID into a verified cache, runs it with
 * pinned ONNX Runtime settings, signs an EIP-712 proof of the run, and hands the proof to the durable outbox (which
 * batches, stores on Walrus and anchors on-chain) before it answers.
 */
export class InferenceNode implements NodeService {
  readonly cache: ModelCache;
  private readonly sessions = new Map<string, Promise<ModelSession>>();
  private readonly latest = new Map<string, { at: number; value: Promise<ModelVersion> }>();
  private readonly modelIds = new Map<string, { at: number; value: Promise<string> }>();
  private readonly metricsState = { requests: 0, failures: 0, inferMsTotal: 0 };
  private readonly started = Date.now();

  private constructor(
    private readonly options: InferenceNodeOptions,
    readonly address: string,
    readonly outbox: Outbox,
  ) {
    this.cache = new ModelCache(join(options.dataDir, "models"), options.walrus, options.cacheMaxBytes);
  }

  static async start(options: InferenceNodeOptions): Promise<InferenceNode> {
    const address = await options.signer.getAddress();
    const proofs = options.client.proofs.connect(options.signer);
    const outbox = await Outbox.open(join(options.dataDir, "outbox"), options.walrus, proofs, options.batch);
    const node = new InferenceNode(options, address, outbox);
    outbox.start();
    return node;
  }

  /** Resolves `model` (and `version`, or the latest non-deprecated one) on-chain. */
  async resolve(model: string, version?: number): Promise<ModelVersion> {
    try {
      const modelId = await this.cached(this.modelIds, model, () =>
        this.options.client.models.resolve(model, this.options.defaultModelOwner).then((r) => r.model.id),
      );
      if (version !== undefined) return await this.options.client.models.getVersion(modelId, version);
      return await this.cached(this.latest, modelId, () => this.options.client.models.latestVersion(modelId));
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw new NodeError("INVALID_MODEL_REF", error.message, 400);
      if (
        error instanceof UnknownModelError ||
        error instanceof UnknownVersionError ||
        error instanceof NoActiveVersionError
      ) {
        throw new ModelNotFoundError(model, error.message);
      }
      throw error;
    }
  }

  /**
   * `load(key)`, shared by concurrent callers and reused for `latestTtlMs` (default 5 s); a failure is not kept. Model ids
   * never change once a model exists; the latest version is asked again after the TTL.
   */
  private cached<T>(
    map: Map<string, { at: number; value: Promise<T> }>,
    key: string,
    load: () => Promise<T>,
  ): Promise<T> {
    const hit = map.get(key);
    if (hit && Date.now() - hit.at < (this.options.latestTtlMs ?? 5_000)) return hit.value;
    const value = load();
    map.set(key, { at: Date.now(), value });
    value.catch(() => map.delete(key));
    return value;
  }

  /** The session of `version`'s model file: fetched and verified through the cache, loaded once. */
  async session(version: ModelVersion): Promise<ModelSession> {
    const blobId = blobIdFromBytes32Hex(version.blobId);
    let session = this.sessions.get(blobId);
    if (!session) {
      session = this.cache
        .get({ blobId, sha256: version.sha256, size: Number(version.size) })
        .then((entry) => ModelSession.load(entry.path, `model blob ${blobId}`));
      this.sessions.set(blobId, session);
      session.catch(() => this.sessions.delete(blobId));
    }
    return session;
  }

  async infer(request: InferRequest): Promise<InferResponse> {
    this.metricsState.requests++;
    const t0 = performance.now();
    try {
      const version = await this.resolve(request.model, request.version);
      const t1 = performance.now();
      const session = await this.session(version);
      const t2 = performance.now();
      const inputs = Object.entries(request.inputs).map(([name, json]) => tensorFromJson(name, json));
      const outputs = await session.run(inputs);
      const t3 = performance.now();
      const unsigned = buildProof({
        domain: this.options.client.proofDomain,
        model: { id: version.modelId, version: version.index, blobId: version.blobId, sha256: version.sha256 },
        inputs: inputs.map(toProofTensor),
        outputs: outputs.map(toProofTensor),
        runtime: NODE_RUNTIME,
        node: this.address,
      });
      const { proof: doc, commitment } = await signProofWithCommitment(unsigned, this.options.signer);
      await this.outbox.accept(doc, commitment);
      const t4 = performance.now();
      this.metricsState.inferMsTotal += t4 - t0;
      return {
        model: {
          id: version.modelId,
          version: version.index,
          blobId: blobIdFromBytes32Hex(version.blobId),
          sha256: version.sha256,
        },
        outputs: Object.fromEntries(outputs.map((o) => [o.name, tensorToJson(o)])),
        proof: {
          ...this.outbox.status(commitment)!,
          requestId: doc.requestId,
          node: doc.node,
          timestamp: doc.timestamp,
        },
        timings: { resolveMs: t1 - t0, loadMs: t2 - t1, runMs: t3 - t2, proofMs: t4 - t3 },
      };
    } catch (error) {
      this.metricsState.failures++;
      throw error;
    }
  }

  async proofStatus(commitment: string): Promise<ProofStatus> {
    const status = this.outbox.status(commitment);
    if (!status) {
      throw new NodeError("PROOF_NOT_FOUND", `this node has no proof ${commitment}; check the commitment`, 404);
    }
    return status;
  }

  async health(): Promise<Record<string, unknown>> {
    return {
      status: "ok",
      node: this.address,
      chainId: this.options.client.deployment.chainId,
      registries: this.options.client.deployment.contracts,
      runtime: NODE_RUNTIME,
      outbox: this.outbox.counts(),
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
    };
  }

  metrics(): string {
    const { waiting, sealed, anchoredBatches } = this.outbox.counts();
    const lines = [
      ["strata_infer_requests_total", this.metricsState.requests],
      ["strata_infer_failures_total", this.metricsState.failures],
      ["strata_infer_seconds_total", this.metricsState.inferMsTotal / 1000],
      ["strata_proofs_accepted_total", this.outbox.stats.accepted],
      ["strata_proofs_anchored_total", this.outbox.stats.anchoredProofs],
      ["strata_batches_anchored_total", anchoredBatches],
      ["strata_outbox_waiting", waiting],
      ["strata_outbox_sealed", sealed],
      ["strata_outbox_flush_errors_total", this.outbox.stats.flushErrors],
      ["strata_model_downloads_total", this.cache.downloads.count],
      ["strata_model_download_bytes_total", this.cache.downloads.bytes],
    ];
    return lines.map(([name, value]) => `${name} ${value}`).join("\n") + "\n";
  }

  async close(): Promise<void> {
    await this.outbox.close();
    for (const session of this.sessions.values()) await session.then((s) => s.release()).catch(() => undefined);
  }
}
