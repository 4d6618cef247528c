/**
 * Network settings of every `strata` command. Precedence: command-line flags, then environment variables, then a
 * config file (`--config <file>`, else `STRATA_CONFIG`, else `./strata.config.json` if present), then the local devnet
 * defaults (chain 127.0.0.1:8545 with Hardhat's first account as the key, Walrus store 127.0.0.1:31415, node
 * 127.0.0.1:31416, deployment packages/contracts/deployments/localhost.json).
 *
 * | variable                    | config file key        | meaning                                           |
 * | --------------------------- | ---------------------- | ------------------------------------------------- |
 * | `STRATA_RPC_URL`            | `rpcUrl`               | EVM JSON-RPC URL                                  |
 * | `STRATA_PRIVATE_KEY`        | `privateKey`           | key that signs transactions (and proofs, for a node) |
 * | `STRATA_DEPLOYMENT`         | `deployment`           | deployment file (addresses, chain id, block)      |
 * | `STRATA_NODE_URL`           | `nodeUrl`              | inference node base URL                           |
 * | `STRATA_WALRUS_NETWORK`     | `walrus.network`       | `local` or `testnet`                              |
 * | `STRATA_WALRUS_PUBLISHER`   | `walrus.publisher`     | publisher base URL                                |
 * | `STRATA_WALRUS_AGGREGATORS` | `walrus.aggregators`   | aggregator base URLs (array, or comma-separated)  |
 * | `STRATA_WALRUS_SHARDS`      | `walrus.shards`        | shard count for Blob IDs                          |
 *
 * The devnet key is Hardhat's well-known test account #0: it is used only when no key is given AND the chain is the
 * local devnet (chain id 31337); anywhere else a missing key is an error.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { FetchRequest, JsonRpcProvider, Wallet, type Provider, type Signer } from "ethers";
import { deploymentPath, readDeployment, type Deployment } from "@strata/contracts";
import { StrataClient } from "@strata/core";
import { WalrusClient } from "@strata/walrus";
import { positiveInteger, resolveWalrusConfig, type WalrusCliFlags } from "./config-walrus";

export const DEVNET_RPC_URL = "http://127.0.0.1:8545";
export const DEVNET_CHAIN_ID = 31337;
export const DEVNET_NODE_PORT = 31416;
export const DEVNET_NODE_URL = `http://127.0.0.1:${DEVNET_NODE_PORT}`;
/** Hardhat's default accounts #0 (deployer, publisher) and #1 (the devnet's inference node): public test keys. */
export const DEVNET_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
] as const;

/** Flags every chain-facing command accepts. */
export interface ChainFlags extends WalrusCliFlags {
  config?: string;
  rpc?: string;
  key?: string;
  deployment?: string;
  nodeUrl?: string;
}

const FILE_KEYS: Record<string, string> = {
  rpcUrl: "STRATA_RPC_URL",
  privateKey: "STRATA_PRIVATE_KEY",
  deployment: "STRATA_DEPLOYMENT",
  nodeUrl: "STRATA_NODE_URL",
  "walrus.network": "STRATA_WALRUS_NETWORK",
  "walrus.publisher": "STRATA_WALRUS_PUBLISHER",
  "walrus.aggregators": "STRATA_WALRUS_AGGREGATORS",
  "walrus.shards": "STRATA_WALRUS_SHARDS",
};

/** The config file as environment variables (to sit under the real environment). */
export function configFileEnv(path: string | undefined, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const file = path ?? env.STRATA_CONFIG ?? (existsSync("strata.config.json") ? "strata.config.json" : undefined);
  if (!file) return {};
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`config file ${resolve(file)} could not be read as JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const out: NodeJS.ProcessEnv = {};
  const flat: Record<string, unknown> = { ...parsed };
  const walrus = parsed.walrus;
  if (walrus && typeof walrus === "object") {
    for (const [k, v] of Object.entries(walrus)) flat[`walrus.${k}`] = v;
    delete flat.walrus;
  }
  for (const [key, value] of Object.entries(flat)) {
    const name = FILE_KEYS[key];
    if (!name) {
      throw new Error(`config file ${file}: unknown key "${key}" (known: ${Object.keys(FILE_KEYS).join(", ")})`);
    }
    out[name] = Array.isArray(value) ? value.join(",") : String(value);
  }
  return out;
}

/** Everything a command needs to talk to the chain, Walrus and a node. */
export interface Settings {
  env: NodeJS.ProcessEnv;
  rpcUrl: string;
  deploymentFile: string;
  nodeUrl: string;
  provider: Provider;
  walrus: WalrusClient;
  walrusConfig: ReturnType<typeof resolveWalrusConfig>;
  /** The deployment (read on first use: commands that need no chain never touch it). */
  deployment(): Deployment;
  /** Registry clients for reading. */
  reader(): StrataClient;
  /** The signer: the given key, or the devnet key on the devnet only. */
  signer(keyIndex?: 0 | 1): Promise<Signer>;
  /** The creator that bare model names refer to: the signer's address when a key is available. */
  defaultOwner(): Promise<string | undefined>;
}

/** The default time one JSON-RPC request may take (ethers' own default is 5 minutes, which froze nodes). */
export const DEFAULT_RPC_TIMEOUT_MS = 15_000;

/**
 * A provider for `rpcUrl` that cannot hang: every request times out (`timeoutMs`, default
 * {@link DEFAULT_RPC_TIMEOUT_MS}), and the network is detected once and then static (no chain-id poll per call).
 */
export function connectRpc(rpcUrl: string, timeoutMs?: string | number): JsonRpcProvider {
  const request = new FetchRequest(rpcUrl);
  request.timeout =
    timeoutMs === undefined || timeoutMs === ""
      ? DEFAULT_RPC_TIMEOUT_MS
      : positiveInteger("STRATA_RPC_TIMEOUT_MS", String(timeoutMs));
  return new JsonRpcProvider(request, undefined, { batchMaxCount: 1, cacheTimeout: -1, staticNetwork: true });
}

export function resolveSettings(flags: ChainFlags, baseEnv: NodeJS.ProcessEnv = process.env): Settings {
  const env = { ...configFileEnv(flags.config, baseEnv), ...baseEnv };
  const rpcUrl = flags.rpc ?? env.STRATA_RPC_URL ?? DEVNET_RPC_URL;
  const deploymentFile = resolve(flags.deployment ?? env.STRATA_DEPLOYMENT ?? deploymentPath("localhost"));
  const nodeUrl = (flags.nodeUrl ?? env.STRATA_NODE_URL ?? DEVNET_NODE_URL).replace(/\/+$/, "");
  const provider = connectRpc(rpcUrl, env.STRATA_RPC_TIMEOUT_MS);
  const walrusConfig = resolveWalrusConfig(flags, env);
  const walrus = new WalrusClient(walrusConfig);
  let deployment: Deployment | undefined;
  const settings: Settings = {
    env,
    rpcUrl,
    deploymentFile,
    nodeUrl,
    provider,
    walrus,
    walrusConfig,
    deployment: () => (deployment ??= readDeployment(deploymentFile)),
    reader: () => StrataClient.connect(settings.deployment(), provider),
    async signer(keyIndex = 0) {
      const key = flags.key ?? env.STRATA_PRIVATE_KEY;
      if (key) {
        try {
          return new Wallet(key, provider);
        } catch {
          throw new Error("the private key (--key or STRATA_PRIVATE_KEY) is not a 32-byte hex key");
        }
      }
      const chainId = Number((await provider.getNetwork()).chainId);
      if (chainId !== DEVNET_CHAIN_ID) {
        throw new Error(
          `no key given for chain ${chainId} at ${rpcUrl}: pass --key or set STRATA_PRIVATE_KEY ` +
            "(the built-in test key is used only on the local devnet, chain 31337)",
        );
      }
      return new Wallet(DEVNET_KEYS[keyIndex], provider);
    },
    async defaultOwner() {
      return settings.signer().then(
        (signer) => signer.getAddress(),
        () => undefined,
      );
    },
  };
  return settings;
}
