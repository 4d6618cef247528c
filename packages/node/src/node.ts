import { statfs } from "node:fs/promises";
import { join } from "node:path";
import type { Signer } from "ethers";
import {
  binaryTensor,
  buildPrivateProof,
  buildProof,
  encodeBinaryTensor,
  Memo,
  ProofVersion,
  signPrivateProof,
  signProofWithCommitment,
  StrataClient,
  StrataError,
  parsePrivacyPublicKey,
  InvalidArgumentError,
  UnknownModelError,
  UnknownVersionError,
  NoActiveVersionError,
  isBytes32Hex,
  proofModelOf,
  toCommitment,
  type Bytes32,
  type Commitment,
  type InferenceProof,
  type PrivacyMode,
  type PrivateInferenceProof,
  type ModelId,
  type ModelVersion,
  type DecodedTensor,
  type RuntimeV1,
} from "@strata/core";
import {
  ModelCache,
  ModelExpiredError,
  ModelSession,
  RUNTIME_SETTINGS,
  tensorFromJson,
  tensorToJson,
  ModelNotFoundError,
} from "@strata/runtime";
import { describeEpoch, networkClockFor, type EpochNow, type NetworkClock, type WalrusClient } from "@strata/walrus";
import { isChainUnavailable, withTimeout } from "./chain";
import { NODE_DEFAULTS } from "./defaults";
import { ChainUnavailableError, NodeError, NodeUnavailableError, RedactedError } from "./errors";
import { Outbox, type OutboxOptions, type ProofStatus } from "./outbox";
import { serialSigner } from "./sender";
import { InvalidIndexKeyError } from "./proof-index";
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
  /** Largest model file the node downloads, checked against the registry before any byte is fetched (default: the cache bound). */
  maxModelBytes?: number;
  /** Owner of bare model names in requests (default: none; requests then name `owner/name` or an id). */
  defaultModelOwner?: string;
  batch?: OutboxOptions;
  /** How long a resolved "latest version" is reused before the chain is asked again (default 5 s). */
  latestTtlMs?: number;
  /** How often the node checks the chain, its admission and its disk (default 5 s). */
  healthIntervalMs?: number;
  /** Refuse new work (503) once the chain has not answered for this long (default 30 s). */
  chainDownMs?: number;
  /** Refuse new work (503) while the data directory has less free space than this (default 64 MiB). */
  minFreeBytes?: number;
  /**
   * The Walrus network's epoch clock, for storage leases: a version whose end epoch has begun is refused (410
   * `MODEL_EXPIRED`). Default: the local store's clock at the publisher URL (`networkClockFor` of a config without a
   * schedule); pass `networkClockFor(config)` for another network. An unreachable clock leaves leases unchecked (and
   * `/v1/health` says why).
   */
  clock?: NetworkClock;
  /** How long a clock reading is reused by the lease checks of requests (default 1,000 ms). */
  clockTtlMs?: number;
  /**
   * Warn (in `/v1/health` and the log) about versions the node serves or caches whose storage ends within this many
   * epochs (default {@link NODE_DEFAULTS}.leaseWarnEpochs, 3).
   */
  leaseWarnEpochs?: number;
  /** Where the node's own warnings go (storage leases expiring soon); default nowhere. */
  log?: (line: string) => void;
}

/** A model version the node serves or caches whose storage ends soon (or has ended), as `/v1/health` lists it. */
export interface ExpiringVersion {
  modelId: string;
  /** The name the node was asked for it by, when it was asked by name. */
  name?: string;
  version: number;
  /** The end epoch (exclusive) the registry records. */
  endEpoch: number;
  /** `endEpoch - currentEpoch`: 0 or less once expired. */
  epochsLeft: number;
  /** Present (true) once the end epoch has begun: the node refuses it (410). */
  expired?: true;
}

/** The storage leases part of `/v1/health`. */
export interface StorageHealth {
  /** The network's current epoch; null when the clock cannot be read (then `error` says why). */
  currentEpoch: number | null;
  /** The approximate wall-clock start of the current epoch (ISO 8601), when known. */
  epochStartedAt?: string;
  leaseWarnEpochs: number;
  /** Versions served or cached whose storage ends within `leaseWarnEpochs` epochs, soonest first. */
  expiringSoon: ExpiringVersion[];
  error?: string;
}

/** What the node knows of a version's lease. */
interface Lease {
  modelId: string;
  name?: string;
  version: number;
  blobId: string;
  endEpoch: number;
}

/** What the node last learnt about one of its dependencies. */
interface Probe {
  ok: boolean;
  checkedAt?: number;
  lastOkAt?: number;
  error?: string;
}

/** The answer to POST /v1/infer. */
export interface InferResponse {
  model: { id: string; version: number; blobId: string; sha256: string };
  outputs: Record<string, ReturnType<typeof tensorToJson>>;
  proof: ProofStatus & { requestId: string; node: string; timestamp: number; privacy: PrivacyMode };
  timings: { resolveMs: number; loadMs: number; runMs: number; proofMs: number };
}

/** Options of {@link InferenceNode.infer} for callers inside the node (the request watcher). */
export interface InferOptions {
  /** The proof's request id (default: a random one). */
  requestId?: Bytes32;
  /** Called with the signed (public) proof and its commitment, before the proof is journalled. */
  onSigned?: (proof: InferenceProof, commitment: Commitment) => void;
  /** Called with a signed private (hashed or encrypted) proof and its commitment, before it is journalled. */
  onSignedPrivate?: (proof: PrivateInferenceProof, commitment: Commitment) => void;
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
  /** Loaded models, by model Blob ID: fetched and verified through the cache, loaded once. */
  private readonly sessions: Memo<ModelVersion, ModelSession>;
  /** The latest version of a model id, shared by concurrent callers and reused for `latestTtlMs` (default 5 s). */
  private readonly latest: Memo<ModelId, ModelVersion>;
  /** Model ids never change once a model exists: resolved once per name (at most 10,000 names kept). */
  private readonly modelIds: Memo<string, ModelId>;
  private readonly probes: {
    chain: Probe;
    anchorer: Probe & { active?: boolean };
    disk: Probe & { freeBytes?: number };
    store: Probe;
  } = {
    chain: { ok: true },
    anchorer: { ok: true },
    disk: { ok: true },
    store: { ok: true },
  };
  private monitor: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private closing = false;
  private readonly metricsState = {
    requests: 0,
    failures: 0,
    inferMsTotal: 0,
    byPrivacy: { public: 0, hashed: 0, encrypted: 0 } as Record<PrivacyMode, number>,
  };
  private readonly started = Date.now();
  /** The clock, read at most once per `clockTtlMs` (or why it could not be). */
  private readonly clockReading: Memo<"now", EpochNow | { error: string }>;
  /** The leases of the versions this node has served, by `modelId:version` (from the registry, at each request). */
  private readonly leases = new Map<string, Lease>();
  /** `modelId:version:epoch` of each lease warning already logged. */
  private readonly warned = new Set<string>();
  private readonly leaseWarnEpochs: number;
  /** The registry's word on a version close to its end (a renewal may have raised it), re-read at most once a minute. */
  private readonly leaseReads: Memo<{ id: ModelId; version: number }, ModelVersion>;

  private constructor(
    private readonly options: InferenceNodeOptions,
    readonly address: string,
    readonly outbox: Outbox,
  ) {
    const cacheMaxBytes = options.cacheMaxBytes ?? NODE_DEFAULTS.cacheMaxBytes;
    const clock =
      options.clock ??
      (options.walrus.publisherUrl === undefined
        ? undefined
        : networkClockFor({
            name: "local",
            publisherUrl: options.walrus.publisherUrl,
            aggregatorUrls: options.walrus.aggregatorUrls,
            shards: options.walrus.shards,
          }));
    // One reading per `clockTtlMs`, bounded in time; a failure is kept as long (a dead clock never slows requests).
    this.clockReading = new Memo(() => readClockBounded(clock, CLOCK_TIMEOUT_MS), {
      ttlMs: options.clockTtlMs ?? 1_000,
    });
    this.leaseReads = new Memo(({ id, version }) => options.client.models.getVersion(id, version), {
      keyOf: ({ id, version }) => `${id}:${version}`,
      ttlMs: 60_000,
      maxEntries: 10_000,
    });
    this.leaseWarnEpochs = options.leaseWarnEpochs ?? NODE_DEFAULTS.leaseWarnEpochs;
    if (!Number.isSafeInteger(this.leaseWarnEpochs) || this.leaseWarnEpochs < 0) {
      throw new InvalidArgumentError("leaseWarnEpochs", this.leaseWarnEpochs, "a non-negative number of epochs");
    }
    // The cache refuses (and evicts) an entry past its lease on its own too, by the same clock.
    const cacheClock: NetworkClock = {
      network: clock?.network ?? "none",
      now: async () => {
        const now = await this.clockReading.get("now");
        if ("error" in now) throw new NodeError("NO_CLOCK", now.error);
        return now;
      },
    };
    this.cache = new ModelCache(join(options.dataDir, "models"), options.walrus, cacheMaxBytes, {
      ...(options.maxModelBytes !== undefined ? { maxModelBytes: options.maxModelBytes } : {}),
      clock: cacheClock,
    });
    const models = options.client.models;
    this.latest = new Memo((modelId) => models.latestVersion(modelId), { ttlMs: options.latestTtlMs ?? 5_000 });
    this.modelIds = new Memo((model) => models.resolve(model, options.defaultModelOwner).then((r) => r.model.id), {
      maxEntries: 10_000,
    });
    this.sessions = new Memo(
      (version) => {
        const blobId = version.blobId;
        return this.cache
          .get({
            blobId,
            sha256: version.sha256,
            size: Number(version.size),
            endEpoch: version.endEpoch,
            model: { id: version.modelId, version: version.index, ...this.nameOf(version) },
          })
          .then((entry) => ModelSession.load(entry.path, `model blob ${blobId}`));
      },
      { keyOf: (version) => version.blobId },
    );
  }

  static async start(options: InferenceNodeOptions): Promise<InferenceNode> {
    const address = await options.signer.getAddress();
    // Anchoring shares the key's one transaction queue with every other writer (the request watcher): no nonce race.
    const proofs = options.client.proofs.connect(serialSigner(options.signer));
    const node: { value?: InferenceNode } = {};
    const outbox = await Outbox.open(join(options.dataDir, "outbox"), options.walrus, proofs, address, {
      ...options.batch,
      onStored: (ok, error) => node.value?.storeOutcome(ok, error),
    });
    node.value = new InferenceNode(options, address, outbox);
    outbox.start();
    await node.value.check();
    node.value.monitor = setInterval(() => void node.value!.check(), options.healthIntervalMs ?? 5_000);
    node.value.monitor.unref?.();
    return node.value;
  }

  /** Records the outcome of a batch store on Walrus (health reports the store from it). */
  private storeOutcome(ok: boolean, error?: Error): void {
    const now = Date.now();
    this.probes.store = ok
      ? { ok: true, checkedAt: now, lastOkAt: now }
      : { ...this.probes.store, ok: false, checkedAt: now, error: error?.message };
  }

  /** Checks the chain (a block number, bounded), this node's admission and the free disk space; never throws. */
  check(): Promise<void> {
    this.checking ??= this.runChecks().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async runChecks(): Promise<void> {
    const now = Date.now();
    const timeout = Math.min(10_000, this.options.healthIntervalMs ?? 5_000);
    const chain = this.probes.chain;
    try {
      const provider = this.options.client.proofs.runner?.provider;
      if (!provider) {
        throw new NodeError("NO_PROVIDER", "no provider: connect the node's StrataClient to a chain provider (--rpc)");
      }
      await withTimeout(provider.getBlockNumber(), timeout, "eth_blockNumber");
      this.probes.chain = { ok: true, checkedAt: now, lastOkAt: now };
      const active = await withTimeout(this.options.client.proofs.isAnchorer(this.address), timeout, "isAnchorer");
      if (active) this.outbox.clearRefusal();
      this.probes.anchorer = active
        ? { ok: true, active, checkedAt: now, lastOkAt: now }
        : { ok: false, active, checkedAt: now, error: `${this.address} is not an active node in the NodeRegistry` };
    } catch (error) {
      this.probes.chain = { ...chain, ok: false, checkedAt: now, error: (error as Error).message };
      this.probes.chain.lastOkAt ??= this.started;
    }
    try {
      const fs = await statfs(this.options.dataDir);
      const freeBytes = Number(fs.bavail) * Number(fs.bsize);
      const min = this.options.minFreeBytes ?? 64 * 1024 * 1024;
      this.probes.disk =
        freeBytes >= min
          ? { ok: true, freeBytes, checkedAt: now, lastOkAt: now }
          : {
              ok: false,
              freeBytes,
              checkedAt: now,
              error: `${freeBytes} bytes free in ${this.options.dataDir}, below ${min}`,
            };
    } catch (error) {
      this.probes.disk = { ...this.probes.disk, ok: false, checkedAt: now, error: (error as Error).message };
    }
    await this.storageHealth().catch(() => undefined);
  }

  /** The current epoch, or why it is unknown. */
  private epochNow(): Promise<EpochNow | { error: string }> {
    return this.clockReading.get("now");
  }

  /** The name a version was asked for by, when known. */
  private nameOf(version: ModelVersion): { name?: string } {
    const name = this.leases.get(`${version.modelId}:${version.index}`)?.name;
    return name === undefined ? {} : { name };
  }

  /**
   * Records `version`'s lease (the registry's end epoch, read for this request) and refuses it once its end epoch
   * has begun: 410 `MODEL_EXPIRED`, its loaded session released and its cached file evicted. A version close to its
   * end is warned about (once per epoch).
   */
  private async checkLease(version: ModelVersion, asked: string): Promise<void> {
    const key = `${version.modelId}:${version.index}`;
    const known = this.leases.get(key);
    const name = asked.toLowerCase() === version.modelId.toLowerCase() ? known?.name : asked;
    const lease: Lease = {
      modelId: version.modelId,
      ...(name === undefined ? {} : { name }),
      version: version.index,
      blobId: version.blobId,
      endEpoch: version.endEpoch,
    };
    this.leases.set(key, lease);
    const now = await this.epochNow();
    if ("error" in now) return;
    if (version.endEpoch <= now.epoch) {
      const session = this.sessions.has(version) ? this.sessions.get(version) : undefined;
      this.sessions.delete(version);
      await session?.then((s) => s.release()).catch(() => undefined);
      await this.cache.evict(version.blobId);
      this.warn(lease, now);
      throw new ModelExpiredError(
        version.blobId,
        version.endEpoch,
        now.epoch,
        { id: version.modelId, version: version.index, ...(name === undefined ? {} : { name }) },
        describeEpoch(now, version.endEpoch),
      );
    }
    if (version.endEpoch - now.epoch <= this.leaseWarnEpochs) this.warn(lease, now);
  }

  /** Logs the lease warning of `lease` once per epoch. */
  private warn(lease: Lease, now: EpochNow): void {
    const key = `${lease.modelId}:${lease.version}:${now.epoch}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    const left = lease.endEpoch - now.epoch;
    const which = `model ${lease.name === undefined ? lease.modelId : `"${lease.name}" (${lease.modelId})`} version ${lease.version}`;
    this.options.log?.(
      left <= 0
        ? `warning: ${which}: its Walrus storage expired at ${describeEpoch(now, lease.endEpoch)}; the node refuses ` +
            "it (410 MODEL_EXPIRED): publish a new version, or record a renewal made before expiry (extendVersion)"
        : `warning: ${which}: its Walrus storage ends at ${describeEpoch(now, lease.endEpoch)}, in ${left} ` +
            `epoch${left === 1 ? "" : "s"} (current epoch ${now.epoch}); renew it before then with \`strata keeper\` ` +
            "(or ModelRegistry.extendVersion after storing it again with more epochs), or the node stops serving it",
    );
  }

  /**
   * The storage part of `/v1/health`: the current epoch and the versions served or cached whose storage ends within
   * `leaseWarnEpochs` epochs (each warned about in the log once per epoch). Cached files past their lease are evicted.
   */
  async storageHealth(): Promise<StorageHealth> {
    const now = await this.epochNow();
    const base = { leaseWarnEpochs: this.leaseWarnEpochs };
    if ("error" in now) return { currentEpoch: null, ...base, expiringSoon: [], error: now.error };
    const leases = new Map(this.leases);
    for (const entry of await this.cache.list()) {
      if (entry.model === undefined || entry.endEpoch === undefined) continue;
      const key = `${entry.model.id}:${entry.model.version}`;
      if (leases.has(key)) continue;
      leases.set(key, {
        modelId: entry.model.id,
        ...(entry.model.name === undefined ? {} : { name: entry.model.name }),
        version: entry.model.version,
        blobId: entry.blobId,
        endEpoch: entry.endEpoch,
      });
    }
    const expiringSoon: ExpiringVersion[] = [];
    for (const [key, known] of leases) {
      if (known.endEpoch - now.epoch > this.leaseWarnEpochs) continue;
      // Close to its end by what the node last read: the registry may record a renewal since (re-read once a minute).
      const lease = await this.leaseReads
        .get({ id: known.modelId as ModelId, version: known.version })
        .then((v): Lease => ({ ...known, endEpoch: v.endEpoch }))
        .catch(() => known);
      if (this.leases.has(key)) this.leases.set(key, lease);
      const epochsLeft = lease.endEpoch - now.epoch;
      if (epochsLeft <= 0) await this.cache.evict(lease.blobId);
      if (epochsLeft > this.leaseWarnEpochs) continue;
      this.warn(lease, now);
      expiringSoon.push({
        modelId: lease.modelId,
        ...(lease.name === undefined ? {} : { name: lease.name }),
        version: lease.version,
        endEpoch: lease.endEpoch,
        epochsLeft,
        ...(epochsLeft <= 0 ? { expired: true as const } : {}),
      });
    }
    // Files cached without a model version named: by the lease recorded with them.
    for (const entry of await this.cache.list()) {
      if (entry.model === undefined && entry.endEpoch !== undefined && entry.endEpoch <= now.epoch) {
        await this.cache.evict(entry.blobId);
      }
    }
    expiringSoon.sort((a, b) => a.epochsLeft - b.epochsLeft || a.modelId.localeCompare(b.modelId));
    return {
      currentEpoch: now.epoch,
      epochStartedAt: new Date(now.epochStartMs - (now.networkMs - now.wallMs)).toISOString(),
      ...base,
      expiringSoon,
    };
  }

  /** Why the node refuses new work right now (503), or `undefined` while it accepts it. */
  refusal(): NodeUnavailableError | undefined {
    if (this.closing)
      return new NodeUnavailableError("SHUTTING_DOWN", "the node is shutting down: retry on another node");
    const outbox = this.outbox.refusal();
    if (outbox) return outbox;
    const { chain, anchorer, disk } = this.probes;
    const downFor = chain.ok ? 0 : Date.now() - (chain.lastOkAt ?? this.started);
    if (!chain.ok && downFor >= (this.options.chainDownMs ?? 30_000)) {
      return new NodeUnavailableError(
        "CHAIN_UNAVAILABLE",
        `the chain has not answered for ${Math.round(downFor / 1000)} s (${chain.error}): the node cannot anchor ` +
          "proofs, so it accepts no work; check the RPC behind --rpc",
      );
    }
    if (anchorer.active === false) {
      return new NodeUnavailableError(
        "NODE_NOT_ACTIVE",
        `${anchorer.error}: its proofs could never be anchored; ask the registry admin to admit it`,
      );
    }
    if (!disk.ok) {
      return new NodeUnavailableError(
        "DISK_FULL",
        `the node's disk is nearly full (${disk.error}): free space so that accepted proofs can be journalled`,
      );
    }
    return undefined;
  }

  /** Resolves `model` (and `version`, or the latest non-deprecated one) on-chain. */
  async resolve(model: string, version?: number): Promise<ModelVersion> {
    try {
      const modelId = await this.modelIds.get(model);
      if (version !== undefined) return await this.options.client.models.getVersion(modelId, version);
      return await this.latest.get(modelId);
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw new NodeError("INVALID_MODEL_REF", error.message);
      if (
        error instanceof UnknownModelError ||
        error instanceof UnknownVersionError ||
        error instanceof NoActiveVersionError
      ) {
        throw new ModelNotFoundError(model, error.message);
      }
      if (isChainUnavailable(error))
        throw new ChainUnavailableError((error as Error).message.split("\n")[0].slice(0, 300));
      throw error;
    }
  }

  /** The session of `version`'s model file: fetched and verified through the cache, loaded once per model blob. */
  async session(version: ModelVersion): Promise<ModelSession> {
    return this.sessions.get(version);
  }

  /**
   * Runs `request` and answers once its signed proof is journalled. `options.requestId` is the proof's request id
   * (default a random one: an on-chain request's id binds the proof to it); `options.onSigned` gets the signed document.
   */
  async infer(request: InferRequest, options: InferOptions = {}): Promise<InferResponse> {
    this.metricsState.requests++;
    const t0 = performance.now();
    const privacy = privacyOf(request);
    this.metricsState.byPrivacy[privacy]++;
    try {
      const refused = this.refusal();
      if (refused) throw refused;
      // Refuse (413) an inference whose inputs alone could never fit in a quilt, before running it.
      this.outbox.checkFitsQuilt(inputBytes(request), "a quilt holding the inputs of this inference");
      const version = await this.resolve(request.model, request.version);
      await this.checkLease(version, request.model);
      const t1 = performance.now();
      const session = await this.session(version);
      const t2 = performance.now();
      // In private modes nothing derived from the tensors leaves in an error: the reasons are withheld.
      const redacted = <T>(run: () => T) => (privacy === "public" ? run() : redact(run));
      const inputs = await redacted(() =>
        Object.entries(request.inputs).map(([name, json]) => tensorFromJson(name, json)),
      );
      const outputs = await redacted(() => session.run(inputs));
      const t3 = performance.now();
      const params = {
        domain: this.options.client.proofDomain,
        model: proofModelOf(version),
        inputs: inputs.map(binaryProofTensor),
        outputs: outputs.map(binaryProofTensor),
        runtime: NODE_RUNTIME,
        node: this.address,
        requestId: options.requestId,
      };
      let doc: InferenceProof | PrivateInferenceProof;
      let commitment: Commitment;
      if (privacy === "public") {
        // A v2 proof: tensors as raw little-endian bytes (no base64), hashed once, journalled and stored as they are.
        const unsigned = buildProof(params, { version: ProofVersion.V2 });
        const signed = await signProofWithCommitment(unsigned, this.options.signer);
        options.onSigned?.(signed.proof, signed.commitment);
        ({ proof: doc, commitment } = signed);
      } else {
        // A v3 proof: tensor hashes only; encrypted, the envelope sealed to the requester is the only data in it.
        const unsigned = await redacted(() =>
          buildPrivateProof(
            params,
            privacy === "hashed" ? { privacy } : { privacy, recipient: request.recipient as string },
          ),
        );
        const signed = await signPrivateProof(unsigned, this.options.signer);
        options.onSignedPrivate?.(signed.proof, signed.commitment);
        ({ proof: doc, commitment } = signed);
      }
      // The journal writes and syncs the proof on libuv's threads; the answer's outputs are converted meanwhile.
      const durable = this.outbox.accept(doc, commitment);
      let outputsJson: InferResponse["outputs"];
      try {
        outputsJson = Object.fromEntries(outputs.map((o) => [o.name, tensorToJson(o)]));
      } finally {
        await durable; // answer (or fail) only once the proof is durable
      }
      const t4 = performance.now();
      this.metricsState.inferMsTotal += t4 - t0;
      return {
        model: {
          id: version.modelId,
          version: version.index,
          blobId: version.blobId,
          sha256: version.sha256,
        },
        outputs: outputsJson,
        proof: {
          ...(await this.outbox.status(commitment))!,
          requestId: doc.requestId,
          node: doc.node,
          timestamp: doc.timestamp,
          privacy,
        },
        timings: { resolveMs: t1 - t0, loadMs: t2 - t1, runMs: t3 - t2, proofMs: t4 - t3 },
      };
    } catch (error) {
      this.metricsState.failures++;
      throw error;
    }
  }

  async proofStatus(commitment: string): Promise<ProofStatus> {
    // The HTTP route checks the form; a programmatic caller gets the index's 400 for a malformed commitment, as before.
    if (!isBytes32Hex(commitment)) throw new InvalidIndexKeyError("commitment", commitment);
    const status = await this.outbox.status(toCommitment(commitment));
    if (!status) {
      throw new NodeError("PROOF_NOT_FOUND", `this node has no proof ${commitment}; check the commitment`);
    }
    return status;
  }

  async health(): Promise<Record<string, unknown>> {
    const refused = this.refusal();
    const quarantined = this.outbox.quarantined();
    const { chain, anchorer, disk, store } = this.probes;
    return {
      status: refused ? "unavailable" : quarantined.length > 0 || !chain.ok || !store.ok ? "degraded" : "ok",
      ...(refused ? { reason: { code: refused.code, message: refused.message } } : {}),
      node: this.address,
      checks: {
        chain: probeJson(chain),
        anchorer: probeJson(anchorer),
        disk: { ...probeJson(disk), freeBytes: disk.freeBytes },
        store: probeJson(store),
      },
      quarantined,
      chainId: this.options.client.deployment.chainId,
      registries: this.options.client.deployment.contracts,
      runtime: NODE_RUNTIME,
      outbox: this.outbox.counts(),
      storage: await this.storageHealth(),
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
    };
  }

  metrics(): string {
    const { waiting, sealed, quarantined, anchoredBatches, backlogBytes } = this.outbox.counts();
    const lines = [
      ["strata_infer_requests_total", this.metricsState.requests],
      ["strata_infer_failures_total", this.metricsState.failures],
      ["strata_infer_seconds_total", this.metricsState.inferMsTotal / 1000],
      ...(["public", "hashed", "encrypted"] as const).map((mode) => [
        `strata_infer_requests_by_privacy_total{privacy="${mode}"}`,
        this.metricsState.byPrivacy[mode],
      ]),
      ["strata_proofs_accepted_total", this.outbox.stats.accepted],
      ["strata_proofs_anchored_total", this.outbox.stats.anchoredProofs],
      ["strata_batches_anchored_total", anchoredBatches],
      ["strata_outbox_waiting", waiting],
      ["strata_outbox_sealed", sealed],
      ["strata_outbox_quarantined", quarantined],
      ["strata_outbox_backlog_bytes", backlogBytes],
      ["strata_outbox_resealed_total", this.outbox.stats.resealed],
      ["strata_outbox_transactions_resent_total", this.outbox.stats.resent],
      ["strata_accepting", this.refusal() ? 0 : 1],
      ["strata_chain_up", this.probes.chain.ok ? 1 : 0],
      ["strata_store_up", this.probes.store.ok ? 1 : 0],
      ["strata_outbox_flush_errors_total", this.outbox.stats.flushErrors],
      ["strata_model_downloads_total", this.cache.downloads.count],
      ["strata_model_download_bytes_total", this.cache.downloads.bytes],
    ];
    return lines.map(([name, value]) => `${name} ${value}`).join("\n") + "\n";
  }

  /** Stops the node: no new work, the batch in progress gets `graceMs` (default 10 s), then everything closes. */
  async close(graceMs?: number): Promise<void> {
    this.closing = true;
    clearInterval(this.monitor);
    await this.outbox.close(graceMs);
    for (const session of this.sessions.clear()) await session.then((s) => s.release()).catch(() => undefined);
  }
}

/** How long one reading of the network's clock may take. */
const CLOCK_TIMEOUT_MS = 2_000;

/** Reads `clock` within `ms`, or says why it could not (no clock, an error, no answer in time). */
async function readClockBounded(clock: NetworkClock | undefined, ms: number): Promise<EpochNow | { error: string }> {
  if (clock === undefined)
    return { error: "no Walrus epoch clock: the node has no publisher URL and no clock was given" };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ error: string }>((resolve) => {
    timer = setTimeout(() => resolve({ error: `the clock of ${clock.network} did not answer within ${ms} ms` }), ms);
  });
  try {
    return await Promise.race([clock.now(), late]);
  } catch (error) {
    return { error: `the clock of ${clock.network} cannot be read: ${(error as Error).message.split("\n")[0]}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A request's privacy mode (default public), checked with its recipient: an encrypted request names the public key to
 * seal to (`strata-pk1:`), and only an encrypted one does.
 */
function privacyOf(request: InferRequest): PrivacyMode {
  const privacy = request.privacy ?? "public";
  if (privacy !== "public" && privacy !== "hashed" && privacy !== "encrypted") {
    throw new NodeError("BAD_REQUEST", `privacy must be "public", "hashed" or "encrypted", got ${String(privacy)}`);
  }
  if (privacy === "encrypted") {
    if (request.recipient === undefined) {
      throw new NodeError(
        "BAD_REQUEST",
        'an encrypted request names its recipient: the requester\'s public key ("recipient": "strata-pk1:...")',
      );
    }
    parsePrivacyPublicKey(request.recipient);
  } else if (request.recipient !== undefined) {
    throw new NodeError("BAD_REQUEST", `recipient is only for privacy "encrypted" (this request is ${privacy})`);
  }
  return privacy;
}

/**
 * Runs `run`, turning any error into a {@link RedactedError} of the same code whose message holds nothing of the
 * request's tensors (input parsing and ONNX Runtime errors may quote values or shapes).
 */
async function redact<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const code = error instanceof StrataError ? error.code : "INTERNAL";
    const input = (error as { input?: unknown }).input;
    throw new RedactedError(code, typeof input === "string" ? input : undefined);
  }
}

function probeJson(probe: Probe): Record<string, unknown> {
  return {
    ok: probe.ok,
    ...(probe.checkedAt ? { checkedAt: new Date(probe.checkedAt).toISOString() } : {}),
    ...(probe.lastOkAt ? { lastOkAt: new Date(probe.lastOkAt).toISOString() } : {}),
    ...(probe.error ? { error: probe.error } : {}),
  };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The proof form of a decoded tensor: its little-endian element bytes (a v2 proof's binary tensor). On a little-endian
 * host a numeric tensor's array already holds them: a checked view, no copy (buildProof copies what it keeps).
 */
function binaryProofTensor(tensor: DecodedTensor) {
  if (LITTLE_ENDIAN_HOST && tensor.dtype !== "string") {
    const values = tensor.values as Exclude<DecodedTensor["values"], string[]>;
    const view = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    return binaryTensor(tensor.name, tensor.dtype, tensor.dims, view);
  }
  return encodeBinaryTensor(tensor.name, tensor.dtype, tensor.dims, tensor.values);
}

/**
 * A lower bound of the bytes an inference's inputs take in its (binary) proof: 3 bytes per 4 of base64 data, at least
 * one byte per element of a JSON array.
 */
function inputBytes(request: InferRequest): number {
  let bytes = 0;
  for (const tensor of Object.values(request.inputs)) {
    const data = (tensor as { data?: unknown }).data;
    if (typeof data === "string") bytes += Math.max(0, Math.floor((data.length * 3) / 4) - 2);
    else if (Array.isArray(data)) bytes += data.length;
  }
  return bytes;
}
