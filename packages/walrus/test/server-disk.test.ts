import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalWalrus, WalrusClient, type LocalWalrus } from "../src";

const SHARDS = 10;

/** The local store on a full disk: a clear error, no partial blob left behind, and the store works once space is back. */
describe("Local Walrus store on a full disk", function () {
  this.timeout(60_000);
  let mountpoint: string;
  let walrus: LocalWalrus;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // mounting a tmpfs needs root (CI and these machines run as root)
    mountpoint = await mkdtemp(join(tmpdir(), "strata-store-tmpfs-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mountpoint]);
    walrus = await startLocalWalrus({ dir: join(mountpoint, "store"), port: 0, shards: SHARDS });
  });
  after(async function () {
    await walrus?.close();
    if (mountpoint) {
      execFileSync("umount", ["-l", mountpoint]);
      await rm(mountpoint, { recursive: true, force: true });
    }
  });

  it("refuses a blob the disk cannot hold with an error naming the full disk, keeps no partial file, and stores the next one", async function () {
    const big = new Uint8Array(400 * 1024).map((_, i) => (i * 7) % 251);
    const response = await fetch(`${walrus.url}/v1/blobs?epochs=1`, { method: "PUT", body: big });
    expect(response.status).to.equal(500);
    const body = (await response.json()) as { error: { message: string; details: { reason: string }[] } };
    expect(body.error.details[0].reason).to.equal("STORAGE_FULL");
    expect(body.error.message)
      .to.match(/disk is full/)
      .and.match(/free disk space/);
    expect(await readdir(join(mountpoint, "store", "blobs"))).to.deep.equal([]);
    const client = new WalrusClient({ publisherUrl: walrus.url, aggregatorUrls: [walrus.url], shards: SHARDS });
    const small = new Uint8Array(1024).fill(9);
    const stored = await client.store(small, { epochs: 1 });
    expect(await client.read(stored.blobId)).to.deep.equal(small);
  });
});
