/**
 * Deploys the three registries to the selected network, wires them, deploys InferenceRequests over them (with
 * INFERENCE_REQUESTS_DEFAULTS; STRATA_INFERENCE_REQUESTS=0 skips it), and writes
 * packages/contracts/deployments/<network>.json (addresses, chain id, block).
 *
 *   npx hardhat node                       # in one terminal
 *   npm run deploy -- --network localhost  # in another
 *
 * Any other chain, with no edit of hardhat.config.ts (the chain id is asked of the RPC):
 *
 *   STRATA_RPC_URL=https://rpc.example STRATA_KEY_FILE=deployer.key npm run deploy -- --network strata
 *
 * STRATA_DEPLOYMENT (optional) is where the deployment file goes, instead of packages/contracts/deployments/.
 *
 * STRATA_ADMIN (optional) receives the node registry's node admin role now, and its default admin role once it accepts
 * the transfer (two steps, after the registry's 3-day delay); STRATA_NODES (optional, comma-separated
 * address=endpoint pairs) are admitted right away.
 */
import { resolve } from "node:path";
import { ethers, network } from "hardhat";
import {
  deployInferenceRequests,
  deployRegistries,
  deploymentPath,
  describeDeployment,
  writeDeployment,
} from "@strata/contracts";
import { toInsufficientFundsError } from "@strata/core";

/** The deployer: the network's first account. The `strata` network has one only when a key is given. */
async function deployerSigner() {
  const [deployer] = await ethers.getSigners();
  if (deployer) return deployer;
  const file = process.env.STRATA_KEY_FILE;
  if (process.env.STRATA_PRIVATE_KEY?.trim()) {
    throw new Error("STRATA_PRIVATE_KEY is not a 32-byte hex private key (64 hex digits, 0x optional)");
  }
  throw new Error(
    file
      ? `STRATA_KEY_FILE ${resolve(file)} does not hold a 32-byte hex private key (or cannot be read)`
      : `network ${network.name} has no account: set STRATA_KEY_FILE to a file holding the deployer's hex key, or STRATA_PRIVATE_KEY`,
  );
}

async function main(): Promise<void> {
  const deployer = await deployerSigner();
  const chainId = (await ethers.provider.getNetwork()).chainId;
  console.log(`deploying to ${network.name} (chain ${chainId}) from ${deployer.address}`);
  const registries = await deployRegistries(deployer);
  let block = registries.block;
  // InferenceRequests over the registries, with the package's defaults (STRATA_INFERENCE_REQUESTS=0 skips it).
  if (process.env.STRATA_INFERENCE_REQUESTS !== "0") {
    registries.inferenceRequests = (await deployInferenceRequests(deployer, registries)).inferenceRequests;
  }
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
    // The node admin role moves at once; the default admin (AccessControlDefaultAdminRules) in two delayed steps.
    const role = await nodeRegistry.NODE_ADMIN_ROLE();
    await (await nodeRegistry.grantRole(role, admin)).wait();
    await (await nodeRegistry.renounceRole(role, deployer.address)).wait();
    const receipt = await (await nodeRegistry.beginDefaultAdminTransfer(admin)).wait();
    block = receipt?.blockNumber ?? block;
    const [, schedule] = await nodeRegistry.pendingDefaultAdmin();
    console.log(
      `node admin role is now ${admin}; the default admin role goes to ${admin} once it calls ` +
        `acceptDefaultAdminTransfer() on the NodeRegistry after ${new Date(Number(schedule) * 1000).toISOString()}`,
    );
  }
  const deployment = await describeDeployment(network.name, registries, deployer, block);
  const path = process.env.STRATA_DEPLOYMENT ? resolve(process.env.STRATA_DEPLOYMENT) : deploymentPath(network.name);
  writeDeployment(path, deployment);
  for (const [name, address] of Object.entries(deployment.contracts)) console.log(`${name.padEnd(14)} ${address}`);
  console.log(`chain ${deployment.chainId}, block ${deployment.block}: wrote ${path}`);
}

main().catch(async (error: unknown) => {
  // An unfunded deployer gets one line naming the account, never ethers' dump of the signed transaction.
  const [deployer] = await ethers.getSigners().catch(() => []);
  const funds = await toInsufficientFundsError(error, {
    action: `deploying to ${network.name}`,
    from: deployer?.address ?? null,
    provider: ethers.provider,
  });
  const message = funds?.message ?? (error instanceof Error ? error.message : String(error));
  console.error(message.replace(/0x[0-9a-fA-F]{65,}/g, (hex) => `${hex.slice(0, 10)}…(${(hex.length - 2) / 2} bytes)`));
  process.exitCode = 1;
});
