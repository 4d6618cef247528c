import type { ContractRunner, Signer } from "ethers";
import {
  InferenceRequests,
  InferenceRequests__factory,
  ModelRegistry,
  ModelRegistry__factory,
  NodeRegistry,
  NodeRegistry__factory,
  ProofRegistry,
  ProofRegistry__factory,
} from "../typechain";
import type { Deployment } from "./deployments";

/** The three registries, deployed and wired; and the requests contract over them, when it is deployed. */
export interface Registries {
  modelRegistry: ModelRegistry;
  nodeRegistry: NodeRegistry;
  proofRegistry: ProofRegistry;
  /** On-chain inference requests over these registries ({@link deployInferenceRequests}); absent when not deployed. */
  inferenceRequests?: InferenceRequests;
}

/** The parameters of an InferenceRequests deployment (`IInferenceRequests.Config` without the registries). */
export interface InferenceRequestsParams {
  /** The bond a node must hold to fulfil, in wei. */
  minBond: bigint;
  /** Seconds after a fulfilment before its fee can be claimed (and during which a slash forfeits it). */
  challengeWindow: number;
  /** Seconds between a bond withdrawal request and the withdrawal; at least `challengeWindow`. */
  withdrawalDelay: number;
  /** The challenger's share of a slashed bond, in basis points. */
  challengerShareBps: number;
  /** The largest callback gas limit a request may ask for. */
  maxCallbackGasLimit: number;
  /** The largest inline input, in bytes of `abi.encode(ProofDigest.Tensor[])`. */
  maxInputBytes: number;
  /** The largest output of a fulfilment, in bytes of `abi.encode(ProofDigest.Tensor[])`. */
  maxOutputBytes: number;
}

/**
 * The parameters {@link deployInferenceRequests} uses unless told otherwise: a bond of 0.1 ETH, a one-hour challenge
 * window, a one-day withdrawal delay, half of a slashed bond to the challenger, callbacks of up to 2,000,000 gas, inline
 * inputs and outputs of up to 16 KiB.
 */
export const INFERENCE_REQUESTS_DEFAULTS: Readonly<InferenceRequestsParams> = Object.freeze({
  minBond: 10n ** 17n,
  challengeWindow: 3600,
  withdrawalDelay: 86_400,
  challengerShareBps: 5000,
  maxCallbackGasLimit: 2_000_000,
  maxInputBytes: 16_384,
  maxOutputBytes: 16_384,
});

/**
 * Deploys InferenceRequests with `deployer` over `registries` (its model registry and its proof registry, the
 * verifying contract of proofs and the registry of active nodes), with {@link INFERENCE_REQUESTS_DEFAULTS} overridden
 * by `params`. Returns the contract and the block of its deployment.
 */
export async function deployInferenceRequests(
  deployer: Signer,
  registries: Pick<Registries, "modelRegistry" | "proofRegistry">,
  params: Partial<InferenceRequestsParams> = {},
): Promise<{ inferenceRequests: InferenceRequests; block: number }> {
  const config = {
    ...INFERENCE_REQUESTS_DEFAULTS,
    ...params,
    modelRegistry: await registries.modelRegistry.getAddress(),
    proofRegistry: await registries.proofRegistry.getAddress(),
  };
  const inferenceRequests = await new InferenceRequests__factory(deployer).deploy(config);
  const receipt = await inferenceRequests.deploymentTransaction()!.wait();
  return { inferenceRequests, block: receipt?.blockNumber ?? 0 };
}

/**
 * Deploys the three registries with `deployer` and wires them: the node registry controls who may anchor proofs.
 * The deployer holds the node registry's admin roles: hand the node admin role over with grantRole/renounceRole, and
 * the default admin in two steps (`beginDefaultAdminTransfer`, then `acceptDefaultAdminTransfer` by the new admin after
 * `NodeRegistry.INITIAL_ADMIN_DELAY`, 3 days): `grantRole(DEFAULT_ADMIN_ROLE, ...)` reverts.
 */
export async function deployRegistries(deployer: Signer): Promise<Registries & { block: number }> {
  const deployerAddress = await deployer.getAddress();
  const modelRegistry = await new ModelRegistry__factory(deployer).deploy();
  const nodeRegistry = await new NodeRegistry__factory(deployer).deploy(deployerAddress);
  const proofRegistry = await new ProofRegistry__factory(deployer).deploy(await nodeRegistry.getAddress());
  const receipt = await (await nodeRegistry.wireProofRegistry(await proofRegistry.getAddress())).wait();
  return { modelRegistry, nodeRegistry, proofRegistry, block: receipt?.blockNumber ?? 0 };
}

/** The registries of `deployment`, attached to `runner` (a signer to write, a provider to read). */
export function connectRegistries(deployment: Deployment, runner: ContractRunner): Registries {
  return {
    modelRegistry: ModelRegistry__factory.connect(deployment.contracts.ModelRegistry, runner),
    nodeRegistry: NodeRegistry__factory.connect(deployment.contracts.NodeRegistry, runner),
    proofRegistry: ProofRegistry__factory.connect(deployment.contracts.ProofRegistry, runner),
    ...(deployment.contracts.InferenceRequests !== undefined
      ? { inferenceRequests: InferenceRequests__factory.connect(deployment.contracts.InferenceRequests, runner) }
      : {}),
  };
}

/** The deployment record of `registries`. */
export async function describeDeployment(
  network: string,
  registries: Registries,
  deployer: Signer,
  block: number,
): Promise<Deployment> {
  const chainId = Number((await deployer.provider!.getNetwork()).chainId);
  return {
    network,
    chainId,
    block,
    deployer: await deployer.getAddress(),
    contracts: {
      ModelRegistry: await registries.modelRegistry.getAddress(),
      NodeRegistry: await registries.nodeRegistry.getAddress(),
      ProofRegistry: await registries.proofRegistry.getAddress(),
      ...(registries.inferenceRequests ? { InferenceRequests: await registries.inferenceRequests.getAddress() } : {}),
    },
  };
}

export interface DeployAndDescribeOptions {
  /**
   * Deploy InferenceRequests over the registries too (default true): `true` with {@link INFERENCE_REQUESTS_DEFAULTS},
   * or the parameters to change; `false` deploys the registries only.
   */
  inferenceRequests?: boolean | Partial<InferenceRequestsParams>;
}

/**
 * Deploys and wires the registries ({@link deployRegistries}) and InferenceRequests over them
 * ({@link deployInferenceRequests}, unless `options.inferenceRequests` is false), and describes the deployment, for
 * tests and devnets. The deployment's block is the registries' wiring block (every InferenceRequests event comes after).
 */
export async function deployAndDescribe(
  deployer: Signer,
  network = "hardhat",
  options: DeployAndDescribeOptions = {},
): Promise<{ registries: Registries; deployment: Deployment }> {
  const registries = await deployRegistries(deployer);
  const requests = options.inferenceRequests ?? true;
  if (requests !== false) {
    const deployed = await deployInferenceRequests(deployer, registries, requests === true ? {} : requests);
    registries.inferenceRequests = deployed.inferenceRequests;
  }
  return { registries, deployment: await describeDeployment(network, registries, deployer, registries.block) };
}
