/** The client of the local store's clock routes: a blob's lifetime, and advancing the clock from another process. */
import { expect } from "chai";
import {
  advanceLocalEpochs,
  BlobNotFoundError,
  localBlobLifetime,
  startLocalWalrus,
  WalrusClient,
  WalrusHttpError,
} from "../src";
import { pseudoRandomBytes, rejection, tempDir, TEST_SHARDS } from "./helpers";

describe("Local Walrus store: clock client", function () {
  it("reads a blob's end epoch, advances the clock over HTTP, and sees the blob expire", async function () {
    const { dir, cleanup } = await tempDir();
    const server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
    const client = new WalrusClient({ publisherUrl: server.url, aggregatorUrls: [server.url], shards: TEST_SHARDS });
    try {
      const stored = await client.store(pseudoRandomBytes(64, 7), { epochs: 2 });
      const before = await localBlobLifetime(server.url, stored.blobId);
      expect(before).to.deep.equal({
        blobId: stored.blobId,
        currentEpoch: server.currentEpoch(),
        endEpoch: stored.endEpoch,
        expired: false,
      });
      expect(await advanceLocalEpochs(server.url, 2)).to.equal(stored.endEpoch);
      expect(await localBlobLifetime(server.url, stored.blobId)).to.include({ expired: true });
    } finally {
      await server.close();
      await cleanup();
    }
  });

  it("fails with BlobNotFoundError for a blob never stored and WalrusHttpError for a refused advance", async function () {
    const { dir, cleanup } = await tempDir();
    const server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
    try {
      const missing = await rejection(localBlobLifetime(server.url, "A".repeat(43)));
      expect(missing).to.be.instanceOf(BlobNotFoundError);
      const refused = await rejection(advanceLocalEpochs(server.url, 0));
      expect(refused).to.be.instanceOf(WalrusHttpError);
      expect(refused).to.include({ status: 400, reason: "INVALID_EPOCHS" });
    } finally {
      await server.close();
      await cleanup();
    }
  });
});
