import { BlobIntegrityError, BlobNotFoundError, BlobTooLargeError } from "@strata/walrus";
import { fail, pass, type Anchor } from "./checks";
import type { FetchedBlob, Outcome, VerifierContext } from "./context";
import type { ExpiredBlobKind } from "./errors";
import { expiredValues, notFoundVerdict } from "./lease";
import type { FoundBy, StepValue } from "./report";

/**
 * The blob step: fetches the anchored blob; `container`: also read a batch blob's container (not for `verifyBatch`).
 * A blob not found is told apart by its recorded lease: expired (its end epoch has begun), or missing while its lease
 * is not over; a blob whose bytes do not match its Blob ID is corrupted.
 */
export async function readBlob(
  ctx: VerifierContext,
  anchor: Anchor,
  foundBy: FoundBy,
  container: boolean,
  kind: ExpiredBlobKind = anchor.kind === "batch" ? "batch blob" : "proof blob",
): Promise<Outcome<FetchedBlob>> {
  const values: Record<string, StepValue> = { blobId: anchor.blobId, blobIdHex: anchor.blobIdHex };
  const { maxBlobBytes } = ctx.settings;
  let fetched: FetchedBlob;
  try {
    fetched = await ctx.fetchBlob(anchor.blobId, container);
  } catch (error) {
    if (error instanceof BlobNotFoundError) {
      const verdict = notFoundVerdict(kind, anchor.blobId, anchor.endEpoch, await ctx.epochNow());
      if ("expired" in verdict) return fail(verdict.expired.message, { ...values, ...expiredValues(verdict.expired) });
      return fail(`the ${kind} ${anchor.blobId} is ${verdict.detail}: ${error.message}`, {
        ...values,
        ...verdict.values,
      });
    }
    if (error instanceof BlobTooLargeError) {
      return fail(
        `the ${kind} ${anchor.blobId} was not read: it is over the verifier's cap of ${maxBlobBytes} bytes ` +
          `(maxBlobBytes, --max-blob-bytes): ${error.message}`,
        { ...values, maxBlobBytes, size: error.size },
      );
    }
    if (error instanceof BlobIntegrityError) {
      return fail(
        `the bytes served for blob ${anchor.blobId} do not match it (${error.failure}: expected ${error.expected}, ` +
          `got ${error.actual}): corrupted: the stored blob was altered or the aggregator lies`,
        { ...values, reason: "corrupted", expected: error.expected, actual: error.actual, failure: error.failure },
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
