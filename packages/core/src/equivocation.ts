/**
 * Equivocation: two valid signatures by the same node over proofs of the same subject — the same model (id, version,
 * Blob ID, sha256, ModelRegistry), the same input hash and the same runtime hash — with different output hashes.
 * Inference is deterministic (pinned runtime, bit-exact re-execution), so one of the two outputs is false, and the
 * pair is evidence InferenceRequests.slashEquivocation checks on-chain with nothing but the signatures.
 *
 * {@link checkEquivocation} is the one place that decides whether a pair is such evidence, with the contract's rules
 * (and the domain the contract checks signatures under): the CLI refuses a pair it rejects before sending anything.
 */
import type { Commitment } from "./ids";
import { proofStructOf, type ProofStruct } from "./onchain-tensors";
import { proofCommitment, recoverProofSigner, type InferenceProof } from "./proof";

/** A checked equivocation: the node that signed both proofs and their commitments. */
export interface Equivocation {
  equivocation: true;
  node: string;
  commitments: [Commitment, Commitment];
  /** The two proofs as `ProofDigest.Proof` structs, in the order given: the arguments of `slashEquivocation`. */
  structs: [ProofStruct, ProofStruct];
}

/** A pair that is not an equivocation, and why. */
export interface NotEquivocation {
  equivocation: false;
  reason: string;
}

/** The EIP-712 domain the contract checks the signatures under (its chain and its ProofRegistry). */
export interface EquivocationDomain {
  chainId: number;
  proofRegistry: string;
}

/** The subject fields: what a proof says was run. */
const SUBJECT: readonly { key: keyof ProofStruct; label: string }[] = [
  { key: "modelId", label: "model id" },
  { key: "modelVersion", label: "model version" },
  { key: "modelBlobId", label: "model Blob ID" },
  { key: "modelSha256", label: "model sha256" },
  { key: "modelRegistry", label: "ModelRegistry" },
  { key: "inputHash", label: "input hash" },
  { key: "runtimeHash", label: "runtime hash" },
];

const same = (x: string | number, y: string | number) => String(x).toLowerCase() === String(y).toLowerCase();

/**
 * Whether proofs `a` and `b` are an equivocation: each validly signed by its node, both by the same node, of the same
 * subject, with different output hashes; with `domain`, both signed under it too (what the contract recomputes).
 * Hashes are recomputed from the documents' contents. Never throws for a pair that is not one: the result says why.
 */
export function checkEquivocation(
  a: InferenceProof,
  b: InferenceProof,
  domain?: EquivocationDomain,
): Equivocation | NotEquivocation {
  const refuse = (reason: string): NotEquivocation => ({ equivocation: false, reason });
  let structs: [ProofStruct, ProofStruct];
  let commitments: [Commitment, Commitment];
  try {
    structs = [proofStructOf(a), proofStructOf(b)];
    commitments = [proofCommitment(a), proofCommitment(b)];
  } catch (error) {
    return refuse(`a proof is malformed: ${(error as Error).message}`);
  }
  if (commitments[0] === commitments[1]) return refuse(`both are the same proof ${commitments[0]}`);
  for (const [doc, name] of [
    [a, "first"],
    [b, "second"],
  ] as const) {
    if (domain && (doc.domain.chainId !== domain.chainId || !same(doc.domain.proofRegistry, domain.proofRegistry))) {
      return refuse(
        `the ${name} proof is signed for chain ${doc.domain.chainId}, ProofRegistry ${doc.domain.proofRegistry}, ` +
          `not this deployment's (chain ${domain.chainId}, ProofRegistry ${domain.proofRegistry})`,
      );
    }
  }
  if (a.domain.chainId !== b.domain.chainId || !same(a.domain.proofRegistry, b.domain.proofRegistry)) {
    return refuse("the proofs are signed under different EIP-712 domains (chain or ProofRegistry)");
  }
  const differing = SUBJECT.filter(({ key }) => !same(structs[0][key], structs[1][key])).map(({ label }) => label);
  if (differing.length > 0) {
    return refuse(
      `the proofs are not of the same inference: their ${differing.join(", ")} differ (an equivocation is the same ` +
        "model, input and runtime with different outputs)",
    );
  }
  if (same(structs[0].outputHash, structs[1].outputHash)) {
    return refuse(`the proofs have the same output hash ${structs[0].outputHash}: they agree`);
  }
  const signers: string[] = [];
  for (const [doc, name] of [
    [a, "first"],
    [b, "second"],
  ] as const) {
    let signer: string;
    try {
      signer = recoverProofSigner(doc);
    } catch (error) {
      return refuse(`the ${name} proof's signature is invalid: ${(error as Error).message}`);
    }
    if (!same(signer, doc.node)) {
      return refuse(`the ${name} proof is signed by ${signer}, not by its node ${doc.node}`);
    }
    signers.push(signer);
  }
  if (!same(signers[0], signers[1])) {
    return refuse(`the proofs are signed by different nodes (${signers[0]} and ${signers[1]})`);
  }
  return { equivocation: true, node: signers[0], commitments, structs };
}
