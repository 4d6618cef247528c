import { expect } from "chai";
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import path from "node:path";
import { BlobEncoder } from "@mysten/walrus-wasm";
import {
  blobId,
  blobMetadataOfFile,
  BlobTooLargeError,
  EncoderPool,
  MAX_WASM_BLOB_SIZE,
  maxBlobSize,
  sha256File,
  sha256Hex,
} from "../src";
import { pseudoRandomBytes, rejection, tempDir, TEST_SHARDS } from "./helpers";

/** The Walrus Rust test suite's known answer (walrus-core, 10 shards). */
const KNOWN_INPUT = "walrus blob id v1 regression test";
const KNOWN_BLOB_ID = "RcU82Mwf-CFkv1LaI_2qcpANwpGUuG3TMwnVzZxD2kY";

describe("Blob ID encoder pool", function () {
  let pool: EncoderPool;

  before(function () {
    pool = new EncoderPool({ threads: 2 });
  });

  after(async function () {
    await pool.close();
  });

  it("gives the Walrus known answer for 10 shards", async function () {
    const id = await blobId(new TextEncoder().encode(KNOWN_INPUT), { shards: 10 });
    expect(id).to.equal(KNOWN_BLOB_ID);
    const metadata = await pool.computeMetadata(Buffer.from(KNOWN_INPUT), { shards: 10 });
    expect(metadata).to.include({ blobId: KNOWN_BLOB_ID, size: 33, encodingType: "RS2", shards: 10 });
    expect(metadata.sha256).to.equal(createHash("sha256").update(KNOWN_INPUT).digest("hex"));
    expect(metadata.rootHash).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("computes what the wasm encoder computes in-thread, for several sizes and shard counts", async function () {
    for (const [size, shards] of [
      [0, 4],
      [1, 7],
      [1000, TEST_SHARDS],
      [maxBlobSize(TEST_SHARDS), TEST_SHARDS],
      [70_000, 100],
    ] as const) {
      const bytes = pseudoRandomBytes(size, size + shards);
      const direct = new BlobEncoder(shards).compute_metadata(bytes) as [number[], unknown, number, string];
      const expected = Buffer.from(direct[0]).toString("base64url");
      expect(await pool.computeBlobId(bytes, { shards }), `${size} bytes, ${shards} shards`).to.equal(expected);
    }
  });

  it("never encodes the same content twice, and joins concurrent requests for it", async function () {
    const bytes = pseudoRandomBytes(5000, 42);
    const before = pool.stats;
    const ids = await Promise.all(Array.from({ length: 6 }, () => pool.computeBlobId(bytes, { shards: TEST_SHARDS })));
    const again = await pool.computeBlobId(Buffer.from(bytes), { shards: TEST_SHARDS });
    const after = pool.stats;
    expect(new Set([...ids, again]).size).to.equal(1);
    expect(after.encoded - before.encoded).to.equal(1);
    expect(after.joined - before.joined).to.equal(5);
    expect(after.memoHits - before.memoHits).to.equal(1);
    expect(pool.lookup(await sha256Hex(bytes), TEST_SHARDS)?.blobId).to.equal(again);
    // The memo is per shard count: the same bytes over 7 shards are another Blob ID.
    expect(await pool.computeBlobId(bytes, { shards: 7 })).to.not.equal(again);
  });

  it("hands an owned buffer to the worker without a copy and gets it back intact", async function () {
    const original = pseudoRandomBytes(200_000, 7);
    const owned = new Uint8Array(original);
    const { metadata, bytes } = await pool.computeMetadataOwned(owned, { shards: TEST_SHARDS });
    expect(owned.byteLength, "the caller's view was transferred").to.equal(0);
    expect(Buffer.from(bytes).equals(Buffer.from(original))).to.equal(true);
    expect(metadata.blobId).to.equal(await pool.computeBlobId(original, { shards: TEST_SHARDS }));

    // A view into a larger buffer is copied instead, and the caller's buffer is left alone.
    const backing = pseudoRandomBytes(300_000, 8);
    const view = backing.subarray(1000, 201_000);
    const result = await pool.computeMetadataOwned(view, { shards: TEST_SHARDS });
    expect(view.byteLength).to.equal(200_000);
    expect(result.bytes).to.equal(view);
  });

  it("computes distinct blobs in parallel with the same results as one by one", async function () {
    const blobs = Array.from({ length: 6 }, (_, i) => pseudoRandomBytes(50_000 + i, 100 + i));
    const serial = new EncoderPool({ threads: 1 });
    try {
      const one: string[] = [];
      for (const b of blobs) one.push(await serial.computeBlobId(b, { shards: 100 }));
      const parallel = await Promise.all(blobs.map((b) => pool.computeBlobId(b, { shards: 100 })));
      expect(parallel).to.deep.equal(one);
    } finally {
      await serial.close();
    }
  });

  it("keeps the event loop free while a 1000-shard Blob ID is computed", async function () {
    const gaps: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 10);
    const started = performance.now();
    try {
      const id = await pool.computeBlobId(pseudoRandomBytes(100_000, 1000), { shards: 1000 });
      expect(id).to.have.length(43);
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - started;
    expect(elapsed, "the 1000-shard encoding takes real time").to.be.greaterThan(300);
    expect(gaps.length).to.be.greaterThan(elapsed / 40);
    expect(Math.max(...gaps), "longest event-loop stall (ms)").to.be.lessThan(200);
  });

  it("rejects a blob above the encoder's limit up front with BlobTooLargeError", async function () {
    const before = pool.stats.encoded;
    const limit = maxBlobSize(TEST_SHARDS);
    const error = await rejection(pool.computeBlobId(new Uint8Array(limit + 1), { shards: TEST_SHARDS }));
    expect(error).to.be.instanceOf(BlobTooLargeError);
    expect((error as BlobTooLargeError).size).to.equal(limit + 1);
    expect((error as BlobTooLargeError).limit).to.equal(limit);
    expect(error.message).to.match(/with 10 shards RedStuff encodes at most 1834952 bytes/);
    expect(pool.stats.encoded).to.equal(before);
  });

  it("rejects a file above the wasm's 1 GiB before reading it", async function () {
    const { dir, cleanup } = await tempDir();
    try {
      const file = path.join(dir, "huge.bin");
      const handle = await open(file, "w");
      await handle.truncate(MAX_WASM_BLOB_SIZE + 1); // sparse: no disk or memory is used
      await handle.close();
      const started = performance.now();
      const error = await rejection(blobMetadataOfFile(file, { pool }));
      expect(error).to.be.instanceOf(BlobTooLargeError);
      expect(error.message).to.match(/32-bit wasm\) takes at most 1073741824 bytes/);
      expect(performance.now() - started).to.be.lessThan(1000);
    } finally {
      await cleanup();
    }
  });

  it("rejects a shard count the encoder cannot take", async function () {
    expect(await rejection(pool.computeBlobId(new Uint8Array(1), { shards: 3 }))).to.be.instanceOf(RangeError);
    expect(await rejection(pool.computeBlobId(new Uint8Array(1), { shards: 0 }))).to.be.instanceOf(RangeError);
  });

  it("stops waiting when the caller aborts, and still memoizes the result", async function () {
    const bytes = pseudoRandomBytes(10_000, 555);
    const controller = new AbortController();
    const pending = pool.computeBlobId(bytes, { shards: 100, signal: controller.signal });
    controller.abort(new Error("caller gave up"));
    expect((await rejection(pending)).message).to.equal("caller gave up");
    const before = pool.stats.encoded;
    await pool.computeBlobId(bytes, { shards: 100 });
    expect(pool.stats.encoded).to.equal(before);
  });

  it("computes the metadata of a file, and its sha256 by streaming", async function () {
    const { dir, cleanup } = await tempDir();
    try {
      const bytes = pseudoRandomBytes(3 * 1024 * 1024 + 5, 9);
      const file = path.join(dir, "f.bin");
      const handle = await open(file, "w");
      await handle.write(bytes);
      await handle.close();
      expect(await sha256File(file)).to.deep.equal({
        sha256: createHash("sha256").update(bytes).digest("hex"),
        size: bytes.length,
      });
      const metadata = await blobMetadataOfFile(file, { pool, shards: 1000 });
      expect(metadata.sha256).to.equal(createHash("sha256").update(bytes).digest("hex"));
      expect(metadata.size).to.equal(bytes.length);
      expect(metadata.blobId).to.equal(await pool.computeBlobId(bytes, { shards: 1000 }));
    } finally {
      await cleanup();
    }
  });
});
