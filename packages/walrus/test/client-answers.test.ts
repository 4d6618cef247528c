import { expect } from "chai";
import path from "node:path";
import { inspect } from "node:util";
import {
  BlobIntegrityError,
  BlobMarkedInvalidError,
  BlobTooLargeError,
  blobId as computeBlobId,
  startLocalWalrus,
  WalrusClient,
  WalrusHttpError,
  WalrusStoreFailedError,
  type LocalWalrus,
  type ResourceOperation,
  type StoreResult,
  type WalrusClientOptions,
} from "../src";
import {
  pseudoRandomBytes,
  rejection,
  startHttp,
  tempDir,
  TEST_SHARDS,
  walrusError,
  type TestHttpServer,
} from "./helpers";

const FAST: WalrusClientOptions = { shards: TEST_SHARDS, retries: 3, retryDelayMs: 5, maxRetryDelayMs: 20 };

/** The epochs a resource operation extends a blob by, if it extends one (exhaustive over the published variants). */
function epochsExtended(operation: ResourceOperation): number | undefined {
  if ("reuseAndExtend" in operation) return operation.reuseAndExtend.epochsExtended;
  if ("reuseAndExtendNonCertified" in operation) return operation.reuseAndExtendNonCertified.epochsExtended;
  return undefined;
}

describe("Walrus client: bounded reads and every answer of the daemon", function () {
  let store: LocalWalrus;
  let cleanup: () => Promise<void>;
  let dir: string;
  let stored: StoreResult;
  const blob = pseudoRandomBytes(40_000, 701);
  const servers: TestHttpServer[] = [];

  async function serve(handler: Parameters<typeof startHttp>[0]): Promise<TestHttpServer> {
    const server = await startHttp(handler);
    servers.push(server);
    return server;
  }

  before(async function () {
    const temp = await tempDir();
    cleanup = temp.cleanup;
    dir = temp.dir;
    store = await startLocalWalrus({ dir: path.join(dir, "store"), port: 0, shards: TEST_SHARDS });
    stored = await new WalrusClient({ ...FAST, publisherUrl: store.url }).store(blob, { epochs: 5 });
  });

  after(async function () {
    for (const server of servers) await server.close();
    await store.close();
    await cleanup();
  });

  describe("reads bounded by the expected size (item 8)", function () {
    it("refuses a Content-Length above the caller's maximum before reading the body", async function () {
      const huge = await serve((_req, res) => {
        res.writeHead(200, { "content-length": "50000000" });
        res.write(Buffer.alloc(1000));
      });
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [huge.url] });
      const started = performance.now();
      const error = await rejection(c.read(stored.blobId, { maxBytes: 10_000 }));
      expect(error).to.be.instanceOf(BlobTooLargeError).and.include({ size: 50_000_000, limit: 10_000 });
      expect(error.message).to.contain("10000 bytes");
      expect(huge.hits).to.equal(1);
      expect(performance.now() - started).to.be.lessThan(2000);
    });

    it("stops reading a body that runs past the expected size", async function () {
      const endless = await serve((_req, res) => {
        res.writeHead(200, { "transfer-encoding": "chunked" });
        const timer = setInterval(() => {
          if (!res.write(Buffer.alloc(64 * 1024, 7))) return;
        }, 1);
        res.on("close", () => clearInterval(timer));
      });
      const c = new WalrusClient({ ...FAST, retries: 0, aggregatorUrls: [endless.url] });
      const started = performance.now();
      const sized = await rejection(c.read(stored.blobId, { expectedSize: blob.length }));
      expect(sized).to.be.instanceOf(BlobIntegrityError).and.include({ failure: "size", expected: "40000" });
      expect(sized.message).to.contain("40000");
      const capped = await rejection(c.readToFile(stored.blobId, path.join(dir, "capped.bin"), { maxBytes: 100_000 }));
      expect(capped).to.be.instanceOf(BlobTooLargeError).and.include({ limit: 100_000 });
      expect(performance.now() - started).to.be.lessThan(3000);
    });

    it("refuses a Content-Length other than the expected size and fails over to the next aggregator", async function () {
      const liar = await serve((_req, res) => {
        res.writeHead(200, { "content-length": "39999" });
        res.end(Buffer.alloc(39_999));
      });
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [liar.url, store.url] });
      const bytes = await c.read(stored.blobId, { expectedSize: blob.length, sha256: stored.sha256 });
      expect(Buffer.from(bytes).equals(Buffer.from(blob))).to.equal(true);
      expect(liar.hits).to.equal(1);
      const alone = new WalrusClient({ ...FAST, aggregatorUrls: [liar.url] });
      const error = await rejection(alone.read(stored.blobId, { expectedSize: blob.length }));
      expect(error).to.be.instanceOf(BlobIntegrityError).and.include({ failure: "size", actual: "39999" });
    });

    it("never allocates what a Content-Length announces before the bytes arrive", async function () {
      const announcer = await serve((_req, res) => {
        res.writeHead(200, { "content-length": "400000000" });
        res.write(Buffer.alloc(1000), () => setTimeout(() => res.destroy(), 50));
      });
      // 1000 shards: no Blob ID cap below the announced length.
      const c = new WalrusClient({ shards: 1000, retries: 0, aggregatorUrls: [announcer.url] });
      const before = process.memoryUsage().arrayBuffers;
      let peak = before;
      await rejection(
        c.read(stored.blobId, {
          onProgress: () => {
            peak = Math.max(peak, process.memoryUsage().arrayBuffers);
          },
        }),
      );
      expect(peak - before).to.be.lessThan(50_000_000);
    });
  });

  describe("publisher answers (item 13)", function () {
    it("turns markedInvalid into a typed error that keeps the event, and does not retry it", async function () {
      const bytes = pseudoRandomBytes(300, 702);
      const id = await computeBlobId(bytes, { shards: TEST_SHARDS });
      const publisher = await serve(async (req, res) => {
        req.resume();
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ markedInvalid: { blobId: id, event: { txDigest: "EhtoQF9U", eventSeq: "3" } } }));
      });
      const c = new WalrusClient({ ...FAST, publisherUrl: publisher.url });
      const error = await rejection(c.store(bytes));
      expect(error).to.be.instanceOf(BlobMarkedInvalidError);
      expect(error).to.include({ code: "BLOB_MARKED_INVALID", blobId: id, txDigest: "EhtoQF9U", eventSeq: "3" });
      expect(error.message).to.contain("marked invalid");
      expect(publisher.hits).to.equal(1);
    });

    it("does not retry the daemon's 500 for a blob marked invalid", async function () {
      const publisher = await serve(async (req, res) => {
        req.resume();
        res.writeHead(500, { "content-type": "application/json" });
        const message = "the blob was marked invalid, which is likely a system error, please report it";
        res.end(JSON.stringify(walrusError(500, "INTERNAL", "UNCATEGORIZED", message)));
      });
      const c = new WalrusClient({ ...FAST, publisherUrl: publisher.url });
      const error = await rejection(c.store(pseudoRandomBytes(300, 708)));
      expect(error).to.be.instanceOf(BlobMarkedInvalidError).and.include({ code: "BLOB_MARKED_INVALID" });
      expect((error as BlobMarkedInvalidError).txDigest).to.equal(undefined);
      expect(publisher.hits).to.equal(1);
    });

    it("turns a 200 error {failurePhase, errorMsg} into a typed error that keeps the message, and does not retry it", async function () {
      const publisher = await serve(async (req, res) => {
        req.resume();
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            error: { blobId: null, failurePhase: "register", errorMsg: "insufficient WAL balance to buy storage" },
          }),
        );
      });
      const c = new WalrusClient({ ...FAST, publisherUrl: publisher.url });
      const error = await rejection(c.store(pseudoRandomBytes(300, 703)));
      expect(error).to.be.instanceOf(WalrusStoreFailedError);
      expect(error).to.include({ code: "STORE_FAILED", failurePhase: "register" });
      expect((error as WalrusStoreFailedError).errorMsg).to.equal("insufficient WAL balance to buy storage");
      expect(error.message).to.contain("insufficient WAL balance to buy storage").and.contain("register");
      expect(publisher.hits).to.equal(1);
    });

    it("returns reuseAndExtend and reuseAndExtendNonCertified resource operations as typed", async function () {
      for (const [seed, operation] of [
        [704, { reuseAndExtend: { encodedLength: 65_536, epochsExtended: 4 } }],
        [705, { reuseAndExtendNonCertified: { encodedLength: 65_536, epochsExtended: 2 } }],
      ] as const) {
        const bytes = pseudoRandomBytes(300, seed);
        const id = await computeBlobId(bytes, { shards: TEST_SHARDS });
        const publisher = await serve(async (req, res) => {
          req.resume();
          res.writeHead(200, { "content-type": "application/json" });
          const storage = { id: `0x${"22".repeat(32)}`, startEpoch: 3, endEpoch: 9, storageSize: 65_536 };
          const blobObject = {
            id: `0x${"11".repeat(32)}`,
            registeredEpoch: 3,
            blobId: id,
            size: 300,
            encodingType: "RS2",
            certifiedEpoch: 3,
            storage,
            deletable: true,
          };
          res.end(JSON.stringify({ newlyCreated: { blobObject, resourceOperation: operation, cost: 10 } }));
        });
        const result = await new WalrusClient({ ...FAST, publisherUrl: publisher.url }).store(bytes);
        expect(result.resourceOperation).to.deep.equal(operation);
        expect(epochsExtended(result.resourceOperation!)).to.equal(Object.values(operation)[0].epochsExtended);
      }
    });
  });

  describe("aggregator failover (item 13)", function () {
    it("fails over to the next aggregator on 403 SIZE_EXCEEDED and on 451, without retrying either", async function () {
      const tooLarge = await serve((_req, res) => {
        res.writeHead(403, { "content-type": "application/json" });
        res.end(JSON.stringify(walrusError(403, "SIZE_EXCEEDED", "BLOB_TOO_LARGE", "exceeds 1000")));
      });
      const blocked = await serve((_req, res) => {
        res.writeHead(451, { "content-type": "application/json" });
        res.end(JSON.stringify(walrusError(451, "UNAVAILABLE_FOR_LEGAL_REASONS", "FORBIDDEN_BLOB", "blocked")));
      });
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [tooLarge.url, blocked.url, store.url] });
      const bytes = await c.read(stored.blobId, { sha256: stored.sha256 });
      expect(Buffer.from(bytes).equals(Buffer.from(blob))).to.equal(true);
      expect([tooLarge.hits, blocked.hits]).to.deep.equal([1, 1]);

      const none = new WalrusClient({ ...FAST, aggregatorUrls: [tooLarge.url, blocked.url] });
      const error = await rejection(none.read(stored.blobId));
      expect(error).to.be.instanceOf(WalrusHttpError);
      expect((error as WalrusHttpError).status).to.be.oneOf([403, 451]);
      expect([tooLarge.hits, blocked.hits]).to.deep.equal([2, 2]);
    });
  });

  describe("publisher authentication (item 13)", function () {
    const token = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjMzMjkyNTk4NDAwLCJqdGkiOiJzdHJhdGEtdGVzdCJ9.c2lnbmF0dXJl";

    it("sends the configured bearer token to the publisher only, and never shows it", async function () {
      const seen: (string | undefined)[] = [];
      const publisher = await serve(async (req, res) => {
        seen.push(req.headers.authorization);
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        if (seen.length === 2) {
          res.writeHead(401, { "content-type": "application/json" });
          res.end(JSON.stringify(walrusError(401, "UNAUTHENTICATED", "INVALID_SIGNATURE", "bad signature")));
          return;
        }
        const upstream = await fetch(`${store.url}${req.url}`, { method: "PUT", body: Buffer.concat(chunks) });
        res.writeHead(upstream.status, { "content-type": "application/json" });
        res.end(Buffer.from(await upstream.arrayBuffer()));
      });
      const aggregatorSeen: (string | undefined)[] = [];
      const aggregator = await serve(async (req, res) => {
        aggregatorSeen.push(req.headers.authorization);
        const upstream = await fetch(`${store.url}${req.url}`);
        res.writeHead(upstream.status);
        res.end(Buffer.from(await upstream.arrayBuffer()));
      });
      const c = new WalrusClient({
        ...FAST,
        publisherUrl: publisher.url,
        aggregatorUrls: [aggregator.url],
        publisherToken: token,
      });
      const bytes = pseudoRandomBytes(500, 706);
      const result = await c.store(bytes);
      await c.read(result.blobId);
      expect(seen).to.deep.equal([`Bearer ${token}`]);
      expect(aggregatorSeen).to.deep.equal([undefined]);

      const refused = await rejection(c.store(pseudoRandomBytes(500, 707)));
      expect(refused).to.be.instanceOf(WalrusHttpError).and.include({ status: 401, reason: "INVALID_SIGNATURE" });
      expect(seen).to.have.length(2);
      for (const shown of [refused.message, String(refused.stack), inspect(refused), inspect(c), JSON.stringify(c)]) {
        expect(shown).to.not.contain(token.slice(0, 20));
      }
      expect(c.hasPublisherToken).to.equal(true);
    });

    it("refuses a token that would break the header, without echoing it", function () {
      for (const bad of ["", "two words", `${token}\r\nX-Injected: 1`, "Bearer abc"]) {
        let caught: unknown;
        try {
          new WalrusClient({ publisherUrl: store.url, publisherToken: bad });
        } catch (error) {
          caught = error;
        }
        expect(caught, JSON.stringify(bad)).to.be.instanceOf(TypeError);
        if (bad.length > 4) expect((caught as Error).message).to.not.contain(bad.slice(0, 8));
      }
    });
  });
});
