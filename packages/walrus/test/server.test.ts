import { expect } from "chai";
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  blobId as computeBlobId,
  encodedBlobLength,
  EncoderPool,
  startLocalWalrus,
  WalrusClient,
  type LocalWalrus,
  type NewlyCreatedResponse,
  type AlreadyCertifiedResponse,
  type WalrusErrorBody,
} from "../src";
import { MALFORMED_BLOB_IDS, pseudoRandomBytes, rejection, tempDir, TEST_SHARDS } from "./helpers";

async function put(url: string, body: Uint8Array | string, query = ""): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}/v1/blobs${query}`, { method: "PUT", body });
  return { status: res.status, json: await res.json() };
}

function expectWalrusError(json: unknown, code: number, reason: string): WalrusErrorBody {
  const body = json as WalrusErrorBody;
  expect(body.error.code).to.equal(code);
  expect(body.error.message).to.be.a("string").and.not.equal("");
  expect(body.error.details).to.have.length(1);
  expect(body.error.details[0]).to.include({ "@type": "ErrorInfo", reason });
  expect(body.error.details[0].domain).to.be.a("string");
  expect(body.error.details[0].metadata).to.deep.equal({});
  return body;
}

describe("Local Walrus store: HTTP API", function () {
  let server: LocalWalrus;
  let cleanup: () => Promise<void>;
  let clockMs = 1_700_000_000_000;
  const EPOCH_MS = 60_000;

  before(async function () {
    const temp = await tempDir();
    cleanup = temp.cleanup;
    server = await startLocalWalrus({
      dir: temp.dir,
      port: 0,
      shards: TEST_SHARDS,
      epochMs: EPOCH_MS,
      maxBlobSize: 1_000_000,
      now: () => clockMs,
    });
  });

  after(async function () {
    await server.close();
    await cleanup();
  });

  it("stores a blob and answers newlyCreated with the Walrus JSON shape", async function () {
    const bytes = new TextEncoder().encode("seventeen bytes!!");
    const { status, json } = await put(server.url, bytes, "?epochs=5");
    expect(status).to.equal(200);
    const created = (json as NewlyCreatedResponse).newlyCreated;
    const id = await computeBlobId(bytes, { shards: TEST_SHARDS });
    const epoch = server.currentEpoch();
    expect(Object.keys(created).sort()).to.deep.equal(["blobObject", "cost", "resourceOperation"]);
    expect(created.blobObject).to.deep.include({
      registeredEpoch: epoch,
      blobId: id,
      size: 17,
      encodingType: "RS2",
      certifiedEpoch: epoch,
      deletable: true,
    });
    expect(created.blobObject.id).to.match(/^0x[0-9a-f]{64}$/);
    expect(created.blobObject.storage.id).to.match(/^0x[0-9a-f]{64}$/);
    expect(created.blobObject.storage).to.deep.include({
      startEpoch: epoch,
      endEpoch: epoch + 5,
      storageSize: encodedBlobLength(17, TEST_SHARDS),
    });
    expect(created.resourceOperation).to.deep.equal({
      registerFromScratch: { encodedLength: encodedBlobLength(17, TEST_SHARDS), epochsAhead: 5 },
    });
    expect(created.cost).to.equal(1 * (100 * 5 + 2000));
  });

  it("answers alreadyCertified for content certified long enough, with the event and end epoch", async function () {
    const bytes = pseudoRandomBytes(4000, 1);
    const first = (await put(server.url, bytes, "?epochs=3&permanent=true")).json as NewlyCreatedResponse;
    expect(first.newlyCreated.blobObject.deletable).to.equal(false);
    const again = await put(server.url, bytes, "?epochs=2");
    expect(again.status).to.equal(200);
    const certified = (again.json as AlreadyCertifiedResponse).alreadyCertified;
    expect(certified.blobId).to.equal(first.newlyCreated.blobObject.blobId);
    expect(certified.endEpoch).to.equal(first.newlyCreated.blobObject.storage.endEpoch);
    expect(certified.event?.txDigest).to.match(/^[1-9A-HJ-NP-Za-km-z]{40,50}$/);
    expect(certified.event?.eventSeq).to.equal("0");
    // Longer than what is certified, or force: a new registration.
    const longer = (await put(server.url, bytes, "?epochs=4")).json as NewlyCreatedResponse;
    expect(longer.newlyCreated.blobObject.storage.endEpoch).to.equal(server.currentEpoch() + 4);
    const forced = (await put(server.url, bytes, "?epochs=1&force=true")).json as NewlyCreatedResponse;
    expect(forced.newlyCreated.blobObject.id).to.not.equal(longer.newlyCreated.blobObject.id);
  });

  it("does not let a deletable blob answer a request for a permanent one", async function () {
    const bytes = pseudoRandomBytes(3000, 2);
    await put(server.url, bytes, "?epochs=5");
    const permanent = await put(server.url, bytes, "?epochs=1&permanent=true");
    expect(permanent.json).to.have.property("newlyCreated");
    expect((permanent.json as NewlyCreatedResponse).newlyCreated.blobObject.deletable).to.equal(false);
    const deletable = await put(server.url, bytes, "?epochs=1");
    expect(deletable.json).to.have.property("alreadyCertified");
  });

  it("serves blobs with ETag, Range, If-None-Match and by object id", async function () {
    const bytes = pseudoRandomBytes(10_000, 3);
    const created = ((await put(server.url, bytes)).json as NewlyCreatedResponse).newlyCreated.blobObject;
    const res = await fetch(`${server.url}/v1/blobs/${created.blobId}`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("etag")).to.equal(created.blobId);
    expect(res.headers.get("content-length")).to.equal("10000");
    expect(res.headers.get("content-type")).to.equal("application/octet-stream");
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes))).to.equal(true);

    const range = await fetch(`${server.url}/v1/blobs/${created.blobId}`, { headers: { range: "bytes=100-199" } });
    expect(range.status).to.equal(206);
    expect(range.headers.get("content-range")).to.equal("bytes 100-199/10000");
    expect(Buffer.from(await range.arrayBuffer()).equals(Buffer.from(bytes.subarray(100, 200)))).to.equal(true);
    const suffix = await fetch(`${server.url}/v1/blobs/${created.blobId}`, { headers: { range: "bytes=-10" } });
    expect(suffix.status).to.equal(206);
    expect(Buffer.from(await suffix.arrayBuffer()).equals(Buffer.from(bytes.subarray(9990)))).to.equal(true);
    const outside = await fetch(`${server.url}/v1/blobs/${created.blobId}`, { headers: { range: "bytes=20000-" } });
    expect(outside.status).to.equal(416);
    expect(outside.headers.get("content-range")).to.equal("bytes */10000");
    expectWalrusError(await outside.json(), 416, "INVALID_BYTE_RANGE");

    const cached = await fetch(`${server.url}/v1/blobs/${created.blobId}`, {
      headers: { "if-none-match": created.blobId },
    });
    expect(cached.status).to.equal(304);
    const quoted = await fetch(`${server.url}/v1/blobs/${created.blobId}`, {
      headers: { "if-none-match": `W/"other", "${created.blobId}"` },
    });
    expect(quoted.status).to.equal(304);
    const head = await fetch(`${server.url}/v1/blobs/${created.blobId}`, { method: "HEAD" });
    expect(head.status).to.equal(200);
    expect(head.headers.get("content-length")).to.equal("10000");

    const byObject = await fetch(`${server.url}/v1/blobs/by-object-id/${created.id}`);
    expect(byObject.status).to.equal(200);
    expect(byObject.headers.get("etag")).to.equal(created.blobId);
    expect(Buffer.from(await byObject.arrayBuffer()).equals(Buffer.from(bytes))).to.equal(true);
  });

  it("answers the Walrus error body for unknown blobs and objects", async function () {
    const unknownId = await computeBlobId(new TextEncoder().encode("never stored"), { shards: TEST_SHARDS });
    const missing = await fetch(`${server.url}/v1/blobs/${unknownId}`);
    expect(missing.status).to.equal(404);
    const body = expectWalrusError(await missing.json(), 404, "BLOB_NOT_FOUND");
    expect(body.error.status).to.equal("NOT_FOUND");
    const object = await fetch(`${server.url}/v1/blobs/by-object-id/0x${"ab".repeat(32)}`);
    expect(object.status).to.equal(404);
    expectWalrusError(await object.json(), 404, "BLOB_NOT_FOUND");
    const badObject = await fetch(`${server.url}/v1/blobs/by-object-id/0x1234`);
    expect(badObject.status).to.equal(400);
    expectWalrusError(await badObject.json(), 400, "INVALID_OBJECT_ID");
    const route = await fetch(`${server.url}/v2/nothing`);
    expect(route.status).to.equal(404);
    expectWalrusError(await route.json(), 404, "NOT_FOUND");
  });

  it("rejects every malformed Blob ID with 400 and keeps serving", async function () {
    for (const [input] of MALFORMED_BLOB_IDS) {
      if (input === "" || input.includes("/")) continue; // not a single path segment
      const res = await fetch(`${server.url}/v1/blobs/${encodeURIComponent(input)}`);
      expect(res.status, input).to.equal(400);
      const body = expectWalrusError(await res.json(), 400, "INVALID_BLOB_ID");
      expect(body.error.message).to.contain("Invalid Blob ID");
    }
    const badUrl = await fetch(`${server.url}/v1/blobs/%E0%A4%A`);
    expect(badUrl.status).to.equal(400);
    expectWalrusError(await badUrl.json(), 400, "BAD_REQUEST");
    const status = await fetch(`${server.url}/status`);
    expect(status.status).to.equal(200);
  });

  it("rejects bad store parameters with 400 and the error body", async function () {
    for (const [query, reason] of [
      ["?epochs=0", "INVALID_EPOCHS"],
      ["?epochs=54", "INVALID_EPOCHS"],
      ["?epochs=-1", "INVALID_EPOCHS"],
      ["?epochs=two", "INVALID_EPOCHS"],
      ["?epochs=1.5", "INVALID_EPOCHS"],
      ["?permanent=true&deletable=true", "INVALID_PARAMETER"],
      ["?permanent=yes", "INVALID_PARAMETER"],
      ["?send_object_to=bob", "INVALID_PARAMETER"],
    ] as const) {
      const { status, json } = await put(server.url, "x", query);
      expect(status, query).to.equal(400);
      expectWalrusError(json, 400, reason);
    }
    const deletable = await put(server.url, "deletable flag", "?deletable=true&epochs=53");
    expect(deletable.status).to.equal(200);
  });

  it("rejects a body above its maximum size with 413 and keeps serving", async function () {
    const res = await fetch(`${server.url}/v1/blobs`, { method: "PUT", body: new Uint8Array(1_000_001) });
    expect(res.status).to.equal(413);
    expect(await res.text()).to.equal("Failed to buffer the request body: length limit exceeded");
    const ok = await put(server.url, pseudoRandomBytes(1_000_000, 4));
    expect(ok.status).to.equal(200);
  });

  it("takes any content type as raw bytes, including JSON and an empty body", async function () {
    const json = '{"a":1}';
    const res = await fetch(`${server.url}/v1/blobs`, {
      method: "PUT",
      body: json,
      headers: { "content-type": "application/json" },
    });
    const created = ((await res.json()) as NewlyCreatedResponse).newlyCreated.blobObject;
    expect(created.blobId).to.equal(await computeBlobId(new TextEncoder().encode(json), { shards: TEST_SHARDS }));
    expect(created.size).to.equal(7);
    const empty = ((await put(server.url, new Uint8Array(0))).json as NewlyCreatedResponse).newlyCreated.blobObject;
    expect(empty.size).to.equal(0);
    const read = await fetch(`${server.url}/v1/blobs/${empty.blobId}`);
    expect(read.status).to.equal(200);
    expect((await read.arrayBuffer()).byteLength).to.equal(0);
  });

  it("stops serving blobs past their end epoch, as Walrus does, until they are stored again", async function () {
    const bytes = pseudoRandomBytes(2000, 5);
    const created = ((await put(server.url, bytes, "?epochs=2")).json as NewlyCreatedResponse).newlyCreated.blobObject;
    const url = `${server.url}/v1/blobs/${created.blobId}`;
    expect((await fetch(url)).status).to.equal(200);
    clockMs += EPOCH_MS; // one epoch later: endEpoch is still ahead
    expect((await fetch(url)).status).to.equal(200);
    clockMs += EPOCH_MS; // now the current epoch is endEpoch (exclusive)
    expect(server.currentEpoch()).to.equal(created.storage.endEpoch);
    const expired = await fetch(url);
    expect(expired.status).to.equal(404);
    expectWalrusError(await expired.json(), 404, "BLOB_NOT_FOUND");
    expect((await fetch(`${server.url}/v1/blobs/by-object-id/${created.id}`)).status).to.equal(404);

    const renewed = await put(server.url, bytes, "?epochs=1");
    expect(renewed.json).to.have.property("newlyCreated");
    expect((await fetch(url)).status).to.equal(200);
    const status = (await (await fetch(`${server.url}/local/status`)).json()) as { epoch: number; shards: number };
    expect(status).to.include({ epoch: server.currentEpoch(), shards: TEST_SHARDS });
  });
});

describe("Local Walrus store: persistence and concurrency", function () {
  it("keeps everything it stored across a restart", async function () {
    const { dir, cleanup } = await tempDir();
    try {
      const first = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
      const client = new WalrusClient({ publisherUrl: first.url, aggregatorUrls: [first.url], shards: TEST_SHARDS });
      const blobs = [pseudoRandomBytes(1, 10), pseudoRandomBytes(70_000, 11), pseudoRandomBytes(500_000, 12)];
      const stored = [];
      for (const bytes of blobs) stored.push(await client.store(bytes, { epochs: 7 }));
      await first.close();

      // Files are named by Blob ID, each with its record; nothing else is left behind.
      const files = (await readdir(path.join(dir, "blobs"))).sort();
      expect(files).to.deep.equal(stored.flatMap((s) => [s.blobId, `${s.blobId}.json`]).sort());
      const onDisk = await readFile(path.join(dir, "blobs", stored[1].blobId));
      expect(createHash("sha256").update(onDisk).digest("hex")).to.equal(stored[1].sha256);

      // A leftover temporary file from a crashed write is removed on start.
      await writeFile(path.join(dir, "blobs", `${stored[0].blobId}.4f2a9c`), "partial");
      const second = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
      const emptyMemo = new EncoderPool({ threads: 1 }); // reads recompute the Blob IDs
      try {
        const again = new WalrusClient({
          publisherUrl: second.url,
          aggregatorUrls: [second.url],
          shards: TEST_SHARDS,
          pool: emptyMemo,
        });
        for (const [i, s] of stored.entries()) {
          expect(Buffer.from(await again.read(s.blobId)).equals(Buffer.from(blobs[i]))).to.equal(true);
          const byObject = await fetch(`${second.url}/v1/blobs/by-object-id/${s.objectId}`);
          expect(byObject.status).to.equal(200);
        }
        const restored = await again.store(blobs[2], { epochs: 3 });
        expect(restored).to.include({ status: "alreadyCertified", endEpoch: stored[2].endEpoch });
        const fresh = await again.store(blobs[2], { epochs: 30 });
        expect(fresh.status).to.equal("newlyCreated");
        // The publisher's own object is extended in place (reuseAndExtend), as Walrus does.
        expect(fresh.objectId).to.equal(stored[2].objectId);
        expect(fresh.endEpoch).to.equal(second.currentEpoch() + 30);
        expect(await readdir(path.join(dir, "blobs"))).to.not.include(`${stored[0].blobId}.4f2a9c`);
      } finally {
        await second.close();
        await emptyMemo.close();
      }

      // The clock and the shard count belong to the directory.
      const wrongShards = await rejection(startLocalWalrus({ dir, port: 0, shards: 7 }));
      expect(wrongShards.message).to.match(/stored with 10 shards/);
      const wrongEpoch = await rejection(startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS, epochMs: 5 }));
      expect(wrongEpoch.message).to.match(/runs epochs of 86400000 ms/);
    } finally {
      await cleanup();
    }
  });

  it("skips a record whose blob file is missing or the wrong size", async function () {
    const { dir, cleanup } = await tempDir();
    try {
      const first = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
      const bytes = pseudoRandomBytes(1234, 20);
      const created = ((await put(first.url, bytes)).json as NewlyCreatedResponse).newlyCreated.blobObject;
      await first.close();
      await writeFile(path.join(dir, "blobs", created.blobId), bytes.subarray(0, 1000));
      const warnings: string[] = [];
      const second = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS, warn: (m) => warnings.push(m) });
      try {
        expect(warnings.join("\n")).to.match(/skipping blob .*1000 bytes, the record says 1234/);
        expect((await fetch(`${second.url}/v1/blobs/${created.blobId}`)).status).to.equal(404);
        // Storing it again repairs it.
        expect((await put(second.url, bytes)).json).to.have.property("newlyCreated");
        expect((await fetch(`${second.url}/v1/blobs/${created.blobId}`)).status).to.equal(200);
      } finally {
        await second.close();
      }
    } finally {
      await cleanup();
    }
  });

  it("certifies concurrent stores of the same content once, encoding it once", async function () {
    const { dir, cleanup } = await tempDir();
    const pool = new EncoderPool({ threads: 2 });
    const server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS, pool });
    try {
      const client = new WalrusClient({
        publisherUrl: server.url,
        aggregatorUrls: [server.url],
        shards: TEST_SHARDS,
        pool,
      });
      const bytes = pseudoRandomBytes(300_000, 30);
      const results = await Promise.all(Array.from({ length: 8 }, () => client.store(bytes, { epochs: 2 })));
      expect(results.filter((r) => r.status === "newlyCreated")).to.have.length(1);
      expect(results.filter((r) => r.status === "alreadyCertified")).to.have.length(7);
      expect(new Set(results.map((r) => r.blobId)).size).to.equal(1);
      expect(new Set(results.map((r) => r.endEpoch)).size).to.equal(1);
      expect(pool.stats.encoded).to.equal(1);
      expect(await readdir(path.join(dir, "blobs"))).to.have.length(2);

      // Different contents at once are all stored.
      const many = Array.from({ length: 6 }, (_, i) => pseudoRandomBytes(20_000, 40 + i));
      const ids = await Promise.all(many.map((b) => client.store(b)));
      expect(ids.every((r) => r.status === "newlyCreated")).to.equal(true);
      for (const [i, r] of ids.entries()) {
        expect(Buffer.from(await client.read(r.blobId, { sha256: r.sha256 })).equals(Buffer.from(many[i]))).to.equal(
          true,
        );
      }
    } finally {
      await server.close();
      await pool.close();
      await cleanup();
    }
  });

  it("refuses a maximum body size the encoder cannot take", async function () {
    const { dir, cleanup } = await tempDir();
    try {
      const error = await rejection(startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS, maxBlobSize: 2_000_000 }));
      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.match(/at most 1834952 bytes at 10 shards/);
    } finally {
      await cleanup();
    }
  });
});
