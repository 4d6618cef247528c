import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet } from "ethers";
import {
  buildProof,
  proofCommitment,
  proofTypedData,
  recoverProofSigner,
  SignatureError,
  signProofWithCommitment,
} from "../src";
import { deployFixture, proofParams } from "./fixtures";

describe("core proof signing", function () {
  it("signs with a local key exactly as signTypedData would, and returns the commitment", async function () {
    const base = await loadFixture(deployFixture);
    const wallet = Wallet.createRandom();
    const unsigned = buildProof(proofParams(base.client, wallet.address));
    const { proof, commitment } = await signProofWithCommitment(unsigned, wallet);
    const { domain, types, message } = proofTypedData(unsigned);
    expect(proof.signature).to.equal(await wallet.signTypedData(domain, types, message));
    expect(commitment).to.equal(proofCommitment(proof));
    expect(recoverProofSigner(proof)).to.equal(wallet.address);
  });

  it("signs through a remote signer and checks the signature by recovering it", async function () {
    const base = await loadFixture(deployFixture);
    const unsigned = buildProof(proofParams(base.client, base.node.address));
    const { proof, commitment } = await signProofWithCommitment(unsigned, base.node);
    expect(commitment).to.equal(proofCommitment(proof));
    expect(recoverProofSigner(proof)).to.equal(base.node.address);
  });

  it("refuses a signer that is not the proof's node, and a document whose hashes disagree with its data", async function () {
    const base = await loadFixture(deployFixture);
    const unsigned = buildProof(proofParams(base.client, base.node.address));
    const stranger = Wallet.createRandom();
    const wrong = await signProofWithCommitment(unsigned, stranger).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(wrong).to.be.instanceOf(SignatureError);
    const altered = structuredClone(unsigned);
    altered.output.tensors[0].hash = altered.input.tensors[0].hash;
    const refused = await signProofWithCommitment(altered, base.node).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((refused as Error).message).to.match(/hash/);
  });
});
