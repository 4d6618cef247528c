import { randomInt } from "node:crypto";
import { join } from "node:path";
import { getAddress, JsonRpcProvider, ZeroHash, type Provider } from "ethers";
import {
  activeAtPosition,
  decodeBatch,
  decodeProof,
  decodeTensor,
  isBytes32Hex,
  NoActiveVersionError,
  StrataError,
  toBytes32,
  UnknownModelError,
  UnknownVersionError,
  validateProofForCommitment,
  type ActiveInterval,
  type Bytes32,
  type InferenceProof,
  type ModelVersion,
  type ProofBatch,
  type StrataClient,
} from "@strata/core";
import { ModelCache, ModelSession, StrataRuntimeError } from "@strata/runtime";
import {
  BlobIntegrityError,
  BlobNotFoundError,
  BlobTooLargeError,
  blobIdFromBytes32Hex,
  type BlobIdString,
  type WalrusClient,
} from "@strata/walrus";
import {
  checkActivity,
  checkDomain,
  checkModel,
  checkSignature,
  describeIntervals,
  fail,
  pass,
  type Anchor,
  type CheckResult,
} from "./checks";
import {
  BatchContainerError,
  merkleProofAt,
  provesInclusion,
  readBatchContainer,
  type BatchContainer,
} from "./container";
import {
  asServiceError,
  firstLine,
  ServiceUnreachableError,
  usage,
  VerificationFailedError,
  VerifierUsageError,
} from "./errors";
import { compareOutputs, compareRuntime, localRuntime, type Tolerance } from "./reexecute";
import { recoveryNote } from "./signature";
import {
  isoTime,
  short,
  STEPS,
  type BatchProofOutcome,
  type BatchReport,
  type BatchStepName,
  type FoundBy,
  type StepName,
  type StepResult,
  type StepValue,
  type VerificationReport,
} from "./report";

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
  /** Compare re-executed outputs within this tolerance instead of bit for bit (either part defaults to 0). */
  tolerance?: Partial<Tolerance>;
}

/** An anchored proof's document and where it lives: what `strata proof show` prints. */
export interface ProofRecord {
  commitment: Bytes32;
  foundBy: FoundBy;
  anchor: Anchor;
  /** The proof's position in its batch. */
  index?: number;
  /** The document as stored (its commitment checked against the anchored one). */
  document: InferenceProof;
  /** Size of the proof or batch blob in bytes. */
  blobSize: number;
  /** The steps that found and checked it (locate .. commitment). */
  steps: StepResult[];
}

/** A step's outcome plus the value it produced for later steps (`undefined` unless it passed). */
type Outcome<T> = CheckResult & { value?: T };

/**
 * Where the anchor of a commitment is, and by whom: the proof's signer (the `node` its document commits to), or
 * `undefined` when no readable copy of the proof named one (a caller's root whose blobs are all unreadable).
 */
type Located =
  | { kind: "single"; foundBy: FoundBy; node: string }
  | { kind: "batch"; foundBy: FoundBy; root: Bytes32; node: string | undefined };

/** A fetched blob: its bytes (already verified against the Blob ID) and, for batches, the parsed container. */
interface FetchedBlob {
  bytes: Uint8Array;
  container?: BatchContainer | BatchContainerError;
}

/** The document located for a commitment: the proof (unchecked for a batch) and its position. */
interface Document {
  raw: unknown;
  index?: number;
}

const DEFAULT_SCAN_BATCHES = 256;
const DEFAULT_SCAN_EVENTS = 10_000;
const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 * 1024;
const DEFAULT_BLOCK_RANGE = 10_000;
const DEFAULT_SKEW = 300;
const DEFAULT_TIMEOUT_MS = 10_000;
/** Decoded blobs kept in memory per verifier (batch blobs are megabytes). */
const BLOB_CACHE_ENTRIES = 8;

/**
 * Verifies inference proofs end to end against one deployment: the chain record, the Walrus blob and its integrity, the
 * commitment, Merkle inclusion, the node's signature and activity, the domain, the model reference and, on request,
 * a re-execution. Reads are cached for the life of the instance (blobs, model versions, node histories, loaded
 * models): use one verifier per audit run, and {@link Verifier.close} it to release loaded models.
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
  /** The chain RPC URL, when the provider is a JSON-RPC one (for messages). */
  readonly chainUrl: string | undefined;
  private readonly provider: Provider;
  private readonly modelCacheOption: ModelCache | undefined;
  private readonly modelCacheDir: string;
  private modelCacheInstance: ModelCache | undefined;
  private ready: Promise<void> | undefined;
  private readonly blobs = new Map<string, Promise<FetchedBlob>>();
  private readonly versions = new Map<string, Promise<ModelVersion | Error>>();
  private readonly intervals = new Map<string, Promise<ActiveInterval[]>>();
  private readonly admitted = new Map<string, Promise<boolean>>();
  private readonly sessions = new Map<string, Promise<ModelSession>>();

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
    const provider = options.client.proofs.runner?.provider;
    if (!provider) {
      throw new VerifierUsageError("client", "the registry clients have no provider: connect them to one");
    }
    this.provider = provider;
    this.chainUrl = provider instanceof JsonRpcProvider ? provider._getConnection().url : undefined;
    this.modelCacheOption = options.modelCache;
    this.modelCacheDir = options.modelCacheDir ?? join(process.cwd(), ".strata", "verifier", "models");
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
      const network = await Promise.race([this.provider.getNetwork(), timeout]);
      if (Number(network.chainId) !== deployment.chainId) {
        throw new VerifierUsageError(
          "deployment",
          `The RPC${this.chainUrl ? ` at ${this.chainUrl}` : ""} serves chain ${network.chainId}, but the ` +
            `deployment "${deployment.network}" is on chain ${deployment.chainId}: pass the matching --rpc or --deployment`,
        );
      }
      for (const [name, address] of Object.entries(deployment.contracts)) {
        const code = await Promise.race([this.provider.getCode(address), timeout]);
        if (code === "0x") {
          throw new VerifierUsageError(
            "deployment",
            `No ${name} at ${address} on chain ${deployment.chainId}: the deployment file does not match this ` +
              "chain (redeploy, or pass the right --deployment)",
          );
        }
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
  // One proof

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
    options: Omit<VerifyProofOptions, "reexecute" | "tolerance"> = {},
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
    const commitment = usage("commitment", () => toBytes32(commitmentArg, "commitment"));
    if (commitment === ZeroHash) throw new VerifierUsageError("commitment", "The commitment must not be zero");
    const rootArg = options.root === undefined ? undefined : usage("root", () => toBytes32(options.root, "batch root"));
    if (options.index !== undefined && (!Number.isSafeInteger(options.index) || options.index < 0)) {
      throw new VerifierUsageError("index", `The index must be a non-negative integer, got ${options.index}`);
    }
    const tolerance = parseTolerance(options.tolerance);
    await this.preflight();

    const started = performance.now();
    const steps: StepResult[] = [];
    const timings: Partial<Record<StepName, number>> = {};
    // What the steps found so far, for the report.
    const found: { located?: Located; index?: number } = {};
    const report = (): VerificationReport => ({
      ok: steps.every((s) => s.status !== "fail"),
      commitment,
      ...(found.located?.kind === "batch" ? { root: found.located.root } : {}),
      ...(found.index !== undefined ? { index: found.index } : {}),
      ...(found.located ? { foundBy: found.located.foundBy } : {}),
      steps,
      timings: { totalMs: performance.now() - started, steps: timings },
    });
    const step = async <T>(name: StepName, check: () => Outcome<T> | Promise<Outcome<T>>): Promise<T | undefined> => {
      const { outcome, ms } = await this.runCheck(check);
      steps.push({ step: name, status: outcome.status, detail: outcome.detail, values: outcome.values });
      timings[name] = ms;
      return outcome.status === "pass" ? outcome.value : undefined;
    };
    const stopAt = mode === "show" ? "commitment" : undefined;
    const skipRest = (reason: string): VerificationReport => {
      const done = new Set(steps.map((s) => s.step));
      const order = STEPS.slice(0, stopAt === undefined ? undefined : STEPS.indexOf(stopAt) + 1);
      for (const name of order) {
        if (!done.has(name)) steps.push({ step: name, status: "skip", detail: `skipped: ${reason}`, values: {} });
      }
      return report();
    };

    const located = await step("locate", () => this.locate(commitment, rootArg, options));
    found.located = located;
    if (!located) return skipRest("no anchor was found");

    const anchor = await step("chain-record", () =>
      located.kind === "single"
        ? this.singleRecord(commitment, located.node)
        : this.batchRecord(located.root, located.node),
    );
    if (!anchor) return skipRest("there is no anchor to check");

    const fetched = await step("blob", () => this.blobStep(anchor, located.foundBy));
    if (!fetched) return skipRest("the anchored blob could not be read");

    const document = await step("document", () => this.documentStep(anchor, fetched, commitment));
    found.index = document?.index;
    if (!document) return skipRest("the blob is not a readable document");

    if (anchor.kind === "batch") {
      const included = await step("inclusion", () => this.inclusionStep(anchor, fetched, commitment, options.index));
      // A wrong caller index fails the step, but the proof's true position still gives a document to check.
      if (included === undefined && document.raw === undefined) return skipRest("the commitment is not in the batch");
    } else {
      const ignored = options.index === undefined ? "" : ` (the index ${options.index} given does not apply)`;
      steps.push({
        step: "inclusion",
        status: "skip",
        detail: `anchored singly: no batch, no Merkle proof${ignored}`,
        values: {},
      });
    }

    const doc = await step("commitment", () => this.commitmentStep(document.raw, commitment, anchor));
    if (!doc) return skipRest("the document is not the one anchored");

    if (mode === "show") {
      if (out) {
        out.value = {
          commitment,
          foundBy: located.foundBy,
          anchor,
          ...(document.index === undefined ? {} : { index: document.index }),
          document: doc,
          blobSize: fetched.bytes.byteLength,
          steps,
        };
      }
      return report();
    }

    await step("signature", () => this.signatureStep(doc, commitment, anchor));
    await step("node-active", async () =>
      checkActivity(doc, anchor, await this.nodeIntervals(anchor.node), this.clockSkewSeconds),
    );
    await step("domain", () => checkDomain(doc, this.client.proofDomain));
    const version = await step("model", async (): Promise<Outcome<ModelVersion>> => {
      const v = await this.modelVersion(doc.model.id, doc.model.version);
      const result = checkModel(doc, v);
      return v instanceof Error ? result : { ...result, value: v };
    });

    if (!options.reexecute) {
      const reason = "not requested (re-execution is optional)";
      steps.push({ step: "runtime", status: "skip", detail: reason, values: {} });
      steps.push({ step: "reexecution", status: "skip", detail: reason, values: {} });
      return report();
    }
    await step("runtime", () => this.runtimeStep(doc, tolerance));
    if (!version) {
      steps.push({
        step: "reexecution",
        status: "skip",
        detail: "skipped: the proof's model does not match the registry, so there is no model to re-run",
        values: {},
      });
      return report();
    }
    await step("reexecution", () => this.reexecutionStep(doc, version, tolerance));
    return report();
  }

  // Steps -------------------------------------------------------------------------------------------------------------

  /**
   * Finds the anchor of `commitment` made by its signer: the `node` of the proof document, read from any copy that
   * commits to it. Anchors are keyed by node, and any admitted node may anchor a copy of a public proof or re-package
   * it in a batch of its own, so only the signer's anchors count: single anchors (`ProofAnchored` filtered on the
   * signer's topic), the caller's root or the node's hint (as the signer referenced it), else a scan of the newest
   * `BatchAnchored` and `BatchAnnounced` events (filtered on the signer once it is known).
   */
  private async locate(
    commitment: Bytes32,
    root: Bytes32 | undefined,
    options: VerifyProofOptions,
  ): Promise<Outcome<Located>> {
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
    const singles = (await this.client.proofs.proofReferences(commitment)).slice(0, this.maxScanEvents);
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
    const nodeUrl = options.nodeUrl === false ? undefined : (options.nodeUrl?.replace(/\/+$/, "") ?? this.nodeUrl);
    if (nodeUrl !== undefined) {
      const hint = await this.askNode(nodeUrl, commitment);
      if (hint.root !== undefined) {
        const hinted =
          signer ?? (await this.signerUnderRoot(hint.root, commitment, notes)) ?? (await this.anchoringNode(hint.root));
        const own = hinted === undefined ? null : await this.client.proofs.batchReference(hint.root, hinted);
        if (hinted !== undefined && own !== null) {
          return {
            ...pass(`${hint.note} (a hint: everything below is checked independently)`, {
              foundBy: "node-hint",
              root: hint.root,
              nodeUrl,
              signer: hinted,
            }),
            value: { kind: "batch", foundBy: "node-hint", root: hint.root, node: hinted },
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
            `BatchAnchored and BatchAnnounced events (${scan.scanned} batch${scan.scanned === 1 ? "" : "es"} read)` +
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
        `${this.maxScanBatches}) holds it${unreadable}${cap}` +
        `${notes.length ? `; ${notes.join("; ")}` : ""}. Pass --root if you know its batch`,
      { ...values, capped: scan.capped ?? null },
    );
  }

  /** The node that anchored `root` first (announcing it, failing that), or undefined when no node referenced it. */
  private async anchoringNode(root: Bytes32): Promise<string | undefined> {
    const references = await this.client.proofs.batchReferences(root);
    const reference = references.find((r) => r.anchored) ?? references[0];
    return reference === undefined ? undefined : getAddress(reference.node);
  }

  /** The signer of `commitment` read from the proof blob `blobIdHex`, or undefined (unreadable, not committing). */
  private async signerInProofBlob(
    blobIdHex: string,
    commitment: Bytes32,
    notes: string[],
  ): Promise<string | undefined> {
    const blobId = blobIdFromBytes32Hex(blobIdHex);
    let fetched: FetchedBlob;
    try {
      fetched = await this.fetchBlob(blobId, false);
    } catch (error) {
      const why = blobProblem(error);
      if (why === undefined) throw error;
      notes.push(`proof blob ${blobId}: ${why}`);
      return undefined;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fetched.bytes));
    } catch {
      return undefined;
    }
    return signerOf(raw, commitment);
  }

  /** The signer of `commitment` read from any batch blob referenced under `root` (by any node), or undefined. */
  private async signerUnderRoot(root: Bytes32, commitment: Bytes32, notes: string[]): Promise<string | undefined> {
    const references = (await this.client.proofs.batchReferences(root)).slice(0, this.maxScanBatches);
    const seen = new Set<string>();
    for (const reference of references) {
      if (seen.has(reference.blobId)) continue;
      seen.add(reference.blobId);
      const found = await this.findInBatchBlob(reference.blobId, commitment);
      if (typeof found === "string") {
        notes.push(`batch ${short(root)}: ${found}`);
        continue;
      }
      if (found?.signer !== undefined) return found.signer;
    }
    return undefined;
  }

  /**
   * Reads the batch blob `blobIdHex` and looks for `commitment`: `null` when it is not there, its signer when a proof
   * there commits to it (`signer` undefined when the entry does not), or a string saying why the blob is unreadable.
   */
  private async findInBatchBlob(
    blobIdHex: string,
    commitment: Bytes32,
  ): Promise<{ signer: string | undefined } | null | string> {
    const blobId = blobIdFromBytes32Hex(blobIdHex);
    let fetched: FetchedBlob;
    try {
      fetched = await this.fetchBlob(blobId, true);
    } catch (error) {
      const why = blobProblem(error);
      if (why === undefined) throw error;
      return why;
    }
    if (fetched.container instanceof BatchContainerError || fetched.container === undefined) {
      return "not a batch document";
    }
    const index = fetched.container.leaves.findIndex((leaf) => leaf.commitment === commitment);
    if (index < 0) return null;
    return { signer: signerOf(fetched.container.proofs[index], commitment) };
  }

  /** Asks a node where `commitment` is. Never throws: a node is only a hint, and its failures are notes. */
  private async askNode(nodeUrl: string, commitment: Bytes32): Promise<{ root?: Bytes32; note: string }> {
    const url = `${nodeUrl}/v1/proofs/${commitment}`;
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return { note: `the node at ${nodeUrl} did not answer (${cause ?? (error as Error).message})` };
    }
    if (response.status === 404) return { note: `the node at ${nodeUrl} does not know this proof` };
    if (!response.ok) return { note: `the node at ${nodeUrl} answered HTTP ${response.status}` };
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      return { note: `the node at ${nodeUrl} answered with a body that is not JSON` };
    }
    const answer = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    if (answer.status !== "anchored") {
      return { note: `the node at ${nodeUrl} reports status ${JSON.stringify(answer.status)} (not anchored yet)` };
    }
    if (!isBytes32Hex(answer.root)) return { note: `the node at ${nodeUrl} answered without a valid batch root` };
    const root = answer.root.toLowerCase();
    return { root, note: `the node at ${nodeUrl} names batch ${short(root)}` };
  }

  /**
   * Reads the newest `BatchAnchored` and `BatchAnnounced` events (newest first; only `signer`'s when given) and their
   * blobs until one of the signer's holds `commitment`. Without a signer, the first copy found names it (`signer`),
   * and a batch of another node that holds the proof is passed over (`foreign`). Stops at `maxScanBatches` blobs read
   * or `maxScanEvents` events seen, and says which cap it hit (`capped`).
   */
  private async scanBatches(
    commitment: Bytes32,
    signer: string | undefined,
  ): Promise<{
    root?: Bytes32;
    signer?: string;
    /** The newest batch whose tree holds the leaf but whose document does not commit to it. */
    uncommitted?: { root: Bytes32; node: string };
    scanned: number;
    events: number;
    foreign: number;
    unreadable: string[];
    capped?: string;
    fromBlock: number;
    toBlock: number;
  }> {
    const contract = this.client.proofs.contract;
    const floor = this.client.deployment.block;
    const latest = await this.provider.getBlockNumber();
    const unreadable: string[] = [];
    let scanned = 0;
    let events = 0;
    let foreign = 0;
    let learned = signer;
    let capped: string | undefined;
    let lowest = latest;
    const read = new Set<string>();
    let uncommitted: { root: Bytes32; node: string } | undefined;
    for (let to = latest; to >= floor && capped === undefined;) {
      const from = Math.max(floor, to - this.scanBlockRange + 1);
      const [anchored, announced] = await Promise.all([
        contract.queryFilter(contract.filters.BatchAnchored(undefined, signer), from, to),
        contract.queryFilter(contract.filters.BatchAnnounced(undefined, signer), from, to),
      ]);
      lowest = from;
      const logs = [...anchored, ...announced].sort((a, b) => b.blockNumber - a.blockNumber || b.index - a.index);
      for (const log of logs) {
        if (events >= this.maxScanEvents) {
          capped = `${this.maxScanEvents} events (maxScanEvents, --scan-events)`;
          break;
        }
        events++;
        const key = `${log.args.node}:${log.args.blobId}`;
        if (read.has(key)) continue;
        if (scanned >= this.maxScanBatches) {
          capped = `${this.maxScanBatches} batches (maxScanBatches, --scan-batches)`;
          break;
        }
        read.add(key);
        scanned++;
        const found = await this.findInBatchBlob(log.args.blobId, commitment);
        if (typeof found === "string") {
          unreadable.push(`batch ${short(log.args.root)}: ${found}`);
          continue;
        }
        if (found === null) continue;
        if (found.signer === undefined) {
          uncommitted ??= { root: log.args.root.toLowerCase(), node: getAddress(log.args.node) };
          continue;
        }
        learned ??= found.signer;
        if (found.signer !== getAddress(log.args.node) || found.signer !== learned) {
          foreign++;
          if (signer === undefined) {
            // The signer is known now: the caller rescans its batches alone.
            return {
              signer: learned,
              scanned,
              events,
              foreign,
              unreadable,
              fromBlock: log.blockNumber,
              toBlock: latest,
            };
          }
          continue;
        }
        return {
          root: log.args.root.toLowerCase(),
          signer: learned,
          scanned,
          events,
          foreign,
          unreadable,
          fromBlock: log.blockNumber,
          toBlock: latest,
        };
      }
      to = from - 1;
    }
    if (capped === undefined && scanned >= this.maxScanBatches && lowest > floor) {
      capped = `${this.maxScanBatches} batches (maxScanBatches, --scan-batches)`;
    }
    return {
      ...(learned === undefined ? {} : { signer: learned }),
      ...(uncommitted === undefined ? {} : { uncommitted }),
      scanned,
      events,
      foreign,
      unreadable,
      ...(capped === undefined ? {} : { capped }),
      fromBlock: lowest,
      toBlock: latest,
    };
  }

  private async singleRecord(commitment: Bytes32, node: string): Promise<Outcome<Anchor>> {
    const proofs = this.client.proofs;
    const [stored, reference] = await Promise.all([
      proofs.getProof(node, commitment),
      proofs.proofReference(commitment, node),
    ]);
    if (stored === null || reference === null) {
      return fail(`the ProofRegistry holds no single anchor of ${short(commitment)} by ${node}`, { commitment, node });
    }
    const anchor: Anchor = {
      kind: "single",
      node: stored.node,
      anchoredAt: stored.anchoredAt,
      blobId: blobIdFromBytes32Hex(reference.blobId),
      blobIdHex: reference.blobId.toLowerCase(),
      blockNumber: reference.blockNumber,
      logIndex: reference.logIndex,
      txHash: reference.txHash,
    };
    return {
      ...pass(
        `anchored singly by ${anchor.node} at ${isoTime(anchor.anchoredAt)} (block ${anchor.blockNumber}, ` +
          `tx ${short(anchor.txHash)}), blob ${anchor.blobId}`,
        anchorValues(anchor),
      ),
      value: anchor,
    };
  }

  /**
   * The record of the batch `root` as `node` (the proof's signer) anchored or, failing that, announced it. Another
   * node's anchoring or announcement of the same root is never taken. An announced batch has no stored record: its
   * time is its block's, and its inclusion can only be checked off-chain.
   */
  private async batchRecord(root: Bytes32, node: string | undefined): Promise<Outcome<Anchor>> {
    const proofs = this.client.proofs;
    if (node === undefined) {
      const others = [...new Set((await proofs.batchReferences(root)).map((r) => r.node))];
      return fail(
        others.length === 0
          ? `no batch is anchored under root ${short(root)}: no such root was anchored: wrong root?`
          : `no readable blob under root ${short(root)} (referenced by ${others.join(", ")}) holds a proof that ` +
              "commits to this commitment, so its signer is unknown",
        { root },
      );
    }
    const [stored, reference] = await Promise.all([proofs.getBatch(node, root), proofs.batchReference(root, node)]);
    if (reference === null) {
      const others = [...new Set((await proofs.batchReferences(root)).map((r) => r.node))];
      return fail(
        `the batch ${short(root)} was not anchored or announced by the proof's signer ${node}` +
          (others.length
            ? ` (only by ${others.join(", ")}: a node anchors only the proofs it signed)`
            : ": wrong root?"),
        { root, node },
      );
    }
    if (stored !== null && !reference.anchored) {
      return fail(`the batch ${short(root)} is stored for ${node} but its BatchAnchored event is missing`, { root });
    }
    const announced = stored === null;
    const anchoredAt = stored?.anchoredAt ?? (await this.blockTime(reference.blockNumber));
    const anchor: Anchor = {
      kind: "batch",
      node,
      anchoredAt,
      blobId: blobIdFromBytes32Hex(reference.blobId),
      blobIdHex: reference.blobId.toLowerCase(),
      blockNumber: reference.blockNumber,
      logIndex: reference.logIndex,
      txHash: reference.txHash,
      root,
      count: stored?.count ?? reference.count,
      announced,
    };
    return {
      ...pass(
        `batch ${short(root)} of ${plural(anchor.count!, "proof")} ${announced ? "announced (BatchAnnounced: no stored record)" : "anchored"} ` +
          `by ${anchor.node} at ${isoTime(anchor.anchoredAt)} (block ${anchor.blockNumber}, tx ${short(anchor.txHash)}), ` +
          `blob ${anchor.blobId}`,
        anchorValues(anchor),
      ),
      value: anchor,
    };
  }

  private async blockTime(blockNumber: number): Promise<number> {
    const block = await this.provider.getBlock(blockNumber);
    if (block === null) throw new ServiceUnreachableError("chain", this.chainUrl, `block ${blockNumber} is unknown`);
    return block.timestamp;
  }

  /** Fetches the anchored blob; `container`: also read a batch blob's container (not needed by `verifyBatch`). */
  private async blobStep(
    anchor: Anchor,
    foundBy: FoundBy,
    container = anchor.kind === "batch",
  ): Promise<Outcome<FetchedBlob>> {
    const values: Record<string, StepValue> = { blobId: anchor.blobId, blobIdHex: anchor.blobIdHex };
    let fetched: FetchedBlob;
    try {
      fetched = await this.fetchBlob(anchor.blobId, container);
    } catch (error) {
      if (error instanceof BlobNotFoundError) {
        return fail(
          `the ${anchor.kind === "batch" ? "batch" : "proof"} blob ${anchor.blobId} is not on Walrus (never stored, ` +
            `expired or deleted): ${error.message}`,
          values,
        );
      }
      if (error instanceof BlobTooLargeError) {
        return fail(
          `the ${anchor.kind === "batch" ? "batch" : "proof"} blob ${anchor.blobId} was not read: it is over the ` +
            `verifier's cap of ${this.maxBlobBytes} bytes (maxBlobBytes, --max-blob-bytes): ${error.message}`,
          { ...values, maxBlobBytes: this.maxBlobBytes, size: error.size },
        );
      }
      if (error instanceof BlobIntegrityError) {
        return fail(
          `the bytes served for blob ${anchor.blobId} do not match it (${error.failure}: expected ${error.expected}, ` +
            `got ${error.actual}): the stored blob was altered or the aggregator lies`,
          { ...values, expected: error.expected, actual: error.actual, failure: error.failure },
        );
      }
      throw error;
    }
    const how = foundBy === "event-scan" && anchor.kind === "batch" ? " (read while scanning)" : "";
    return {
      ...pass(
        `${fetched.bytes.byteLength} bytes read from Walrus; the Blob ID recomputed from them is ${anchor.blobId}, ` +
          `the anchored one${how}`,
        { ...values, size: fetched.bytes.byteLength },
      ),
      value: fetched,
    };
  }

  private async documentStep(anchor: Anchor, fetched: FetchedBlob, commitment: Bytes32): Promise<Outcome<Document>> {
    if (anchor.kind === "single") {
      try {
        const doc = decodeProof(fetched.bytes);
        return {
          ...pass(`a version ${doc.version} inference proof document`, { version: doc.version }),
          value: { raw: doc },
        };
      } catch (error) {
        if (error instanceof StrataError) return fail(`the blob is not a proof document: ${error.message}`, {});
        throw error;
      }
    }
    const container = fetched.container;
    if (container === undefined || container instanceof BatchContainerError) {
      const reason = container?.message ?? "unreadable";
      return fail(`the blob is not a proof batch document: ${reason}`, {});
    }
    const index = container.leaves.findIndex((leaf) => leaf.commitment === commitment);
    const values = { version: container.version, proofs: container.proofs.length, declaredRoot: container.root };
    if (index < 0) {
      // No document to check further; the inclusion step says why.
      return {
        ...pass(`a version ${container.version} proof batch of ${container.proofs.length} proofs`, values),
        value: { raw: undefined },
      };
    }
    return {
      ...pass(`a version ${container.version} proof batch of ${plural(container.proofs.length, "proof")}`, values),
      value: { raw: container.proofs[index], index },
    };
  }

  private async inclusionStep(
    anchor: Anchor,
    fetched: FetchedBlob,
    commitment: Bytes32,
    wantedIndex: number | undefined,
  ): Promise<Outcome<number>> {
    const container = fetched.container as BatchContainer;
    const root = anchor.root!;
    const index = container.leaves.findIndex((leaf) => leaf.commitment === commitment);
    const values: Record<string, StepValue> = {
      root,
      index: index < 0 ? null : index,
      requestedIndex: wantedIndex ?? null,
      anchoredCount: anchor.count ?? null,
      blobCount: container.leaves.length,
    };
    if (index < 0) {
      return fail(
        `the batch ${short(root)} (${plural(container.leaves.length, "proof")}) does not hold ${short(commitment)}: ` +
          "wrong root?",
        values,
      );
    }
    if (anchor.count !== container.leaves.length) {
      return fail(
        `the chain records ${plural(anchor.count ?? 0, "proof")} under ${short(root)} but the blob holds ` +
          container.leaves.length,
        values,
      );
    }
    if (wantedIndex !== undefined && wantedIndex !== index) {
      const there = container.leaves[wantedIndex]?.commitment;
      const proof =
        there === undefined ? null : merkleProofAt(container.nodes, container.leaves[wantedIndex].treeIndex);
      const onChain =
        proof === null || anchor.announced
          ? false
          : await this.client.proofs.isIncluded(anchor.node, root, commitment, proof);
      return fail(
        `index ${wantedIndex} of batch ${short(root)} ${there === undefined ? "does not exist" : `holds ${short(there)}`}` +
          `, not ${short(commitment)} (which is at index ${index}); the Merkle proof for index ${wantedIndex} ` +
          `${onChain ? "unexpectedly verifies" : anchor.announced ? "is for another leaf" : "fails ProofRegistry.isIncluded"}: wrong index`,
        { ...values, leafAtRequestedIndex: there ?? null, onChain },
      );
    }
    const proof = merkleProofAt(container.nodes, container.leaves[index].treeIndex);
    const offChain = provesInclusion(root, commitment, proof);
    if (anchor.announced) {
      // BatchAnnounced stores nothing: no on-chain inclusion check exists for it; the announced root is the reference.
      Object.assign(values, { offChain, onChain: null, proofLength: proof?.length ?? null });
      if (!offChain) {
        return fail(
          `the Merkle proof of index ${index} from the stored tree does not prove ${short(commitment)} under the ` +
            `announced root ${short(root)} (checked off-chain; an announced batch has no on-chain inclusion check)`,
          values,
        );
      }
      return {
        ...pass(
          `leaf ${index} of ${container.leaves.length}; its ${proof!.length}-hash Merkle proof verifies off-chain under ` +
            "the announced root (the batch was announced, not stored: no on-chain inclusion check exists for it)",
          values,
        ),
        value: index,
      };
    }
    const onChain = proof === null ? false : await this.client.proofs.isIncluded(anchor.node, root, commitment, proof);
    Object.assign(values, { offChain, onChain, proofLength: proof?.length ?? null });
    if (!offChain || !onChain) {
      return fail(
        `the Merkle proof of index ${index} from the stored tree does not prove ${short(commitment)} under the ` +
          `anchored root ${short(root)} (off-chain ${offChain}, ProofRegistry.isIncluded ${onChain})`,
        values,
      );
    }
    return {
      ...pass(
        `leaf ${index} of ${container.leaves.length}; its ${proof!.length}-hash Merkle proof verifies off-chain and ` +
          "with ProofRegistry.isIncluded",
        values,
      ),
      value: index,
    };
  }

  private commitmentStep(raw: unknown, commitment: Bytes32, anchor: Anchor): Outcome<InferenceProof> {
    const where = anchor.kind === "batch" ? "the batch's proof" : "the document";
    let doc: InferenceProof;
    let recomputed: Bytes32;
    try {
      // validateProof then proofCommitment, sharing their work (the document validated and decoded once).
      const checked = validateProofForCommitment(raw);
      doc = checked.proof;
      recomputed = checked.commitment();
    } catch (error) {
      if (error instanceof StrataError) {
        return fail(`${where} does not hash to a commitment: ${error.message}`, { anchored: commitment });
      }
      throw error;
    }
    const values = { anchored: commitment, recomputed };
    if (recomputed !== commitment) {
      return fail(
        `${where} recomputes to ${recomputed}, not the anchored ${commitment}: the document was altered`,
        values,
      );
    }
    return { ...pass(`recomputed ${short(recomputed)} = anchored ${short(commitment)}`, values), value: doc };
  }

  private async signatureStep(doc: InferenceProof, commitment: Bytes32, anchor: Anchor): Promise<CheckResult> {
    const result = checkSignature(doc, commitment, anchor.node);
    return this.withRegistrationNote(result);
  }

  /** Adds, to a failed signature check, whether the key that signed is an admitted node at all. */
  private async withRegistrationNote(result: CheckResult & { recovered: string | null }): Promise<CheckResult> {
    const { recovered, ...check } = result;
    if (check.status !== "fail" || recovered === null) return check;
    if (!(await this.everAdmitted(recovered))) {
      return {
        ...check,
        detail: `${check.detail} (${recovered} was never admitted to the NodeRegistry)`,
        values: { ...check.values, recoveredIsNode: false },
      };
    }
    return { ...check, values: { ...check.values, recoveredIsNode: true } };
  }

  private runtimeStep(doc: InferenceProof, tolerance: Tolerance | undefined): CheckResult {
    const local = localRuntime();
    const differences = compareRuntime(doc.runtime, local);
    const values: Record<string, StepValue> = {
      recorded: `${doc.runtime.engine} ${doc.runtime.version} ${doc.runtime.graphOptimizationLevel}`,
      local: `${local.engine} ${local.version} ${local.graphOptimizationLevel}`,
      differences: differences.length,
    };
    for (const d of differences) {
      values[`recorded.${d.field}`] = d.recorded;
      values[`local.${d.field}`] = d.local;
    }
    if (differences.length === 0) {
      return pass(
        `the recorded runtime is this machine's: ${local.engine} ${local.version}, graph optimization ` +
          `${local.graphOptimizationLevel}, ${local.executionMode}, ${local.intraOpNumThreads} thread(s), ${local.platform}`,
        values,
      );
    }
    const listed = differences.map((d) => `${d.field} ${d.recorded} here ${d.local}`).join("; ");
    if (tolerance !== undefined) {
      return pass(
        `the recorded runtime differs from this machine's (${listed}): outputs are compared within the stated ` +
          "tolerance, not bit for bit",
        values,
      );
    }
    return fail(
      `the recorded runtime differs from this machine's (${listed}): a bit-exact re-execution needs the recorded ` +
        "runtime; state a tolerance (--tolerance) to compare across runtimes",
      values,
    );
  }

  private async reexecutionStep(
    doc: InferenceProof,
    version: ModelVersion,
    tolerance: Tolerance | undefined,
  ): Promise<CheckResult> {
    const blobId = blobIdFromBytes32Hex(version.blobId);
    const values: Record<string, StepValue> = { modelBlobId: blobId, modelSha256: version.sha256 };
    let session: ModelSession;
    const t0 = performance.now();
    try {
      session = await this.session(blobId, version);
    } catch (error) {
      if (error instanceof StrataRuntimeError) {
        return fail(`the model ${blobId} could not be fetched and loaded: ${error.message}`, values);
      }
      throw error;
    }
    const loadMs = performance.now() - t0;
    let outputs;
    const t1 = performance.now();
    try {
      outputs = await session.run(doc.input.tensors.map((t) => decodeTensor(t)));
    } catch (error) {
      if (error instanceof StrataRuntimeError || error instanceof StrataError) {
        return fail(`the model does not run on the recorded inputs: ${error.message}`, values);
      }
      throw error;
    }
    const runMs = performance.now() - t1;
    const comparison = compareOutputs(doc.output.tensors, outputs, tolerance);
    const all = { ...values, ...comparison.values, loadMs: round(loadMs), runMs: round(runMs) };
    return comparison.ok ? pass(comparison.detail, all) : fail(comparison.detail, all);
  }

  // Whole batches -----------------------------------------------------------------------------------------------------

  /**
   * Verifies every proof of the batch `root` with one fetch: the chain record, the blob's integrity, the document
   * (core's `decodeBatch`: every proof's shape and hashes, every commitment against the tree, the tree against its
   * root), the root and count against the chain, one on-chain `isIncluded` spot check (a random proof), then per proof
   * the Merkle inclusion off-chain, the signature by the anchoring node, the node's activity, the domain and the model
   * reference (model versions and the node's history are read once).
   */
  async verifyBatch(rootArg: string, nodeArg?: string): Promise<BatchReport> {
    const root = usage("root", () => toBytes32(rootArg, "batch root"));
    if (root === ZeroHash) throw new VerifierUsageError("root", "The batch root must not be zero");
    const nodeGiven =
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
    const started = performance.now();
    const steps: BatchReport["steps"] = [];
    const timings: Partial<Record<StepName | BatchStepName, number>> = {};
    const spent = { chainMs: 0, fetchMs: 0, decodeMs: 0, checkMs: 0 };
    const proofs: BatchProofOutcome[] = [];
    const finish = (): BatchReport => {
      const totalMs = performance.now() - started;
      const passed = proofs.filter((p) => p.ok).length;
      const note = proofs.length > 0 ? recoveryNote() : undefined;
      return {
        ok: steps.every((s) => s.status !== "fail") && proofs.length > 0 && passed === proofs.length,
        root,
        steps,
        proofs,
        passed,
        failed: proofs.length - passed,
        ...(note === undefined ? {} : { notes: [note] }),
        timings: {
          totalMs,
          steps: timings,
          ...spent,
          proofsPerSecond: proofs.length / (totalMs / 1000),
          checkedPerSecond: proofs.length / ((spent.decodeMs + spent.checkMs) / 1000),
        },
      };
    };
    const step = async <T>(
      name: BatchStepName,
      bucket: keyof typeof spent,
      check: () => Outcome<T> | Promise<Outcome<T>>,
    ): Promise<T | undefined> => {
      const { outcome, ms } = await this.runCheck(check);
      timings[name] = ms;
      spent[bucket] += ms;
      steps.push({ step: name, status: outcome.status, detail: outcome.detail, values: outcome.values });
      return outcome.status === "pass" ? outcome.value : undefined;
    };

    const anchor = await step("chain-record", "chainMs", async () =>
      this.batchRecord(root, nodeGiven ?? (await this.batchSigner(root))),
    );
    if (!anchor) return finish();
    // decodeBatch reads the whole document: no lenient container parse first.
    const fetched = await step("blob", "fetchMs", () => this.blobStep(anchor, "caller-root", false));
    if (!fetched) return finish();
    const batch = await step("document", "decodeMs", (): Outcome<ProofBatch> => {
      let decoded: ProofBatch;
      try {
        decoded = decodeBatch(fetched.bytes);
      } catch (error) {
        if (error instanceof StrataError) return fail(`the batch document is invalid: ${error.message}`, {});
        throw error;
      }
      const values = { count: decoded.count, anchoredCount: anchor.count ?? null, root: decoded.root };
      if (decoded.root !== root) {
        return fail(`the document's tree has root ${decoded.root}, not the anchored ${root}`, values);
      }
      if (decoded.count !== anchor.count) {
        return fail(`the document holds ${decoded.count} proofs but the chain records ${anchor.count}`, values);
      }
      return {
        ...pass(
          `${decoded.count} proofs, each well formed and committing to its tree leaf; the tree's root is the anchored one`,
          values,
        ),
        value: decoded,
      };
    });
    if (!batch) return finish();
    await step("spot-check", "chainMs", async (): Promise<CheckResult> => {
      if (anchor.announced) {
        return {
          status: "skip",
          detail:
            "the batch was announced, not stored: no on-chain inclusion check exists for it (each proof's " +
            "inclusion is checked off-chain below)",
          values: {},
        };
      }
      const k = randomInt(batch.count);
      const included = await this.client.proofs.isIncluded(
        anchor.node,
        root,
        batch.commitments[k],
        batch.inclusions[k].proof,
      );
      const values = { index: k, commitment: batch.commitments[k], onChain: included };
      return included
        ? pass(`ProofRegistry.isIncluded accepts proof #${k} (a random one) under the anchored root`, values)
        : fail(`ProofRegistry.isIncluded rejects proof #${k} under the anchored root`, values);
    });
    const intervals = await step("node-history", "chainMs", async (): Promise<Outcome<ActiveInterval[]>> => {
      const found = await this.nodeIntervals(anchor.node);
      const values = { node: anchor.node, anchoredAt: anchor.anchoredAt, intervals: describeIntervals(found) };
      const active = activeAtPosition(found, { blockNumber: anchor.blockNumber, logIndex: anchor.logIndex });
      if (!active) {
        return fail(
          `the anchoring node ${anchor.node} was not active when it anchored, at ${isoTime(anchor.anchoredAt)} ` +
            `(active ${describeIntervals(found)})`,
          values,
        );
      }
      return {
        ...pass(
          `the anchoring node ${short(anchor.node)} was active when it anchored (active ${describeIntervals(found)})`,
          values,
        ),
        value: found,
      };
    });
    const t0 = performance.now();
    const keys = new Map<string, { id: string; version: number }>();
    for (const p of batch.proofs)
      keys.set(`${p.model.id}:${p.model.version}`, { id: p.model.id, version: p.model.version });
    const versions = new Map<string, ModelVersion | Error>();
    await Promise.all(
      [...keys].map(async ([key, m]) => versions.set(key, await this.modelVersion(m.id, m.version))),
    ).catch((error: unknown) => {
      throw asServiceError(error, this.chainUrl) ?? error;
    });
    spent.chainMs += performance.now() - t0;

    const t1 = performance.now();
    const domain = this.client.proofDomain;
    const foreignSigners = new Map<number, string>();
    batch.proofs.forEach((doc, index) => {
      const commitment = batch.commitments[index];
      const failures: BatchProofOutcome["failures"] = [];
      if (!provesInclusion(root, commitment, batch.inclusions[index].proof)) {
        failures.push({ step: "inclusion", detail: `its Merkle proof does not verify under ${short(root)}` });
      }
      const signature = checkSignature(doc, commitment, anchor.node);
      if (signature.status === "fail") {
        failures.push({ step: "signature", detail: signature.detail });
        if (signature.recovered !== null) foreignSigners.set(index, signature.recovered);
      }
      if (intervals !== undefined) {
        const activity = checkActivity(doc, anchor, intervals, this.clockSkewSeconds);
        if (activity.status === "fail") failures.push({ step: "node-active", detail: activity.detail });
      }
      const domainCheck = checkDomain(doc, domain);
      if (domainCheck.status === "fail") failures.push({ step: "domain", detail: domainCheck.detail });
      const model = checkModel(doc, versions.get(`${doc.model.id}:${doc.model.version}`)!);
      if (model.status === "fail") failures.push({ step: "model", detail: model.detail });
      proofs.push({ index, commitment, ok: failures.length === 0, failures });
    });
    spent.checkMs += performance.now() - t1;
    // Say which foreign signers are not nodes at all (one registry read per distinct signer).
    const t2 = performance.now();
    for (const [index, signer] of foreignSigners) {
      if (await this.everAdmitted(signer)) continue;
      const failure = proofs[index].failures.find((f) => f.step === "signature")!;
      failure.detail += ` (${signer} was never admitted to the NodeRegistry)`;
    }
    spent.chainMs += performance.now() - t2;
    return finish();
  }

  /**
   * The node whose batch `root` is to be verified when the caller names none: among the nodes that anchored or
   * announced it (anchored first), the first whose blob's proofs it signed; else the first anchoring node.
   */
  private async batchSigner(root: Bytes32): Promise<string | undefined> {
    const references = (await this.client.proofs.batchReferences(root))
      .sort((a, b) => Number(b.anchored) - Number(a.anchored))
      .slice(0, this.maxScanBatches);
    for (const reference of references) {
      let fetched: FetchedBlob;
      try {
        fetched = await this.fetchBlob(blobIdFromBytes32Hex(reference.blobId), true);
      } catch (error) {
        if (blobProblem(error) === undefined) throw error;
        continue;
      }
      const container = fetched.container;
      if (container === undefined || container instanceof BatchContainerError) continue;
      const first = container.proofs[0] as { node?: unknown } | undefined;
      if (typeof first?.node === "string" && first.node.toLowerCase() === reference.node.toLowerCase()) {
        return getAddress(reference.node);
      }
    }
    return references[0] === undefined ? undefined : getAddress(references[0].node);
  }

  // Cached reads ------------------------------------------------------------------------------------------------------

  /** A blob's bytes, verified by recomputing its Blob ID (and its batch container, for batch blobs). */
  private fetchBlob(blobId: BlobIdString, batch: boolean): Promise<FetchedBlob> {
    let pending = this.blobs.get(blobId);
    if (pending === undefined) {
      pending = this.walrus.read(blobId, { maxBytes: this.maxBlobBytes }).then((bytes): FetchedBlob => ({ bytes }));
      this.blobs.set(blobId, pending);
      pending.catch(() => this.blobs.delete(blobId));
      while (this.blobs.size > BLOB_CACHE_ENTRIES) this.blobs.delete(this.blobs.keys().next().value!);
    }
    return pending.then((fetched) => {
      if (batch && fetched.container === undefined) {
        try {
          fetched.container = readBatchContainer(fetched.bytes);
        } catch (error) {
          if (!(error instanceof BatchContainerError)) throw error;
          fetched.container = error;
        }
      }
      return fetched;
    });
  }

  private modelVersion(modelId: string, index: number): Promise<ModelVersion | Error> {
    const key = `${modelId}:${index}`;
    let pending = this.versions.get(key);
    if (pending === undefined) {
      pending = this.client.models.getVersion(modelId, index).catch((error: unknown) => {
        if (
          error instanceof UnknownModelError ||
          error instanceof UnknownVersionError ||
          error instanceof NoActiveVersionError
        ) {
          return error;
        }
        this.versions.delete(key);
        throw error;
      });
      this.versions.set(key, pending);
    }
    return pending;
  }

  private nodeIntervals(node: string): Promise<ActiveInterval[]> {
    let pending = this.intervals.get(node);
    if (pending === undefined) {
      pending = this.client.nodes.activeIntervals(node);
      this.intervals.set(node, pending);
      pending.catch(() => this.intervals.delete(node));
    }
    return pending;
  }

  private everAdmitted(address: string): Promise<boolean> {
    let pending = this.admitted.get(address);
    if (pending === undefined) {
      pending = this.client.nodes.getNode(address).then((record) => record.admittedAt !== 0);
      this.admitted.set(address, pending);
      pending.catch(() => this.admitted.delete(address));
    }
    return pending;
  }

  /** The model cache of re-executions (created on first use). */
  get modelCache(): ModelCache {
    this.modelCacheInstance ??= this.modelCacheOption ?? new ModelCache(this.modelCacheDir, this.walrus);
    return this.modelCacheInstance;
  }

  private session(blobId: BlobIdString, version: ModelVersion): Promise<ModelSession> {
    let pending = this.sessions.get(blobId);
    if (pending === undefined) {
      pending = this.modelCache
        .get({ blobId, sha256: version.sha256, size: Number(version.size) })
        .then((entry) => ModelSession.load(entry.path, `model blob ${blobId}`));
      this.sessions.set(blobId, pending);
      pending.catch(() => this.sessions.delete(blobId));
    }
    return pending;
  }

  /** Releases loaded models. The verifier stays usable (models load again on demand). */
  /** Runs one check, timing it; a failure to reach a service becomes a {@link ServiceUnreachableError}. */
  private async runCheck<T>(
    check: () => Outcome<T> | Promise<Outcome<T>>,
  ): Promise<{ outcome: Outcome<T>; ms: number }> {
    const t0 = performance.now();
    try {
      return { outcome: await check(), ms: performance.now() - t0 };
    } catch (error) {
      throw asServiceError(error, this.chainUrl) ?? error;
    }
  }

  async close(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const session of sessions) await session.then((s) => s.release()).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------------------

/** Why a blob could not be read, for a note, or undefined when the error is not about the blob. */
function blobProblem(error: unknown): string | undefined {
  if (error instanceof BlobNotFoundError) return "blob missing";
  if (error instanceof BlobIntegrityError) return "blob corrupt";
  if (error instanceof BlobTooLargeError) {
    return `blob over the verifier's cap of ${error.limit ?? "?"} bytes (maxBlobBytes, --max-blob-bytes)`;
  }
  return undefined;
}

/** The checksummed signer (the proof's `node`) of a document that commits to `commitment`, else undefined. */
function signerOf(raw: unknown, commitment: Bytes32): string | undefined {
  try {
    const checked = validateProofForCommitment(raw);
    return checked.commitment() === commitment ? getAddress(checked.proof.node) : undefined;
  } catch (error) {
    if (error instanceof StrataError) return undefined;
    throw error;
  }
}

function anchorValues(anchor: Anchor): Record<string, StepValue> {
  return {
    kind: anchor.kind,
    announced: anchor.announced ?? false,
    node: anchor.node,
    anchoredAt: anchor.anchoredAt,
    anchoredAtIso: isoTime(anchor.anchoredAt),
    blockNumber: anchor.blockNumber,
    txHash: anchor.txHash,
    blobId: anchor.blobId,
    blobIdHex: anchor.blobIdHex,
    root: anchor.root ?? null,
    count: anchor.count ?? null,
  };
}

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

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
