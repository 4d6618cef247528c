import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { StrataError } from "@strata/errors";

/** Where a network's registries live: written by scripts/deploy.ts, read by every client. */
export interface Deployment {
  /** The Hardhat network name it was deployed with (`localhost`, `hardhat`, ...). */
  network: string;
  chainId: number;
  /** The block of the last deployment transaction: event scans start here. */
  block: number;
  deployer: string;
  contracts: {
    ModelRegistry: string;
    NodeRegistry: string;
    ProofRegistry: string;
    /** InferenceRequests over these registries, when deployed (deployments before it have none). */
    InferenceRequests?: string;
  };
}

/** A deployment file is missing or does not hold a deployment (code `DEPLOYMENT`). */
export class DeploymentError extends StrataError {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super("DEPLOYMENT", message);
  }
}

/** The folder of the committed and generated deployment files: `packages/contracts/deployments`. */
export const DEPLOYMENTS_DIR = join(__dirname, "..", "deployments");

/** The path of the deployment file of `network` (in `dir`, by default {@link DEPLOYMENTS_DIR}). */
export function deploymentPath(network: string, dir: string = DEPLOYMENTS_DIR): string {
  return join(dir, `${network}.json`);
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Reads and checks a deployment file. */
export function readDeployment(path: string): Deployment {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : `is not JSON (${(error as Error).message})`;
    throw new DeploymentError(
      `Deployment file ${path} ${why}: deploy the registries first (npm run deploy -- --network <name>, or npx strata devnet)`,
      path,
    );
  }
  const d = parsed as Partial<Deployment>;
  const contracts = d.contracts ?? ({} as Partial<Deployment["contracts"]>);
  for (const name of ["ModelRegistry", "NodeRegistry", "ProofRegistry"] as const) {
    const address = contracts[name];
    if (typeof address !== "string" || !ADDRESS.test(address)) {
      throw new DeploymentError(`Deployment file ${path} has no valid address for ${name}: redeploy`, path);
    }
  }
  const requests = contracts.InferenceRequests;
  if (requests !== undefined && (typeof requests !== "string" || !ADDRESS.test(requests))) {
    throw new DeploymentError(`Deployment file ${path} has no valid address for InferenceRequests: redeploy`, path);
  }
  if (typeof d.chainId !== "number" || typeof d.block !== "number") {
    throw new DeploymentError(`Deployment file ${path} lacks chainId or block: redeploy`, path);
  }
  return d as Deployment;
}

/** Writes a deployment file atomically (temporary file, then rename). */
export function writeDeployment(path: string, deployment: Deployment): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(deployment, null, 2) + "\n");
  renameSync(tmp, path);
}
