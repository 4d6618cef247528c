import type { ContractRunner } from "ethers";
import { connectRegistries, type Deployment } from "@strata/contracts";
import { StrataError } from "./errors";
import { ModelRegistryClient } from "./models";
import { NodeRegistryClient } from "./nodes";
import type { ProofDomain } from "./proof";
import { ProofRegistryClient } from "./proofs";
import { BlockRange } from "./rpc";
import type { ClientOptions } from "./transaction";

/** The three registry clients of one deployment. */
export class StrataClient {
  constructor(
    readonly deployment: Deployment,
    readonly models: ModelRegistryClient,
    readonly nodes: NodeRegistryClient,
    readonly proofs: ProofRegistryClient,
  ) {}

  /**
   * Connects to the registries of `deployment` through `runner` (a signer to write, a provider to read). Event scans
   * start at the deployment block unless `options.fromBlock` says otherwise.
   */
  static connect(deployment: Deployment, runner: ContractRunner, options: ClientOptions = {}): StrataClient {
    const registries = connectRegistries(deployment, runner);
    // One block range for the three clients: a limit one scan learns from the RPC serves the others.
    const scan: ClientOptions = {
      fromBlock: deployment.block,
      ...options,
      blockRange: options.blockRange ?? new BlockRange(options.maxBlockRange),
    };
    return new StrataClient(
      deployment,
      new ModelRegistryClient(registries.modelRegistry, scan),
      new NodeRegistryClient(registries.nodeRegistry, scan),
      new ProofRegistryClient(registries.proofRegistry, scan),
    );
  }

  /** The same clients through another runner. */
  connect(runner: ContractRunner): StrataClient {
    return new StrataClient(
      this.deployment,
      this.models.connect(runner),
      this.nodes.connect(runner),
      this.proofs.connect(runner),
    );
  }

  /**
   * The registries of the deployment that have no code on the connected chain, in the deployment file's order: none
   * when the deployment is there; all of them, typically, for a deployment file of another chain.
   */
  async missingRegistries(): Promise<{ name: string; address: string }[]> {
    const provider = this.proofs.runner?.provider;
    if (!provider) {
      throw new StrataError("INVALID_ARGUMENT", "The registry clients have no provider: connect them to one");
    }
    const missing: { name: string; address: string }[] = [];
    for (const [name, address] of Object.entries(this.deployment.contracts)) {
      if ((await provider.getCode(address)) === "0x") missing.push({ name, address });
    }
    return missing;
  }

  /** The domain that proofs for this deployment are bound to (see `proof.ts`). */
  get proofDomain(): ProofDomain {
    return {
      chainId: this.deployment.chainId,
      proofRegistry: this.deployment.contracts.ProofRegistry,
      modelRegistry: this.deployment.contracts.ModelRegistry,
    };
  }
}

/** Shorthand for {@link StrataClient.connect}. */
export function connect(deployment: Deployment, runner: ContractRunner, options?: ClientOptions): StrataClient {
  return StrataClient.connect(deployment, runner, options);
}
