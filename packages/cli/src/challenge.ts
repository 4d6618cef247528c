/**
 * `strata verify <commitment> --challenge --against <commitment2>`: the challenger's side of InferenceRequests. Both
 * proofs are located and read by the verifier (each checked up to its commitment), {@link checkEquivocation} decides
 * whether they are an equivocation under this deployment's domain, and only then is the evidence sent to
 * `slashEquivocation` with the configured key. A pair that is not an equivocation, a node without a bond or a
 * deployment without InferenceRequests is refused before any transaction.
 */
import { formatEther, type Signer } from "ethers";
import { InferenceRequests__factory } from "@strata/contracts";
import { checkEquivocation, revertDataOf, type InferenceProof } from "@strata/core";
import { VerificationError } from "@strata/verifier";
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
