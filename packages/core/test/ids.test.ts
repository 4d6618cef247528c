import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  InvalidArgumentError,
  isBytes32Hex,
  leafOf,
  modelIdOf,
  parseModelRef,
  toAddress,
  toBlobIdHex,
  toBytes32,
  toNonZeroBytes32,
  versionKeyOf,
} from "../src";
import { b32, deployFixture } from "./fixtures";

const NAMES = ["a", "resnet-50", "org/model", "名前-モデル", "x".repeat(64), "with space", ""];

describe("core ids: TypeScript twins of the on-chain ids", function () {
  it("derives the same model id as ModelRegistry.modelIdOf for every name and creator", async function () {
    const { registries, admin, owner, other } = await loadFixture(deployFixture);
    for (const creator of [admin.address, owner.address, other.address, ethers.ZeroAddress]) {
      for (const name of NAMES) {
        expect(modelIdOf(creator, name), `${creator}/${name}`).to.equal(
          await registries.modelRegistry.modelIdOf(creator, name),
        );
      }
    }
  });

  it("derives the id that createModel assigns", async function () {
    const { registries, owner } = await loadFixture(deployFixture);
    await registries.modelRegistry.connect(owner).createModel("mnist", b32("meta"));
    await expect(registries.modelRegistry.getModel(modelIdOf(owner.address, "mnist"))).to.not.be.reverted;
    await expect(registries.modelRegistry.getModel(modelIdOf(owner.address, "mnist2"))).to.be.revertedWithCustomError(
      registries.modelRegistry,
      "ModelRegistryUnknownModel",
    );
  });

  it("derives different ids for different creators of the same name", function () {
    expect(modelIdOf(ethers.Wallet.createRandom().address, "m")).to.not.equal(
      modelIdOf(ethers.Wallet.createRandom().address, "m"),
    );
  });

  it("computes the same Merkle leaf as ProofRegistry.leafOf and StandardMerkleTree", async function () {
    const { registries } = await loadFixture(deployFixture);
    const commitments = [ethers.ZeroHash, "0x" + "ff".repeat(32), ...NAMES.map(b32)];
    for (const commitment of commitments) {
      const tree = StandardMerkleTree.of([[commitment]], ["bytes32"]);
      expect(leafOf(commitment)).to.equal(await registries.proofRegistry.leafOf(commitment));
      expect(leafOf(commitment)).to.equal(tree.leafHash([commitment]));
    }
  });

  it("computes the storage key under which the model registry keeps a version", async function () {
    const { registries, owner } = await loadFixture(deployFixture);
    const models = registries.modelRegistry.connect(owner);
    await models.createModel("m", b32("meta"));
    const modelId = modelIdOf(owner.address, "m");
    const blobId = b32("file");
    const sha256 = b32("sha");
    await models.publishVersion(modelId, blobId, sha256, 100, 10);
    // ModelRegistry storage: _models (slot 0), _pendingOwners (1), _versionBlobIds (2), _versions (3). The first word of
    // a version record is its sha256.
    const slot = ethers.keccak256(
      ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [versionKeyOf(modelId, toBlobIdHex(blobId)), 3]),
    );
    expect(await ethers.provider.getStorage(await models.getAddress(), slot)).to.equal(sha256);
  });

  describe("model references", function () {
    const creator = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    it("reads a model id as is, in lowercase", function () {
      const id = b32("id").toUpperCase().replace("0X", "0x");
      expect(parseModelRef(id)).to.deep.equal({ modelId: id.toLowerCase() });
    });

    it("reads creator/name, with a name that holds slashes", function () {
      expect(parseModelRef(`${creator}/org/model`)).to.deep.equal({
        modelId: modelIdOf(creator, "org/model"),
        creator,
        name: "org/model",
      });
    });

    it("reads a bare name with the default creator", function () {
      expect(parseModelRef("mnist", creator.toLowerCase())).to.deep.equal({
        modelId: modelIdOf(creator, "mnist"),
        creator,
        name: "mnist",
      });
    });

    it("rejects a bare name without a default creator, and an empty reference", function () {
      expect(() => parseModelRef("mnist")).to.throw(InvalidArgumentError, /default creator/);
      expect(() => parseModelRef("")).to.throw(InvalidArgumentError, /model reference/);
    });

    it("rejects a creator with a bad checksum", function () {
      const bad = creator.replace("C8", "c8");
      expect(() => parseModelRef(`${bad}/m`)).to.throw(InvalidArgumentError, /creator/);
    });
  });

  describe("bytes32 and address checks", function () {
    it("accepts 32-byte hex in either case and normalizes to lowercase", function () {
      const upper = "0x" + "AB".repeat(32);
      expect(isBytes32Hex(upper)).to.equal(true);
      expect(toBytes32(upper)).to.equal("0x" + "ab".repeat(32));
    });

    it("rejects short, long, unprefixed and non-hex values, naming the argument", function () {
      for (const bad of ["0x1234", "0x" + "00".repeat(33), "00".repeat(32), "0x" + "zz".repeat(32), 42, null]) {
        expect(isBytes32Hex(bad)).to.equal(false);
        expect(() => toBytes32(bad, "blobId")).to.throw(InvalidArgumentError, /Invalid blobId/);
      }
    });

    it("rejects the zero value where zero is never valid", function () {
      expect(() => toNonZeroBytes32(ethers.ZeroHash, "commitment")).to.throw(InvalidArgumentError, /must not be zero/);
    });

    it("checksums addresses and rejects malformed ones", function () {
      expect(toAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8")).to.equal(
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      );
      expect(() => toAddress("0x1234", "node")).to.throw(InvalidArgumentError, /Invalid node/);
    });
  });
});
