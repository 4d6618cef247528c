import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { measureRegistries } from "../bench/gas-scenarios";

/**
 * Gas is a feature: every registry write has a committed figure in snapshots/gas.json. A rise above it fails here, so a
 * regression shows in review; to accept a change deliberately, run `UPDATE_GAS_SNAPSHOT=1 npm run bench:gas` and commit
 * the new snapshot with a reason.
 */
describe("Gas snapshot", function () {
  const snapshot: Record<string, number> = JSON.parse(
    readFileSync(join(__dirname, "..", "snapshots", "gas.json"), "utf8"),
  );
  let measured: Record<string, number>;

  before(async function () {
    measured = await measureRegistries();
  });

  it("has a committed figure for every registry write that is measured", function () {
    expect(Object.keys(measured).sort()).to.deep.equal(Object.keys(snapshot).sort());
  });

  it("uses no more gas than the snapshot for any registry write", function () {
    const risen = Object.entries(measured)
      .filter(([op, gas]) => gas > snapshot[op])
      .map(([op, gas]) => `${op}: ${gas} > ${snapshot[op]} (+${gas - snapshot[op]})`);
    expect(risen, `gas rose above snapshots/gas.json:\n${risen.join("\n")}`).to.deep.equal([]);
  });
});
