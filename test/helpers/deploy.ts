/**
 * Typed deploy helpers over the typechain factories of `@strata/contracts` (never a hand-written ABI).
 *
 * During `hardhat coverage` the factories are regenerated from the instrumented artifacts before mocha loads the
 * tests, so these helpers deploy the instrumented bytecode there and the optimised one under `hardhat test`.
 */
import type { AddressLike, Signer } from "ethers";
import {
  deployRegistries,
  ModelRegistry__factory,
  NodeRegistry__factory,
  ProofRegistry__factory,
  type ModelRegistry,
  type NodeRegistry,
  type ProofRegistry,
  type Registries,
} from "@strata/contracts";

/** Deploys a {ModelRegistry} with `deployer`. */
export async function deployModelRegistry(deployer: Signer): Promise<ModelRegistry> {
  const registry = await new ModelRegistry__factory(deployer).deploy();
  return registry.waitForDeployment();
}

/** Deploys a {NodeRegistry} administered by `admin`, not wired to any proof registry. */
export async function deployNodeRegistry(deployer: Signer, admin: AddressLike): Promise<NodeRegistry> {
  const registry = await new NodeRegistry__factory(deployer).deploy(admin);
  return registry.waitForDeployment();
}

/** Deploys a {ProofRegistry} controlled by `nodeRegistry`. */
export async function deployProofRegistry(deployer: Signer, nodeRegistry: AddressLike): Promise<ProofRegistry> {
  const registry = await new ProofRegistry__factory(deployer).deploy(nodeRegistry);
  return registry.waitForDeployment();
}

/** The three registries deployed and wired by the package's own `deployRegistries`; `deployer` is the node admin. */
export async function deployWiredRegistries(deployer: Signer): Promise<Registries> {
  const { modelRegistry, nodeRegistry, proofRegistry } = await deployRegistries(deployer);
  return { modelRegistry, nodeRegistry, proofRegistry };
}
