/** The local devnet's fixed values: ports, chain id and Hardhat's public test keys. */
import { NODE_DEFAULTS } from "@strata/node";
import { LOCAL_WALRUS_PORT } from "@strata/walrus";

export const DEVNET_CHAIN_PORT = 8545;
export const DEVNET_RPC_URL = `http://127.0.0.1:${DEVNET_CHAIN_PORT}`;
export const DEVNET_CHAIN_ID = 31337;
export const DEVNET_WALRUS_PORT = LOCAL_WALRUS_PORT;
export const DEVNET_NODE_PORT = NODE_DEFAULTS.port;
export const DEVNET_NODE_URL = `http://127.0.0.1:${DEVNET_NODE_PORT}`;
/** Where the devnet keeps its Walrus store (reused across starts) and its node's cache and outbox. */
export const DEVNET_DIR = ".strata/devnet";
/** Hardhat's default accounts #0 (deployer, publisher) and #1 (the devnet's inference node): public test keys. */
export const DEVNET_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
] as const;
