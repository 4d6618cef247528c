/**
 * `npm run coverage:check`: fails unless every contract `hardhat coverage` measured (contracts/, less .solcover.js's
 * skipFiles) has 100% line and branch coverage. It reads coverage/coverage-final.json (istanbul's JSON, written by
 * `npm run coverage`) and prints each contract's figures, and for one below 100% its uncovered lines and branches.
 *
 * Lines are counted as istanbul counts them: a line is covered when a statement starting on it ran.
 */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { StrataError } from "@strata/errors";

const ROOT = join(__dirname, "..");

interface Position {
  line: number;
}

/** One file of istanbul's coverage-final.json (the fields read here). */
export interface FileCoverage {
  path: string;
  statementMap: Record<string, { start: Position }>;
  s: Record<string, number>;
  branchMap: Record<string, { loc?: { start: Position }; locations?: { start: Position }[] }>;
  b: Record<string, number[]>;
}

export interface ContractCoverage {
  file: string;
  lines: { covered: number; total: number };
  branches: { covered: number; total: number };
  /** The lines no statement ran on. */
  uncoveredLines: number[];
  /** The lines of branches never taken. */
  uncoveredBranches: number[];
}

/** The line and branch coverage of one file. */
export function contractCoverage(file: FileCoverage): ContractCoverage {
  const lines = new Map<number, number>();
  for (const [id, statement] of Object.entries(file.statementMap)) {
    const line = statement.start.line;
    lines.set(line, Math.max(lines.get(line) ?? 0, file.s[id] ?? 0));
  }
  const uncoveredLines = [...lines].filter(([, hits]) => hits === 0).map(([line]) => line);
  let branches = 0;
  const uncoveredBranches: number[] = [];
  for (const [id, counts] of Object.entries(file.b)) {
    const map = file.branchMap[id];
    counts.forEach((hits, i) => {
      branches += 1;
      if (hits === 0) uncoveredBranches.push(map?.locations?.[i]?.start.line ?? map?.loc?.start.line ?? 0);
    });
  }
  return {
    file: file.path,
    lines: { covered: lines.size - uncoveredLines.length, total: lines.size },
    branches: { covered: branches - uncoveredBranches.length, total: branches },
    uncoveredLines: uncoveredLines.sort((a, b) => a - b),
    uncoveredBranches: uncoveredBranches.sort((a, b) => a - b),
  };
}

/** Whether a contract is fully covered (every line and every branch). */
export function fullyCovered(coverage: ContractCoverage): boolean {
  return coverage.uncoveredLines.length === 0 && coverage.uncoveredBranches.length === 0;
}

/** The report line of one contract. */
export function describeCoverage(coverage: ContractCoverage, root = ROOT): string {
  const pct = ({ covered, total }: { covered: number; total: number }) =>
    total === 0 ? "100" : ((100 * covered) / total).toFixed(2).replace(/\.00$/, "");
  const head =
    `${relative(root, coverage.file) || coverage.file}: lines ${pct(coverage.lines)}% ` +
    `(${coverage.lines.covered}/${coverage.lines.total}), branches ${pct(coverage.branches)}% ` +
    `(${coverage.branches.covered}/${coverage.branches.total})`;
  if (fullyCovered(coverage)) return head;
  const list = (label: string, at: number[]) => (at.length === 0 ? [] : [`${label} ${[...new Set(at)].join(", ")}`]);
  return `${head}: NOT COVERED ${[...list("lines", coverage.uncoveredLines), ...list("branches at lines", coverage.uncoveredBranches)].join("; ")}`;
}

/** Checks `final` (coverage-final.json, parsed); the report lines and whether every contract is fully covered. */
export function checkCoverage(final: Record<string, FileCoverage>, root = ROOT): { ok: boolean; lines: string[] } {
  const contracts = Object.values(final)
    .filter((f) => f.path.endsWith(".sol"))
    .map(contractCoverage)
    .sort((a, b) => a.file.localeCompare(b.file));
  if (contracts.length === 0) return { ok: false, lines: ["no contract in the coverage report"] };
  return { ok: contracts.every(fullyCovered), lines: contracts.map((c) => describeCoverage(c, root)) };
}

function main(): void {
  const path = process.argv[2] ?? join(ROOT, "coverage", "coverage-final.json");
  let final: Record<string, FileCoverage>;
  try {
    final = JSON.parse(readFileSync(path, "utf8")) as Record<string, FileCoverage>;
  } catch (error) {
    throw new StrataError(
      "COVERAGE_REPORT",
      `cannot read the coverage report ${path} (run \`npm run coverage\` first): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const { ok, lines } = checkCoverage(final);
  for (const line of lines) process.stdout.write(`${line}\n`);
  if (!ok) {
    process.stderr.write("coverage:check: every contract must have 100% line and branch coverage\n");
    process.exitCode = 1;
  }
}

if (require.main === module) main();
