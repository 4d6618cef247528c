import { Command } from "commander";
import { demoCommand } from "./commands/demo";
import { devnetCommand } from "./commands/devnet";
import { explorerCommand } from "./commands/explorer";
import { inferCommand } from "./commands/infer";
import { modelCommand } from "./commands/model";
import { keeperCommand } from "./commands/keeper";
import { keyCommand } from "./commands/privacy";
import { cacheCommand, nodeCommand } from "./commands/node";
import { statusCommand } from "./commands/status";
import { proofCommand, verifyCommand } from "./commands/verify";
import { blobIdCommand, readCommand, storeCommand, walrusCommand } from "./commands/walrus";

/** The `strata` command: every sub-command registers itself here with a one-line description. */
export function buildProgram(): Command {
  const program = new Command("strata")
    .description("Strata: AI models and inference proofs on Walrus, references on an EVM chain")
    .showHelpAfterError();
  program.addCommand(blobIdCommand());
  program.addCommand(storeCommand());
  program.addCommand(readCommand());
  program.addCommand(walrusCommand());
  program.addCommand(modelCommand());
  program.addCommand(nodeCommand());
  program.addCommand(cacheCommand());
  program.addCommand(inferCommand());
  program.addCommand(devnetCommand());
  program.addCommand(explorerCommand());
  program.addCommand(demoCommand());
  program.addCommand(verifyCommand());
  program.addCommand(proofCommand());
  program.addCommand(keyCommand());
  program.addCommand(keeperCommand());
  program.addCommand(statusCommand());
  return program;
}
