import { DEFAULT_SHARDS } from "./encoding";

/** Where a Walrus network's HTTP services are, and how many shards it encodes for. */
export interface WalrusNetworkConfig {
  name: string;
  publisherUrl: string;
  aggregatorUrls: readonly string[];
  shards: number;
  /** The largest body the publisher accepts per request, when it has a fixed cap. */
  maxPublishBytes?: number;
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
