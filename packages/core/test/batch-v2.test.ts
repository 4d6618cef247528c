import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { SimpleMerkleTree, StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { Wallet } from "ethers";
import {
  BATCH_INDEX_IDENTIFIER,
  BatchFormatError,
  batchIndexSizeBound,
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
  proofCommitment,
  ProofVersion,
  signProof,
  verifyBatchInclusion,
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
  return subroots.length === 1 ? subroots[0] : SimpleMerkleTree.of(subroots).root;
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

/** An index patch's bytes re-encoded after `edit` (canonical, so only the edit is wrong). */
function editIndex(bytes: Uint8Array, edit: (doc: Record<string, unknown>) => void): string {
  const doc = JSON.parse(Buffer.from(bytes).toString("utf8")) as Record<string, unknown>;
  edit(doc);
  return canonicalJson(doc);
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
        expect(contents.proofs.map((p) => proofCommitment(p))).to.deep.equal(quilt.commitments);
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
    expect(v2.quilts[0].index.document.tree).to.deep.equal(reference.dump());
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
      if (quilts === 1) await (await registry.anchorBatch(batch.root, ids[0], batch.count)).wait();
      else await (await registry.anchorQuilts(batch.root, ids, batch.count)).wait();
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

  describe("salted batches", function () {
    it("adds the salt to quilt 0's subtree only; the root changes and every proof still verifies", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const plain = buildBatchV2(proofs.slice(0, 7), { maxPerQuilt: 3 });
      const salt = b32("salt");
      const salted = buildBatchV2(proofs.slice(0, 7), { maxPerQuilt: 3, salt });
      expect(salted.root).to.not.equal(plain.root);
      expect(salted.root).to.equal(referenceRoot(salted));
      expect(salted.quilts[0].index.document.salt).to.equal(salt);
      expect(salted.quilts[0].index.document.tree.values.at(-1)!.value[0]).to.equal(salt);
      expect(salted.quilts[1].index.document.salt).to.equal(undefined);
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
      expect(batchError(() => decodeBatchIndex(other)).field).to.equal("tree.values[2]");
    });
  });

  describe("planning by count and bytes", function () {
    it("fills each quilt up to maxQuiltBytes (index patch included) and no further", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const encoded = proofs.map((p) => encodeProof(p));
      const cap = 1000 + 3 * (encoded[0].length + 100) + batchIndexSizeBound(3, 40) + 30;
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
          const index = { identifier: BATCH_INDEX_IDENTIFIER, size: batchIndexSizeBound(bigger.length, 40) };
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

    it("splits at 665 proofs per quilt by default", function () {
      const items = Array.from({ length: 1400 }, (_, i) => ({ commitment: b32(`c${i}`), size: 100 }));
      expect(planBatchV2(items)).to.deep.equal([
        { start: 0, end: 665 },
        { start: 665, end: 1330 },
        { start: 1330, end: 1400 },
      ]);
    });

    it("bounds the index patch size from above, exactly but for the path and quilt numbers", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      for (const [count, maxPerQuilt, salt] of [
        [1, 665, undefined],
        [9, 4, undefined],
        [31, 2, b32("s")],
        [40, 13, b32("s")],
      ] as const) {
        const batch = buildBatchV2(proofs.slice(0, count), { maxPerQuilt, ...(salt ? { salt } : {}) });
        for (const quilt of batch.quilts) {
          const bound = batchIndexSizeBound(quilt.commitments.length, count, salt !== undefined && quilt.quilt === 0);
          expect(quilt.index.bytes.length).to.be.at.most(bound);
          expect(bound - quilt.index.bytes.length).to.be.below(32 * 69 + 40);
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
    it("rejects an altered path, root, count, quilt number or tree, naming the field", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const batch = buildBatchV2(proofs.slice(0, 7), { maxPerQuilt: 3 });
      const bytes = batch.quilts[1].index.bytes;
      const cases: [string, (d: Record<string, unknown>) => void][] = [
        ["path", (d) => ((d.path as string[])[0] = b32("x"))],
        ["path", (d) => (d.root = b32("another root"))],
        ["path", (d) => (d.path = [])],
        ["quilt", (d) => (d.quilt = 3)],
        ["quilts", (d) => (d.quilts = 8)],
        ["tree", (d) => ((d.tree as { tree: string[] }).tree[0] = b32("x"))],
        ["tree.values[0].value[0]", (d) => ((d.tree as { values: { value: string[] }[] }).values[0].value[0] = "0x12")],
        ["extra", (d) => (d.extra = 1)],
        ["version", (d) => (d.version = 1)],
        ["kind", (d) => (d.kind = "other")],
      ];
      for (const [field, edit] of cases) {
        expect(batchError(() => decodeBatchIndex(editIndex(bytes, edit))).field).to.equal(field, field);
      }
      const single = buildBatchV2(proofs.slice(0, 2));
      const withPath = editIndex(single.quilts[0].index.bytes, (d) => (d.path = [b32("x")]));
      expect(batchError(() => decodeBatchIndex(withPath)).field).to.equal("path");
      const loose = JSON.stringify(JSON.parse(Buffer.from(bytes).toString("utf8")), null, 2);
      expect(batchError(() => decodeBatchIndex(loose)).field).to.equal("$");
      expect(batchError(() => decodeBatchIndex("{")).field).to.equal("$");
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
      expect(batchError(() => inspectBatch(batch.quilts[0].index.bytes)).field).to.equal("version");
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
