/**
 * The local store's quilt routes against the Walrus specs (publisher and aggregator OpenAPI, the daemon's routes) and
 * against `@mysten/walrus`'s quilt encoder: the quilt a form stores is the SDK's quilt of the same files.
 */
import { expect } from "chai";
import path from "node:path";
import { BlobEncoder } from "@mysten/walrus-wasm";
import { startLocalWalrus, type LocalWalrus, type NewlyCreatedResponse, type WalrusErrorBody } from "../src";
import { pseudoRandomBytes, tempDir, TEST_SHARDS } from "./helpers";

interface SdkQuilts {
  encodeQuilt(args: {
    blobs: { identifier: string; contents: Uint8Array; tags?: Record<string, string> }[];
    numShards: number;
  }): {
    quilt: Uint8Array;
    index: { patches: { startIndex: number; endIndex: number; identifier: string; tags: Record<string, string> }[] };
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

function wasmBlobId(bytes: Uint8Array, shards: number): string {
  const [id] = new BlobEncoder(shards).compute_metadata(bytes) as [number[], unknown, number, string];
  return Buffer.from(id).toString("base64url");
}

interface FormPatch {
  identifier: string;
  contents: Uint8Array;
  tags?: Record<string, string>;
}

function form(patches: FormPatch[], metadata?: unknown): FormData {
  const data = new FormData();
  for (const p of patches) data.append(p.identifier, new Blob([p.contents]), p.identifier);
  const meta =
    metadata ?? patches.filter((p) => p.tags !== undefined).map((p) => ({ identifier: p.identifier, tags: p.tags }));
  if (Array.isArray(meta) ? meta.length > 0 : metadata !== undefined) {
    data.append("_metadata", typeof meta === "string" ? meta : JSON.stringify(meta));
  }
  return data;
}

async function putQuilt(
  url: string,
  body: FormData | string,
  query = "?epochs=2",
): Promise<{ status: number; json: unknown; text: string }> {
  const res = await fetch(`${url}/v1/quilts${query}`, { method: "PUT", body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

function expectWalrusError(json: unknown, code: number, reason: string): WalrusErrorBody {
  const body = json as WalrusErrorBody;
  expect(body?.error?.code, JSON.stringify(json)).to.equal(code);
  expect(body.error.details[0]).to.include({ "@type": "ErrorInfo", reason });
  expect(body.error.message).to.be.a("string").and.not.equal("");
  return body;
}

interface QuiltStoreAnswer {
  blobStoreResult: NewlyCreatedResponse | { alreadyCertified: { blobId: string; endEpoch: number } };
  storedQuiltBlobs: { identifier: string; quiltPatchId: string }[];
}

describe("Local Walrus store: quilt routes", function () {
  this.timeout(120_000);
  const sdk = sdkQuilts();
  let server: LocalWalrus;
  let dir: string;
  let cleanup: () => Promise<void>;
  const MAX = 1_000_000;

  const PATCHES: FormPatch[] = [
    { identifier: "proof-b.bin", contents: pseudoRandomBytes(5000, 1), tags: { kind: "proof", n: "2" } },
    { identifier: "données/été.json", contents: new TextEncoder().encode('{"a":1}') },
    { identifier: "proof-a.bin", contents: pseudoRandomBytes(20_000, 2) },
    { identifier: "empty", contents: new Uint8Array(0), tags: { note: "nothing" } },
  ];
  const sdkQuilt = sdk.encodeQuilt({ blobs: PATCHES, numShards: TEST_SHARDS });
  let quiltId: string;
  let stored: QuiltStoreAnswer;

  async function start(): Promise<void> {
    server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS, maxBlobSize: MAX });
  }

  before(async function () {
    const temp = await tempDir();
    dir = temp.dir;
    cleanup = temp.cleanup;
    await start();
    const { status, json } = await putQuilt(server.url, form(PATCHES));
    expect(status, JSON.stringify(json)).to.equal(200);
    stored = json as QuiltStoreAnswer;
    quiltId = wasmBlobId(sdkQuilt.quilt, TEST_SHARDS);
  });

  after(async function () {
    await server.close();
    await cleanup();
  });

  it("stores a multipart form as the SDK's quilt and answers blobStoreResult and storedQuiltBlobs", function () {
    expect(Object.keys(stored).sort()).to.deep.equal(["blobStoreResult", "storedQuiltBlobs"]);
    const created = (stored.blobStoreResult as NewlyCreatedResponse).newlyCreated;
    expect(created.blobObject.blobId).to.equal(quiltId);
    expect(created.blobObject.size).to.equal(sdkQuilt.quilt.length);
    expect(created.blobObject.storage.endEpoch).to.equal(server.currentEpoch() + 2);
    expect(stored.storedQuiltBlobs).to.deep.equal(
      sdkQuilt.index.patches.map((p) => ({
        identifier: p.identifier,
        quiltPatchId: sdk.encodeQuiltPatchId({
          quiltId,
          patchId: { version: 1, startIndex: p.startIndex, endIndex: p.endIndex },
        }),
      })),
    );
  });

  it("serves the quilt as an ordinary blob: GET /v1/blobs/{quiltId} gives the SDK's bytes", async function () {
    const res = await fetch(`${server.url}/v1/blobs/${quiltId}`);
    expect(res.status).to.equal(200);
    expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), Buffer.from(sdkQuilt.quilt))).to.equal(0);
  });

  it("reads a patch by its patch ID, with X-Quilt-Patch-Identifier and the quilt ID as ETag", async function () {
    for (const { identifier, quiltPatchId } of stored.storedQuiltBlobs) {
      const res = await fetch(`${server.url}/v1/blobs/by-quilt-patch-id/${quiltPatchId}`);
      expect(res.status, identifier).to.equal(200);
      const patch = PATCHES.find((p) => p.identifier === identifier);
      expect(Buffer.from(await res.arrayBuffer())).to.deep.equal(Buffer.from(patch?.contents ?? []));
      expect(res.headers.get("etag")).to.equal(quiltId);
      expect(res.headers.get("content-type")).to.equal("application/octet-stream");
      expect(res.headers.get("x-content-type-options")).to.equal("nosniff");
      // An identifier that cannot be a header value gets no header, as the daemon leaves it out.
      expect(res.headers.get("x-quilt-patch-identifier")).to.equal(
        /^[\x20-\x7e]*$/.test(identifier) ? identifier : null,
      );
    }
  });

  it("reads a patch by quilt ID and identifier, the identifier percent-encoded", async function () {
    for (const patch of PATCHES) {
      const res = await fetch(`${server.url}/v1/blobs/by-quilt-id/${quiltId}/${encodeURIComponent(patch.identifier)}`);
      expect(res.status, patch.identifier).to.equal(200);
      expect(Buffer.from(await res.arrayBuffer())).to.deep.equal(Buffer.from(patch.contents));
      expect(res.headers.get("etag")).to.equal(quiltId);
    }
  });

  it("lists the patches as the daemon's QuiltPatchItem: identifier, patch_id, tags", async function () {
    const res = await fetch(`${server.url}/v1/quilts/${quiltId}/patches`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal(
      sdkQuilt.index.patches.map((p) => ({
        identifier: p.identifier,
        patch_id: stored.storedQuiltBlobs.find((s) => s.identifier === p.identifier)?.quiltPatchId,
        tags: PATCHES.find((x) => x.identifier === p.identifier)?.tags ?? {},
      })),
    );
  });

  it("reads a byte range with 200 and ETag <blobId>-<start>-<length>", async function () {
    const res = await fetch(`${server.url}/v1/blobs/${quiltId}/byte-range?start=100&length=5000`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("etag")).to.equal(`${quiltId}-100-5000`);
    expect(Buffer.from(await res.arrayBuffer())).to.deep.equal(Buffer.from(sdkQuilt.quilt.subarray(100, 5100)));
  });

  const BAD_RANGES: [string, number, string][] = [
    ["start=0&length=0", 400, "INVALID_BYTE_RANGE"],
    ["start=0", 400, "INVALID_BYTE_RANGE"],
    ["length=4", 400, "INVALID_BYTE_RANGE"],
    ["start=-1&length=4", 400, "INVALID_BYTE_RANGE"],
    ["start=x&length=4", 400, "INVALID_BYTE_RANGE"],
    ["start=9007199254740991&length=4", 400, "INVALID_BYTE_RANGE"],
    ["start=0&length=999999999", 400, "INVALID_BYTE_RANGE"],
    ["start=0&length=4&extra=1", 400, "INVALID_QUERY_PARAMETERS"],
  ];
  for (const [query, status, reason] of BAD_RANGES) {
    it(`refuses the byte range ${query} with ${status} ${reason}`, async function () {
      const res = await fetch(`${server.url}/v1/blobs/${quiltId}/byte-range?${query}`);
      expect(res.status).to.equal(status);
      expectWalrusError(await res.json(), status, reason);
    });
  }

  it("keeps tags from _metadata, non-string values as their JSON text", async function () {
    const patches = [{ identifier: "t1", contents: pseudoRandomBytes(10, 9) }];
    const { status, json } = await putQuilt(
      server.url,
      form(patches, [
        { identifier: "t1", tags: { n: 3, ok: true, s: "text" } },
        { identifier: "absent", tags: { x: "y" } },
      ]),
    );
    expect(status, JSON.stringify(json)).to.equal(200);
    const id = (json as QuiltStoreAnswer).storedQuiltBlobs[0].quiltPatchId.slice(0, 43);
    const list = (await (await fetch(`${server.url}/v1/quilts/${id}/patches`)).json()) as { tags: object }[];
    expect(list[0].tags).to.deep.equal({ n: "3", ok: "true", s: "text" });
  });

  it("answers a quilt already stored with alreadyCertified and the same patch IDs", async function () {
    const { status, json } = await putQuilt(server.url, form(PATCHES), "?epochs=1");
    expect(status).to.equal(200);
    const again = json as QuiltStoreAnswer;
    expect(again.blobStoreResult).to.have.property("alreadyCertified");
    expect(again.storedQuiltBlobs).to.deep.equal(stored.storedQuiltBlobs);
  });

  const BAD_FORMS: [string, () => FormData | string, string, string][] = [
    ["a body that is not multipart", () => "plain text", "", "MALFORMED_REQUEST"],
    ["a form without files", () => form([], [{ identifier: "x", tags: {} }]), "", "MALFORMED_REQUEST"],
    [
      "an identifier starting with _",
      () => form([{ identifier: "_x", contents: new Uint8Array(1) }]),
      "",
      "MALFORMED_REQUEST",
    ],
    [
      "a duplicate identifier",
      () =>
        form([
          { identifier: "a", contents: new Uint8Array(1) },
          { identifier: "a", contents: new Uint8Array(2) },
        ]),
      "",
      "MALFORMED_REQUEST",
    ],
    [
      "_metadata that is not JSON",
      () => form([{ identifier: "a", contents: new Uint8Array(1) }], "{nope"),
      "",
      "MALFORMED_REQUEST",
    ],
    [
      "_metadata naming an identifier twice",
      () => form([{ identifier: "a", contents: new Uint8Array(1) }], [{ identifier: "a" }, { identifier: "a" }]),
      "",
      "MALFORMED_REQUEST",
    ],
    [
      "more patches than a quilt holds",
      () => form(Array.from({ length: 7 }, (_, i) => ({ identifier: `p${i}`, contents: new Uint8Array(1) }))),
      "",
      "MALFORMED_REQUEST",
    ],
    [
      "an unknown query parameter",
      () => form([{ identifier: "a", contents: new Uint8Array(1) }]),
      "?epochs=2&colour=red",
      "INVALID_QUERY_PARAMETERS",
    ],
    ["0 epochs", () => form([{ identifier: "a", contents: new Uint8Array(1) }]), "?epochs=0", "INVALID_EPOCHS"],
  ];
  for (const [what, body, query, reason] of BAD_FORMS) {
    it(`refuses ${what} with 400 ${reason}`, async function () {
      const { status, json, text } = await putQuilt(server.url, body(), query === "" ? undefined : query);
      expect(status, text).to.equal(400);
      expectWalrusError(json, 400, reason);
    });
  }

  it("refuses a quilt whose encoding is above the store's limit with the blob route's 413", async function () {
    // 900 KB of files, but six patches of 150 KB need six columns of 150 KB: a quilt of about 1.05 MB.
    const patches = Array.from({ length: 6 }, (_, i) => ({
      identifier: `big${i}`,
      contents: pseudoRandomBytes(150_000, 40 + i),
    }));
    const { status, text } = await putQuilt(server.url, form(patches));
    expect(status).to.equal(413);
    const blob = await fetch(`${server.url}/v1/blobs`, { method: "PUT", body: new Uint8Array(MAX + 1) });
    expect(blob.status).to.equal(413);
    expect(text).to.equal(await blob.text());
  });

  it("answers 404 QUILT_PATCH_NOT_FOUND for a missing identifier, other columns, or a blob that is no quilt", async function () {
    const missing = await fetch(`${server.url}/v1/blobs/by-quilt-id/${quiltId}/nope`);
    expectWalrusError(await missing.json(), 404, "QUILT_PATCH_NOT_FOUND");
    const first = stored.storedQuiltBlobs[0].quiltPatchId;
    const bytes = Buffer.from(first, "base64url");
    bytes.writeUInt16LE(bytes.readUInt16LE(35) + 1, 35);
    const shifted = await fetch(`${server.url}/v1/blobs/by-quilt-patch-id/${bytes.toString("base64url")}`);
    expectWalrusError(await shifted.json(), 404, "QUILT_PATCH_NOT_FOUND");
    const plain = (await (
      await fetch(`${server.url}/v1/blobs`, { method: "PUT", body: "not a quilt" })
    ).json()) as NewlyCreatedResponse;
    const notQuilt = await fetch(`${server.url}/v1/quilts/${plain.newlyCreated.blobObject.blobId}/patches`);
    expectWalrusError(await notQuilt.json(), 404, "QUILT_PATCH_NOT_FOUND");
  });

  it("answers 400 for a malformed patch ID or quilt ID, 404 BLOB_NOT_FOUND for an unknown quilt", async function () {
    expectWalrusError(
      await (await fetch(`${server.url}/v1/blobs/by-quilt-patch-id/short`)).json(),
      400,
      "INVALID_QUILT_PATCH_ID",
    );
    expectWalrusError(await (await fetch(`${server.url}/v1/quilts/nope/patches`)).json(), 400, "INVALID_BLOB_ID");
    const unknown = `${"A".repeat(42)}A`;
    expectWalrusError(await (await fetch(`${server.url}/v1/quilts/${unknown}/patches`)).json(), 404, "BLOB_NOT_FOUND");
    expectWalrusError(
      await (await fetch(`${server.url}/v1/blobs/by-quilt-id/${unknown}/x`)).json(),
      404,
      "BLOB_NOT_FOUND",
    );
  });

  it("answers 405 with Allow for another method on a quilt route", async function () {
    const res = await fetch(`${server.url}/v1/quilts`, { method: "POST", body: "x" });
    expect(res.status).to.equal(405);
    expect(res.headers.get("allow")).to.equal("PUT");
    const list = await fetch(`${server.url}/v1/quilts/${quiltId}/patches`, { method: "DELETE" });
    expect(list.status).to.equal(405);
  });

  it("keeps quilts across a restart: the patches read back from the same directory", async function () {
    await server.close();
    await start();
    for (const { identifier, quiltPatchId } of stored.storedQuiltBlobs) {
      const res = await fetch(`${server.url}/v1/blobs/by-quilt-patch-id/${quiltPatchId}`);
      expect(res.status).to.equal(200);
      const patch = PATCHES.find((p) => p.identifier === identifier);
      expect(Buffer.from(await res.arrayBuffer())).to.deep.equal(Buffer.from(patch?.contents ?? []));
    }
  });
});
