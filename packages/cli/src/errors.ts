import { StrataError, type StrataErrorOptions } from "@strata/errors";

/** The stable machine-readable code of every {@link CliError}. */
export type CliErrorCode =
  /** A flag or argument is malformed. */
  | "USAGE"
  /** A config file, or a Walrus setting from the environment, is unreadable or malformed. */
  | "CONFIG"
  /** No usable signing key: none given for a chain that needs one, two given, or one that is not a key. */
  | "KEY"
  /** The optional anvil binary is not installed on this machine. */
  | "ANVIL_NOT_INSTALLED"
  /** No inference node answers at the URL. */
  | "NODE_UNREACHABLE"
  /** The inference node answered with an error. */
  | "NODE_REFUSED"
  /** The proof was not anchored within the time allowed. */
  | "NOT_ANCHORED"
  /** The CLI broke one of its own invariants: a bug. */
  | "INTERNAL";

/** An error of the `strata` command itself: a {@link StrataError} whose message says what was wrong and what to do. */
export class CliError extends StrataError {
  declare readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options?: StrataErrorOptions) {
    super(code, message, options);
  }
}
