import { expect } from "chai";
import { StrataError } from "@strata/errors";
import { LocalStoreError, startLocalWalrus, WalrusError, WalrusInternalError, type WalrusErrorBody } from "../src";
import { LOCAL_WALRUS_STATUS } from "../src/server";
import { tempDir, TEST_SHARDS } from "./helpers";

describe("Local Walrus store: the reason -> HTTP status table", function () {
  it("answers each reason with the status the Walrus daemon answers it with", function () {
    expect(LOCAL_WALRUS_STATUS).to.deep.equal({
      BAD_REQUEST: 400,
      INVALID_QUERY_PARAMETERS: 400,
      INVALID_PARAMETER: 400,
      INVALID_EPOCHS: 400,
      INVALID_CONSISTENCY_CHECK: 400,
      INVALID_BLOB_ID: 400,
      INVALID_OBJECT_ID: 400,
      INVALID_QUILT_PATCH_ID: 400,
      MALFORMED_REQUEST: 400,
      NOT_FOUND: 404,
      BLOB_NOT_FOUND: 404,
      QUILT_PATCH_NOT_FOUND: 404,
      INVALID_BYTE_RANGE: 416,
      BLOB_UNAVAILABLE: 500,
      STORAGE_FULL: 500,
      INTERNAL_ERROR: 500,
    });
  });

  it("sends the table's status and the reason in the error body of every refused request", async function () {
    const temp = await tempDir();
    const server = await startLocalWalrus({ dir: temp.dir, port: 0, shards: TEST_SHARDS });
    try {
      const cases: [string, RequestInit, keyof typeof LOCAL_WALRUS_STATUS][] = [
        ["/v1/blobs?epochs=0", { method: "PUT", body: "x" }, "INVALID_EPOCHS"],
        ["/v1/blobs?bogus=1", { method: "PUT", body: "x" }, "INVALID_QUERY_PARAMETERS"],
        ["/v1/blobs/not-a-blob-id", {}, "INVALID_BLOB_ID"],
        [`/v1/blobs/${"A".repeat(43)}`, {}, "BLOB_NOT_FOUND"],
        ["/v1/blobs/by-object-id/0x12", {}, "INVALID_OBJECT_ID"],
        ["/no/such/route", {}, "NOT_FOUND"],
      ];
      for (const [route, init, reason] of cases) {
        const res = await fetch(`${server.url}${route}`, init);
        const body = (await res.json()) as WalrusErrorBody;
        expect(res.status, route).to.equal(LOCAL_WALRUS_STATUS[reason]);
        expect(body.error.code, route).to.equal(LOCAL_WALRUS_STATUS[reason]);
        expect(body.error.details[0].reason, route).to.equal(reason);
      }
    } finally {
      await server.close();
      await temp.cleanup();
    }
  });

  it("refuses a store directory of another shard count with a LocalStoreError (a StrataError), not a bare Error", async function () {
    const temp = await tempDir();
    try {
      await (await startLocalWalrus({ dir: temp.dir, port: 0, shards: TEST_SHARDS })).close();
      const error = await startLocalWalrus({ dir: temp.dir, port: 0, shards: TEST_SHARDS + 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(LocalStoreError);
      expect(error).to.be.instanceOf(WalrusError);
      expect(error).to.be.instanceOf(StrataError);
      expect((error as LocalStoreError).code).to.equal("LOCAL_STORE");
      expect((error as LocalStoreError).message).to.match(/start it with shards 10 or use another directory/);
    } finally {
      await temp.cleanup();
    }
  });

  it("names an internal fault of @strata/walrus as a bug to report", function () {
    const error = new WalrusInternalError("the encoder returned encoding type RS1, not RS2");
    expect(error).to.be.instanceOf(StrataError);
    expect(error.code).to.equal("INTERNAL");
    expect(error.message).to.match(/bug in @strata\/walrus/);
  });
});
