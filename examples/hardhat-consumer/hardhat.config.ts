import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-chai-matchers";
import "@typechain/hardhat";
// The plugin under demonstration: hre.strata.
import "@strata/hardhat";

// These machines compile offline, with the solc npm package (a project online needs none of this).
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  const longVersion = solc.version().replace(/\.Emscripten\.clang$/, "");
  return { compilerPath: require.resolve("solc/soljson.js"), isSolcJs: true, version: "0.8.29", longVersion };
});

const config: HardhatUserConfig = {
  solidity: { version: "0.8.29", settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" } },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  mocha: { timeout: 120_000 },
};

export default config;
