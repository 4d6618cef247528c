import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  BlobIntegrityError,
  BlobNotFoundError,
  BlobTooLargeError,
  InvalidBlobIdError,
  PublisherMismatchError,
  startLocalWalrus,
  WalrusClient,
  WalrusHttpError,
  WalrusNetworkError,
  WalrusResponseError,
  WalrusTimeoutError,
  type LocalWalrus,
  type StoreResult,
  type TransferProgress,
  type WalrusClientOptions,
} from "../src";
import {
  MALFORMED_BLOB_IDS,
  pseudoRandomBytes,
  rejection,
  startHttp,
  startMisbehavingAggregator,
  tempDir,
  TEST_SHARDS,
  walrusError,
  type Misbehaviour,
  type TestHttpServer,
} from "./helpers";

/** Fast retries for tests: the behaviour is the same, the waits are milliseconds. */
const FAST: WalrusClientOptions = { shards: TEST_SHARDS, retries: 3, retryDelayMs: 5, maxRetryDelayMs: 20 };

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe("Walrus client", function () {
  let store: LocalWalrus;
  let dir: string;
  let cleanup: () => Promise<void>;
  let client: WalrusClient;
  /** A blob stored in the local store that the misbehaving aggregators serve. */
  let blob: Uint8Array;
  let stored: StoreResult;
  const servers: TestHttpServer[] = [];

  async function misbehaving(mode: Misbehaviour): Promise<TestHttpServer> {
    const server = await startMisbehavingAggregator(store.url, mode);
    servers.push(server);
    return server;
  }

  async function deadUrl(): Promise<string> {
    const server = await startHttp(() => undefined);
    await server.close();
    return server.url;
  }

  before(async function () {
    const temp = await tempDir();
    dir = temp.dir;
    cleanup = temp.cleanup;
    store = await startLocalWalrus({ dir: path.join(dir, "store"), port: 0, shards: TEST_SHARDS });
    client = new WalrusClient({ ...FAST, publisherUrl: store.url, aggregatorUrls: [store.url] });
    blob = pseudoRandomBytes(300_000, 77);
    stored = await client.store(blob, { epochs: 5 });
  });

  after(async function () {
    for (const server of servers) await server.close();
    await store.close();
    await cleanup();
  });

  describe("round trips through the local store", function () {
    it("stores bytes and returns the Blob ID, sha256, size, end epoch and object id", async function () {
      expect(stored).to.include({
        size: 300_000,
        sha256: createHash("sha256").update(blob).digest("hex"),
        endEpoch: store.currentEpoch() + 5,
        status: "newlyCreated",
        newlyCreated: true,
      });
      expect(stored.objectId).to.match(/^0x[0-9a-f]{64}$/);
      expect(stored.blobId).to.have.length(43);
      expect(stored.cost).to.be.a("number");
      const again = await client.store(blob, { epochs: 2 });
      expect(again).to.include({ blobId: stored.blobId, status: "alreadyCertified", newlyCreated: false });
      expect(again.endEpoch).to.equal(stored.endEpoch);
      expect(again.objectId).to.equal(undefined);
    });

    it("reads verified bytes by Blob ID recomputation and by sha256", async function () {
      expect(same(await client.read(stored.blobId), blob)).to.equal(true);
      expect(same(await client.read(stored.blobId, { sha256: stored.sha256 }), blob)).to.equal(true);
      expect(same(await client.read(stored.blobId, { sha256: `0x${stored.sha256.toUpperCase()}` }), blob)).to.equal(
        true,
      );
    });

    it("stores a file with progress and streams it back to a file with progress", async function () {
      const bytes = pseudoRandomBytes(1_500_000, 78);
      const source = path.join(dir, "model.bin");
      await writeFile(source, bytes);
      const sent: TransferProgress[] = [];
      const result = await client.store(source, { epochs: 3, permanent: true, onProgress: (p) => sent.push(p) });
      expect(result.size).to.equal(bytes.length);
      expect(sent.at(-1)).to.deep.include({ bytes: bytes.length, total: bytes.length });
      expect(
        (result.response as { newlyCreated: { blobObject: { deletable: boolean } } }).newlyCreated.blobObject,
      ).to.have.property("deletable", false);

      const target = path.join(dir, "out", "..", "model.copy");
      const received: TransferProgress[] = [];
      const read = await client.readToFile(result.blobId, target, { onProgress: (p) => received.push(p) });
      expect(read).to.deep.equal({
        blobId: result.blobId,
        path: path.resolve(target),
        size: bytes.length,
        sha256: result.sha256,
      });
      expect(same(await readFile(target), bytes)).to.equal(true);
      expect(received.length).to.be.greaterThan(1);
      expect(received.at(-1)).to.deep.include({ bytes: bytes.length, total: bytes.length });
      const byHash = path.join(dir, "model.hash-verified");
      await client.readToFile(result.blobId, byHash, { sha256: result.sha256 });
      expect(same(await readFile(byHash), bytes)).to.equal(true);
    });

    it("creates the target's directory, and reports a local disk failure as it is, without retrying", async function () {
      const nested = path.join(dir, "new", "deeper", "blob.bin");
      await client.readToFile(stored.blobId, nested, { sha256: stored.sha256 });
      expect(same(await readFile(nested), blob)).to.equal(true);

      const counting = await misbehaving("503-twice");
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [store.url, counting.url] });
      // A directory where the file should go: the rename onto it fails locally.
      const blocked = path.join(dir, "occupied");
      await mkdir(path.join(blocked, "child"), { recursive: true });
      const error = await rejection(c.readToFile(stored.blobId, blocked, { sha256: stored.sha256 }));
      expect(error).to.not.be.instanceOf(WalrusNetworkError);
      expect((error as NodeJS.ErrnoException).code).to.match(/^(EISDIR|ENOTEMPTY|EEXIST)$/);
      expect(counting.hits).to.equal(0);
    });

    it("rejects every malformed Blob ID before any request", async function () {
      const counting = await startHttp((_req, res) => void res.end());
      servers.push(counting);
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [counting.url] });
      for (const [input] of MALFORMED_BLOB_IDS) {
        const read = await rejection(c.read(input));
        expect(read).to.be.instanceOf(InvalidBlobIdError);
        expect((read as InvalidBlobIdError).input).to.equal(input);
        const toFile = await rejection(c.readToFile(input, path.join(dir, "never")));
        expect(toFile).to.be.instanceOf(InvalidBlobIdError);
      }
      expect(counting.hits).to.equal(0);
      expect(await readdir(dir)).to.not.include("never");
    });

    it("rejects a malformed sha256 and bad store options", async function () {
      expect(await rejection(client.read(stored.blobId, { sha256: "abc" }))).to.be.instanceOf(TypeError);
      expect(await rejection(client.store(blob, { epochs: 0 }))).to.be.instanceOf(RangeError);
      const readOnly = new WalrusClient({ ...FAST, aggregatorUrls: [store.url] });
      expect((await rejection(readOnly.store(blob))).message).to.match(/needs a publisherUrl/);
      expect(() => new WalrusClient({ publisherUrl: "ftp://example" })).to.throw(TypeError);
    });
  });

  describe("against a misbehaving aggregator", function () {
    it("rejects a flipped byte as an integrity failure, by Blob ID and by sha256", async function () {
      const aggregator = await misbehaving("flip-byte");
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [aggregator.url] });
      const byId = await rejection(c.read(stored.blobId));
      expect(byId).to.be.instanceOf(BlobIntegrityError);
      expect(byId).to.include({ failure: "blob-id", blobId: stored.blobId, code: "BLOB_INTEGRITY" });
      expect((byId as BlobIntegrityError).url).to.equal(`${aggregator.url}/v1/blobs/${stored.blobId}`);
      const bySha = await rejection(c.read(stored.blobId, { sha256: stored.sha256 }));
      expect(bySha).to.be.instanceOf(BlobIntegrityError);
      expect(bySha).to.include({ failure: "sha256", expected: stored.sha256 });
      // Corrupt bytes are not worth a retry from the same aggregator.
      expect(aggregator.hits).to.equal(2);
    });

    it("retries a body cut short after announcing its length, then reports it truncated", async function () {
      const aggregator = await misbehaving("truncate");
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [aggregator.url] });
      const error = await rejection(c.read(stored.blobId, { sha256: stored.sha256 }));
      expect(error).to.be.instanceOf(BlobIntegrityError);
      expect(error).to.include({ failure: "truncated", expected: String(blob.length), blobId: stored.blobId });
      expect(aggregator.hits).to.equal(1 + FAST.retries!);
    });

    it("rejects a body cut short without a length by verification", async function () {
      const aggregator = await misbehaving("truncate-unannounced");
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [aggregator.url] });
      expect(await rejection(c.read(stored.blobId)))
        .to.be.instanceOf(BlobIntegrityError)
        .and.include({
          failure: "blob-id",
        });
      expect(await rejection(c.read(stored.blobId, { sha256: stored.sha256 }))).to.include({ failure: "sha256" });
    });

    it("retries 503 twice and returns the verified bytes", async function () {
      const aggregator = await misbehaving("503-twice");
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [aggregator.url] });
      expect(same(await c.read(stored.blobId), blob)).to.equal(true);
      expect(aggregator.hits).to.equal(3);
    });

    it("gives up on 503 after its retries with the HTTP status and Walrus reason", async function () {
      const aggregator = await misbehaving("503-twice");
      const c = new WalrusClient({ ...FAST, retries: 1, aggregatorUrls: [aggregator.url] });
      const error = await rejection(c.read(stored.blobId));
      expect(error).to.be.instanceOf(WalrusHttpError);
      expect(error).to.include({ status: 503, reason: "BLOB_UNAVAILABLE", blobId: stored.blobId });
    });

    it("times out on an aggregator that never answers", async function () {
      const aggregator = await misbehaving("hang");
      const c = new WalrusClient({ ...FAST, retries: 1, timeoutMs: 200, aggregatorUrls: [aggregator.url] });
      const started = performance.now();
      const error = await rejection(c.read(stored.blobId));
      expect(error).to.be.instanceOf(WalrusTimeoutError);
      expect(error).to.include({ timeoutMs: 200, blobId: stored.blobId });
      expect((error as WalrusTimeoutError).url).to.contain(aggregator.url);
      expect(aggregator.hits).to.equal(2);
      expect(performance.now() - started).to.be.lessThan(2000);
    });

    it("times out on a body that stalls midway", async function () {
      const aggregator = await misbehaving("stall-body");
      const c = new WalrusClient({ ...FAST, retries: 0, timeoutMs: 200, aggregatorUrls: [aggregator.url] });
      expect(await rejection(c.read(stored.blobId))).to.be.instanceOf(WalrusTimeoutError);
    });

    it("stops at once when the caller aborts", async function () {
      const aggregator = await misbehaving("hang");
      const c = new WalrusClient({ ...FAST, timeoutMs: 10_000, aggregatorUrls: [aggregator.url] });
      const controller = new AbortController();
      const started = performance.now();
      setTimeout(() => controller.abort(new Error("user cancelled")), 100);
      const error = await rejection(c.read(stored.blobId, { signal: controller.signal }));
      expect(error.message).to.equal("user cancelled");
      expect(performance.now() - started).to.be.lessThan(1000);
      expect(aggregator.hits).to.equal(1);
    });

    it("retries a 404 right after its own store, and not otherwise", async function () {
      const bytes = pseudoRandomBytes(5000, 79);
      const aggregator = await misbehaving("404-twice");
      const c = new WalrusClient({ ...FAST, publisherUrl: store.url, aggregatorUrls: [aggregator.url] });
      const result = await c.store(bytes);
      expect(same(await c.read(result.blobId), bytes)).to.equal(true);
      expect(aggregator.hits).to.equal(3);

      const other = await misbehaving("404-twice");
      const stranger = new WalrusClient({ ...FAST, aggregatorUrls: [other.url] });
      const error = await rejection(stranger.read(result.blobId));
      expect(error).to.be.instanceOf(BlobNotFoundError);
      expect(error).to.include({ blobId: result.blobId, code: "BLOB_NOT_FOUND" });
      expect((error as BlobNotFoundError).url).to.contain(other.url);
      expect(other.hits).to.equal(1);
    });

    it("fails over to the next aggregator, and starts with the one that answered next time", async function () {
      const flipping = await misbehaving("flip-byte");
      const hanging = await misbehaving("hang");
      const c = new WalrusClient({
        ...FAST,
        timeoutMs: 300,
        aggregatorUrls: [await deadUrl(), hanging.url, flipping.url, store.url],
      });
      expect(same(await c.read(stored.blobId, { sha256: stored.sha256 }), blob)).to.equal(true);
      expect([hanging.hits, flipping.hits]).to.deep.equal([1, 1]);
      expect(same(await c.read(stored.blobId, { sha256: stored.sha256 }), blob)).to.equal(true);
      expect([hanging.hits, flipping.hits]).to.deep.equal([1, 1]);
    });

    it("reports a blob that no aggregator has as not found, with its Blob ID", async function () {
      const missing = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [store.url, store.url] });
      const error = await rejection(c.read(missing));
      expect(error).to.be.instanceOf(BlobNotFoundError);
      expect(error.message).to.contain(missing);
    });

    it("reports an unreachable aggregator as a network error after its retries", async function () {
      const c = new WalrusClient({ ...FAST, retries: 1, aggregatorUrls: [await deadUrl()] });
      const error = await rejection(c.read(stored.blobId));
      expect(error).to.be.instanceOf(WalrusNetworkError);
      expect(error.message).to.match(/Could not reach http:\/\/127\.0\.0\.1:\d+\/v1\/blobs\//);
    });

    it("does not retry a client error such as 451", async function () {
      const blocked = await startHttp((_req, res) => {
        res.writeHead(451, { "content-type": "application/json" });
        res.end(JSON.stringify(walrusError(451, "UNAVAILABLE_FOR_LEGAL_REASONS", "FORBIDDEN_BLOB", "blocked")));
      });
      servers.push(blocked);
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [blocked.url] });
      const error = await rejection(c.read(stored.blobId));
      expect(error).to.be.instanceOf(WalrusHttpError).and.include({ status: 451, reason: "FORBIDDEN_BLOB" });
      expect(blocked.hits).to.equal(1);
    });
  });

  describe("readToFile never leaves a bad download at the target", function () {
    for (const mode of ["flip-byte", "truncate", "truncate-unannounced", "stall-body"] as const) {
      it(`keeps the target untouched when the aggregator does ${mode}`, async function () {
        const aggregator = await misbehaving(mode);
        const c = new WalrusClient({ ...FAST, retries: 1, timeoutMs: 300, aggregatorUrls: [aggregator.url] });
        const folder = path.join(dir, `target-${mode}`);
        const target = path.join(folder, "blob.bin");
        await mkdir(folder);
        for (const options of [{}, { sha256: stored.sha256 }]) {
          const error = await rejection(c.readToFile(stored.blobId, target, options));
          expect(error).to.satisfy((e: Error) => e instanceof BlobIntegrityError || e instanceof WalrusTimeoutError);
          expect(await readdir(folder), "no file and no temporary file is left").to.deep.equal([]);
        }
        // An older file at the target stays as it was.
        await writeFile(target, "previous version");
        await rejection(c.readToFile(stored.blobId, target, { sha256: stored.sha256 }));
        expect(await readFile(target, "utf8")).to.equal("previous version");
        expect(await readdir(folder)).to.deep.equal(["blob.bin"]);
      });
    }
  });

  describe("against a misbehaving publisher", function () {
    it("refuses a publisher that certifies another Blob ID", async function () {
      const liar = await startHttp(async (req, res) => {
        req.resume();
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ alreadyCertified: { blobId: stored.blobId, endEpoch: 9 } }));
      });
      servers.push(liar);
      const c = new WalrusClient({ ...FAST, publisherUrl: liar.url });
      const bytes = pseudoRandomBytes(100, 80);
      const error = await rejection(c.store(bytes));
      expect(error).to.be.instanceOf(PublisherMismatchError);
      expect(error).to.include({ publisherBlobId: stored.blobId, code: "PUBLISHER_MISMATCH" });
      expect((error as PublisherMismatchError).blobId).to.not.equal(stored.blobId);
      expect((error as PublisherMismatchError).url).to.contain(`${liar.url}/v1/blobs?epochs=1`);
    });

    it("rejects a 2xx body that is not a store response", async function () {
      const odd = await startHttp(async (req, res) => {
        req.resume();
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ stored: true }));
      });
      servers.push(odd);
      const c = new WalrusClient({ ...FAST, publisherUrl: odd.url });
      const error = await rejection(c.store(pseudoRandomBytes(100, 81)));
      expect(error).to.be.instanceOf(WalrusResponseError);
      expect(error.message).to.match(/expected newlyCreated or alreadyCertified/);
    });

    it("retries a store answered 500 and 504, then succeeds", async function () {
      const flaky = await startHttp(async (req, res, hit) => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        if (hit <= 2) {
          res.writeHead(hit === 1 ? 500 : 504, { "content-type": "application/json" });
          res.end(JSON.stringify(walrusError(hit === 1 ? 500 : 504, "INTERNAL", "TRY_AGAIN", "busy")));
          return;
        }
        const upstream = await fetch(`${store.url}${req.url}`, { method: "PUT", body: Buffer.concat(chunks) });
        res.writeHead(upstream.status, { "content-type": "application/json" });
        res.end(Buffer.from(await upstream.arrayBuffer()));
      });
      servers.push(flaky);
      const c = new WalrusClient({ ...FAST, publisherUrl: flaky.url });
      const bytes = pseudoRandomBytes(20_000, 82);
      const result = await c.store(bytes, { epochs: 2 });
      expect(result.status).to.equal("newlyCreated");
      expect(flaky.hits).to.equal(3);
    });

    it("times out on a publisher that never answers, after its retries", async function () {
      const silent = await startHttp((req) => void req.resume());
      servers.push(silent);
      const c = new WalrusClient({ ...FAST, retries: 1, timeoutMs: 200, publisherUrl: silent.url });
      const error = await rejection(c.store(pseudoRandomBytes(1_500_000, 83)));
      expect(error).to.be.instanceOf(WalrusTimeoutError).and.include({ timeoutMs: 200 });
      expect(silent.hits).to.equal(2);
    });

    it("fails a blob above the publisher's cap before any request, and maps 413", async function () {
      const counting = await startHttp(async (req, res) => {
        req.resume();
        res.writeHead(413, { "content-type": "application/json" });
        res.end(JSON.stringify(walrusError(413, "OUT_OF_RANGE", "BLOB_TOO_LARGE", "too large")));
      });
      servers.push(counting);
      const capped = new WalrusClient({ ...FAST, publisherUrl: counting.url, maxPublishBytes: 1000 });
      const early = await rejection(capped.store(new Uint8Array(1001)));
      expect(early).to.be.instanceOf(BlobTooLargeError).and.include({ size: 1001, limit: 1000 });
      expect(early.message).to.match(/writeBlobFlow/);
      expect(counting.hits).to.equal(0);
      const uncapped = new WalrusClient({ ...FAST, publisherUrl: counting.url });
      const refused = await rejection(uncapped.store(new Uint8Array(500)));
      expect(refused).to.be.instanceOf(BlobTooLargeError).and.include({ size: 500 });
      expect((refused as BlobTooLargeError).url).to.contain(counting.url);
      expect(counting.hits).to.equal(1);
    });
  });
});
