/**
 * The two siblings of model versions and proof batches, against a real chain process and the local Walrus store: a
 * model's metadata blob (no end epoch on-chain: the keeper's own record, learnt from store answers) kept while the
 * model has an active version and let lapse once every version is deprecated; single-anchored proofs (`anchorProof`)
 * renewed by the retention policy of batches and recorded by one `extendProofs` per group, exactly once across a crash;
 * `strata status` rows for both.
 */
import { expect } from "chai";
import { currentEpoch, deprecateAllBut, keeperFor } from "./fixture";
import { join } from "node:path";
import { id, Wallet, type Signer, type TransactionRequest } from "ethers";
import { toCommitment, type Commitment, type ModelId } from "@strata/core";
import { advanceEpochs, publishTestModel, startLocalStack, type LocalStack } from "@strata/devkit";
import { localBlobLifetime, localNetworkClock } from "@strata/walrus";
import {
  formatStatus,
  KeeperJournal,
  metadataKey,
  proofKey,
  readInventory,
  readKeeperRecords,
  statusOf,
  DEFAULT_POLICY,
  type KeeperOptions,
} from "../src";

describe("keeper: metadata blobs and single-anchored proofs on a real chain and store", function () {
  this.timeout(180_000);
  let stack: LocalStack;
  let n = 0;

  before(async () => {
    stack = await startLocalStack({ network: "keeper-siblings", shards: 10 });
  });
  after(() => stack?.stop());

  const dataDir = () => join(stack.dir, `keeper-${++n}`);
  const keeper = (options: Partial<KeeperOptions> = {}) => keeperFor(stack, dataDir(), options);
  const advance = (epochs: number) => advanceEpochs(stack.walrus.store, stack.provider, epochs);
  const epoch = () => currentEpoch(stack);
  const publish = async (name: string, epochs: number) => {
    const published = await publishTestModel(stack.client, stack.walrus.client, { name, seed: ++n, epochs });
    const modelId = published.modelId as ModelId;
    const metadataBlobId = (await stack.client.models.getModel(modelId)).metadataBlobId;
    return { modelId, blobId: published.blobId, metadataBlobId };
  };
  /** Deprecates every version of the deployer's models but `keep`'s. */
  const only = (...keep: string[]) => deprecateAllBut(stack, keep);
  const nodeSigner = () => new Wallet(stack.nodeKey, stack.provider);
  /** Anchors one proof document singly, by the node, stored for `epochs`. */
  const anchorProof = async (label: string, epochs: number) => {
    const stored = await stack.walrus.client.store(new TextEncoder().encode(`proof document ${label} ${Date.now()}`), {
      epochs,
    });
    const commitment: Commitment = toCommitment(id(`commitment ${label} ${Date.now()}`));
    await (
      await stack.client.proofs.connect(nodeSigner()).anchorProof(commitment, stored.blobId, stored.endEpoch)
    ).wait();
    return { commitment, blobId: stored.blobId, endEpoch: stored.endEpoch };
  };
  const proofExtensions = async () =>
    stack.registries.proofRegistry.queryFilter(stack.registries.proofRegistry.filters.ProofStorageExtended());

  it("keeps a model's metadata blob E epochs ahead while a version is active (never on-chain) and lets it lapse once all are deprecated", async () => {
    const { modelId, metadataBlobId } = await publish("meta-kept", 3);
    await only(modelId);
    const current = await epoch();
    const dir = dataDir();
    const lines: string[] = [];
    const first = await keeper({ dataDir: dir, log: (l) => lines.push(l) }).cycle();
    const key = metadataKey(modelId, metadataBlobId);
    // First sight: no record; stored again with the target epochs, which extends it.
    const renewed = first.renewed.find((r) => r.key === key);
    expect(renewed).to.include({ kind: "metadata", recorded: false, fromEpoch: null, toEpoch: current + 10 });
    expect(renewed?.note).to.match(/no end epoch on-chain/);
    expect((await localBlobLifetime(stack.walrus.url, metadataBlobId)).endEpoch).to.equal(current + 10);
    expect(lines.join("\n")).to.match(/renewed metadata meta-kept .* not recorded on-chain \(.*no end epoch on-chain/);
    expect(readKeeperRecords([dir]).get(key)).to.equal(current + 10);

    // 6 epochs later 4 are left, fewer than E = 5: renewed from the keeper's record.
    await advance(6);
    const second = await keeper({ dataDir: dir }).cycle();
    expect(second.renewed.find((r) => r.key === key)).to.include({
      fromEpoch: current + 10,
      toEpoch: current + 16,
      recorded: false,
    });
    expect((await localBlobLifetime(stack.walrus.url, metadataBlobId)).endEpoch).to.equal(current + 16);

    // Every version deprecated: the metadata lapses, reported, nothing bought.
    await (await stack.client.models.deprecateVersion(modelId, 0)).wait();
    await advance(2);
    const third = await keeper({ dataDir: dir }).cycle();
    expect(third.renewed.find((r) => r.key === key)).to.equal(undefined);
    expect(third.lapsed.find((l) => l.key === key)?.reason).to.match(/every version deprecated: let lapse at epoch/);
    expect((await localBlobLifetime(stack.walrus.url, metadataBlobId)).endEpoch).to.equal(current + 16);
  });

  it("learns a metadata blob's end epoch at first sight from the store's answer, at no cost when it lasts long enough", async () => {
    const { modelId, metadataBlobId } = await publish("meta-long", 20);
    await only(modelId);
    const current = await epoch();
    const dir = dataDir();
    const report = await keeper({ dataDir: dir }).cycle();
    const key = metadataKey(modelId, metadataBlobId);
    expect(report.learned.map((l) => [l.key, l.endEpoch])).to.deep.equal([[key, current + 20]]);
    expect(report.renewed.find((r) => r.key === key)).to.equal(undefined);
    expect((await localBlobLifetime(stack.walrus.url, metadataBlobId)).endEpoch).to.equal(current + 20);
    // The record stays: the next cycle neither stores nor learns it again.
    const again = await keeper({ dataDir: dir }).cycle();
    expect(again.learned).to.deep.equal([]);
    expect(again.renewed).to.deep.equal([]);
    expect((await KeeperJournal.open(join(dir, "keeper-journal.jsonl"))).pending()).to.deep.equal([]);
  });

  it("a metadata blob gone before the keeper first saw it: could not renew, at the read", async () => {
    const { modelId, metadataBlobId } = await publish("meta-gone", 1);
    await only(modelId);
    await advance(1);
    const report = await keeper().cycle();
    const failed = report.couldNotRenew.find((r) => r.key === metadataKey(modelId, metadataBlobId));
    expect(failed?.reason).to.match(/failed at read/);
    expect(failed?.endEpoch).to.equal(null);
  });

  it("renews single-anchored proofs when fewer than W epochs are left and records them by one extendProofs", async () => {
    await only();
    const node = nodeSigner();
    const a = await anchorProof("a", 3);
    const b = await anchorProof("b", 3);
    const anchoredAt = await epoch();
    const before = (await proofExtensions()).length;
    const k = keeper({ signer: node, nodes: undefined, models: false });
    expect((await k.cycle()).renewed).to.deep.equal([]);
    await advance(2); // 1 epoch left: fewer than W = 2
    const report = await k.cycle();
    const renewed = report.renewed.filter((r) => r.kind === "proof");
    expect(renewed.map((r) => [r.key, r.recorded, r.toEpoch]).sort()).to.deep.equal(
      [
        [proofKey(node.address, a.commitment), true, anchoredAt + 26],
        [proofKey(node.address, b.commitment), true, anchoredAt + 26],
      ].sort(),
    );
    expect(new Set(renewed.map((r) => r.txHash)).size).to.equal(1);
    expect((await proofExtensions()).length - before).to.equal(2);
    for (const p of [a, b]) {
      expect((await stack.client.proofs.getProof(node.address, p.commitment))?.endEpoch).to.equal(anchoredAt + 26);
      expect((await stack.client.proofs.proofReference(p.commitment, node.address))?.endEpoch).to.equal(
        anchoredAt + 26,
      );
      expect((await localBlobLifetime(stack.walrus.url, p.blobId)).endEpoch).to.equal(anchoredAt + 26);
    }
    expect((await k.cycle()).renewed).to.deep.equal([]);
  });

  it("a crash between the store and the extendProofs transaction: the restarted keeper records it exactly once", async () => {
    await only();
    const node = nodeSigner();
    const p = await anchorProof("crash", 3);
    const anchoredAt = await epoch();
    await advance(2);
    const before = (await proofExtensions()).length;
    const dir = dataDir();
    const dying = new Proxy(node, {
      get(target, prop, receiver) {
        if (prop === "sendTransaction") {
          return (_tx: TransactionRequest) => Promise.reject(new Error("killed before the transaction was sent"));
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as Signer;
    const key = proofKey(node.address, p.commitment);
    const first = await keeper({ dataDir: dir, signer: dying, nodes: undefined, models: false }).cycle();
    expect(first.couldNotRenew.find((r) => r.key === key)?.reason).to.contain("recording on-chain failed");
    expect((await localBlobLifetime(stack.walrus.url, p.blobId)).endEpoch).to.equal(anchoredAt + 26);
    const journal = await KeeperJournal.open(join(dir, "keeper-journal.jsonl"));
    expect(journal.pending().map((r) => [r.key, r.kind, r.storedEndEpoch])).to.deep.equal([
      [key, "proof", anchoredAt + 26],
    ]);

    const second = await keeper({ dataDir: dir, signer: node, nodes: undefined, models: false }).cycle();
    expect(second.recovered).to.equal(1);
    expect(second.renewed.map((r) => [r.key, r.recorded, r.toEpoch])).to.deep.equal([[key, true, anchoredAt + 26]]);
    const third = await keeper({ dataDir: dir, signer: node, nodes: undefined, models: false }).cycle();
    expect(third.renewed).to.deep.equal([]);
    expect((await proofExtensions()).length - before).to.equal(1);
    expect((await stack.client.proofs.getProof(node.address, p.commitment))?.endEpoch).to.equal(anchoredAt + 26);
  });

  it("status lists metadata (the keeper's record, or unknown: warn) and single-anchored proofs", async () => {
    await only();
    const node = nodeSigner();
    const seen = await publish("status-seen", 20);
    const unseen = await publish("status-unseen", 20);
    const p = await anchorProof("status", 10);
    const current = await epoch();
    const dir = dataDir();
    // The keeper saw both; status is given its record of `seen` only.
    await only(seen.modelId, unseen.modelId);
    await keeper({ dataDir: dir, models: true }).cycle();
    const records = readKeeperRecords([dir]);
    const inventory = await readInventory(stack.client, localNetworkClock(stack.walrus.url), {
      nodes: [node.address],
      metadataRecords: new Map([...records].filter(([k]) => k === metadataKey(seen.modelId, seen.metadataBlobId))),
    });
    const report = statusOf(inventory, DEFAULT_POLICY);
    const seenRow = report.rows.find((r) => r.kind === "metadata" && r.modelId === seen.modelId);
    expect(seenRow).to.include({ endEpoch: current + 20, epochsLeft: 20, state: "ok" });
    expect(seenRow?.note).to.match(/the keeper's record/);
    const unseenRow = report.rows.find((r) => r.kind === "metadata" && r.modelId === unseen.modelId);
    expect(unseenRow).to.include({ endEpoch: null, epochsLeft: null, endsAbout: null, state: "warn" });
    expect(unseenRow?.note).to.contain("unknown (not yet seen by the keeper)");
    expect(report.failing).to.equal(false);
    const proofRow = report.rows.find((r) => r.kind === "proof" && r.subject === p.commitment);
    expect(proofRow).to.include({ endEpoch: p.endEpoch, state: "ok", node: node.address });
    expect(proofRow?.blobIds).to.deep.equal([p.blobId]);
    const table = formatStatus(report).join("\n");
    expect(table).to.match(/metadata\s+status-unseen\s+\S+\s+unknown \(not yet seen by the keeper\)/);
    expect(table).to.match(/proof\s+0x[0-9a-f]+…\s+\S+\s+\d+\s+10\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\s+ok/);
  });
});
