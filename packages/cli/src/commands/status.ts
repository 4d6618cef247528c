/**
 * `strata status`: every model version and proof batch with its end epoch, the epochs left, the approximate date it
 * ends and its state under the keeper's policy; exit status 1 when anything the policy keeps is at risk or expired.
 */
import { resolve } from "node:path";
import { Command } from "commander";
import { DEFAULT_WARN_WITHIN, formatStatus, readInventory, readKeeperRecords, statusOf } from "@strata/keeper";
import { resolveSettings } from "../config";
import { positiveInteger } from "../config-walrus";
import { chainOptions, output, type ChainCommandFlags } from "../options";
import { clockOf, policyOf, policyOptions, type PolicyFlags } from "./keeper";

interface StatusFlags extends ChainCommandFlags, PolicyFlags {
  warnWithin?: string;
  watchNode?: string[];
  keeperDataDir?: string[];
}

/** Where `strata keeper` and `strata node start --keeper` keep their journals by default. */
const DEFAULT_KEEPER_DIRS = [".strata/keeper", ".strata/node/keeper"];

export function statusCommand(): Command {
  return policyOptions(
    chainOptions(
      new Command("status").description(
        "the storage lease of every model version, model metadata blob, proof batch and single proof: end epoch, " +
          "epochs left, about when, state " +
          "(exit 1 when anything the keeper's policy keeps is at risk or expired)",
      ),
    ),
  )
    .option("--warn-within <N>", `warn when fewer than N epochs are left (default ${DEFAULT_WARN_WITHIN})`)
    .option("--watch-node <address...>", "only these nodes' proof batches and single proofs (default: every node's)")
    .option(
      "--keeper-data-dir <dir...>",
      "the keepers' data directories, whose journals record the metadata blobs' end epochs (none is on-chain; " +
        `default ${DEFAULT_KEEPER_DIRS.join(" and ")})`,
    )
    .action(async (flags: StatusFlags) => {
      const settings = resolveSettings(flags);
      const warnWithin =
        flags.warnWithin !== undefined ? positiveInteger("--warn-within", flags.warnWithin) : DEFAULT_WARN_WITHIN;
      const inventory = await readInventory(settings.reader(), clockOf(settings), {
        nodes: flags.watchNode !== undefined && flags.watchNode.length > 0 ? flags.watchNode : "all",
        metadataRecords: readKeeperRecords((flags.keeperDataDir ?? DEFAULT_KEEPER_DIRS).map((d) => resolve(d))),
      });
      const report = statusOf(inventory, policyOf(flags), warnWithin);
      output(flags.json, report, formatStatus(report));
      if (report.failing) process.exitCode = 1;
    });
}
