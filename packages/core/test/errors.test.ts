import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { BrowserProvider, ErrorFragment, type Interface } from "ethers";
import {
  ModelRegistry__factory,
  NodeRegistry__factory,
  ProofRegistry__factory,
  type ModelRegistry,
} from "@strata/contracts";
import {
  ContractRevertError,
  decodeRevertData,
  ModelRegistryClient,
  REVERT_HINTS,
  rethrowDecoded,
  StrataError,
  toContractRevertError,
} from "../src";
import { b32, blob, deployFixture, rejection } from "./fixtures";

const CONTEXT = { contract: "ModelRegistry", method: "test" };

describe("core errors: reverts decoded from the typechain interfaces", function () {
  it("has a hint for every custom error of the three registries", function () {
    const interfaces: Interface[] = [
      ModelRegistry__factory.createInterface(),
      NodeRegistry__factory.createInterface(),
      ProofRegistry__factory.createInterface(),
    ];
    const names = interfaces.flatMap((iface) =>
      iface.fragments.filter((f): f is ErrorFragment => f.type === "error").map((f) => f.name),
    );
    expect(names.length).to.be.greaterThan(30);
    expect(names.filter((name) => !(name in REVERT_HINTS))).to.deep.equal([]);
  });

  it("decodes a custom error with its arguments, names them, and says what to do", function () {
    const iface = ModelRegistry__factory.createInterface();
    const data = iface.encodeErrorResult("ModelRegistryDuplicateBlobId", [b32("model"), b32("blob"), 2]);
    const error = decodeRevertData(data, { contract: "ModelRegistry", method: "publishVersion" });
    expect(error).to.be.instanceOf(ContractRevertError).and.instanceOf(StrataError);
    expect(error.code).to.equal("CONTRACT_REVERT");
    expect(error.errorName).to.equal("ModelRegistryDuplicateBlobId");
    expect(error.declaredBy).to.equal("ModelRegistry");
    expect(error.signature).to.equal("ModelRegistryDuplicateBlobId(bytes32,bytes32,uint32)");
    expect(error.args).to.deep.equal([b32("model"), b32("blob"), 2n]);
    expect(error.namedArgs).to.deep.equal({ modelId: b32("model"), blobId: b32("blob"), index: 2n });
    expect(error.message).to.equal(
      `ModelRegistry.publishVersion reverted with ModelRegistryDuplicateBlobId(modelId: ${b32("model")}, blobId: ` +
        `${b32("blob")}, index: 2): this Blob ID is already version 2 of the model; publish a different file, or use ` +
        "that version",
    );
  });

  it("decodes an error declared by another registry than the one called", function () {
    const data = ProofRegistry__factory.createInterface().encodeErrorResult("ProofRegistryNotActiveNode", [
      ethers.ZeroAddress,
    ]);
    const error = decodeRevertData(data, { contract: "NodeRegistry", method: "admitNode" });
    expect(error.errorName).to.equal("ProofRegistryNotActiveNode");
    expect(error.declaredBy).to.equal("ProofRegistry");
  });

  it("decodes Error(string) and Panic(uint256)", function () {
    const coder = ethers.AbiCoder.defaultAbiCoder();
    const reason = decodeRevertData("0x08c379a0" + coder.encode(["string"], ["nope"]).slice(2), CONTEXT);
    expect(reason.errorName).to.equal("Error");
    expect(reason.namedArgs).to.deep.equal({ message: "nope" });
    expect(reason.message).to.contain('reason "nope"');
    const panic = decodeRevertData("0x4e487b71" + coder.encode(["uint256"], [0x11]).slice(2), CONTEXT);
    expect(panic.errorName).to.equal("Panic");
    expect(panic.namedArgs).to.deep.equal({ code: 17n });
  });

  it("reports an unknown selector and an empty revert instead of guessing", function () {
    const unknown = decodeRevertData("0xdeadbeef0000", CONTEXT);
    expect(unknown.errorName).to.equal(null);
    expect(unknown.data).to.equal("0xdeadbeef0000");
    expect(unknown.message).to.contain("unknown error selector 0xdeadbeef");
    const empty = decodeRevertData("0x", CONTEXT);
    expect(empty.errorName).to.equal(null);
    expect(empty.message).to.contain("without revert data");
  });

  it("reports a known selector whose arguments do not decode", function () {
    const selector = ModelRegistry__factory.createInterface().getError("ModelRegistryDuplicateBlobId")!.selector;
    const error = decodeRevertData(selector + "00", CONTEXT);
    expect(error.errorName).to.equal(null);
    expect(error.message).to.contain("arguments do not decode");
  });

  it("leaves errors that are not reverts as they are", function () {
    const original = new Error("connect ECONNREFUSED 127.0.0.1:8545");
    expect(toContractRevertError(original, CONTEXT)).to.equal(undefined);
    expect(() => rethrowDecoded(original, CONTEXT)).to.throw(original);
    expect(toContractRevertError("a string", CONTEXT)).to.equal(undefined);
  });

  it("decodes a revert raised by Hardhat's in-process network", async function () {
    const { registries } = await loadFixture(deployFixture);
    let caught: unknown;
    await registries.modelRegistry.getModel(b32("none")).catch((error: unknown) => (caught = error));
    const error = toContractRevertError(caught, { contract: "ModelRegistry", method: "getModel" });
    expect(error?.errorName).to.equal("ModelRegistryUnknownModel");
    expect(error?.cause).to.equal(caught);
  });

  describe("through an ethers JSON-RPC provider (CALL_EXCEPTION)", function () {
    async function rpcFixture() {
      const base = await deployFixture();
      const provider = new BrowserProvider(network.provider);
      const signer = await provider.getSigner(base.owner.address);
      const contract: ModelRegistry = ModelRegistry__factory.connect(
        await base.registries.modelRegistry.getAddress(),
        signer,
      );
      return { ...base, provider, models: new ModelRegistryClient(contract) };
    }

    it("decodes a reverted call", async function () {
      const { models } = await loadFixture(rpcFixture);
      let caught: unknown;
      await models.contract.getModel(b32("none")).catch((error: unknown) => (caught = error));
      expect((caught as { code?: string }).code).to.equal("CALL_EXCEPTION");
      expect(toContractRevertError(caught, CONTEXT)?.errorName).to.equal("ModelRegistryUnknownModel");
    });

    it("decodes a transaction that reverts when it is sent", async function () {
      const { models } = await loadFixture(rpcFixture);
      const error = await rejection(models.createModel("", blob("meta")));
      expect(error).to.be.instanceOf(ContractRevertError);
      expect((error as ContractRevertError).errorName).to.equal("ModelRegistryEmptyName");
      expect(error.message).to.equal(
        "ModelRegistry.createModel reverted with ModelRegistryEmptyName(): give the model a non-empty name",
      );
    });

    it("decodes a transaction mined with status 0 by replaying it", async function () {
      const { models } = await loadFixture(rpcFixture);
      await network.provider.send("evm_setAutomine", [false]);
      let tx;
      try {
        // A gas limit skips the estimate that would catch the revert before sending.
        tx = await models.createModel("x".repeat(65), blob("meta"), { gasLimit: 300_000 });
        await network.provider.send("evm_mine", []);
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
      const error = (await rejection(tx.wait())) as ContractRevertError;
      expect(error).to.be.instanceOf(ContractRevertError);
      expect(error.errorName).to.equal("ModelRegistryNameTooLong");
      expect(error.namedArgs).to.deep.equal({ length: 65n, maxLength: 64n });
      expect(error.message).to.match(/with status 0; error found by replaying the call/);
    });

    it("says so when a mined revert does not replay (it depended on its own block)", async function () {
      const { models } = await loadFixture(rpcFixture);
      await network.provider.send("evm_setAutomine", [false]);
      let first, second;
      try {
        first = await models.createModel("twice", blob("meta"));
        second = await models.createModel("twice", blob("meta"), { gasLimit: 300_000 });
        await network.provider.send("evm_mine", []);
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
      expect(await first.wait()).to.match(/^0x[0-9a-f]{64}$/);
      const error = (await rejection(second.wait())) as ContractRevertError;
      expect(error.errorName).to.equal(null);
      expect(error.message).to.contain("depended on an earlier transaction of the same block");
    });
  });
});
