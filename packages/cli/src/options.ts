import { Option, type Command } from "commander";
import type { ChainFlags } from "./config";

/** Adds the network flags every chain-facing command takes (see config.ts for the environment and config file). */
export function chainOptions(command: Command): Command {
  return command
    .option("--config <file>", "config file (default ./strata.config.json when present; env STRATA_CONFIG)")
    .option("--rpc <url>", "EVM JSON-RPC URL (env STRATA_RPC_URL; default the devnet, http://127.0.0.1:8545)")
    .option(
      "--key-file <path>",
      "file holding the private key that signs (env STRATA_KEY_FILE or STRATA_PRIVATE_KEY; the devnet's test key by default)",
    )
    .option("--key <hex>", "private key that signs: shows in `ps`, prefer --key-file (prints a warning)")
    .option(
      "--block-range <n>",
      "blocks per eth_getLogs query, for RPCs that cap them (env STRATA_BLOCK_RANGE; default: narrow when refused)",
    )
    .option("--deployment <file>", "deployment file (env STRATA_DEPLOYMENT; default the devnet's localhost.json)")
    .option("--node-url <url>", "inference node URL (env STRATA_NODE_URL; default http://127.0.0.1:31416)")
    .addOption(new Option("--network <name>", "Walrus network: local (the devnet store) or testnet"))
    .option("--publisher <url>", "Walrus publisher URL (env STRATA_WALRUS_PUBLISHER)")
    .option(
      "--publisher-token-file <path>",
      "file holding the publisher's bearer token (env STRATA_WALRUS_PUBLISHER_TOKEN[_FILE])",
    )
    .option("--aggregator <url...>", "Walrus aggregator URL(s), tried in order (env STRATA_WALRUS_AGGREGATORS)")
    .option("--shards <n>", "shard count for Blob IDs (default: the network's, 1000)")
    .option("--json", "print JSON");
}

/** The flags of a command built with {@link chainOptions}. */
export type ChainCommandFlags = ChainFlags & { json?: boolean };

/** Prints `value` as JSON, or the human `lines`. */
export function output(json: boolean | undefined, value: unknown, lines: string[]): void {
  process.stdout.write(
    json
      ? `${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`
      : `${lines.join("\n")}\n`,
  );
}
