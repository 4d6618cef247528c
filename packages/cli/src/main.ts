import { buildProgram } from "./program";

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    console.error(`strata: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  });
