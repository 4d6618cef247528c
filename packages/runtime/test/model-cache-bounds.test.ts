import { expect } from "chai";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalWalrus, WalrusClient, type LocalWalrus, type ReadOptions } from "@strata/walrus";
import {
  ModelCache,
  ModelIntegrityError,
  ModelTooLargeError,
  ModelUnavailableError,
  StrataRuntimeError,
  type BlobSource,
} from "../src";

const SHARDS = 10;
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const id = (n: number) => `blob${String(n).padStart(39, "0")}`;

/** A blob source over a map that records what it was asked. */
function recordingSource(files: Map<string, Uint8Array>): BlobSource & { calls: [string, ReadOptions][] } {
  const calls: [string, ReadOptions][] = [];
  return {
    calls,
    async readToFile(blobId, path, options = {}) {
      calls.push([blobId, options]);
      const bytes = files.get(blobId);
      if (!bytes) throw new Error(`no blob ${blobId}`);
      await writeFile(path, bytes);
      return { blobId, path, size: bytes.length, sha256: sha(bytes) } as never;
    },
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error as Error,
  );
}

async function listen(
  handler: Parameters<typeof createServer>[1],
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("Model cache: sizes are checked before download (item 8) and unavailable blobs fail fast (item 10)", function () {
  const files = new Map([[id(1), new Uint8Array(1000).fill(1)]]);
  const ref = { blobId: id(1), sha256: sha(files.get(id(1))!), size: 1000 };

  it("refuses a model above the max model size before any download, naming both sizes", async function () {
    const source = recordingSource(files);
    const cache = new ModelCache(await mkdtemp(join(tmpdir(), "strata-cache-")), source, 10_000, {
      maxModelBytes: 500,
    });
    const error = await rejectionOf(cache.get(ref));
    expect(error).to.be.instanceOf(ModelTooLargeError).and.include({ code: "MODEL_TOO_LARGE", size: 1000, limit: 500 });
    expect(error.message).to.contain("1000 bytes").and.contain("500 bytes").and.contain("--max-model-bytes");
    expect(source.calls).to.deep.equal([]);
  });

  it("refuses a model above the cache bound before any download", async function () {
    const source = recordingSource(files);
    const cache = new ModelCache(await mkdtemp(join(tmpdir(), "strata-cache-")), source, 800);
    const error = await rejectionOf(cache.get(ref));
    expect(error).to.be.instanceOf(ModelTooLargeError).and.include({ code: "CACHE_TOO_SMALL", size: 1000, limit: 800 });
    expect(error.message).to.contain("--cache-max-bytes");
    expect(source.calls).to.deep.equal([]);
  });

  it("asks Walrus for exactly the registry's size", async function () {
    const source = recordingSource(files);
    const cache = new ModelCache(await mkdtemp(join(tmpdir(), "strata-cache-")), source, 10_000);
    await cache.get(ref);
    expect(source.calls).to.have.length(1);
    expect(source.calls[0][1]).to.include({ expectedSize: 1000, sha256: ref.sha256 });
  });

  describe("against Walrus", function () {
    let store: LocalWalrus;
    let storeDir: string;
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 7) % 251);
    let blobId: string;

    before(async function () {
      storeDir = await mkdtemp(join(tmpdir(), "strata-store-"));
      store = await startLocalWalrus({ dir: storeDir, port: 0, shards: SHARDS });
      blobId = (await new WalrusClient({ publisherUrl: store.url, shards: SHARDS }).store(bytes)).blobId;
    });

    after(async function () {
      await store.close();
      await rm(storeDir, { recursive: true, force: true });
    });

    it("stops a download that runs past the registry's size", async function () {
      const endless = await listen((_req, res) => {
        res.writeHead(200, { "transfer-encoding": "chunked" });
        const timer = setInterval(() => res.write(Buffer.alloc(64 * 1024, 3)), 1);
        res.on("close", () => clearInterval(timer));
      });
      try {
        const walrus = new WalrusClient({ aggregatorUrls: [endless.url], shards: SHARDS, retries: 0 });
        const dir = await mkdtemp(join(tmpdir(), "strata-cache-"));
        const cache = new ModelCache(dir, walrus, 10_000_000);
        const started = performance.now();
        const error = await rejectionOf(cache.get({ blobId, sha256: sha(bytes), size: bytes.length }));
        expect(error).to.be.instanceOf(ModelIntegrityError);
        expect(error.message).to.contain(String(bytes.length));
        expect(performance.now() - started).to.be.lessThan(3000);
        expect(await readdir(join(dir, "tmp"))).to.deep.equal([]);
      } finally {
        await endless.close();
      }
    });

    it("fails a cold load of a truncated store file at once with a typed unavailable error", async function () {
      const copy = new Uint8Array(bytes.length).map((_, i) => (i * 13) % 251);
      const copyId = (await new WalrusClient({ publisherUrl: store.url, shards: SHARDS }).store(copy)).blobId;
      await truncate(join(storeDir, "blobs", copyId), 1234);
      const walrus = new WalrusClient({ aggregatorUrls: [store.url], shards: SHARDS, retries: 1, retryDelayMs: 5 });
      const cache = new ModelCache(await mkdtemp(join(tmpdir(), "strata-cache-")), walrus, 10_000_000);
      const started = performance.now();
      const error = await rejectionOf(cache.get({ blobId: copyId, sha256: sha(copy), size: copy.length }));
      expect(error).to.be.instanceOf(ModelUnavailableError).and.be.instanceOf(StrataRuntimeError);
      // The node answers MODEL_UNAVAILABLE 503 (its code -> status table: packages/node/test/http-status.test.ts).
      expect(error).to.include({ code: "MODEL_UNAVAILABLE", blobId: copyId, walrusCode: "HTTP" });
      expect(error.message).to.contain(copyId).and.contain("BLOB_UNAVAILABLE");
      expect(performance.now() - started).to.be.lessThan(3000);
    });

    it("fails a load from an aggregator whose body stalls with a typed unavailable error after the idle timeout", async function () {
      const stalling = await listen((_req, res) => {
        res.writeHead(200, { "content-length": String(bytes.length) });
        res.write(Buffer.from(bytes.subarray(0, 1000)));
      });
      try {
        const walrus = new WalrusClient({ aggregatorUrls: [stalling.url], shards: SHARDS, retries: 0, timeoutMs: 300 });
        const cache = new ModelCache(await mkdtemp(join(tmpdir(), "strata-cache-")), walrus, 10_000_000);
        const started = performance.now();
        const error = await rejectionOf(cache.get({ blobId, sha256: sha(bytes), size: bytes.length }));
        expect(error)
          .to.be.instanceOf(ModelUnavailableError)
          .and.include({ walrusCode: "TIMEOUT", code: "MODEL_UNAVAILABLE" });
        expect(error.message).to.contain("300 ms");
        expect(performance.now() - started).to.be.lessThan(2000);
      } finally {
        await stalling.close();
      }
    });
  });
});
