import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localNetworkClock, startLocalWalrus, WalrusClient, type LocalWalrus } from "@strata/walrus";
import { ModelCache, ModelExpiredError } from "../src";

const SHARDS = 10;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

/** The model cache keeps each entry's storage lease (the registry's end epoch) and never serves an entry past it. */
describe("Model cache: storage leases", function () {
  this.timeout(60_000);
  let walrus: LocalWalrus;
  let dirs: string[];
  let client: WalrusClient;

  beforeEach(async function () {
    dirs = [
      await mkdtemp(join(tmpdir(), "strata-lease-walrus-")),
      await mkdtemp(join(tmpdir(), "strata-lease-cache-")),
    ];
    walrus = await startLocalWalrus({ dir: dirs[0], port: 0, shards: SHARDS });
    client = new WalrusClient({ publisherUrl: walrus.url, aggregatorUrls: [walrus.url], shards: SHARDS, retries: 0 });
  });
  afterEach(async function () {
    await walrus.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function storeModel(epochs: number) {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7 + epochs) % 251);
    const stored = await client.store(bytes, { epochs });
    return {
      blobId: stored.blobId,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      size: bytes.length,
      endEpoch: stored.endEpoch,
    };
  }

  it("records the lease and the model version with the entry", async function () {
    const cache = new ModelCache(dirs[1], client, 1 << 20, { clock: localNetworkClock(walrus.url) });
    const ref = await storeModel(3);
    await cache.get({ ...ref, model: { id: `0x${"ab".repeat(32)}`, version: 2, name: "mlp" } });
    const [entry] = await cache.list();
    expect(entry.endEpoch).to.equal(ref.endEpoch);
    expect(entry.model).to.deep.equal({ id: `0x${"ab".repeat(32)}`, version: 2, name: "mlp" });
  });

  it("refuses a cached entry once its end epoch has begun (MODEL_EXPIRED) and evicts it", async function () {
    const cache = new ModelCache(dirs[1], client, 1 << 20, { clock: localNetworkClock(walrus.url) });
    const ref = await storeModel(2);
    const first = await cache.get(ref);
    expect(first.endEpoch).to.equal(ref.endEpoch);
    await walrus.advanceEpochs(2);
    // The file is still on disk: without the lease the cache would serve it long after Walrus dropped the blob.
    const error = await rejection(cache.get(ref));
    expect(error).to.be.instanceOf(ModelExpiredError);
    const expired = error as ModelExpiredError;
    expect(expired.code).to.equal("MODEL_EXPIRED");
    expect(expired.endEpoch).to.equal(ref.endEpoch);
    expect(expired.currentEpoch).to.equal(walrus.currentEpoch());
    expect(expired.message).to.include(`epoch ${ref.endEpoch}`);
    expect(expired.message).to.match(/strata keeper/);
    expect(await cache.list()).to.deep.equal([]);
  });

  it("refuses the lease recorded with the entry even when the caller gives none", async function () {
    const cache = new ModelCache(dirs[1], client, 1 << 20, { clock: localNetworkClock(walrus.url) });
    const ref = await storeModel(1);
    await cache.get(ref);
    await walrus.advanceEpochs(1);
    const { endEpoch: _endEpoch, ...bare } = ref;
    expect(await rejection(cache.get(bare))).to.be.instanceOf(ModelExpiredError);
  });

  it("serves an entry whose lease the registry extended (a later end epoch in the reference)", async function () {
    const cache = new ModelCache(dirs[1], client, 1 << 20, { clock: localNetworkClock(walrus.url) });
    const ref = await storeModel(1);
    await cache.get(ref);
    await walrus.advanceEpochs(1);
    const renewed = { ...ref, endEpoch: ref.endEpoch + 5 };
    const entry = await cache.get(renewed);
    expect(entry.endEpoch).to.equal(renewed.endEpoch);
    expect((await cache.list())[0].endEpoch).to.equal(renewed.endEpoch);
  });

  it("refuses to download a model whose lease is over, before fetching", async function () {
    const cache = new ModelCache(dirs[1], client, 1 << 20, { clock: localNetworkClock(walrus.url) });
    const ref = await storeModel(4);
    const current = walrus.currentEpoch();
    const error = await rejection(cache.get({ ...ref, endEpoch: current }));
    expect(error).to.be.instanceOf(ModelExpiredError);
    expect(cache.downloads.count).to.equal(0);
  });

  it("evictExpired drops every entry past its lease", async function () {
    const cache = new ModelCache(dirs[1], client, 1 << 20);
    const short = await storeModel(1);
    const long = await storeModel(10);
    await cache.get(short);
    await cache.get(long);
    const evicted = await cache.evictExpired(walrus.currentEpoch() + 1);
    expect(evicted.map((e) => e.blobId)).to.deep.equal([short.blobId]);
    expect((await cache.list()).map((e) => e.blobId)).to.deep.equal([long.blobId]);
  });
});
