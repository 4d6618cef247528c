/**
 * `npm run test:fork`: forked-chain integration tests.
 *
 * 1. Starts `hardhat node` on a free loopback port (@strata/devkit, packages/devkit/src/chain.ts).
 * 2. Deploys the registries there and seeds them with the node's default accounts: a model with one version, an
 *    admitted node, an anchored proof and an anchored batch (test/integration/fork/seed.ts).
 * 3. Writes the deployment and the seed to a temporary folder.
 * 4. Runs `hardhat test test/integration/fork/*.test.ts` with STRATA_FORK_URL, STRATA_FORK_DEPLOYMENT and
 *    STRATA_FORK_BLOCK: those tests fork the node inside the in-process Hardhat network.
 *
 * The node is stopped at the end, also when a step fails or on SIGINT/SIGTERM. The exit code is the test run's
 * (1 when a step before it failed, 128 + the signal number when interrupted).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { globSync } from "glob";
import { JsonRpcProvider } from "ethers";
import { deploymentPath, deployRegistries, describeDeployment, writeDeployment } from "@strata/contracts";
import { startHardhatNode, type HardhatNode } from "@strata/devkit";
import { seedPath, seedRegistries, writeSeed } from "../test/integration/fork/seed";

const ROOT = join(__dirname, "..");
const FORK_TESTS = "test/integration/fork/*.test.ts";
const SIGNAL_EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

let node: HardhatNode | undefined;
let tests: ChildProcess | undefined;
let workDir: string | undefined;
let interrupted: NodeJS.Signals | undefined;

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** Stops the node and removes the temporary folder; safe to call more than once. */
async function cleanUp(): Promise<void> {
  await node?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}

function onSignal(signal: NodeJS.Signals): void {
  if (interrupted) return;
  interrupted = signal;
  console.error(`\ntest:fork: ${signal}, stopping the tests and the hardhat node`);
  // The test run has a process group of its own (npx, hardhat): end all of it.
  if (tests?.pid !== undefined && tests.exitCode === null) {
    try {
      process.kill(-tests.pid, signal);
    } catch {
      // already gone
    }
  }
  void cleanUp().finally(() => process.exit(SIGNAL_EXIT_CODES[signal] ?? 1));
}

/** Runs `npx hardhat test <files>` with `env` and resolves with its exit code. */
function runTests(files: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    tests = spawn("npx", ["hardhat", "test", ...files], {
      cwd: ROOT,
      stdio: "inherit",
      detached: true, // a process group of its own, so a signal reaches npx's children too
      env: { ...process.env, ...env },
    });
    tests.once("error", (error) => {
      console.error(`test:fork: could not run hardhat test: ${error.message}`);
      resolve(1);
    });
    tests.once("exit", (code, signal) => resolve(code ?? (signal ? (SIGNAL_EXIT_CODES[signal] ?? 1) : 1)));
  });
}

async function main(): Promise<number> {
  const started = performance.now();
  process.on("SIGINT", onSignal); // not once: a second SIGINT (relayed by tsx) must not kill us mid-cleanup
  process.on("SIGTERM", onSignal);

  const files = globSync(FORK_TESTS, { cwd: ROOT }).sort();
  if (files.length === 0) throw new Error(`no fork test files match ${FORK_TESTS}`);

  node = await startHardhatNode();
  if (interrupted) return SIGNAL_EXIT_CODES[interrupted] ?? 1;
  console.log(`test:fork: hardhat node at ${node.url} (chain ${node.chainId}, pid ${node.pid}) in ${seconds(started)}`);

  const provider = new JsonRpcProvider(node.url, node.chainId, {
    staticNetwork: true,
    pollingInterval: 100,
    cacheTimeout: -1,
  });
  let deploymentFile: string;
  let forkBlock: number;
  try {
    const [deployer, owner, nodeAccount] = await provider.listAccounts();
    const registries = await deployRegistries(deployer);
    const deployment = await describeDeployment("localhost", registries, deployer, registries.block);
    const seed = await seedRegistries(registries, { deployer, owner, node: nodeAccount });

    workDir = mkdtempSync(join(tmpdir(), "strata-fork-"));
    deploymentFile = deploymentPath("localhost", workDir);
    writeDeployment(deploymentFile, deployment);
    writeSeed(seedPath(deploymentFile), seed);
    forkBlock = seed.block;
    console.log(`test:fork: deployed and seeded the registries up to block ${seed.block}: ${deploymentFile}`);
  } finally {
    provider.destroy();
  }
  if (interrupted) return SIGNAL_EXIT_CODES[interrupted] ?? 1;

  console.log(`test:fork: npx hardhat test ${files.join(" ")}\n`);
  const code = await runTests(files, {
    STRATA_FORK_URL: node.url,
    STRATA_FORK_DEPLOYMENT: deploymentFile,
    STRATA_FORK_BLOCK: String(forkBlock),
  });
  console.log(`test:fork: tests exited with code ${code} after ${seconds(started)}`);
  return code;
}

main()
  .catch((error: unknown) => {
    console.error(`test:fork: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  })
  .then(async (code) => {
    if (interrupted) return; // onSignal cleans up and exits
    await cleanUp();
    process.exitCode = code;
  });
