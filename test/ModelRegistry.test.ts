import { expect } from "chai";
import { ethers } from "hardhat";
import { impersonateAccount, loadFixture, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress, type ContractTransactionResponse } from "ethers";
import type { ModelRegistry } from "@strata/contracts";
import { deployModelRegistry } from "./helpers/deploy";
import { fieldsOf } from "./helpers/results";
import { blobIdOf, modelIdOf, seededRandom, sha256Of, ZERO_BYTES32 } from "./helpers/values";

const NAME = "llama-3-8b-instruct";
const MAX_NAME_LENGTH = 64n;

/** Three versions of the model of the fixture, published in this order. */
const VERSIONS = [0, 1, 2].map((i) => ({
  blobId: blobIdOf(`model file v${i}`),
  sha256: sha256Of(`model file bytes v${i}`),
  size: 1_000_000n + BigInt(i),
  endEpoch: 100n + BigInt(i),
}));

/** A registry with one model, `NAME`, created by `owner`. */
async function fixture() {
  const [owner, other, newOwner] = await ethers.getSigners();
  const registry = await deployModelRegistry(owner);
  const metadata = blobIdOf("metadata v1");
  await registry.createModel(NAME, metadata);
  const createdAt = BigInt(await time.latest());
  const modelId = modelIdOf(owner.address, NAME);
  const unknownModelId = modelIdOf(other.address, NAME);
  return { registry, owner, other, newOwner, metadata, createdAt, modelId, unknownModelId };
}

/** The fixture's model with the three {VERSIONS} published, each in its own block. */
async function fixtureWithVersions() {
  const base = await fixture();
  const publishedAt: bigint[] = [];
  for (const v of VERSIONS) {
    await base.registry.publishVersion(base.modelId, v.blobId, v.sha256, v.size, v.endEpoch);
    publishedAt.push(BigInt(await time.latest()));
  }
  return { ...base, publishedAt };
}

/** The version record that the reads return for `VERSIONS[index]`. */
function expectedVersion(index: number, publishedAt: bigint, deprecated = false) {
  const v = VERSIONS[index];
  return { blobId: v.blobId, sha256: v.sha256, size: v.size, endEpoch: v.endEpoch, publishedAt, deprecated };
}

/** Every function that only the owner of a model may call, called on `modelId`. */
const OWNER_ONLY: ReadonlyArray<
  [string, (registry: ModelRegistry, modelId: string) => Promise<ContractTransactionResponse>]
> = [
  ["setMetadata", (r, id) => r.setMetadata(id, blobIdOf("metadata v2"))],
  ["publishVersion", (r, id) => r.publishVersion(id, blobIdOf("another file"), sha256Of("another"), 1n, 1n)],
  ["extendVersion", (r, id) => r.extendVersion(id, 0, 1_000n)],
  ["deprecateVersion", (r, id) => r.deprecateVersion(id, 0)],
  ["transferModel", (r, id) => r.transferModel(id, ZeroAddress)],
];

describe("ModelRegistry", function () {
  describe("modelIdOf", function () {
    it("derives keccak256(abi.encode(creator, name)) as ethers computes it", async function () {
      const { registry, owner, other } = await loadFixture(fixture);
      for (const creator of [owner.address, other.address, ZeroAddress]) {
        for (const name of [NAME, "a", "é-ü-模型", "x".repeat(64)]) {
          expect(await registry.modelIdOf(creator, name)).to.equal(modelIdOf(creator, name));
        }
      }
    });

    it("gives the same name under two creators two ids", async function () {
      const { registry, owner, other } = await loadFixture(fixture);
      expect(await registry.modelIdOf(owner, NAME)).not.to.equal(await registry.modelIdOf(other, NAME));
    });
  });

  describe("createModel", function () {
    it("creates a model owned by its creator and emits ModelCreated", async function () {
      const { registry, other } = await loadFixture(fixture);
      const metadata = blobIdOf("other metadata");
      const modelId = modelIdOf(other.address, "whisper");
      await expect(registry.connect(other).createModel("whisper", metadata))
        .to.emit(registry, "ModelCreated")
        .withArgs(modelId, other.address, "whisper", metadata);
      expect(fieldsOf(await registry.getModel(modelId))).to.deep.equal({
        owner: other.address,
        versionCount: 0n,
        createdAt: BigInt(await time.latest()),
        metadataBlobId: metadata,
      });
      expect(await registry.versionCount(modelId)).to.equal(0n);
      expect(await registry.pendingOwner(modelId)).to.equal(ZeroAddress);
    });

    it("returns the model id", async function () {
      const { registry, other } = await loadFixture(fixture);
      expect(await registry.connect(other).createModel.staticCall("whisper", blobIdOf("m"))).to.equal(
        modelIdOf(other.address, "whisper"),
      );
    });

    it("records the creation time", async function () {
      const { registry, modelId, createdAt } = await loadFixture(fixture);
      expect((await registry.getModel(modelId)).createdAt).to.equal(createdAt);
    });

    it("rejects an empty name", async function () {
      const { registry } = await loadFixture(fixture);
      await expect(registry.createModel("", blobIdOf("m")))
        .to.be.revertedWithCustomError(registry, "ModelRegistryEmptyName")
        .withArgs();
    });

    it("accepts a name of exactly 64 bytes", async function () {
      const { registry, owner } = await loadFixture(fixture);
      const name = "n".repeat(64);
      expect(await registry.MAX_NAME_LENGTH()).to.equal(MAX_NAME_LENGTH);
      await expect(registry.createModel(name, blobIdOf("m")))
        .to.emit(registry, "ModelCreated")
        .withArgs(modelIdOf(owner.address, name), owner.address, name, blobIdOf("m"));
    });

    it("rejects a name of 65 bytes", async function () {
      const { registry } = await loadFixture(fixture);
      await expect(registry.createModel("n".repeat(65), blobIdOf("m")))
        .to.be.revertedWithCustomError(registry, "ModelRegistryNameTooLong")
        .withArgs(65n, MAX_NAME_LENGTH);
    });

    it("counts the name length in UTF-8 bytes, not in characters", async function () {
      const { registry } = await loadFixture(fixture);
      await expect(registry.createModel("é".repeat(32), blobIdOf("m"))).to.emit(registry, "ModelCreated");
      await expect(registry.createModel("é".repeat(33), blobIdOf("m")))
        .to.be.revertedWithCustomError(registry, "ModelRegistryNameTooLong")
        .withArgs(66n, MAX_NAME_LENGTH);
    });

    it("rejects a zero metadata blob id", async function () {
      const { registry, other } = await loadFixture(fixture);
      await expect(registry.connect(other).createModel("whisper", ZERO_BYTES32))
        .to.be.revertedWithCustomError(registry, "ModelRegistryZeroBlobId")
        .withArgs(modelIdOf(other.address, "whisper"));
    });

    it("rejects a model its creator already has", async function () {
      const { registry, owner, modelId } = await loadFixture(fixture);
      await expect(registry.createModel(NAME, blobIdOf("again")))
        .to.be.revertedWithCustomError(registry, "ModelRegistryModelExists")
        .withArgs(modelId, owner.address);
    });

    it("lets another creator take the same name", async function () {
      const { registry, other, unknownModelId } = await loadFixture(fixture);
      await expect(registry.connect(other).createModel(NAME, blobIdOf("m")))
        .to.emit(registry, "ModelCreated")
        .withArgs(unknownModelId, other.address, NAME, blobIdOf("m"));
    });

    it("keeps the name taken for its creator after the model changed hands", async function () {
      const { registry, owner, newOwner, modelId } = await loadFixture(fixture);
      await registry.transferModel(modelId, newOwner);
      await registry.connect(newOwner).acceptModel(modelId);
      await expect(registry.createModel(NAME, blobIdOf("m")))
        .to.be.revertedWithCustomError(registry, "ModelRegistryModelExists")
        .withArgs(modelId, owner.address);
    });
  });

  describe("getModel", function () {
    it("reads the model", async function () {
      const { registry, owner, modelId, metadata, createdAt } = await loadFixture(fixture);
      expect(fieldsOf(await registry.getModel(modelId))).to.deep.equal({
        owner: owner.address,
        versionCount: 0n,
        createdAt,
        metadataBlobId: metadata,
      });
    });

    it("rejects an unknown model", async function () {
      const { registry, unknownModelId } = await loadFixture(fixture);
      await expect(registry.getModel(unknownModelId))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
        .withArgs(unknownModelId);
    });
  });

  describe("only the owner", function () {
    for (const [name, call] of OWNER_ONLY) {
      it(`rejects ${name} by an account that is not the owner`, async function () {
        const { registry, other, modelId } = await loadFixture(fixtureWithVersions);
        await expect(call(registry.connect(other), modelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnauthorizedAccount")
          .withArgs(modelId, other.address);
      });

      it(`rejects ${name} on an unknown model as unknown, not as unauthorised`, async function () {
        const { registry, other, unknownModelId } = await loadFixture(fixtureWithVersions);
        await expect(call(registry.connect(other), unknownModelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(unknownModelId);
      });
    }
  });

  describe("setMetadata", function () {
    it("points the model at a new metadata blob and emits ModelMetadataUpdated", async function () {
      const { registry, modelId } = await loadFixture(fixture);
      const metadata = blobIdOf("metadata v2");
      await expect(registry.setMetadata(modelId, metadata))
        .to.emit(registry, "ModelMetadataUpdated")
        .withArgs(modelId, metadata);
      expect((await registry.getModel(modelId)).metadataBlobId).to.equal(metadata);
    });

    it("rejects a zero metadata blob id", async function () {
      const { registry, modelId } = await loadFixture(fixture);
      await expect(registry.setMetadata(modelId, ZERO_BYTES32))
        .to.be.revertedWithCustomError(registry, "ModelRegistryZeroBlobId")
        .withArgs(modelId);
    });
  });

  describe("publishVersion", function () {
    it("publishes versions at indices 0, 1 and 2 and emits VersionPublished", async function () {
      const { registry, modelId } = await loadFixture(fixture);
      for (const [i, v] of VERSIONS.entries()) {
        expect(await registry.publishVersion.staticCall(modelId, v.blobId, v.sha256, v.size, v.endEpoch)).to.equal(
          BigInt(i),
        );
        await expect(registry.publishVersion(modelId, v.blobId, v.sha256, v.size, v.endEpoch))
          .to.emit(registry, "VersionPublished")
          .withArgs(modelId, i, v.blobId, v.sha256, v.size, v.endEpoch);
        const publishedAt = BigInt(await time.latest());
        expect(await registry.versionCount(modelId)).to.equal(BigInt(i + 1));
        expect((await registry.getModel(modelId)).versionCount).to.equal(BigInt(i + 1));
        expect(fieldsOf(await registry.getVersion(modelId, i))).to.deep.equal(expectedVersion(i, publishedAt));
        expect(await registry.versionOf(modelId, v.blobId)).to.equal(BigInt(i));
      }
    });

    it("rejects a zero blob id", async function () {
      const { registry, modelId } = await loadFixture(fixture);
      const v = VERSIONS[0];
      await expect(registry.publishVersion(modelId, ZERO_BYTES32, v.sha256, v.size, v.endEpoch))
        .to.be.revertedWithCustomError(registry, "ModelRegistryZeroBlobId")
        .withArgs(modelId);
    });

    it("rejects a zero sha256", async function () {
      const { registry, modelId } = await loadFixture(fixture);
      const v = VERSIONS[0];
      await expect(registry.publishVersion(modelId, v.blobId, ZERO_BYTES32, v.size, v.endEpoch))
        .to.be.revertedWithCustomError(registry, "ModelRegistryZeroSha256")
        .withArgs(modelId, v.blobId);
    });

    it("rejects a zero size", async function () {
      const { registry, modelId } = await loadFixture(fixture);
      const v = VERSIONS[0];
      await expect(registry.publishVersion(modelId, v.blobId, v.sha256, 0n, v.endEpoch))
        .to.be.revertedWithCustomError(registry, "ModelRegistryZeroSize")
        .withArgs(modelId, v.blobId);
    });

    it("rejects a zero end epoch", async function () {
      const { registry, modelId } = await loadFixture(fixture);
      const v = VERSIONS[0];
      await expect(registry.publishVersion(modelId, v.blobId, v.sha256, v.size, 0n))
        .to.be.revertedWithCustomError(registry, "ModelRegistryZeroEndEpoch")
        .withArgs(modelId, v.blobId);
    });

    it("rejects a blob id that is already a version of the model, naming its index", async function () {
      const { registry, modelId } = await loadFixture(fixtureWithVersions);
      const v = VERSIONS[1];
      await expect(registry.publishVersion(modelId, v.blobId, sha256Of("other bytes"), 7n, 999n))
        .to.be.revertedWithCustomError(registry, "ModelRegistryDuplicateBlobId")
        .withArgs(modelId, v.blobId, 1n);
    });

    it("rejects the blob id of a deprecated version too", async function () {
      const { registry, modelId } = await loadFixture(fixtureWithVersions);
      await registry.deprecateVersion(modelId, 2);
      const v = VERSIONS[2];
      await expect(registry.publishVersion(modelId, v.blobId, v.sha256, v.size, v.endEpoch))
        .to.be.revertedWithCustomError(registry, "ModelRegistryDuplicateBlobId")
        .withArgs(modelId, v.blobId, 2n);
    });

    it("accepts the same blob id in another model", async function () {
      const { registry, other, modelId } = await loadFixture(fixtureWithVersions);
      await registry.connect(other).createModel("fork", blobIdOf("fork metadata"));
      const forkId = modelIdOf(other.address, "fork");
      const v = VERSIONS[1];
      await expect(registry.connect(other).publishVersion(forkId, v.blobId, v.sha256, v.size, v.endEpoch))
        .to.emit(registry, "VersionPublished")
        .withArgs(forkId, 0n, v.blobId, v.sha256, v.size, v.endEpoch);
      expect(await registry.versionOf(forkId, v.blobId)).to.equal(0n);
      expect(await registry.versionOf(modelId, v.blobId)).to.equal(1n);
    });
  });

  describe("extendVersion", function () {
    it("moves the end epoch later and emits VersionExtended", async function () {
      const { registry, modelId, publishedAt } = await loadFixture(fixtureWithVersions);
      const endEpoch = VERSIONS[1].endEpoch + 1n;
      await expect(registry.extendVersion(modelId, 1, endEpoch))
        .to.emit(registry, "VersionExtended")
        .withArgs(modelId, 1n, endEpoch);
      expect(fieldsOf(await registry.getVersion(modelId, 1))).to.deep.equal({
        ...expectedVersion(1, publishedAt[1]),
        endEpoch,
      });
    });

    it("rejects the current end epoch", async function () {
      const { registry, modelId } = await loadFixture(fixtureWithVersions);
      const current = VERSIONS[1].endEpoch;
      await expect(registry.extendVersion(modelId, 1, current))
        .to.be.revertedWithCustomError(registry, "ModelRegistryEndEpochNotExtended")
        .withArgs(modelId, 1n, current, current);
    });

    it("rejects an earlier end epoch", async function () {
      const { registry, modelId } = await loadFixture(fixtureWithVersions);
      const current = VERSIONS[1].endEpoch;
      await expect(registry.extendVersion(modelId, 1, current - 1n))
        .to.be.revertedWithCustomError(registry, "ModelRegistryEndEpochNotExtended")
        .withArgs(modelId, 1n, current, current - 1n);
    });

    it("rejects a version index out of range", async function () {
      const { registry, modelId } = await loadFixture(fixtureWithVersions);
      await expect(registry.extendVersion(modelId, 3, 1_000n))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownVersion")
        .withArgs(modelId, 3n, 3n);
    });
  });

  describe("deprecateVersion", function () {
    it("deprecates a version, which stays readable, and emits VersionDeprecated", async function () {
      const { registry, modelId, publishedAt } = await loadFixture(fixtureWithVersions);
      await expect(registry.deprecateVersion(modelId, 1)).to.emit(registry, "VersionDeprecated").withArgs(modelId, 1n);
      expect(fieldsOf(await registry.getVersion(modelId, 1))).to.deep.equal(expectedVersion(1, publishedAt[1], true));
      expect(await registry.versionOf(modelId, VERSIONS[1].blobId)).to.equal(1n);
      expect(await registry.versionCount(modelId)).to.equal(3n);
    });

    it("rejects deprecating a version twice", async function () {
      const { registry, modelId } = await loadFixture(fixtureWithVersions);
      await registry.deprecateVersion(modelId, 1);
      await expect(registry.deprecateVersion(modelId, 1))
        .to.be.revertedWithCustomError(registry, "ModelRegistryVersionDeprecated")
        .withArgs(modelId, 1n);
    });

    it("rejects a version index out of range", async function () {
      const { registry, modelId } = await loadFixture(fixture);
      await expect(registry.deprecateVersion(modelId, 0))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownVersion")
        .withArgs(modelId, 0n, 0n);
    });
  });

  describe("getVersion", function () {
    it("reads every version with the time it was published", async function () {
      const { registry, modelId, publishedAt } = await loadFixture(fixtureWithVersions);
      for (let i = 0; i < VERSIONS.length; i++) {
        expect(fieldsOf(await registry.getVersion(modelId, i))).to.deep.equal(expectedVersion(i, publishedAt[i]));
      }
    });

    it("rejects an index out of range", async function () {
      const { registry, modelId } = await loadFixture(fixtureWithVersions);
      await expect(registry.getVersion(modelId, 3))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownVersion")
        .withArgs(modelId, 3n, 3n);
      await expect(registry.getVersion(modelId, 2n ** 32n - 1n))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownVersion")
        .withArgs(modelId, 2n ** 32n - 1n, 3n);
    });

    it("rejects every index of an unknown model", async function () {
      const { registry, unknownModelId } = await loadFixture(fixtureWithVersions);
      await expect(registry.getVersion(unknownModelId, 0))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownVersion")
        .withArgs(unknownModelId, 0n, 0n);
    });
  });

  describe("latestVersion", function () {
    it("returns the newest version and its index", async function () {
      const { registry, modelId, publishedAt } = await loadFixture(fixtureWithVersions);
      const [index, version] = await registry.latestVersion(modelId);
      expect(index).to.equal(2n);
      expect(fieldsOf(version)).to.deep.equal(expectedVersion(2, publishedAt[2]));
    });

    it("skips deprecated versions", async function () {
      const { registry, modelId, publishedAt } = await loadFixture(fixtureWithVersions);
      await registry.deprecateVersion(modelId, 2);
      await registry.deprecateVersion(modelId, 1);
      const [index, version] = await registry.latestVersion(modelId);
      expect(index).to.equal(0n);
      expect(fieldsOf(version)).to.deep.equal(expectedVersion(0, publishedAt[0]));
    });

    it("returns a newer version again once it is published after a deprecation", async function () {
      const { registry, modelId } = await loadFixture(fixtureWithVersions);
      await registry.deprecateVersion(modelId, 2);
      expect((await registry.latestVersion(modelId)).index).to.equal(1n);
      await registry.publishVersion(modelId, blobIdOf("v3"), sha256Of("v3"), 3n, 300n);
      expect((await registry.latestVersion(modelId)).index).to.equal(3n);
    });

    it("reads the latest version in the same gas however many newer versions are deprecated", async function () {
      const { registry, modelId } = await loadFixture(fixtureWithVersions);
      await registry.deprecateVersion(modelId, 2);
      const few = await registry.latestVersion.estimateGas(modelId);
      for (let i = 0; i < 40; i++) {
        await registry.publishVersion(modelId, blobIdOf(`extra ${i}`), sha256Of(`extra ${i}`), 1n, 1n);
        await registry.deprecateVersion(modelId, 3 + i);
      }
      expect((await registry.latestVersion(modelId)).index).to.equal(1n);
      expect(await registry.latestVersion.estimateGas(modelId)).to.equal(few);
    });

    it("agrees with a walk over every version through a seeded run of publications and deprecations", async function () {
      const { registry, modelId } = await loadFixture(fixture);
      const random = seededRandom(0x1a7e57);
      const deprecated: boolean[] = [];
      const expected = () => {
        for (let i = deprecated.length - 1; i >= 0; i--) if (!deprecated[i]) return i;
        return -1;
      };
      for (let step = 0; step < 120; step++) {
        const active = deprecated.flatMap((d, i) => (d ? [] : [i]));
        if (active.length === 0 || random() < 0.35) {
          const i = deprecated.length;
          await registry.publishVersion(modelId, blobIdOf(`seeded ${i}`), sha256Of(`seeded ${i}`), 1n, 1n);
          deprecated.push(false);
        } else {
          // Half the time the latest (the walk back), else any active version (the lazy mark).
          const pick = random() < 0.5 ? active[active.length - 1] : active[Math.floor(random() * active.length)];
          await registry.deprecateVersion(modelId, pick);
          deprecated[pick] = true;
        }
        const want = expected();
        if (want < 0) {
          await expect(registry.latestVersion(modelId)).to.be.revertedWithCustomError(
            registry,
            "ModelRegistryNoActiveVersion",
          );
        } else {
          const [index, version] = await registry.latestVersion(modelId);
          expect(index).to.equal(BigInt(want), `after step ${step}`);
          expect(version.blobId).to.equal(blobIdOf(`seeded ${want}`));
          expect(version.deprecated).to.equal(false);
        }
      }
    });

    it("rejects a model without versions with ModelRegistryNoActiveVersion", async function () {
      const { registry, modelId } = await loadFixture(fixture);
      await expect(registry.latestVersion(modelId))
        .to.be.revertedWithCustomError(registry, "ModelRegistryNoActiveVersion")
        .withArgs(modelId);
    });

    it("rejects a model whose versions are all deprecated with ModelRegistryNoActiveVersion", async function () {
      const { registry, modelId } = await loadFixture(fixtureWithVersions);
      for (let i = 0; i < VERSIONS.length; i++) await registry.deprecateVersion(modelId, i);
      await expect(registry.latestVersion(modelId))
        .to.be.revertedWithCustomError(registry, "ModelRegistryNoActiveVersion")
        .withArgs(modelId);
    });

    it("rejects an unknown model with ModelRegistryNoActiveVersion", async function () {
      const { registry, unknownModelId } = await loadFixture(fixture);
      await expect(registry.latestVersion(unknownModelId))
        .to.be.revertedWithCustomError(registry, "ModelRegistryNoActiveVersion")
        .withArgs(unknownModelId);
    });
  });

  describe("versionCount", function () {
    it("counts deprecated versions and reads zero for an unknown model", async function () {
      const { registry, modelId, unknownModelId } = await loadFixture(fixtureWithVersions);
      await registry.deprecateVersion(modelId, 0);
      expect(await registry.versionCount(modelId)).to.equal(3n);
      expect(await registry.versionCount(unknownModelId)).to.equal(0n);
    });
  });

  describe("versionOf", function () {
    it("finds the index of every published blob id", async function () {
      const { registry, modelId } = await loadFixture(fixtureWithVersions);
      for (const [i, v] of VERSIONS.entries()) expect(await registry.versionOf(modelId, v.blobId)).to.equal(BigInt(i));
    });

    it("rejects a blob id that is not a version of the model", async function () {
      const { registry, modelId } = await loadFixture(fixtureWithVersions);
      const blobId = blobIdOf("never published");
      await expect(registry.versionOf(modelId, blobId))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownBlobId")
        .withArgs(modelId, blobId);
    });

    it("rejects a blob id that is a version of another model only", async function () {
      const { registry, unknownModelId } = await loadFixture(fixtureWithVersions);
      const { blobId } = VERSIONS[0];
      await expect(registry.versionOf(unknownModelId, blobId))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownBlobId")
        .withArgs(unknownModelId, blobId);
    });
  });

  describe("two-step transfer", function () {
    it("offers the model to a new owner and emits ModelTransferStarted", async function () {
      const { registry, owner, newOwner, modelId } = await loadFixture(fixture);
      await expect(registry.transferModel(modelId, newOwner))
        .to.emit(registry, "ModelTransferStarted")
        .withArgs(modelId, owner.address, newOwner.address);
      expect(await registry.pendingOwner(modelId)).to.equal(newOwner.address);
      expect((await registry.getModel(modelId)).owner).to.equal(owner.address);
    });

    it("gives the pending owner no right before it accepts", async function () {
      const { registry, newOwner, modelId } = await loadFixture(fixture);
      await registry.transferModel(modelId, newOwner);
      await expect(registry.connect(newOwner).setMetadata(modelId, blobIdOf("hijack")))
        .to.be.revertedWithCustomError(registry, "ModelRegistryUnauthorizedAccount")
        .withArgs(modelId, newOwner.address);
    });

    it("cancels a pending offer when the owner offers the model to the zero address", async function () {
      const { registry, owner, newOwner, modelId } = await loadFixture(fixture);
      await registry.transferModel(modelId, newOwner);
      await expect(registry.transferModel(modelId, ZeroAddress))
        .to.emit(registry, "ModelTransferStarted")
        .withArgs(modelId, owner.address, ZeroAddress);
      expect(await registry.pendingOwner(modelId)).to.equal(ZeroAddress);
      await expect(registry.connect(newOwner).acceptModel(modelId))
        .to.be.revertedWithCustomError(registry, "ModelRegistryNotPendingOwner")
        .withArgs(modelId, newOwner.address);
    });

    it("replaces a pending offer with a newer one", async function () {
      const { registry, other, newOwner, modelId } = await loadFixture(fixture);
      await registry.transferModel(modelId, newOwner);
      await registry.transferModel(modelId, other);
      await expect(registry.connect(newOwner).acceptModel(modelId))
        .to.be.revertedWithCustomError(registry, "ModelRegistryNotPendingOwner")
        .withArgs(modelId, newOwner.address);
      await expect(registry.connect(other).acceptModel(modelId)).to.emit(registry, "ModelTransferred");
    });

    it("rejects acceptance by an account that is not the pending owner", async function () {
      const { registry, owner, other, newOwner, modelId } = await loadFixture(fixture);
      await registry.transferModel(modelId, newOwner);
      for (const account of [other, owner]) {
        await expect(registry.connect(account).acceptModel(modelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotPendingOwner")
          .withArgs(modelId, account.address);
      }
    });

    it("rejects acceptance of a model that nobody offered", async function () {
      const { registry, other, modelId, unknownModelId } = await loadFixture(fixture);
      for (const id of [modelId, unknownModelId]) {
        await expect(registry.connect(other).acceptModel(id))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotPendingOwner")
          .withArgs(id, other.address);
      }
    });

    it("rejects acceptance by the zero address, which every model without an offer reads as pending owner", async function () {
      const { registry, modelId } = await loadFixture(fixture);
      await impersonateAccount(ZeroAddress);
      await setBalance(ZeroAddress, ethers.parseEther("1"));
      const zero = await ethers.getSigner(ZeroAddress);
      await expect(registry.connect(zero).acceptModel(modelId))
        .to.be.revertedWithCustomError(registry, "ModelRegistryNotPendingOwner")
        .withArgs(modelId, ZeroAddress);
    });

    it("hands the model over when the pending owner accepts, and emits ModelTransferred", async function () {
      const { registry, owner, newOwner, modelId, metadata, createdAt } = await loadFixture(fixtureWithVersions);
      await registry.transferModel(modelId, newOwner);
      await expect(registry.connect(newOwner).acceptModel(modelId))
        .to.emit(registry, "ModelTransferred")
        .withArgs(modelId, owner.address, newOwner.address);
      expect(fieldsOf(await registry.getModel(modelId))).to.deep.equal({
        owner: newOwner.address,
        versionCount: 3n,
        createdAt,
        metadataBlobId: metadata,
      });
      expect(await registry.pendingOwner(modelId)).to.equal(ZeroAddress);
      await expect(registry.connect(newOwner).publishVersion(modelId, blobIdOf("v3"), sha256Of("v3"), 3n, 300n))
        .to.emit(registry, "VersionPublished")
        .withArgs(modelId, 3n, blobIdOf("v3"), sha256Of("v3"), 3n, 300n);
    });

    it("cannot be accepted twice", async function () {
      const { registry, newOwner, modelId } = await loadFixture(fixture);
      await registry.transferModel(modelId, newOwner);
      await registry.connect(newOwner).acceptModel(modelId);
      await expect(registry.connect(newOwner).acceptModel(modelId))
        .to.be.revertedWithCustomError(registry, "ModelRegistryNotPendingOwner")
        .withArgs(modelId, newOwner.address);
    });

    for (const [name, call] of OWNER_ONLY) {
      it(`takes ${name} away from the previous owner`, async function () {
        const { registry, owner, newOwner, modelId } = await loadFixture(fixtureWithVersions);
        await registry.transferModel(modelId, newOwner);
        await registry.connect(newOwner).acceptModel(modelId);
        await expect(call(registry.connect(owner), modelId))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnauthorizedAccount")
          .withArgs(modelId, owner.address);
        await expect(call(registry.connect(newOwner), modelId)).not.to.be.reverted;
      });
    }
  });
});
