/**
 * The page's script and style, built once per process by esbuild from src/client (Preact, TypeScript, JSX): no CDN,
 * no network font, nothing fetched at run time. The result is kept in memory and served by the explorer.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";
import { ExplorerError } from "./errors";

/** The built page: its script and its stylesheet. */
export interface ClientBundle {
  script: string;
  style: string;
}

const CLIENT_DIR = join(__dirname, "client");
let built: Promise<ClientBundle> | undefined;

/** Builds (once per process) the browser code: src/client/main.ts and everything it imports, minified. */
export function clientBundle(): Promise<ClientBundle> {
  built ??= buildClient();
  built.catch(() => (built = undefined));
  return built;
}

async function buildClient(): Promise<ClientBundle> {
  try {
    const [result, style] = await Promise.all([
      build({
        entryPoints: [join(CLIENT_DIR, "main.ts")],
        bundle: true,
        write: false,
        format: "esm",
        platform: "browser",
        target: ["chrome110", "firefox115", "safari16"],
        jsx: "automatic",
        jsxImportSource: "preact",
        minify: true,
        legalComments: "none",
        logLevel: "silent",
        tsconfig: join(CLIENT_DIR, "tsconfig.json"),
      }),
      readFile(join(CLIENT_DIR, "style.css"), "utf8"),
    ]);
    return { script: result.outputFiles[0].text, style };
  } catch (error) {
    throw new ExplorerError(
      "BUNDLE_FAILED",
      `The explorer's page could not be built from ${CLIENT_DIR}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
