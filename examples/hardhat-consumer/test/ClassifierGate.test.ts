/**
 * A project's own tests of its consumer contract against Strata: `hre.strata.deploy()` puts the registries,
 * InferenceRequests, a bonded node and a test model on the Hardhat network and starts an in-process node; the gate
 * requests an inference, the node runs the model and fulfils the request with its signed proof, InferenceRequests
 * verifies it on-chain and calls the gate back.
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import type { StrataEnvironment } from "@strata/hardhat";
import { ClassifierGate__factory, type ClassifierGate } from "../typechain-types";

/** The classifier's input: `x`, float32 [1, 4]. */
const input = (values: number[]) => ({
  x: { dtype: "float32" as const, dims: [1, 4], values: Float32Array.from(values) },
});

describe("ClassifierGate, fulfilled by a Strata node", function () {
  let strata: StrataEnvironment;

  before(async function () {
    strata = await hre.strata.deploy();
  });

  after(async function () {
    await strata.stop();
  });

  async function gate(acceptedClass: number): Promise<ClassifierGate> {
    const [owner] = await ethers.getSigners();
    const gate = await new ClassifierGate__factory(owner).deploy(
      await strata.requests.getAddress(),
      strata.modelId!,
      strata.LATEST,
      "y",
      acceptedClass,
      200_000,
    );
    return gate.waitForDeployment();
  }

  /** Asks `gate` to admit `applicant` on `values`; resolves once the node's result arrived. */
  async function apply(
    g: ClassifierGate,
    applicant: Awaited<ReturnType<typeof ethers.getSigners>>[number],
    values: number[],
  ) {
    const deadline = (await ethers.provider.getBlock("latest"))!.timestamp + 600;
    const tx = await g.connect(applicant).requestAccess(strata.encodeInput(input(values)), deadline);
    const [requestId] = await strata.fulfilled(tx);
    const [decided] = await g.queryFilter(g.filters.AccessDecided(requestId));
    return decided.args;
  }

  it("admits an applicant whose input the classifier puts in the accepted class, and no one else", async function () {
    const [, alice, bob] = await ethers.getSigners();
    const values = [0.5, -1, 2, 0.25];
    // Which class the model gives this input: asked once through a gate that accepts class 0.
    const probe = await apply(await gate(0), alice, values);
    const cls = Number(probe.class_);

    const accepting = await gate(cls);
    const decided = await apply(accepting, bob, values);
    expect(decided.admitted).to.equal(true);
    expect(decided.class_).to.equal(BigInt(cls));
    await expect(accepting.connect(bob).enter()).to.emit(accepting, "Entered").withArgs(bob.address);

    const refusing = await gate((cls + 1) % 3);
    expect((await apply(refusing, alice, values)).admitted).to.equal(false);
    await expect(refusing.connect(alice).enter()).to.be.revertedWithCustomError(refusing, "ClassifierGateNotAdmitted");
  });

  it("pays the node after the challenge window, from the fee held in escrow", async function () {
    const [, alice] = await ethers.getSigners();
    const g = await gate(0);
    const deadline = (await ethers.provider.getBlock("latest"))!.timestamp + 600;
    const fee = ethers.parseEther("0.01");
    const tx = await g.connect(alice).requestAccess(strata.encodeInput(input([1, 2, 3, 4])), deadline, { value: fee });
    const [requestId] = await strata.fulfilled(tx);
    const request = await strata.requests.getRequest(requestId);
    expect(request.node).to.equal(strata.nodeKey.address);
    expect(request.fee).to.equal(fee);
    const window = Number((await strata.requests.config()).challengeWindow);
    await ethers.provider.send("evm_increaseTime", [window]);
    await ethers.provider.send("evm_mine", []);
    await expect(strata.requests.connect(strata.nodeKey).claimFees([requestId])).to.changeEtherBalance(
      strata.nodeKey,
      fee,
    );
  });
});
