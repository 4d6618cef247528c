import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "hardhat";
import { deployAndDescribe } from "@strata/contracts";
import { StrataClient } from "@strata/core";
import { startLocalWalrus, WalrusClient, type LocalWalrus } from "@strata/walrus";
import {
  buildMlp,
  ModelCache,
  ModelIntegrityError,
  ModelSession,
  NotOnnxModelError,
  publishModel,
  type BlobSource,
} from "../src";

const SHARDS = 10;
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** A blob source over a map (each read counted), standing where the Walrus client stands. */
function countingSource(files: Map<string, Uint8Array>): BlobSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async readToFile(blobId, path) {
      reads.push(blobId);
      await new Promise((r) => setTimeout(r, 20));
      const bytes = files.get(blobId);
      if (!bytes) throw new Error(`no blob ${blobId}`);
      await writeFile(path, bytes);
      return { blobId, path, size: bytes.length, sha256: sha(bytes) } as never;
    },
  };
}

const id = (n: number) => `blob${String(n).padStart(39, "0")}`;

describe("Model runtime", function () {
  describe("model cache", function () {
    const files = new Map([1, 2, 3].map((n) => [id(n), new Uint8Array(1000).fill(n)]));
    const ref = (n: number) => ({ blobId: id(n), sha256: sha(files.get(id(n))!), size: 1000 });

    it("downloads a model once however many requests want it at the same time", async function () {
      const source = countingSource(files);
      const cache = new ModelCache(await mkdtemp(join(tmpdir(), "strata-cache-")), source, 10_000);
      const entries = await Promise.all(Array.from({ length: 10 }, () => cache.get(ref(1))));
      expect(source.reads).to.deep.equal([id(1)]);
      expect(new Set(entries.map((e) => e.path)).size).to.equal(1);
      await cache.get(ref(1));
      expect(source.reads).to.have.length(1);
    });

    it("stays within its bound by evicting the least recently used model", async function () {
      const source = countingSource(files);
      const cache = new ModelCache(await mkdtemp(join(tmpdir(), "strata-cache-")), source, 2_500);
      await cache.get(ref(1));
      await new Promise((r) => setTimeout(r, 20));
      await cache.get(ref(2));
      await new Promise((r) => setTimeout(r, 20));
      await cache.get(ref(1)); // model 1 is now the most recently used
      await new Promise((r) => setTimeout(r, 20));
      await cache.get(ref(3));
      expect((await cache.list()).map((e) => e.blobId).sort()).to.deep.equal([id(1), id(3)]);
      expect(await cache.prune(1_000)).to.have.length(1);
      expect((await cache.list()).map((e) => e.blobId)).to.deep.equal([id(3)]);
    });

    it("never admits bytes that do not match the sha256, and verify removes an entry altered on disk", async function () {
      const dir = await mkdtemp(join(tmpdir(), "strata-cache-"));
      const cache = new ModelCache(dir, countingSource(files), 10_000);
      const error = await cache.get({ ...ref(1), sha256: sha(files.get(id(2))!) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ModelIntegrityError);
      expect(await cache.list()).to.deep.equal([]);
      expect(await readdir(join(dir, "tmp"))).to.deep.equal([]);

      const entry = await cache.get(ref(2));
      await writeFile(entry.path, new Uint8Array(1000).fill(9));
      const { ok, corrupt } = await cache.verify();
      expect(ok).to.deep.equal([]);
      expect(corrupt.map((e) => e.blobId)).to.deep.equal([id(2)]);
      expect(await cache.list()).to.deep.equal([]);
    });
  });

  describe("ONNX sessions", function () {
    it("reads the signature of a model and refuses a file that is not ONNX", async function () {
      const session = await ModelSession.load(buildMlp({ inputSize: 3, hidden: [5], outputSize: 2, seed: 1 }), "mlp");
      expect(session.signature.inputs).to.deep.equal([{ name: "x", dtype: "float32", shape: ["batch", 3] }]);
      await session.release();
      const error = await ModelSession.load(new TextEncoder().encode("not a model"), "notes.txt").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(NotOnnxModelError);
      expect((error as Error).message).to.match(/notes\.txt is not an ONNX model/);
    });

    it("builds byte-identical models from the same seed", function () {
      const spec = { inputSize: 4, hidden: [8], outputSize: 2, seed: 5 };
      expect(sha(buildMlp(spec))).to.equal(sha(buildMlp(spec)));
      expect(sha(buildMlp({ ...spec, seed: 6 }))).to.not.equal(sha(buildMlp(spec)));
    });
  });

  describe("publishing", function () {
    let walrus: LocalWalrus;
    let client: StrataClient;
    before(async function () {
      const [deployer, owner] = await ethers.getSigners();
      const { deployment } = await deployAndDescribe(deployer);
      walrus = await startLocalWalrus({ dir: await mkdtemp(join(tmpdir(), "strata-pub-")), port: 0, shards: SHARDS });
      client = StrataClient.connect(deployment, owner);
    });
    after(async function () {
      await walrus.close();
    });
    const walrusClient = () =>
      new WalrusClient({ publisherUrl: walrus.url, aggregatorUrls: [walrus.url], shards: SHARDS });

    it("uploads and registers nothing for a file that is not an ONNX model", async function () {
      const error = await publishModel({
        client,
        walrus: walrusClient(),
        file: new TextEncoder().encode("definitely not onnx"),
        name: "broken",
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(NotOnnxModelError);
      expect(await readdir(join(walrus.dir, "blobs")).catch(() => [])).to.deep.equal([]);
      expect(await client.models.listModels()).to.deep.equal([]);
    });

    it("publishes a model, then refuses the same file again before uploading anything", async function () {
      const file = buildMlp({ inputSize: 2, hidden: [4], outputSize: 1, seed: 9 });
      const first = await publishModel({ client, walrus: walrusClient(), file, name: "twice" });
      expect(first.index).to.equal(0);
      expect(first.signature.outputs[0].name).to.equal("y");
      const version = await client.models.getVersion(first.modelId, 0);
      expect(version.sha256).to.equal(`0x${sha(file)}`);
      const again = await publishModel({ client, walrus: walrusClient(), file, name: "twice" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((again as Error).message).to.match(/already version 0 of twice; nothing was uploaded/);
    });
  });
});
