import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { startLocalWalrus, WalrusClient, type LocalWalrus } from "@strata/walrus";
import { CacheDiskFullError, ModelCache, StrataRuntimeError } from "../src";

const SHARDS = 10;

/** The model cache on a full disk: a clear 507 that names the directory, and nothing half-written left behind. */
describe("Model cache on a full disk", function () {
  this.timeout(60_000);
  let mountpoint: string;
  let walrus: LocalWalrus;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // mounting a tmpfs needs root (CI and these machines run as root)
    mountpoint = await mkdtemp(join(tmpdir(), "strata-cache-tmpfs-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mountpoint]);
    walrus = await startLocalWalrus({
      dir: await mkdtemp(join(tmpdir(), "strata-cache-walrus-")),
      port: 0,
      shards: SHARDS,
    });
  });
  after(async function () {
    await walrus?.close();
    if (mountpoint) {
      execFileSync("umount", ["-l", mountpoint]);
      await rm(mountpoint, { recursive: true, force: true });
    }
  });

  it("answers 507 DISK_FULL naming the cache directory when a model does not fit on the disk, and keeps no partial file", async function () {
    const bytes = new Uint8Array(512 * 1024).map((_, i) => (i * 31) % 251);
    const client = new WalrusClient({ publisherUrl: walrus.url, aggregatorUrls: [walrus.url], shards: SHARDS });
    const { blobId } = await client.store(bytes, { epochs: 1 });
    const dir = join(mountpoint, "models");
    const cache = new ModelCache(dir, client, 1024 * 1024 * 1024);
    const error = await cache
      .get({ blobId, sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length })
      .then(
        () => undefined,
        (e: unknown) => e as StrataRuntimeError,
      );
    expect(error).to.be.instanceOf(StrataRuntimeError);
    expect(error!.code).to.equal("DISK_FULL");
    // The node's server answers DISK_FULL 507 (its code -> status table: packages/node/test/http-status.test.ts).
    expect(error).to.be.instanceOf(CacheDiskFullError);
    expect(error!.message)
      .to.contain(dir)
      .and.match(/free disk space/);
    expect(await readdir(join(dir, "tmp"))).to.deep.equal([]);
    expect(await cache.list()).to.deep.equal([]);
  });
});
