import { buildProgram } from "../src/program";

/**
 * Runs `strata <args>` in this process (no child, so the in-process Hardhat chain is reachable through a proxy);
 * resolves with what it wrote to stdout and the exit status it set. `silenceStderr` drops its stderr meanwhile.
 */
export async function runStrata(
  args: string[],
  options: { silenceStderr?: boolean } = {},
): Promise<{ out: string; exitCode: number }> {
  let out = "";
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  const before = process.exitCode;
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  }) as typeof process.stdout.write;
  if (options.silenceStderr) process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await buildProgram()
      .exitOverride()
      .parseAsync(["node", "strata", ...args]);
    return { out, exitCode: Number(process.exitCode ?? 0) };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
    process.exitCode = before;
  }
}
