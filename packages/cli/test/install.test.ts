import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const ROOT = join(__dirname, "..", "..", "..");
const run = promisify(execFile);

/** The environment of a fresh shell: no ONNXRUNTIME_NODE_INSTALL (CI and users do not set it). */
function freshEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(ONNXRUNTIME_NODE_INSTALL|npm_config_onnxruntime)/i.test(name)) delete env[name];
  }
  return env;
}

describe("the install (npm ci on a fresh clone)", function () {
  this.timeout(60_000);

  it("prints no npm warning about an unknown project config on a command", async function () {
    const { stdout, stderr } = await run("npm", ["pkg", "get", "name"], { cwd: ROOT, env: freshEnv() });
    expect(stdout.trim()).to.equal('"strata"');
    expect(stderr).to.not.match(/Unknown (project|user|env) config/);
  });

  it("denies onnxruntime-node's install script (its CUDA download) and decides every other one", async function () {
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      allowScripts?: Record<string, boolean>;
    };
    expect(manifest.allowScripts?.["onnxruntime-node"]).to.equal(false);
    const { stdout } = await run("npm", ["install-scripts", "ls"], { cwd: ROOT, env: freshEnv() });
    expect(stdout).to.match(/No packages with unreviewed install scripts/);
  });
});
