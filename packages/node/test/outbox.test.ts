import { expect } from "chai";
import { mkdtemp, writeFile, mkdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "hardhat";
import { ProofRegistry__factory, type Deployment, type Registries } from "@strata/contracts";
import { deployAndAdmit, startTestWalrus, type TestWalrus } from "@strata/devkit";
import {
  blobIdFromBytes32,
  blobIdToBytes32,
  buildBatch,
  buildProof,
  encodeTensor,
  signProofWithCommitment,
  StrataClient,
  toBlobIdHex,
  toModelId,
  type Commitment,
  type InferenceProof,
  type RuntimeV1,
} from "@strata/core";
import { WalrusClient, WalrusNetworkError, type StoreResult } from "@strata/walrus";
import {
  backoffDelay,
  httpStatusOf,
  JournalWriteError,
  openJournalFile,
  Outbox,
  ProofTooLargeError,
  type JournalFile,
  type OutboxOptions,
} from "@strata/node";

const SHARDS = 10;
const RUNTIME: RuntimeV1 = {
  engine: "onnxruntime-node",
  version: "1.30.0",
  graphOptimizationLevel: "extended",
  executionMode: "sequential",
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionProviders: ["cpu"],
};

type Signer = Awaited<ReturnType<typeof ethers.getSigners>>[number];

interface Env {
  deployment: Deployment;
  client: StrataClient;
  admin: Signer;
  nodeA: Signer;
  nodeB: Signer;
  walrus: TestWalrus;
  registries: Registries;
}

let counter = 0;

/** A signed proof by `signer`, whose input holds `floats` float32 values (so its size is chosen by the test). */
async function proof(env: Env, signer: Signer, floats = 4): Promise<{ doc: InferenceProof; commitment: Commitment }> {
  counter++;
  const unsigned = buildProof({
    domain: env.client.proofDomain,
    model: {
      id: toModelId(ethers.id("model")),
      version: 0,
      blobId: toBlobIdHex(ethers.id("blob")),
      sha256: ethers.id("sha"),
    },
    inputs: [encodeTensor("x", "float32", [1, floats], new Float32Array(floats).fill(counter))],
    outputs: [encodeTensor("y", "float32", [1, 1], new Float32Array([counter]))],
    runtime: RUNTIME,
    node: signer.address,
    timestamp: 1_750_000_000 + counter,
    requestId: ethers.id(`request ${counter} ${Math.random()}`),
  });
  const { proof: doc, commitment } = await signProofWithCommitment(unsigned, signer);
  return { doc, commitment };
}

/** A Walrus store whose `store` can be made to fail (per call) and whose calls are counted. */
class FlakyStore {
  calls: { at: number; bytes: number }[] = [];
  /** The real store's answers, in call order. */
  answers: StoreResult[] = [];
  fail: (bytes: Uint8Array) => boolean = () => false;
  constructor(private readonly inner: WalrusClient) {}
  async store(bytes: Uint8Array | string, options?: { epochs?: number }) {
    const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    this.calls.push({ at: Date.now(), bytes: b.length });
    if (this.fail(b)) throw new WalrusNetworkError("http://127.0.0.1:1/v1/blobs", new Error("connection refused"));
    const answer = await this.inner.store(b, options);
    this.answers.push(answer);
    return answer;
  }
}

/** A journal file whose writes fail with ENOSPC while `full` is set, or while `refuse` says so of the bytes. */
class Disk implements JournalFile {
  static full = false;
  static refuse: (text: string) => boolean = () => false;
  constructor(private readonly inner: JournalFile) {}
  write(buffer: Uint8Array, offset: number, length: number, position: number) {
    const text = Buffer.from(buffer.subarray(offset, offset + length)).toString();
    if (Disk.full || Disk.refuse(text)) {
      return Promise.reject(Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" }));
    }
    return this.inner.write(buffer, offset, length, position);
  }
  truncate(length: number) {
    return this.inner.truncate(length);
  }
  datasync() {
    return this.inner.datasync();
  }
  close() {
    return this.inner.close();
  }
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("Outbox under faults", function () {
  this.timeout(120_000);
  let env: Env;
  let walrusClient: WalrusClient;

  before(async function () {
    const [admin, nodeA, nodeB] = await ethers.getSigners();
    const { registries, deployment } = await deployAndAdmit(admin, {
      network: "hardhat",
      nodes: [
        { address: nodeA.address, url: "http://127.0.0.1:1" },
        { address: nodeB.address, url: "http://127.0.0.1:2" },
      ],
    });
    const walrus = await startTestWalrus({ shards: SHARDS, prefix: "strata-outbox-walrus-" });
    walrusClient = walrus.client;
    env = {
      deployment,
      client: StrataClient.connect(deployment, ethers.provider),
      admin,
      nodeA,
      nodeB,
      walrus,
      registries,
    };
  });
  after(async () => env?.walrus.close());

  async function open(options: OutboxOptions = {}, dir?: string, store: Pick<WalrusClient, "store"> = walrusClient) {
    dir ??= await mkdtemp(join(tmpdir(), "strata-outbox-"));
    const outbox = await Outbox.open(dir, store, env.client.proofs.connect(env.nodeA), env.nodeA.address, {
      maxAgeMs: 60_000,
      retryBaseMs: 20,
      retryMaxMs: 200,
      onError: (e) => process.env.STRATA_DEBUG && console.log(`    [outbox] ${e.message}`),
      ...options,
    });
    return { outbox, dir };
  }

  async function anchoredEvents(root: string, node: string) {
    const contract = ProofRegistry__factory.connect(env.deployment.contracts.ProofRegistry, ethers.provider);
    return contract.queryFilter(contract.filters.BatchAnchored(root, node));
  }

  async function expectAnchoredAndIncluded(outbox: Outbox, commitments: Commitment[]) {
    for (const c of commitments) {
      const status = (await outbox.status(c))!;
      expect(status.status, c).to.equal("anchored");
      expect(
        await env.client.proofs.isIncluded(env.nodeA.address, status.root!, c, status.merkleProof!),
        `${c} included on-chain`,
      ).to.equal(true);
    }
  }

  it("computes exponential backoff with jitter between half and all of the capped delay", function () {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n, 100, 1_000, () => 1))).to.deep.equal([100, 200, 400, 800, 1000]);
    expect([1, 2, 3].map((n) => backoffDelay(n, 100, 1_000, () => 0))).to.deep.equal([50, 100, 200]);
  });

  it("seals batches by bytes, so no batch blob exceeds the byte cap", async function () {
    const cap = 24 * 1024;
    const { outbox } = await open({ maxBatch: 1000, maxBatchBytes: cap });
    try {
      const commitments: Commitment[] = [];
      for (let i = 0; i < 8; i++) {
        const p = await proof(env, env.nodeA, 1500); // ~8 KiB each in the batch's JSON
        commitments.push(await outbox.accept(p.doc, p.commitment));
      }
      await outbox.flush();
      const batches = await outbox.listBatches();
      expect(batches.length).to.be.greaterThan(1);
      for (const b of batches) {
        const bytes = await walrusClient.read(b.blobId!);
        expect(bytes.length, `batch ${b.root}`).to.be.at.most(cap);
      }
      expect(batches.flatMap((b) => b.commitments).sort()).to.deep.equal([...commitments].sort());
      await expectAnchoredAndIncluded(outbox, commitments);
    } finally {
      await outbox.close();
    }
  });

  it("refuses with 413 a proof too large to ever fit in a batch, and keeps nothing of it", async function () {
    const { outbox, dir } = await open({ maxBatchBytes: 16 * 1024 });
    try {
      const big = await proof(env, env.nodeA, 8000);
      const error = await outbox.accept(big.doc, big.commitment).then(
        () => undefined,
        (e: ProofTooLargeError) => e,
      );
      expect(error).to.be.instanceOf(ProofTooLargeError);
      expect(httpStatusOf(error!)).to.equal(413);
      expect(error!.message).to.match(/at most 16384 bytes/);
      expect(outbox.stats.accepted).to.equal(0);
      expect(await outbox.status(big.commitment)).to.equal(undefined);
      expect(await readFile(join(dir, "journal.jsonl"), "utf8")).to.equal("");
    } finally {
      await outbox.close();
    }
  });

  it("splits a sealed batch over the byte cap that an older node left in its journal, and anchors every proof", async function () {
    const dir = await mkdtemp(join(tmpdir(), "strata-outbox-old-"));
    const proofs = await Promise.all(Array.from({ length: 6 }, () => proof(env, env.nodeA, 1500)));
    const old = buildBatch(proofs.map((p) => p.doc)); // one batch of ~50 KiB, sealed with no byte cap
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, "journal.jsonl"),
      [
        ...proofs.map((p) => JSON.stringify({ t: "proof", doc: p.doc })),
        JSON.stringify({ t: "batch", root: old.root, commitments: old.commitments }),
      ].join("\n") + "\n",
    );
    const { outbox } = await open({ maxBatchBytes: 24 * 1024 }, dir);
    try {
      await outbox.flush();
      await outbox.flush();
      const batches = await outbox.listBatches();
      expect(batches.every((b) => b.txHash)).to.equal(true);
      expect(batches.map((b) => b.root)).to.not.include(old.root);
      await expectAnchoredAndIncluded(
        outbox,
        proofs.map((p) => p.commitment),
      );
    } finally {
      await outbox.close();
    }
  });

  it("anchors each batch with the end epoch of its store answer, and keeps it in the index", async function () {
    const store = new FlakyStore(walrusClient);
    const { outbox } = await open({ maxBatch: 2, epochs: 7 }, undefined, store);
    try {
      for (let i = 0; i < 2; i++) {
        const p = await proof(env, env.nodeA);
        await outbox.accept(p.doc, p.commitment);
      }
      await outbox.flush();
      const [batch] = await outbox.listBatches();
      const [answer] = store.answers;
      expect(answer.blobId).to.equal(batch.blobId);
      const [event] = await anchoredEvents(batch.root, env.nodeA.address);
      expect(event.args.endEpoch).to.equal(BigInt(answer.endEpoch));
      expect(batch.endEpoch).to.equal(answer.endEpoch);
      expect((await env.client.proofs.getBatch(env.nodeA.address, batch.root))!.endEpoch).to.equal(answer.endEpoch);
    } finally {
      await outbox.close();
    }
  });

  it("anchors after a restart with the end epoch journalled with the stored Blob ID, without storing again", async function () {
    const first = new FlakyStore(walrusClient);
    const { outbox, dir } = await open({ quarantineAfter: 100 }, undefined, first);
    const p = await proof(env, env.nodeA);
    let root: string;
    try {
      await outbox.accept(p.doc, p.commitment);
      await (await env.registries.nodeRegistry.removeNode(env.nodeA.address)).wait();
      await outbox.flush(); // stored (journalled with its end epoch), then refused by the chain
      [{ root }] = await outbox.listBatches();
      expect(first.answers).to.have.length(1);
      expect(await anchoredEvents(root, env.nodeA.address)).to.have.length(0);
    } finally {
      await outbox.close();
      await (await env.registries.nodeRegistry.admitNode(env.nodeA.address, "http://127.0.0.1:1")).wait();
    }
    const journal = await readFile(join(dir, "journal.jsonl"), "utf8");
    expect(journal).to.contain(`"endEpoch":${first.answers[0].endEpoch}`);
    const again = new FlakyStore(walrusClient);
    const { outbox: reopened } = await open({}, dir, again);
    try {
      await reopened.flush();
      expect(again.calls).to.have.length(0);
      const [event] = await anchoredEvents(root, env.nodeA.address);
      expect(event.args.endEpoch).to.equal(BigInt(first.answers[0].endEpoch));
      await expectAnchoredAndIncluded(reopened, [p.commitment]);
    } finally {
      await reopened.close();
    }
  });

  it("stores again a batch an older node journalled as stored without an end epoch, and anchors with the answer's", async function () {
    const dir = await mkdtemp(join(tmpdir(), "strata-outbox-old-stored-"));
    const proofs = await Promise.all(Array.from({ length: 2 }, () => proof(env, env.nodeA)));
    const old = buildBatch(proofs.map((p) => p.doc));
    const stored = await walrusClient.store(old.bytes, { epochs: 4 }); // what the older node stored
    await writeFile(
      join(dir, "journal.jsonl"),
      [
        ...proofs.map((p) => JSON.stringify({ t: "proof", doc: p.doc })),
        JSON.stringify({ t: "batch", root: old.root, commitments: old.commitments }),
        JSON.stringify({ t: "stored", root: old.root, blobId: stored.blobId }),
      ].join("\n") + "\n",
    );
    const store = new FlakyStore(walrusClient);
    const { outbox } = await open({}, dir, store);
    try {
      await outbox.flush();
      expect(store.answers.map((a) => a.blobId)).to.deep.equal([stored.blobId]); // the same bytes, the same Blob ID
      const [event] = await anchoredEvents(old.root, env.nodeA.address);
      expect(event.args.blobId).to.equal(blobIdToBytes32(stored.blobId));
      expect(event.args.endEpoch).to.equal(BigInt(store.answers[0].endEpoch));
      expect(store.answers[0].endEpoch).to.be.at.least(stored.endEpoch);
      await expectAnchoredAndIncluded(
        outbox,
        proofs.map((p) => p.commitment),
      );
    } finally {
      await outbox.close();
    }
  });

  it("backs off a failing store, quarantines the batch that keeps failing, and anchors later batches meanwhile", async function () {
    const store = new FlakyStore(walrusClient);
    const { outbox } = await open(
      { maxBatch: 1, quarantineAfter: 3, retryBaseMs: 40, retryMaxMs: 400 },
      undefined,
      store,
    );
    const bad = await proof(env, env.nodeA);
    const marker = new TextEncoder().encode(bad.commitment);
    const holds = (bytes: Uint8Array) => Buffer.from(bytes).includes(Buffer.from(marker));
    store.fail = holds;
    outbox.start();
    try {
      await outbox.accept(bad.doc, bad.commitment);
      await until(() => outbox.quarantined().length === 1, "the failing batch to be quarantined");
      const good = await Promise.all([proof(env, env.nodeA), proof(env, env.nodeA)]);
      for (const p of good) await outbox.accept(p.doc, p.commitment);
      await until(async () => (await outbox.status(good[1].commitment))?.status === "anchored", "later batches");
      const q = outbox.quarantined()[0];
      expect(q.attempts).to.be.at.least(3);
      expect(q.lastError).to.match(/connection refused/);
      // Backoff: in a second of failures there are a handful of attempts, not one per 50 ms tick.
      const failedCalls = () => store.calls.filter((c) => c.bytes > 0).length;
      const before = failedCalls();
      await new Promise((r) => setTimeout(r, 1_000));
      expect(failedCalls() - before).to.be.at.most(5);
      // The store heals: the quarantined batch is anchored too.
      store.fail = () => false;
      await until(async () => (await outbox.status(bad.commitment))?.status === "anchored", "the healed batch", 10_000);
      expect(outbox.quarantined()).to.deep.equal([]);
      expect(outbox.counts().quarantined).to.equal(0);
    } finally {
      await outbox.close();
    }
  });

  it("detects an anchoring transaction dropped from the mempool and sends it again, anchoring once", async function () {
    const { outbox } = await open({ txTimeoutMs: 300 });
    const p = await proof(env, env.nodeA);
    await outbox.accept(p.doc, p.commitment);
    await ethers.provider.send("evm_setAutomine", [false]);
    let root: string;
    try {
      await outbox.flush(); // sends, then gives up waiting for mining after 300 ms
      const [batch] = await outbox.listBatches();
      root = batch.root;
      const pending = (await ethers.provider.send("eth_getBlockByNumber", ["pending", false])) as {
        transactions: string[];
      };
      expect(pending.transactions.length).to.be.greaterThan(0);
      for (const hash of pending.transactions) await ethers.provider.send("hardhat_dropTransaction", [hash]);
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
    try {
      await outbox.flush();
      expect(outbox.stats.resent).to.equal(1);
      await expectAnchoredAndIncluded(outbox, [p.commitment]);
      expect(await anchoredEvents(root, env.nodeA.address)).to.have.length(1);
    } finally {
      await outbox.close();
    }
  });

  it("anchors its batch under its own key even when another node anchored the same root first", async function () {
    const store = new FlakyStore(walrusClient);
    const { outbox } = await open({}, undefined, store);
    try {
      const proofs = await Promise.all([proof(env, env.nodeA), proof(env, env.nodeA)]);
      for (const p of proofs) await outbox.accept(p.doc, p.commitment);
      store.fail = () => true;
      await outbox.flush(); // sealed, not stored
      const [batch] = await outbox.listBatches();
      // Node B grabs the root with a Blob ID of its choosing.
      await (
        await env.client.proofs.connect(env.nodeB).anchorBatch(batch.root, blobIdFromBytes32(ethers.id("junk")), 2, 60)
      ).wait();
      store.fail = () => false;
      await outbox.flush();
      await expectAnchoredAndIncluded(
        outbox,
        proofs.map((p) => p.commitment),
      );
      const reference = await env.client.proofs.batchReference(batch.root, env.nodeA.address);
      const status = (await outbox.status(proofs[0].commitment))!;
      expect(reference!.node).to.equal(env.nodeA.address);
      expect(status.root).to.equal(batch.root);
      expect(outbox.stats.resealed).to.equal(0);
    } finally {
      await outbox.close();
    }
  });

  it("re-seals with a salt a batch whose root its own key already anchored with another blob", async function () {
    const store = new FlakyStore(walrusClient);
    const events: string[] = [];
    const { outbox, dir } = await open({ onEvent: (m) => events.push(m) }, undefined, store);
    const proofs = await Promise.all([proof(env, env.nodeA), proof(env, env.nodeA)]);
    try {
      for (const p of proofs) await outbox.accept(p.doc, p.commitment);
      store.fail = () => true;
      await outbox.flush();
      const [batch] = await outbox.listBatches();
      await (
        await env.client.proofs
          .connect(env.nodeA)
          .anchorBatch(batch.root, blobIdFromBytes32(ethers.id("other blob")), 2, 60)
      ).wait();
      store.fail = () => false;
      await outbox.flush();
      await outbox.flush();
      expect(outbox.stats.resealed).to.equal(1);
      expect(events.join("\n")).to.match(/re-sealed/);
      const status = (await outbox.status(proofs[0].commitment))!;
      expect(status.root).to.not.equal(batch.root);
      await expectAnchoredAndIncluded(
        outbox,
        proofs.map((p) => p.commitment),
      );
    } finally {
      await outbox.close();
    }
    // The re-sealed state survives a restart.
    const { outbox: again } = await open({}, dir);
    try {
      await expectAnchoredAndIncluded(
        again,
        proofs.map((p) => p.commitment),
      );
      expect(again.counts().sealed).to.equal(0);
    } finally {
      await again.close();
    }
  });

  it("refuses new proofs (503 NODE_NOT_ACTIVE) once the chain refuses its anchors, and anchors the backlog after re-admission", async function () {
    const { outbox } = await open({ quarantineAfter: 100 });
    const first = await proof(env, env.nodeA);
    try {
      await outbox.accept(first.doc, first.commitment);
      await (await env.registries.nodeRegistry.removeNode(env.nodeA.address)).wait();
      await outbox.flush();
      const refused = outbox.refusal();
      expect(refused?.code).to.equal("NODE_NOT_ACTIVE");
      expect(refused && httpStatusOf(refused)).to.equal(503);
      const next = await proof(env, env.nodeA);
      const error = await outbox.accept(next.doc, next.commitment).then(
        () => undefined,
        (e: Error) => e,
      );
      expect((error as { code?: string })?.code).to.equal("NODE_NOT_ACTIVE");
      await (await env.registries.nodeRegistry.admitNode(env.nodeA.address, "http://127.0.0.1:1")).wait();
      await outbox.flush();
      await expectAnchoredAndIncluded(outbox, [first.commitment]);
      expect(outbox.refusal()).to.equal(undefined);
    } finally {
      await outbox.close();
    }
  });

  it("keeps memory and the journal bounded by the backlog: anchored proofs are answered from the index after a restart", async function () {
    const { outbox, dir } = await open({ maxBatch: 5, compactBytes: 0 });
    const commitments: Commitment[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const p = await proof(env, env.nodeA);
        commitments.push(await outbox.accept(p.doc, p.commitment));
      }
      await outbox.flush();
      expect(outbox.counts()).to.deep.include({ waiting: 0, sealed: 0, anchoredBatches: 4, backlogBytes: 0 });
    } finally {
      await outbox.close();
    }
    // Everything anchored was compacted out of the journal.
    expect(await readFile(join(dir, "journal.jsonl"), "utf8")).to.equal("");
    const { outbox: again } = await open({}, dir);
    try {
      expect(again.counts()).to.deep.include({ waiting: 0, sealed: 0, anchoredBatches: 4 });
      await expectAnchoredAndIncluded(again, commitments);
    } finally {
      await again.close();
    }
  });

  it("loses no acknowledged proof through a full disk: a refused proof is never batched, and nothing is anchored twice", async function () {
    const journal = { openFile: async (path: string) => new Disk(await openJournalFile(path)) };
    const { outbox, dir } = await open({ journal });
    const [a, b, c] = await Promise.all([proof(env, env.nodeA), proof(env, env.nodeA), proof(env, env.nodeA)]);
    try {
      await outbox.accept(a.doc, a.commitment);
      Disk.full = true;
      const error = await outbox.accept(b.doc, b.commitment).then(
        () => undefined,
        (e: JournalWriteError) => e,
      );
      expect(error).to.be.instanceOf(JournalWriteError);
      expect(httpStatusOf(error!)).to.equal(507);
      expect(await outbox.status(b.commitment)).to.equal(undefined);
      // The disk is still full when the batcher seals and anchors: the "batch" record cannot be written, so nothing
      // leaves the machine; nothing of b is in any batch.
      await outbox.flush();
      expect(outbox.counts().sealed).to.equal(0);
      Disk.full = false;
      await outbox.accept(c.doc, c.commitment);
      await outbox.flush();
      await expectAnchoredAndIncluded(outbox, [a.commitment, c.commitment]);
      const batches = await outbox.listBatches();
      expect(batches.flatMap((x) => x.commitments).sort()).to.deep.equal([a.commitment, c.commitment].sort());
    } finally {
      Disk.full = false;
      await outbox.close();
    }
    const { outbox: again } = await open({}, dir);
    try {
      await expectAnchoredAndIncluded(again, [a.commitment, c.commitment]);
      for (const batch of await again.listBatches()) {
        expect(await anchoredEvents(batch.root, env.nodeA.address)).to.have.length(1);
      }
    } finally {
      await again.close();
    }
  });

  it("retries an anchored record it could not write, without anchoring the batch twice", async function () {
    const journal = { openFile: async (path: string) => new Disk(await openJournalFile(path)) };
    const { outbox, dir } = await open({ journal });
    const p = await proof(env, env.nodeA);
    let root: string;
    try {
      await outbox.accept(p.doc, p.commitment);
      Disk.refuse = (text) => text.includes('"t":"anchored"');
      await outbox.flush(); // stored and anchored on-chain, but the "anchored" record cannot be written
      expect((await outbox.status(p.commitment))!.status).to.equal("batched");
      root = (await outbox.listBatches())[0].root;
      Disk.refuse = () => false;
      await outbox.flush();
      await expectAnchoredAndIncluded(outbox, [p.commitment]);
    } finally {
      Disk.refuse = () => false;
      await outbox.close();
    }
    expect(await anchoredEvents(root, env.nodeA.address)).to.have.length(1);
    const { outbox: again } = await open({}, dir);
    try {
      await expectAnchoredAndIncluded(again, [p.commitment]);
    } finally {
      await again.close();
    }
  });
});
