/**
 * @strata/verifier — audits inference proofs end to end: finds a proof's anchor on-chain, reads its blob from Walrus
 * and checks its integrity, recomputes its commitment, proves its Merkle inclusion, checks the node's EIP-712 signature
 * and activity, the domain and the model reference, and optionally re-executes the inference; reports every step.
 */
export * from "./errors";
export * from "./report";
export { Verifier, type ProofRecord, type VerifierOptions, type VerifyProofOptions } from "./verifier";
export { notPossibleWithoutData, type PrivateReveal } from "./steps";
export { verifyProof, verifyBatch, showProof, type VerifyOptions } from "./api";
export {
  checkActivity,
  checkDomain,
  checkModel,
  checkSignature,
  describeIntervals,
  recoverSigner,
  type Anchor,
  type CheckResult,
} from "./checks";
export { signatureRecovery, type SignatureRecovery } from "./signature";
export {
  compareOutputs,
  compareRuntime,
  halfToNumber,
  localRuntime,
  type OutputComparison,
  type RuntimeDifference,
  type Tolerance,
} from "./reexecute";
