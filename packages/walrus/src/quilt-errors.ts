/**
 * Typed errors of quilts (QuiltV1): patches a quilt cannot hold, bytes that are not a quilt, malformed quilt patch IDs,
 * patches a quilt does not have, and a publisher that answers with other patch IDs than the ones computed locally.
 */
import { WalrusError } from "./errors";

/** Why a set of patches cannot be encoded as a quilt. */
export type QuiltInputProblem =
  | "no-patches"
  | "too-many-patches"
  | "identifier-empty"
  | "identifier-start"
  | "identifier-trailing-whitespace"
  | "identifier-control-character"
  | "identifier-malformed-unicode"
  | "identifier-too-long"
  | "identifier-duplicate"
  /** An identifier a multipart upload cannot carry unchanged (it holds '"'). */
  | "identifier-not-sendable"
  | "tags-invalid"
  | "tags-too-large"
  | "contents-invalid"
  | "quilt-too-large";

/** Patches that no Walrus quilt can hold as given (an identifier, the tags, the count or the total size). */
export class InvalidQuiltError extends WalrusError {
  declare readonly code: "INVALID_QUILT";
  readonly problem: QuiltInputProblem;
  /** The identifier concerned, when the problem is one patch's. */
  readonly identifier?: string;

  constructor(problem: QuiltInputProblem, message: string, identifier?: string) {
    super("INVALID_QUILT", message);
    this.problem = problem;
    if (identifier !== undefined) this.identifier = identifier;
  }
}

/** Bytes that are not a well-formed QuiltV1 (for the shard count given): `part` names what is wrong. */
export class QuiltFormatError extends WalrusError {
  declare readonly code: "QUILT_FORMAT";
  /** The part of the quilt that is malformed: `length`, `version`, `index-length`, `index`, `patch-header`... */
  readonly part: string;

  constructor(part: string, message: string) {
    super(
      "QUILT_FORMAT",
      `Not a well-formed QuiltV1 (${part}): ${message}. Check that these are the bytes of a quilt and that the ` +
        `shard count is the one it was encoded for.`,
    );
    this.part = part;
  }
}

/** A string that is not a quilt patch ID (50 characters of unpadded base64url: 32-byte quilt ID, 0x01, start, end). */
export class InvalidQuiltPatchIdError extends WalrusError {
  declare readonly code: "INVALID_QUILT_PATCH_ID";
  readonly input: string;

  constructor(input: string, problem: string) {
    const shown = input.length > 80 ? `${JSON.stringify(input.slice(0, 80))}...` : JSON.stringify(input);
    super(
      "INVALID_QUILT_PATCH_ID",
      `${shown} is not a quilt patch ID: ${problem}. A quilt patch ID is 50 characters of unpadded base64url ` +
        `(the quilt's Blob ID, version 1, start and end column), as a publisher returns it in storedQuiltBlobs.`,
    );
    this.input = input;
  }
}

/** The quilt has no patch with this identifier (or at this position). */
export class QuiltPatchNotFoundError extends WalrusError {
  declare readonly code: "QUILT_PATCH_NOT_FOUND";
  /** The identifier or patch ID that was looked for. */
  readonly patch: string;

  constructor(patch: string, details: { quiltId?: string; url?: string; available?: number } = {}) {
    super(
      "QUILT_PATCH_NOT_FOUND",
      `Quilt ${details.quiltId ?? "(given bytes)"} has no patch ${JSON.stringify(patch)}` +
        `${details.url !== undefined ? ` (${details.url})` : ""}` +
        `${details.available !== undefined ? `; it has ${details.available} patches` : ""}. ` +
        `List its patches (listPatches) to see the identifiers it holds.`,
      { blobId: details.quiltId, url: details.url },
    );
    this.patch = patch;
  }
}

/**
 * The publisher stored the quilt (its Blob ID is the one computed locally) but answered with patch IDs other than the
 * ones computed locally, or for other identifiers: its answer cannot be trusted. Same code as
 * {@link PublisherMismatchError}, which is thrown when the quilt's Blob ID itself differs.
 */
export class QuiltPatchMismatchError extends WalrusError {
  declare readonly code: "PUBLISHER_MISMATCH";
  declare readonly blobId: string;
  readonly identifier: string;
  readonly expectedPatchId: string | undefined;
  readonly publisherPatchId: string | undefined;

  constructor(
    quiltId: string,
    url: string,
    identifier: string,
    expectedPatchId: string | undefined,
    publisherPatchId: string | undefined,
  ) {
    const what =
      expectedPatchId === undefined
        ? `a patch ${JSON.stringify(identifier)} that was not sent (patch ID ${publisherPatchId})`
        : publisherPatchId === undefined
          ? `no patch ID for ${JSON.stringify(identifier)} (expected ${expectedPatchId})`
          : `patch ID ${publisherPatchId} for ${JSON.stringify(identifier)}, whose patch ID is ${expectedPatchId}`;
    super(
      "PUBLISHER_MISMATCH",
      `The publisher at ${url} stored quilt ${quiltId} but answered with ${what}. ` +
        `Its answer is not trusted; use the patch IDs computed locally, or another publisher.`,
      { blobId: quiltId, url },
    );
    this.identifier = identifier;
    this.expectedPatchId = expectedPatchId;
    this.publisherPatchId = publisherPatchId;
  }
}
