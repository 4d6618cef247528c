import { BlobIntegrityError, BlobNotFoundError, BlobTooLargeError } from "@strata/walrus";
import { fail, pass, type Anchor } from "./checks";
import type { FetchedBlob, Outcome, VerifierContext } from "./context";
import type { FoundBy, StepValue } from "./report";

/** The blob step: fetches the anchored blob; `container`: also read a batch blob's container (not for `verifyBatch`). */
export async function readBlob(
  ctx: VerifierContext,
  anchor: Anchor,
  foundBy: FoundBy,
  container: boolean,
): Promise<Outcome<FetchedBlob>> {
  const values: Record<string, StepValue> = { blobId: anchor.blobId, blobIdHex: anchor.blobIdHex };
  const { maxBlobBytes } = ctx.settings;
  const noun = anchor.kind === "batch" ? "batch" : "proof";
  let fetched: FetchedBlob;
  try {
    fetched = await ctx.fetchBlob(anchor.blobId, container);
  } catch (error) {
    if (error instanceof BlobNotFoundError) {
      return fail(
        `the ${noun} blob ${anchor.blobId} is not on Walrus (never stored, expired or deleted): ${error.message}`,
        values,
      );
    }
    if (error instanceof BlobTooLargeError) {
      return fail(
        `the ${noun} blob ${anchor.blobId} was not read: it is over the verifier's cap of ${maxBlobBytes} bytes ` +
          `(maxBlobBytes, --max-blob-bytes): ${error.message}`,
        { ...values, maxBlobBytes, size: error.size },
      );
    }
    if (error instanceof BlobIntegrityError) {
      return fail(
        `the bytes served for blob ${anchor.blobId} do not match it (${error.failure}: expected ${error.expected}, ` +
          `got ${error.actual}): the stored blob was altered or the aggregator lies`,
        { ...values, expected: error.expected, actual: error.actual, failure: error.failure },
      );
    }
    throw error;
  }
  const how = foundBy === "event-scan" && anchor.kind === "batch" ? " (read while scanning)" : "";
  return {
    ...pass(
      `${fetched.bytes.byteLength} bytes read from Walrus; the Blob ID recomputed from them is ${anchor.blobId}, ` +
        `the anchored one${how}`,
      { ...values, size: fetched.bytes.byteLength },
    ),
    value: fetched,
  };
}
