import { expect } from "chai";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { BlobEncoder } from "@mysten/walrus-wasm";
import { startLocalWalrus, type LocalWalrus } from "@strata/walrus";

const BIN = path.resolve(__dirname, "..", "bin", "strata.js");
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
const SHARDS = 10;

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs `strata ...` as a user would, with a clean Walrus environment; stdout kept as bytes (a patch may be binary). */
function strata(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("STRATA_WALRUS_")));
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...clean, ...env } });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

interface SdkQuilts {
  encodeQuilt(args: { blobs: { identifier: string; contents: Uint8Array }[]; numShards: number }): {
    quilt: Uint8Array;
    index: { patches: { startIndex: number; endIndex: number; identifier: string }[] };
  };
  encodeQuiltPatchId(id: {
    quiltId: string;
    patchId: { version: number; startIndex: number; endIndex: number };
  }): string;
}

function sdkQuilts(): SdkQuilts {
  const file = path.join(path.dirname(require.resolve("@mysten/walrus")), "utils", "quilts.mjs");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as SdkQuilts;
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

interface StoredQuilt {
  quiltId: string;
  status: string;
  quiltBytes: number;
  patches: { identifier: string; patchId: string; size: number; sha256: string; file: string }[];
}

describe("strata CLI: quilts (store --quilt, read --patch)", function () {
  this.timeout(120_000);
  let dir: string;
  let store: LocalWalrus;
  let env: NodeJS.ProcessEnv;
  let stored: StoredQuilt;
  const contents = {
    "model-card.json": Buffer.from('{"name":"mlp"}'),
    "weights.bin": Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 251)),
  };

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "strata-cli-quilt-"));
    store = await startLocalWalrus({ dir: path.join(dir, "store"), port: 0, shards: SHARDS });
    env = {
      STRATA_WALRUS_PUBLISHER: store.url,
      STRATA_WALRUS_AGGREGATORS: store.url,
      STRATA_WALRUS_SHARDS: String(SHARDS),
    };
    for (const [name, bytes] of Object.entries(contents)) await writeFile(path.join(dir, name), bytes);
    const run = await strata(
      ["store", "--quilt", path.join(dir, "model-card.json"), path.join(dir, "weights.bin"), "--epochs", "2", "--json"],
      env,
    );
    expect(run.code, run.stderr).to.equal(0);
    stored = JSON.parse(run.stdout.toString()) as StoredQuilt;
  });

  after(async function () {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("stores files as a quilt whose quilt ID and patch IDs are the SDK's, named by file name", function () {
    const sdk = sdkQuilts();
    const blobs = Object.entries(contents).map(([identifier, bytes]) => ({
      identifier,
      contents: new Uint8Array(bytes),
    }));
    const theirs = sdk.encodeQuilt({ blobs, numShards: SHARDS });
    const [id] = new BlobEncoder(SHARDS).compute_metadata(theirs.quilt) as [number[]];
    const quiltId = Buffer.from(id).toString("base64url");
    expect(stored).to.include({ quiltId, status: "newlyCreated", quiltBytes: theirs.quilt.length });
    expect(stored.patches.map((p) => [p.identifier, p.patchId, p.sha256])).to.deep.equal(
      theirs.index.patches.map((p) => [
        p.identifier,
        sdk.encodeQuiltPatchId({ quiltId, patchId: { version: 1, startIndex: p.startIndex, endIndex: p.endIndex } }),
        sha256(contents[p.identifier as keyof typeof contents]),
      ]),
    );
  });

  it("prints the quilt ID and each patch ID, with --identifier names", async function () {
    const run = await strata(
      [
        "store",
        "--quilt",
        path.join(dir, "weights.bin"),
        path.join(dir, "model-card.json"),
        "--identifier",
        "w",
        "card",
      ],
      env,
    );
    expect(run.code, run.stderr).to.equal(0);
    const text = run.stdout.toString();
    expect(text).to.match(/^Quilt ID:\s+[A-Za-z0-9_-]{43}$/m);
    expect(text).to.match(/^\s+card\s+[A-Za-z0-9_-]{50}\s+14 bytes/m);
    expect(text).to.match(/^\s+w\s+[A-Za-z0-9_-]{50}\s+50000 bytes/m);
  });

  it("reads one patch by patch ID against --sha256, saying what it fetched and how it was verified", async function () {
    const patch = stored.patches.find((p) => p.identifier === "weights.bin");
    if (patch === undefined) throw new Error("no weights.bin patch");
    const out = path.join(dir, "weights.out");
    const run = await strata(["read", "--patch", patch.patchId, "--sha256", patch.sha256, "-o", out], env);
    expect(run.code, run.stderr).to.equal(0);
    expect((await readFile(out)).equals(contents["weights.bin"])).to.equal(true);
    const text = run.stdout.toString();
    expect(text).to.match(/identifier: weights\.bin/);
    expect(text).to.match(/fetched:\s+50000 bytes/);
    expect(text).to.match(/verified:\s+sha256 of the patch/);
  });

  it("writes a patch to stdout with --whole-quilt, the summary on stderr", async function () {
    const patch = stored.patches.find((p) => p.identifier === "model-card.json");
    if (patch === undefined) throw new Error("no model-card.json patch");
    const run = await strata(["read", "--patch", patch.patchId, "--whole-quilt"], env);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout.equals(contents["model-card.json"])).to.equal(true);
    expect(run.stderr).to.match(new RegExp(`fetched:\\s+${stored.quiltBytes} bytes`));
    expect(run.stderr).to.match(/verified:\s+whole quilt read, its Blob ID recomputed/);
  });

  it("reads by quilt ID and --identifier, and refuses a wrong --sha256", async function () {
    const ok = await strata(
      [
        "read",
        stored.quiltId,
        "--identifier",
        "model-card.json",
        "--sha256",
        sha256(contents["model-card.json"]),
        "--json",
      ],
      env,
    );
    expect(ok.code, ok.stderr).to.equal(0);
    expect(JSON.parse(ok.stderr)).to.include({ identifier: "model-card.json", integrity: "sha256", fetchedBytes: 14 });
    const wrong = await strata(
      ["read", stored.quiltId, "--identifier", "model-card.json", "--sha256", "0".repeat(64)],
      env,
    );
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr).to.match(/failed verification: their sha256 is/);
  });

  it("refuses a patch read without exactly one check, and several files without --quilt", async function () {
    const patchId = stored.patches[0].patchId;
    const none = await strata(["read", "--patch", patchId], env);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.match(/exactly one check: --sha256 <hex>.*or --whole-quilt/);
    const both = await strata(["read", "--patch", patchId, "--whole-quilt", "--sha256", "0".repeat(64)], env);
    expect(both.code).to.equal(2);
    const malformed = await strata(["read", "--patch", "short", "--whole-quilt"], env);
    expect(malformed.code).to.equal(2);
    expect(malformed.stderr).to.match(/is not a quilt patch ID/);
    const several = await strata(["store", path.join(dir, "weights.bin"), path.join(dir, "model-card.json")], env);
    expect(several.code).to.equal(2);
    expect(several.stderr).to.match(/add --quilt/);
  });
});
