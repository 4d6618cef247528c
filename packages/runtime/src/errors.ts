/** Base of every error of the model runtime (ONNX sessions, model cache): a stable `code` for the HTTP API and the CLI, and a message that
 * says what was wrong and what to do. `status` is the HTTP status the API answers with. */
export class StrataRuntimeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 500,
  ) {
    super(message);
    this.name = new.target.name;
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
      400,
    );
  }
}

/** An inference request's inputs do not match the model's signature. */
export class InvalidInputError extends StrataRuntimeError {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super("INVALID_INPUT", message, 400);
  }
}

/** The requested model or version is not in the registry. */
export class ModelNotFoundError extends StrataRuntimeError {
  constructor(
    readonly model: string,
    message: string,
  ) {
    super("MODEL_NOT_FOUND", message, 404);
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
      502,
    );
  }
}
