/**
 * Network settings of every `strata` command. Precedence: command-line flags, then environment variables, then a
 * config file (`--config <file>`, else `STRATA_CONFIG`, else `./strata.config.json` if present), then the local devnet
 * defaults (chain 127.0.0.1:8545 with Hardhat's first account as the key, Walrus store 127.0.0.1:31415, node
 * 127.0.0.1:31416, deployment packages/contracts/deployments/localhost.json).
 *
 * | variable                    | config file key        | meaning                                           |
 * | --------------------------- | ---------------------- | ------------------------------------------------- |
 * | `STRATA_RPC_URL`            | `rpcUrl`               | EVM JSON-RPC URL                                  |
 * | `STRATA_KEY_FILE`           | `keyFile`              | file holding the key that signs (hex, one line)    |
 * | `STRATA_PRIVATE_KEY`        | `privateKey`           | key that signs transactions (and proofs, for a node) |
 * | `STRATA_BLOCK_RANGE`        | `blockRange`           | blocks per eth_getLogs query (narrows on refusal)  |
 * | `STRATA_DEPLOYMENT`         | `deployment`           | deployment file (addresses, chain id, block)      |
 * | `STRATA_NODE_URL`           | `nodeUrl`              | inference node base URL                           |
 * | `STRATA_WALRUS_NETWORK`     | `walrus.network`       | `local` or `testnet`                              |
 * | `STRATA_WALRUS_PUBLISHER`   | `walrus.publisher`     | publisher base URL                                |
 * | `STRATA_WALRUS_AGGREGATORS` | `walrus.aggregators`   | aggregator base URLs (array, or comma-separated)  |
 * | `STRATA_WALRUS_SHARDS`      | `walrus.shards`        | shard count for Blob IDs                          |
 *
 * The devnet key is Hardhat's well-known test account #0: it is used only when no key is given AND the chain is the
 * local devnet (chain id 31337); anywhere else a missing key is an error.
 *
 * A key never needs to be on the command line (where `ps` shows it): `--key-file <path>` or `STRATA_KEY_FILE` name a
 * file holding it, and `STRATA_PRIVATE_KEY` holds it. `--key <hex>` still works but prints a warning.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { FetchRequest, Wallet, type Provider, type Signer } from "ethers";
import { deploymentPath, readDeployment, type Deployment } from "@strata/contracts";
import { BlockRange, StrataClient } from "@strata/core";
import { DEVNET_CHAIN_ID, DEVNET_KEYS, DEVNET_NODE_URL, DEVNET_RPC_URL } from "@strata/devkit";
import { WalrusClient } from "@strata/walrus";
import { positiveInteger, resolveWalrusConfig, type WalrusCliFlags } from "./config-walrus";
import { RangeAdaptiveProvider } from "./provider";

export { DEVNET_CHAIN_ID, DEVNET_KEYS, DEVNET_NODE_PORT, DEVNET_NODE_URL, DEVNET_RPC_URL } from "@strata/devkit";

/** Flags every chain-facing command accepts. */
export interface ChainFlags extends WalrusCliFlags {
  config?: string;
  rpc?: string;
  /** `--key <hex>`: works, with a warning (a flag shows in `ps`). */
  key?: string;
  /** `--key-file <path>`: a file holding the hex key. */
  keyFile?: string;
  /** The key, given by code (the devnet's own node): never a command-line flag, so no warning. */
  signingKey?: string;
  /** `--block-range <n>`: blocks per eth_getLogs query. */
  blockRange?: string;
  deployment?: string;
  nodeUrl?: string;
}

const FILE_KEYS: Record<string, string> = {
  rpcUrl: "STRATA_RPC_URL",
  privateKey: "STRATA_PRIVATE_KEY",
  keyFile: "STRATA_KEY_FILE",
  blockRange: "STRATA_BLOCK_RANGE",
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
  /** Blocks per eth_getLogs query (`undefined`: whole scans until the RPC refuses one), narrowed as the RPC says. */
  blockRange: BlockRange;
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
 * The request of every JSON-RPC call to `rpcUrl`: it times out after `timeoutMs` (default
 * {@link DEFAULT_RPC_TIMEOUT_MS}, env `STRATA_RPC_TIMEOUT_MS`), so a hung RPC fails a call instead of freezing it.
 */
export function rpcRequest(rpcUrl: string, timeoutMs?: string | number): FetchRequest {
  const request = new FetchRequest(rpcUrl);
  request.timeout =
    timeoutMs === undefined || timeoutMs === ""
      ? DEFAULT_RPC_TIMEOUT_MS
      : positiveInteger("STRATA_RPC_TIMEOUT_MS", String(timeoutMs));
  return request;
}

/** Where warnings go (stderr); replaceable for tests. */
export type Warn = (line: string) => void;

export function resolveSettings(
  flags: ChainFlags,
  baseEnv: NodeJS.ProcessEnv = process.env,
  warn: Warn = (line) => process.stderr.write(`${line}\n`),
): Settings {
  const env = { ...configFileEnv(flags.config, baseEnv), ...baseEnv };
  const rpcUrl = flags.rpc ?? env.STRATA_RPC_URL ?? DEVNET_RPC_URL;
  const deploymentFile = resolve(flags.deployment ?? env.STRATA_DEPLOYMENT ?? deploymentPath("localhost"));
  const nodeUrl = (flags.nodeUrl ?? env.STRATA_NODE_URL ?? DEVNET_NODE_URL).replace(/\/+$/, "");
  const rangeText = flags.blockRange ?? env.STRATA_BLOCK_RANGE;
  const rangeSource = flags.blockRange !== undefined ? "--block-range" : "STRATA_BLOCK_RANGE (or blockRange)";
  const blockRange = new BlockRange(
    rangeText === undefined || rangeText === "" ? undefined : positiveInteger(rangeSource, rangeText),
  );
  // Every request times out, and the network is detected once and then static (no chain-id poll per call).
  const provider = new RangeAdaptiveProvider(
    rpcRequest(rpcUrl, env.STRATA_RPC_TIMEOUT_MS),
    blockRange,
    undefined,
    { batchMaxCount: 1, cacheTimeout: -1, staticNetwork: true },
    (refusal, attempted, next) =>
      warn(`strata: the RPC refused eth_getLogs over ${attempted} blocks ("${refusal.message}"): using ${next}`),
  );
  const walrusConfig = resolveWalrusConfig(flags, env);
  const walrus = new WalrusClient(walrusConfig);
  let deployment: Deployment | undefined;
  let warned = false;
  const settings: Settings = {
    env,
    rpcUrl,
    deploymentFile,
    nodeUrl,
    provider,
    blockRange,
    walrus,
    walrusConfig,
    deployment: () => (deployment ??= readDeployment(deploymentFile)),
    reader: () => StrataClient.connect(settings.deployment(), provider, { maxBlockRange: blockRange.size, blockRange }),
    async signer(keyIndex = 0) {
      if (flags.key !== undefined && !warned) {
        warned = true;
        warn(
          "strata: warning: --key puts the private key on the command line, where `ps` and the shell history show " +
            "it; use --key-file <path> or STRATA_KEY_FILE / STRATA_PRIVATE_KEY instead",
        );
      }
      const found = keyOf(flags, env);
      if (found) {
        try {
          return new Wallet(found.key, provider);
        } catch {
          throw new Error(`the private key (${found.source}) is not a 32-byte hex key`);
        }
      }
      const chainId = Number((await provider.getNetwork()).chainId);
      if (chainId !== DEVNET_CHAIN_ID) {
        throw new Error(
          `no key given for chain ${chainId} at ${rpcUrl}: pass --key-file <path>, or set STRATA_KEY_FILE or ` +
            "STRATA_PRIVATE_KEY (the built-in test key is used only on the local devnet, chain 31337)",
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

/**
 * The signing key and where it came from. Precedence: the key given by code, `--key`, `--key-file`, then
 * `STRATA_PRIVATE_KEY`, `STRATA_KEY_FILE` (each also from the config file, under the environment).
 */
export function keyOf(flags: ChainFlags, env: NodeJS.ProcessEnv): { key: string; source: string } | undefined {
  if (flags.signingKey) return { key: flags.signingKey, source: "the given key" };
  if (flags.key !== undefined && flags.keyFile !== undefined) {
    throw new Error("pass either --key or --key-file, not both");
  }
  if (flags.key !== undefined) return { key: flags.key, source: "--key" };
  if (flags.keyFile !== undefined) return { key: readKeyFile(flags.keyFile, "--key-file"), source: "--key-file" };
  if (env.STRATA_PRIVATE_KEY) return { key: env.STRATA_PRIVATE_KEY, source: "STRATA_PRIVATE_KEY" };
  if (env.STRATA_KEY_FILE) {
    return {
      key: readKeyFile(env.STRATA_KEY_FILE, "STRATA_KEY_FILE"),
      source: `STRATA_KEY_FILE ${env.STRATA_KEY_FILE}`,
    };
  }
  return undefined;
}

/** The hex key in `path`: the whole file, trimmed (a trailing newline is fine). */
export function readKeyFile(path: string, source: string): string {
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new Error("not a regular file");
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`the key file ${resolve(path)} (${source}) cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const key = text.trim();
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(key)) {
    throw new Error(
      `the key file ${resolve(path)} (${source}) must hold one 32-byte hex private key (64 hex digits, 0x optional)`,
    );
  }
  return key.startsWith("0x") ? key : `0x${key}`;
}
