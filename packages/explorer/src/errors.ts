import { StrataError } from "@strata/errors";

/** Codes of the explorer's own errors (each maps to one HTTP status in server.ts). */
export type ExplorerErrorCode = "NOT_FOUND" | "BAD_REQUEST" | "BUNDLE_FAILED";

/** An error of the explorer: what was wrong and what to do. */
export class ExplorerError extends StrataError {
  constructor(
    override readonly code: ExplorerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
