import { expect } from "chai";
import type { Command } from "commander";
import { NODE_DEFAULTS, NODE_START_DEFAULTS } from "@strata/node";
import { buildProgram } from "../src/program";

/** The default of `--option` of `command`, as `--help` prints it. */
function defaultOf(command: Command, option: string): unknown {
  return command.options.find((o) => o.long === option)?.defaultValue;
}

function sub(path: string[]): Command {
  let command = buildProgram();
  for (const name of path) command = command.commands.find((c) => c.name() === name)!;
  return command;
}

describe("the CLI's node defaults", function () {
  it("strata node start takes every default from the node's one table", function () {
    const start = sub(["node", "start"]);
    for (const d of NODE_START_DEFAULTS) expect(defaultOf(start, d.option!), d.option).to.equal(d.flag);
    expect(start.helpInformation().replace(/\s+/g, " ")).to.include(`(default: "${NODE_DEFAULTS.batchSize}")`);
    expect(defaultOf(start, "--lease-warn-epochs")).to.equal(String(NODE_DEFAULTS.leaseWarnEpochs));
  });

  it("strata devnet batches as strata node start does, by default", function () {
    const devnet = sub(["devnet"]);
    expect(defaultOf(devnet, "--batch-size")).to.equal(defaultOf(sub(["node", "start"]), "--batch-size"));
    expect(defaultOf(devnet, "--batch-size")).to.equal(String(NODE_DEFAULTS.batchSize));
    expect(defaultOf(devnet, "--batch-age-ms")).to.equal(String(NODE_DEFAULTS.batchAgeMs));
    expect(defaultOf(devnet, "--node-port")).to.equal(String(NODE_DEFAULTS.port));
  });
});
