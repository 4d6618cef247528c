/**
 * The client's quilt calls against the local store, `@mysten/walrus`'s quilt encoder (the IDs it must agree with), and
 * publishers and aggregators that lie: another quilt ID, other patch IDs, altered patch bytes, another patch.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import path from "node:path";
import type { IncomingMessage } from "node:http";
import { BlobEncoder } from "@mysten/walrus-wasm";
import {
  BlobIntegrityError,
  BlobTooLargeError,
  InvalidQuiltError,
  PublisherMismatchError,
  QuiltPatchMismatchError,
  QuiltPatchNotFoundError,
  startLocalWalrus,
  WalrusClient,
  WalrusResponseError,
  type LocalWalrus,
  type QuiltPatchInput,
  type QuiltStoreResult,
  type WalrusClientOptions,
} from "../src";
import { pseudoRandomBytes, rejection, startHttp, tempDir, TEST_SHARDS, type TestHttpServer } from "./helpers";

interface SdkQuilts {
  encodeQuilt(args: { blobs: QuiltPatchInput[]; numShards: number }): {
    quilt: Uint8Array;
    index: { patches: { startIndex: number; endIndex: number; identifier: string }[] };
  };
  encodeQuiltPatchId(id: {
    quiltId: string;
    patchId: { version: number; startIndex: number; endIndex: number };
  }): string;
}

function sdkQuilts(): SdkQuilts {
  const file = path.join(path.dirname(require.resolve("@mysten/walrus")), "utils", "quilts.mjs");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as SdkQuilts;
}

const FAST: WalrusClientOptions = { shards: TEST_SHARDS, retries: 2, retryDelayMs: 5, maxRetryDelayMs: 20 };

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("Walrus client: quilts", function () {
  this.timeout(120_000);
  const sdk = sdkQuilts();
  let store: LocalWalrus;
  let cleanup: () => Promise<void>;
  let client: WalrusClient;
  let stored: QuiltStoreResult;
  const servers: TestHttpServer[] = [];

  const PATCHES: QuiltPatchInput[] = [
    { identifier: "proof-2", contents: pseudoRandomBytes(30_000, 11), tags: { kind: "proof" } },
    { identifier: "proof-1", contents: pseudoRandomBytes(4_000, 12) },
    { identifier: "indice-é", contents: new TextEncoder().encode('{"root":"0x00"}') },
  ];
  const byName = (identifier: string): QuiltPatchInput => {
    const found = PATCHES.find((p) => p.identifier === identifier);
    if (found === undefined) throw new Error(`no patch ${identifier}`);
    return found;
  };

  /** A server in front of the store that hands each request and the store's answer to `edit`. */
  async function proxy(
    edit: (
      req: IncomingMessage,
      upstream: { status: number; headers: Headers; body: Buffer },
    ) => {
      status?: number;
      headers?: Record<string, string>;
      body: Buffer;
    },
  ): Promise<TestHttpServer> {
    const server = await startHttp(async (req, res) => {
      const sent = await body(req);
      const contentType = req.headers["content-type"];
      const init: RequestInit = { method: req.method, headers: contentType ? { "content-type": contentType } : {} };
      if (sent.length > 0) init.body = sent;
      const upstream = await fetch(`${store.url}${req.url ?? "/"}`, init);
      const answer = edit(req, {
        status: upstream.status,
        headers: upstream.headers,
        body: Buffer.from(await upstream.arrayBuffer()),
      });
      const headers: Record<string, string> = {};
      for (const name of ["content-type", "x-quilt-patch-identifier", "etag"]) {
        const value = upstream.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      res.writeHead(answer.status ?? upstream.status, { ...headers, ...answer.headers });
      res.end(answer.body);
    });
    servers.push(server);
    return server;
  }

  before(async function () {
    const temp = await tempDir();
    cleanup = temp.cleanup;
    store = await startLocalWalrus({ dir: temp.dir, port: 0, shards: TEST_SHARDS });
    client = new WalrusClient({ ...FAST, publisherUrl: store.url, aggregatorUrls: [store.url] });
    stored = await client.storeQuilt(PATCHES, { epochs: 3 });
  });

  after(async function () {
    for (const server of servers) await server.close();
    await store.close();
    await cleanup();
  });

  it("stores a quilt whose quilt ID and patch IDs are the SDK's for the same files", function () {
    const theirs = sdk.encodeQuilt({ blobs: PATCHES, numShards: TEST_SHARDS });
    const [id] = new BlobEncoder(TEST_SHARDS).compute_metadata(theirs.quilt) as [number[]];
    const quiltId = Buffer.from(id).toString("base64url");
    expect(stored.blobId).to.equal(quiltId);
    expect(stored.quiltBytes).to.equal(theirs.quilt.length);
    expect(stored.size).to.equal(theirs.quilt.length);
    expect(stored.status).to.equal("newlyCreated");
    expect(stored.patches.map((p) => [p.identifier, p.patchId])).to.deep.equal(
      theirs.index.patches.map((p) => [
        p.identifier,
        sdk.encodeQuiltPatchId({ quiltId, patchId: { version: 1, startIndex: p.startIndex, endIndex: p.endIndex } }),
      ]),
    );
    expect(stored.patches.find((p) => p.identifier === "proof-2")?.tags).to.deep.equal({ kind: "proof" });
  });

  it("reads a patch by patch ID against its sha256, reporting the bytes fetched", async function () {
    for (const patch of stored.patches) {
      const contents = byName(patch.identifier).contents;
      const read = await client.readPatch(patch.patchId, { sha256: sha256(contents) });
      expect(Buffer.from(read.bytes)).to.deep.equal(Buffer.from(contents));
      expect(read.fetchedBytes).to.equal(contents.length);
      expect(read.integrity).to.equal("sha256");
      expect(read.patchId).to.equal(patch.patchId);
      // The aggregator names the patch unless its identifier cannot be a header value.
      expect(read.identifier).to.equal(/^[\x20-\x7e]*$/.test(patch.identifier) ? patch.identifier : "");
    }
  });

  it("reads a patch by quilt ID and identifier with the caller's verify, given the identifier asked for", async function () {
    const seen: string[] = [];
    for (const patch of PATCHES) {
      const read = await client.readPatch(
        { quiltId: stored.blobId, identifier: patch.identifier },
        {
          verify: (bytes, identifier) => {
            seen.push(identifier);
            if (sha256(bytes) !== sha256(patch.contents)) throw new Error("not the expected patch");
          },
        },
      );
      expect(read.integrity).to.equal("verify");
      expect(read.identifier).to.equal(patch.identifier);
    }
    expect(seen).to.deep.equal(PATCHES.map((p) => p.identifier));
  });

  it("reads a patch out of the whole quilt verified by its Blob ID", async function () {
    const patch = stored.patches[1];
    const read = await client.readPatch(patch.patchId, { wholeQuilt: true });
    expect(Buffer.from(read.bytes)).to.deep.equal(Buffer.from(byName(patch.identifier).contents));
    expect(read.fetchedBytes).to.equal(stored.quiltBytes);
    expect(read.integrity).to.equal("whole-quilt");
    expect(read.identifier).to.equal(patch.identifier);
    const byId = await client.readPatch({ quiltId: stored.blobId, identifier: "indice-é" }, { wholeQuilt: true });
    expect(byId.patchId).to.equal(stored.patches.find((p) => p.identifier === "indice-é")?.patchId);
  });

  it("needs exactly one integrity check", async function () {
    const id = stored.patches[0].patchId;
    const none = await rejection(client.readPatch(id, {} as never));
    expect(none).to.be.instanceOf(TypeError);
    expect(none.message).to.match(/exactly one integrity check.*got none/);
    const two = await rejection(client.readPatch(id, { sha256: "0".repeat(64), wholeQuilt: true } as never));
    expect(two.message).to.match(/got sha256 and whole-quilt/);
  });

  it("refuses a patch whose sha256 differs, and a verify that throws", async function () {
    const id = stored.patches[0].patchId;
    const wrong = await rejection(client.readPatch(id, { sha256: "ab".repeat(32) }));
    expect(wrong).to.be.instanceOf(BlobIntegrityError);
    expect((wrong as BlobIntegrityError).failure).to.equal("sha256");
    const refused = await rejection(
      client.readPatch(id, {
        verify: () => {
          throw new Error("commitment mismatch");
        },
      }),
    );
    expect((refused as BlobIntegrityError).failure).to.equal("verify");
    expect(refused.message).to.contain("commitment mismatch");
  });

  it("answers QuiltPatchNotFoundError for an identifier the quilt does not hold", async function () {
    const error = await rejection(
      client.readPatch({ quiltId: stored.blobId, identifier: "proof-3" }, { sha256: "0".repeat(64) }),
    );
    expect(error).to.be.instanceOf(QuiltPatchNotFoundError);
  });

  it("stops a patch read at maxBytes, announced or streamed", async function () {
    const patch = stored.patches.find((p) => p.identifier === "proof-2");
    if (patch === undefined) throw new Error("no proof-2");
    const announced = await rejection(client.readPatch(patch.patchId, { sha256: "0".repeat(64), maxBytes: 1000 }));
    expect(announced).to.be.instanceOf(BlobTooLargeError);
    const chunked = await startHttp(async (req, res) => {
      const upstream = await fetch(`${store.url}${req.url ?? "/"}`);
      const bytes = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(200, { "transfer-encoding": "chunked", "x-quilt-patch-identifier": "proof-2" });
      for (let i = 0; i < bytes.length; i += 500) res.write(bytes.subarray(i, i + 500));
      res.end();
    });
    servers.push(chunked);
    const c = new WalrusClient({ ...FAST, aggregatorUrls: [chunked.url] });
    const streamed = await rejection(c.readPatch(patch.patchId, { sha256: "0".repeat(64), maxBytes: 1000 }));
    expect(streamed).to.be.instanceOf(BlobTooLargeError);
  });

  it("lists the patches (their unverified positions) as the store lists them", async function () {
    const listed = await client.listPatches(stored.blobId);
    expect(listed.map((p) => [p.identifier, p.patchId, p.startIndex, p.endIndex])).to.deep.equal(
      stored.patches.map((p) => [p.identifier, p.patchId, p.startIndex, p.endIndex]),
    );
    expect(listed.find((p) => p.identifier === "proof-2")?.tags).to.deep.equal({ kind: "proof" });
  });

  it("reads a byte range verified against its sha256", async function () {
    const whole = await client.read(stored.blobId);
    const range = await client.readRange(stored.blobId, 10, 500, { sha256: sha256(whole.subarray(10, 510)) });
    expect(Buffer.from(range.bytes)).to.deep.equal(Buffer.from(whole.subarray(10, 510)));
    expect(range.fetchedBytes).to.equal(500);
    const wrong = await rejection(client.readRange(stored.blobId, 10, 500, { sha256: "cd".repeat(32) }));
    expect(wrong).to.be.instanceOf(BlobIntegrityError);
  });

  it("refuses an identifier a multipart upload cannot carry, before any request", async function () {
    const error = await rejection(client.storeQuilt([{ identifier: 'say "hi"', contents: new Uint8Array(1) }]));
    expect(error).to.be.instanceOf(InvalidQuiltError);
    expect((error as InvalidQuiltError).problem).to.equal("identifier-not-sendable");
  });

  describe("against a lying publisher", function () {
    const other = [{ identifier: "solo", contents: pseudoRandomBytes(700, 99) }];

    async function lyingStore(edit: (answer: Record<string, unknown>) => void): Promise<Error> {
      const liar = await proxy((_req, upstream) => {
        const answer = JSON.parse(upstream.body.toString("utf8")) as Record<string, unknown>;
        edit(answer);
        return { body: Buffer.from(JSON.stringify(answer)), headers: { "content-type": "application/json" } };
      });
      const c = new WalrusClient({ ...FAST, publisherUrl: liar.url });
      return rejection(c.storeQuilt(other));
    }

    it("refuses another quilt ID with PublisherMismatchError", async function () {
      const error = await lyingStore((answer) => {
        const result = answer.blobStoreResult as { newlyCreated: { blobObject: { blobId: string } } };
        result.newlyCreated.blobObject.blobId = stored.blobId;
      });
      expect(error).to.be.instanceOf(PublisherMismatchError);
      expect(error).to.include({ publisherBlobId: stored.blobId, code: "PUBLISHER_MISMATCH" });
    });

    it("refuses another patch ID with QuiltPatchMismatchError", async function () {
      const error = await lyingStore((answer) => {
        (answer.storedQuiltBlobs as { quiltPatchId: string }[])[0].quiltPatchId = stored.patches[0].patchId;
      });
      expect(error).to.be.instanceOf(QuiltPatchMismatchError);
      expect(error).to.include({ identifier: "solo", publisherPatchId: stored.patches[0].patchId });
      expect((error as QuiltPatchMismatchError).code).to.equal("PUBLISHER_MISMATCH");
    });

    it("refuses an answer missing a patch or naming one not sent", async function () {
      const missing = await lyingStore((answer) => {
        answer.storedQuiltBlobs = [];
      });
      expect(missing).to.be.instanceOf(QuiltPatchMismatchError);
      const extra = await lyingStore((answer) => {
        (answer.storedQuiltBlobs as unknown[]).push({ identifier: "ghost", quiltPatchId: stored.patches[0].patchId });
      });
      expect(extra).to.be.instanceOf(QuiltPatchMismatchError);
      expect((extra as QuiltPatchMismatchError).identifier).to.equal("ghost");
      const shapeless = await lyingStore((answer) => {
        delete answer.storedQuiltBlobs;
      });
      expect(shapeless).to.be.instanceOf(WalrusResponseError);
    });
  });

  describe("against a corrupting aggregator", function () {
    it("refuses altered patch bytes, and takes them from the next aggregator", async function () {
      const patch = stored.patches[0];
      const contents = byName(patch.identifier).contents;
      const flipper = await proxy((_req, upstream) => {
        const altered = Buffer.from(upstream.body);
        if (altered.length > 0) altered[altered.length >> 1] ^= 1;
        return { body: altered };
      });
      const alone = new WalrusClient({ ...FAST, aggregatorUrls: [flipper.url] });
      const error = await rejection(alone.readPatch(patch.patchId, { sha256: sha256(contents) }));
      expect(error).to.be.instanceOf(BlobIntegrityError);
      const verified = await rejection(
        alone.readPatch(patch.patchId, {
          verify: (bytes) => {
            if (sha256(bytes) !== sha256(contents)) throw new Error("bytes differ from the commitment");
          },
        }),
      );
      expect((verified as BlobIntegrityError).failure).to.equal("verify");
      const withBackup = new WalrusClient({ ...FAST, aggregatorUrls: [flipper.url, store.url] });
      const read = await withBackup.readPatch(patch.patchId, { sha256: sha256(contents) });
      expect(Buffer.from(read.bytes)).to.deep.equal(Buffer.from(contents));
    });

    it("refuses another patch served for the identifier asked for", async function () {
      const swapper = await proxy((req, upstream) => {
        if (req.url?.includes("/by-quilt-id/") === true && req.url.endsWith("/proof-1")) {
          return { body: Buffer.from(byName("proof-2").contents), headers: { "x-quilt-patch-identifier": "proof-2" } };
        }
        return { body: upstream.body };
      });
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [swapper.url] });
      const error = await rejection(
        c.readPatch({ quiltId: stored.blobId, identifier: "proof-1" }, { verify: () => undefined }),
      );
      expect(error).to.be.instanceOf(BlobIntegrityError);
      expect((error as BlobIntegrityError).failure).to.equal("identifier");
    });

    it("refuses a patch listing whose patch IDs name another quilt", async function () {
      const liar = await proxy((_req, upstream) => {
        const list = JSON.parse(upstream.body.toString("utf8")) as { patch_id: string }[];
        list[0].patch_id = `${"A".repeat(42)}A${list[0].patch_id.slice(43)}`;
        return { body: Buffer.from(JSON.stringify(list)) };
      });
      const c = new WalrusClient({ ...FAST, aggregatorUrls: [liar.url] });
      const error = await rejection(c.listPatches(stored.blobId));
      expect(error).to.be.instanceOf(WalrusResponseError);
    });
  });
});
