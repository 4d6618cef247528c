import { expect } from "chai";
import { artifacts, ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployWiredRegistries } from "./helpers/deploy";

async function fixture() {
  const [admin] = await ethers.getSigners();
  return deployWiredRegistries(admin);
}

/** Every parameter in the ABI of `contract` (functions, events, errors) whose Solidity type is one of the typed ids. */
async function typedIdParams(contract: string): Promise<{ where: string; type: string; internalType: string }[]> {
  const found: { where: string; type: string; internalType: string }[] = [];
  const fragments = (await artifacts.readArtifact(contract)).abi as {
    name?: string;
    inputs?: { name: string; type: string; internalType?: string }[];
  }[];
  for (const fragment of fragments) {
    for (const input of fragment.inputs ?? []) {
      if (/^(Commitment|BatchRoot|BlobId|ModelId)$/.test(input.internalType ?? "")) {
        found.push({ where: `${fragment.name}.${input.name}`, type: input.type, internalType: input.internalType! });
      }
    }
  }
  return found;
}

describe("Registry versions and typed ids", function () {
  it("gives each registry a pure version() string", async function () {
    const { modelRegistry, nodeRegistry, proofRegistry } = await loadFixture(fixture);
    const expected = new Map<object, string>([
      [modelRegistry, "1.0.0"],
      [nodeRegistry, "1.0.0"],
      // 2.0: every anchor and announcement takes (and its event carries) the end epoch of its storage; renewal records
      // (extendProofs, extendBatches, announceBatchesExtended). 1.1 had added anchorQuilts and announceQuilts.
      [proofRegistry, "2.0.0"],
    ]);
    for (const registry of [modelRegistry, nodeRegistry, proofRegistry]) {
      expect(await registry.version()).to.equal(expected.get(registry));
      expect(registry.interface.getFunction("version")!.stateMutability).to.equal("pure");
    }
  });

  it("types commitments and batch roots in Solidity and keeps bytes32 in the ABI", async function () {
    const { proofRegistry } = await loadFixture(fixture);
    const params = await typedIdParams("ProofRegistry");
    const typed = new Set(params.map((p) => p.internalType));
    expect([...typed].sort()).to.deep.equal(["BatchRoot", "BlobId", "Commitment"]);
    expect(params.every((p) => p.type === "bytes32")).to.equal(true);
    expect(params.map((p) => p.where)).to.include.members([
      "anchorProof.commitment",
      "anchorBatch.root",
      "announceBatch.root",
      "BatchStorageExtended.root",
      "ProofStorageExtended.commitment",
      "isIncluded.root",
      "isIncluded.commitment",
      "ProofAnchored.commitment",
      "BatchAnchored.root",
    ]);
    // The selectors and topics are those of bytes32: typing the ids changed no ABI.
    expect(proofRegistry.interface.getFunction("anchorProof")!.selector).to.equal(
      ethers.id("anchorProof(bytes32,bytes32,uint32)").slice(0, 10),
    );
    expect(proofRegistry.interface.getFunction("isIncluded")!.selector).to.equal(
      ethers.id("isIncluded(address,bytes32,bytes32,bytes32[])").slice(0, 10),
    );
    expect(proofRegistry.interface.getEvent("BatchAnchored")!.topicHash).to.equal(
      ethers.id("BatchAnchored(bytes32,address,bytes32,uint32,uint32)"),
    );
    const models = await typedIdParams("ModelRegistry");
    expect(models.length).to.be.greaterThan(0);
    expect(models.every((p) => p.type === "bytes32")).to.equal(true);
  });
});
