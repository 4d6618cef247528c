/**
 * `strata verify <commitment> --challenge --against <commitment2>`: the challenger's side of InferenceRequests. Both
 * proofs are located and read by the verifier (each checked up to its commitment), {@link checkEquivocation} decides
 * whether they are an equivocation under this deployment's domain, and only then is the evidence sent to
 * `slashEquivocation` with the configured key. A pair that is not an equivocation, a node without a bond or a
 * deployment without InferenceRequests is refused before any transaction.
 *
 * Without `--against`, {@link findConflicting} looks for the second proof in the newest batches the first proof's node
 * anchored or announced: each batch read whole from Walrus (Blob ID recomputed), its proofs decoded, and the first one
 * of the same model, input and runtime with another output that {@link checkEquivocation} accepts is the evidence.
 */
import { formatEther, type Signer } from "ethers";
import { InferenceRequests__factory } from "@strata/contracts";
import {
  checkEquivocation,
  decodeBatch,
  decodeBatchQuilt,
  isPrivateProof,
  revertDataOf,
  StrataError,
  type InferenceProof,
  type InferenceProofV2,
  type StrataClient,
} from "@strata/core";
import { VerificationError } from "@strata/verifier";
import { decodeQuilt, type WalrusClient } from "@strata/walrus";
import { CliError } from "./errors";

/** A challenge was refused before any transaction (exit status 1): the pair is not evidence the chain would accept. */
export class ChallengeRefusedError extends VerificationError {
  declare readonly code: "CHECK_FAILED";
  readonly exitCode = 1;

  constructor(readonly reason: string) {
    super("CHECK_FAILED", `no challenge sent: ${reason}`);
  }
}

/** A slash that went through. */
export interface Slash {
  node: string;
  challenger: string;
  commitments: [string, string];
  txHash: string;
  blockNumber: number;
  gasUsed: bigint;
  /** The bond taken, in wei. */
  bond: bigint;
  /** The challenger's share of it, in wei. */
  reward: bigint;
}

export interface ChallengeOptions {
  /** The InferenceRequests contract (the deployment's). */
  requests: string | undefined;
  /** The chain and ProofRegistry the contract checks signatures under. */
  domain: { chainId: number; proofRegistry: string };
  /** The challenger's key (connected to the chain). */
  signer: () => Promise<Signer>;
}

const IFACE = InferenceRequests__factory.createInterface();

/** Checks `a` and `b` and, when they are an equivocation, slashes their node; throws {@link ChallengeRefusedError}. */
export async function challengeEquivocation(
  a: InferenceProof,
  b: InferenceProof,
  options: ChallengeOptions,
): Promise<Slash> {
  const found = checkEquivocation(a, b, options.domain);
  if (!found.equivocation) throw new ChallengeRefusedError(`the two proofs are not an equivocation: ${found.reason}`);
  if (options.requests === undefined) {
    throw new ChallengeRefusedError("the deployment has no InferenceRequests contract to submit the evidence to");
  }
  const signer = await options.signer();
  const contract = InferenceRequests__factory.connect(options.requests, signer);
  const bond = await contract.getBond(found.node);
  if (bond.amount === 0n) {
    throw new ChallengeRefusedError(
      `node ${found.node} equivocated, but has no bond in InferenceRequests ${options.requests} to slash` +
        (bond.slashedAt !== 0n
          ? ` (it was slashed already, at ${new Date(Number(bond.slashedAt) * 1000).toISOString()})`
          : ""),
    );
  }
  const args = [found.structs[0], a.signature, found.structs[1], b.signature] as const;
  try {
    // Simulated first: a revert is reported by name and no transaction is sent.
    await contract.slashEquivocation.staticCall(...args);
  } catch (error) {
    const data = revertDataOf(error);
    const parsed = data === undefined ? null : IFACE.parseError(data);
    if (parsed === null) throw error;
    throw new ChallengeRefusedError(`InferenceRequests would revert with ${parsed.name}(${parsed.args.join(", ")})`);
  }
  const receipt = await (await contract.slashEquivocation(...args)).wait();
  const event = receipt?.logs
    .map((log) => (log.address.toLowerCase() === options.requests!.toLowerCase() ? IFACE.parseLog(log) : null))
    .find((parsed) => parsed?.name === "NodeSlashed");
  if (!receipt || !event) {
    throw new CliError(
      "INTERNAL",
      `the slash transaction ${receipt?.hash ?? ""} was mined without a NodeSlashed event`,
    );
  }
  return {
    node: event.args.node as string,
    challenger: event.args.challenger as string,
    commitments: found.commitments,
    txHash: receipt.hash,
    blockNumber: receipt.blockNumber,
    gasUsed: receipt.gasUsed,
    bond: event.args.bond as bigint,
    reward: event.args.reward as bigint,
  };
}

/** The report lines of a slash. */
export function slashLines(slash: Slash): string[] {
  return [
    `EQUIVOCATION by node ${slash.node}: ${slash.commitments[0]} and ${slash.commitments[1]} (same model, input and ` +
      "runtime, different outputs)",
    `  slashed    bond ${formatEther(slash.bond)} ETH taken; reward ${formatEther(slash.reward)} ETH paid to the ` +
      `challenger ${slash.challenger}`,
    `  tx         ${slash.txHash} (block ${slash.blockNumber}, gas ${slash.gasUsed})`,
  ];
}

/** What {@link findConflicting} searched, and the conflicting proof when it found one. */
export interface ConflictSearch {
  found?: { proof: InferenceProof; root: string; blobId: string };
  /** Batches read (of the node's newest). */
  batches: number;
  /** Proofs decoded in them. */
  proofs: number;
  /** Blobs that could not be read or decoded (skipped). */
  skipped: number;
}

/**
 * Searches the newest `maxBatches` batches `first.node` anchored or announced for a proof that, with `first`, is an
 * equivocation under `domain` (see {@link checkEquivocation}). Blobs that cannot be read or are not batches are skipped
 * and counted; proofs anchored singly are not searched.
 */
export async function findConflicting(
  first: InferenceProof,
  options: {
    client: StrataClient;
    walrus: WalrusClient;
    domain: { chainId: number; proofRegistry: string };
    maxBatches: number;
    maxEvents?: number;
  },
): Promise<ConflictSearch> {
  const search: ConflictSearch = { batches: 0, proofs: 0, skipped: 0 };
  const sameNode = (p: InferenceProof) => p.node.toLowerCase() === first.node.toLowerCase();
  // The cheap fields first (the decoders recomputed every hash); the full check only for a candidate.
  const candidate = (p: InferenceProof) =>
    sameNode(p) &&
    p.model.id === first.model.id &&
    p.model.version === first.model.version &&
    p.input.hash === first.input.hash &&
    p.output.hash !== first.output.hash;
  await options.client.proofs.scanBatchReferencesNewestFirst(
    async (reference) => {
      search.batches += 1;
      for (const blobId of reference.blobIds) {
        const proofs = await batchProofs(options.walrus, blobId);
        if (proofs === undefined) {
          search.skipped += 1;
          continue;
        }
        search.proofs += proofs.length;
        const proof = proofs.find((p) => candidate(p) && checkEquivocation(first, p, options.domain).equivocation);
        if (proof) {
          search.found = { proof, root: reference.root, blobId };
          return true;
        }
      }
      return search.batches >= options.maxBatches;
    },
    { node: first.node, ...(options.maxEvents === undefined ? {} : { maxEvents: options.maxEvents }) },
  );
  return search;
}

/** The proofs of the batch blob or quilt `blobId` (read verified), or undefined when it cannot be read or decoded. */
async function batchProofs(walrus: WalrusClient, blobId: string): Promise<InferenceProof[] | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await walrus.read(blobId);
  } catch (error) {
    if (error instanceof StrataError) return undefined;
    throw error;
  }
  try {
    const quilt = decodeQuilt(bytes, { nShards: walrus.shards });
    const { proofs } = decodeBatchQuilt(
      quilt.patches.map((p) => ({ identifier: p.identifier, contents: quilt.patch(p) })),
    );
    // A private (hashed or encrypted) proof holds no tensors to show the contract: it is no equivocation evidence.
    return proofs.filter((p): p is InferenceProofV2 => !isPrivateProof(p));
  } catch (error) {
    if (!(error instanceof StrataError)) throw error;
  }
  try {
    return decodeBatch(bytes).proofs;
  } catch (error) {
    if (error instanceof StrataError) return undefined;
    throw error;
  }
}
