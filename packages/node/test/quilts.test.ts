/**
 * The outbox seals v2 proofs into Walrus quilts (batch format v2): at 665 proofs per quilt or at the publisher's body
 * cap, whichever comes first, by Walrus's exact quilt size; one root may cover several quilts (anchorQuilts). Runs
 * against the local Walrus store at 1000 shards (mainnet's geometry: 666 patches per quilt) and an in-process chain.
 */
import { expect } from "chai";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
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
  decodeBatch,
  decodeBatchQuilt,
  encodeBinaryTensor,
  encodeTensor,
  ProofVersion,
  signProofWithCommitment,
  StrataClient,
  toBlobIdHex,
  toModelId,
  type BlobId,
  type Commitment,
  type InferenceProof,
  type RuntimeV1,
} from "@strata/core";
import { decodeQuilt, maxQuiltPatches, type QuiltPatchInput, type WalrusClient } from "@strata/walrus";
import {
  httpStatusOf,
  NODE_DEFAULTS,
  openJournalFile,
  Outbox,
  ProofTooLargeError,
  type JournalFile,
  type OutboxOptions,
  type OutboxStore,
} from "@strata/node";

const SHARDS = 1000;
const KiB = 1024;
const MiB = 1024 * KiB;
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
  node: Signer;
  walrus: TestWalrus;
  registries: Registries;
}

let counter = 0;

/** A signed proof of `inputBytes` bytes of uint8 input, v2 (binary tensors) unless `version` says 1. */
async function proof(
  env: Env,
  inputBytes = 16,
  version: ProofVersion = ProofVersion.V2,
): Promise<{ doc: InferenceProof; commitment: Commitment }> {
  counter++;
  const values = new Uint8Array(inputBytes).fill(counter % 251);
  const params = {
    domain: env.client.proofDomain,
    model: {
      id: toModelId(ethers.id("model")),
      version: 0,
      blobId: toBlobIdHex(ethers.id("blob")),
      sha256: ethers.id("sha"),
    },
    inputs: [
      version === ProofVersion.V2
        ? encodeBinaryTensor("x", "uint8", [inputBytes], values)
        : encodeTensor("x", "uint8", [inputBytes], values),
    ],
    outputs: [encodeBinaryTensor("y", "float32", [1], new Float32Array([counter]))],
    runtime: RUNTIME,
    node: env.node.address,
    timestamp: 1_760_000_000 + counter,
    requestId: ethers.id(`quilt request ${counter} ${Math.random()}`),
  };
  const unsigned = version === ProofVersion.V2 ? buildProof(params, { version: ProofVersion.V2 }) : buildProof(params);
  const { proof: doc, commitment } = await signProofWithCommitment(unsigned, env.node);
  return { doc, commitment };
}

/** The real store, whose `storeQuilt` can be made to fail (per call, counted) like a publisher outage. */
class FlakyQuilts {
  quiltCalls = 0;
  failQuilt: (call: number) => boolean = () => false;
  /** The epochs asked of the publisher for the `call`-th quilt (default: what the outbox asks). */
  epochsOf: (call: number, asked: number | undefined) => number | undefined = (_call, asked) => asked;
  /** The real store's answers, in call order. */
  answers: Awaited<ReturnType<WalrusClient["storeQuilt"]>>[] = [];
  readonly shards: number;
  constructor(private readonly inner: WalrusClient) {
    this.shards = inner.shards;
  }
  store(...args: Parameters<WalrusClient["store"]>) {
    return this.inner.store(...args);
  }
  async storeQuilt(patches: readonly QuiltPatchInput[], options?: Parameters<WalrusClient["storeQuilt"]>[1]) {
    const call = ++this.quiltCalls;
    if (this.failQuilt(call)) throw new Error(`publisher unreachable (quilt store ${call})`);
    const answer = await this.inner.storeQuilt(patches, { ...options, epochs: this.epochsOf(call, options?.epochs) });
    this.answers.push(answer);
    return answer;
  }
}

/** A journal file whose writes fail (ENOSPC) while `refuse` says so of the bytes. */
class Disk implements JournalFile {
  static refuse: (text: string) => boolean = () => false;
  constructor(private readonly inner: JournalFile) {}
  write(buffer: Uint8Array, offset: number, length: number, position: number) {
    if (Disk.refuse(Buffer.from(buffer.subarray(offset, offset + length)).toString("latin1"))) {
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

describe("Outbox: v2 batches as Walrus quilts", function () {
  this.timeout(600_000);
  let env: Env;

  before(async function () {
    const [admin, node] = await ethers.getSigners();
    const { registries, deployment } = await deployAndAdmit(admin, {
      network: "hardhat",
      nodes: [{ address: node.address, url: "http://127.0.0.1:1" }],
    });
    const walrus = await startTestWalrus({ shards: SHARDS, prefix: "strata-quilts-walrus-" });
    env = { deployment, client: StrataClient.connect(deployment, ethers.provider), node, walrus, registries };
  });
  after(async () => env?.walrus.close());

  async function open(options: OutboxOptions = {}, dir?: string, store: OutboxStore = env.walrus.client) {
    dir ??= await mkdtemp(join(tmpdir(), "strata-quilts-outbox-"));
    const outbox = await Outbox.open(dir, store, env.client.proofs.connect(env.node), env.node.address, {
      maxAgeMs: 600_000,
      maxBatch: 10_000,
      retryBaseMs: 20,
      retryMaxMs: 200,
      onError: (e) => process.env.STRATA_DEBUG && console.log(`    [outbox] ${e.message}`),
      ...options,
    });
    return { outbox, dir };
  }

  const registry = () => ProofRegistry__factory.connect(env.deployment.contracts.ProofRegistry, ethers.provider);

  /** Every anchoring event of `root` by the node: BatchAnchored and QuiltsAnchored. */
  async function anchorings(root: string) {
    const contract = registry();
    return [
      ...(await contract.queryFilter(contract.filters.BatchAnchored(root, env.node.address))),
      ...(await contract.queryFilter(contract.filters.QuiltsAnchored(root, env.node.address))),
    ];
  }

  async function expectAnchoredAndIncluded(outbox: Outbox, commitments: readonly Commitment[]) {
    for (const c of commitments) {
      const status = (await outbox.status(c))!;
      expect(status.status, c).to.equal("anchored");
      expect(
        await env.client.proofs.isIncluded(env.node.address, status.root!, c, status.merkleProof!),
        `${c} included on-chain`,
      ).to.equal(true);
    }
  }

  /** Reads each quilt of `quiltIds` whole from Walrus and checks it as a v2 batch quilt; returns them with sizes. */
  async function readQuilts(quiltIds: readonly BlobId[]) {
    const quilts = [];
    for (const quiltId of quiltIds) {
      const bytes = await env.walrus.client.read(quiltId);
      const quilt = decodeQuilt(bytes, { nShards: SHARDS });
      const contents = decodeBatchQuilt(
        quilt.patches.map((p) => ({ identifier: p.identifier, contents: quilt.patch(p) })),
      );
      quilts.push({ quiltId, size: bytes.length, contents });
    }
    return quilts;
  }

  it("no quilt the node produces is larger than the configured publisher cap (tensors of 1 KiB to 4 MiB)", async function () {
    const cap = NODE_DEFAULTS.batchMaxBytes; // 10 MiB, public publishers' body cap
    const { outbox } = await open({ maxBatchBytes: cap });
    const sizes = [
      ...Array(24).fill(1 * KiB),
      16 * KiB,
      64 * KiB,
      256 * KiB,
      1 * MiB,
      1 * MiB,
      3 * MiB,
      4 * MiB,
      4 * MiB,
    ];
    const commitments: Commitment[] = [];
    try {
      for (const size of sizes) {
        const p = await proof(env, size);
        commitments.push(await outbox.accept(p.doc, p.commitment));
      }
      await outbox.flush();
      const batches = await outbox.listBatches();
      const quiltIds = batches.flatMap((b) => b.quiltIds ?? []);
      expect(quiltIds.length, "the cap splits the proofs into several quilts").to.be.at.least(2);
      const quilts = await readQuilts(quiltIds);
      for (const q of quilts) expect(q.size, `quilt ${q.quiltId}`).to.be.at.most(cap);
      expect(quilts.flatMap((q) => q.contents.index.commitments).sort()).to.deep.equal([...commitments].sort());
      await expectAnchoredAndIncluded(outbox, commitments);
      console.log(`      quilts of ${quilts.map((q) => `${q.contents.proofs.length} proofs/${q.size} B`).join(", ")}`);
    } finally {
      await outbox.close();
    }
  });

  it("refuses with 413, at accept, a proof too large for any quilt, naming its size and the cap", async function () {
    const cap = 2 * MiB;
    const { outbox } = await open({ maxBatchBytes: cap });
    try {
      const big = await proof(env, 2 * MiB);
      const error = await outbox.accept(big.doc, big.commitment).then(
        () => undefined,
        (e: ProofTooLargeError) => e,
      );
      expect(error).to.be.instanceOf(ProofTooLargeError);
      expect(httpStatusOf(error!)).to.equal(413);
      expect(error!.bytes).to.be.greaterThan(cap);
      expect(error!.message).to.contain(`${error!.bytes} bytes`).and.to.contain(`at most ${cap} bytes`);
      expect(await outbox.status(big.commitment)).to.equal(undefined);
      // One just under the cap is accepted and anchored.
      const fits = await proof(env, 1 * MiB);
      await outbox.accept(fits.doc, fits.commitment);
      await outbox.flush();
      await expectAnchoredAndIncluded(outbox, [fits.commitment]);
    } finally {
      await outbox.close();
    }
  });

  it("seals a quilt at 665 proofs and anchors a root over several quilts once, with anchorQuilts", async function () {
    expect(maxQuiltPatches(SHARDS) - 1).to.equal(665);
    // A cap above what 665 small proofs and their index take, so the count seals first.
    const { outbox } = await open({ maxBatch: 700, maxBatchBytes: 64 * MiB });
    const commitments: Commitment[] = [];
    try {
      for (let i = 0; i < 700; i++) {
        const p = await proof(env, 8);
        commitments.push(await outbox.accept(p.doc, p.commitment));
      }
      await outbox.flush();
      const [batch, ...more] = await outbox.listBatches();
      expect(more).to.deep.equal([]);
      expect(batch.quiltIds).to.have.length(2);
      const quilts = await readQuilts(batch.quiltIds!);
      expect(quilts.map((q) => q.contents.proofs.length)).to.deep.equal([665, 35]);
      const events = await anchorings(batch.root);
      expect(events).to.have.length(1);
      const event = registry().interface.parseLog(events[0])!;
      expect(event.name).to.equal("QuiltsAnchored");
      expect(event.args.count).to.equal(700n);
      expect(event.args.quilts.map((q: string) => q.toLowerCase())).to.deep.equal(
        batch.quiltIds!.map((id) => blobIdToBytes32(id).toLowerCase()),
      );
      // A proof of the second quilt: its patch is in that quilt, and its proof (subtree ++ path) is accepted on-chain.
      const status = (await outbox.status(commitments[690]))!;
      expect(status.quiltId).to.equal(batch.quiltIds![1]);
      expect(status.blobId).to.equal(batch.quiltIds![1]);
      const read = await env.walrus.client.readPatch(status.patchId!, { verify: () => undefined });
      expect(read.identifier).to.equal(commitments[690]);
      await expectAnchoredAndIncluded(outbox, [commitments[0], commitments[664], commitments[665], commitments[699]]);
    } finally {
      await outbox.close();
    }
  });

  it("restarts mid-seal (one quilt stored, the next refused) and anchors the root once, with the same quilt IDs", async function () {
    const store = new FlakyQuilts(env.walrus.client);
    // Quilts of at most 3 proofs: 7 proofs make one root over 3 quilts.
    const { outbox, dir } = await open({ maxPerQuilt: 3 }, undefined, store);
    const commitments: Commitment[] = [];
    let root: string;
    try {
      for (let i = 0; i < 7; i++) {
        const p = await proof(env, 64);
        commitments.push(await outbox.accept(p.doc, p.commitment));
      }
      store.failQuilt = (call) => call === 2; // the first quilt is stored, the second is refused
      await outbox.flush();
      const [batch] = await outbox.listBatches();
      root = batch.root;
      expect(batch.quiltIds).to.equal(undefined); // not all stored: nothing journalled, nothing anchored
      expect((await outbox.status(commitments[0]))!.status).to.equal("batched");
      expect(await anchorings(root)).to.have.length(0);
    } finally {
      await outbox.close(); // the "crash": the quilt stored in memory is lost
    }
    const healthy = new FlakyQuilts(env.walrus.client);
    const { outbox: again } = await open({ maxPerQuilt: 3 }, dir, healthy);
    try {
      await again.flush();
      const [batch] = await again.listBatches();
      expect(batch.root).to.equal(root); // rebuilt as sealed: same quilts, same root
      expect(batch.quiltIds).to.have.length(3);
      expect(healthy.quiltCalls).to.equal(3);
      expect(await anchorings(root)).to.have.length(1);
      await expectAnchoredAndIncluded(again, commitments);
    } finally {
      await again.close();
    }
  });

  it("anchors a root over several quilts with the earliest end epoch of its quilts' store answers", async function () {
    const store = new FlakyQuilts(env.walrus.client);
    // The publisher stores the second quilt for fewer epochs than the others: the batch lives as long as that one.
    store.epochsOf = (call) => (call === 2 ? 3 : 8);
    const { outbox } = await open({ maxPerQuilt: 3 }, undefined, store);
    try {
      for (let i = 0; i < 7; i++) {
        const p = await proof(env, 64);
        await outbox.accept(p.doc, p.commitment);
      }
      await outbox.flush();
      const [batch] = await outbox.listBatches();
      const ends = store.answers.map((a) => a.endEpoch);
      expect(ends).to.have.length(3);
      expect(ends[1]).to.be.lessThan(ends[0]);
      const [event] = await anchorings(batch.root);
      const parsed = registry().interface.parseLog(event)!;
      expect(parsed.name).to.equal("QuiltsAnchored");
      expect(parsed.args.endEpoch).to.equal(BigInt(Math.min(...ends)));
      expect(batch.endEpoch).to.equal(Math.min(...ends));
      expect((await env.client.proofs.batchReference(batch.root, env.node.address))!.endEpoch).to.equal(ends[1]);
    } finally {
      await outbox.close();
    }
  });

  it("compacts waiting and sealed v2 proofs into binary frames, and rebuilds and anchors them after a restart", async function () {
    const store = new FlakyQuilts(env.walrus.client);
    const { outbox, dir } = await open({ maxBatch: 2, compactBytes: 0 }, undefined, store);
    const commitments: Commitment[] = [];
    let second: string;
    try {
      for (let i = 0; i < 4; i++) {
        const p = await proof(env, 512);
        commitments.push(await outbox.accept(p.doc, p.commitment));
      }
      store.failQuilt = (call) => call >= 2; // the first batch is stored and anchored (then compacted), not the second
      await outbox.flush();
      const batches = await outbox.listBatches();
      expect(batches.map((b) => Boolean(b.txHash))).to.deep.equal([true, false]);
      second = batches[1].root;
    } finally {
      await outbox.close();
    }
    // The compacted journal holds the second batch's two proofs as binary frames (no base64, no JSON) and its record.
    const journal = await readFile(join(dir, "journal.jsonl"));
    expect(journal.filter((byte) => byte === 0x1e).length).to.be.at.least(2);
    expect(journal.toString("latin1")).to.not.contain('"t":"proof"');
    const { outbox: again } = await open({ maxBatch: 2 }, dir);
    try {
      await again.flush();
      expect((await again.listBatches()).map((b) => b.root)).to.include(second);
      await expectAnchoredAndIncluded(again, commitments);
      expect(await anchorings(second)).to.have.length(1);
    } finally {
      await again.close();
    }
  });

  it("re-seals with a salt a root of quilts its own key already anchored with other quilts, and anchors it once", async function () {
    const store = new FlakyQuilts(env.walrus.client);
    const events: string[] = [];
    const { outbox } = await open({ maxPerQuilt: 2, onEvent: (m) => events.push(m) }, undefined, store);
    try {
      const proofs = await Promise.all([proof(env), proof(env), proof(env)]);
      for (const p of proofs) await outbox.accept(p.doc, p.commitment);
      store.failQuilt = () => true;
      await outbox.flush(); // sealed, not stored
      const [batch] = await outbox.listBatches();
      // The same key anchors that root elsewhere, with quilts of its own.
      const junk = [ethers.id("junk quilt 0"), ethers.id("junk quilt 1")].map((h) => blobIdFromBytes32(h));
      await (await env.client.proofs.connect(env.node).anchorQuilts(batch.root, junk, 3, 60)).wait();
      store.failQuilt = () => false;
      await outbox.flush();
      await outbox.flush();
      expect(outbox.stats.resealed).to.equal(1);
      expect(events.join("\n")).to.match(/re-sealed/);
      const status = (await outbox.status(proofs[0].commitment))!;
      expect(status.root).to.not.equal(batch.root);
      expect(await anchorings(status.root!)).to.have.length(1);
      await expectAnchoredAndIncluded(
        outbox,
        proofs.map((p) => p.commitment),
      );
    } finally {
      await outbox.close();
    }
  });

  it("anchors a root over quilts once when the anchored record could not be written before a restart", async function () {
    const journal = { openFile: async (path: string) => new Disk(await openJournalFile(path)) };
    const { outbox, dir } = await open({ maxPerQuilt: 2, journal });
    const commitments: Commitment[] = [];
    let root: string;
    try {
      for (let i = 0; i < 5; i++) {
        const p = await proof(env, 32);
        commitments.push(await outbox.accept(p.doc, p.commitment));
      }
      Disk.refuse = (text) => text.includes('"t":"anchored"');
      await outbox.flush(); // stored and anchored on-chain, but the "anchored" record cannot be written
      expect((await outbox.status(commitments[0]))!.status).to.equal("batched");
      root = (await outbox.listBatches())[0].root;
    } finally {
      Disk.refuse = () => false;
      await outbox.close();
    }
    const { outbox: again } = await open({ maxPerQuilt: 2 }, dir);
    try {
      await again.flush();
      await expectAnchoredAndIncluded(again, commitments);
      expect(await anchorings(root)).to.have.length(1);
    } finally {
      await again.close();
    }
  });

  it("restarted on an old journal, anchors its sealed v1 batch and waiting v1 proofs as v1 blobs, and v2 proofs in quilts", async function () {
    const dir = await mkdtemp(join(tmpdir(), "strata-quilts-old-"));
    const sealed = await Promise.all([proof(env, 16, ProofVersion.V1), proof(env, 16, ProofVersion.V1)]);
    const waiting = await proof(env, 16, ProofVersion.V1);
    const old = buildBatch(sealed.map((p) => p.doc));
    await mkdir(dir, { recursive: true });
    // What a node before v2 wrote: JSON lines only.
    await writeFile(
      join(dir, "journal.jsonl"),
      [
        ...[...sealed, waiting].map((p) => JSON.stringify({ t: "proof", doc: p.doc })),
        JSON.stringify({ t: "batch", root: old.root, commitments: old.commitments }),
      ].join("\n") + "\n",
    );
    const { outbox } = await open({}, dir);
    try {
      const fresh = await proof(env, 16);
      await outbox.accept(fresh.doc, fresh.commitment);
      await outbox.flush();
      const batches = await outbox.listBatches();
      expect(batches).to.have.length(3);
      const byRoot = new Map(batches.map((b) => [b.root, b]));
      // The sealed v1 batch keeps its root and is one v1 blob.
      const v1 = byRoot.get(old.root)!;
      expect(v1.quiltIds).to.equal(undefined);
      expect(decodeBatch(await env.walrus.client.read(v1.blobId!)).root).to.equal(old.root);
      // The waiting v1 proof is sealed into a v1 blob of its own; the v2 proof into a quilt.
      const waitingStatus = (await outbox.status(waiting.commitment))!;
      expect(decodeBatch(await env.walrus.client.read(waitingStatus.blobId!)).commitments).to.deep.equal([
        waiting.commitment,
      ]);
      const freshStatus = (await outbox.status(fresh.commitment))!;
      expect(freshStatus.quiltId).to.be.a("string");
      const [quilt] = await readQuilts([freshStatus.quiltId!]);
      expect(quilt.contents.index.commitments).to.deep.equal([fresh.commitment]);
      await expectAnchoredAndIncluded(
        outbox,
        [...sealed, waiting, fresh].map((p) => p.commitment),
      );
    } finally {
      await outbox.close();
    }
  });
});
