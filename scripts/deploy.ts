/**
 * Deploys the three registries to the selected network, wires them, and writes
 * packages/contracts/deployments/<network>.json (addresses, chain id, block).
 *
 *   npx hardhat node                       # in one terminal
 *   npm run deploy -- --network localhost  # in another
 *
 * STRATA_ADMIN (optional) receives the node registry's admin roles; STRATA_NODES (optional, comma-separated
 * address=endpoint pairs) are admitted right away.
 */
import { ethers, network } from "hardhat";
import { deployRegistries, deploymentPath, describeDeployment, writeDeployment } from "@strata/contracts";

async function main(): Promise<void> {
  const [deployer] = await ethers.getSigners();
  const registries = await deployRegistries(deployer);
  let block = registries.block;
  for (const pair of (process.env.STRATA_NODES ?? "").split(",").filter(Boolean)) {
    const [address, endpoint] = pair.split("=");
    if (!ethers.isAddress(address) || !endpoint) {
      throw new Error(
        `STRATA_NODES entry "${pair}" is not address=endpoint (e.g. 0x70997970...=http://127.0.0.1:31416)`,
      );
    }
    const receipt = await (await registries.nodeRegistry.admitNode(address, endpoint)).wait();
    block = receipt?.blockNumber ?? block;
    console.log(`admitted node ${address} at ${endpoint}`);
  }
  const admin = process.env.STRATA_ADMIN;
  if (admin) {
    if (!ethers.isAddress(admin)) throw new Error(`STRATA_ADMIN "${admin}" is not an address`);
    const { nodeRegistry } = registries;
    for (const role of [await nodeRegistry.NODE_ADMIN_ROLE(), await nodeRegistry.DEFAULT_ADMIN_ROLE()]) {
      await (await nodeRegistry.grantRole(role, admin)).wait();
      const receipt = await (await nodeRegistry.renounceRole(role, deployer.address)).wait();
      block = receipt?.blockNumber ?? block;
    }
    console.log(`node registry admin is now ${admin}`);
  }
  const deployment = await describeDeployment(network.name, registries, deployer, block);
  const path = deploymentPath(network.name);
  writeDeployment(path, deployment);
  for (const [name, address] of Object.entries(deployment.contracts)) console.log(`${name.padEnd(14)} ${address}`);
  console.log(`chain ${deployment.chainId}, block ${deployment.block}: wrote ${path}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
