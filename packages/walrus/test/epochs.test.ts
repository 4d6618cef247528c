/**
 * The local store's epoch clock, as Walrus documents it: epochs of a configurable length, advanced in tests through
 * `POST /local/clock/advance`, blobs that expire at the start of their end epoch, and a clock and blob lifetimes that
 * persist across restarts.
 */
import { expect } from "chai";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import {
  startLocalWalrus,
  WalrusClient,
  type AlreadyCertifiedResponse,
  type NewlyCreatedResponse,
  type QuiltPatchInput,
} from "../src";
import { pseudoRandomBytes, tempDir, TEST_SHARDS } from "./helpers";

interface LocalLifetime {
  blobId: string;
  currentEpoch: number;
  endEpoch: number;
  expired: boolean;
}

async function put(url: string, body: Uint8Array, query: string): Promise<unknown> {
  const res = await fetch(`${url}/v1/blobs${query}`, { method: "PUT", body });
  return res.json();
}

async function advance(url: string, epochs: number): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}/local/clock/advance?epochs=${epochs}`, { method: "POST" });
  return { status: res.status, json: await res.json() };
}

describe("Local Walrus store: epoch clock", function () {
  it("advances the clock by whole epochs through POST /local/clock/advance, expiring blobs at their end epoch", async function () {
    const { dir, cleanup } = await tempDir();
    const server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS, epochMs: 3_600_000 });
    try {
      const start = server.currentEpoch();
      const created = (await put(server.url, pseudoRandomBytes(300, 1), "?epochs=2")) as NewlyCreatedResponse;
      const { blobId, storage } = created.newlyCreated.blobObject;
      expect(storage.endEpoch).to.equal(start + 2);
      const moved = await advance(server.url, 1);
      expect(moved.status).to.equal(200);
      expect(moved.json).to.include({ epoch: start + 1 });
      expect((await fetch(`${server.url}/v1/blobs/${blobId}`)).status).to.equal(200);
      await advance(server.url, 1);
      expect(server.currentEpoch()).to.equal(storage.endEpoch);
      expect((await fetch(`${server.url}/v1/blobs/${blobId}`)).status).to.equal(404);
    } finally {
      await server.close();
      await cleanup();
    }
  });

  it("refuses an advance that is not a positive whole number of epochs", async function () {
    const { dir, cleanup } = await tempDir();
    const server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
    try {
      for (const bad of ["0", "-1", "1.5", "x"]) {
        const res = await fetch(`${server.url}/local/clock/advance?epochs=${bad}`, { method: "POST" });
        expect(res.status, bad).to.equal(400);
      }
      expect(server.currentEpoch()).to.equal(1);
    } finally {
      await server.close();
      await cleanup();
    }
  });

  it("keeps the advanced clock and every blob's end epoch across a restart", async function () {
    const { dir, cleanup } = await tempDir();
    try {
      const first = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS, epochMs: 3_600_000 });
      const short = (await put(first.url, pseudoRandomBytes(100, 2), "?epochs=3")) as NewlyCreatedResponse;
      const long = (await put(first.url, pseudoRandomBytes(100, 3), "?epochs=10")) as NewlyCreatedResponse;
      await advance(first.url, 5);
      const epoch = first.currentEpoch();
      await first.close();

      const second = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
      try {
        expect(second.currentEpoch()).to.equal(epoch);
        const shortId = short.newlyCreated.blobObject.blobId;
        const longId = long.newlyCreated.blobObject.blobId;
        expect((await fetch(`${second.url}/v1/blobs/${shortId}`)).status).to.equal(404);
        expect((await fetch(`${second.url}/v1/blobs/${longId}`)).status).to.equal(200);
        const lifetime = (await (await fetch(`${second.url}/local/blobs/${longId}`)).json()) as LocalLifetime;
        expect(lifetime).to.deep.equal({
          blobId: longId,
          currentEpoch: epoch,
          endEpoch: long.newlyCreated.blobObject.storage.endEpoch,
          expired: false,
        });
        const gone = (await (await fetch(`${second.url}/local/blobs/${shortId}`)).json()) as LocalLifetime;
        expect(gone).to.include({ endEpoch: short.newlyCreated.blobObject.storage.endEpoch, expired: true });
      } finally {
        await second.close();
      }
    } finally {
      await cleanup();
    }
  });

  it("extends known content stored with more epochs, leaves it alone with fewer, registers expired content anew", async function () {
    const { dir, cleanup } = await tempDir();
    const server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
    try {
      const bytes = pseudoRandomBytes(500, 4);
      const first = (await put(server.url, bytes, "?epochs=2")) as NewlyCreatedResponse;
      const blobId = first.newlyCreated.blobObject.blobId;
      const longer = (await put(server.url, bytes, "?epochs=53")) as NewlyCreatedResponse;
      expect(longer.newlyCreated.blobObject.storage.endEpoch).to.equal(server.currentEpoch() + 53);
      const fewer = (await put(server.url, bytes, "?epochs=5")) as AlreadyCertifiedResponse;
      expect(fewer.alreadyCertified.endEpoch).to.equal(server.currentEpoch() + 53);
      const beyond = await fetch(`${server.url}/v1/blobs?epochs=54`, { method: "PUT", body: bytes });
      expect(beyond.status).to.equal(400);
      await advance(server.url, 53);
      expect((await fetch(`${server.url}/v1/blobs/${blobId}`)).status).to.equal(404);
      const anew = (await put(server.url, bytes, "?epochs=1")) as NewlyCreatedResponse;
      expect(anew.newlyCreated.blobObject.registeredEpoch).to.equal(server.currentEpoch());
      expect(anew.newlyCreated.blobObject.storage.endEpoch).to.equal(server.currentEpoch() + 1);
      expect((await fetch(`${server.url}/v1/blobs/${blobId}`)).status).to.equal(200);
    } finally {
      await server.close();
      await cleanup();
    }
  });

  it("answers a lifetime query for content never stored with no end epoch and 404", async function () {
    const { dir, cleanup } = await tempDir();
    const server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
    try {
      const res = await fetch(`${server.url}/local/blobs/${"A".repeat(43)}`);
      expect(res.status).to.equal(404);
    } finally {
      await server.close();
      await cleanup();
    }
  });

  it("expires a quilt and its patch reads at its end epoch, and extends it when stored again with more epochs", async function () {
    const { dir, cleanup } = await tempDir();
    const server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
    const client = new WalrusClient({ publisherUrl: server.url, aggregatorUrls: [server.url], shards: TEST_SHARDS });
    try {
      const patches: QuiltPatchInput[] = [
        { identifier: "a", contents: pseudoRandomBytes(100, 5) },
        { identifier: "b", contents: pseudoRandomBytes(200, 6) },
      ];
      const stored = await client.storeQuilt(patches, { epochs: 2 });
      expect(stored.endEpoch).to.equal(server.currentEpoch() + 2);
      const patchUrl = `${server.url}/v1/blobs/by-quilt-patch-id/${stored.patches[0].patchId}`;
      const byName = `${server.url}/v1/blobs/by-quilt-id/${stored.blobId}/b`;
      const list = `${server.url}/v1/quilts/${stored.blobId}/patches`;
      for (const url of [patchUrl, byName, list]) expect((await fetch(url)).status, url).to.equal(200);

      await server.advanceEpochs(1);
      const extended = await client.storeQuilt(patches, { epochs: 5 });
      expect(extended.blobId).to.equal(stored.blobId);
      expect(extended.endEpoch).to.equal(server.currentEpoch() + 5);
      await server.advanceEpochs(4);
      for (const url of [patchUrl, byName, list]) expect((await fetch(url)).status, url).to.equal(200);
      await server.advanceEpochs(1);
      for (const url of [patchUrl, byName, list]) {
        const res = await fetch(url);
        expect(res.status, url).to.equal(404);
        const body = (await res.json()) as { error: { details: { reason: string }[] } };
        expect(body.error.details[0].reason, url).to.equal("BLOB_NOT_FOUND");
      }
    } finally {
      await server.close();
      await cleanup();
    }
  });

  it("starts on a clock file written before advances existed, and advances it", async function () {
    const { dir, cleanup } = await tempDir();
    try {
      const genesisMs = Date.now() - 2 * 60_000;
      await writeFile(
        path.join(dir, "clock.json"),
        JSON.stringify({ version: 1, genesisMs, epochMs: 60_000, shards: TEST_SHARDS }),
      );
      const first = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
      const epoch = first.currentEpoch();
      expect(epoch).to.be.within(3, 4);
      expect(await first.advanceEpochs(2)).to.be.within(epoch + 2, epoch + 3);
      await first.close();
      const second = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
      expect(second.currentEpoch()).to.be.within(epoch + 2, epoch + 3);
      await second.close();
    } finally {
      await cleanup();
    }
  });

  it("extends the publisher's own certified blob object in place (reuseAndExtend) when known content asks for more epochs", async function () {
    const { dir, cleanup } = await tempDir();
    try {
      const server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
      const bytes = pseudoRandomBytes(1_000, 8);
      const first = ((await put(server.url, bytes, "?epochs=3")) as NewlyCreatedResponse).newlyCreated;
      await server.advanceEpochs(1);
      const again = ((await put(server.url, bytes, "?epochs=10")) as NewlyCreatedResponse).newlyCreated;
      const wantedEnd = server.currentEpoch() + 10;
      expect(again.blobObject.id).to.equal(first.blobObject.id);
      expect(again.blobObject.registeredEpoch).to.equal(first.blobObject.registeredEpoch);
      expect(again.blobObject.storage).to.deep.equal({ ...first.blobObject.storage, endEpoch: wantedEnd });
      const epochsExtended = wantedEnd - first.blobObject.storage.endEpoch;
      expect(again.resourceOperation).to.deep.equal({
        reuseAndExtend: { encodedLength: first.blobObject.storage.storageSize, epochsExtended },
      });
      expect(again.cost).to.equal(
        Math.ceil(first.blobObject.storage.storageSize / (1024 * 1024)) * 100 * epochsExtended,
      );
      await server.close();

      const second = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
      try {
        await second.advanceEpochs(8);
        expect((await fetch(`${second.url}/v1/blobs/by-object-id/${first.blobObject.id}`)).status).to.equal(200);
        const kept = (await put(second.url, bytes, "?epochs=1")) as AlreadyCertifiedResponse;
        expect(kept.alreadyCertified.endEpoch).to.equal(wantedEnd);
        // A permanent request is not served by extending a deletable object: new storage is registered.
        const permanent = ((await put(second.url, bytes, "?epochs=5&permanent=true")) as NewlyCreatedResponse)
          .newlyCreated;
        expect(permanent.blobObject.id).to.not.equal(first.blobObject.id);
        expect(permanent.resourceOperation).to.have.property("registerFromScratch");
        // An object sent to another address is no longer the publisher's to extend.
        const sent = ((await put(second.url, bytes, "?epochs=20&send_object_to=0x1")) as NewlyCreatedResponse)
          .newlyCreated;
        expect(sent.resourceOperation).to.have.property("registerFromScratch");
        const after = ((await put(second.url, bytes, "?epochs=30")) as NewlyCreatedResponse).newlyCreated;
        expect(after.blobObject.id).to.equal(first.blobObject.id);
        expect(after.resourceOperation).to.have.property("reuseAndExtend");
      } finally {
        await second.close();
      }
    } finally {
      await cleanup();
    }
  });
});
