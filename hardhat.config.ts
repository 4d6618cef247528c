import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, TASK_TEST_GET_TEST_FILES } from "hardhat/builtin-tasks/task-names";
import { existsSync, readFileSync } from "node:fs";
import { globSync } from "glob";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";
import "hardhat-dependency-compiler";

/**
 * Solidity compiles offline: the compiler is the exactly pinned `solc` npm package (soljson), never a download from
 * binaries.soliditylang.org, which these machines cannot reach.
 */
const SOLC_VERSION = "0.8.29";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  const longVersion = solc.version().replace(/\.Emscripten\.clang$/, "");
  if (args.solcVersion !== SOLC_VERSION || !longVersion.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(
      `Solidity ${args.solcVersion} was requested, but Strata compiles offline with the pinned npm package ` +
        `solc@${longVersion}. Pin "solc": "${args.solcVersion}" exactly in package.json and set SOLC_VERSION in ` +
        `hardhat.config.ts to the same version (or write pragma solidity ${SOLC_VERSION} in the contract).`,
    );
  }
  return { compilerPath: require.resolve("solc/soljson.js"), isSolcJs: true, version: SOLC_VERSION, longVersion };
});

// `hardhat test` with no files runs the contract tests (test/) and every workspace package's tests in one mocha run.
// Under `hardhat coverage` only the contract tests run: the packages' tests measure nothing in contracts/.
subtask(TASK_TEST_GET_TEST_FILES, async (args: { testFiles: string[] }, hre, runSuper) => {
  const coverage = (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING;
  if (args.testFiles.length > 0 || coverage) return runSuper(args);
  const own: string[] = await runSuper(args);
  const packages = globSync("packages/*/test/**/*.test.ts", { absolute: true }).sort();
  return [...own, ...packages];
});

/**
 * The `strata` network is defined by the environment, so `npm run deploy -- --network strata` works against any RPC:
 * STRATA_RPC_URL (default the devnet, http://127.0.0.1:8545), and the deployer's key from STRATA_PRIVATE_KEY or the
 * file STRATA_KEY_FILE names (one hex line). The chain id is not written here: Hardhat asks the RPC for it.
 */
function strataAccounts(): string[] {
  // A malformed key or an unreadable file leaves the network without an account (rather than failing every hardhat
  // command at config load): scripts/deploy.ts then says which variable is wrong.
  const hexKey = (text: string) => (/^(0x)?[0-9a-fA-F]{64}$/.test(text) ? [text.replace(/^(0x)?/, "0x")] : []);
  const key = process.env.STRATA_PRIVATE_KEY?.trim();
  if (key) return hexKey(key);
  const file = process.env.STRATA_KEY_FILE;
  return file && existsSync(file) ? hexKey(readFileSync(file, "utf8").trim()) : [];
}

const config: HardhatUserConfig = {
  solidity: {
    compilers: [{ version: SOLC_VERSION, settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" } }],
    // The registries are optimised for calls, not deployment: every anchor and publication runs them, a deployment
    // happens once. At 10,000 runs the selector dispatch is a binary search down to groups of at most five functions (at 200 runs, six),
    // which is what keeps every write at or below snapshots/gas.json with `version()` added to each registry.
    overrides: Object.fromEntries(
      ["ModelRegistry", "NodeRegistry", "ProofRegistry", "InferenceRequests"].map((name) => [
        `contracts/${name}.sol`,
        { version: SOLC_VERSION, settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "cancun" } },
      ]),
    ),
  },
  // The Ethereum Attestation Service is compiled beside our registries so the gas benchmark compares both in one run.
  dependencyCompiler: {
    paths: [
      "@ethereum-attestation-service/eas-contracts/contracts/EAS.sol",
      "@ethereum-attestation-service/eas-contracts/contracts/SchemaRegistry.sol",
    ],
  },
  typechain: { outDir: "packages/contracts/typechain", target: "ethers-v6" },
  networks: {
    // STRATA_HARDHAT_CHAIN_ID runs `hardhat node` on another chain id (tests of the strata network use it). Blocks
    // may share a timestamp, as on L2s (node activity is ordered by block and log index, and tests check it).
    hardhat: { chainId: Number(process.env.STRATA_HARDHAT_CHAIN_ID ?? 31337), allowBlocksWithSameTimestamp: true },
    localhost: { url: process.env.STRATA_RPC_URL ?? "http://127.0.0.1:8545", chainId: 31337 },
    strata: { url: process.env.STRATA_RPC_URL ?? "http://127.0.0.1:8545", accounts: strataAccounts() },
  },
  mocha: { timeout: 120_000 },
  gasReporter: { enabled: false },
};

export default config;
