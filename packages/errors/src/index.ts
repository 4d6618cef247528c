/**
 * @strata/errors — the one root of every error Strata throws. It sits below every other package (it depends on
 * nothing), so the Walrus layer, the contracts' deployment files, the core clients, the runtime, the node, the
 * verifier and the CLI all extend the same class.
 *
 * A `StrataError` carries a stable machine-readable `code` (catch it, then switch on the code) and a message that
 * says what was wrong and what to do. It carries no HTTP status: each server maps codes to statuses in one table.
 */

/** Options of a {@link StrataError}: the error it was caused by. */
export interface StrataErrorOptions {
  cause?: unknown;
}

/** The base of every error of every Strata package: catch it, then switch on {@link StrataError.code}. */
export class StrataError extends Error {
  constructor(
    /** The stable machine-readable code, e.g. `INVALID_ARGUMENT`, `BLOB_NOT_FOUND`, `MODEL_UNAVAILABLE`. */
    readonly code: string,
    message: string,
    options?: StrataErrorOptions,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** Whether `error` is a {@link StrataError} (of any package). */
export function isStrataError(error: unknown): error is StrataError {
  return error instanceof StrataError;
}
