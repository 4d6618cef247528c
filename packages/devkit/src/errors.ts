import { StrataError } from "@strata/core";

/**
 * A chain node (a `hardhat node` or anvil child process) did not start: it exited, its port was taken, its JSON-RPC
 * did not answer in time, or its program is not installed.
 */
export class HardhatNodeError extends StrataError {
  constructor(
    message: string,
    /** The last output of the node, for the diagnosis. */
    readonly output: string,
  ) {
    super("CHAIN_NODE", output ? `${message}\n--- hardhat node output ---\n${output.trimEnd()}\n---` : message);
  }
}

/** No inference node answered at `url`: the connection failed or timed out. */
export class NodeUnreachableError extends StrataError {
  constructor(
    /** The URL asked. */
    readonly url: string,
    /** Why, in a word where the system gave one (`ECONNREFUSED`), else the fetch error's message. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      "NODE_UNREACHABLE",
      `no inference node answers at ${url} (${reason}); start one with \`strata node start\` or \`strata devnet\``,
      options,
    );
  }
}

/**
 * The node answered with an error status. `nodeCode` and `nodeMessage` are the node's `{ error: { code, message } }`
 * (absent when the body was not in that shape); the message is `CODE: message`, or `the node answered HTTP <status>`.
 */
export class NodeApiError extends StrataError {
  constructor(
    readonly url: string,
    /** The HTTP status. */
    readonly status: number,
    /** The node's error code, e.g. `PROOF_NOT_FOUND`, `NODE_NOT_ACTIVE`. */
    readonly nodeCode: string | undefined,
    readonly nodeMessage: string | undefined,
  ) {
    super(
      "NODE_API",
      nodeCode !== undefined ? `${nodeCode}: ${nodeMessage ?? ""}` : `the node answered HTTP ${status}`,
    );
  }
}

/** The node answered 2xx with a body that is not what its API returns (not JSON, or not the expected shape). */
export class NodeResponseError extends StrataError {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super("NODE_API", `the node at ${url} answered with ${reason}`);
  }
}

/** A proof was not anchored within the time waited for it. */
export class AnchorWaitTimeoutError extends StrataError {
  constructor(
    readonly commitment: string,
    readonly timeoutMs: number,
    /** The last status the node reported. */
    readonly lastStatus: string,
  ) {
    super("NODE_API", `the proof was not anchored within ${timeoutMs} ms (status ${lastStatus})`);
  }
}
