/**
 * The keeper against a real chain process and the local Walrus store: it renews model versions before they expire
 * and the chain records it; deprecated versions lapse; a dry run changes nothing; a crash between the store and the
 * transaction, or after the transaction, is finished on restart with exactly one on-chain record; the rate limit
 * defers; what the signer may not record is renewed on Walrus and remembered.
 */
import { expect } from "chai";
import { currentEpoch, deprecateAllBut, keeperFor } from "./fixture";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { id, Wallet, type Signer, type TransactionRequest } from "ethers";
import { StrataClient, toBatchRoot, type ModelId } from "@strata/core";
import { advanceEpochs, NodeClient, publishTestModel, startLocalStack, type LocalStack } from "@strata/devkit";
import { startNodeServer } from "@strata/node";
import { localBlobLifetime } from "@strata/walrus";
import { KeeperJournal, modelKey, serveKeeperMetrics, type KeeperOptions } from "../src";

describe("keeper: model versions on a real chain and store", function () {
  this.timeout(180_000);
  let stack: LocalStack;
  let n = 0;

  before(async () => {
    stack = await startLocalStack({ network: "keeper", shards: 10 });
  });
  after(() => stack?.stop());

  const dataDir = () => join(stack.dir, `keeper-${++n}`);
  // The models' metadata blobs are kept too by default; their own tests are in metadata-and-proofs.test.ts.
  const keeper = (options: Partial<KeeperOptions> = {}) => keeperFor(stack, dataDir(), { metadata: false, ...options });
  /** Moves the store's clock and the chain's together, as real time moves both (a day an epoch). */
  const advance = (epochs: number) => advanceEpochs(stack.walrus.store, stack.provider, epochs);
  const epoch = () => currentEpoch(stack);
  const publish = async (name: string, epochs: number) => {
    const published = await publishTestModel(stack.client, stack.walrus.client, { name, seed: ++n, epochs });
    return { modelId: published.modelId as ModelId, blobId: published.blobId };
  };
  const extensions = async (modelId: string) =>
    stack.registries.modelRegistry.queryFilter(stack.registries.modelRegistry.filters.VersionExtended(modelId));
  /** Leaves only `keep` due: every other version is pushed out of reach of a renewal (deprecated). */
  const only = (...keep: string[]) => deprecateAllBut(stack, keep);

  it("renews an active model version before expiry: stored again up to current + 2E, recorded on-chain", async () => {
    const { modelId, blobId } = await publish("keep-me", 3);
    await only(modelId);
    const current = await epoch();
    const report = await keeper().cycle();
    expect(report.renewed.map((r) => r.key)).to.deep.equal([modelKey(modelId, 0)]);
    expect(report.renewed[0]).to.include({ recorded: true, fromEpoch: current + 3, toEpoch: current + 10 });
    expect((await stack.client.models.getVersion(modelId, 0)).endEpoch).to.equal(current + 10);
    expect((await localBlobLifetime(stack.walrus.url, blobId)).endEpoch).to.equal(current + 10);
    expect(await extensions(modelId)).to.have.length(1);
    // Survives the epoch its first storage ended in.
    await advance(4);
    expect(await stack.walrus.client.read(blobId)).to.have.length.above(0);
  });

  it("lets a deprecated version lapse: reported, nothing stored, nothing recorded", async () => {
    const { modelId, blobId } = await publish("old", 2);
    await only();
    const before = await localBlobLifetime(stack.walrus.url, blobId);
    const report = await keeper().cycle();
    const lapsed = report.lapsed.find((l) => l.key === modelKey(modelId, 0));
    expect(lapsed?.reason).to.match(/deprecated: let lapse at epoch/);
    expect(report.renewed).to.deep.equal([]);
    expect((await localBlobLifetime(stack.walrus.url, blobId)).endEpoch).to.equal(before.endEpoch);
    expect(await extensions(modelId)).to.have.length(0);
  });

  it("--dry-run plans the renewal and changes nothing: no store, no transaction, no journal", async () => {
    const { modelId, blobId } = await publish("dry", 2);
    await only(modelId);
    const before = await localBlobLifetime(stack.walrus.url, blobId);
    const k = keeper({ dryRun: true });
    const report = await k.cycle();
    expect(report.planned.map((p) => p.key)).to.deep.equal([modelKey(modelId, 0)]);
    expect(report.renewed).to.deep.equal([]);
    expect((await localBlobLifetime(stack.walrus.url, blobId)).endEpoch).to.equal(before.endEpoch);
    expect((await stack.client.models.getVersion(modelId, 0)).endEpoch).to.equal(before.endEpoch);
    expect(existsSync(k.journalPath)).to.equal(false);
    expect(k.metrics()).to.contain("strata_keeper_dry_run 1");
  });

  it("a crash between the store and the transaction: the restarted keeper records it exactly once", async () => {
    const { modelId, blobId } = await publish("crash-before-tx", 2);
    await only(modelId);
    const current = await epoch();
    const dir = dataDir();
    // A signer that dies when asked to send: the keeper stops after the store, as if killed there.
    const dying = new Proxy(stack.deployer, {
      get(target, prop, receiver) {
        if (prop === "sendTransaction") {
          return (_tx: TransactionRequest) => Promise.reject(new Error("killed before the transaction was sent"));
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as Signer;
    const first = await keeper({ dataDir: dir, signer: dying }).cycle();
    expect(first.couldNotRenew[0]?.reason).to.contain("recording on-chain failed");
    expect((await localBlobLifetime(stack.walrus.url, blobId)).endEpoch).to.equal(current + 10);
    expect(await extensions(modelId)).to.have.length(0);
    const journal = await KeeperJournal.open(join(dir, "keeper-journal.jsonl"));
    expect(journal.pending().map((r) => [r.key, r.storedEndEpoch])).to.deep.equal([
      [modelKey(modelId, 0), current + 10],
    ]);

    const second = await keeper({ dataDir: dir }).cycle();
    expect(second.recovered).to.equal(1);
    expect(second.renewed.map((r) => [r.key, r.recorded, r.toEpoch])).to.deep.equal([
      [modelKey(modelId, 0), true, current + 10],
    ]);
    const third = await keeper({ dataDir: dir }).cycle();
    expect(third.renewed).to.deep.equal([]);
    expect(await extensions(modelId)).to.have.length(1);
    expect((await stack.client.models.getVersion(modelId, 0)).endEpoch).to.equal(current + 10);
  });

  it("a crash after the transaction was mined: found on-chain on restart, not sent again", async () => {
    const { modelId } = await publish("crash-after-tx", 2);
    await only(modelId);
    const current = await epoch();
    const dir = dataDir();
    const path = join(dir, "keeper-journal.jsonl");
    // What a keeper killed right after its transaction was mined leaves: intent, stored, recording, sent; no done.
    const journal = await KeeperJournal.open(path);
    const id = journal.intend(modelKey(modelId, 0), "model", current + 10);
    const stored = await stack.walrus.client.store(
      await stack.walrus.client.read((await stack.client.models.getVersion(modelId, 0)).blobId),
      { epochs: 10 },
    );
    journal.append({ op: "stored", id, endEpoch: stored.endEpoch });
    journal.append({ op: "recording", ids: [id], endEpoch: stored.endEpoch });
    const tx = await stack.client.models.extendVersion(modelId, 0, stored.endEpoch);
    journal.append({ op: "sent", ids: [id], hash: tx.hash });
    await tx.wait();

    const report = await keeper({ dataDir: dir }).cycle();
    expect(report.recovered).to.equal(1);
    expect(report.renewed.map((r) => r.recorded)).to.deep.equal([true]);
    expect(await extensions(modelId)).to.have.length(1);
    expect(readFileSync(path, "utf8")).to.contain('"outcome":"recorded"');
  });

  it("the rate limit defers what is over it to a later cycle", async () => {
    const a = await publish("rate-a", 2);
    const b = await publish("rate-b", 2);
    const c = await publish("rate-c", 2);
    await only(a.modelId, b.modelId, c.modelId);
    let wall = Date.now();
    const k = keeper({ renewalsPerMinute: 2, wallMs: () => wall });
    const first = await k.cycle();
    expect(first.renewed).to.have.length(2);
    expect(first.deferred).to.have.length(1);
    const second = await k.cycle();
    expect(second.renewed).to.have.length(0);
    expect(second.deferred).to.have.length(1);
    wall += 61_000;
    const third = await k.cycle();
    expect(third.renewed).to.have.length(1);
    expect(third.deferred).to.have.length(0);
    expect(k.metrics()).to.contain("strata_keeper_deferred_total 2");
    // The same figures over HTTP, as Prometheus scrapes them.
    const served = await serveKeeperMetrics(() => k.metrics(), 0);
    try {
      const res = await fetch(`${served.url}/metrics`);
      expect(res.headers.get("content-type")).to.contain("text/plain; version=0.0.4");
      const text = await res.text();
      expect(text).to.contain('strata_keeper_renewed_total{kind="model"} 3');
      expect(text).to.contain("strata_keeper_last_cycle_deferred 0");
      expect(text).to.contain("strata_keeper_cycles_total 3");
    } finally {
      await served.close();
    }
  });

  it("renews on Walrus what its signer may not record, says so, and does not buy it again", async () => {
    const { modelId, blobId } = await publish("not-mine", 2);
    await only(modelId);
    const current = await epoch();
    const stranger = Wallet.createRandom(stack.provider);
    const dir = dataDir();
    const first = await keeper({ dataDir: dir, signer: stranger }).cycle();
    expect(first.renewed.map((r) => [r.recorded, r.note])).to.deep.equal([[false, "not the owner"]]);
    expect((await localBlobLifetime(stack.walrus.url, blobId)).endEpoch).to.equal(current + 10);
    expect(await extensions(modelId)).to.have.length(0);
    const again = await keeper({ dataDir: dir, signer: stranger }).cycle();
    expect(again.renewed).to.deep.equal([]);
  });

  it("renews the node's proof batch (a quilt) when fewer than W epochs are left, recorded by extendBatches", async () => {
    await only();
    const nodeSigner = new Wallet(stack.nodeKey, stack.provider);
    const owner = StrataClient.connect(stack.deployment, nodeSigner);
    const published = await publishTestModel(owner, stack.walrus.client, { name: "batch-model", seed: 77, epochs: 20 });
    const node = await startNodeServer({
      port: 0,
      host: "127.0.0.1",
      dataDir: join(stack.dir, "node"),
      signer: nodeSigner,
      client: StrataClient.connect(stack.deployment, stack.provider),
      walrus: stack.walrus.client,
      batch: { maxBatch: 4, maxAgeMs: 30_000, epochs: 5 }, // sealed at 4 proofs: one batch
    });
    try {
      const client = new NodeClient(node.url);
      for (let i = 0; i < 4; i++) {
        await client.infer({
          model: published.modelId,
          inputs: { x: { dtype: "float32", dims: [1, 4], data: [i, 1, 2, 3] } },
        });
      }
      while (((await client.metrics()).strata_proofs_anchored_total ?? 0) < 4)
        await new Promise((r) => setTimeout(r, 50));
    } finally {
      await node.stop();
    }
    const anchoredAt = await epoch();
    const [reference] = await stack.client.proofs.batchReferences(
      (await stack.registries.proofRegistry.queryFilter(stack.registries.proofRegistry.filters.BatchAnchored()))[0].args
        .root as never,
    );
    expect(reference.endEpoch).to.equal(anchoredAt + 5);
    const k = keeper({ signer: nodeSigner, nodes: undefined, models: false });
    expect((await k.cycle()).renewed).to.deep.equal([]);
    await advance(4); // 1 epoch left: fewer than W = 2
    const report = await k.cycle();
    expect(report.renewed.map((r) => [r.kind, r.subject, r.recorded, r.toEpoch])).to.deep.equal([
      ["batch", reference.root, true, anchoredAt + 26],
    ]);
    const after = await stack.client.proofs.batchReference(reference.root, nodeSigner.address);
    expect(after?.endEpoch).to.equal(anchoredAt + 26);
    for (const blobId of reference.blobIds) {
      expect((await localBlobLifetime(stack.walrus.url, blobId)).endEpoch).to.equal(anchoredAt + 26);
    }
    await advance(5);
    for (const blobId of reference.blobIds) expect(await stack.walrus.client.read(blobId)).to.have.length.above(0);
  });

  it("renews an announced batch (event only) and records it by announceBatchesExtended", async () => {
    await only();
    const nodeSigner = new Wallet(stack.nodeKey, stack.provider);
    const proofs = stack.client.proofs.connect(nodeSigner);
    const stored = await stack.walrus.client.store(new TextEncoder().encode(`announced batch ${Date.now()}`), {
      epochs: 3,
    });
    const root = toBatchRoot(id(`announced root ${Date.now()}`));
    await (await proofs.announceBatch(root, stored.blobId, 7, stored.endEpoch)).wait();
    const current = await epoch();
    await advance(2); // 1 epoch left
    const report = await keeper({ signer: nodeSigner, nodes: undefined, models: false }).cycle();
    const renewed = report.renewed.find((r) => r.subject === root);
    expect(renewed).to.include({ recorded: true, toEpoch: current + 26 });
    expect((await stack.client.proofs.batchReferences(root, nodeSigner.address)).map((r) => r.endEpoch)).to.include(
      current + 26,
    );
    expect((await stack.client.proofs.lifetimes(nodeSigner.address, [root])).get(root)).to.equal(current + 26);
    expect((await localBlobLifetime(stack.walrus.url, stored.blobId)).endEpoch).to.equal(current + 26);
  });

  it("reports an expired version it keeps as could not renew, with the epoch it expired at", async () => {
    const { modelId } = await publish("expired", 1);
    await only(modelId);
    const end = (await stack.client.models.getVersion(modelId, 0)).endEpoch;
    await advance(1);
    const k = keeper();
    const report = await k.cycle();
    expect(report.couldNotRenew.map((r) => [r.key, r.reason])).to.deep.equal([
      [modelKey(modelId, 0), `could not renew: expired at epoch ${end} (Walrus extends storage only before it ends)`],
    ]);
    expect(k.metrics()).to.contain("strata_keeper_last_cycle_could_not_renew 1");
  });
});
