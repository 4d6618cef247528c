import { StrataError } from "@strata/errors";

/** The Hardhat plugin was used in a way it cannot serve (code `STRATA_HARDHAT`); the message says what to change. */
export class StrataHardhatError extends StrataError {
  constructor(message: string) {
    super("STRATA_HARDHAT", message);
  }
}

/** A request was not fulfilled in the time given (code `FULFILMENT_TIMEOUT`): the node's log says why. */
export class FulfilmentTimeoutError extends StrataError {
  constructor(
    readonly requestIds: readonly string[],
    readonly timeoutMs: number,
    log: readonly string[],
  ) {
    super(
      "FULFILMENT_TIMEOUT",
      `request${requestIds.length === 1 ? "" : "s"} ${requestIds.join(", ")} not fulfilled within ${timeoutMs} ms` +
        (log.length > 0 ? `; the node said:\n${log.slice(-10).join("\n")}` : "; the node logged nothing"),
    );
  }
}
