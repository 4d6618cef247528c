import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  blobIdToBytes32,
  ContractRevertError,
  InvalidArgumentError,
  modelIdOf,
  ModelRegistryClient,
  NoActiveVersionError,
  UnknownModelError,
  UnknownVersionError,
  type BlobId,
} from "../src";
import { b32, blob, deployFixture, modelId as modelIdFor, rejection } from "./fixtures";

const FILE = { blobId: blob("file v0"), sha256: b32("sha v0"), size: 1234n, endEpoch: 50 };
const FILE1 = { blobId: blob("file v1"), sha256: b32("sha v1"), size: 99n, endEpoch: 60 };

async function modelFixture() {
  const base = await deployFixture();
  const models = base.client.models.connect(base.owner);
  const modelId = await (await models.createModel("mnist", blob("meta"))).wait();
  return { ...base, models, modelId };
}

describe("core ModelRegistryClient", function () {
  describe("createModel", function () {
    it("creates a model and wait() gives its id, the twin of modelIdOf", async function () {
      const { client, owner } = await loadFixture(deployFixture);
      const tx = await client.models.connect(owner).createModel("resnet", blob("meta"));
      expect(tx.hash).to.match(/^0x[0-9a-f]{64}$/);
      const modelId = await tx.wait();
      expect(modelId).to.equal(modelIdOf(owner.address, "resnet"));
      expect(tx.receipt?.status).to.equal(1);
    });

    it("rejects a second model of the same name by the same creator with a decoded revert", async function () {
      const { models, owner, modelId } = await loadFixture(modelFixture);
      const error = (await rejection(models.createModel("mnist", blob("meta")))) as ContractRevertError;
      expect(error).to.be.instanceOf(ContractRevertError);
      expect(error.errorName).to.equal("ModelRegistryModelExists");
      expect(error.namedArgs).to.deep.equal({ modelId, creator: owner.address });
      expect(error.context).to.deep.equal({ contract: "ModelRegistry", method: "createModel" });
    });

    it("rejects a malformed metadata Blob ID before sending", async function () {
      const { client } = await loadFixture(deployFixture);
      const error = await rejection(client.models.createModel("m", "0x1234" as BlobId));
      expect(error).to.be.instanceOf(InvalidArgumentError);
      expect(error.message).to.contain("Invalid metadataBlobId");
    });
  });

  describe("versions", function () {
    it("publishes versions and wait() gives the index and what was recorded", async function () {
      const { models, modelId } = await loadFixture(modelFixture);
      const v0 = await (await models.publishVersion(modelId, FILE)).wait();
      expect(v0).to.include({ modelId, index: 0, blobId: FILE.blobId, sha256: FILE.sha256, size: 1234n, endEpoch: 50 });
      expect(v0.gasUsed > 0n).to.equal(true);
      const v1 = await (await models.publishVersion(modelId, FILE1)).wait();
      expect(v1.index).to.equal(1);
      expect(v1.blockNumber).to.be.greaterThan(v0.blockNumber);
      expect(await models.versionCount(modelId)).to.equal(2);
    });

    it("rejects a duplicate Blob ID with ModelRegistryDuplicateBlobId naming the model, blob and version", async function () {
      const { models, modelId } = await loadFixture(modelFixture);
      await (await models.publishVersion(modelId, FILE)).wait();
      const error = (await rejection(
        models.publishVersion(modelId, { ...FILE, sha256: modelIdFor("other") }),
      )) as ContractRevertError;
      expect(error).to.be.instanceOf(ContractRevertError);
      expect(error.errorName).to.equal("ModelRegistryDuplicateBlobId");
      expect(error.namedArgs).to.deep.equal({ modelId, blobId: blobIdToBytes32(FILE.blobId), index: 0n });
      expect(error.message).to.contain("ModelRegistry.publishVersion reverted with ModelRegistryDuplicateBlobId(");
      expect(error.message).to.contain("already version 0");
    });

    it("rejects a publication by someone other than the owner", async function () {
      const { models, modelId, other } = await loadFixture(modelFixture);
      const error = (await rejection(models.connect(other).publishVersion(modelId, FILE))) as ContractRevertError;
      expect(error.errorName).to.equal("ModelRegistryUnauthorizedAccount");
      expect(error.namedArgs.account).to.equal(other.address);
    });

    it("reads a version by index with its publication time", async function () {
      const { models, modelId } = await loadFixture(modelFixture);
      await (await models.publishVersion(modelId, FILE)).wait();
      const version = await models.getVersion(modelId, 0);
      expect(version).to.deep.equal({
        modelId,
        index: 0,
        blobId: FILE.blobId,
        sha256: FILE.sha256,
        size: FILE.size,
        endEpoch: FILE.endEpoch,
        publishedAt: await time.latest(),
        deprecated: false,
      });
    });

    it("throws UnknownVersionError for an index past the end, with the count", async function () {
      const { models, modelId } = await loadFixture(modelFixture);
      await (await models.publishVersion(modelId, FILE)).wait();
      const error = (await rejection(models.getVersion(modelId, 3))) as UnknownVersionError;
      expect(error).to.be.instanceOf(UnknownVersionError);
      expect(error.version).to.deep.equal({ index: 3, count: 1 });
      expect(error.cause).to.be.instanceOf(ContractRevertError);
    });

    it("finds a version by Blob ID, and throws UnknownVersionError for an unknown one", async function () {
      const { models, modelId } = await loadFixture(modelFixture);
      await (await models.publishVersion(modelId, FILE)).wait();
      await (await models.publishVersion(modelId, FILE1)).wait();
      expect(await models.versionOf(modelId, FILE1.blobId)).to.equal(1);
      const error = (await rejection(models.versionOf(modelId, blob("nope")))) as UnknownVersionError;
      expect(error).to.be.instanceOf(UnknownVersionError);
      expect(error.version).to.deep.equal({ blobId: blob("nope") });
    });

    it("extends a version's storage end epoch, and decodes a non-extension", async function () {
      const { models, modelId } = await loadFixture(modelFixture);
      await (await models.publishVersion(modelId, FILE)).wait();
      const extended = await (await models.extendVersion(modelId, 0, 80)).wait();
      expect(extended).to.include({ modelId, index: 0, endEpoch: 80 });
      expect((await models.getVersion(modelId, 0)).endEpoch).to.equal(80);
      const error = (await rejection(models.extendVersion(modelId, 0, 80))) as ContractRevertError;
      expect(error.errorName).to.equal("ModelRegistryEndEpochNotExtended");
      expect(error.namedArgs).to.include({ current: 80n, requested: 80n });
    });

    it("deprecates versions: latestVersion skips them, then throws NoActiveVersionError", async function () {
      const { models, modelId } = await loadFixture(modelFixture);
      await (await models.publishVersion(modelId, FILE)).wait();
      await (await models.publishVersion(modelId, FILE1)).wait();
      expect((await models.latestVersion(modelId)).index).to.equal(1);
      expect(await (await models.deprecateVersion(modelId, 1)).wait()).to.include({ modelId, index: 1 });
      const latest = await models.latestVersion(modelId);
      expect(latest).to.include({ index: 0, blobId: FILE.blobId, deprecated: false });
      expect((await models.getVersion(modelId, 1)).deprecated).to.equal(true);
      await (await models.deprecateVersion(modelId, 0)).wait();
      const error = await rejection(models.latestVersion(modelId));
      expect(error).to.be.instanceOf(NoActiveVersionError);
      expect((error as NoActiveVersionError).modelId).to.equal(modelId);
    });

    it("lists every version, oldest first", async function () {
      const { models, modelId } = await loadFixture(modelFixture);
      expect(await models.listVersions(modelId)).to.deep.equal([]);
      await (await models.publishVersion(modelId, FILE)).wait();
      await (await models.publishVersion(modelId, FILE1)).wait();
      expect((await models.listVersions(modelId)).map((v) => v.blobId)).to.deep.equal([FILE.blobId, FILE1.blobId]);
    });
  });

  describe("models", function () {
    it("reads a model", async function () {
      const { models, modelId, owner } = await loadFixture(modelFixture);
      expect(await models.getModel(modelId)).to.deep.equal({
        id: modelId,
        owner: owner.address,
        versionCount: 0,
        createdAt: await time.latest(),
        metadataBlobId: blob("meta"),
      });
      expect(await models.exists(modelId)).to.equal(true);
    });

    it("throws UnknownModelError for an unknown model", async function () {
      const { models } = await loadFixture(modelFixture);
      const error = (await rejection(models.getModel(modelIdFor("none")))) as UnknownModelError;
      expect(error).to.be.instanceOf(UnknownModelError);
      expect(error.modelId).to.equal(modelIdFor("none"));
      expect(await models.exists(modelIdFor("none"))).to.equal(false);
    });

    it("points a model at new metadata", async function () {
      const { models, modelId } = await loadFixture(modelFixture);
      expect(await (await models.setMetadata(modelId, blob("meta 2"))).wait()).to.include({
        modelId,
        metadataBlobId: blob("meta 2"),
      });
      expect((await models.getModel(modelId)).metadataBlobId).to.equal(blob("meta 2"));
    });

    it("transfers a model in two steps", async function () {
      const { models, modelId, owner, other } = await loadFixture(modelFixture);
      expect(await models.pendingOwner(modelId)).to.equal(null);
      const offered = await (await models.transferModel(modelId, other.address)).wait();
      expect(offered).to.include({ modelId, previousOwner: owner.address, newOwner: other.address });
      expect(await models.pendingOwner(modelId)).to.equal(other.address);
      const accepted = await (await models.connect(other).acceptModel(modelId)).wait();
      expect(accepted).to.include({ modelId, previousOwner: owner.address, newOwner: other.address });
      expect((await models.getModel(modelId)).owner).to.equal(other.address);
      expect(await models.pendingOwner(modelId)).to.equal(null);
    });

    it("rejects an acceptance by someone without an offer", async function () {
      const { models, modelId, other } = await loadFixture(modelFixture);
      const error = (await rejection(models.connect(other).acceptModel(modelId))) as ContractRevertError;
      expect(error.errorName).to.equal("ModelRegistryNotPendingOwner");
      expect(error.namedArgs).to.deep.equal({ modelId, account: other.address });
    });

    it("gives a model's name from its creation event", async function () {
      const { models, modelId } = await loadFixture(modelFixture);
      expect(await models.getModelName(modelId)).to.equal("mnist");
      await rejection(models.getModelName(modelIdFor("none"))).then((e) =>
        expect(e).to.be.instanceOf(UnknownModelError),
      );
    });

    it("lists models from their creation events, by creator if asked", async function () {
      const { models, modelId, owner, other } = await loadFixture(modelFixture);
      const otherId = await (await models.connect(other).createModel("bert", blob("meta b"))).wait();
      const all = await models.listModels();
      expect(all.map((m) => [m.id, m.creator, m.name])).to.deep.equal([
        [modelId, owner.address, "mnist"],
        [otherId, other.address, "bert"],
      ]);
      expect(all[1].metadataBlobId).to.equal(blob("meta b"));
      expect((await models.listModels({ creator: other.address })).map((m) => m.name)).to.deep.equal(["bert"]);
    });

    it("scans events in bounded block ranges when asked", async function () {
      const { models, registries, deployment, other } = await loadFixture(modelFixture);
      await (await models.connect(other).createModel("bert", blob("meta b"))).wait();
      const chunked = new ModelRegistryClient(registries.modelRegistry, {
        fromBlock: deployment.block,
        maxBlockRange: 1,
      });
      expect((await chunked.listModels()).map((m) => m.name)).to.deep.equal(["mnist", "bert"]);
      const late = new ModelRegistryClient(registries.modelRegistry, { fromBlock: (await time.latestBlock()) + 1 });
      expect(await late.listModels()).to.deep.equal([]);
    });
  });

  describe("resolve", function () {
    it("resolves a model id, creator/name, and a bare name with a default creator", async function () {
      const { models, modelId, owner } = await loadFixture(modelFixture);
      for (const [ref, creator] of [
        [modelId, undefined],
        [`${owner.address}/mnist`, undefined],
        ["mnist", owner.address],
      ] as const) {
        const resolved = await models.resolve(ref, creator);
        expect(resolved.model.id, ref).to.equal(modelId);
        expect(resolved.ref).to.equal(ref);
      }
    });

    it("throws UnknownModelError naming the reference", async function () {
      const { models, owner } = await loadFixture(modelFixture);
      const error = (await rejection(models.resolve(`${owner.address}/missing`))) as UnknownModelError;
      expect(error).to.be.instanceOf(UnknownModelError);
      expect(error.ref).to.equal(`${owner.address}/missing`);
      expect(error.message).to.contain(`${owner.address}/missing`);
    });

    it("resolves a version: the latest active one, or by index", async function () {
      const { models, modelId, owner } = await loadFixture(modelFixture);
      await (await models.publishVersion(modelId, FILE)).wait();
      await (await models.publishVersion(modelId, FILE1)).wait();
      expect((await models.resolveVersion("mnist", "latest", owner.address)).blobId).to.equal(FILE1.blobId);
      expect((await models.resolveVersion(`${owner.address}/mnist`, 0)).blobId).to.equal(FILE.blobId);
      await rejection(models.resolveVersion(modelId, -1)).then((e) => expect(e).to.be.instanceOf(InvalidArgumentError));
    });
  });

  it("reads through a plain provider", async function () {
    const { deployment, modelId } = await loadFixture(modelFixture);
    const reader = ModelRegistryClient.at(deployment.contracts.ModelRegistry, ethers.provider);
    expect((await reader.getModel(modelId)).id).to.equal(modelId);
    expect(await reader.getChainId()).to.equal(31337n);
  });
});
