/** Base of every error the inference node raises: a stable `code` for the HTTP API and the CLI, and a message that
 * says what was wrong and what to do. `status` is the HTTP status the API answers with. */
export class NodeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 500,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The proof store (outbox) could not persist accepted work: the request is refused rather than lost. */
export class OutboxError extends NodeError {
  constructor(message: string) {
    super("OUTBOX", message, 503);
  }
}
