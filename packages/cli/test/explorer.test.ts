/**
 * `strata explorer` as a user runs it (a child process, against the in-process chain served over HTTP): it prints its
 * URL, serves the page and the JSON API of the deployment given by the chain flags and --walrus, and stops on SIGINT.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import type { ModelsResponse, OverviewResponse } from "@strata/explorer";
import { serveChain, setup, teardown, SHARDS, type Env } from "../../verifier/test/fixture";

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
const BIN = path.join(REPO_ROOT, "packages", "cli", "bin", "strata.js");

describe("strata explorer", function () {
  this.timeout(120_000);
  let env: Env | undefined;
  let chain: { url: string; close: () => Promise<void> } | undefined;
  let dir: string | undefined;
  let child: ChildProcessWithoutNullStreams | undefined;

  before(async function () {
    env = await setup();
    chain = await serveChain();
    dir = await mkdtemp(path.join(tmpdir(), "strata-explorer-cli-"));
  });

  after(async function () {
    if (child !== undefined && child.exitCode === null) child.kill("SIGKILL");
    await chain?.close();
    await teardown(env);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("serves the deployment's page and API on the URL it prints, and stops on SIGINT", async function () {
    const deploymentFile = path.join(dir!, "deployment.json");
    await writeFile(deploymentFile, JSON.stringify(env!.deployment));
    const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("STRATA_")));
    const args = ["explorer", "--port", "0", "--rpc", chain!.url, "--deployment", deploymentFile];
    args.push("--walrus", env!.walrus.url, "--shards", String(SHARDS));
    child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: childEnv });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child!.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        const match = /explorer\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (match) resolve(match[1]);
      });
      child!.on("close", (code) => reject(new Error(`strata explorer exited ${code}: ${stderr}`)));
    });

    const page = await (await fetch(`${url}/`)).text();
    expect(page).to.include('<script type="module" src="/app.js">');
    expect(page).to.not.match(/https?:\/\//); // nothing from another origin: no CDN, no font
    const script = await fetch(`${url}/app.js`);
    expect(script.headers.get("content-type")).to.match(/^text\/javascript/);
    expect((await script.text()).length).to.be.greaterThan(10_000);

    const overview = (await (await fetch(`${url}/api/overview`)).json()) as OverviewResponse;
    expect(overview.chainId).to.equal(env!.deployment.chainId);
    expect(overview.counts.models).to.equal(2);
    expect(overview.currentEpoch).to.be.a("number");
    const { models } = (await (await fetch(`${url}/api/models`)).json()) as ModelsResponse;
    expect(models.map((m) => m.name)).to.deep.equal(["tiny-mlp", "other-mlp"]);
    expect(models[0].versions[0].blobId).to.equal(env!.model.blobId);
    const bad = await fetch(`${url}/api/proofs/0x12`);
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).to.match(/64 hex digits/);

    // A page keeps the live stream open: SIGINT still stops the explorer at once.
    const live = await fetch(`${url}/api/live`);
    const reader = live.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).to.match(/stream open|event: hello/);
    const code = await new Promise<number | null | "still running">((resolve) => {
      const timer = setTimeout(() => resolve("still running"), 10_000);
      child!.on("close", (exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
      child!.kill("SIGINT");
    });
    expect(code).to.equal(0);
    await reader.cancel().catch(() => undefined);
  });
});
