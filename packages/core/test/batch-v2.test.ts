import { createHash } from "node:crypto";
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { SimpleMerkleTree, StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { Wallet } from "ethers";
import {
  BATCH_INDEX_IDENTIFIER,
  BatchFormatError,
  batchIndexPatchSize,
  buildBatch,
  buildBatchV2,
  buildProof,
  canonicalJson,
  decodeBatch,
  decodeBatchIndex,
  decodeBatchQuilt,
  encodeProof,
  encodeTensor,
  inclusionOf,
  inspectBatch,
  inspectBatchIndex,
  NotInBatchError,
  planBatchV2,
  anyProofCommitment,
  proofCommitment,
  ProofVersion,
  signProof,
  verifyBatchInclusion,
  toCommitment,
  type BatchPatch,
  type Commitment,
  type InferenceProofV2,
  type ProofBatchV2,
  type QuiltSizeOf,
} from "../src";
import { b32, blob, deployFixture, proofParams } from "./fixtures";

const wallet = new Wallet(b32("batch v2 node key"));

async function proofsFixture() {
  const base = await deployFixture();
  await (await base.client.nodes.admitNode(base.node.address, "http://node")).wait();
  const proofs: InferenceProofV2[] = [];
  for (let i = 0; i < 40; i++) {
    const params = proofParams(base.client, wallet.address, {
      requestId: b32(`request ${i}`),
      inputs: [encodeTensor("input", "float32", [1, 4 + (i % 3)], new Float32Array(4 + (i % 3)).fill(i))],
    });
    proofs.push(await signProof(buildProof(params, { version: ProofVersion.V2 }), wallet));
  }
  return { ...base, proofs, registry: base.client.proofs.connect(base.node) };
}

/** A stand-in for walrus `quiltSize`: the patch contents plus a per-patch and a per-quilt overhead. */
const fakeSize: QuiltSizeOf = (patches) =>
  1000 + patches.reduce((sum, p) => sum + p.size + 8 + Buffer.byteLength(p.identifier), 0);

/** The reference root of a batch: OpenZeppelin trees built here from the quilts' values, not by core. */
function referenceRoot(batch: ProofBatchV2): string {
  const subroots = batch.quilts.map((q, k) => {
    const values = k === 0 && batch.salt !== undefined ? [...q.commitments, batch.salt] : q.commitments;
    return StandardMerkleTree.of(
      values.map((v) => [v]),
      ["bytes32"],
    ).root;
  });
  return subroots.length === 1 ? subroots[0] : SimpleMerkleTree.of(subroots, { sortLeaves: false }).root;
}

function batchError(run: () => unknown): BatchFormatError {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(BatchFormatError);
    return error as BatchFormatError;
  }
  expect.fail("expected a BatchFormatError");
}

/** The header and body of an index patch, read by hand (not by the library). */
function splitIndex(bytes: Uint8Array): { header: Record<string, unknown>; body: Buffer } {
  const b = Buffer.from(bytes);
  const length = b.readUInt32LE(6);
  return {
    header: JSON.parse(b.subarray(10, 10 + length).toString("utf8")) as Record<string, unknown>,
    body: b.subarray(10 + length),
  };
}

/** An index patch framed by hand: 0x89 "STI", u16 LE version, u32 LE header length, header, body. */
function frameIndex(header: string, body: Uint8Array, version = 2, magic = [0x89, 0x53, 0x54, 0x49]): Uint8Array {
  const h = Buffer.from(header, "utf8");
  const prefix = Buffer.alloc(10);
  Buffer.from(magic).copy(prefix, 0);
  prefix.writeUInt16LE(version, 4);
  prefix.writeUInt32LE(h.length, 6);
  return new Uint8Array(Buffer.concat([prefix, h, body]));
}

/** An index patch re-framed after `edit` of its header (canonical, so only the edit is wrong). */
function editIndex(bytes: Uint8Array, edit: (doc: Record<string, unknown>) => void): Uint8Array {
  const { header, body } = splitIndex(bytes);
  edit(header);
  return frameIndex(canonicalJson(header), body);
}

describe("core proof batches v2 (quilts)", function () {
  // quilts -> [proofs, maxPerQuilt]
  const shapes: [number, number, number][] = [
    [1, 5, 665],
    [2, 5, 3],
    [3, 7, 3],
    [16, 31, 2],
  ];
  for (const [quilts, count, maxPerQuilt] of shapes) {
    it(`builds ${quilts} quilt(s) whose concatenated proofs verify with OpenZeppelin's StandardMerkleTree.verify`, async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const batch = buildBatchV2(proofs.slice(0, count), { maxPerQuilt });
      expect(batch.quilts).to.have.length(quilts);
      expect(batch.count).to.equal(count);
      expect(batch.root).to.equal(referenceRoot(batch));
      batch.inclusions.forEach((inclusion, i) => {
        expect(inclusion.commitment).to.equal(proofCommitment(proofs[i]));
        expect(StandardMerkleTree.verify(batch.root, ["bytes32"], [inclusion.commitment], inclusion.proof)).to.equal(
          true,
          `proof ${i}`,
        );
        // Not under another root.
        expect(
          StandardMerkleTree.verify(b32("other root"), ["bytes32"], [inclusion.commitment], inclusion.proof),
        ).to.equal(false);
      });
      for (const quilt of batch.quilts) {
        const identifiers = quilt.patches.map((p) => p.identifier);
        expect(identifiers).to.deep.equal([...quilt.commitments, BATCH_INDEX_IDENTIFIER]);
        const index = decodeBatchIndex(quilt.patches.at(-1)!.contents);
        expect(index).to.deep.include({ root: batch.root, quilt: quilt.quilt, quilts, count, subroot: quilt.subroot });
        if (quilts === 1) expect(index.path).to.deep.equal([]);
        const inspected = inspectBatchIndex(quilt.patches.at(-1)!.contents);
        for (const commitment of quilt.commitments) {
          const expected = batch.inclusions.find((c) => c.commitment === commitment)!;
          expect(inclusionOf(index, commitment)).to.deep.include({
            root: batch.root,
            proof: expected.proof,
            quilt: quilt.quilt,
          });
          expect(inclusionOf(inspected, commitment).proof).to.deep.equal(expected.proof);
        }
        // Each proof patch is the proof's v2 bytes, and the whole quilt reads back strictly.
        const contents = decodeBatchQuilt(quilt.patches);
        expect(contents.proofs.map((p) => anyProofCommitment(p))).to.deep.equal(quilt.commitments);
      }
    });
  }

  it("has, with one quilt, the root of the v1 batch tree over the same commitments", async function () {
    const { proofs } = await loadFixture(proofsFixture);
    const v2 = buildBatchV2(proofs.slice(0, 4));
    const reference = StandardMerkleTree.of(
      proofs.slice(0, 4).map((p) => [proofCommitment(p)]),
      ["bytes32"],
    );
    expect(v2.root).to.equal(reference.root);
    expect(v2.quilts[0].index.values).to.deep.equal(proofs.slice(0, 4).map((p) => proofCommitment(p)));
  });

  it("anchors 1, 3 and 16 quilts, and ProofRegistry.isIncluded accepts every concatenated proof", async function () {
    const { proofs, registry, node } = await loadFixture(proofsFixture);
    for (const [count, maxPerQuilt, quilts] of [
      [3, 665, 1],
      [7, 3, 3],
      [31, 2, 16],
    ]) {
      const batch = buildBatchV2(proofs.slice(0, count), { maxPerQuilt, salt: b32(`salt ${count}`) });
      expect(batch.quilts).to.have.length(quilts);
      const ids = batch.quilts.map((q) => blob(`quilt ${count}/${q.quilt}`));
      if (quilts === 1) await (await registry.anchorBatch(batch.root, ids[0], batch.count, 60)).wait();
      else await (await registry.anchorQuilts(batch.root, ids, batch.count, 60)).wait();
      for (const inclusion of batch.inclusions) {
        expect(await registry.isIncluded(node.address, batch.root, inclusion.commitment, inclusion.proof)).to.equal(
          true,
        );
      }
      // A proof of quilt 0 with the path of another quilt does not pass.
      if (quilts > 1) {
        const first = batch.inclusions[0];
        const wrongPath = [
          ...first.proof.slice(0, first.proof.length - batch.quilts[0].path.length),
          ...batch.quilts[1].path,
        ];
        expect(await registry.isIncluded(node.address, batch.root, first.commitment, wrongPath)).to.equal(false);
      }
    }
  });

  it("builds 10,000 proofs into 16 quilts of at most 665, with index patches of about 32 bytes per proof", function () {
    // The node's own encoded proofs (trusted input): a binary proof frame is all buildBatchV2 looks at.
    const proofs = Array.from({ length: 10_000 }, (_, i) => ({
      commitment: toCommitment(`0x${createHash("sha256").update(`big ${i}`).digest("hex")}`),
      bytes: Uint8Array.of(0x89, 0x53, 0x54, 0x50, i & 0xff),
    }));
    const batch = buildBatchV2(proofs);
    expect(batch.quilts.map((q) => q.commitments.length)).to.deep.equal([...Array(15).fill(665), 25]);
    for (const quilt of batch.quilts) {
      const index = decodeBatchIndex(quilt.index.bytes);
      expect(index.bytes.length).to.be.below(32 * quilt.commitments.length + 700);
      expect(index.path).to.have.length(4); // floor(log2(2 * 16 - 1 - k))
    }
    for (const i of [0, 664, 665, 5000, 9999]) {
      const inclusion = batch.inclusions[i];
      expect(StandardMerkleTree.verify(batch.root, ["bytes32"], [proofs[i].commitment], inclusion.proof)).to.equal(
        true,
      );
    }
  });

  describe("salted batches", function () {
    it("adds the salt to quilt 0's subtree only; the root changes and every proof still verifies", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const plain = buildBatchV2(proofs.slice(0, 7), { maxPerQuilt: 3 });
      const salt = b32("salt");
      const salted = buildBatchV2(proofs.slice(0, 7), { maxPerQuilt: 3, salt });
      expect(salted.root).to.not.equal(plain.root);
      expect(salted.root).to.equal(referenceRoot(salted));
      expect(salted.quilts[0].index.header.salt).to.equal(salt);
      expect(salted.quilts[0].index.values.at(-1)).to.equal(salt);
      expect(splitIndex(salted.quilts[0].index.bytes).body.subarray(-32).toString("hex")).to.equal(salt.slice(2));
      expect(salted.quilts[1].index.header.salt).to.equal(undefined);
      expect(decodeBatchIndex(salted.quilts[0].index.bytes).commitments).to.deep.equal(salted.quilts[0].commitments);
      expect(inspectBatchIndex(salted.quilts[0].index.bytes).leaves.map((l) => l.commitment)).to.deep.equal(
        salted.quilts[0].commitments,
      );
      for (const inclusion of salted.inclusions) {
        expect(verifyBatchInclusion(salted.root, inclusion.commitment, inclusion.proof)).to.equal(true);
      }
      expect(() => inclusionOf(decodeBatchIndex(salted.quilts[0].index.bytes), salt)).to.throw(NotInBatchError);
      expect(batchError(() => buildBatchV2(proofs.slice(0, 2), { salt: proofCommitment(proofs[1]) })).field).to.equal(
        "salt",
      );
    });

    it("rejects an index that carries the salt outside quilt 0, or a salt that is not the last value", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const salted = buildBatchV2(proofs.slice(0, 4), { maxPerQuilt: 2, salt: b32("salt") });
      const moved = editIndex(salted.quilts[1].index.bytes, (d) => (d.salt = b32("salt")));
      expect(batchError(() => decodeBatchIndex(moved)).field).to.equal("salt");
      const other = editIndex(salted.quilts[0].index.bytes, (d) => (d.salt = b32("another salt")));
      expect(batchError(() => decodeBatchIndex(other)).field).to.equal("values[2]");
    });
  });

  describe("planning by count and bytes", function () {
    it("fills each quilt up to maxQuiltBytes (index patch included) and no further", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const encoded = proofs.map((p) => encodeProof(p));
      const cap = 1000 + 3 * (encoded[0].length + 100) + batchIndexPatchSize(3, 40, false) + 30;
      const batch = buildBatchV2(proofs, { sizeOf: fakeSize, maxQuiltBytes: cap });
      expect(batch.quilts.length).to.be.greaterThan(5);
      batch.quilts.forEach((quilt, k) => {
        const patches = quilt.patches.map((p) => ({ identifier: p.identifier, size: p.contents.length }));
        expect(quilt.size).to.equal(fakeSize(patches));
        expect(quilt.size!).to.be.at.most(cap);
        if (k + 1 < batch.quilts.length) {
          // The next proof would not have fitted (with the bound of the index).
          const next = batch.quilts[k + 1].commitments[0];
          const bigger = [
            ...patches.slice(0, -1),
            { identifier: next, size: encoded[batch.commitments.indexOf(next)].length },
          ];
          const size = batchIndexPatchSize(bigger.length, batch.quilts.length, false, { quilt: k, count: 40 });
          const index = { identifier: BATCH_INDEX_IDENTIFIER, size };
          expect(fakeSize([...bigger, index])).to.be.greaterThan(cap);
        }
      });
      expect(batch.quilts.flatMap((q) => q.commitments)).to.deep.equal(batch.commitments);
    });

    it("names the proof that cannot fit in a quilt by itself, and refuses a byte cap without sizeOf", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      expect(
        batchError(() => buildBatchV2(proofs.slice(0, 2), { sizeOf: fakeSize, maxQuiltBytes: 2000 })).field,
      ).to.equal("proofs[0]");
      expect(() => planBatchV2([{ commitment: b32("c"), size: 1 }], { maxQuiltBytes: 10 })).to.throw(/needs sizeOf/);
      expect(() => planBatchV2([{ commitment: b32("c"), size: 1 }], { maxPerQuilt: 666 })).to.throw(/1 to 665/);
    });

    it("follows a split the caller made, and refuses one that skips, overlaps or misses proofs", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const batch = buildBatchV2(proofs.slice(0, 6), {
        plan: [
          { start: 0, end: 1 },
          { start: 1, end: 6 },
        ],
      });
      expect(batch.quilts.map((q) => q.commitments.length)).to.deep.equal([1, 5]);
      for (const inclusion of batch.inclusions) {
        expect(verifyBatchInclusion(batch.root, inclusion.commitment, inclusion.proof)).to.equal(true);
      }
      const bad = [
        [
          { start: 0, end: 2 },
          { start: 3, end: 6 },
        ],
        [
          { start: 0, end: 4 },
          { start: 3, end: 6 },
        ],
        [{ start: 0, end: 5 }],
        [{ start: 0, end: 6 }],
      ];
      for (const plan of bad) {
        expect(() => buildBatchV2(proofs.slice(0, 6), { plan, maxPerQuilt: 5 })).to.throw(BatchFormatError, /plan/);
      }
    });

    it("splits at 665 proofs per quilt by default", function () {
      const items = Array.from({ length: 1400 }, (_, i) => ({ commitment: b32(`c${i}`), size: 100 }));
      expect(planBatchV2(items)).to.deep.equal([
        { start: 0, end: 665 },
        { start: 665, end: 1330 },
        { start: 1330, end: 1400 },
      ]);
    });

    it("sizes the index patch exactly for its position and count, and from above without them", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      for (const [count, maxPerQuilt, salt] of [
        [1, 665, undefined],
        [9, 4, undefined],
        [31, 2, b32("s")],
        [40, 13, b32("s")],
      ] as const) {
        const batch = buildBatchV2(proofs.slice(0, count), { maxPerQuilt, ...(salt ? { salt } : {}) });
        for (const quilt of batch.quilts) {
          const salted = salt !== undefined && quilt.quilt === 0;
          const n = batch.quilts.length;
          const exact = batchIndexPatchSize(quilt.commitments.length, n, salted, { quilt: quilt.quilt, count });
          expect(quilt.index.bytes.length).to.equal(exact);
          expect(batchIndexPatchSize(quilt.commitments.length, n, salted)).to.be.at.least(exact);
          // About 32 bytes per proof.
          expect(exact).to.be.below(32 * quilt.commitments.length + 400 + 69 * quilt.path.length);
        }
      }
    });
  });

  describe("inputs", function () {
    it("takes proofs already encoded with their commitments and builds the same batch", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const docs = buildBatchV2(proofs.slice(0, 5), { maxPerQuilt: 2 });
      const encoded = buildBatchV2(
        proofs.slice(0, 5).map((p) => ({ commitment: proofCommitment(p), bytes: encodeProof(p) })),
        { maxPerQuilt: 2 },
      );
      expect(encoded.root).to.equal(docs.root);
      expect(encoded.quilts.map((q) => q.patches)).to.deep.equal(docs.quilts.map((q) => q.patches));
    });

    it("refuses v1 proofs in a v2 batch and v2 proofs in a v1 batch, and repeated commitments", async function () {
      const { proofs, client } = await loadFixture(proofsFixture);
      const v1 = await signProof(buildProof(proofParams(client, wallet.address)), wallet);
      expect(batchError(() => buildBatchV2([proofs[0], v1])).field).to.equal("proofs[1].version");
      expect(batchError(() => buildBatch([v1, proofs[0]])).field).to.equal("proofs[1].version");
      expect(batchError(() => buildBatchV2([proofs[0], proofs[1], proofs[0]])).field).to.equal("proofs[2]");
      expect(
        batchError(() => buildBatchV2([{ commitment: proofCommitment(v1), bytes: encodeProof(v1) }])).field,
      ).to.equal("proofs[0].bytes");
    });
  });

  describe("strict and lenient index readers", function () {
    it("rejects an altered path, root, quilt numbers, leaves, values or header, naming the field", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const batch = buildBatchV2(proofs.slice(0, 7), { maxPerQuilt: 3 });
      const bytes = batch.quilts[1].index.bytes;
      const cases: [string, (d: Record<string, unknown>) => void][] = [
        ["path", (d) => ((d.path as string[])[0] = b32("x"))],
        ["path", (d) => (d.root = b32("another root"))],
        ["path", (d) => (d.path = [])],
        ["path", (d) => (d.quilts = 6)],
        ["quilts", (d) => (d.quilts = 8)],
        ["quilt", (d) => (d.quilt = 3)],
        ["leaves", (d) => (d.leaves = 4)],
        ["trailing", (d) => (d.leaves = 2)],
        ["extra", (d) => (d.extra = 1)],
        ["version", (d) => (d.version = 1)],
        ["kind", (d) => (d.kind = "other")],
        ["salt", (d) => (d.salt = b32("s"))],
      ];
      for (const [field, edit] of cases) {
        expect(batchError(() => decodeBatchIndex(editIndex(bytes, edit))).field).to.equal(field, field);
      }
      const { header, body } = splitIndex(bytes);
      const altered = Buffer.from(body);
      altered[0] ^= 1; // a value: the rebuilt subtree no longer reaches the root
      expect(batchError(() => decodeBatchIndex(frameIndex(canonicalJson(header), altered))).field).to.equal("path");
      const repeated = Buffer.concat([body.subarray(0, 32), body.subarray(0, 32), body.subarray(64)]);
      expect(batchError(() => decodeBatchIndex(frameIndex(canonicalJson(header), repeated))).field).to.equal(
        "values[1]",
      );
      expect(batchError(() => decodeBatchIndex(new Uint8Array([...bytes, 0]))).field).to.equal("trailing");
      expect(batchError(() => decodeBatchIndex(frameIndex(JSON.stringify(header, null, 1), body))).field).to.equal(
        "header",
      );
      expect(batchError(() => decodeBatchIndex(frameIndex(canonicalJson(header), body, 3))).field).to.equal("version");
      expect(
        batchError(() => decodeBatchIndex(frameIndex(canonicalJson(header), body, 2, [0x89, 0x53, 0x54, 0x50]))).field,
      ).to.equal("magic");
      expect(batchError(() => decodeBatchIndex(Buffer.from("{"))).field).to.equal("magic");
      const two = buildBatchV2(proofs.slice(0, 5), { maxPerQuilt: 3 });
      const fewer = editIndex(two.quilts[0].index.bytes, (d) => (d.count = 2));
      expect(batchError(() => decodeBatchIndex(fewer)).field).to.equal("count");
      const single = buildBatchV2(proofs.slice(0, 2));
      const withPath = editIndex(single.quilts[0].index.bytes, (d) => (d.path = [b32("x")]));
      expect(batchError(() => decodeBatchIndex(withPath)).field).to.equal("path");
    });

    it("reads a lying index leniently, and the proof it gives then fails against the real root", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const batch = buildBatchV2(proofs.slice(0, 7), { maxPerQuilt: 3 });
      const lying = editIndex(batch.quilts[1].index.bytes, (d) => ((d.path as string[])[0] = b32("x")));
      const inspected = inspectBatchIndex(lying);
      const c = batch.quilts[1].commitments[0];
      expect(verifyBatchInclusion(batch.root, c, inclusionOf(inspected, c).proof)).to.equal(false);
      expect(() => inclusionOf(inspected, b32("absent") as Commitment)).to.throw(NotInBatchError);
    });

    it("keeps v1 blob readers for v1 batches, and points an index patch to the v2 readers", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const batch = buildBatchV2(proofs.slice(0, 2));
      expect(batchError(() => decodeBatch(batch.quilts[0].index.bytes)).message).to.match(/decodeBatchIndex/);
      expect(batchError(() => inspectBatch(batch.quilts[0].index.bytes)).message).to.match(/decodeBatchIndex/);
    });

    it("rejects a quilt whose patch holds another proof, lacks a proof or the index, or has a stray patch", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const batch = buildBatchV2(proofs.slice(0, 3));
      const patches = batch.quilts[0].patches;
      const swapped: BatchPatch[] = patches.map((p, i) => (i === 0 ? { ...p, contents: patches[1].contents } : p));
      expect(batchError(() => decodeBatchQuilt(swapped)).field).to.equal(`patches["${patches[0].identifier}"]`);
      expect(batchError(() => decodeBatchQuilt(patches.slice(1))).field).to.equal(
        `patches["${patches[0].identifier}"]`,
      );
      expect(batchError(() => decodeBatchQuilt(patches.slice(0, -1))).field).to.equal(
        `patches["${BATCH_INDEX_IDENTIFIER}"]`,
      );
      const stray = [...patches, { identifier: "extra", contents: new Uint8Array(1) }];
      expect(batchError(() => decodeBatchQuilt(stray)).field).to.equal('patches["extra"]');
    });
  });
});
