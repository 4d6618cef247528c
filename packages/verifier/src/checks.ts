import {
  activeAtPosition,
  type ActiveInterval,
  proofModelBlobId,
  type BatchEventName,
  type BatchRoot,
  type BlobId,
  type BlobIdHex,
  type Bytes32,
  type AnyInferenceProof,
  type ModelVersion,
  type ProofDomain,
} from "@strata/core";
import { isoTime, short, type StepStatus, type StepValue } from "./report";
import { checksummed, recoverSignerFast, recoveryNote } from "./signature";

/**
 * The checks a single-proof verification and a batch verification share. Each is a pure function of what was read from
 * the chain and from the document, returning the step's status, a one-line detail and the values compared.
 */

/** What a check found. */
export interface CheckResult {
  status: StepStatus;
  detail: string;
  values: Record<string, StepValue>;
}

/** Where and by whom a proof (or its batch) was anchored, from the ProofRegistry's storage and events. */
export interface Anchor {
  kind: "single" | "batch";
  /** The anchoring node (checksummed). */
  node: string;
  /** Unix seconds of the anchoring block. */
  anchoredAt: number;
  /** The Walrus Blob ID of the proof or batch document (a batch in quilts: its first quilt). */
  blobId: BlobId;
  /** A batch: every Walrus blob of it in order (one, or the quilts of `anchorQuilts` / `announceQuilts`). */
  blobIds?: BlobId[];
  /** A batch: the event that anchored or announced it. */
  event?: BatchEventName;
  blobIdHex: BlobIdHex;
  blockNumber: number;
  /** The log index of the anchoring event in its block: with the block, its place in the chain's order. */
  logIndex: number;
  txHash: string;
  /** The batch root and the proof count the chain records (batches only). */
  root?: BatchRoot;
  count?: number;
  /** A batch only announced (BatchAnnounced): no stored record, no on-chain inclusion check. */
  announced?: boolean;
  /**
   * The end epoch (exclusive) of the blob's storage on Walrus as the chain records it (the anchoring event's, raised
   * by the node's renewals; for a batch, the earliest among its blobs).
   */
  endEpoch: number;
}

export function pass(detail: string, values: Record<string, StepValue>): CheckResult {
  return { status: "pass", detail, values };
}

export function fail(detail: string, values: Record<string, StepValue>): CheckResult {
  return { status: "fail", detail, values };
}

/**
 * The signer of `commitment` by `signature` (65 bytes, r s v), checksummed. Only the canonical encoding is accepted
 * (low s, v 27 or 28), as core's `recoverProofSigner` does (see `signature.ts`: libsecp256k1 natively, ethers when the
 * native module does not load); unlike core, the commitment is not recomputed (the caller already did).
 */
export function recoverSigner(commitment: Bytes32, signature: string): string {
  return recoverSignerFast(commitment, signature);
}

/**
 * The signature recovers to the proof's node, and that node is the one that anchored it. `recovered` is null when
 * the signature is malformed.
 */
export function checkSignature(
  doc: AnyInferenceProof,
  commitment: Bytes32,
  anchorNode: string,
): CheckResult & { recovered: string | null } {
  const result = signatureResult(doc, commitment, anchorNode);
  const note = recoveryNote();
  return note === undefined ? result : { ...result, detail: `${result.detail} (${note})` };
}

function signatureResult(
  doc: AnyInferenceProof,
  commitment: Bytes32,
  anchorNode: string,
): CheckResult & { recovered: string | null } {
  let recovered: string;
  try {
    recovered = recoverSigner(commitment, doc.signature);
  } catch (error) {
    return {
      ...fail(`the signature is malformed: ${(error as Error).message.split(" (")[0]}`, {
        signature: doc.signature,
        node: doc.node,
      }),
      recovered: null,
    };
  }
  const node = checksummed(doc.node);
  const values = { recovered, node, anchoredBy: anchorNode };
  if (recovered !== node) {
    return {
      ...fail(
        `the signature recovers to ${recovered}, not to the proof's node ${node}: the document was altered after ` +
          "signing, or signed by another key",
        values,
      ),
      recovered,
    };
  }
  if (recovered !== anchorNode) {
    return {
      ...fail(`signed by ${recovered} but anchored by ${anchorNode}: a node anchors only the proofs it signed`, values),
      recovered,
    };
  }
  return {
    ...pass(`EIP-712 signature recovers to ${recovered}, the proof's node and its anchoring node`, values),
    recovered,
  };
}

/** Whether `t` falls in one of `intervals`, widened by `skew` seconds on both sides. */
function covers(intervals: readonly ActiveInterval[], t: number, skew: number): boolean {
  return intervals.some((i) => i.from - skew <= t && (i.to === null || t < i.to + skew));
}

/** The intervals in words: `2025-01-01T00:00:00Z – 2025-01-02T00:00:00Z, 2025-01-03T00:00:00Z – now`. */
export function describeIntervals(intervals: readonly ActiveInterval[]): string {
  if (intervals.length === 0) return "never admitted";
  return intervals.map((i) => `${isoTime(i.from)} – ${i.to === null ? "now" : isoTime(i.to)}`).join(", ");
}

/**
 * "Active at the time": the anchoring node held an admission (NodeRegistry `NodeAdmitted` .. `NodeRemoved`) that
 * covers the anchoring event in the chain's (block, log index) order (timestamps cannot order blocks that share one,
 * as many do on L2s), and one that covers the proof's
 * timestamp within `skew` seconds (the proof is dated by the node's clock, the intervals by the chain's); and the proof
 * is not dated after its anchoring (again within `skew`).
 */
export function checkActivity(
  doc: AnyInferenceProof,
  anchor: Anchor,
  intervals: readonly ActiveInterval[],
  skew: number,
): CheckResult {
  const values: Record<string, StepValue> = {
    node: anchor.node,
    anchoredAt: anchor.anchoredAt,
    proofTimestamp: doc.timestamp,
    clockSkewSeconds: skew,
    activeIntervals: describeIntervals(intervals),
  };
  const when = `(active ${describeIntervals(intervals)})`;
  if (intervals.length === 0) {
    return fail(`the anchoring node ${anchor.node} was never admitted to the NodeRegistry`, values);
  }
  if (!activeAtPosition(intervals, { blockNumber: anchor.blockNumber, logIndex: anchor.logIndex })) {
    return fail(
      `the anchoring node ${anchor.node} was not active when it anchored, at ${isoTime(anchor.anchoredAt)} ${when}`,
      values,
    );
  }
  if (!covers(intervals, doc.timestamp, skew)) {
    return fail(
      `the node ${anchor.node} was not active at the proof's timestamp ${isoTime(doc.timestamp)} ` +
        `(±${skew} s) ${when}`,
      values,
    );
  }
  if (doc.timestamp > anchor.anchoredAt + skew) {
    return fail(
      `the proof is dated ${isoTime(doc.timestamp)}, after its anchoring at ${isoTime(anchor.anchoredAt)} ` +
        `(beyond the ${skew} s clock skew allowed)`,
      values,
    );
  }
  return pass(
    `${short(anchor.node)} was active when it signed (${isoTime(doc.timestamp)}) and when it anchored ` +
      `(${isoTime(anchor.anchoredAt)}) ${when}`,
    values,
  );
}

/** The proof's domain (chain id and registries) is this deployment's. */
export function checkDomain(doc: AnyInferenceProof, expected: ProofDomain): CheckResult {
  const values: Record<string, StepValue> = {
    chainId: doc.domain.chainId,
    expectedChainId: expected.chainId,
    proofRegistry: doc.domain.proofRegistry,
    expectedProofRegistry: expected.proofRegistry,
    modelRegistry: doc.domain.modelRegistry,
    expectedModelRegistry: expected.modelRegistry,
  };
  const problems: string[] = [];
  if (doc.domain.chainId !== expected.chainId) {
    problems.push(`chain id ${doc.domain.chainId}, not ${expected.chainId}`);
  }
  if (doc.domain.proofRegistry.toLowerCase() !== expected.proofRegistry.toLowerCase()) {
    problems.push(`ProofRegistry ${doc.domain.proofRegistry}, not ${expected.proofRegistry}`);
  }
  if (doc.domain.modelRegistry.toLowerCase() !== expected.modelRegistry.toLowerCase()) {
    problems.push(`ModelRegistry ${doc.domain.modelRegistry}, not ${expected.modelRegistry}`);
  }
  if (problems.length > 0) {
    return fail(`the proof is bound to another deployment: ${problems.join("; ")}`, values);
  }
  return pass(
    `chain ${expected.chainId}, ProofRegistry ${short(expected.proofRegistry)}, ModelRegistry ` +
      `${short(expected.modelRegistry)}: this deployment`,
    values,
  );
}

/** The model Blob ID and sha256 in the proof are those the ModelRegistry records for its model version. */
export function checkModel(doc: AnyInferenceProof, version: ModelVersion | Error): CheckResult {
  const { id, version: index } = doc.model;
  const proofBlobId = proofModelBlobId(doc);
  const values: Record<string, StepValue> = {
    modelId: id,
    version: index,
    proofBlobId,
    proofSha256: doc.model.sha256,
  };
  if (version instanceof Error) {
    return fail(`the ModelRegistry has no version ${index} of model ${id}: ${version.message}`, values);
  }
  Object.assign(values, {
    registryBlobId: version.blobId,
    registrySha256: version.sha256,
    deprecated: version.deprecated,
  });
  const problems: string[] = [];
  if (version.blobId !== proofBlobId) {
    problems.push(`the proof names Blob ID ${proofBlobId} but the registry records ${version.blobId}`);
  }
  if (version.sha256.toLowerCase() !== doc.model.sha256.toLowerCase()) {
    problems.push(`the proof names sha256 ${doc.model.sha256} but the registry records ${version.sha256}`);
  }
  if (problems.length > 0) return fail(`model ${short(id)} version ${index}: ${problems.join("; ")}`, values);
  return pass(
    `model ${short(id)} version ${index}: Blob ID ${version.blobId} and sha256 ` +
      `${short(version.sha256)} match the registry${version.deprecated ? " (the version is deprecated now)" : ""}`,
    values,
  );
}
