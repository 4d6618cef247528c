import { expect } from "chai";
import { checkCoverage, type FileCoverage } from "../scripts/coverage-check";

/** A contract's coverage-final.json entry: statements on `lines` (hit counts), one two-way branch per `branches` entry. */
function file(path: string, lines: number[], branches: [number, number][]): FileCoverage {
  return {
    path,
    statementMap: Object.fromEntries(lines.map((_, i) => [String(i), { start: { line: 10 + i } }])),
    s: Object.fromEntries(lines.map((hits, i) => [String(i), hits])),
    branchMap: Object.fromEntries(
      branches.map((_, i) => [
        String(i),
        { loc: { start: { line: 20 + i } }, locations: [{ start: { line: 20 + i } }, { start: { line: 30 + i } }] },
      ]),
    ),
    b: Object.fromEntries(branches.map((counts, i) => [String(i), counts])),
  };
}

describe("coverage check (npm run coverage:check)", function () {
  it("passes when every contract has every line and branch covered", function () {
    const result = checkCoverage({ a: file("/r/contracts/A.sol", [1, 3], [[2, 1]]) }, "/r");
    expect(result).to.deep.equal({ ok: true, lines: ["contracts/A.sol: lines 100% (2/2), branches 100% (2/2)"] });
  });

  it("fails on one uncovered line, naming it", function () {
    const result = checkCoverage(
      { a: file("/r/contracts/A.sol", [1, 1], [[1, 1]]), b: file("/r/contracts/B.sol", [1, 0], []) },
      "/r",
    );
    expect(result.ok).to.equal(false);
    expect(result.lines[1]).to.equal("contracts/B.sol: lines 50% (1/2), branches 100% (0/0): NOT COVERED lines 11");
  });

  it("fails on one branch never taken, naming its line, though every line ran", function () {
    const result = checkCoverage({ a: file("/r/contracts/A.sol", [1], [[3, 0]]) }, "/r");
    expect(result).to.deep.equal({
      ok: false,
      lines: ["contracts/A.sol: lines 100% (1/1), branches 50% (1/2): NOT COVERED branches at lines 30"],
    });
  });

  it("fails on a report without contracts (coverage did not run)", function () {
    expect(checkCoverage({}, "/r").ok).to.equal(false);
  });
});
