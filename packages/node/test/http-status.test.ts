/**
 * The node's one code -> HTTP status table: library errors carry no status, and the server answers each error with
 * the status of its code (the statuses the HTTP API has always answered with).
 */
import { expect } from "chai";
import { InvalidArgumentError, StrataError, TensorError, UnknownModelError, type StrataErrorCode } from "@strata/core";
import {
  CacheDiskFullError,
  InvalidInputError,
  ModelExpiredError,
  ModelIntegrityError,
  ModelNotFoundError,
  ModelTooLargeError,
  ModelUnavailableError,
  NotOnnxModelError,
  StrataRuntimeError,
} from "@strata/runtime";
import { BlobNotFoundError, WalrusTimeoutError } from "@strata/walrus";
import {
  buildServer,
  ChainUnavailableError,
  HTTP_STATUS,
  httpStatusOf,
  InvalidIndexKeyError,
  JournalWriteError,
  NodeError,
  NodeUnavailableError,
  OutboxError,
  ProofIndexConflictError,
  ProofIndexCorruptError,
  ProofIndexError,
  ProofTooLargeError,
  TransactionPendingError,
  type NodeService,
} from "@strata/node";

const BLOB = "A".repeat(43);
const ROOT = `0x${"1".repeat(64)}`;
const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
const eio = Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });

/** One error of each kind the API can answer with, and the status it answers it with. */
const CASES: [StrataError, number][] = [
  [new InvalidArgumentError("model", "x/", "not a model reference"), 400],
  [new TensorError("x", "dims and data disagree"), 400],
  [new UnknownModelError(ROOT), 502],
  [new NotOnnxModelError("model.onnx", "protobuf parsing failed"), 400],
  [new InvalidInputError("x", 'input "x" is missing'), 400],
  [new ModelNotFoundError("mlp", "no model mlp"), 404],
  [new ModelIntegrityError(BLOB, "aa", "bb"), 502],
  [new ModelExpiredError(BLOB, 7, 9, { id: ROOT, version: 0, name: "mlp" }), 410],
  [new ModelTooLargeError(BLOB, 10, 5, "max-model-bytes"), 507],
  [new ModelTooLargeError(BLOB, 10, 5, "cache-max-bytes"), 507],
  [new ModelUnavailableError(BLOB, "TIMEOUT", "no progress for 30000 ms"), 503],
  [new CacheDiskFullError("/cache", BLOB, 10, enospc), 507],
  [new StrataRuntimeError("INVALID_BLOB_ID", `"x" is not a Walrus Blob ID`), 400],
  [new StrataRuntimeError("INVALID_MODEL_SIZE", "not a byte count"), 502],
  [new StrataRuntimeError("MODEL_BLOB_NOT_FOUND", "not on Walrus"), 502],
  [new NodeError("INVALID_MODEL_REF", "bad reference"), 400],
  [new NodeError("PROOF_NOT_FOUND", "no proof"), 404],
  [new ProofTooLargeError(20_000, 16_384), 413],
  [new OutboxError("the journal is closed"), 503],
  [new JournalWriteError("/data", "append a record", enospc), 507],
  [new JournalWriteError("/data", "append a record", eio), 503],
  [new ChainUnavailableError("eth_blockNumber took longer than 10 ms"), 503],
  [new TransactionPendingError(ROOT, 1000), 503],
  [new ProofIndexError("the proof index is closed"), 503],
  [new InvalidIndexKeyError("commitment", "0x12"), 400],
  [new ProofIndexConflictError(ROOT, "txHash", "0x1", "0x2"), 500],
  [new ProofIndexCorruptError("/data/index", "b:1", "is not JSON"), 503],
  [new NodeUnavailableError("NODE_NOT_ACTIVE", "not an active node"), 503],
  [new NodeUnavailableError("CHAIN_UNAVAILABLE", "the chain is down"), 503],
  [new NodeUnavailableError("BACKLOG_FULL", "the backlog is full"), 503],
  [new NodeUnavailableError("SHUTTING_DOWN", "shutting down"), 503],
  [new NodeUnavailableError("STORE_UNAVAILABLE", "the store is down"), 503],
  // A refusal for a nearly full disk is a 503 (retry elsewhere); a journal write that failed on a full disk is a 507.
  [new NodeUnavailableError("DISK_FULL", "the disk is nearly full"), 503],
];

describe("node HTTP API: the code -> status table", function () {
  it("gives each error the status the API answers it with", function () {
    for (const [error, status] of CASES) {
      expect(httpStatusOf(error), `${error.name} ${error.code}`).to.equal(status);
    }
  });

  it("keeps the status out of library errors", function () {
    for (const [error] of CASES) expect(error, error.name).to.not.have.property("status");
  });

  it("answers core's request faults 400 and every other core code 502", function () {
    const core = Object.keys(HTTP_STATUS).filter((code) => HTTP_STATUS[code] === 400 || HTTP_STATUS[code] === 502);
    const codes: StrataErrorCode[] = ["INVALID_ARGUMENT", "TENSOR", "CONTRACT_REVERT", "LOG_RANGE", "NOT_IN_BATCH"];
    expect(core).to.include.members(codes);
    expect(HTTP_STATUS.INVALID_ARGUMENT).to.equal(400);
    expect(HTTP_STATUS.CONTRACT_REVERT).to.equal(502);
  });

  it("has no status for codes it does not know, nor for the keys of Object.prototype", function () {
    expect(httpStatusOf(new StrataError("SOMETHING_NEW", "x"))).to.equal(undefined);
    expect(httpStatusOf(new StrataError("toString", "x"))).to.equal(undefined);
    expect(httpStatusOf(new BlobNotFoundError(BLOB, "http://127.0.0.1:1"))).to.equal(undefined);
  });

  it("answers every error with its table status and its code, and an error of no known code 500 INTERNAL", async function () {
    let next: unknown;
    const service: NodeService = {
      infer: () => Promise.reject(next),
      proofStatus: () => Promise.reject(next),
      health: () => Promise.resolve({ status: "ok" }),
      metrics: () => "",
    };
    const app = buildServer(service);
    try {
      for (const [error, status] of CASES) {
        next = error;
        const r = await app.inject({ method: "GET", url: `/v1/proofs/${ROOT}` });
        expect(r.statusCode, `${error.name} ${error.code}`).to.equal(status);
        expect(r.json()).to.deep.equal({ error: { code: error.code, message: error.message } });
      }
      // A Walrus error reaching the API unwrapped is an internal error, as it always was.
      next = new WalrusTimeoutError("http://127.0.0.1:1/v1/blobs/x", 30_000);
      const r = await app.inject({ method: "GET", url: `/v1/proofs/${ROOT}` });
      expect(r.statusCode).to.equal(500);
      expect(r.json().error.code).to.equal("INTERNAL");
    } finally {
      await app.close();
    }
  });
});
