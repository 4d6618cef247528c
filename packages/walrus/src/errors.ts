import { StrataError } from "@strata/errors";

/**
 * Typed errors of the Walrus layer. Every error has a stable `code`, and carries the Blob ID and the URL it concerns
 * where there is one, so a caller can branch on the class (or the code) and report what failed where.
 */

export type WalrusErrorCode =
  | "INVALID_BLOB_ID"
  | "BLOB_NOT_FOUND"
  | "BLOB_INTEGRITY"
  | "PUBLISHER_MISMATCH"
  | "BLOB_TOO_LARGE"
  | "TIMEOUT"
  | "HTTP"
  | "NETWORK"
  | "INVALID_RESPONSE"
  | "BLOB_MARKED_INVALID"
  | "STORE_FAILED"
  | "LOCAL_STORE"
  | "INTERNAL"
  | "INVALID_QUILT"
  | "QUILT_FORMAT"
  | "INVALID_QUILT_PATCH_ID"
  | "QUILT_PATCH_NOT_FOUND"
  | "EPOCH_UNKNOWN";

/** Base class of every error thrown by `@strata/walrus`: a {@link StrataError} with a {@link WalrusErrorCode}. */
export abstract class WalrusError extends StrataError {
  declare readonly code: WalrusErrorCode;
  /** The Blob ID concerned, when there is one. */
  readonly blobId?: string;
  /** The URL of the request that failed, when there is one. */
  readonly url?: string;

  protected constructor(
    code: WalrusErrorCode,
    message: string,
    details: { blobId?: string; url?: string; cause?: unknown } = {},
  ) {
    super(code, message, { cause: details.cause });
    if (details.blobId !== undefined) this.blobId = details.blobId;
    if (details.url !== undefined) this.url = details.url;
  }
}

/** A string (or hex, or decimal) that is not a well-formed Blob ID: the codec's error, from `@strata/core`. */
export { InvalidBlobIdError } from "@strata/core";

/** No aggregator has the blob (or it has expired). */
export class BlobNotFoundError extends WalrusError {
  declare readonly code: "BLOB_NOT_FOUND";
  declare readonly blobId: string;
  /** The reason of the aggregator's error body (`BLOB_NOT_FOUND`, `QUILT_PATCH_NOT_FOUND`), when it gave one. */
  readonly reason?: string;

  constructor(blobId: string, url: string, detail?: string) {
    super(
      "BLOB_NOT_FOUND",
      `Blob ${blobId} was not found at ${url}${detail ? ` (${detail})` : ""}. ` +
        `Check the Blob ID and that the blob has not expired; a blob stored moments ago can take a while to appear.`,
      { blobId, url },
    );
    if (detail !== undefined) this.reason = detail;
  }
}

/**
 * How returned bytes failed: their sha256 or recomputed Blob ID differ, the body ended early (`truncated`), or its
 * length is not the size the caller expects (`size`: another Content-Length, or more bytes than expected); for a
 * quilt patch, the aggregator named another patch (`identifier`) or the caller's own check refused it (`verify`).
 */
export type IntegrityFailure = "sha256" | "blob-id" | "truncated" | "size" | "identifier" | "verify";

/** The bytes an aggregator returned are not the blob that was asked for. */
export class BlobIntegrityError extends WalrusError {
  declare readonly code: "BLOB_INTEGRITY";
  declare readonly blobId: string;
  readonly failure: IntegrityFailure;
  readonly expected: string;
  readonly actual: string;

  constructor(
    blobId: string,
    url: string | undefined,
    failure: IntegrityFailure,
    expected: string,
    actual: string,
    cause?: unknown,
  ) {
    const what =
      failure === "sha256"
        ? `their sha256 is ${actual}, expected ${expected}`
        : failure === "blob-id"
          ? `their recomputed Blob ID is ${actual}`
          : failure === "size"
            ? `the blob has ${expected} bytes, but the body has ${actual}`
            : failure === "identifier"
              ? `they are the quilt patch ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`
              : failure === "verify"
                ? `the caller's check refused them (${actual})`
                : `the body ended after ${actual} of ${expected} bytes`;
    super(
      "BLOB_INTEGRITY",
      `The bytes returned for blob ${blobId}${url ? ` by ${url}` : ""} failed verification: ${what}. ` +
        `They were discarded; try another aggregator.`,
      { blobId, url, cause },
    );
    this.failure = failure;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The publisher certified a different Blob ID than the one computed locally from the same bytes. */
export class PublisherMismatchError extends WalrusError {
  declare readonly code: "PUBLISHER_MISMATCH";
  declare readonly blobId: string;
  /** The Blob ID the publisher answered with. */
  readonly publisherBlobId: string;

  constructor(blobId: string, publisherBlobId: string, url: string) {
    super(
      "PUBLISHER_MISMATCH",
      `The publisher at ${url} returned Blob ID ${publisherBlobId} for content whose Blob ID is ${blobId}. ` +
        `Check the shard count configured for this network, or use another publisher.`,
      { blobId, url },
    );
    this.publisherBlobId = publisherBlobId;
  }
}

/** Advice for a blob a publisher refuses as too large. */
export const PUBLISHER_SIZE_ADVICE =
  "For blobs above a public publisher's 10 MiB cap, store with the @mysten/walrus SDK (writeBlobFlow with a Sui " +
  "keypair) or through a publisher of your own.";

/** A blob above what can be encoded, what a publisher accepts, or what a blob can be at all. */
export class BlobTooLargeError extends WalrusError {
  declare readonly code: "BLOB_TOO_LARGE";
  readonly size: number;
  /** The limit that was exceeded, when it is known. */
  readonly limit?: number;

  constructor(
    size: number,
    limit: number | undefined,
    details: { url?: string; why?: string; advice?: string; blobId?: string } = {},
  ) {
    const why = details.why ?? (limit === undefined ? "the service refused it (413)" : `the limit is ${limit} bytes`);
    super(
      "BLOB_TOO_LARGE",
      `A blob of ${size} bytes is too large: ${why}${details.url ? ` (${details.url})` : ""}.` +
        `${details.advice ? ` ${details.advice}` : ""}`,
      { url: details.url, blobId: details.blobId },
    );
    this.size = size;
    if (limit !== undefined) this.limit = limit;
  }
}

/** A request that did not answer (or stalled) for longer than the configured timeout. */
export class WalrusTimeoutError extends WalrusError {
  declare readonly code: "TIMEOUT";
  declare readonly url: string;
  readonly timeoutMs: number;

  constructor(url: string, timeoutMs: number, blobId?: string) {
    super(
      "TIMEOUT",
      `No progress from ${url} for ${timeoutMs} ms${blobId ? ` while reading blob ${blobId}` : ""}. ` +
        `The service may be overloaded; retry later, raise timeoutMs, or configure another URL.`,
      { blobId, url },
    );
    this.timeoutMs = timeoutMs;
  }
}

/** Walrus marked the blob invalid (its encoding is inconsistent): it can never be read, and storing it again fails. */
export class BlobMarkedInvalidError extends WalrusError {
  declare readonly code: "BLOB_MARKED_INVALID";
  declare readonly blobId: string;
  declare readonly url: string;
  /** The event that marked the blob invalid, when the publisher gave it (a 200 `markedInvalid` does; a 500 does not). */
  readonly txDigest?: string;
  readonly eventSeq?: string;

  constructor(blobId: string, url: string, event: { txDigest: string; eventSeq: string } | undefined) {
    super(
      "BLOB_MARKED_INVALID",
      `The publisher at ${url} answered that blob ${blobId} is marked invalid on Walrus` +
        `${event !== undefined ? ` (event ${event.txDigest}/${event.eventSeq})` : ""}: its encoding was found ` +
        `inconsistent, so it can never be read. This points at a bug in the encoder that produced it or at faulty ` +
        `storage nodes; report it to the Walrus operators, and do not retry the same store.`,
      { blobId, url },
    );
    if (event !== undefined) {
      this.txDigest = event.txDigest;
      this.eventSeq = event.eventSeq;
    }
  }
}

/** The publisher answered 200 with `error {failurePhase, errorMsg}`: it tried and failed to store the blob. */
export class WalrusStoreFailedError extends WalrusError {
  declare readonly code: "STORE_FAILED";
  declare readonly url: string;
  /** The phase the store failed in (`register`, `upload`, `certify`...), when the publisher says. */
  readonly failurePhase?: string;
  /** The publisher's own message, unchanged. */
  readonly errorMsg: string;

  constructor(url: string, errorMsg: string, details: { failurePhase?: string; blobId?: string } = {}) {
    super(
      "STORE_FAILED",
      `The publisher at ${url} could not store the blob` +
        `${details.failurePhase ? ` (it failed in phase "${details.failurePhase}")` : ""}: ${errorMsg}. ` +
        `Fix what the publisher names (often its wallet's SUI or WAL balance) or use another publisher.`,
      { url, blobId: details.blobId },
    );
    this.errorMsg = errorMsg;
    if (details.failurePhase !== undefined) this.failurePhase = details.failurePhase;
  }
}

/** An HTTP status the client does not turn into a more specific error. */
export class WalrusHttpError extends WalrusError {
  declare readonly code: "HTTP";
  declare readonly url: string;
  readonly status: number;
  /** The `reason` of the Walrus error body (for example `BLOB_UNAVAILABLE`), when there was one. */
  readonly reason?: string;
  /** The Walrus status of the error body (for example `SIZE_EXCEEDED`), when there was one. */
  readonly walrusStatus?: string;

  constructor(
    url: string,
    status: number,
    message: string,
    details: { blobId?: string; reason?: string; walrusStatus?: string } = {},
  ) {
    super("HTTP", `HTTP ${status} from ${url}${details.reason ? ` (${details.reason})` : ""}: ${message}`, {
      url,
      blobId: details.blobId,
    });
    this.status = status;
    if (details.reason !== undefined) this.reason = details.reason;
    if (details.walrusStatus !== undefined) this.walrusStatus = details.walrusStatus;
  }
}

/** The connection failed (refused, reset, DNS) before an answer came back. */
export class WalrusNetworkError extends WalrusError {
  declare readonly code: "NETWORK";
  declare readonly url: string;

  constructor(url: string, cause: unknown, blobId?: string) {
    super("NETWORK", `Could not reach ${url}: ${describe(cause)}. Check the URL and that the service is running.`, {
      url,
      blobId,
      cause,
    });
  }
}

/** A publisher answered 2xx with a body that is not a Walrus store response. */
export class WalrusResponseError extends WalrusError {
  declare readonly code: "INVALID_RESPONSE";
  declare readonly url: string;

  constructor(url: string, problem: string, blobId?: string) {
    super("INVALID_RESPONSE", `Unexpected response from ${url}: ${problem}.`, { url, blobId });
  }
}

/** The message of an error, with the message of its cause (undici hides the interesting part there). */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

/** A local Walrus store (the test and devnet store of `startLocalWalrus`) cannot start or read its directory. */
export class LocalStoreError extends WalrusError {
  declare readonly code: "LOCAL_STORE";
  /** The store directory concerned, when there is one. */
  readonly dir?: string;

  constructor(message: string, dir?: string) {
    super("LOCAL_STORE", message);
    if (dir !== undefined) this.dir = dir;
  }
}

/** `@strata/walrus` broke one of its own invariants: a bug, not a fault of the caller or the network. */
export class WalrusInternalError extends WalrusError {
  declare readonly code: "INTERNAL";

  constructor(what: string) {
    super("INTERNAL", `${what}: this is a bug in @strata/walrus; report it with the steps that led here`);
  }
}
