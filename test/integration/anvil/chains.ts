import { spawn } from "node:child_process";
import { join } from "node:path";
import { runStrata } from "../../../packages/cli/test/in-process";

export const ROOT = join(__dirname, "..", "..", "..");

/** Whether `npm run test:anvil` runs these suites (plain `hardhat test` skips them: they start chains). */
export const ANVIL_TESTS = process.env.STRATA_ANVIL_TESTS === "1";

/** Runs `npx hardhat run scripts/deploy.ts --network strata` with `env`; resolves with its exit code and output. */
export function deployToStrataNetwork(env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("npx", ["hardhat", "run", "scripts/deploy.ts", "--network", "strata"], {
      cwd: ROOT,
      env: { ...process.env, STRATA_PRIVATE_KEY: "", STRATA_KEY_FILE: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.once("exit", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Runs `strata <args>` in this process; resolves with what it wrote to stdout and the exit status it set. */
export const strata = (args: string[]): Promise<{ out: string; exitCode: number }> => runStrata(args);
