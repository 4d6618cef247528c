/**
 * The local devnet in one call: `hardhat node` on 127.0.0.1, the local Walrus-compatible store, the registries
 * deployed and wired, the devnet node key admitted, and an inference node — all on loopback. Used by `strata devnet`
 * (fixed ports) and `strata demo` (free ports, temporary directories). Every option is a typed value (numbers, bytes);
 * only the CLI parses strings.
 */
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Wallet } from "ethers";
import { deploymentPath, type Deployment } from "@strata/contracts";
import { StrataClient } from "@strata/core";
import { anchoringLog, NODE_DEFAULTS, startNodeServer, type InferenceNode } from "@strata/node";
import { startLocalWalrus, type LocalWalrus } from "@strata/walrus";
import { startHardhatNode, type HardhatNode } from "./chain";
import { DEVNET_CHAIN_PORT, DEVNET_DIR, DEVNET_KEYS, DEVNET_NODE_PORT, DEVNET_WALRUS_PORT } from "./constants";
import { chainProvider, deployAndAdmit, localWalrusClient } from "./environment";
import { NodeClient } from "./node-client";

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
  /** The node's batching and cache; defaults: the node's ({@link NODE_DEFAULTS}). */
  batchSize?: number;
  batchMaxBytes?: number;
  batchAgeMs?: number;
  cacheMaxBytes?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface Devnet {
  chain: HardhatNode;
  walrus: LocalWalrus;
  node: InferenceNode;
  nodeUrl: string;
  /** A client of the node's HTTP API. */
  nodeClient: NodeClient;
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
  const dir = resolve(options.dir ?? DEVNET_DIR);
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

    const provider = chainProvider(chain.url);
    stops.push(async () => provider.destroy());
    const deployer = new Wallet(DEVNET_KEYS[0], provider);
    const nodeSigner = new Wallet(DEVNET_KEYS[1], provider);
    const nodePort = options.nodePort ?? DEVNET_NODE_PORT;
    // A fresh chain: proofs outboxed for an earlier devnet's chain must not be anchored on this one.
    await rm(join(dir, "node", "outbox"), { recursive: true, force: true });
    await mkdir(join(dir, "node"), { recursive: true });
    const deploymentFile = resolve(options.deploymentFile ?? deploymentPath("localhost"));
    // The endpoint is known once the node listens; admit it with the requested port (or fix it up below).
    const { registries, deployment } = await deployAndAdmit(deployer, {
      network: "localhost",
      nodes: nodePort !== 0 ? [{ address: nodeSigner.address, url: `http://127.0.0.1:${nodePort}` }] : [],
      bonds: [nodeSigner],
      deploymentFile,
    });
    log(`registries    ModelRegistry ${deployment.contracts.ModelRegistry}`);
    log(`              NodeRegistry  ${deployment.contracts.NodeRegistry}`);
    log(`              ProofRegistry ${deployment.contracts.ProofRegistry}`);
    log(`requests      InferenceRequests ${deployment.contracts.InferenceRequests} (node bonded)`);
    log(`deployment    ${deploymentFile}`);

    const started = await startNodeServer({
      port: nodePort,
      host: "127.0.0.1",
      dataDir: join(dir, "node"),
      signer: nodeSigner,
      client: StrataClient.connect(deployment, provider),
      walrus: localWalrusClient(walrus),
      cacheMaxBytes: options.cacheMaxBytes ?? NODE_DEFAULTS.cacheMaxBytes,
      defaultModelOwner: deployer.address,
      batch: {
        maxBatch: options.batchSize ?? NODE_DEFAULTS.batchSize,
        maxBatchBytes: options.batchMaxBytes ?? NODE_DEFAULTS.batchMaxBytes,
        maxAgeMs: options.batchAgeMs ?? NODE_DEFAULTS.batchAgeMs,
        ...anchoringLog((text) => log(`node: ${text}`)),
      },
      // The node fulfils the on-chain requests of the devnet's InferenceRequests too.
      ...(deployment.contracts.InferenceRequests !== undefined
        ? {
            requests: {
              requests: deployment.contracts.InferenceRequests,
              fromBlock: deployment.block,
              confirmations: 1,
              pollIntervalMs: 500,
              log: (text: string) => log(`node: ${text}`),
            },
          }
        : {}),
    });
    stops.push(started.stop);
    if (nodePort === 0) {
      await (await registries.nodeRegistry.admitNode(nodeSigner.address, started.url)).wait();
      await started.node.check(); // the node refuses work until it sees itself admitted
    }
    log(`node          ${started.url} (${nodeSigner.address}, admitted)`);
    return {
      chain,
      walrus,
      node: started.node,
      nodeUrl: started.url,
      nodeClient: new NodeClient(started.url),
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
