import { StrataError } from "@strata/errors";

/**
 * The codes of the privacy errors (kept beside the module until the privacy modes join core's `StrataErrorCode`).
 * No message of any of them ever holds plaintext, a private key or a content key.
 */
export type PrivacyErrorCode =
  "PRIVACY_KEY" | "ENVELOPE_FORMAT" | "ENVELOPE_CORRUPTED" | "ENVELOPE_WRONG_KEY" | "ENVELOPE_CONTEXT";

/** A privacy public key, private key or disclosure key is malformed (its text, its length or its value). */
export class PrivacyKeyError extends StrataError {
  constructor(
    readonly kind: "public" | "private" | "disclosure",
    reason: string,
  ) {
    super("PRIVACY_KEY", `Invalid privacy ${kind} key: ${reason}`);
  }
}

/**
 * The bytes are not a well-formed envelope: not one at all, another version or suite, truncated, or a field with an
 * impossible value. `field` is the field (see `ENVELOPE_LAYOUT`) and `offset` its first byte.
 */
export class EnvelopeFormatError extends StrataError {
  constructor(
    readonly field: string,
    readonly offset: number,
    reason: string,
  ) {
    super("ENVELOPE_FORMAT", `Invalid envelope: ${field} at byte ${offset} ${reason}`);
  }
}

/**
 * The envelope is well formed but its bytes are not those that were sealed: the header checksum does not match, or
 * an authenticated decryption (of the wrapped content key, or of the payload) failed. `region` says which.
 */
export class EnvelopeCorruptedError extends StrataError {
  constructor(
    readonly region: "header" | "wrapped key" | "payload",
    reason: string,
    options?: { cause?: unknown },
  ) {
    super("ENVELOPE_CORRUPTED", `The envelope is corrupted or was altered: ${reason}`, options);
  }
}

/**
 * The key given cannot open the envelope: a private key that is not the recipient's (`keyKind` "private"), or a
 * content (disclosure) key of another envelope (`keyKind` "content").
 */
export class EnvelopeKeyError extends StrataError {
  constructor(
    readonly keyKind: "private" | "content",
    message: string,
  ) {
    super("ENVELOPE_WRONG_KEY", message);
  }
}

/**
 * The envelope was sealed for another context (another proof's chain, registry, model and request): moved from one
 * proof to another. `expected` is the sha256 of the context given, `actual` the digest the envelope carries.
 */
export class EnvelopeContextError extends StrataError {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      "ENVELOPE_CONTEXT",
      `This envelope was sealed for another context (another proof): its context digest is ${actual}, the context ` +
        `given has digest ${expected}. Open it with the fields of the proof it belongs to`,
    );
  }
}
