/** What the keeper's tests on a real chain and store share: a keeper on the stack, its clock, and deprecations. */
import type { LocalStack } from "@strata/devkit";
import { localNetworkClock } from "@strata/walrus";
import { Keeper, type KeeperOptions } from "../src";

/** A keeper over `stack` (the deployer signs; no node's batches unless asked), its journal in `dataDir`. */
export function keeperFor(stack: LocalStack, dataDir: string, options: Partial<KeeperOptions> = {}): Keeper {
  return new Keeper({
    client: stack.client,
    signer: stack.deployer,
    walrus: stack.walrus.client,
    clock: localNetworkClock(stack.walrus.url),
    dataDir,
    nodes: [],
    ...options,
  });
}

/** The store's current epoch, over its clock route. */
export async function currentEpoch(stack: LocalStack): Promise<number> {
  return (await localNetworkClock(stack.walrus.url).now()).epoch;
}

/** Deprecates every version of the deployer's models but those of `keep`, so only they can fall due. */
export async function deprecateAllBut(stack: LocalStack, keep: readonly string[]): Promise<void> {
  for (const model of await stack.client.models.listModels()) {
    if (keep.includes(model.id) || model.creator !== stack.deployer.address) continue;
    for (const v of await stack.client.models.listVersions(model.id)) {
      if (!v.deprecated) await (await stack.client.models.deprecateVersion(model.id, v.index)).wait();
    }
  }
}
