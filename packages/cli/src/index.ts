/** `@strata/cli` as a library: what scripts and tests reuse from the `strata` command. */
export * from "./hardhat-node";
export {
  resolveSettings,
  DEVNET_KEYS,
  DEVNET_CHAIN_ID,
  DEVNET_NODE_PORT,
  DEVNET_RPC_URL,
  type Settings,
} from "./config";
export { startNode } from "./commands/node";
export { startAnvil, anvilBinary, ANVIL_PACKAGE, type StartAnvilOptions } from "./anvil";
export { keyOf, readKeyFile } from "./config";
export { errorMessage } from "./error-message";
export { CliError, type CliErrorCode } from "./errors";
