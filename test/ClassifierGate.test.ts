/**
 * The example consumer: a gate that admits an account when a classifier's verified output (the argmax of its float32
 * scores) is the accepted class. Requests go through InferenceRequests; the node's proofs are built and signed by core.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { impersonateAccount, loadFixture, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import { encodeTensor, type Tensor } from "@strata/core";
import { ClassifierGate__factory } from "@strata/contracts/typechain";
import { encodeTensors } from "./helpers/inference";
import {
  Callback,
  deadlineIn,
  FEE,
  fulfilArgs,
  INPUTS,
  requestedBy,
  requestsFixture,
  scores,
  signedProof,
  Status,
} from "./helpers/requests";
import { blobIdOf } from "./helpers/values";

const ACCEPTED_CLASS = 1;

async function fixture() {
  const world = await requestsFixture();
  const gate = await new ClassifierGate__factory(world.admin).deploy(
    await world.requests.getAddress(),
    world.modelId,
    await world.requests.LATEST(),
    "y",
    ACCEPTED_CLASS,
    200_000,
  );
  await gate.waitForDeployment();
  return { ...world, gate, applicant: world.other };
}

type Gate = Awaited<ReturnType<typeof fixture>>;

/** The applicant asks the gate for access; returns the request. */
async function apply(world: Gate, inputs: Tensor[] = INPUTS) {
  const tx = world.gate
    .connect(world.applicant)
    .requestAccess(encodeTensors(inputs), await deadlineIn(), { value: FEE });
  return { ...(await requestedBy(world.requests, tx)), inputs };
}

/** The node answers `request` with `outputs`. */
async function answer(world: Gate, request: Awaited<ReturnType<typeof apply>>, outputs: Tensor[]) {
  const proof = await signedProof(world, request, { outputs });
  return world.requests.fulfil(...fulfilArgs(request.key, proof));
}

describe("ClassifierGate (example consumer)", function () {
  it("admits an applicant whose input the classifier puts in the accepted class, and lets it enter", async function () {
    const world = await loadFixture(fixture);
    const request = await apply(world);
    expect(await world.gate.applicantOf(request.requestId)).to.equal(world.applicant.address);
    await expect(answer(world, request, scores([0.1, 0.7, 0.2])))
      .to.emit(world.gate, "AccessDecided")
      .withArgs(request.requestId, world.applicant.address, 1, true);
    expect(await world.gate.isAdmitted(world.applicant.address)).to.equal(true);
    expect(await world.gate.applicantOf(request.requestId)).to.equal(ethers.ZeroAddress);
    await expect(world.gate.connect(world.applicant).enter())
      .to.emit(world.gate, "Entered")
      .withArgs(world.applicant.address);
  });

  it("turns away an applicant of another class", async function () {
    const world = await loadFixture(fixture);
    const request = await apply(world);
    await expect(answer(world, request, scores([0.9, 0.05, 0.05])))
      .to.emit(world.gate, "AccessDecided")
      .withArgs(request.requestId, world.applicant.address, 0, false);
    await expect(world.gate.connect(world.applicant).enter())
      .to.be.revertedWithCustomError(world.gate, "ClassifierGateNotAdmitted")
      .withArgs(world.applicant.address);
  });

  it("takes the argmax in float order over negative scores, the first of equal scores winning", async function () {
    const world = await loadFixture(fixture);
    for (const [values, expected] of [
      [[-3, -1, -2], 1],
      [[-0.5, 2, 2], 1],
      [[-1e30, -Infinity, -2e30], 0],
      [[0, -0, 1e-45], 2],
    ] as const) {
      const request = await apply(world);
      await expect(answer(world, request, scores([...values])), values.join(","))
        .to.emit(world.gate, "AccessDecided")
        .withArgs(request.requestId, world.applicant.address, expected, expected === ACCEPTED_CLASS);
    }
  });

  it("finds its scores among several output tensors", async function () {
    const world = await loadFixture(fixture);
    const request = await apply(world);
    const outputs = [...scores([0.2, 0.8]), encodeTensor("label", "int64", [1], BigInt64Array.of(0n))];
    await expect(answer(world, request, outputs))
      .to.emit(world.gate, "AccessDecided")
      .withArgs(request.requestId, world.applicant.address, 1, true);
  });

  it("fails the callback on an output without float32 scores, and the output stays readable", async function () {
    const world = await loadFixture(fixture);
    for (const outputs of [
      scores([0.1, 0.9], "z"),
      [encodeTensor("y", "int32", [2], Int32Array.of(0, 1))],
      [encodeTensor("y", "float32", [0], new Float32Array(0))],
    ]) {
      const request = await apply(world);
      const proof = await signedProof(world, request, { outputs });
      await expect(world.requests.fulfil(...fulfilArgs(request.key, proof)))
        .to.emit(world.requests, "InferenceFulfilled")
        .withArgs(request.requestId, world.node.address, () => true, proof.output.hash, Callback.Failed);
      expect(await world.requests.undeliveredOutput(request.requestId)).to.equal(encodeTensors(outputs));
      expect(await world.gate.isAdmitted(world.applicant.address)).to.equal(false);
    }
  });

  it("takes results only from the requests contract, and only for its own pending requests", async function () {
    const world = await loadFixture(fixture);
    const output = encodeTensors(scores([0, 1]));
    await expect(world.gate.onInferenceResult(blobIdOf("r"), blobIdOf("c"), output))
      .to.be.revertedWithCustomError(world.gate, "ClassifierGateUnauthorizedCaller")
      .withArgs(world.admin.address);
    const requestsAddress = await world.requests.getAddress();
    await impersonateAccount(requestsAddress);
    await setBalance(requestsAddress, 10n ** 18n);
    const asRequests = await ethers.getSigner(requestsAddress);
    await expect(world.gate.connect(asRequests).onInferenceResult(blobIdOf("r"), blobIdOf("c"), output))
      .to.be.revertedWithCustomError(world.gate, "ClassifierGateUnknownRequest")
      .withArgs(blobIdOf("r"), requestsAddress);
  });

  it("returns the fee of an expired request to its applicant, and to no one else", async function () {
    const world = await loadFixture(fixture);
    const request = await apply(world);
    await time.increase(3600);
    await expect(world.gate.connect(world.admin).reclaim(request.requestId))
      .to.be.revertedWithCustomError(world.gate, "ClassifierGateUnknownRequest")
      .withArgs(request.requestId, world.admin.address);
    const tx = world.gate.connect(world.applicant).reclaim(request.requestId);
    await expect(tx).to.changeEtherBalances([world.requests, world.applicant], [-FEE, FEE]);
    expect((await world.requests.getRequest(request.requestId)).status).to.equal(Status.Refunded);
    expect(await ethers.provider.getBalance(await world.gate.getAddress())).to.equal(0n);
  });

  it("refuses ETH sent outside a refund", async function () {
    const world = await loadFixture(fixture);
    await expect(world.admin.sendTransaction({ to: await world.gate.getAddress(), value: 1n }))
      .to.be.revertedWithCustomError(world.gate, "ClassifierGateUnexpectedEth")
      .withArgs(world.admin.address);
  });
});
