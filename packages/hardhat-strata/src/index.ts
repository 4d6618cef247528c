/**
 * @strata/hardhat — Strata in a Hardhat project's own tests. `import "@strata/hardhat"` (or `require`) in
 * hardhat.config gives `hre.strata` ({@link StrataHardhat}):
 *
 *   const strata = await hre.strata.deploy();          // registries, InferenceRequests, a bonded node, a test model
 *   const tx = await myConsumer.ask(strata.encodeInput({ x: { dtype: "float32", dims: [1, 4], values } }));
 *   await strata.fulfilled(tx);                         // the in-process node ran the model and called back
 *
 * The node is the real one (@strata/node): it signs the usual proof, bound to the request, and InferenceRequests checks
 * it on-chain before calling the consumer back. Every environment is stopped when the tests end.
 */
import "@nomicfoundation/hardhat-ethers";
import { extendEnvironment, subtask } from "hardhat/config";
import { TASK_TEST_RUN_MOCHA_TESTS } from "hardhat/builtin-tasks/task-names";
import { lazyObject } from "hardhat/plugins";
import { StrataHardhat } from "./strata";
import "./type-extensions";

extendEnvironment((hre) => {
  hre.strata = lazyObject(() => new StrataHardhat(hre));
});

// The nodes and stores the tests started keep the process alive: stop them once mocha is done.
subtask(TASK_TEST_RUN_MOCHA_TESTS).setAction(async (args, hre, runSuper) => {
  try {
    return await runSuper(args);
  } finally {
    await hre.strata.stopAll();
  }
});

export * from "./strata";
export * from "./errors";
