import { expect } from "chai";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startLocalWalrus, type LocalWalrus } from "@strata/walrus";

const BIN = path.resolve(__dirname, "..", "bin", "strata.js");
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
const SHARDS = "10";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `strata ...` as a user would, from the repository root, with a clean Walrus environment. */
function strata(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("STRATA_WALRUS_")));
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...clean, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("strata CLI: Walrus commands", function () {
  let dir: string;
  let store: LocalWalrus;

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "strata-cli-"));
    store = await startLocalWalrus({ dir: path.join(dir, "store"), port: 0, shards: Number(SHARDS) });
  });

  after(async function () {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("lists every command with a one-line description", async function () {
    const { code, stdout } = await strata(["--help"]);
    expect(code).to.equal(0);
    for (const [command, words] of [
      ["blob-id", "Blob ID of a file"],
      ["store", "store a file on Walrus"],
      ["read", "read a blob"],
      ["walrus", "walrus serve"],
    ]) {
      expect(stdout).to.match(new RegExp(`^\\s+${command}\\b.*${words}`, "m"));
    }
    const serve = await strata(["walrus", "--help"]);
    expect(serve.stdout).to.match(/^\s+serve \[options\]\s+run the local Walrus-compatible store/m);
  });

  it("prints the Blob ID of a file, and JSON with sha256, size and the chain forms", async function () {
    const file = path.join(dir, "known.txt");
    await writeFile(file, "walrus blob id v1 regression test");
    const plain = await strata(["blob-id", file, "--shards", SHARDS]);
    expect(plain).to.include({ code: 0, stdout: "RcU82Mwf-CFkv1LaI_2qcpANwpGUuG3TMwnVzZxD2kY\n" });
    const json = await strata(["blob-id", file, "--shards", SHARDS, "--json"]);
    expect(JSON.parse(json.stdout)).to.deep.equal({
      file,
      blobId: "RcU82Mwf-CFkv1LaI_2qcpANwpGUuG3TMwnVzZxD2kY",
      sha256: createHash("sha256").update("walrus blob id v1 regression test").digest("hex"),
      size: 33,
      shards: 10,
      bytes32: "0x45c53cd8cc1ff82164bf52da23fdaa72900dc29194b86dd33309d5cd9c43da46",
      u256: "32047538705383907710745794627166216794695117628018721399077707816295890470213",
    });
  });

  it("fails with a message for a missing file or a bad shard count", async function () {
    const missing = await strata(["blob-id", path.join(dir, "nope.bin")]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/strata: .*ENOENT.*nope\.bin/);
    const shards = await strata(["blob-id", BIN, "--shards", "ten"]);
    expect(shards.code).to.equal(2);
    expect(shards.stderr).to.match(/--shards must be a positive integer, got "ten"/);
  });

  it("stores a file and reads it back verified, by Blob ID and by sha256", async function () {
    const file = path.join(dir, "weights.bin");
    const bytes = Buffer.alloc(700_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251;
    await writeFile(file, bytes);
    const env = { STRATA_WALRUS_PUBLISHER: store.url, STRATA_WALRUS_SHARDS: SHARDS };
    const stored = await strata(["store", file, "--epochs", "4", "--json"], env);
    expect(stored.code, stored.stderr).to.equal(0);
    const result = JSON.parse(stored.stdout) as { blobId: string; sha256: string; status: string; endEpoch: number };
    expect(result).to.include({
      status: "newlyCreated",
      sha256: createHash("sha256").update(bytes).digest("hex"),
      endEpoch: store.currentEpoch() + 4,
    });

    const again = await strata(["store", file, "--publisher", store.url, "--shards", SHARDS]);
    expect(again.stdout).to.match(/status:\s+alreadyCertified/);

    const out = path.join(dir, "weights.copy");
    const read = await strata(["read", result.blobId, "-o", out, "--aggregator", store.url, "--shards", SHARDS]);
    expect(read.code, read.stderr).to.equal(0);
    expect(read.stdout).to.match(/verified: Blob ID recomputed/);
    expect((await readFile(out)).equals(bytes)).to.equal(true);

    const out2 = path.join(dir, "weights.sha");
    const bySha = await strata(["read", result.blobId, "-o", out2, "--sha256", result.sha256, "--json"], {
      STRATA_WALRUS_AGGREGATORS: `http://127.0.0.1:1,${store.url}`,
      STRATA_WALRUS_SHARDS: SHARDS,
    });
    expect(bySha.code, bySha.stderr).to.equal(0);
    expect(JSON.parse(bySha.stdout)).to.include({ blobId: result.blobId, size: bytes.length, path: out2 });
  });

  it("refuses a malformed Blob ID and a wrong sha256, writing nothing", async function () {
    const target = path.join(dir, "bad-read", "x.bin");
    const malformed = await strata(["read", "RcU82Mwf-CFkv1LaI_2qcpANwpGUuG3TMwnVzZxD2kZ", "-o", target]);
    expect(malformed.code).to.equal(2);
    expect(malformed.stderr).to.match(/Invalid Blob ID "RcU82Mwf-CFkv1LaI_2qcpANwpGUuG3TMwnVzZxD2kZ".*non-canonical/);

    const file = path.join(dir, "small.txt");
    await writeFile(file, "small content");
    const env = {
      STRATA_WALRUS_PUBLISHER: store.url,
      STRATA_WALRUS_AGGREGATORS: store.url,
      STRATA_WALRUS_SHARDS: SHARDS,
    };
    const { blobId } = JSON.parse((await strata(["store", file, "--json"], env)).stdout) as { blobId: string };
    const wrong = await strata(["read", blobId, "-o", path.join(dir, "small.out"), "--sha256", "0".repeat(64)], env);
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr).to.match(/failed verification: their sha256 is/);
    expect((await readdir(dir)).filter((f) => f.startsWith("small.out") || f.includes(".partial"))).to.deep.equal([]);
  });

  it("runs the local store with `walrus serve`, which keeps its blobs across restarts", async function () {
    const storeDir = path.join(dir, "served");
    const serve = (): Promise<{ url: string; stop: () => Promise<number | null> }> =>
      new Promise((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [BIN, "walrus", "serve", "--port", "0", "--dir", storeDir, "--shards", SHARDS, "--epoch-ms", "3600000"],
          { cwd: REPO_ROOT },
        );
        let output = "";
        child.stdout.on("data", (d: Buffer) => {
          output += d.toString();
          const match = /Local Walrus store on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
          if (match !== null) {
            resolve({
              url: match[1],
              stop: () =>
                new Promise((done) => {
                  child.on("close", (code) => done(code));
                  child.kill("SIGTERM");
                }),
            });
          }
        });
        child.on("error", reject);
        child.on("close", (code) => reject(new Error(`walrus serve exited with ${code}: ${output}`)));
      });

    const first = await serve();
    const put = await fetch(`${first.url}/v1/blobs?epochs=2`, { method: "PUT", body: "served by the CLI" });
    const created = (await put.json()) as { newlyCreated: { blobObject: { blobId: string } } };
    expect(await first.stop()).to.equal(0);

    const second = await serve();
    try {
      const res = await fetch(`${second.url}/v1/blobs/${created.newlyCreated.blobObject.blobId}`);
      expect(res.status).to.equal(200);
      expect(await res.text()).to.equal("served by the CLI");
      const status = (await (await fetch(`${second.url}/local/status`)).json()) as { epochMs: number; blobs: number };
      expect(status).to.include({ epochMs: 3_600_000, blobs: 1 });
    } finally {
      expect(await second.stop()).to.equal(0);
    }
  });
});
