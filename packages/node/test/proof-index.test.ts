import { expect } from "chai";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdtemp, readdir, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimpleMerkleTree, StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { BatchRoot, BlobId, Commitment } from "@strata/core";
import {
  indexedBatchRoot,
  InvalidIndexedBatchError,
  ProofIndex,
  ProofIndexConflictError,
  ProofIndexError,
  type IndexedBatch,
} from "@strata/node";
import { quiltPatchId } from "@strata/walrus";

const SRC = join(__dirname, "..", "src", "proof-index.ts");

function sha256Hex(text: string): string {
  return "0x" + createHash("sha256").update(text).digest("hex");
}

/** Commitment `i` of batch `b` of a test (deterministic, so a child process can derive the same ones). */
function commitmentOf(tag: string, b: number, i: number): string {
  return sha256Hex(`${tag}:${b}:${i}`);
}

/** The root StandardMerkleTree gives over the commitments (and the salt, as one more value at the end). */
function libraryTree(commitments: string[], salt?: string): StandardMerkleTree<[string]> {
  const values = salt === undefined ? commitments : [...commitments, salt];
  return StandardMerkleTree.of(
    values.map((c): [string] => [c]),
    ["bytes32"],
  );
}

function batchOf(
  tag: string,
  b: number,
  size: number,
  options: { salt?: string; commitments?: string[]; root?: "library" | "index" } = {},
): IndexedBatch {
  const commitments = options.commitments ?? Array.from({ length: size }, (_, i) => commitmentOf(tag, b, i));
  const root =
    options.root === "library"
      ? libraryTree(commitments, options.salt).root
      : indexedBatchRoot(commitments, options.salt);
  // Raw values, as a caller hands them in (the index checks them): cast to the branded types.
  return {
    root: root as BatchRoot,
    commitments: commitments as Commitment[],
    ...(options.salt === undefined ? {} : { salt: options.salt }),
    blobId: createHash("sha256").update(`blob:${tag}:${b}`).digest().toString("base64url") as BlobId,
    txHash: sha256Hex(`tx:${tag}:${b}`),
    block: 100 + b,
    gasUsed: "28339",
    anchoredAt: 1_780_000_000_000 + b,
  };
}

async function tempDir(name: string): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), `strata-proof-index-${name}-`)), "index");
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/**
 * Checks that the index is consistent from the outside: counts match what is listed, every batch's every commitment
 * resolves (to that batch or a later one that also holds it), and every proof folds up to its root.
 */
async function expectConsistent(index: ProofIndex): Promise<IndexedBatch[]> {
  const listed = await all(index.batches());
  const distinct = new Set<string>();
  const latest = new Map<string, string>();
  for (const batch of listed) {
    for (const c of batch.commitments) {
      distinct.add(c);
      latest.set(c, batch.root);
    }
  }
  expect(index.counts()).to.deep.equal({ batches: listed.length, proofs: distinct.size });
  for (const batch of listed) {
    expect(await index.hasBatch(batch.root)).to.equal(true);
    const probes = [0, batch.commitments.length - 1, Math.floor(batch.commitments.length / 2)];
    for (const i of probes) {
      const c = batch.commitments[i];
      const found = await index.get(c);
      expect(found, `commitment ${i} of batch ${batch.root}`).to.not.equal(undefined);
      expect(found!.root).to.equal(latest.get(c));
      expect(StandardMerkleTree.verify(found!.root, ["bytes32"], [c], found!.merkleProof)).to.equal(true);
    }
  }
  return listed;
}

/** Runs a CommonJS script in a child process that loads the TypeScript sources through tsx. */
function childScript(body: string): string {
  return `require(${JSON.stringify(require.resolve("tsx/cjs"))});
const { ProofIndex, indexedBatchRoot } = require(${JSON.stringify(SRC)});
const { createHash } = require("node:crypto");
const sha256Hex = (text) => "0x" + createHash("sha256").update(text).digest("hex");
const commitmentOf = (tag, b, i) => sha256Hex(tag + ":" + b + ":" + i);
${body}
`;
}

async function runChild(
  script: string,
  args: string[],
  options: { onLine?: (line: string, kill: () => void) => void; nodeArgs?: string[] } = {},
): Promise<{ lines: string[]; code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const file = join(await mkdtemp(join(tmpdir(), "strata-proof-index-child-")), "child.js");
  await writeFile(file, script);
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), file, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let stderr = "";
  let pending = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      lines.push(line);
      options.onLine?.(line, () => child.kill("SIGKILL"));
    }
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ lines, code, signal, stderr }));
  });
}

/**
 * A batch stored as quilts of `sizes` commitments (quilt 0 also holding the salt): each quilt's values make a
 * StandardMerkleTree, the root is OpenZeppelin's SimpleMerkleTree over the subroots, in quilt order.
 */
function quiltBatchOf(tag: string, b: number, sizes: number[], salt?: string): IndexedBatch {
  const commitments = Array.from({ length: sizes.reduce((x, y) => x + y, 0) }, (_, i) => commitmentOf(tag, b, i));
  let offset = 0;
  const parts = sizes.map((size, k) => {
    const own = commitments.slice(offset, (offset += size));
    return { own, tree: libraryTree(own, k === 0 ? salt : undefined) };
  });
  const top = SimpleMerkleTree.of(
    parts.map((p) => p.tree.root),
    { sortLeaves: false },
  );
  const quilts = parts.map((p, k) => {
    const quiltId = createHash("sha256").update(`quilt:${tag}:${b}:${k}`).digest().toString("base64url") as BlobId;
    return {
      quiltId,
      count: p.own.length,
      path: sizes.length === 1 ? [] : top.getProof(k),
      patchIds: p.own.map((_, i) => quiltPatchId(quiltId, { startIndex: 1 + i, endIndex: 2 + i })),
      indexPatchId: quiltPatchId(quiltId, { startIndex: 1 + p.own.length, endIndex: 2 + p.own.length }),
    };
  });
  return {
    ...batchOf(tag, b, commitments.length, { commitments, ...(salt ? { salt } : {}) }),
    root: (sizes.length === 1 ? parts[0].tree.root : top.root) as BatchRoot,
    blobId: quilts[0].quiltId,
    quilts: quilts as IndexedBatch["quilts"],
  };
}

describe("ProofIndex", function () {
  this.timeout(120_000);

  describe("batches stored as quilts", function () {
    it("answers each proof of a root over several quilts with its subtree proof then its quilt's path, and its patch ID", async function () {
      const salt = sha256Hex("salt");
      const batch = quiltBatchOf("quilts", 1, [5, 3, 4], salt);
      const dir = await tempDir("quilts");
      let index = await ProofIndex.open(dir);
      await index.putBatch(batch);
      for (const reopen of [false, true]) {
        if (reopen) {
          await index.close();
          index = await ProofIndex.open(dir); // from the stored trees, not the cache
        }
        for (let i = 0; i < batch.commitments.length; i++) {
          const c = batch.commitments[i];
          const found = (await index.get(c))!;
          const k = i < 5 ? 0 : i < 8 ? 1 : 2;
          expect(found.index).to.equal(i);
          expect(StandardMerkleTree.verify(batch.root, ["bytes32"], [c], found.merkleProof)).to.equal(true);
          expect(found.quilt).to.deep.equal({
            index: k,
            quiltId: batch.quilts![k].quiltId,
            patchId: batch.quilts![k].patchIds[i - [0, 5, 8][k]],
            indexPatchId: batch.quilts![k].indexPatchId,
          });
        }
      }
      expect(await index.getBatch(batch.root)).to.deep.equal(batch);
      await index.close();
    });

    it("indexes a one-quilt batch as a v1 batch (the root is the quilt's subroot) with its patch IDs", async function () {
      const batch = quiltBatchOf("one-quilt", 1, [7]);
      expect(batch.root).to.equal(indexedBatchRoot(batch.commitments));
      const index = await ProofIndex.open(await tempDir("one-quilt"));
      await index.putBatch(batch);
      const found = (await index.get(batch.commitments[3]))!;
      expect(found.merkleProof).to.deep.equal(libraryTree(batch.commitments).getProof(3));
      expect(found.quilt?.patchId).to.equal(batch.quilts![0].patchIds[3]);
      await index.close();
    });

    it("refuses a quilt path that does not lead to the root, counts that do not add up and foreign patch IDs", async function () {
      const batch = quiltBatchOf("bad-quilts", 1, [2, 2]);
      const index = await ProofIndex.open(await tempDir("bad-quilts"));
      const q = batch.quilts!;
      const cases: [IndexedBatch, RegExp][] = [
        [{ ...batch, quilts: [{ ...q[0], path: [sha256Hex("x")] }, q[1]] }, /quilts\[0\]\.path does not lead from/],
        [{ ...batch, quilts: [{ ...q[0], count: 1, patchIds: q[0].patchIds.slice(1) }, q[1]] }, /hold 3 proofs/],
        [
          { ...batch, quilts: [{ ...q[0], patchIds: [q[1].patchIds[0], q[0].patchIds[1]] }, q[1]] },
          /patchIds\[0\] must be a quilt patch ID in quilt/,
        ],
        [{ ...batch, blobId: q[1].quiltId }, /blobId must be the ID of the first quilt/],
      ];
      for (const [bad, message] of cases) {
        const error = await index.putBatch(bad).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(error).to.be.instanceOf(InvalidIndexedBatchError);
        expect(error!.message).to.match(message);
      }
      expect(index.counts().batches).to.equal(0);
      await index.close();
    });
  });

  describe("proofs", function () {
    it("finds a proof by commitment with the Merkle proof StandardMerkleTree gives", async function () {
      const index = await ProofIndex.open(await tempDir("roundtrip"));
      try {
        for (const size of [1, 2, 3, 7, 16]) {
          const batch = batchOf(`rt${size}`, size, size, { root: "library" });
          await index.putBatch(batch);
          const tree = libraryTree(batch.commitments);
          for (let i = 0; i < size; i++) {
            const found = await index.get(batch.commitments[i]);
            expect(found).to.deep.equal({
              commitment: batch.commitments[i],
              root: batch.root,
              index: i,
              batch,
              merkleProof: tree.getProof(i),
            });
          }
        }
        expect(await index.get(sha256Hex("never indexed"))).to.equal(undefined);
      } finally {
        await index.close();
      }
    });

    it("gives StandardMerkleTree's proofs for a 4,096-commitment batch with a salt", async function () {
      const index = await ProofIndex.open(await tempDir("large"));
      try {
        const salt = sha256Hex("salt:large");
        const batch = batchOf("large", 0, 4096, { salt, root: "library" });
        await index.putBatch(batch);
        const tree = libraryTree(batch.commitments, salt);
        for (const i of [0, 1, 2, 17, 1000, 2047, 2048, 4094, 4095]) {
          const found = await index.get(batch.commitments[i]);
          expect(found!.index).to.equal(i);
          expect(found!.merkleProof).to.deep.equal(tree.getProof(i));
        }
      } finally {
        await index.close();
      }
    });

    it("computes the root StandardMerkleTree gives, with and without a salt and for repeated values", function () {
      for (const size of [1, 2, 3, 5, 64, 65, 257]) {
        const commitments = Array.from({ length: size }, (_, i) => commitmentOf("root", size, i));
        expect(indexedBatchRoot(commitments)).to.equal(libraryTree(commitments).root);
        const salt = sha256Hex(`salt:${size}`);
        expect(indexedBatchRoot(commitments, salt)).to.equal(libraryTree(commitments, salt).root);
      }
      const repeated = [commitmentOf("rep", 0, 0), commitmentOf("rep", 0, 1), commitmentOf("rep", 0, 0)];
      expect(indexedBatchRoot(repeated)).to.equal(libraryTree(repeated).root);
    });

    it("answers a repeated commitment at its first position with StandardMerkleTree's proof for it", async function () {
      const index = await ProofIndex.open(await tempDir("repeat"));
      try {
        const a = commitmentOf("rep", 1, 0);
        const b = commitmentOf("rep", 1, 1);
        const batch = batchOf("rep", 1, 0, { commitments: [a, b, a], root: "library" });
        await index.putBatch(batch);
        const found = await index.get(a);
        expect(found!.index).to.equal(0);
        expect(found!.merkleProof).to.deep.equal(libraryTree(batch.commitments).getProof(0));
        expect(index.counts()).to.deep.equal({ batches: 1, proofs: 2 });
      } finally {
        await index.close();
      }
    });

    it("keeps the salt in the tree but answers no proof for it", async function () {
      const index = await ProofIndex.open(await tempDir("salt"));
      try {
        const salt = sha256Hex("salt:only");
        const batch = batchOf("salt", 0, 5, { salt, root: "library" });
        await index.putBatch(batch);
        expect(await index.get(salt)).to.equal(undefined);
        expect(index.counts()).to.deep.equal({ batches: 1, proofs: 5 });
        const found = await index.get(batch.commitments[4]);
        expect(found!.merkleProof).to.deep.equal(libraryTree(batch.commitments, salt).getProof(4));
        expect((await index.getBatch(batch.root))!.salt).to.equal(salt);
      } finally {
        await index.close();
      }
    });

    it("resolves a commitment in two batches (re-sealed with a salt) to the latest", async function () {
      const index = await ProofIndex.open(await tempDir("resealed"));
      try {
        const first = batchOf("reseal", 0, 8);
        const salt = sha256Hex("salt:reseal");
        const resealed = batchOf("reseal", 1, 0, { commitments: first.commitments.slice(2), salt });
        await index.putBatch(first);
        await index.putBatch(resealed);
        for (const [i, c] of first.commitments.entries()) {
          const found = await index.get(c);
          if (i < 2) {
            expect(found!.root).to.equal(first.root);
            expect(found!.index).to.equal(i);
          } else {
            expect(found!.root).to.equal(resealed.root);
            expect(found!.index).to.equal(i - 2);
            expect(found!.merkleProof).to.deep.equal(libraryTree(resealed.commitments, salt).getProof(i - 2));
          }
        }
        expect(index.counts()).to.deep.equal({ batches: 2, proofs: 8 });
      } finally {
        await index.close();
      }
    });
  });

  describe("batches", function () {
    it("answers a batch by root, and whether it holds one", async function () {
      const index = await ProofIndex.open(await tempDir("getbatch"));
      try {
        const batch = batchOf("gb", 0, 3);
        expect(await index.hasBatch(batch.root)).to.equal(false);
        expect(await index.getBatch(batch.root)).to.equal(undefined);
        await index.putBatch(batch);
        expect(await index.hasBatch(batch.root)).to.equal(true);
        expect(await index.getBatch(batch.root)).to.deep.equal(batch);
        const { gasUsed: _gas, ...withoutGas } = batchOf("gb", 1, 2);
        await index.putBatch(withoutGas);
        expect(await index.getBatch(withoutGas.root)).to.deep.equal(withoutGas);
      } finally {
        await index.close();
      }
    });

    it("lists batches in anchoring order, reversed and limited", async function () {
      const index = await ProofIndex.open(await tempDir("list"));
      try {
        // Roots in an order unrelated to their values, so the listing cannot be sorted by root by accident.
        const batches = Array.from({ length: 12 }, (_, b) => batchOf("list", b, 2));
        for (const batch of batches) await index.putBatch(batch);
        const roots = batches.map((b) => b.root);
        expect((await all(index.batches())).map((b) => b.root)).to.deep.equal(roots);
        expect((await all(index.batches({ reverse: true }))).map((b) => b.root)).to.deep.equal([...roots].reverse());
        expect((await all(index.batches({ reverse: true, limit: 3 }))).map((b) => b.root)).to.deep.equal(
          roots.slice(-3).reverse(),
        );
        expect((await all(index.batches({ limit: 2 }))).map((b) => b.root)).to.deep.equal(roots.slice(0, 2));
        // Stopping early closes the store's iterator: close() below would hang or throw if it did not.
        for await (const batch of index.batches()) {
          expect(batch.root).to.equal(roots[0]);
          break;
        }
      } finally {
        await index.close();
      }
    });

    it("ignores a second put of the same batch", async function () {
      const index = await ProofIndex.open(await tempDir("idempotent"));
      try {
        const batch = batchOf("idem", 0, 4);
        await index.putBatch(batch);
        await index.putBatch(batch);
        await index.putBatch({ ...batch, anchoredAt: batch.anchoredAt + 5_000 }); // seen again after a restart
        expect(index.counts()).to.deep.equal({ batches: 1, proofs: 4 });
        expect(await all(index.batches())).to.deep.equal([batch]);
      } finally {
        await index.close();
      }
    });

    it("refuses a second put of the same root with another anchor", async function () {
      const index = await ProofIndex.open(await tempDir("conflict"));
      try {
        const batch = batchOf("conflict", 0, 4);
        await index.putBatch(batch);
        const other = { ...batch, txHash: sha256Hex("another tx") };
        const error = await index.putBatch(other).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(ProofIndexConflictError);
        expect((error as Error).message)
          .to.contain(batch.root)
          .and.contain("txHash");
        expect(await index.getBatch(batch.root)).to.deep.equal(batch);
      } finally {
        await index.close();
      }
    });

    it("refuses a second put of the same root with its commitments in another order", async function () {
      // The tree sorts its leaves, so the root does not fix the order; the positions (and the batch blob) do.
      const index = await ProofIndex.open(await tempDir("reordered"));
      try {
        const batch = batchOf("reordered", 0, 4);
        await index.putBatch(batch);
        const reordered = { ...batch, commitments: [...batch.commitments].reverse() };
        expect(indexedBatchRoot(reordered.commitments)).to.equal(batch.root);
        const error = await index.putBatch(reordered).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(ProofIndexConflictError);
        expect((error as ProofIndexConflictError).field).to.equal("commitments");
        expect((await index.get(batch.commitments[0]))!.index).to.equal(0);
      } finally {
        await index.close();
      }
    });

    it("finishes the puts queued before close, and refuses puts after it", async function () {
      const dir = await tempDir("close-queue");
      const index = await ProofIndex.open(dir);
      const batches = Array.from({ length: 5 }, (_, b) => batchOf("queue", b, 64));
      const puts = batches.map((batch) => index.putBatch(batch));
      await index.close();
      await Promise.all(puts);
      const error = await index.putBatch(batchOf("queue", 9, 1)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ProofIndexError);
      expect((error as Error).message).to.contain("closed");
      const reopened = await ProofIndex.open(dir);
      try {
        expect(reopened.counts()).to.deep.equal({ batches: 5, proofs: 320 });
      } finally {
        await reopened.close();
      }
    });

    it("refuses a batch whose root is not the root of its values, or whose fields are malformed", async function () {
      const index = await ProofIndex.open(await tempDir("invalid"));
      try {
        const good = batchOf("invalid", 0, 4);
        const cases: [string, unknown][] = [
          ["root", { ...good, root: batchOf("invalid", 1, 4).root }],
          ["root", { ...good, salt: sha256Hex("salt the root did not include") }],
          ["root", { ...good, root: good.root.toUpperCase().replace("0X", "0x") }],
          ["commitments", { ...good, commitments: [] }],
          ["commitments[1]", { ...good, commitments: [good.commitments[0], "0x1234"] }],
          ["blobId", { ...good, blobId: "not a blob id" }],
          ["txHash", { ...good, txHash: 7 }],
          ["block", { ...good, block: -1 }],
          ["gasUsed", { ...good, gasUsed: "0x10" }],
          ["anchoredAt", { ...good, anchoredAt: 1.5 }],
          ["endEpoch", { ...good, endEpoch: 0 }],
          ["endEpoch", { ...good, endEpoch: 2 ** 32 }],
          ["endEpoch", { ...good, endEpoch: "60" }],
          ["sealedAt", { ...good, sealedAt: 1 }],
        ];
        for (const [field, batch] of cases) {
          const error = await index.putBatch(batch as IndexedBatch).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error, field).to.be.instanceOf(InvalidIndexedBatchError);
          expect((error as InvalidIndexedBatchError).field, field).to.equal(field);
        }
        expect(index.counts()).to.deep.equal({ batches: 0, proofs: 0 });
        expect(await all(index.batches())).to.deep.equal([]);
      } finally {
        await index.close();
      }
    });
  });

  describe("on disk", function () {
    it("keeps batches, proofs and counts across close and reopen", async function () {
      const dir = await tempDir("reopen");
      const batches = [
        batchOf("reopen", 0, 10),
        // with the end epoch it was anchored with (batches anchored before ProofRegistry 2.0 have none)
        { ...batchOf("reopen", 1, 3, { salt: sha256Hex("salt:reopen") }), endEpoch: 42 },
      ];
      const first = await ProofIndex.open(dir);
      for (const batch of batches) await first.putBatch(batch);
      await first.close();

      const index = await ProofIndex.open(dir);
      try {
        expect(index.counts()).to.deep.equal({ batches: 2, proofs: 13 });
        expect(await all(index.batches())).to.deep.equal(batches);
        const found = await index.get(batches[1].commitments[2]);
        expect(found!.batch).to.deep.equal(batches[1]);
        expect(found!.merkleProof).to.deep.equal(libraryTree(batches[1].commitments, batches[1].salt).getProof(2));
        await index.putBatch(batchOf("reopen", 2, 1));
        expect(index.counts()).to.deep.equal({ batches: 3, proofs: 14 });
        expect((await all(index.batches({ reverse: true, limit: 1 })))[0].root).to.equal(batchOf("reopen", 2, 1).root);
      } finally {
        await index.close();
      }
    });

    it("refuses to open a directory another process has open, saying so", async function () {
      const dir = await tempDir("locked");
      const index = await ProofIndex.open(dir);
      try {
        const error = await ProofIndex.open(dir).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(ProofIndexError);
        expect((error as Error).message)
          .to.contain(dir)
          .and.contain("another");
      } finally {
        await index.close();
      }
    });

    it("refuses calls after close", async function () {
      const index = await ProofIndex.open(await tempDir("closed"));
      await index.close();
      const error = await index.get(sha256Hex("x")).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ProofIndexError);
      expect((error as Error).message).to.contain("closed");
    });

    it("drops a put torn mid-write as a whole and keeps the index consistent", async function () {
      // A writer that dies during a put leaves the write-ahead log with a torn last record. Simulate it on a copy of
      // an index whose handle was never closed (what a crash leaves): cut into the last put's record.
      const dir = await tempDir("torn");
      const kept = batchOf("torn", 0, 100);
      const torn = batchOf("torn", 1, 4096);
      const script = childScript(`
        (async () => {
          const index = await ProofIndex.open(process.argv[2]);
          const [kept, torn] = JSON.parse(require("node:fs").readFileSync(process.argv[3], "utf8"));
          await index.putBatch(kept);
          await index.putBatch(torn);
          console.log("put");
          setInterval(() => {}, 1000); // never closes: killed by the parent
        })().catch((e) => { console.error(e); process.exit(1); });`);
      const batchesFile = join(await mkdtemp(join(tmpdir(), "strata-proof-index-torn-")), "batches.json");
      await writeFile(batchesFile, JSON.stringify([kept, torn]));
      const child = await runChild(script, [dir, batchesFile], {
        onLine: (line, kill) => line === "put" && kill(),
      });
      expect(child.signal, child.stderr).to.equal("SIGKILL");

      // Both puts were acknowledged: the un-closed index holds both.
      const crashed = `${dir}-crashed`;
      await cp(dir, crashed, { recursive: true });
      const whole = await ProofIndex.open(crashed);
      expect(whole.counts()).to.deep.equal({ batches: 2, proofs: 4196 });
      await whole.close();

      const logs = (await readdir(dir)).filter((f) => f.endsWith(".log"));
      expect(logs).to.have.length(1);
      const log = join(dir, logs[0]);
      await truncate(log, (await stat(log)).size - 1000);
      const index = await ProofIndex.open(dir);
      try {
        expect(index.counts()).to.deep.equal({ batches: 1, proofs: 100 });
        expect(await index.hasBatch(torn.root)).to.equal(false);
        for (const c of [torn.commitments[0], torn.commitments[4095]]) expect(await index.get(c)).to.equal(undefined);
        expect((await expectConsistent(index)).map((b) => b.root)).to.deep.equal([kept.root]);
        // The next put takes the place the torn one never got.
        await index.putBatch(torn);
        expect(index.counts()).to.deep.equal({ batches: 2, proofs: 4196 });
        await expectConsistent(index);
      } finally {
        await index.close();
      }
    });

    it("refuses a put on a full disk, loses no acknowledged one, and takes puts again once there is space", async function () {
      // A small tmpfs (mounting needs root, as on the CI machines; skipped where it is refused).
      const mountPoint = await mkdtemp(join(tmpdir(), "strata-proof-index-full-"));
      const mounted = await new Promise<boolean>((resolve) =>
        spawn("mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint], { stdio: "ignore" })
          .on("error", () => resolve(false))
          .on("close", (code) => resolve(code === 0)),
      );
      if (!mounted) this.skip();
      try {
        const dir = join(mountPoint, "index");
        const small = batchOf("full", 0, 100);
        const large = batchOf("full", 1, 4096);
        const after = batchOf("full", 2, 100);
        const index = await ProofIndex.open(dir);
        try {
          await index.putBatch(small);
          // Fill the disk.
          const filler = join(mountPoint, "filler");
          await writeFile(filler, Buffer.alloc(8 * 2 ** 20)).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== "ENOSPC") throw e;
          });
          const refused = () =>
            index.putBatch(large).then(
              () => undefined,
              (e: unknown) => e,
            );
          const first = await refused();
          expect(first).to.be.instanceOf(ProofIndexError);
          expect((first as Error).message)
            .to.contain(large.root)
            .and.contain("disk");
          expect(index.counts()).to.deep.equal({ batches: 1, proofs: 100 });
          // Reads go on from the open handle.
          expect(await index.get(large.commitments[0])).to.equal(undefined);
          expect((await index.get(small.commitments[7]))!.index).to.equal(7);
          // The next put reopens the store first, which needs space too: refused, and reads now say why.
          const second = await refused();
          expect(second).to.be.instanceOf(ProofIndexError);
          expect((second as Error).message)
            .to.contain(large.root)
            .and.contain("free disk space");
          const read = await index.get(small.commitments[7]).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(read).to.be.instanceOf(ProofIndexError);
          expect((read as Error).message).to.contain("disk");
          await truncate(filler, 0);
          expect((await index.get(small.commitments[7]))!.index).to.equal(7);
          expect(index.counts()).to.deep.equal({ batches: 1, proofs: 100 });
          await index.putBatch(large);
          await index.putBatch(after);
          expect(index.counts()).to.deep.equal({ batches: 3, proofs: 4296 });
        } finally {
          await index.close();
        }
        const reopened = await ProofIndex.open(dir);
        try {
          expect((await expectConsistent(reopened)).map((b) => b.root)).to.deep.equal([
            small.root,
            large.root,
            after.root,
          ]);
        } finally {
          await reopened.close();
        }
      } finally {
        await new Promise((resolve) => spawn("umount", [mountPoint], { stdio: "ignore" }).on("close", resolve));
      }
    });

    it("stays consistent when its writer is SIGKILLed during puts, keeping every acknowledged one", async function () {
      const dir = await tempDir("sigkill");
      const script = childScript(`
        (async () => {
          const index = await ProofIndex.open(process.argv[2]);
          for (let b = index.counts().batches; ; b++) {
            // Batches of 1,024 proofs; every third one re-seals the previous one's second half with a salt.
            const size = 1024;
            let commitments = Array.from({ length: size }, (_, i) => commitmentOf("kill", b, i));
            let salt;
            if (b % 3 === 2) {
              commitments = Array.from({ length: size / 2 }, (_, i) => commitmentOf("kill", b - 1, size / 2 + i));
              salt = sha256Hex("salt:" + b);
            }
            const batch = {
              root: indexedBatchRoot(commitments, salt), commitments, ...(salt ? { salt } : {}),
              blobId: createHash("sha256").update("blob:" + b).digest().toString("base64url"),
              txHash: sha256Hex("tx:" + b), block: b, anchoredAt: Date.now(),
            };
            await index.putBatch(batch);
            console.log("acked " + batch.root);
          }
        })().catch((e) => { console.error(e); process.exit(1); });`);
      const acked: string[] = [];
      for (let round = 0; round < 4; round++) {
        const killAfter = 2 + Math.floor(Math.random() * 4);
        let seen = 0;
        const child = await runChild(script, [dir], {
          onLine: (line, kill) => {
            if (!line.startsWith("acked ")) return;
            acked.push(line.slice(6));
            // Kill a random few milliseconds after an acknowledgement: in the next put's tree build or its write.
            if (++seen === killAfter) setTimeout(kill, Math.floor(Math.random() * 40));
          },
        });
        expect(child.signal, child.stderr).to.equal("SIGKILL");
        const index = await ProofIndex.open(dir);
        try {
          const roots = (await expectConsistent(index)).map((b) => b.root);
          // Every acknowledged put is there, in order; at most one more (acknowledged after the kill was sent).
          expect(roots.slice(0, acked.length)).to.deep.equal(acked);
          expect(roots.length - acked.length).to.be.within(0, 1);
          acked.splice(0, acked.length, ...roots);
        } finally {
          await index.close();
        }
      }
    });
  });

  describe("size", function () {
    // These measure in a fresh child process, so the figures are the index's alone. They are reported; only the memory
    // that opening takes is asserted (open reads one record whatever the history), and that every lookup answers.
    const measure = childScript(`
      const { readFileSync } = require("node:fs");
      const tick = () => new Promise((resolve) => setImmediate(resolve));
      // Memory after a full GC (twice, with ticks between so native finalizers run): RSS, its anonymous and file-backed
      // parts (LevelDB maps its table files), and the JS heap.
      async function snap() {
        for (let k = 0; k < 2; k++) { global.gc(); await tick(); }
        const status = readFileSync("/proc/self/status", "utf8");
        const kib = (name) => Number(status.split(String.fromCharCode(10)).find((l) => l.startsWith(name + ":")).slice(name.length + 1).trim().split(" ")[0]) * 1024;
        return { rss: process.memoryUsage().rss, anon: kib("RssAnon"), file: kib("RssFile"), heap: process.memoryUsage().heapUsed };
      }
      (async () => {
        const [dir, batches, size, lookups] = process.argv.slice(2).map((a, i) => (i === 0 ? a : Number(a)));
        const before = await snap();
        let t = performance.now();
        const index = await ProofIndex.open(dir);
        const openMs = performance.now() - t;
        const opened = await snap();
        const counts = index.counts();
        // One lookup per batch first (nothing cached), then random ones.
        const times = [];
        let x = 12345;
        const random = (n) => ((x = (x * 1103515245 + 12345) % 2147483648) % n);
        for (let k = 0; k < lookups; k++) {
          const b = k < batches ? k : random(batches), i = random(size);
          const c = commitmentOf("size", b, i);
          t = performance.now();
          const found = await index.get(c);
          times.push(performance.now() - t);
          if (!found || found.index !== i) throw new Error("lookup of " + c + " failed: " + JSON.stringify(found && found.index));
        }
        const looked = await snap();
        const split = Math.min(batches, lookups);
        const first = times.slice(0, split).sort((a, b) => a - b);
        const rest = times.slice(split).sort((a, b) => a - b);
        const p = (a, q) => (a.length ? a[Math.min(a.length - 1, Math.floor(a.length * q))] : 0);
        t = performance.now(); await index.close(); const closeMs = performance.now() - t;
        console.log(JSON.stringify({ counts, openMs, closeMs, before, opened, looked,
          firstP50: p(first, 0.5), firstP99: p(first, 0.99), laterP50: p(rest, 0.5), laterP99: p(rest, 0.99) }));
      })().catch((e) => { console.error(e); process.exit(1); });`);

    interface Memory {
      rss: number;
      anon: number;
      file: number;
      heap: number;
    }
    interface Figures {
      counts: { batches: number; proofs: number };
      openMs: number;
      closeMs: number;
      before: Memory;
      opened: Memory;
      looked: Memory;
      firstP50: number;
      firstP99: number;
      laterP50: number;
      laterP99: number;
    }

    async function build(batches: number, size: number): Promise<{ dir: string; buildMs: number }> {
      const dir = await tempDir(`size-${batches}x${size}`);
      const index = await ProofIndex.open(dir);
      const started = performance.now();
      for (let b = 0; b < batches; b++) await index.putBatch(batchOf("size", b, size));
      const buildMs = performance.now() - started;
      await index.close();
      return { dir, buildMs };
    }

    async function measureIn(dir: string, batches: number, size: number, lookups: number): Promise<Figures> {
      const child = await runChild(measure, [dir, String(batches), String(size), String(lookups)], {
        nodeArgs: ["--expose-gc"],
      });
      await rm(dir, { recursive: true, force: true });
      expect(child.code, child.stderr).to.equal(0);
      return JSON.parse(child.lines[child.lines.length - 1]) as Figures;
    }

    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)}`;
    const memory = (m: Memory) => `RSS ${mib(m.rss)} (anon ${mib(m.anon)}, file ${mib(m.file)}), heap ${mib(m.heap)}`;
    const ms = (t: number) => `${t.toFixed(2)} ms`;
    function report(label: string, buildMs: number, lookups: number, f: Figures): void {
      console.log(
        [
          `      ${label}: built in ${(buildMs / 1000).toFixed(1)} s; open ${ms(f.openMs)}, close ${ms(f.closeMs)}`,
          `        MiB before open: ${memory(f.before)}`,
          `        MiB after open:  ${memory(f.opened)}`,
          `        MiB after ${lookups} lookups: ${memory(f.looked)}`,
          `        lookup, first in each batch: p50 ${ms(f.firstP50)}, p99 ${ms(f.firstP99)}; ` +
            `later: p50 ${ms(f.laterP50)}, p99 ${ms(f.laterP99)}`,
        ].join("\n"),
      );
    }

    it("opens an index of 1,000 batches of 100 proofs without loading it, and answers from it", async function () {
      const { dir, buildMs } = await build(1000, 100);
      const f = await measureIn(dir, 1000, 100, 3000);
      report("1,000 x 100", buildMs, 3000, f);
      expect(f.counts).to.deep.equal({ batches: 1000, proofs: 100_000 });
      expect(f.opened.heap - f.before.heap).to.be.below(4 * 2 ** 20);
    });

    it("answers lookups in an index of 25 batches of 4,096 proofs with bounded memory", async function () {
      const { dir, buildMs } = await build(25, 4096);
      const f = await measureIn(dir, 25, 4096, 3000);
      report("25 x 4,096", buildMs, 3000, f);
      expect(f.counts).to.deep.equal({ batches: 25, proofs: 102_400 });
      expect(f.opened.heap - f.before.heap).to.be.below(4 * 2 ** 20);
    });
  });
});
