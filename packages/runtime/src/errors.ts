import { StrataError, type StrataErrorOptions } from "@strata/errors";

/**
 * Base of every error of the model runtime (ONNX sessions, model cache): a {@link StrataError} with a stable `code`
 * for the HTTP API and the CLI, and a message that says what was wrong and what to do. It carries no HTTP status: the
 * node's server maps each code to one (`HTTP_STATUS` in `@strata/node`).
 */
export class StrataRuntimeError extends StrataError {
  constructor(code: string, message: string, options?: StrataErrorOptions) {
    super(code, message, options);
  }
}

/** A file is not an ONNX model that ONNX Runtime can load. */
export class NotOnnxModelError extends StrataRuntimeError {
  constructor(
    readonly source: string,
    readonly reason: string,
  ) {
    super(
      "NOT_ONNX_MODEL",
      `${source} is not an ONNX model that ONNX Runtime can load (${reason}); export the model to ONNX (opset 7 or later) and try again`,
    );
  }
}

/** An inference request's inputs do not match the model's signature. */
export class InvalidInputError extends StrataRuntimeError {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super("INVALID_INPUT", message);
  }
}

/** The requested model or version is not in the registry. */
export class ModelNotFoundError extends StrataRuntimeError {
  constructor(
    readonly model: string,
    message: string,
  ) {
    super("MODEL_NOT_FOUND", message);
  }
}

/** Model bytes did not match the registry's sha256 (or size): they were not cached and not run. */
export class ModelIntegrityError extends StrataRuntimeError {
  constructor(
    readonly blobId: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      "MODEL_INTEGRITY",
      `model blob ${blobId} does not match its registered commitment (expected ${expected}, got ${actual}); ` +
        "it was discarded: try another aggregator",
    );
  }
}

/** Which bound a model is above: the node's largest model (`--max-model-bytes`) or its whole cache. */
export type ModelSizeBound = "max-model-bytes" | "cache-max-bytes";

/**
 * A model is larger than this node takes: refused from the registry's size before any byte is downloaded (or, for a
 * source that serves more than the registry says, as soon as the extra bytes arrive). `code` is `MODEL_TOO_LARGE` for
 * the node's largest model and `CACHE_TOO_SMALL` for the cache bound.
 */
export class ModelTooLargeError extends StrataRuntimeError {
  constructor(
    readonly blobId: string,
    /** The model's size in bytes (the registry's). */
    readonly size: number,
    /** The bound it exceeds, in bytes. */
    readonly limit: number,
    readonly bound: ModelSizeBound,
  ) {
    super(
      bound === "max-model-bytes" ? "MODEL_TOO_LARGE" : "CACHE_TOO_SMALL",
      bound === "max-model-bytes"
        ? `model blob ${blobId} has ${size} bytes, above this node's largest model of ${limit} bytes; nothing was ` +
            `downloaded. Raise --max-model-bytes to serve it`
        : `a model of ${size} bytes (blob ${blobId}) does not fit in the cache bound of ${limit} bytes; nothing was ` +
            `downloaded. Raise --cache-max-bytes to serve it`,
    );
  }
}

/** What kept a model's bytes from arriving: the Walrus error code behind a {@link ModelUnavailableError}. */
export type ModelUnavailableCause = "TIMEOUT" | "NETWORK" | "HTTP";

/**
 * A model's bytes could not be fetched from Walrus right now: the aggregators timed out (no progress for the idle
 * timeout), could not be reached, or answered an error such as the store's `BLOB_UNAVAILABLE` for a blob whose data is
 * lost. Nothing was cached. Code `MODEL_UNAVAILABLE` (the node answers 503): the request can be retried later or elsewhere.
 */
export class ModelUnavailableError extends StrataRuntimeError {
  constructor(
    readonly blobId: string,
    /** The code of the Walrus error (`TIMEOUT`, `NETWORK` or `HTTP`). */
    readonly walrusCode: ModelUnavailableCause,
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      "MODEL_UNAVAILABLE",
      `model blob ${blobId} could not be fetched from Walrus: ${detail.replace(/\.+$/, "")}. Nothing was cached; ` +
        `retry later, or configure another aggregator`,
      options,
    );
  }
}

/** Which model version a file is, as the registry names it (for messages and listings). */
export interface ModelVersionLabel {
  /** The model id (0x…). */
  id: string;
  version: number;
  /** The model's name, or the reference a request named it by. */
  name?: string;
}

/**
 * A model version whose Walrus storage has ended: the registry's end epoch (exclusive) has begun, so the blob may be
 * gone (Walrus drops it at the start of that epoch) and nothing is served from it, not even a cached copy. Code
 * `MODEL_EXPIRED` (the node answers 410 Gone).
 */
export class ModelExpiredError extends StrataRuntimeError {
  constructor(
    readonly blobId: string,
    /** The end epoch (exclusive) the registry records for the version. */
    readonly endEpoch: number,
    /** The network's current epoch. */
    readonly currentEpoch: number,
    /** The version, when known. */
    readonly model?: ModelVersionLabel,
    /** When the end epoch began, approximately (`epoch 12 (about 2026-12-05 14:00 UTC)`), when known. */
    endedAt?: string,
  ) {
    const which =
      model === undefined
        ? `model blob ${blobId}`
        : `model ${model.name === undefined ? model.id : `${JSON.stringify(model.name)} (${model.id})`} version ` +
          `${model.version} (blob ${blobId})`;
    super(
      "MODEL_EXPIRED",
      `${which}: its Walrus storage expired at ${endedAt ?? `epoch ${endEpoch}`} (the current epoch is ` +
        `${currentEpoch}), so it is not served, not even from a cache. If the blob was renewed on Walrus, record the ` +
        "renewal (ModelRegistry.extendVersion); otherwise publish a new version (store the model again); keep " +
        "versions renewed before expiry with `strata keeper`",
    );
  }
}
