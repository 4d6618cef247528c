/**
 * The demo's storage lifetime (issue 11): every lease with its end epoch (`strata status`), the store's and the chain's
 * clocks moved on together until renewals are due, the keeper renewing through the publisher and recording the new end
 * epochs on-chain (the model by its owner, the batches by their node), and the proof verified again, stored for longer.
 */
import { join } from "node:path";
import type { JsonRpcProvider, Signer } from "ethers";
import type { StrataClient } from "@strata/core";
import { advanceEpochs } from "@strata/devkit";
import {
  DEFAULT_POLICY,
  formatStatus,
  Keeper,
  readInventory,
  readKeeperRecords,
  statusOf,
  type StatusReport,
} from "@strata/keeper";
import { describeStorage, Verifier } from "@strata/verifier";
import type { LocalWalrus, NetworkClock, WalrusClient } from "@strata/walrus";

/** Runs the section; true when something was due, the keeper renewed it all, and nothing is at risk afterwards. */
export async function keepStorage(options: {
  client: StrataClient;
  walrus: WalrusClient;
  store: LocalWalrus;
  clock: NetworkClock;
  provider: JsonRpcProvider;
  publisher: Signer;
  node: Signer;
  commitment: string;
  nodeUrl: string;
  dir: string;
  line: (text: string) => void;
}): Promise<boolean> {
  const { client, walrus, clock, line } = options;
  const nodes = [await options.node.getAddress()];
  // The metadata blobs' end epochs are on no chain: the models keeper's journal records them once it has seen them.
  const status = async (): Promise<StatusReport> =>
    statusOf(
      await readInventory(client, clock, {
        nodes,
        metadataRecords: readKeeperRecords([join(options.dir, "keeper-models")]),
      }),
      DEFAULT_POLICY,
    );

  const before = await status();
  for (const row of formatStatus(before)) line(row);
  // Metadata blobs the keeper has not seen yet have no known end epoch (null): the chain records none.
  const soonest = Math.min(...before.rows.flatMap((r) => (r.epochsLeft === null ? [] : [r.epochsLeft])));
  const advance = Math.max(1, soonest - 1);
  await advanceEpochs(options.store, options.provider, advance);
  const due = await status();
  line(
    `${advance} epoch(s) later (store and chain clocks moved together): epoch ${due.currentEpoch}, ` +
      `${due.counts["at-risk"]} lease(s) at risk (strata status would exit 1)`,
  );

  // The model versions are renewed and recorded by their owner, the node's batches by the node.
  const log = line; // the keeper's lines say "keeper: …" themselves
  const models = new Keeper({
    client,
    signer: options.publisher,
    walrus,
    clock,
    nodes: [],
    dataDir: join(options.dir, "keeper-models"),
    log,
  });
  const batches = new Keeper({
    client,
    signer: options.node,
    walrus,
    clock,
    models: false,
    dataDir: join(options.dir, "keeper-node"),
    log,
  });
  let renewed = 0;
  try {
    for (const keeper of [models, batches]) {
      const report = await keeper.cycle();
      renewed += report.renewed.length;
    }
  } finally {
    await models.stop();
    await batches.stop();
  }

  const after = await status();
  for (const row of formatStatus(after)) line(row);
  const verifier = new Verifier({ client, walrus, clock, modelCacheDir: join(options.dir, "verifier-models") });
  try {
    const report = await verifier.verifyProof(options.commitment, { nodeUrl: options.nodeUrl });
    for (const text of describeStorage(report.storage, "proof")) line(`verify: ${text}`);
    line(`verify proof #0 again: ${report.ok ? "VERIFIED" : "FAILED"}`);
    return due.counts["at-risk"] > 0 && renewed > 0 && !after.failing && report.ok;
  } finally {
    await verifier.close();
  }
}
