import { join } from "node:path";
import { getAddress, ZeroHash } from "ethers";
import { BlockRange, toBatchRoot, toCommitment, type StrataClient } from "@strata/core";
import { ModelCache } from "@strata/runtime";
import type { NetworkClock, WalrusClient } from "@strata/walrus";
import { BatchPipeline } from "./batch";
import { VerifierContext } from "./context";
import {
  asServiceError,
  firstLine,
  ServiceUnreachableError,
  usage,
  VerificationFailedError,
  VerifierUsageError,
} from "./errors";
import { LocateStep } from "./locate";
import { ProofPipeline, type ProofRecord } from "./pipeline";
import type { Tolerance } from "./reexecute";
import type { PrivateReveal } from "./steps";
import type { BatchReport, VerificationReport } from "./report";

export type { ProofRecord } from "./pipeline";

/** How a {@link Verifier} reaches the chain, Walrus and (optionally) a node, and how far it searches. */
export interface VerifierOptions {
  /** Registry clients of the deployment, connected to a provider (reads only). */
  client: StrataClient;
  /** Reads blobs from aggregators; each read is verified by recomputing the Blob ID (no sha256 is on-chain). */
  walrus: WalrusClient;
  /** A node to ask where a commitment's batch is (`GET /v1/proofs/:commitment`): a hint, verified independently. */
  nodeUrl?: string;
  /** Where re-executed models are cached (verified by sha256); default `.strata/verifier/models` under the cwd. */
  modelCacheDir?: string;
  /** A model cache to share (overrides `modelCacheDir`). */
  modelCache?: ModelCache;
  /** How many of the newest anchored or announced batches an event scan reads, at most (default 256). */
  maxScanBatches?: number;
  /** How many events (single anchors, batch anchors and announcements) a locate step considers, at most (default 10,000). */
  maxScanEvents?: number;
  /**
   * The largest proof or batch blob the verifier reads, in bytes (default 64 MiB): a larger one (by its Content-Length
   * or as it streams) is not read, and the step says so, naming this cap.
   */
  maxBlobBytes?: number;
  /** Blocks per `eth_getLogs` query of an event scan (default: the client's `maxBlockRange`, else 10,000). */
  scanBlockRange?: number;
  /**
   * How far (seconds) a proof's timestamp, set by the node's clock, may be from the chain's clock when checking that
   * the node was active when it signed (default 300).
   */
  clockSkewSeconds?: number;
  /** How long the chain's first answer and a node's answer may take (default 10,000 ms). */
  timeoutMs?: number;
  /**
   * The whole-blob audit, by default for every proof (see {@link VerifyProofOptions.full}); default false: a proof in a
   * quilt is verified from its patch alone.
   */
  full?: boolean;
  /**
   * The Walrus network's epoch clock (`networkClockFor(config)`, `localNetworkClock(url)`): with it every report says
   * until when (epoch and approximate date) the proof's blobs and the model are stored, and a blob that is not found
   * once its recorded end epoch has begun fails as expired. Without it (or when it cannot be read) reports give end
   * epochs without dates, and "expired" cannot be told from "not found".
   */
  clock?: NetworkClock;
}

/** What to verify, beyond the commitment. */
export interface VerifyProofOptions {
  /** The batch root the proof is anchored under (skips finding the batch). */
  root?: string;
  /** The proof's index in its batch (checked against the batch's tree). */
  index?: number;
  /** A node to ask for the batch root; overrides the verifier's `nodeUrl`; `false` asks none. */
  nodeUrl?: string | false;
  /** Fetch the model and re-run the inference with the recorded inputs. */
  reexecute?: boolean;
  /**
   * A private proof's data, for its re-execution (implies `reexecute`): `{ inputs, outputs }` for a hashed proof (they
   * must match the committed hashes first), `{ privateKey }` or `{ disclosureKey }` for an encrypted one. Without it a
   * private proof's re-execution is reported `unavailable` (not possible without the data).
   */
  reveal?: PrivateReveal;
  /** Compare re-executed outputs within this tolerance instead of bit for bit (either part defaults to 0). */
  tolerance?: Partial<Tolerance>;
  /**
   * A proof in a quilt: also read the whole quilt, check it against its Blob ID and the proof's patch against it (a
   * whole-blob audit; without it only the proof's patch and the quilt's index patch are read, and the patch's integrity
   * is its commitment under the anchored root). Default: the verifier's `full`.
   */
  full?: boolean;
}

const DEFAULT_SCAN_BATCHES = 256;
const DEFAULT_SCAN_EVENTS = 10_000;
const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 * 1024;
const DEFAULT_BLOCK_RANGE = 10_000;
const DEFAULT_SKEW = 300;
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Verifies inference proofs end to end against one deployment: the chain record, the Walrus blob and its integrity, the
 * commitment, Merkle inclusion, the node's signature and activity, the domain, the model reference and, on request,
 * a re-execution. Reads are cached for the life of the instance (blobs, model versions, node histories, loaded
 * models): use one verifier per audit run, and {@link Verifier.close} it to release loaded models.
 *
 * A verification is a pipeline of steps (`steps.ts`, run by `pipeline.ts`; `batch.ts` for whole batches); where the
 * proof lives is found by the locate step (`locate.ts`), and how it is anchored is a proof source (`sources.ts`).
 */
export class Verifier {
  readonly client: StrataClient;
  readonly walrus: WalrusClient;
  readonly nodeUrl: string | undefined;
  readonly maxScanBatches: number;
  readonly maxScanEvents: number;
  readonly maxBlobBytes: number;
  readonly scanBlockRange: number;
  readonly clockSkewSeconds: number;
  readonly timeoutMs: number;
  readonly full: boolean;
  readonly clock: NetworkClock | undefined;
  /** The chain RPC URL, when the provider is a JSON-RPC one (for messages). */
  readonly chainUrl: string | undefined;
  private readonly modelCacheOption: ModelCache | undefined;
  private readonly modelCacheDir: string;
  private modelCacheInstance: ModelCache | undefined;
  private ready: Promise<void> | undefined;
  private readonly ctx: VerifierContext;
  private readonly proofs: ProofPipeline;
  private readonly batches: BatchPipeline;

  constructor(options: VerifierOptions) {
    this.client = options.client;
    this.walrus = options.walrus;
    this.nodeUrl = options.nodeUrl?.replace(/\/+$/, "");
    this.maxScanBatches = positive("maxScanBatches", options.maxScanBatches ?? DEFAULT_SCAN_BATCHES);
    this.maxScanEvents = positive("maxScanEvents", options.maxScanEvents ?? DEFAULT_SCAN_EVENTS);
    this.maxBlobBytes = positive("maxBlobBytes", options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES);
    this.scanBlockRange = positive(
      "scanBlockRange",
      options.scanBlockRange ?? options.client.proofs.options.maxBlockRange ?? DEFAULT_BLOCK_RANGE,
    );
    this.clockSkewSeconds = nonNegative("clockSkewSeconds", options.clockSkewSeconds ?? DEFAULT_SKEW);
    this.timeoutMs = positive("timeoutMs", options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.full = options.full === true;
    this.clock = options.clock;
    const provider = options.client.proofs.runner?.provider;
    if (!provider) {
      throw new VerifierUsageError("client", "the registry clients have no provider: connect them to one");
    }
    this.chainUrl = options.client.proofs.rpcUrl();
    this.modelCacheOption = options.modelCache;
    this.modelCacheDir = options.modelCacheDir ?? join(process.cwd(), ".strata", "verifier", "models");
    this.ctx = new VerifierContext(this.client, this.walrus, this, () => this.modelCache);
    // The client's learned block range, unless the caller sets one for the search.
    const range =
      options.scanBlockRange === undefined ? this.client.proofs.blockRange : new BlockRange(this.scanBlockRange);
    this.proofs = new ProofPipeline(this.ctx, new LocateStep(this.ctx, range));
    this.batches = new BatchPipeline(this.ctx);
  }

  /**
   * Checks, once per verifier, that the chain answers (within `timeoutMs`), that it is the deployment's chain and that
   * the registries are there. Throws {@link ServiceUnreachableError} or {@link VerifierUsageError}.
   */
  preflight(): Promise<void> {
    this.ready ??= this.checkConnection();
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  private async checkConnection(): Promise<void> {
    const { deployment } = this.client;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ServiceUnreachableError("chain", this.chainUrl, `no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      const chainId = await Promise.race([this.client.proofs.getChainId(), timeout]);
      if (Number(chainId) !== deployment.chainId) {
        throw new VerifierUsageError(
          "deployment",
          `The RPC${this.chainUrl ? ` at ${this.chainUrl}` : ""} serves chain ${chainId}, but the ` +
            `deployment "${deployment.network}" is on chain ${deployment.chainId}: pass the matching --rpc or --deployment`,
        );
      }
      const [missing] = await Promise.race([this.client.missingRegistries(), timeout]);
      if (missing !== undefined) {
        throw new VerifierUsageError(
          "deployment",
          `No ${missing.name} at ${missing.address} on chain ${deployment.chainId}: the deployment file does not ` +
            "match this chain (redeploy, or pass the right --deployment)",
        );
      }
    } catch (error) {
      if (error instanceof VerifierUsageError) throw error;
      // Whatever stops the chain from answering these three questions makes it unreachable for a verification.
      throw (
        asServiceError(error, this.chainUrl) ??
        new ServiceUnreachableError("chain", this.chainUrl, firstLine((error as Error).message), { cause: error })
      );
    } finally {
      clearTimeout(timer);
    }
  }

  // -------------------------------------------------------------------------------------------------------------------

  /**
   * Verifies the proof `commitment`: finds its anchor (a single anchor, the given root, the node's hint, or a scan of
   * the newest `BatchAnchored` events), then runs every check and reports each. Check failures are in the report
   * (`ok: false`); only usage errors and unreachable services throw.
   */
  async verifyProof(commitment: string, options: VerifyProofOptions = {}): Promise<VerificationReport> {
    return this.run(commitment, options, "verify");
  }

  /**
   * The document of the proof `commitment` and where it lives (located and checked up to its commitment). Throws
   * {@link VerificationFailedError} (with the partial report) when it cannot be found or its blob does not check out.
   */
  async showProof(
    commitment: string,
    options: Omit<VerifyProofOptions, "reexecute" | "tolerance" | "reveal"> = {},
  ): Promise<ProofRecord> {
    const record: { value?: ProofRecord } = {};
    const report = await this.run(commitment, options, "show", record);
    if (!report.ok || record.value === undefined) throw new VerificationFailedError(report);
    return record.value;
  }

  private async run(
    commitmentArg: string,
    options: VerifyProofOptions,
    mode: "verify" | "show",
    out?: { value?: ProofRecord },
  ): Promise<VerificationReport> {
    const commitment = usage("commitment", () => toCommitment(commitmentArg, "commitment"));
    if (commitment === ZeroHash) throw new VerifierUsageError("commitment", "The commitment must not be zero");
    const root = options.root === undefined ? undefined : usage("root", () => toBatchRoot(options.root, "batch root"));
    if (options.index !== undefined && (!Number.isSafeInteger(options.index) || options.index < 0)) {
      throw new VerifierUsageError("index", `The index must be a non-negative integer, got ${options.index}`);
    }
    const tolerance = parseTolerance(options.tolerance);
    await this.preflight();
    const request = {
      commitment,
      root,
      index: options.index,
      nodeUrl: options.nodeUrl,
      reexecute: options.reexecute === true || options.reveal !== undefined,
      reveal: options.reveal,
      tolerance,
      full: options.full ?? this.full,
    };
    return this.proofs.run(request, mode, out);
  }

  /**
   * Verifies every proof of the batch `root` with one fetch: the chain record, the blob's integrity, the document
   * (core's `decodeBatch`: every proof's shape and hashes, every commitment against the tree, the tree against its
   * root), the root and count against the chain, one on-chain `isIncluded` spot check (a random proof), then per proof
   * the Merkle inclusion off-chain, the signature by the anchoring node, the node's activity, the domain and the model
   * reference (model versions and the node's history are read once).
   */
  async verifyBatch(rootArg: string, nodeArg?: string): Promise<BatchReport> {
    const root = usage("root", () => toBatchRoot(rootArg, "batch root"));
    if (root === ZeroHash) throw new VerifierUsageError("root", "The batch root must not be zero");
    const node =
      nodeArg === undefined
        ? undefined
        : usage("node", () => {
            try {
              return getAddress(nodeArg);
            } catch {
              throw new VerifierUsageError("node", `The node must be an address, got ${JSON.stringify(nodeArg)}`);
            }
          });
    await this.preflight();
    return this.batches.run(root, node);
  }

  /** The model cache of re-executions (created on first use). */
  get modelCache(): ModelCache {
    this.modelCacheInstance ??= this.modelCacheOption ?? new ModelCache(this.modelCacheDir, this.walrus);
    return this.modelCacheInstance;
  }

  /** Releases loaded models. The verifier stays usable (models load again on demand). */
  async close(): Promise<void> {
    await this.ctx.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------------

function parseTolerance(tolerance: Partial<Tolerance> | undefined): Tolerance | undefined {
  if (tolerance === undefined || (tolerance.absolute === undefined && tolerance.relative === undefined)) {
    return undefined;
  }
  const absolute = tolerance.absolute ?? 0;
  const relative = tolerance.relative ?? 0;
  for (const [name, value] of [
    ["absolute tolerance", absolute],
    ["relative tolerance", relative],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new VerifierUsageError("tolerance", `The ${name} must be a finite number >= 0, got ${value}`);
    }
  }
  return { absolute, relative };
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new VerifierUsageError(name, `${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new VerifierUsageError(name, `${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}
