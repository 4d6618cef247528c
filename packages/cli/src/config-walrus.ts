/**
 * Which Walrus services the CLI talks to. Precedence: command-line flags, then environment variables, then the named
 * network (`--network`, else `STRATA_WALRUS_NETWORK`, else `local`: the devnet's store on 127.0.0.1:31415).
 *
 * | variable                             | meaning                                           |
 * | ------------------------------------ | ------------------------------------------------- |
 * | `STRATA_WALRUS_NETWORK`              | `local` or `testnet`                              |
 * | `STRATA_WALRUS_PUBLISHER`            | publisher base URL                                |
 * | `STRATA_WALRUS_AGGREGATORS`          | aggregator base URLs, comma-separated, in order   |
 * | `STRATA_WALRUS_SHARDS`               | shard count for Blob IDs (default: the network's) |
 * | `STRATA_WALRUS_PUBLISHER_TOKEN`      | bearer token (JWT) of an authenticated publisher  |
 * | `STRATA_WALRUS_PUBLISHER_TOKEN_FILE` | a file holding that token                         |
 * | `STRATA_WALRUS_EPOCH`                | `<epoch>@<start time>` of one epoch (testnet)      |
 *
 * The publisher token is never taken as a flag value (a flag shows in `ps`): `--publisher-token-file <path>` names a
 * file that holds it, and no message shows it.
 */
import { readFileSync } from "node:fs";
import {
  localNetworkClock,
  scheduleClock,
  WALRUS_NETWORKS,
  type NetworkClock,
  type WalrusClientOptions,
  type WalrusNetworkConfig,
} from "@strata/walrus";
import { CliError } from "./errors";

export interface WalrusCliFlags {
  network?: string;
  publisher?: string;
  aggregator?: string[];
  shards?: string;
  timeout?: string;
  /** A file holding the publisher's bearer token (`--publisher-token-file`). */
  publisherTokenFile?: string;
}

export interface ResolvedWalrusConfig extends WalrusClientOptions {
  network: WalrusNetworkConfig;
  publisherUrl: string;
  aggregatorUrls: string[];
  shards: number;
}

/** Parses a positive integer flag, or fails with a message that names it. */
export function positiveInteger(name: string, value: string): number {
  if (!/^[1-9][0-9]*$/.test(value))
    throw new CliError("USAGE", `${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Parses a byte size such as `1048576`, `512MiB` or `1GiB`. */
export function byteSize(name: string, value: string): number {
  const match = /^([0-9]+)(B|KiB|MiB|GiB)?$/.exec(value.trim());
  if (match === null)
    throw new CliError("USAGE", `${name} must be a size such as 1048576, 64MiB or 1GiB, got ${value}`);
  const unit = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[match[2] ?? "B"] ?? 1;
  return Number(match[1]) * unit;
}

/** RFC 6750 `b64token`, as the Walrus client takes it. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Reads a token file, naming the file (never its contents) when it cannot be used. */
function readTokenFile(source: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new CliError(
      "CONFIG",
      `${source} ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      {
        cause: error,
      },
    );
  }
  const token = text.trim();
  if (token === "")
    throw new CliError("CONFIG", `${source} ${file} is empty: put the publisher's bearer token (a JWT) in it`);
  return token;
}

/**
 * The publisher's bearer token: from `--publisher-token-file`, else `STRATA_WALRUS_PUBLISHER_TOKEN_FILE`, else
 * `STRATA_WALRUS_PUBLISHER_TOKEN`. Errors say where the token came from, never what it is.
 */
export function resolvePublisherToken(flags: WalrusCliFlags, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let source: string;
  let token: string;
  if (flags.publisherTokenFile !== undefined) {
    source = "--publisher-token-file";
    token = readTokenFile(source, flags.publisherTokenFile);
  } else if (env.STRATA_WALRUS_PUBLISHER_TOKEN_FILE !== undefined && env.STRATA_WALRUS_PUBLISHER_TOKEN !== undefined) {
    throw new CliError("CONFIG", "set STRATA_WALRUS_PUBLISHER_TOKEN or STRATA_WALRUS_PUBLISHER_TOKEN_FILE, not both");
  } else if (env.STRATA_WALRUS_PUBLISHER_TOKEN_FILE !== undefined) {
    source = "STRATA_WALRUS_PUBLISHER_TOKEN_FILE";
    token = readTokenFile(source, env.STRATA_WALRUS_PUBLISHER_TOKEN_FILE);
  } else if (env.STRATA_WALRUS_PUBLISHER_TOKEN !== undefined) {
    source = "STRATA_WALRUS_PUBLISHER_TOKEN";
    token = env.STRATA_WALRUS_PUBLISHER_TOKEN.trim();
  } else {
    return undefined;
  }
  if (!BEARER_TOKEN.test(token)) {
    throw new CliError(
      "CONFIG",
      `${source} is not a bearer token (${token.length} characters): give the JWT alone, without "Bearer ", spaces ` +
        `or line breaks`,
    );
  }
  return token;
}

function urls(list: string[] | undefined): string[] {
  return (list ?? [])
    .flatMap((item) => item.split(","))
    .map((url) => url.trim())
    .filter((url) => url !== "");
}

export function resolveWalrusConfig(flags: WalrusCliFlags, env: NodeJS.ProcessEnv = process.env): ResolvedWalrusConfig {
  const name = flags.network ?? env.STRATA_WALRUS_NETWORK ?? "local";
  const network = WALRUS_NETWORKS[name];
  if (network === undefined) {
    throw new CliError(
      "USAGE",
      `Unknown Walrus network ${JSON.stringify(name)}: use ${Object.keys(WALRUS_NETWORKS).join(" or ")}`,
    );
  }
  const publisherUrl = flags.publisher ?? env.STRATA_WALRUS_PUBLISHER ?? network.publisherUrl;
  const aggregatorFlags = urls(flags.aggregator);
  const aggregatorEnv = urls(env.STRATA_WALRUS_AGGREGATORS === undefined ? [] : [env.STRATA_WALRUS_AGGREGATORS]);
  const aggregatorUrls =
    aggregatorFlags.length > 0
      ? aggregatorFlags
      : aggregatorEnv.length > 0
        ? aggregatorEnv
        : [...network.aggregatorUrls];
  const shardsText = flags.shards ?? env.STRATA_WALRUS_SHARDS;
  const shards = shardsText === undefined ? network.shards : positiveInteger("--shards", shardsText);
  const publisherToken = resolvePublisherToken(flags, env);
  const reference = env.STRATA_WALRUS_EPOCH === undefined ? undefined : epochReference(env.STRATA_WALRUS_EPOCH);
  return {
    network:
      reference !== undefined && network.epochs !== undefined
        ? { ...network, epochs: { ...network.epochs, reference } }
        : network,
    publisherUrl,
    aggregatorUrls,
    shards,
    // The network's per-request cap applies to its own publisher only.
    ...(publisherUrl === network.publisherUrl && network.maxPublishBytes !== undefined
      ? { maxPublishBytes: network.maxPublishBytes }
      : {}),
    ...(flags.timeout !== undefined ? { timeoutMs: positiveInteger("--timeout", flags.timeout) } : {}),
    ...(publisherToken !== undefined ? { publisherToken } : {}),
  };
}

/** Parses `STRATA_WALRUS_EPOCH`: `<epoch>@<start time>`, e.g. `120@2026-12-01T08:00:00Z` (from `walrus info`). */
function epochReference(value: string): { epoch: number; startMs: number } {
  const match = /^([0-9]{1,9})@(.+)$/.exec(value.trim());
  const startMs = match === null ? Number.NaN : Date.parse(match[2] ?? "");
  if (match === null || !Number.isFinite(startMs)) {
    throw new CliError(
      "CONFIG",
      `STRATA_WALRUS_EPOCH must be <epoch>@<start time>, e.g. 120@2026-12-01T08:00:00Z (the "Current epoch" and ` +
        `"Start time" that walrus info prints), got ${JSON.stringify(value)}`,
    );
  }
  return { epoch: Number(match[1]), startMs };
}

/**
 * The epoch clock of the configured Walrus network: its schedule (testnet's from `STRATA_WALRUS_EPOCH`), or, for a
 * local store (no schedule), the store's own clock read over HTTP from its publisher URL, or from the first aggregator
 * when `via` is `"aggregator"` (what a verifier reads from).
 */
export function walrusClock(
  config: ResolvedWalrusConfig,
  wall?: () => number,
  via: "publisher" | "aggregator" = "publisher",
): NetworkClock {
  const { network } = config;
  if (network.epochs === undefined) {
    return localNetworkClock(
      via === "aggregator" ? (config.aggregatorUrls[0] ?? config.publisherUrl) : config.publisherUrl,
      wall,
    );
  }
  return scheduleClock(
    network.name,
    network.epochs,
    wall,
    `set STRATA_WALRUS_EPOCH=<epoch>@<start time> from what "walrus info" prints`,
  );
}
