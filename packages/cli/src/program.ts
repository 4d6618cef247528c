import { Command } from "commander";

/** The `strata` command: every sub-command registers itself here with a one-line description. */
export function buildProgram(): Command {
  const program = new Command("strata")
    .description("Strata: AI models and inference proofs on Walrus, references on an EVM chain")
    .showHelpAfterError();
  return program;
}
