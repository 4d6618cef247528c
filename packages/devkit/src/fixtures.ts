/**
 * The environment the package tests build on a real chain process: a `hardhat node` (or anvil), the registries and
 * InferenceRequests with the devnet node key admitted and bonded, the deployment written to a temporary file, the local Walrus store and a published
 * test model. One call replaces the set-up each test file used to write by hand.
 *
 *   const stack = await startLocalStack({ network: "crash", shards: 10, model: { name: "crash-mlp", seed: 3 } });
 *   after(() => stack.stop());
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Wallet, type JsonRpcProvider } from "ethers";
import type { Deployment, Registries } from "@strata/contracts";
import { StrataClient } from "@strata/core";
import { localNetworkClock, type LocalWalrus } from "@strata/walrus";
import type { PublishedModel } from "@strata/runtime";
import { startAnvil } from "./anvil";
import { startHardhatNode, type HardhatNode } from "./chain";
import { DEVNET_KEYS } from "./constants";
import {
  chainProvider,
  deployAndAdmit,
  publishTestModel,
  startTestWalrus,
  type TestModelOptions,
  type TestWalrus,
} from "./environment";

export interface LocalStackOptions {
  /** The chain program (default a `hardhat node`). */
  chain?: "hardhat" | "anvil";
  /** The chain id (default 31337). */
  chainId?: number;
  /** The deployment's network name (default "localhost"). */
  network?: string;
  /** The endpoint the node key is admitted with (default `http://127.0.0.1`). */
  nodeUrl?: string;
  /** Walrus shard count (default 1000). */
  shards?: number;
  /** A test model to publish as the deployer (see {@link publishTestModel}). */
  model?: TestModelOptions;
}

export interface LocalStack {
  chain: HardhatNode;
  /** A provider of the chain, as the node uses one (see {@link chainProvider}). */
  provider: JsonRpcProvider;
  /** Hardhat's account #0: deployer, node admin and model owner. */
  deployer: Wallet;
  /** The private key of the admitted node (Hardhat's account #1). */
  nodeKey: string;
  nodeAddress: string;
  registries: Registries;
  deployment: Deployment;
  /** The deployment, written to a temporary directory (removed by `stop`). */
  deploymentFile: string;
  /** The temporary directory of the stack: put node data directories here. */
  dir: string;
  walrus: TestWalrus;
  /** Registry clients that write as the deployer. */
  client: StrataClient;
  model?: PublishedModel;
  /** Stops the store and the chain and removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), `strata-${options.network ?? "stack"}-`));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const chainOptions = options.chainId !== undefined ? { chainId: options.chainId } : {};
    const chain = options.chain === "anvil" ? await startAnvil(chainOptions) : await startHardhatNode(chainOptions);
    stops.push(() => chain.stop());
    const provider = chainProvider(chain.url, { chainId: chain.chainId });
    stops.push(async () => provider.destroy());
    const deployer = new Wallet(DEVNET_KEYS[0], provider);
    const nodeAddress = new Wallet(DEVNET_KEYS[1]).address;
    const nodeSigner = new Wallet(DEVNET_KEYS[1], provider);
    const deploymentFile = join(dir, "deployment.json");
    const { registries, deployment } = await deployAndAdmit(deployer, {
      network: options.network ?? "localhost",
      nodes: [{ address: nodeAddress, url: options.nodeUrl ?? "http://127.0.0.1" }],
      bonds: [nodeSigner],
      deploymentFile,
    });
    const walrus = await startTestWalrus({ dir: join(dir, "walrus"), shards: options.shards });
    stops.push(() => walrus.close());
    const client = StrataClient.connect(deployment, deployer);
    const model = options.model ? await publishTestModel(client, walrus.client, options.model) : undefined;
    let stopping: Promise<void> | undefined;
    return {
      chain,
      provider,
      deployer,
      nodeKey: DEVNET_KEYS[1],
      nodeAddress,
      registries,
      deployment,
      deploymentFile,
      dir,
      walrus,
      client,
      ...(model ? { model } : {}),
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * Moves a local store's epoch clock and the chain's time on together by `epochs` whole epochs, as real time moves
 * both (a storage lease and the block timestamps that anchored it stay on one time line), and mines a block so the
 * chain's next timestamp follows. Resolves to the store's new epoch.
 */
export async function advanceEpochs(store: LocalWalrus, provider: JsonRpcProvider, epochs: number): Promise<number> {
  const { epochMs } = await localNetworkClock(store.url).now();
  const epoch = await store.advanceEpochs(epochs);
  await provider.send("evm_increaseTime", [Math.round((epochs * epochMs) / 1000)]);
  await provider.send("evm_mine", []);
  return epoch;
}
