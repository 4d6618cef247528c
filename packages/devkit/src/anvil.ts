/**
 * Foundry's anvil on a loopback port, from the npm package `@foundry-rs/anvil-linux-amd64` (an optional dependency of
 * the repository: a prebuilt binary, no download at run time). Same handle as {@link startHardhatNode}.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { HARDHAT_NODE_HOSTNAME, startChainNode, type HardhatNode, type StartHardhatNodeOptions } from "./chain";
import { HardhatNodeError } from "./errors";

export const ANVIL_PACKAGE = "@foundry-rs/anvil-linux-amd64";

/** The anvil binary of {@link ANVIL_PACKAGE}; throws saying what to install when it is not there. */
export function anvilBinary(): string {
  let dir: string;
  try {
    dir = dirname(require.resolve(`${ANVIL_PACKAGE}/package.json`));
  } catch {
    throw new HardhatNodeError(
      `anvil is not installed: ${ANVIL_PACKAGE} is an optional dependency for Linux x64; run npm ci on Linux x64 ` +
        `(or npm install --no-save ${ANVIL_PACKAGE})`,
      "",
    );
  }
  const binary = join(dir, "bin", "anvil");
  if (!existsSync(binary)) {
    throw new HardhatNodeError(
      `${ANVIL_PACKAGE} is installed but has no bin/anvil (${binary}): reinstall it with npm ci`,
      "",
    );
  }
  return binary;
}

export interface StartAnvilOptions extends StartHardhatNodeOptions {
  /** Seconds between blocks; default: a block per transaction (automine). */
  blockTime?: number;
}

/** Starts anvil (default chain id 31337, Hardhat's test mnemonic, so the devnet keys are funded). */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<HardhatNode> {
  const binary = anvilBinary();
  return startChainNode(
    {
      name: "anvil",
      command: binary,
      args: (port) => [
        "--host",
        HARDHAT_NODE_HOSTNAME,
        "--port",
        String(port),
        "--chain-id",
        String(options.chainId ?? 31337),
        ...(options.blockTime === undefined ? [] : ["--block-time", String(options.blockTime)]),
      ],
    },
    options,
  );
}
