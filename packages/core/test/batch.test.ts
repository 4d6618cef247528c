import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  BatchFormatError,
  batchProofFor,
  buildBatch,
  buildProof,
  canonicalJson,
  decodeBatch,
  leafOf,
  makeTensorSet,
  NotInBatchError,
  proofCommitment,
  signProof,
  toBatchRoot,
  toCommitment,
  UnsupportedVersionError,
  verifyBatchInclusion,
  type InferenceProof,
  type ProofBatchDocumentV1,
} from "../src";
import { b32, blob, deployFixture, proofParams } from "./fixtures";

async function proofsFixture() {
  const base = await deployFixture();
  await (await base.client.nodes.admitNode(base.node.address, "http://node")).wait();
  const proofs: InferenceProof[] = [];
  for (let i = 0; i < 100; i++) {
    const unsigned = buildProof(proofParams(base.client, base.node.address, { requestId: b32(`request ${i}`) }));
    proofs.push(await signProof(unsigned, base.node));
  }
  return { ...base, proofs, anchoring: base.client.proofs.connect(base.node) };
}

function batchError(run: () => unknown): BatchFormatError | UnsupportedVersionError {
  try {
    run();
  } catch (error) {
    if (error instanceof BatchFormatError || error instanceof UnsupportedVersionError) return error;
    throw error;
  }
  throw new Error("expected the batch to be rejected");
}

/** The JSON of `bytes`, edited, back to bytes. */
function edit(bytes: Uint8Array, change: (doc: ProofBatchDocumentV1) => void): Uint8Array {
  const doc = JSON.parse(Buffer.from(bytes).toString("utf8")) as ProofBatchDocumentV1;
  change(doc);
  return Buffer.from(canonicalJson(doc));
}

describe("core proof batches", function () {
  for (const size of [1, 2, 3, 100]) {
    it(`anchors a batch of ${size} and the contract accepts every inclusion proof`, async function () {
      const { proofs, anchoring, node } = await loadFixture(proofsFixture);
      const batch = buildBatch(proofs.slice(0, size));
      expect(batch.count).to.equal(size);
      const anchored = await (await anchoring.anchorBuiltBatch(batch, blob(`batch blob ${size}`), 60)).wait();
      expect(anchored).to.include({ root: batch.root, count: size });
      for (const proof of batch.proofs) {
        const commitment = proofCommitment(proof);
        const inclusion = batchProofFor(batch, commitment);
        expect(inclusion.leaf).to.equal(leafOf(commitment));
        expect(
          await anchoring.isIncluded(node.address, batch.root, commitment, inclusion.proof),
          `proof ${inclusion.index}`,
        ).to.equal(true);
        expect(verifyBatchInclusion(batch.root, commitment, inclusion.proof)).to.equal(true);
      }
    });
  }

  it("has the contract refuse a commitment outside the batch, and a proof of another leaf", async function () {
    const { proofs, anchoring, node } = await loadFixture(proofsFixture);
    const batch = buildBatch(proofs.slice(0, 3));
    await (await anchoring.anchorBuiltBatch(batch, blob("blob"), 60)).wait();
    const outsider = proofCommitment(proofs[3]);
    const [first, second] = batch.inclusions;
    expect(await anchoring.isIncluded(node.address, batch.root, outsider, first.proof)).to.equal(false);
    expect(await anchoring.isIncluded(node.address, batch.root, first.commitment, second.proof)).to.equal(false);
    expect(verifyBatchInclusion(batch.root, outsider, first.proof)).to.equal(false);
    expect(() => batchProofFor(batch, outsider)).to.throw(NotInBatchError, outsider);
  });

  describe("salted batches (re-sealed when another node holds the root)", function () {
    it("adds the salt as one extra tree value: another root, the same proofs and count, and the document records it", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const plain = buildBatch(proofs.slice(0, 3));
      const salted = buildBatch(proofs.slice(0, 3), { salt: b32("salt") });
      expect(salted.root).to.not.equal(plain.root);
      expect(salted.count).to.equal(3);
      expect(salted.salt).to.equal(b32("salt"));
      expect(plain.salt).to.equal(undefined);
      expect(salted.commitments).to.deep.equal(plain.commitments);
      expect(salted.document.salt).to.equal(b32("salt"));
      expect(salted.document.tree.values.map((v) => v.value[0])).to.deep.equal([...plain.commitments, b32("salt")]);
      expect(JSON.parse(Buffer.from(plain.bytes).toString("utf8"))).to.not.have.property("salt");
    });

    it("anchors a salted batch whose every proof, and not the salt, is found and included", async function () {
      const { proofs, anchoring, node } = await loadFixture(proofsFixture);
      const batch = buildBatch(proofs.slice(0, 5), { salt: b32("salt 2") });
      await (await anchoring.anchorBuiltBatch(batch, blob("salted blob"), 60)).wait();
      const decoded = decodeBatch(batch.bytes);
      expect(decoded.root).to.equal(batch.root);
      expect(decoded.count).to.equal(5);
      expect(decoded.salt).to.equal(b32("salt 2"));
      expect(decoded.proofs).to.have.length(5);
      for (const commitment of decoded.commitments) {
        const inclusion = batchProofFor(decoded, commitment);
        expect(await anchoring.isIncluded(node.address, batch.root, commitment, inclusion.proof)).to.equal(true);
        expect(verifyBatchInclusion(batch.root, commitment, inclusion.proof)).to.equal(true);
      }
      expect(() => batchProofFor(decoded, toCommitment(b32("salt 2")))).to.throw(NotInBatchError);
    });

    it("refuses a salt that is a proof's commitment, or not bytes32", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const commitment = proofCommitment(proofs[1]);
      expect(batchError(() => buildBatch(proofs.slice(0, 3), { salt: commitment })).message).to.contain("salt");
      expect(() => buildBatch(proofs.slice(0, 3), { salt: "0x1234" })).to.throw(/salt/);
    });

    it("refuses a salted document whose last tree value is not its salt, or that drops the salt", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const batch = buildBatch(proofs.slice(0, 3), { salt: b32("salt 3") });
      const other = batchError(() => decodeBatch(edit(batch.bytes, (doc) => (doc.salt = b32("another salt")))));
      expect(other.message).to.contain("salt");
      const dropped = batchError(() => decodeBatch(edit(batch.bytes, (doc) => delete doc.salt)));
      expect((dropped as BatchFormatError).field).to.equal("tree.tree");
    });
  });

  it("keeps the proofs' order: value i of the tree is the commitment of proof i", async function () {
    const { proofs } = await loadFixture(proofsFixture);
    const batch = buildBatch(proofs.slice(0, 5));
    expect(batch.commitments).to.deep.equal(proofs.slice(0, 5).map(proofCommitment));
    expect(batch.document.tree.values.map((v) => v.value[0])).to.deep.equal(batch.commitments);
    expect(batch.inclusions.map((i) => i.index)).to.deep.equal([0, 1, 2, 3, 4]);
  });

  it("writes canonical JSON and reads it back to the same batch", async function () {
    const { proofs } = await loadFixture(proofsFixture);
    const batch = buildBatch(proofs.slice(0, 3));
    const text = Buffer.from(batch.bytes).toString("utf8");
    expect(text).to.equal(canonicalJson(batch.document));
    expect(JSON.parse(text)).to.include({ version: 1, kind: "strata.proof-batch", root: batch.root });
    const decoded = decodeBatch(batch.bytes);
    expect(decoded.root).to.equal(batch.root);
    expect(decoded.commitments).to.deep.equal(batch.commitments);
    expect(decoded.proofs).to.deep.equal(batch.proofs);
    expect(decoded.inclusions).to.deep.equal(batch.inclusions);
    expect(decoded.bytes).to.equal(batch.bytes);
  });

  it("refuses to build an empty batch or one with the same proof twice", async function () {
    const { proofs } = await loadFixture(proofsFixture);
    expect(batchError(() => buildBatch([])).message).to.contain("at least one proof");
    const twice = batchError(() => buildBatch([proofs[0], proofs[1], proofs[0]])) as BatchFormatError;
    expect(twice.field).to.equal("proofs[2]");
    expect(twice.message).to.contain("same commitment");
  });

  it("refuses to build a batch holding an inconsistent proof, naming it", async function () {
    const { proofs } = await loadFixture(proofsFixture);
    const broken = structuredClone(proofs[1]);
    broken.output.hash = b32("wrong");
    const error = batchError(() => buildBatch([proofs[0], broken])) as BatchFormatError;
    expect(error.field).to.equal("proofs[1]");
    expect(error.message).to.contain("output.hash");
  });

  describe("decoding rejects", function () {
    async function bytesFixture() {
      const base = await loadFixture(proofsFixture);
      return { ...base, batch: buildBatch(base.proofs.slice(0, 4)) };
    }

    it("a proof whose data was altered", async function () {
      const { batch } = await bytesFixture();
      const bytes = edit(batch.bytes, (doc) => {
        const tensor = doc.proofs[2].output.tensors[0];
        tensor.data = Buffer.from(Buffer.from(tensor.data, "base64").map((b) => b ^ 1)).toString("base64");
      });
      const error = batchError(() => decodeBatch(bytes)) as BatchFormatError;
      expect(error.field).to.equal("proofs[2]");
      expect(error.message).to.match(/proofs\[2\] is not a valid proof: .*output.tensors\[0\].hash/);
    });

    it("a proof swapped for another valid proof", async function () {
      const { batch, proofs } = await bytesFixture();
      const bytes = edit(batch.bytes, (doc) => (doc.proofs[1] = proofs[50]));
      const error = batchError(() => decodeBatch(bytes)) as BatchFormatError;
      expect(error.field).to.equal("tree.values[1]");
      expect(error.message).to.contain(`proofs[1] commits to ${proofCommitment(proofs[50])}`);
    });

    it("a proof rehashed after an edit (its commitment no longer matches the tree)", async function () {
      const { batch } = await bytesFixture();
      const bytes = edit(batch.bytes, (doc) => {
        const proof = doc.proofs[0];
        proof.output = makeTensorSet(proof.output.tensors.map((t) => ({ ...t, dims: [...t.dims].reverse() })));
      });
      expect((batchError(() => decodeBatch(bytes)) as BatchFormatError).field).to.equal("tree.values[0]");
    });

    it("a declared root that is not the tree's", async function () {
      const { batch } = await bytesFixture();
      const error = batchError(() => decodeBatch(edit(batch.bytes, (doc) => (doc.root = toBatchRoot(b32("root"))))));
      expect((error as BatchFormatError).field).to.equal("root");
    });

    it("a tree whose nodes were altered", async function () {
      const { batch } = await bytesFixture();
      const error = batchError(() => decodeBatch(edit(batch.bytes, (doc) => (doc.tree.tree[0] = b32("node")))));
      expect((error as BatchFormatError).field).to.equal("tree");
    });

    it("a tree with a leaf more than there are proofs", async function () {
      const { batch } = await bytesFixture();
      const error = batchError(() => decodeBatch(edit(batch.bytes, (doc) => doc.proofs.pop())));
      expect((error as BatchFormatError).field).to.equal("tree.tree");
    });

    it("a repeated tree index, another leaf encoding, another kind", async function () {
      const { batch } = await bytesFixture();
      const fields = [
        (doc: ProofBatchDocumentV1) => (doc.tree.values[1].treeIndex = doc.tree.values[0].treeIndex),
        (doc: ProofBatchDocumentV1) => (doc.tree.leafEncoding = ["uint256"]),
        (doc: ProofBatchDocumentV1) => ((doc as { kind: string }).kind = "other"),
      ];
      expect(
        fields.map((change) => (batchError(() => decodeBatch(edit(batch.bytes, change))) as BatchFormatError).field),
      ).to.deep.equal(["tree.values[1].treeIndex", "tree.leafEncoding", "kind"]);
    });

    it("an unknown batch version, with a typed error", async function () {
      const { batch } = await bytesFixture();
      const error = batchError(() =>
        decodeBatch(edit(batch.bytes, (doc) => ((doc as { version: number }).version = 3))),
      );
      expect(error).to.be.instanceOf(UnsupportedVersionError);
      expect((error as UnsupportedVersionError).kind).to.equal("batch");
    });

    it("bytes that are not a JSON object", function () {
      expect((batchError(() => decodeBatch("not json")) as BatchFormatError).field).to.equal("$");
      expect((batchError(() => decodeBatch("[1]")) as BatchFormatError).field).to.equal("$");
    });
  });
});
