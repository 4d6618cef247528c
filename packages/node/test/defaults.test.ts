import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { formatByteSize, NODE_DEFAULTS, NODE_START_DEFAULTS, nodeDefaultsMarkdown } from "../src";

const README = readFileSync(join(__dirname, "..", "..", "..", "README.md"), "utf8");

describe("the node's defaults table", function () {
  it("is the README's table of node defaults, rendered from NODE_DEFAULTS", function () {
    const match = /<!-- node-defaults:start -->\n\n([\s\S]*?)\n\n<!-- node-defaults:end -->/.exec(README);
    expect(match, "README.md has no node-defaults block").to.not.equal(null);
    expect(match![1]).to.equal(nodeDefaultsMarkdown());
  });

  it("agrees with every default the README writes as a node start flag", function () {
    const flags = Object.fromEntries(NODE_START_DEFAULTS.map((d) => [d.option, d.flag]));
    const written = [...README.matchAll(/strata node start([^`\n]*)/g)].flatMap((m) => [
      ...m[1].matchAll(/(--[a-z-]+) (\S+)/g),
    ]);
    expect(written.length).to.be.greaterThan(0);
    for (const [, option, value] of written) {
      if (option in flags) expect(value, `README: strata node start ${option}`).to.equal(flags[option]);
    }
  });

  it("writes byte sizes as the CLI parses them", function () {
    expect(formatByteSize(NODE_DEFAULTS.cacheMaxBytes)).to.equal("8GiB");
    expect(formatByteSize(NODE_DEFAULTS.batchMaxBytes)).to.equal("10MiB");
    expect(formatByteSize(512 * 1024)).to.equal("512KiB");
    expect(formatByteSize(1000)).to.equal("1000");
  });
});
