/**
 * The local devnet in one call: `hardhat node` on 127.0.0.1, the local Walrus-compatible store, the registries
 * deployed and wired, the devnet node key admitted, and an inference node — all on loopback. Used by `strata devnet`
 * (fixed ports) and `strata demo` (free ports, temporary directories).
 */
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import {
  deployRegistries,
  deploymentPath,
  describeDeployment,
  writeDeployment,
  type Deployment,
} from "@strata/contracts";
import type { InferenceNode } from "@strata/node";
import { startLocalWalrus, type LocalWalrus } from "@strata/walrus";
import { DEVNET_KEYS } from "./config";
import { startNode } from "./commands/node";
import { startHardhatNode, type HardhatNode } from "./hardhat-node";

export const DEVNET_CHAIN_PORT = 8545;
export const DEVNET_WALRUS_PORT = 31415;

export interface DevnetOptions {
  /** Ports; 0 picks free ones. Defaults: 8545, 31415, 31416. */
  chainPort?: number;
  walrusPort?: number;
  nodePort?: number;
  /** Where the Walrus store (reused across starts) and the node's cache and outbox live. Default `.strata/devnet`. */
  dir?: string;
  /** Where the deployment file goes. Default packages/contracts/deployments/localhost.json. */
  deploymentFile?: string;
  /** Walrus shard count (default 1000, as mainnet and testnet). */
  shards?: number;
  batchSize?: number;
  batchAgeMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface Devnet {
  chain: HardhatNode;
  walrus: LocalWalrus;
  node: InferenceNode;
  nodeUrl: string;
  deployment: Deployment;
  deploymentFile: string;
  /** Hardhat's account #0: deployer, node admin and model publisher on the devnet. */
  publisherKey: string;
  /** Hardhat's account #1: the admitted inference node. */
  nodeKey: string;
  /** Stops the node (after its current batch), the store and the chain. Idempotent. */
  stop(): Promise<void>;
}

export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  const log = options.log ?? (() => undefined);
  const dir = resolve(options.dir ?? ".strata/devnet");
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const chain = await startHardhatNode({
      port: options.chainPort === 0 ? undefined : (options.chainPort ?? DEVNET_CHAIN_PORT),
    });
    stops.push(() => chain.stop());
    log(`chain         ${chain.url} (chain id ${chain.chainId})`);

    const walrus = await startLocalWalrus({
      dir: join(dir, "walrus"),
      port: options.walrusPort ?? DEVNET_WALRUS_PORT,
      shards: options.shards,
    });
    stops.push(() => walrus.close());
    log(`walrus store  ${walrus.url} (dir ${walrus.dir}, ${walrus.shards} shards, epoch ${walrus.currentEpoch()})`);

    const provider = new JsonRpcProvider(chain.url, undefined, { cacheTimeout: -1 });
    const deployer = new Wallet(DEVNET_KEYS[0], provider);
    const nodeAddress = new Wallet(DEVNET_KEYS[1]).address;
    const registries = await deployRegistries(deployer);
    const nodePort = options.nodePort ?? 31416;
    // A fresh chain: proofs outboxed for an earlier devnet's chain must not be anchored on this one.
    await rm(join(dir, "node", "outbox"), { recursive: true, force: true });
    await mkdir(join(dir, "node"), { recursive: true });
    const deploymentFile = resolve(options.deploymentFile ?? deploymentPath("localhost"));
    // The endpoint is known once the node listens; admit it with the requested port (or fix it up below).
    const admit = async (url: string) => (await registries.nodeRegistry.admitNode(nodeAddress, url)).wait();
    let admitted = false;
    if (nodePort !== 0) {
      await admit(`http://127.0.0.1:${nodePort}`);
      admitted = true;
    }
    const deployment = await describeDeployment("localhost", registries, deployer, registries.block);
    writeDeployment(deploymentFile, deployment);
    log(`registries    ModelRegistry ${deployment.contracts.ModelRegistry}`);
    log(`              NodeRegistry  ${deployment.contracts.NodeRegistry}`);
    log(`              ProofRegistry ${deployment.contracts.ProofRegistry}`);
    log(`deployment    ${deploymentFile}`);

    const started = await startNode({
      rpc: chain.url,
      deployment: deploymentFile,
      publisher: walrus.url,
      aggregator: [walrus.url],
      shards: String(walrus.shards),
      signingKey: DEVNET_KEYS[1],
      port: String(nodePort),
      host: "127.0.0.1",
      dataDir: join(dir, "node"),
      cacheMaxBytes: "8GiB",
      batchSize: String(options.batchSize ?? 256),
      batchMaxBytes: "10MiB",
      batchAgeMs: String(options.batchAgeMs ?? 2000),
      modelOwner: deployer.address,
      log: (text) => log(`node: ${text}`),
    });
    stops.push(started.stop);
    if (!admitted) {
      await admit(started.url);
      await started.node.check(); // the node refuses work until it sees itself admitted
    }
    log(`node          ${started.url} (${nodeAddress}, admitted)`);
    return {
      chain,
      walrus,
      node: started.node,
      nodeUrl: started.url,
      deployment,
      deploymentFile,
      publisherKey: DEVNET_KEYS[0],
      nodeKey: DEVNET_KEYS[1],
      stop: (() => {
        let stopping: Promise<void> | undefined;
        return () => (stopping ??= stopAll());
      })(),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
