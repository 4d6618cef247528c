/**
 * The pieces every local environment is built from: a provider for a local chain, the registries deployed with node
 * keys admitted (and the deployment written), the local Walrus store in a directory of its own with a client for it,
 * and a test model published. The devnet, `npm run test:fork`, the package tests and the benches use them instead of
 * building the same environment by hand.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FetchRequest, JsonRpcProvider, type Signer } from "ethers";
import {
  deployInferenceRequests,
  deployRegistries,
  describeDeployment,
  writeDeployment,
  type Deployment,
  type InferenceRequestsParams,
  type Registries,
} from "@strata/contracts";
import type { StrataClient } from "@strata/core";
import { buildMlp, publishModel, type PublishedModel } from "@strata/runtime";
import { startLocalWalrus, WalrusClient, type LocalWalrus, type LocalWalrusOptions } from "@strata/walrus";

/** The default time one JSON-RPC request to a local chain may take (as the CLI's, `STRATA_RPC_TIMEOUT_MS`). */
export const LOCAL_RPC_TIMEOUT_MS = 15_000;

export interface ChainProviderOptions {
  /** How long one request may take (default {@link LOCAL_RPC_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** The chain id, when known (no eth_chainId is asked then). */
  chainId?: number;
  /** Polling interval of `wait()`s, in milliseconds (ethers' default 4 s). */
  pollingInterval?: number;
}

/**
 * A provider for a local chain as the node and the CLI use one: every request times out, one request per call (no
 * JSON-RPC batches), no response cache, and the network is detected once.
 */
export function chainProvider(url: string, options: ChainProviderOptions = {}): JsonRpcProvider {
  const request = new FetchRequest(url);
  request.timeout = options.timeoutMs ?? LOCAL_RPC_TIMEOUT_MS;
  return new JsonRpcProvider(request, options.chainId, {
    batchMaxCount: 1,
    cacheTimeout: -1,
    staticNetwork: true,
    ...(options.pollingInterval !== undefined ? { pollingInterval: options.pollingInterval } : {}),
  });
}

/** A node key to admit, and the endpoint it is admitted with. */
export interface NodeAdmission {
  address: string;
  url: string;
}

export interface DeployAndAdmitOptions {
  /** The deployment's network name (default "localhost"). */
  network?: string;
  /** Node keys to admit, in order. */
  nodes?: readonly NodeAdmission[];
  /** Where to write the deployment record (default: not written). */
  deploymentFile?: string;
  /**
   * Deploy InferenceRequests over the registries (default true): `true` with the package defaults
   * (`INFERENCE_REQUESTS_DEFAULTS`), or the parameters to change; `false` deploys the registries only.
   */
  inferenceRequests?: boolean | Partial<InferenceRequestsParams>;
  /** Node signers (funded) that post the minimum bond in InferenceRequests, so that they may fulfil requests. */
  bonds?: readonly Signer[];
}

export interface DeployedRegistries {
  registries: Registries;
  deployment: Deployment;
  /** The file the deployment was written to, when asked for. */
  deploymentFile?: string;
}

/**
 * Deploys and wires the registries with `deployer` (the node admin), admits `nodes`, and describes (and writes) the
 * deployment; deploys InferenceRequests over them (unless `inferenceRequests` is false) and posts the bonds of `bonds`.
 * The deployment's block is the wiring block, so scans from it see every admission.
 */
export async function deployAndAdmit(
  deployer: Signer,
  options: DeployAndAdmitOptions = {},
): Promise<DeployedRegistries> {
  const registries = await deployRegistries(deployer);
  const requests = options.inferenceRequests ?? true;
  if (requests !== false) {
    const deployed = await deployInferenceRequests(deployer, registries, requests === true ? {} : requests);
    registries.inferenceRequests = deployed.inferenceRequests;
  }
  for (const node of options.nodes ?? [])
    await (await registries.nodeRegistry.admitNode(node.address, node.url)).wait();
  const requestsContract = registries.inferenceRequests;
  if (requestsContract && options.bonds?.length) {
    const minBond = (await requestsContract.config()).minBond;
    for (const node of options.bonds) await (await requestsContract.connect(node).postBond({ value: minBond })).wait();
  }
  const deployment = await describeDeployment(options.network ?? "localhost", registries, deployer, registries.block);
  if (options.deploymentFile !== undefined) writeDeployment(options.deploymentFile, deployment);
  return {
    registries,
    deployment,
    ...(options.deploymentFile !== undefined ? { deploymentFile: options.deploymentFile } : {}),
  };
}

/** The local Walrus store and a client that talks to it (one URL is the publisher and the aggregator). */
export interface TestWalrus {
  store: LocalWalrus;
  client: WalrusClient;
  url: string;
  shards: number;
  /** Closes the store; removes its directory when it was a temporary one. */
  close(): Promise<void>;
}

export interface StartTestWalrusOptions extends Partial<LocalWalrusOptions> {
  /** Prefix of the temporary directory, when `dir` is not given (default "strata-walrus-"). */
  prefix?: string;
}

/** A {@link WalrusClient} of a local store. */
export function localWalrusClient(store: Pick<LocalWalrus, "url" | "shards">): WalrusClient {
  return new WalrusClient({ publisherUrl: store.url, aggregatorUrls: [store.url], shards: store.shards });
}

/**
 * Starts the local Walrus store (on a free port unless `port` is given; in a temporary directory unless `dir` is),
 * with a client for it.
 */
export async function startTestWalrus(options: StartTestWalrusOptions = {}): Promise<TestWalrus> {
  const { prefix, ...rest } = options;
  const temporary = rest.dir === undefined;
  const dir = rest.dir ?? (await mkdtemp(join(tmpdir(), prefix ?? "strata-walrus-")));
  const store = await startLocalWalrus({ ...rest, dir, port: rest.port ?? 0 });
  return {
    store,
    client: localWalrusClient(store),
    url: store.url,
    shards: store.shards,
    close: async () => {
      await store.close();
      if (temporary) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The seeded test MLP of {@link publishTestModel}. */
export interface TestModelOptions {
  name: string;
  seed: number;
  inputSize?: number;
  hidden?: number[];
  outputSize?: number;
  epochs?: number;
}

/** Builds a seeded ONNX MLP (default 4 -> [8] -> 2) and publishes it through `client` (a signer's) and `walrus`. */
export async function publishTestModel(
  client: StrataClient,
  walrus: WalrusClient,
  model: TestModelOptions,
): Promise<PublishedModel> {
  return publishModel({
    client,
    walrus,
    file: buildMlp({
      inputSize: model.inputSize ?? 4,
      hidden: model.hidden ?? [8],
      outputSize: model.outputSize ?? 2,
      seed: model.seed,
    }),
    name: model.name,
    ...(model.epochs !== undefined ? { epochs: model.epochs } : {}),
  });
}
