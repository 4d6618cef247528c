/**
 * `strata explorer`: the read-only web explorer of a deployment (models, nodes, batches and quilts, proofs, live
 * verification, search), served on loopback by @strata/explorer. `strata devnet` starts one too.
 */
import { Command } from "commander";
import { DEFAULT_EXPLORER_PORT, startExplorer, type Explorer } from "@strata/explorer";
import { positiveInteger, walrusClock } from "../config-walrus";
import { resolveSettings } from "../config";
import { chainOptions, type ChainCommandFlags } from "../options";

interface ExplorerFlags extends ChainCommandFlags {
  port: string;
  host: string;
  walrus?: string;
  clockSkew: string;
}

export function explorerCommand(): Command {
  return chainOptions(
    new Command("explorer")
      .summary("open a web explorer of the deployment: models, nodes, batches, proofs, live verification")
      .description(
        "Serve a read-only web explorer of the deployment (Ctrl-C stops): models and their versions with end epochs, " +
          "nodes and their health, batches and quilts, proofs (tensors as tables and images; encrypted data opened in " +
          "the browser with a key typed there), verification step by step, search, and batches as they are anchored.",
      )
      .option("--port <port>", "HTTP port", String(DEFAULT_EXPLORER_PORT))
      .option("--host <host>", "address to listen on", "127.0.0.1")
      .option("--walrus <url>", "a Walrus store to read from (aggregator and, for the local store, its clock)")
      .option("--clock-skew <s>", "how far a proof's timestamp may be from the chain's clock when verifying", "300"),
  ).action(async (flags: ExplorerFlags) => {
    if (flags.walrus !== undefined) {
      flags.publisher ??= flags.walrus;
      flags.aggregator ??= [flags.walrus];
    }
    const settings = resolveSettings(flags);
    const explorer = await startExplorer({
      port: flags.port === "0" ? 0 : positiveInteger("--port", flags.port),
      host: flags.host,
      client: settings.reader(),
      walrus: settings.walrus,
      clock: walrusClock(settings.walrusConfig),
      verifier: { clockSkewSeconds: positiveInteger("--clock-skew", flags.clockSkew) },
    });
    process.stdout.write(`explorer      ${explorer.url} (chain ${settings.rpcUrl}, ${settings.deploymentFile})\n`);
    stopOnSignal(explorer, () => settings.provider.destroy());
  });
}

/** Stops the explorer on SIGINT/SIGTERM, then exits. */
function stopOnSignal(explorer: Explorer, after: () => void): void {
  const stop = () => {
    explorer.close().then(
      () => {
        after();
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
