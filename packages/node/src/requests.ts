/**
 * The request watcher: the node's side of InferenceRequests. It scans `InferenceRequested` events once they have the
 * configured number of confirmations, reads each request's input (inline, or a Walrus blob read verified and checked
 * against the request's input hash), runs the model through the node's own inference path (so the proof is the node's
 * usual signed proof, journalled and anchored with the others, its `requestId` the on-chain request's id), and calls
 * `fulfil` with the output, the proof and its signature.
 *
 * **Exactly once.** Every step is journalled (request-journal.ts) before it is acted on: a request seen, its
 * fulfilment (the exact `fulfil` arguments) before the transaction is sent, the transaction hash once sent, the
 * outcome. On restart an unfinished fulfilment is checked on-chain first: a mined transaction or a request no longer
 * pending ends it, and only a request still pending is sent again, with the journalled arguments (never re-run).
 *
 * **Reorgs.** Only confirmed blocks are scanned, and the last `rescanBlocks` blocks before the cursor are scanned again
 * each time (a request re-mined elsewhere by a deeper reorg is seen again). Before fulfilling, the request is re-read
 * on-chain: one that vanished (a reorg dropped it), was fulfilled by another node, refunded or expired is skipped.
 *
 * **Nonces.** Its transactions go through the node key's {@link SerialSigner}, the queue the outbox anchors through.
 */
import { join } from "node:path";
import { BaseWallet, keccak256, type Provider, type Signer, type TransactionReceipt } from "ethers";
import { InferenceRequests__factory, type InferenceRequests } from "@strata/contracts";
import {
  blobIdFromBytes32,
  decodeOnchainTensors,
  encodeOnchainTensors,
  makeTensorSet,
  proofStructOf,
  revertDataOf,
  StrataError,
  type InferenceProof,
  type Tensor,
} from "@strata/core";
import type { WalrusClient } from "@strata/walrus";
import { NodeError, NodeUnavailableError } from "./errors";
import type { InferenceNode } from "./node";
import {
  RequestJournal,
  type FulfilArgs,
  type RequestOutcome,
  type RequestState,
  type SeenRequest,
} from "./request-journal";
import { serialSigner, type SerialSigner } from "./sender";

/** The watcher's defaults. */
export const REQUEST_WATCHER_DEFAULTS = Object.freeze({
  confirmations: 2,
  pollIntervalMs: 2_000,
  maxBlockRange: 5_000,
  /** Gas sent above the estimate of a fulfilment, in basis points of it. */
  gasMarginBps: 2_000,
  txTimeoutMs: 60_000,
});

export interface RequestWatcherOptions {
  /** The node that runs the inferences and signs their proofs. */
  node: InferenceNode;
  /** The node's key: the same signer object the node was started with (so both share one transaction queue). */
  signer: Signer;
  /** Where the request inputs stored on Walrus are read from (verified). */
  walrus: WalrusClient;
  /** The InferenceRequests contract. */
  requests: string;
  /** The journal goes to `<dataDir>/requests`. */
  dataDir: string;
  /** The first block to scan (default: the deployment's block). */
  fromBlock?: number;
  /** A request is picked up once its block has this many confirmations (1: mined; default 2). */
  confirmations?: number;
  /** Blocks before the cursor scanned again each time (default: `confirmations`). */
  rescanBlocks?: number;
  pollIntervalMs?: number;
  /** At most this many blocks per `eth_getLogs` (default 5,000). */
  maxBlockRange?: number;
  /** Gas above the estimate of a fulfilment, in basis points (default 2,000: 20%). */
  gasMarginBps?: number;
  /** How long to wait for a fulfilment to be mined before checking it again on the next poll (default 60 s). */
  txTimeoutMs?: number;
  /** One line per request outcome and per problem. */
  log?: (line: string) => void;
  /**
   * Tests inject crashes: after the fulfilment is journalled and before it is sent; (a local key) after its signed
   * transaction is journalled and before it is broadcast; after it is sent.
   */
  faults?: {
    beforeSend?: (requestId: string) => void | Promise<void>;
    beforeBroadcast?: (requestId: string, hash: string) => void | Promise<void>;
    afterSend?: (requestId: string, hash: string) => void | Promise<void>;
  };
}

/** A request cannot be fulfilled by this node for good (code `REQUEST_REFUSED`); the reason is logged and journalled. */
export class RequestRefusedError extends NodeError {
  constructor(
    readonly requestId: string,
    readonly reason: string,
  ) {
    super("REQUEST_REFUSED", `request ${requestId} refused: ${reason}`);
  }
}

/** What one pass did. */
export interface PollResult {
  /** Requests newly seen. */
  seen: number;
  /** Requests that ended in this pass, by outcome. */
  ended: Record<RequestOutcome, number>;
  /** Requests left for a later pass (a transient failure, or a transaction not mined yet). */
  waiting: number;
}

/** The contract's errors after which a request is no longer this node's to fulfil. */
const GONE = new Set(["InferenceRequestsNotPending", "InferenceRequestsExpired"]);
/** The contract's errors that may pass (the node's admission or bond): the request is tried again later. */
const TRANSIENT = new Set([
  "InferenceRequestsNotActiveNode",
  "InferenceRequestsInsufficientBond",
  "InferenceRequestsBondUnlocking",
  "InferenceRequestsInsufficientGas",
]);
const STATUS = ["None", "Pending", "Fulfilled", "Refunded", "Claimed"] as const;

/** The watcher of on-chain inference requests; see the module comment. */
export class RequestWatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PollResult> | undefined;
  private closed = false;
  private readonly log: (line: string) => void;

  private constructor(
    private readonly options: RequestWatcherOptions,
    readonly journal: RequestJournal,
    readonly contract: InferenceRequests,
    private readonly sender: SerialSigner,
    private readonly provider: Provider,
    readonly address: string,
  ) {
    this.log = options.log ?? (() => undefined);
  }

  /** Opens the journal (replaying it) and connects to the contract; call {@link start} to watch, or {@link poll}. */
  static async open(options: RequestWatcherOptions): Promise<RequestWatcher> {
    const provider = options.signer.provider;
    if (!provider) {
      throw new NodeError("NO_PROVIDER", "the request watcher's signer has no provider: connect it to the chain");
    }
    const sender = serialSigner(options.signer);
    const contract = InferenceRequests__factory.connect(options.requests, sender);
    const journal = await RequestJournal.open(join(options.dataDir, "requests"));
    return new RequestWatcher(options, journal, contract, sender, provider, await options.signer.getAddress());
  }

  /** Polls every `pollIntervalMs` (a pass at a time) until {@link close}. */
  start(): this {
    const every = this.options.pollIntervalMs ?? REQUEST_WATCHER_DEFAULTS.pollIntervalMs;
    const tick = () => {
      if (this.closed) return;
      void this.poll()
        .catch((error: unknown) => this.log(`request watcher: ${(error as Error).message}`))
        .finally(() => {
          if (!this.closed) this.timer = setTimeout(tick, every);
        });
    };
    this.timer = setTimeout(tick, 0);
    return this;
  }

  /** One pass: {@link scan}, then {@link process}. Concurrent callers share the pass in progress. */
  poll(): Promise<PollResult> {
    this.running ??= (async () => {
      const seen = await this.scan();
      return { ...(await this.process()), seen };
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Journals the requests of the blocks confirmed since the last scan; returns how many were new. */
  async scan(): Promise<number> {
    const confirmations = Math.max(1, this.options.confirmations ?? REQUEST_WATCHER_DEFAULTS.confirmations);
    const rescan = this.options.rescanBlocks ?? confirmations;
    const range = this.options.maxBlockRange ?? REQUEST_WATCHER_DEFAULTS.maxBlockRange;
    const head = await this.provider.getBlockNumber();
    const confirmed = head - confirmations + 1;
    const fromBlock = this.options.fromBlock ?? 0;
    const start = await this.rewound(this.journal.cursor ?? fromBlock, fromBlock);
    let from = Math.max(fromBlock, start - rescan);
    let seen = 0;
    while (from <= confirmed) {
      const to = Math.min(confirmed, from + range - 1);
      const logs = await this.contract.queryFilter(this.contract.filters.InferenceRequested(), from, to);
      for (const log of logs) {
        const { requestId, key, inputBlobId, input, deadline, fee } = log.args;
        const known = this.journal.states.get(requestId);
        // A request skipped because it vanished in a reorg may be mined again: it is then seen anew.
        if (known && !(known.done?.outcome === "skipped" && known.done.reason === VANISHED)) continue;
        const request: SeenRequest = {
          requestId,
          nonce: key.nonce.toString(),
          modelId: key.modelId,
          modelVersion: Number(key.modelVersion),
          modelBlobId: key.modelBlobId,
          modelSha256: key.modelSha256,
          inputHash: key.inputHash,
          callbackGasLimit: Number(key.callbackGasLimit),
          inputBlobId,
          input,
          deadline: Number(deadline),
          fee: fee.toString(),
          block: log.blockNumber,
        };
        await this.journal.append({ t: "seen", request });
        seen++;
      }
      const hash = (await this.provider.getBlock(to))?.hash ?? undefined;
      await this.journal.append({ t: "cursor", block: to + 1, ...(hash ? { hash } : {}) });
      from = to + 1;
    }
    return seen;
  }

  /**
   * Where scanning resumes: `cursor`, or, when blocks scanned before were replaced (a reorg deeper than the
   * confirmations, or a test's `evm_revert`), the newest scan end whose block is still the one scanned (the deployment
   * block when none is).
   */
  private async rewound(cursor: number, fromBlock: number): Promise<number> {
    const checkpoints = this.journal.checkpoints;
    let replaced = false;
    while (checkpoints.length > 0) {
      const last = checkpoints.at(-1)!;
      const block = await this.provider.getBlock(last.block - 1);
      if (block?.hash === last.hash) break;
      checkpoints.pop();
      replaced = true;
    }
    if (!replaced) return cursor;
    const kept = checkpoints.at(-1);
    const resume = kept?.block ?? fromBlock;
    await this.journal.append({ t: "cursor", block: resume, ...(kept ? { hash: kept.hash } : {}) });
    this.log(`request watcher: blocks scanned before were replaced (a reorg): scanning again from block ${resume}`);
    return resume;
  }

  /** Works through every request seen and not ended: fulfils it, skips it or refuses it, or leaves it for later. */
  async process(): Promise<Omit<PollResult, "seen">> {
    const ended: Record<RequestOutcome, number> = { fulfilled: 0, skipped: 0, refused: 0 };
    let waiting = 0;
    for (const state of this.journal.open()) {
      if (this.closed) break;
      let outcome: RequestOutcome | undefined;
      try {
        outcome = await this.handle(state);
      } catch (error) {
        if (error instanceof RequestRefusedError) {
          await this.end(state, "refused", error.reason);
          outcome = "refused";
        } else {
          this.log(`request ${state.request.requestId}: will retry: ${(error as Error).message.split("\n")[0]}`);
        }
      }
      if (outcome) ended[outcome]++;
      else waiting++;
    }
    return { ended, waiting };
  }

  /** Takes one request as far as it goes now; returns its outcome, or undefined when it is left for a later pass. */
  private async handle(state: RequestState): Promise<RequestOutcome | undefined> {
    const { requestId } = state.request;
    // A fulfilment sent before: mined, still pending, or dropped (then re-sent below if the request is still pending).
    const last = state.sent.at(-1);
    if (last !== undefined) {
      const receipt = await this.provider.getTransactionReceipt(last);
      if (!receipt && (await this.provider.getTransaction(last))) return undefined; // in the mempool: wait for it
    }
    const onChain = await this.contract.getRequest(requestId);
    const status = STATUS[Number(onChain.status)] ?? "None";
    if (status === "None") return this.end(state, "skipped", VANISHED);
    if (status !== "Pending") {
      const ours = onChain.node.toLowerCase() === this.address.toLowerCase();
      if (ours && status !== "Refunded") return this.end(state, "fulfilled", undefined, last);
      return this.end(
        state,
        "skipped",
        `${status.toLowerCase()}${status === "Fulfilled" ? ` by ${onChain.node}` : ""}`,
      );
    }
    const now = (await this.provider.getBlock("latest"))?.timestamp ?? 0;
    if (now > Number(onChain.deadline)) return this.end(state, "skipped", `expired at ${onChain.deadline}`);

    const args = state.args ?? (await this.prepare(state.request));
    if (!state.args) await this.journal.append({ t: "fulfil", requestId, args });
    await this.options.faults?.beforeSend?.(requestId);
    return this.send(state, args);
  }

  /** Reads the input, runs the model through the node and builds the `fulfil` arguments. */
  private async prepare(request: SeenRequest): Promise<FulfilArgs> {
    const { requestId } = request;
    const inputs = await this.readInput(request);
    let signed: InferenceProof | undefined;
    let commitment = "";
    await this.options.node
      .infer(
        {
          model: request.modelId,
          version: request.modelVersion,
          inputs: Object.fromEntries(inputs.map((t) => [t.name, { dtype: t.dtype, dims: t.dims, data: t.data }])),
        },
        {
          requestId,
          onSigned: (doc, c) => {
            signed = doc;
            commitment = c;
          },
        },
      )
      .catch((error: unknown) => {
        // Inputs the model refuses, or a model that is not (or no longer) there, never get better.
        if (error instanceof StrataError && PERMANENT_INFER_CODES.has(error.code)) {
          throw new RequestRefusedError(requestId, error.message);
        }
        throw error;
      });
    const doc = signed!;
    const m = doc.model;
    if (
      m.blobId.toLowerCase() !== request.modelBlobId.toLowerCase() ||
      m.sha256.toLowerCase() !== request.modelSha256.toLowerCase()
    ) {
      throw new RequestRefusedError(
        requestId,
        `the registry's version ${request.modelVersion} of ${request.modelId} is ${m.blobId} (sha256 ${m.sha256}), not the requested ${request.modelBlobId}`,
      );
    }
    const output = encodeOnchainTensors(doc.output.tensors);
    const max = Number((await this.contract.config()).maxOutputBytes);
    const bytes = (output.length - 2) / 2;
    if (bytes > max) {
      throw new RequestRefusedError(
        requestId,
        `the output is ${bytes} bytes encoded, above the contract's cap of ${max}`,
      );
    }
    return {
      nonce: request.nonce,
      callbackGasLimit: request.callbackGasLimit,
      proof: proofStructOf(doc),
      output,
      signature: doc.signature,
      commitment,
    };
  }

  /** The request's input tensors: inline, or the Walrus blob (read verified) checked against the input hash. */
  private async readInput(request: SeenRequest): Promise<Tensor[]> {
    const { requestId } = request;
    const inline = /^0x0*$/.test(request.inputBlobId);
    let tensors: Tensor[];
    let where: string;
    if (inline) {
      where = "inline input";
      tensors = this.decode(requestId, request.input, where);
    } else {
      const blobId = blobIdFromBytes32(request.inputBlobId);
      where = `input blob ${blobId}`;
      tensors = this.decode(requestId, await this.options.walrus.read(blobId), where);
    }
    const hash = makeTensorSet(tensors).hash;
    if (hash !== request.inputHash) {
      throw new RequestRefusedError(
        requestId,
        `the ${where} hashes to ${hash}, not the request's input hash ${request.inputHash}`,
      );
    }
    return tensors;
  }

  private decode(requestId: string, bytes: Uint8Array | string, where: string): Tensor[] {
    try {
      return decodeOnchainTensors(bytes, where);
    } catch (error) {
      throw new RequestRefusedError(
        requestId,
        `the ${where} is not abi.encode(ProofDigest.Tensor[]): ${(error as Error).message}`,
      );
    }
  }

  /** Sends the journalled fulfilment through the key's queue and waits (bounded) for it to be mined. */
  private async send(state: RequestState, args: FulfilArgs): Promise<RequestOutcome | undefined> {
    const { requestId } = state.request;
    const call: FulfilCall = [BigInt(args.nonce), args.callbackGasLimit, args.proof, args.output, args.signature];
    let hash: string;
    try {
      hash = await this.sender.serialized(async () => {
        const gasLimit = await this.gasLimitOf(call, args);
        const signer = this.sender.signer;
        if (signer instanceof BaseWallet) {
          // A local key: the signed transaction's hash is journalled before it is broadcast, so no crash can leave a
          // fulfilment on its way that the journal does not know of.
          const tx = await signer.populateTransaction(
            await this.contract.fulfil.populateTransaction(...call, { gasLimit }),
          );
          const raw = await signer.signTransaction(tx);
          const signed = keccak256(raw);
          await this.journal.append({ t: "sent", requestId, hash: signed });
          await this.options.faults?.beforeBroadcast?.(requestId, signed);
          await this.provider.broadcastTransaction(raw);
          return signed;
        }
        // Another signer (a wallet, a remote signer) sends itself; the hash is journalled once it is known. The queue is
        // held already: the contract's send goes straight to the wrapped signer.
        const sent = (await this.contract.connect(signer).fulfil(...call, { gasLimit })).hash;
        await this.journal.append({ t: "sent", requestId, hash: sent });
        return sent;
      });
    } catch (error) {
      const name = this.revertName(error);
      if (name && GONE.has(name)) return this.end(state, "skipped", name);
      if (name && !TRANSIENT.has(name)) throw new RequestRefusedError(requestId, `fulfil reverts with ${name}`);
      if (name) throw new NodeUnavailableError("NODE_NOT_ACTIVE", `fulfil reverts with ${name}`);
      throw error;
    }
    await this.options.faults?.afterSend?.(requestId, hash);
    const timeout = this.options.txTimeoutMs ?? REQUEST_WATCHER_DEFAULTS.txTimeoutMs;
    const receipt = await this.mined(hash, timeout);
    if (!receipt) return undefined;
    if (receipt.status === 1) return this.end(state, "fulfilled", undefined, hash);
    return undefined; // reverted once mined: the next pass reads the request again
  }

  /**
   * The gas limit of a fulfilment: the node's estimate plus the margin, at most the transaction cap. When the node
   * cannot estimate it (Hardhat's EDR refuses some estimates of calls that forward a fixed gas, searching above the
   * Osaka transaction cap), an upper bound of what it can cost, checked with an `eth_call` at that limit.
   */
  private async gasLimitOf(call: FulfilCall, args: FulfilArgs): Promise<bigint> {
    const block = await this.provider.getBlock("latest");
    const cap = block && block.gasLimit < TX_GAS_CAP ? block.gasLimit : TX_GAS_CAP;
    const margin = BigInt(this.options.gasMarginBps ?? REQUEST_WATCHER_DEFAULTS.gasMarginBps);
    let limit: bigint;
    try {
      const estimate = await this.contract.fulfil.estimateGas(...call);
      limit = estimate + (estimate * margin) / 10_000n;
    } catch (error) {
      if (this.revertName(error) !== undefined) throw error;
      // The checks and the proof (~100k with the calldata), the callback with the 63/64 rule and the reserve, and the
      // output stored when the callback fails (a slot per 32 bytes).
      const outputBytes = BigInt((args.output.length - 2) / 2);
      limit = 150_000n + (BigInt(args.callbackGasLimit) * 64n) / 63n + 10_000n + ((outputBytes + 31n) / 32n) * 22_200n;
      if (limit > cap) limit = cap;
      await this.contract.fulfil.staticCall(...call, { gasLimit: limit });
    }
    return limit > cap ? cap : limit;
  }

  /** The receipt of `hash` once mined, polled for at most `timeoutMs` (not every provider has waitForTransaction). */
  private async mined(hash: string, timeoutMs: number): Promise<TransactionReceipt | null> {
    const deadline = Date.now() + timeoutMs;
    const every = Math.max(20, Math.min(500, Math.floor(timeoutMs / 20)));
    for (;;) {
      const receipt = await this.provider.getTransactionReceipt(hash).catch(() => null);
      if (receipt || Date.now() >= deadline || this.closed) return receipt;
      await new Promise((resolve) => setTimeout(resolve, every));
    }
  }

  private revertName(error: unknown): string | undefined {
    const data = revertDataOf(error);
    if (!data) return undefined;
    try {
      return this.contract.interface.parseError(data)?.name;
    } catch {
      return undefined;
    }
  }

  private async end(
    state: RequestState,
    outcome: RequestOutcome,
    reason?: string,
    hash?: string,
  ): Promise<RequestOutcome> {
    const { requestId } = state.request;
    await this.journal.append({
      t: "done",
      requestId,
      outcome,
      ...(reason !== undefined ? { reason } : {}),
      ...(hash !== undefined ? { hash } : {}),
    });
    this.log(`request ${requestId}: ${outcome}${reason ? ` (${reason})` : ""}${hash ? ` in ${hash}` : ""}`);
    return outcome;
  }

  /** Stops polling and closes the journal once the pass in progress ends. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.journal.close();
  }
}

/** The arguments of `fulfil`. */
type FulfilCall = [bigint, number, FulfilArgs["proof"], string, string];

/** The largest gas limit of a transaction since Osaka (EIP-7825). */
const TX_GAS_CAP = 2n ** 24n;

/** The reason journalled for a request that is not on-chain (any more): a reorg dropped it. */
const VANISHED = "vanished: not on-chain (a reorg dropped it)";

/** Error codes of the node's inference path after which a request can never be fulfilled by this node. */
// MODEL_EXPIRED: a version whose Walrus storage ended (a blob cannot be extended after expiry).
const PERMANENT_INFER_CODES = new Set([
  "INVALID_INPUT",
  "MODEL_NOT_FOUND",
  "MODEL_EXPIRED",
  "INVALID_MODEL_REF",
  "NOT_ONNX_MODEL",
]);
