import { StrataRuntimeError } from "@strata/runtime";

/**
 * Base of every error the inference node itself raises. It is a {@link StrataRuntimeError}: a stable `code` for the HTTP
 * API and the CLI, a message that says what was wrong and what to do, and the HTTP `status` the API answers with.
 */
export class NodeError extends StrataRuntimeError {}

/** The proof store (outbox) could not persist accepted work: the request is refused rather than lost. */
export class OutboxError extends NodeError {
  constructor(message: string) {
    super("OUTBOX", message, 503);
  }
}
