import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keccak256, toBeHex, toUtf8Bytes, Wallet, type TransactionReceipt } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import {
  InferenceRequests__factory,
  type Deployment,
  type InferenceRequests,
  type InferenceRequestsParams,
} from "@strata/contracts";
import {
  blobIdToBytes32,
  encodeOnchainTensors,
  encodeTensor,
  makeTensorSet,
  StrataClient,
  type Dtype,
  type DtypeArrays,
  type ModelId,
  type Tensor,
} from "@strata/core";
import {
  deployAndAdmit,
  publishTestModel,
  startTestWalrus,
  type TestModelOptions,
  type TestWalrus,
} from "@strata/devkit";
import { InferenceNode, RequestWatcher, type OutboxOptions, type PollResult } from "@strata/node";
import type { PublishedModel } from "@strata/runtime";
import type { WalrusClient } from "@strata/walrus";
import { FulfilmentTimeoutError, StrataHardhatError } from "./errors";

/** The test model {@link StrataHardhat.deploy} publishes unless told otherwise: a seeded MLP, `x` [1, 4] -> `y` [1, 3]. */
export const DEFAULT_TEST_MODEL: TestModelOptions = {
  name: "strata-test-mlp",
  seed: 1,
  inputSize: 4,
  hidden: [8],
  outputSize: 3,
};

/** The private key of the node `deploy` admits and bonds (derived from a public label: a test key, never a real one). */
export const TEST_NODE_KEY = keccak256(toUtf8Bytes("strata hardhat test node"));

/** Options of the in-process node (both {@link StrataHardhat.deploy} and {@link StrataHardhat.attach}). */
export interface StrataNodeOptions {
  /** Watch and fulfil requests in the background (default true); with false, call {@link StrataEnvironment.fulfil}. */
  autoFulfil?: boolean;
  /** Confirmations before a request is picked up (default 1: as soon as it is mined). */
  confirmations?: number;
  /** How often the node polls for requests (default 100 ms). */
  pollIntervalMs?: number;
  /**
   * The node's batching. By default nothing is anchored during tests (a batch waits a day), so that the node sends no
   * transaction but fulfilments; set e.g. `{ maxAgeMs: 500 }` to see proofs anchored too.
   */
  batch?: OutboxOptions;
  /** Each line the node logs (default: kept, and shown when a fulfilment times out). */
  log?: (line: string) => void;
}

/** Options of {@link StrataHardhat.deploy}. */
export interface StrataDeployOptions extends StrataNodeOptions {
  /** The test model to publish (default {@link DEFAULT_TEST_MODEL}). */
  model?: TestModelOptions;
  /** InferenceRequests parameters other than the package defaults (the bond, the caps, ...). */
  inferenceRequests?: Partial<InferenceRequestsParams>;
  /** Walrus shard count of the local store (default 10: Blob IDs are computed faster; the encoding is the same). */
  shards?: number;
}

/** What {@link StrataHardhat.attach} connects to: Strata already deployed on the chain (a fork, a devnet). */
export interface StrataAttachment {
  deployment: Deployment;
  /** The private key of an admitted, bonded node. */
  nodeKey: string;
  /** Where model files and Walrus inputs are read. */
  walrus: WalrusClient;
  /** The model the tests request, when known. */
  model?: PublishedModel;
}

/** The inputs of a request: tensors, or `{ name: { dtype, dims, values } }`. */
export type InputTensors =
  readonly Tensor[] | Record<string, { dtype: Dtype; dims: number[]; values: DtypeArrays[Dtype] }>;

/** Strata on the Hardhat network, with an in-process node that fulfils its requests. */
export interface StrataEnvironment {
  deployment: Deployment;
  /** The InferenceRequests contract, connected to the first signer. */
  requests: InferenceRequests;
  /** The published test model (absent when attached without one). */
  model?: PublishedModel;
  /** Its id, as `requestInference` takes it. */
  modelId?: ModelId;
  /** The model version that means "the newest version" in a request. */
  LATEST: number;
  /** The admitted, bonded node key (funded). */
  nodeKey: Wallet;
  node: InferenceNode;
  watcher: RequestWatcher;
  /** The local Walrus store, when `deploy` started one. */
  walrus?: TestWalrus;
  /** The lines the node logged. */
  log: string[];
  /** `abi.encode(ProofDigest.Tensor[])` of `inputs`: an inline input. */
  encodeInput(inputs: InputTensors): string;
  /** Stores `inputs` on Walrus; returns the Blob ID (bytes32, as `requestInference` takes it) and the input hash. */
  storeInput(inputs: InputTensors): Promise<{ blobId: string; inputHash: string }>;
  /** One pass of the node now: picks up confirmed requests and fulfils them. */
  fulfil(): Promise<PollResult>;
  /**
   * Waits until the requests of `source` (request ids, or a transaction or receipt whose `InferenceRequested` events
   * name them) are no longer pending; returns their ids. Throws {@link FulfilmentTimeoutError} after `timeoutMs`.
   */
  fulfilled(
    source: string | readonly string[] | { wait(): Promise<TransactionReceipt | null> } | TransactionReceipt,
    timeoutMs?: number,
  ): Promise<string[]>;
  /** Stops the node and the store. Idempotent; the plugin also stops every environment when the tests end. */
  stop(): Promise<void>;
}

/** `hre.strata`. */
export class StrataHardhat {
  private readonly started = new Set<StrataEnvironment>();

  constructor(private readonly hre: HardhatRuntimeEnvironment) {}

  /**
   * Deploys Strata on the Hardhat network: the registries and InferenceRequests (as the first signer), a node key
   * ({@link TEST_NODE_KEY}, funded) admitted and bonded, the local Walrus store, a published test model; and starts an
   * in-process node that watches and fulfils requests.
   */
  async deploy(options: StrataDeployOptions = {}): Promise<StrataEnvironment> {
    this.requireHardhatNetwork("deploy");
    const { ethers } = this.hre;
    const [deployer] = await ethers.getSigners();
    const nodeKey = new Wallet(TEST_NODE_KEY, ethers.provider);
    await this.fund(nodeKey.address);
    const { deployment } = await deployAndAdmit(deployer, {
      network: this.hre.network.name,
      nodes: [{ address: nodeKey.address, url: "http://127.0.0.1" }],
      bonds: [nodeKey],
      inferenceRequests: options.inferenceRequests ?? true,
    });
    const walrus = await startTestWalrus({ shards: options.shards ?? 10, prefix: "strata-hardhat-walrus-" });
    try {
      const model = await publishTestModel(
        StrataClient.connect(deployment, deployer),
        walrus.client,
        options.model ?? DEFAULT_TEST_MODEL,
      );
      return await this.start({ deployment, nodeKey: TEST_NODE_KEY, walrus: walrus.client, model }, options, walrus);
    } catch (error) {
      await walrus.close();
      throw error;
    }
  }

  /** Starts an in-process node on Strata already deployed on the chain (a forked network, a devnet). */
  async attach(attachment: StrataAttachment, options: StrataNodeOptions = {}): Promise<StrataEnvironment> {
    if (attachment.deployment.contracts.InferenceRequests === undefined) {
      throw new StrataHardhatError(
        "the deployment has no InferenceRequests address: deploy it (deployInferenceRequests) and record it",
      );
    }
    const key = new Wallet(attachment.nodeKey, this.hre.ethers.provider);
    await this.fund(key.address);
    return this.start(attachment, options);
  }

  /** Stops every environment started through this runtime environment. */
  async stopAll(): Promise<void> {
    for (const env of [...this.started]) await env.stop();
  }

  private async start(
    attachment: StrataAttachment,
    options: StrataNodeOptions,
    walrusStore?: TestWalrus,
  ): Promise<StrataEnvironment> {
    const { ethers } = this.hre;
    const { deployment } = attachment;
    const dir = await mkdtemp(join(tmpdir(), "strata-hardhat-node-"));
    const log: string[] = [];
    const say = (line: string) => {
      log.push(line);
      options.log?.(line);
    };
    const nodeKey = new Wallet(attachment.nodeKey, ethers.provider);
    const node = await InferenceNode.start({
      dataDir: join(dir, "node"),
      signer: nodeKey,
      client: StrataClient.connect(deployment, ethers.provider),
      walrus: attachment.walrus,
      batch: { maxAgeMs: 86_400_000, ...options.batch },
      healthIntervalMs: 3_600_000,
    });
    const requestsAddress = deployment.contracts.InferenceRequests!;
    const watcher = await RequestWatcher.open({
      node,
      signer: nodeKey,
      walrus: attachment.walrus,
      requests: requestsAddress,
      dataDir: dir,
      fromBlock: deployment.block,
      confirmations: options.confirmations ?? 1,
      pollIntervalMs: options.pollIntervalMs ?? 100,
      log: say,
    });
    if (options.autoFulfil ?? true) watcher.start();
    const [first] = await ethers.getSigners();
    const requests = InferenceRequests__factory.connect(requestsAddress, first);
    let stopping: Promise<void> | undefined;
    const env: StrataEnvironment = {
      deployment,
      requests,
      ...(attachment.model ? { model: attachment.model, modelId: attachment.model.modelId } : {}),
      LATEST: 2 ** 32 - 1,
      nodeKey,
      node,
      watcher,
      ...(walrusStore ? { walrus: walrusStore } : {}),
      log,
      encodeInput: (inputs) => encodeOnchainTensors(tensorsOf(inputs)),
      storeInput: async (inputs) => {
        const tensors = tensorsOf(inputs);
        const encoded = encodeOnchainTensors(tensors);
        const stored = await attachment.walrus.store(Buffer.from(encoded.slice(2), "hex"));
        return { blobId: blobIdToBytes32(stored.blobId), inputHash: makeTensorSet(tensors).hash };
      },
      fulfil: () => watcher.poll(),
      fulfilled: async (source, timeoutMs = 30_000) => {
        const ids = await requestIdsOf(requests, source);
        const until = Date.now() + timeoutMs;
        for (;;) {
          const pending = [];
          for (const id of ids) if ((await requests.getRequest(id)).status === 1n) pending.push(id);
          if (pending.length === 0) return ids;
          if (Date.now() > until) throw new FulfilmentTimeoutError(pending, timeoutMs, log);
          // Without the background loop, drive the node here.
          if (!(options.autoFulfil ?? true)) await watcher.poll();
          else await new Promise((resolve) => setTimeout(resolve, 25));
        }
      },
      stop: () =>
        (stopping ??= (async () => {
          this.started.delete(env);
          await watcher.close();
          await node.close(0);
          await walrusStore?.close();
          await rm(dir, { recursive: true, force: true });
        })()),
    };
    this.started.add(env);
    return env;
  }

  private requireHardhatNetwork(what: string): void {
    if (this.hre.network.name !== "hardhat") {
      throw new StrataHardhatError(
        `hre.strata.${what}() runs on the in-process Hardhat network (--network hardhat), not ${this.hre.network.name}: ` +
          "attach to an existing deployment with hre.strata.attach() instead",
      );
    }
  }

  /** Gives `address` 100 ETH on the Hardhat network (its own or a fork). */
  private async fund(address: string): Promise<void> {
    const balance = await this.hre.ethers.provider.getBalance(address);
    const wanted = 100n * 10n ** 18n;
    if (balance >= wanted) return;
    await this.hre.network.provider.request({ method: "hardhat_setBalance", params: [address, toBeHex(wanted)] });
  }
}

function tensorsOf(inputs: InputTensors): Tensor[] {
  if (Array.isArray(inputs)) return [...(inputs as readonly Tensor[])];
  return Object.entries(inputs as Exclude<InputTensors, readonly Tensor[]>).map(([name, t]) =>
    encodeTensor(name, t.dtype, t.dims, t.values),
  );
}

async function requestIdsOf(
  requests: InferenceRequests,
  source: Parameters<StrataEnvironment["fulfilled"]>[0],
): Promise<string[]> {
  if (typeof source === "string") return [source];
  if (Array.isArray(source)) return [...(source as readonly string[])];
  const receipt = "wait" in source && typeof source.wait === "function" ? await source.wait() : source;
  const ids: string[] = [];
  for (const log of (receipt as TransactionReceipt | null)?.logs ?? []) {
    if (log.address.toLowerCase() !== (await requests.getAddress()).toLowerCase()) continue;
    const parsed = requests.interface.parseLog(log);
    if (parsed?.name === "InferenceRequested") ids.push(parsed.args.requestId as string);
  }
  if (ids.length === 0) throw new StrataHardhatError("the transaction emitted no InferenceRequested event");
  return ids;
}
