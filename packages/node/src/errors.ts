import { StrataRuntimeError } from "@strata/runtime";

/**
 * Base of every error the inference node itself raises. It is a {@link StrataRuntimeError} (so a `StrataError`): a
 * stable `code` for the HTTP API and the CLI, and a message that says what was wrong and what to do. The HTTP status
 * the API answers with is not a field of the error: the server's one table (`HTTP_STATUS` in
 * server.ts) gives it by code.
 */
export class NodeError extends StrataRuntimeError {}

/**
 * An error of a private (hashed or encrypted) request, its reason withheld: input parsing and ONNX Runtime errors
 * may quote tensor values, and nothing of a private request's tensors may leave the node in an error (nor in its logs
 * or metrics). The code is the original error's, so the HTTP status is too; `input` names the tensor when known.
 */
export class RedactedError extends NodeError {
  constructor(code: string, input?: string) {
    super(
      code,
      `the request was refused (${code})${input === undefined ? "" : ` at input ${JSON.stringify(input)}`}; the ` +
        "reason is withheld in private modes, as it may quote the data: check the tensors' dtypes, dims and values, " +
        "or send the same request in public mode with data that is not secret to see it",
    );
  }
}

/** The proof store (outbox) could not persist accepted work: the request is refused rather than lost. */
export class OutboxError extends NodeError {
  constructor(message: string, code: "OUTBOX" | "DISK_FULL" = "OUTBOX") {
    super(code, message);
  }
}

/** Error codes of a full disk (the journal's error then has the code `DISK_FULL`: 507 Insufficient Storage). */
const DISK_FULL = new Set(["ENOSPC", "EDQUOT", "EFBIG"]);

/**
 * A journal write (or its fdatasync, or the truncation after a failed one) failed. The record was not acknowledged
 * and the journal was cut back to its last good record: nothing half-written stays, nothing acknowledged is lost.
 */
export class JournalWriteError extends OutboxError {
  readonly errno: string | undefined;
  constructor(
    readonly dir: string,
    what: string,
    cause: NodeJS.ErrnoException,
  ) {
    const full = cause.code !== undefined && DISK_FULL.has(cause.code);
    super(
      `could not ${what} in ${dir}: ${cause.message}; ` +
        (full
          ? "the disk is full: free disk space on the node's data directory; the request was refused and nothing of it was kept"
          : "check the node's data directory (permissions, disk health); the request was refused and nothing of it was kept"),
      full ? "DISK_FULL" : "OUTBOX",
    );
    this.errno = cause.code;
  }
}

/** A proof too large to ever fit in a batch blob the publisher accepts: refused before it is accepted. */
export class ProofTooLargeError extends NodeError {
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
    what = "the proof of this inference",
  ) {
    super(
      "PROOF_TOO_LARGE",
      `${what} would take ${bytes} bytes, but a proof batch may take at most ${maxBytes} bytes (the publisher's ` +
        "body cap, --batch-max-bytes): send smaller inputs, or run the node against a publisher that accepts larger blobs",
    );
  }
}

/** Why the node is not accepting work right now (it could never anchor it). */
export type UnavailableReason =
  "NODE_NOT_ACTIVE" | "CHAIN_UNAVAILABLE" | "DISK_FULL" | "BACKLOG_FULL" | "SHUTTING_DOWN" | "STORE_UNAVAILABLE";

/**
 * The node refuses new work because it could not anchor it; the reason (its code) says what must change. The server
 * answers every refusal 503, whatever its reason (a refusal for a nearly full disk included: `DISK_FULL` of a
 * journal write that failed is 507).
 */
export class NodeUnavailableError extends NodeError {
  declare readonly code: UnavailableReason;

  constructor(
    readonly reason: UnavailableReason,
    message: string,
  ) {
    super(reason, message);
  }
}

/** The chain did not answer (or answered with a server error) while serving a request: retry later. */
export class ChainUnavailableError extends NodeError {
  constructor(detail: string) {
    super(
      "CHAIN_UNAVAILABLE",
      `the chain RPC did not answer (${detail}); the request was not run: retry later, or check the node's --rpc`,
    );
  }
}
