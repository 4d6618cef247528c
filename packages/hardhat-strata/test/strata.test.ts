import { expect } from "chai";
import hre, { ethers } from "hardhat";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { FulfilmentTimeoutError, StrataHardhat, StrataHardhatError, type StrataEnvironment } from "@strata/hardhat";

const x = (values: number[], dims = [1, 4]) => ({
  x: { dtype: "float32" as const, dims, values: Float32Array.from(values) },
});

async function deadline(): Promise<number> {
  return (await ethers.provider.getBlock("latest"))!.timestamp + 600;
}

describe("@strata/hardhat (hre.strata)", function () {
  this.timeout(120_000);
  let strata: StrataHardhat;

  before(function () {
    strata = new StrataHardhat(hre);
  });

  after(async function () {
    await strata.stopAll();
  });

  describe("a deployment with the node fulfilling in the background", function () {
    let env: StrataEnvironment;

    before(async function () {
      env = await strata.deploy();
    });

    it("deploys the registries and InferenceRequests, a bonded node key and a published test model", async function () {
      expect(env.deployment.contracts.InferenceRequests).to.equal(await env.requests.getAddress());
      const bond = await env.requests.getBond(env.nodeKey.address);
      expect(bond.amount).to.equal((await env.requests.config()).minBond);
      expect(env.modelId).to.equal(env.model!.modelId);
      expect(await ethers.provider.getBalance(env.nodeKey.address)).to.be.greaterThan(0n);
    });

    it("fulfils a request whose input it stored on the local Walrus store, found by the request's transaction", async function () {
      const { blobId, inputHash } = await env.storeInput(x([1, 2, 3, 4]));
      const tx = await env.requests.requestInference(env.modelId!, env.LATEST, blobId, inputHash, 0, await deadline());
      const [requestId] = await env.fulfilled(tx);
      const request = await env.requests.getRequest(requestId);
      expect(request.status).to.equal(2n);
      expect(request.node).to.equal(env.nodeKey.address);
    });

    it("times out naming the request and the node's reason when a request cannot be fulfilled", async function () {
      // Three values where the model takes four: the node refuses the input.
      const input = env.encodeInput(x([1, 2, 3], [1, 3]));
      const tx = await env.requests.requestInferenceInline(env.modelId!, env.LATEST, input, 0, await deadline());
      const receipt = (await tx.wait())!;
      const error = await env.fulfilled(receipt, 1_000).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(FulfilmentTimeoutError);
      const message = (error as FulfilmentTimeoutError).message;
      expect(message).to.match(/^request 0x[0-9a-f]{64} not fulfilled within 1000 ms; the node said:\n/);
      expect(message).to.include('refused (input "x" has shape [1, 3] but the model expects [batch, 4])');
    });

    it("finds no request in a transaction that made none", async function () {
      const [signer] = await ethers.getSigners();
      const tx = await signer.sendTransaction({ to: signer.address, value: 1n });
      const error = await env.fulfilled(tx).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(StrataHardhatError);
    });
  });

  it("fulfils only when driven with autoFulfil false: fulfil() runs one pass", async function () {
    const env = await strata.deploy({ autoFulfil: false });
    const input = env.encodeInput(x([4, 3, 2, 1]));
    const tx = await env.requests.requestInferenceInline(env.modelId!, 0, input, 0, await deadline());
    const [requestId] = await (async () => {
      const receipt = (await tx.wait())!;
      return receipt.logs.map((l) => env.requests.interface.parseLog(l)?.args.requestId as string).filter(Boolean);
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await env.requests.getRequest(requestId)).status).to.equal(1n);
    expect((await env.fulfil()).ended.fulfilled).to.equal(1);
    expect((await env.requests.getRequest(requestId)).status).to.equal(2n);
    await env.stop();
  });

  it("attaches only to a deployment that has InferenceRequests", async function () {
    const env = await strata.deploy({ autoFulfil: false });
    const { InferenceRequests: _, ...registries } = env.deployment.contracts;
    const error = await strata
      .attach({
        deployment: { ...env.deployment, contracts: registries },
        nodeKey: env.nodeKey.privateKey,
        walrus: env.walrus!.client,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).to.be.instanceOf(StrataHardhatError);
    expect((error as Error).message).to.include("no InferenceRequests address");
    await env.stop();
  });

  it("deploys only on the in-process Hardhat network", async function () {
    const elsewhere = new StrataHardhat({
      ...hre,
      network: { ...hre.network, name: "sepolia" },
    } as HardhatRuntimeEnvironment);
    const error = await elsewhere.deploy().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(StrataHardhatError);
    expect((error as Error).message).to.include("not sepolia");
  });
});
