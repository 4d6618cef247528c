import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { ethers } from "hardhat";
import {
  BATCH_FORMATS,
  BatchFormatError,
  BatchTree,
  BatchVersion,
  buildBatch,
  buildProof,
  decodeBatch,
  inspectBatch,
  merkleProofAt,
  provesBatchInclusion,
  signProof,
  toBatchRoot,
  toCommitment,
  UnsupportedVersionError,
  type BatchRoot,
  type Commitment,
  type InferenceProof,
  type ModelId,
  type ProofBatchDocumentV1,
} from "../src";
import { b32, deployFixture, proofParams } from "./fixtures";

async function proofsFixture() {
  const base = await deployFixture();
  const proofs: InferenceProof[] = [];
  for (let i = 0; i < 5; i++) {
    proofs.push(
      await signProof(buildProof(proofParams(base.client, base.node.address, { requestId: b32(`r ${i}`) })), base.node),
    );
  }
  return { ...base, proofs };
}

function edit(bytes: Uint8Array, change: (doc: ProofBatchDocumentV1) => void): Uint8Array {
  const doc = JSON.parse(Buffer.from(bytes).toString("utf8")) as ProofBatchDocumentV1;
  change(doc);
  return Buffer.from(JSON.stringify(doc));
}

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

describe("core batch module: one tree, versioned formats, a strict and a lenient reader", function () {
  describe("BatchTree", function () {
    it("is StandardMerkleTree.of over bytes32 values: root, tree indexes and proofs, repeated values included", function () {
      for (const size of [1, 2, 3, 7, 64, 257]) {
        const values = Array.from({ length: size }, (_, i) => ethers.id(`v ${i % Math.max(1, size - 2)}`));
        const tree = BatchTree.of(values);
        const reference = StandardMerkleTree.of(
          values.map((v): [string] => [v]),
          ["bytes32"],
        );
        expect(tree.root).to.equal(reference.root);
        expect(tree.dump(values)).to.deep.equal(reference.dump());
        for (let i = 0; i < size; i++) expect(tree.proof(i)).to.deep.equal(reference.getProof(i));
      }
    });

    it("round-trips through its stored bytes, and refuses bytes of another size", function () {
      const values = Array.from({ length: 9 }, (_, i) => ethers.id(`stored ${i}`));
      const tree = BatchTree.of(values);
      const again = BatchTree.fromBytes(tree.bytes(), values.length)!;
      expect(again.root).to.equal(tree.root);
      expect(again.hexNodes()).to.deep.equal(tree.hexNodes());
      expect(BatchTree.fromBytes(tree.bytes(), values.length + 1)).to.equal(undefined);
      expect(BatchTree.fromBytes(tree.bytes().subarray(1), values.length)).to.equal(undefined);
    });

    it("refuses no values and values that are not lowercase bytes32", function () {
      expect(thrown(() => BatchTree.of([]))).to.be.instanceOf(BatchFormatError);
      const upper = ethers.id("x").toUpperCase().replace("0X", "0x");
      expect((thrown(() => BatchTree.of([ethers.id("a"), upper])) as BatchFormatError).field).to.equal("values[1]");
    });
  });

  describe("formats", function () {
    it("writes the tree StandardMerkleTree.of dumps, so the bytes of version 1 do not change", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const batch = buildBatch(proofs);
      const reference = StandardMerkleTree.of(
        batch.commitments.map((c): [string] => [c]),
        ["bytes32"],
      );
      expect(batch.document.tree).to.deep.equal(reference.dump());
      expect(batch.version).to.equal(BatchVersion.V1);
      expect(decodeBatch(batch.bytes).bytes).to.deep.equal(batch.bytes);
    });

    it("dispatches on the version: each one is an entry of BATCH_FORMATS, an unknown one a typed error", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      expect([...BATCH_FORMATS.keys()]).to.deep.equal([BatchVersion.V1]);
      const batch = buildBatch(proofs, { version: BatchVersion.V1 });
      const document = JSON.parse(Buffer.from(batch.bytes).toString("utf8")) as Record<string, unknown>;
      expect(BATCH_FORMATS.get(BatchVersion.V1)!.decode(document, batch.bytes).root).to.equal(batch.root);
      expect(thrown(() => buildBatch(proofs, { version: 3 as BatchVersion }))).to.be.instanceOf(
        UnsupportedVersionError,
      );
      const v3 = edit(batch.bytes, (doc) => ((doc as { version: number }).version = 3));
      expect(thrown(() => decodeBatch(v3))).to.be.instanceOf(UnsupportedVersionError);
      expect(thrown(() => inspectBatch(v3))).to.be.instanceOf(UnsupportedVersionError);
      // Version 2 is a list of quilts, not one blob: the blob readers and writer point to the v2 functions.
      expect((thrown(() => buildBatch(proofs, { version: BatchVersion.V2 })) as BatchFormatError).field).to.equal(
        "version",
      );
      const v2 = edit(batch.bytes, (doc) => ((doc as { version: number }).version = 2));
      expect(thrown(() => decodeBatch(v2)).message).to.match(/decodeBatchIndex/);
      expect(thrown(() => inspectBatch(v2)).message).to.match(/decodeBatchIndex/);
      const unversioned = edit(batch.bytes, (doc) => delete (doc as { version?: number }).version);
      expect((thrown(() => decodeBatch(unversioned)) as BatchFormatError).field).to.equal("version");
    });
  });

  describe("the lenient reader", function () {
    it("reads a batch whose other proofs are invalid, and proves one proof against the root", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const batch = buildBatch(proofs);
      const broken = edit(batch.bytes, (doc) => (doc.proofs[3].output.tensors[0].data = "AAAA"));
      expect(thrown(() => decodeBatch(broken))).to.be.instanceOf(BatchFormatError);
      const inspected = inspectBatch(broken);
      expect(inspected.version).to.equal(BatchVersion.V1);
      expect(inspected.root).to.equal(batch.root);
      expect(inspected.leaves.map((l) => l.commitment)).to.deep.equal(batch.commitments);
      expect(inspected.proofs).to.have.length(proofs.length);
      const leaf = inspected.leaves[1];
      const proof = merkleProofAt(inspected.nodes, leaf.treeIndex);
      expect(proof).to.deep.equal(batch.inclusions[1].proof);
      expect(provesBatchInclusion(batch.root, leaf.commitment, proof)).to.equal(true);
    });

    it("gives a proof that fails for a tree that lies, and null for a malformed one", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const batch = buildBatch(proofs);
      const lying = inspectBatch(edit(batch.bytes, (doc) => (doc.tree.tree[1] = doc.tree.tree[2] = ethers.id("lie"))));
      const leaf = lying.leaves[0];
      const proof = merkleProofAt(lying.nodes, leaf.treeIndex);
      expect(provesBatchInclusion(batch.root, leaf.commitment, proof)).to.equal(false);
      expect(merkleProofAt(lying.nodes, lying.nodes.length)).to.equal(null);
      expect(merkleProofAt(["0x12", "0x34", "0x56"], 1)).to.equal(null);
      expect(provesBatchInclusion(batch.root, leaf.commitment, null)).to.equal(false);
      expect(provesBatchInclusion("not a root", leaf.commitment, [])).to.equal(false);
    });

    it("reads a salted batch without the salt among its leaves", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const salt = b32("salt");
      const batch = buildBatch(proofs, { salt });
      const inspected = inspectBatch(batch.bytes);
      expect(inspected.salt).to.equal(salt);
      expect(inspected.leaves.map((l) => l.commitment)).to.deep.equal(batch.commitments);
      const moved = edit(batch.bytes, (doc) => (doc.salt = b32("another salt")));
      expect((thrown(() => inspectBatch(moved)) as BatchFormatError).field).to.equal("salt");
    });

    it("names the field at fault in what it cannot read", async function () {
      const { proofs } = await loadFixture(proofsFixture);
      const batch = buildBatch(proofs);
      const field = (bytes: Uint8Array | string) => (thrown(() => inspectBatch(bytes)) as BatchFormatError).field;
      expect(field(new Uint8Array([0xff]))).to.equal("$");
      expect(field("[1]")).to.equal("$");
      expect(field(edit(batch.bytes, (doc) => ((doc as { kind: string }).kind = "other")))).to.equal("kind");
      expect(field(edit(batch.bytes, (doc) => ((doc.tree as { tree: unknown }).tree = "x")))).to.equal("tree.tree");
      expect(field(edit(batch.bytes, (doc) => ((doc.tree.values[0] as { value: unknown }).value = [])))).to.equal(
        "tree.values[0].value",
      );
      expect(field(edit(batch.bytes, (doc) => doc.proofs.pop()))).to.equal("proofs");
    });
  });

  it("keeps ids apart at compile time: a commitment is not a root, a hex string is not a model id", function () {
    const commitment: Commitment = toCommitment(b32("c"));
    const root: BatchRoot = toBatchRoot(b32("r"));
    // @ts-expect-error a Commitment is not a BatchRoot
    const mixed: BatchRoot = commitment;
    // @ts-expect-error a plain string is not a ModelId
    const unbranded: ModelId = b32("m");
    // Branded values are still strings where a string is expected.
    const text: string = root;
    expect([mixed, unbranded, text]).to.deep.equal([commitment, b32("m"), root]);
  });
});
