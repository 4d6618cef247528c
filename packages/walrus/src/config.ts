import { DEFAULT_SHARDS } from "./encoding";
import { localNetworkClock, scheduleClock, type EpochSchedule, type NetworkClock } from "./network-clock";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Mainnet's epochs: 14 days; epoch 1 started 2025-03-25 15:00:24.408 UTC (as \`walrus info\` printed it). */
export const WALRUS_MAINNET_EPOCHS: EpochSchedule = Object.freeze({
  epochMs: 14 * DAY_MS,
  reference: Object.freeze({ epoch: 1, startMs: Date.UTC(2025, 2, 25, 15, 0, 24, 408) }),
});

/** Testnet's epochs: 1 day; no fixed reference (testnet is reset from time to time): learnt from store answers. */
export const WALRUS_TESTNET_EPOCHS: EpochSchedule = Object.freeze({ epochMs: DAY_MS });

/** Where a Walrus network's HTTP services are, and how many shards it encodes for. */
export interface WalrusNetworkConfig {
  name: string;
  publisherUrl: string;
  aggregatorUrls: readonly string[];
  shards: number;
  /** The largest body the publisher accepts per request, when it has a fixed cap. */
  maxPublishBytes?: number;
  /** The network's epoch schedule (the local store reports its own clock over HTTP instead). */
  epochs?: EpochSchedule;
}

/**
 * Walrus testnet through Mysten Labs' public publisher and aggregator. The public publisher takes at most 10 MiB per
 * request; for larger blobs use the `@mysten/walrus` SDK (see the package README).
 */
export const WALRUS_TESTNET: WalrusNetworkConfig = Object.freeze({
  name: "testnet",
  publisherUrl: "https://publisher.walrus-testnet.walrus.space",
  aggregatorUrls: Object.freeze(["https://aggregator.walrus-testnet.walrus.space"]),
  shards: DEFAULT_SHARDS,
  maxPublishBytes: 10 * 1024 * 1024,
  epochs: WALRUS_TESTNET_EPOCHS,
});

/** Port of the local Walrus-compatible store of the devnet (`strata walrus serve`). */
export const LOCAL_WALRUS_PORT = 31415;

/** The local Walrus-compatible store (`strata walrus serve`): one URL serves as publisher and aggregator. */
export const LOCAL_WALRUS: WalrusNetworkConfig = Object.freeze({
  name: "local",
  publisherUrl: `http://127.0.0.1:${LOCAL_WALRUS_PORT}`,
  aggregatorUrls: Object.freeze([`http://127.0.0.1:${LOCAL_WALRUS_PORT}`]),
  shards: DEFAULT_SHARDS,
});

export const WALRUS_NETWORKS: Readonly<Record<string, WalrusNetworkConfig>> = Object.freeze({
  testnet: WALRUS_TESTNET,
  local: LOCAL_WALRUS,
});

/**
 * The epoch clock of a network: the local store's own (read over HTTP from its publisher URL) for the network named
 * "local" or any config without a schedule; otherwise a {@link ScheduleClock} over the config's schedule.
 */
export function networkClockFor(config: WalrusNetworkConfig): NetworkClock {
  if (config.epochs === undefined) return localNetworkClock(config.publisherUrl);
  return scheduleClock(config.name, config.epochs);
}
