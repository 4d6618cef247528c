import type { ContractRunner, Signer } from "ethers";
import {
  ModelRegistry,
  ModelRegistry__factory,
  NodeRegistry,
  NodeRegistry__factory,
  ProofRegistry,
  ProofRegistry__factory,
} from "../typechain";
import type { Deployment } from "./deployments";

/** The three registries, deployed and wired. */
export interface Registries {
  modelRegistry: ModelRegistry;
  nodeRegistry: NodeRegistry;
  proofRegistry: ProofRegistry;
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
    },
  };
}

/** Deploys and wires the registries ({@link deployRegistries}) and describes the deployment, for tests and devnets. */
export async function deployAndDescribe(
  deployer: Signer,
  network = "hardhat",
): Promise<{ registries: Registries; deployment: Deployment }> {
  const registries = await deployRegistries(deployer);
  return { registries, deployment: await describeDeployment(network, registries, deployer, registries.block) };
}
