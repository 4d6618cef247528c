import { expect } from "chai";
import { truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  startLocalWalrus,
  WalrusClient,
  WalrusHttpError,
  type LocalWalrus,
  type NewlyCreatedResponse,
  type WalrusErrorBody,
} from "../src";
import { pseudoRandomBytes, rejection, tempDir, TEST_SHARDS } from "./helpers";

/** The Walrus error body, checked to carry a status/code pair the Walrus daemon itself uses. */
const REAL_PAIRS: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  SIZE_EXCEEDED: 403,
  NOT_FOUND: 404,
  RANGE_NOT_SATISFIABLE: 416,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE_FOR_LEGAL_REASONS: 451,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

function expectDaemonError(json: unknown, code: number, reason: string): WalrusErrorBody {
  const body = json as WalrusErrorBody;
  expect(body.error.code).to.equal(code);
  expect(REAL_PAIRS[body.error.status], `${body.error.status} is a status of the Walrus daemon`).to.equal(code);
  expect(body.error.details[0]).to.include({ "@type": "ErrorInfo", reason });
  expect(body.error.message).to.be.a("string").and.not.equal("");
  return body;
}

describe("Local Walrus store: answers as the Walrus daemon does", function () {
  let server: LocalWalrus;
  let cleanup: () => Promise<void>;
  let dir: string;
  let stored: NewlyCreatedResponse["newlyCreated"]["blobObject"];
  const bytes = pseudoRandomBytes(5000, 501);

  before(async function () {
    const temp = await tempDir();
    cleanup = temp.cleanup;
    dir = temp.dir;
    server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS, maxBlobSize: 100_000 });
    const res = await fetch(`${server.url}/v1/blobs?epochs=3`, { method: "PUT", body: bytes });
    stored = ((await res.json()) as NewlyCreatedResponse).newlyCreated.blobObject;
  });

  after(async function () {
    await server.close();
    await cleanup();
  });

  it("refuses unknown query parameters and enum values with 400 instead of storing for 1 epoch", async function () {
    for (const query of ["?epoch=5", "?encoding_type=RS3", "?epochs=2&epochs=3", "?force=true&colour=red"]) {
      const res = await fetch(`${server.url}/v1/blobs${query}`, { method: "PUT", body: "never stored" });
      expect(res.status, query).to.equal(400);
      expectDaemonError(await res.json(), 400, "INVALID_QUERY_PARAMETERS");
    }
    const rs2 = await fetch(`${server.url}/v1/blobs?encoding_type=RS2&epochs=2`, { method: "PUT", body: "rs2" });
    expect(rs2.status).to.equal(200);
    const read = await fetch(`${server.url}/v1/blobs/${stored.blobId}?epochs=5`);
    expect(read.status).to.equal(400);
    expectDaemonError(await read.json(), 400, "INVALID_QUERY_PARAMETERS");
  });

  it("answers 413 as the daemon's body limit does, and the client still reports the blob too large", async function () {
    const res = await fetch(`${server.url}/v1/blobs`, { method: "PUT", body: new Uint8Array(100_001) });
    expect(res.status).to.equal(413);
    expect(res.headers.get("content-type")).to.match(/^text\/plain/);
    expect(await res.text()).to.equal("Failed to buffer the request body: length limit exceeded");
    const client = new WalrusClient({ publisherUrl: server.url, shards: TEST_SHARDS, retries: 0 });
    const error = await rejection(client.store(pseudoRandomBytes(100_001, 502)));
    expect(error).to.include({ code: "BLOB_TOO_LARGE", size: 100_001 });
  });

  it("answers an unsatisfiable range with RANGE_NOT_SATISFIABLE 416 and INVALID_BYTE_RANGE", async function () {
    const res = await fetch(`${server.url}/v1/blobs/${stored.blobId}`, { headers: { range: "bytes=9000-9999" } });
    expect(res.status).to.equal(416);
    expect(res.headers.get("content-range")).to.equal("bytes */5000");
    const body = expectDaemonError(await res.json(), 416, "INVALID_BYTE_RANGE");
    expect(body.error.status).to.equal("RANGE_NOT_SATISFIABLE");
  });

  it("answers a CORS preflight as the daemon's CorsLayer does", async function () {
    const res = await fetch(`${server.url}/v1/blobs`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "content-type,authorization",
      },
    });
    expect(res.status).to.equal(200);
    expect(res.headers.get("access-control-allow-origin")).to.equal("*");
    expect(res.headers.get("access-control-allow-methods")).to.equal("*");
    expect(res.headers.get("access-control-allow-headers")).to.equal("*");
    expect(res.headers.get("access-control-max-age")).to.equal("86400");
    expect(await res.text()).to.equal("");
  });

  it("answers a wrong method on a known route with 405 and Allow", async function () {
    for (const [method, route, allow] of [
      ["DELETE", "/v1/blobs", "PUT"],
      ["POST", `/v1/blobs/${stored.blobId}`, "GET,HEAD"],
      ["PUT", `/v1/blobs/by-object-id/${stored.id}`, "GET,HEAD"],
      ["POST", "/status", "GET,HEAD"],
    ] as const) {
      const res = await fetch(`${server.url}${route}`, { method, body: method === "DELETE" ? undefined : "x" });
      expect(res.status, `${method} ${route}`).to.equal(405);
      expect(res.headers.get("allow"), `${method} ${route}`).to.equal(allow);
    }
    expect((await fetch(`${server.url}/v2/nothing`, { method: "DELETE" })).status).to.equal(404);
  });

  it("serves blobs with the aggregator's Cache-Control, X-Content-Type-Options and CORS headers", async function () {
    for (const route of [`/v1/blobs/${stored.blobId}`, `/v1/blobs/by-object-id/${stored.id}`]) {
      const res = await fetch(`${server.url}${route}`, { headers: { origin: "https://app.example" } });
      expect(res.status).to.equal(200);
      expect(res.headers.get("cache-control")).to.equal("public, max-age=86400, stale-while-revalidate=3600");
      expect(res.headers.get("x-content-type-options")).to.equal("nosniff");
      expect(res.headers.get("access-control-allow-origin")).to.equal("*");
      expect(res.headers.get("etag")).to.equal(stored.blobId);
      await res.arrayBuffer();
    }
  });

  it("refuses the strict and the skip consistency check together with 400", async function () {
    for (const route of [`/v1/blobs/${stored.blobId}`, `/v1/blobs/by-object-id/${stored.id}`]) {
      const both = await fetch(`${server.url}${route}?strict_consistency_check=true&skip_consistency_check=true`);
      expect(both.status).to.equal(400);
      const body = expectDaemonError(await both.json(), 400, "INVALID_CONSISTENCY_CHECK");
      expect(body.error.message).to.equal("cannot set both strict and skip consistency check options");
      for (const flag of ["strict_consistency_check=true", "skip_consistency_check=true"]) {
        const one = await fetch(`${server.url}${route}?${flag}`);
        expect(one.status, flag).to.equal(200);
        expect(Buffer.from(await one.arrayBuffer()).equals(Buffer.from(bytes))).to.equal(true);
      }
    }
  });

  it("answers GET /status with the daemon's plain OK, and keeps its own figures at /local/status", async function () {
    const res = await fetch(`${server.url}/status`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/plain/);
    expect(await res.text()).to.equal("OK");
    const local = (await (await fetch(`${server.url}/local/status`)).json()) as { shards: number; epoch: number };
    expect(local).to.include({ shards: TEST_SHARDS, epoch: server.currentEpoch() });
  });
});

describe("Local Walrus store: never promises bytes it does not have", function () {
  let server: LocalWalrus;
  let cleanup: () => Promise<void>;
  let dir: string;

  before(async function () {
    const temp = await tempDir();
    cleanup = temp.cleanup;
    dir = temp.dir;
    server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
  });

  after(async function () {
    await server.close();
    await cleanup();
  });

  async function storeBlob(seed: number): Promise<NewlyCreatedResponse["newlyCreated"]["blobObject"]> {
    const res = await fetch(`${server.url}/v1/blobs`, { method: "PUT", body: pseudoRandomBytes(200_000, seed) });
    return ((await res.json()) as NewlyCreatedResponse).newlyCreated.blobObject;
  }

  it("reports a blob whose file was truncated as unavailable at once, without a Content-Length and a stall", async function () {
    const blob = await storeBlob(601);
    await truncate(path.join(dir, "blobs", blob.blobId), 50_000);
    const started = performance.now();
    const res = await fetch(`${server.url}/v1/blobs/${blob.blobId}`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).to.equal(500);
    expect(res.headers.get("content-length")).to.not.equal("200000");
    const body = expectDaemonError(await res.json(), 500, "BLOB_UNAVAILABLE");
    expect(body.error.message).to.contain(blob.blobId).and.contain("50000 of 200000 bytes");
    expect(performance.now() - started).to.be.lessThan(2000);

    // The client gets a typed error quickly instead of hanging.
    const client = new WalrusClient({ aggregatorUrls: [server.url], shards: TEST_SHARDS, retries: 1, retryDelayMs: 5 });
    const error = await rejection(client.read(blob.blobId));
    expect(error).to.be.instanceOf(WalrusHttpError).and.include({ status: 500, reason: "BLOB_UNAVAILABLE" });
    expect(performance.now() - started).to.be.lessThan(4000);
  });

  it("reports a blob whose file was altered on disk (same size) as unavailable", async function () {
    const blob = await storeBlob(602);
    await writeFile(path.join(dir, "blobs", blob.blobId), pseudoRandomBytes(200_000, 603));
    const res = await fetch(`${server.url}/v1/blobs/${blob.blobId}`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).to.equal(500);
    const body = expectDaemonError(await res.json(), 500, "BLOB_UNAVAILABLE");
    expect(body.error.message).to.match(/sha256/);
    const byObject = await fetch(`${server.url}/v1/blobs/by-object-id/${blob.id}`);
    expect(byObject.status).to.equal(500);
    await byObject.arrayBuffer();
  });

  it("serves a file altered on disk (same size) with verifyFiles off, to play a tampering aggregator", async function () {
    const temp = await tempDir();
    const lax = await startLocalWalrus({ dir: temp.dir, port: 0, shards: TEST_SHARDS, verifyFiles: false });
    try {
      const put = await fetch(`${lax.url}/v1/blobs`, { method: "PUT", body: pseudoRandomBytes(3000, 605) });
      const blob = ((await put.json()) as NewlyCreatedResponse).newlyCreated.blobObject;
      const altered = pseudoRandomBytes(3000, 606);
      await writeFile(path.join(temp.dir, "blobs", blob.blobId), altered);
      const res = await fetch(`${lax.url}/v1/blobs/${blob.blobId}`);
      expect(res.status).to.equal(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(altered))).to.equal(true);
      // A short file is still refused, never served with a full Content-Length.
      await truncate(path.join(temp.dir, "blobs", blob.blobId), 100);
      const short = await fetch(`${lax.url}/v1/blobs/${blob.blobId}`, { signal: AbortSignal.timeout(5000) });
      expect(short.status).to.equal(500);
      expectDaemonError(await short.json(), 500, "BLOB_UNAVAILABLE");
    } finally {
      await lax.close();
      await temp.cleanup();
    }
  });

  it("repairs an unavailable blob when it is stored again", async function () {
    const blob = await storeBlob(604);
    await truncate(path.join(dir, "blobs", blob.blobId), 10);
    expect((await fetch(`${server.url}/v1/blobs/${blob.blobId}`)).status).to.equal(500);
    const again = await fetch(`${server.url}/v1/blobs`, { method: "PUT", body: pseudoRandomBytes(200_000, 604) });
    expect(again.status).to.equal(200);
    await again.arrayBuffer();
    const res = await fetch(`${server.url}/v1/blobs/${blob.blobId}`);
    expect(res.status).to.equal(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(pseudoRandomBytes(200_000, 604)))).to.equal(true);
  });
});
