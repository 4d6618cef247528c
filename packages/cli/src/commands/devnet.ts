/**
 * `strata devnet`: the whole local system with one command, and every other command's default target.
 */
import { Command } from "commander";
import { StrataClient } from "@strata/core";
import {
  chainProvider,
  DEVNET_CHAIN_PORT,
  DEVNET_DIR,
  DEVNET_NODE_PORT,
  DEVNET_WALRUS_PORT,
  localWalrusClient,
  startDevnet,
} from "@strata/devkit";
import { DEFAULT_EXPLORER_PORT, startExplorer, type Explorer } from "@strata/explorer";
import { localNetworkClock } from "@strata/walrus";
import { NODE_DEFAULTS } from "@strata/node";
import { positiveInteger } from "../config-walrus";

export function devnetCommand(): Command {
  return new Command("devnet")
    .description("start a local chain, Walrus store and inference node, with the registries deployed (Ctrl-C stops)")
    .option("--chain-port <port>", "hardhat node JSON-RPC port", String(DEVNET_CHAIN_PORT))
    .option("--walrus-port <port>", "local Walrus store port", String(DEVNET_WALRUS_PORT))
    .option("--node-port <port>", "inference node port", String(DEVNET_NODE_PORT))
    .option("--dir <dir>", "state directory (the Walrus store is kept across starts)", DEVNET_DIR)
    .option("--batch-size <n>", "node: anchor when this many proofs wait", String(NODE_DEFAULTS.batchSize))
    .option("--batch-age-ms <ms>", "node: anchor when the oldest proof is this old", String(NODE_DEFAULTS.batchAgeMs))
    .option("--explorer-port <port>", "web explorer port", String(DEFAULT_EXPLORER_PORT))
    .option("--no-explorer", "do not start the web explorer")
    .action(
      async (flags: {
        chainPort: string;
        walrusPort: string;
        nodePort: string;
        dir: string;
        batchSize: string;
        batchAgeMs: string;
        explorerPort: string;
        explorer: boolean;
      }) => {
        const log = (line: string) => process.stdout.write(`${line}\n`);
        log("starting the Strata devnet…");
        const devnet = await startDevnet({
          chainPort: positiveInteger("--chain-port", flags.chainPort),
          walrusPort: positiveInteger("--walrus-port", flags.walrusPort),
          nodePort: positiveInteger("--node-port", flags.nodePort),
          dir: flags.dir,
          batchSize: positiveInteger("--batch-size", flags.batchSize),
          batchAgeMs: positiveInteger("--batch-age-ms", flags.batchAgeMs),
          log,
        });
        let explorer: Explorer | undefined;
        const provider = chainProvider(devnet.chain.url);
        if (flags.explorer) {
          explorer = await startExplorer({
            port: positiveInteger("--explorer-port", flags.explorerPort),
            client: StrataClient.connect(devnet.deployment, provider),
            walrus: localWalrusClient(devnet.walrus),
            clock: localNetworkClock(devnet.walrus.url),
          });
          log(`explorer      ${explorer.url}`);
        }
        const defaults =
          flags.chainPort === String(DEVNET_CHAIN_PORT) &&
          flags.walrusPort === String(DEVNET_WALRUS_PORT) &&
          flags.nodePort === String(DEVNET_NODE_PORT);
        const hint = defaults
          ? ""
          : ` --rpc ${devnet.chain.url} --publisher ${devnet.walrus.url} --aggregator ${devnet.walrus.url} --node-url ${devnet.nodeUrl}`;
        log("");
        log("ready. In another terminal, try:");
        log(`  npx strata model example model.onnx`);
        log(`  npx strata model publish model.onnx --name demo${hint}`);
        log(`  npx strata infer demo --input '{"x":{"dtype":"float32","dims":[1,4],"data":[1,2,3,4]}}' --wait${hint}`);
        log(`  npx strata verify <commitment> --reexecute${hint}`);
        if (explorer) log(`or open ${explorer.url} in a browser (models, nodes, batches, proofs, live verification).`);
        log("Ctrl-C stops everything.");
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          log(`\n${signal}: stopping the node (after its current batch), the Walrus store and the chain…`);
          (explorer?.close() ?? Promise.resolve())
            .then(() => provider.destroy())
            .then(() => devnet.stop())
            .then(
              () => {
                log("stopped.");
                process.exit(0);
              },
              (error: Error) => {
                process.stderr.write(`stop failed: ${error.message}\n`);
                process.exit(1);
              },
            );
        };
        process.on("SIGINT", () => stop("SIGINT"));
        process.on("SIGTERM", () => stop("SIGTERM"));
      },
    );
}
