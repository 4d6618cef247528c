import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  blobIdArgument,
  blobIdFromBytes32,
  blobIdToBytes32,
  InvalidArgumentError,
  InvalidBlobIdError,
  parseBlobId,
  proofModelBlobId,
  proofModelOf,
  type BlobId,
} from "../src";
import { b32, blob, deployFixture, modelId, rejection } from "./fixtures";

/** The Walrus Rust test suite's known answer for "walrus blob id v1 regression test". */
const KNOWN = parseBlobId("RcU82Mwf-CFkv1LaI_2qcpANwpGUuG3TMwnVzZxD2kY");

describe("core Blob IDs: one codec, and registry clients that speak Walrus Blob IDs", function () {
  it("converts between the base64url text and the chain's bytes32, both ways", function () {
    const hex = blobIdToBytes32(KNOWN);
    expect(hex).to.match(/^0x[0-9a-f]{64}$/);
    expect(Buffer.from(hex.slice(2), "hex").toString("base64url")).to.equal(KNOWN);
    expect(blobIdFromBytes32(hex)).to.equal(KNOWN);
    expect(blobIdFromBytes32(hex.toUpperCase().replace("0X", "0x"))).to.equal(KNOWN);
  });

  it("stores a client's Blob ID as its 32 bytes on-chain and gives back the same Blob ID", async function () {
    const { client, owner, registries } = await loadFixture(deployFixture);
    const models = client.models.connect(owner);
    const modelId = await (await models.createModel("m", blob("meta"))).wait();
    const published = await (
      await models.publishVersion(modelId, { blobId: KNOWN, sha256: b32("sha"), size: 1, endEpoch: 9 })
    ).wait();
    expect(published.blobId).to.equal(KNOWN);
    const raw = await registries.modelRegistry.getVersion(modelId, 0);
    expect(raw.blobId).to.equal(blobIdToBytes32(KNOWN));
    expect((await models.getVersion(modelId, 0)).blobId).to.equal(KNOWN);
    expect((await models.getModel(modelId)).metadataBlobId).to.equal(blob("meta"));
    expect(await models.versionOf(modelId, KNOWN)).to.equal(0);
  });

  it("refuses a malformed Blob ID argument naming the argument, with the codec's reason", async function () {
    const { client, owner } = await loadFixture(deployFixture);
    const hexInstead = b32("hex is not a Blob ID") as BlobId;
    const error = await rejection(client.models.connect(owner).createModel("m", hexInstead));
    expect(error).to.be.instanceOf(InvalidArgumentError);
    expect(error.message).to.contain("Invalid metadataBlobId");
    expect(error.message).to.contain("expected 43 characters, got 66");
    expect(error.cause).to.be.instanceOf(InvalidBlobIdError);
    expect(() => blobIdArgument(`${KNOWN}=`, "blobId")).to.throw(InvalidArgumentError, /remove the '=' padding/);
  });

  it("puts a registry version into a proof's model and reads its Blob ID back", function () {
    const model = proofModelOf({ modelId: modelId("model"), index: 3, blobId: KNOWN, sha256: b32("sha") });
    expect(model).to.deep.equal({ id: b32("model"), version: 3, blobId: blobIdToBytes32(KNOWN), sha256: b32("sha") });
    expect(proofModelBlobId({ model })).to.equal(KNOWN);
  });
});
