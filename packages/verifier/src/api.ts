import type { ProofRecord, VerifierOptions, VerifyProofOptions } from "./verifier";
import { Verifier } from "./verifier";
import type { BatchReport, VerificationReport } from "./report";

/** Everything {@link verifyProof} needs: how to reach the services, what to verify. */
export type VerifyOptions = VerifierOptions & VerifyProofOptions & { commitment: string };

/**
 * Verifies one proof with a fresh {@link Verifier} (see {@link Verifier.verifyProof}); releases the loaded model after.
 * For many proofs, keep one `Verifier` (it caches blobs, model versions and node histories) or use {@link verifyBatch}.
 */
export async function verifyProof(options: VerifyOptions): Promise<VerificationReport> {
  const verifier = new Verifier(options);
  try {
    return await verifier.verifyProof(options.commitment, options);
  } finally {
    await verifier.close();
  }
}

/**
 * Verifies every proof of the batch `root` as `node` anchored or announced it (default: the node whose proofs the
 * batch holds), with one fetch (see {@link Verifier.verifyBatch}).
 */
export async function verifyBatch(root: string, options: VerifierOptions & { node?: string }): Promise<BatchReport> {
  return new Verifier(options).verifyBatch(root, options.node);
}

/** The document of an anchored proof and where it lives (see {@link Verifier.showProof}). */
export async function showProof(
  options: VerifierOptions & Omit<VerifyProofOptions, "reexecute" | "tolerance"> & { commitment: string },
): Promise<ProofRecord> {
  return new Verifier(options).showProof(options.commitment, options);
}
