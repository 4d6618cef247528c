import { errorMessage } from "./error-message";
import { buildProgram } from "./program";

buildProgram()
  .parseAsync(process.argv)
  .catch(async (error: unknown) => {
    console.error(`strata: ${await errorMessage(error)}`);
    process.exit(2);
  });
