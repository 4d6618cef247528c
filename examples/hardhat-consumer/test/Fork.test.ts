/**
 * The same consumer on a fork: a chain process where Strata is already deployed (registries, InferenceRequests, a
 * bonded node, a published model: @strata/devkit's local stack), forked by the in-process Hardhat network.
 * `hre.strata.attach()` runs the node on the fork with the deployment and the node key of the source chain; the
 * callback happens on the fork, and nothing reaches the source chain.
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { startLocalStack, type LocalStack } from "@strata/devkit";
import { connectRegistries } from "@strata/contracts";
import type { StrataEnvironment } from "@strata/hardhat";
import { ClassifierGate__factory } from "../typechain-types";

describe("ClassifierGate on a fork of a chain where Strata is deployed", function () {
  let source: LocalStack;
  let strata: StrataEnvironment;

  before(async function () {
    source = await startLocalStack({
      network: "fork-source",
      shards: 10,
      model: { name: "fork-mlp", seed: 5, outputSize: 3 },
    });
    await hre.network.provider.request({
      method: "hardhat_reset",
      params: [{ forking: { jsonRpcUrl: source.chain.url, blockNumber: await source.provider.getBlockNumber() } }],
    });
    strata = await hre.strata.attach({
      deployment: source.deployment,
      nodeKey: source.nodeKey,
      walrus: source.walrus.client,
      model: source.model,
    });
  });

  after(async function () {
    await strata?.stop();
    await hre.network.provider.request({ method: "hardhat_reset", params: [] });
    await source?.stop();
  });

  it("requests on the fork and gets the verified callback there, from the source chain's deployment and node", async function () {
    const [owner, applicant] = await ethers.getSigners();
    const requestsAddress = source.deployment.contracts.InferenceRequests!;
    const gate = await new ClassifierGate__factory(owner).deploy(
      requestsAddress,
      source.model!.modelId,
      strata.LATEST,
      "y",
      0,
      200_000,
    );
    await gate.waitForDeployment();
    const deadline = (await ethers.provider.getBlock("latest"))!.timestamp + 600;
    const values = Float32Array.from([1, 2, 3, 4]);
    const tx = await gate
      .connect(applicant)
      .requestAccess(strata.encodeInput({ x: { dtype: "float32", dims: [1, 4], values } }), deadline);
    const [requestId] = await strata.fulfilled(tx);

    const [decided] = await gate.queryFilter(gate.filters.AccessDecided(requestId));
    expect(decided.args.applicant).to.equal(applicant.address);
    expect((await strata.requests.getRequest(requestId)).node).to.equal(
      ethers.getAddress(new ethers.Wallet(source.nodeKey).address),
    );
    // The source chain never saw the request.
    const onSource = connectRegistries(source.deployment, source.provider).inferenceRequests!;
    expect((await onSource.getRequest(requestId)).status).to.equal(0n);
    expect(await onSource.nextNonce()).to.equal(1n);
  });
});
