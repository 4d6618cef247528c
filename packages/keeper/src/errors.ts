import { StrataError } from "@strata/errors";

export type KeeperErrorCode = "KEEPER_POLICY" | "KEEPER_JOURNAL" | "KEEPER_RENEWAL" | "KEEPER_CONFIG";

/** Base of the keeper's errors: a {@link StrataError} with a {@link KeeperErrorCode}. */
export class KeeperError extends StrataError {
  declare readonly code: KeeperErrorCode;

  constructor(code: KeeperErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A policy setting out of range. */
export class KeeperPolicyError extends KeeperError {
  constructor(message: string) {
    super("KEEPER_POLICY", message);
  }
}

/** The keeper was given something it cannot work with (a client without a provider). */
export class KeeperConfigError extends KeeperError {
  constructor(message: string) {
    super("KEEPER_CONFIG", message);
  }
}

/** The keeper's journal cannot be read or written. */
export class KeeperJournalError extends KeeperError {
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("KEEPER_JOURNAL", `the keeper's journal ${path}: ${message}`, options);
  }
}

/** A renewal failed at one step (read, store, answer check, record). */
export class RenewalError extends KeeperError {
  constructor(
    readonly key: string,
    readonly step: "read" | "store" | "check" | "record",
    message: string,
    options?: { cause?: unknown },
  ) {
    super("KEEPER_RENEWAL", `renewing ${key} failed at ${step}: ${message}`, options);
  }
}
