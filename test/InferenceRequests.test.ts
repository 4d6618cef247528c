import { expect } from "chai";
import { ethers } from "hardhat";
import { getStorageAt, loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, hexlify, toBigInt, ZeroAddress, ZeroHash } from "ethers";
import { checkEquivocation, encodeTensor, makeTensorSet, proofCommitment } from "@strata/core";
import { InferenceRequests__factory } from "@strata/contracts/typechain";
import { encodeTensors, proofStruct, TENSORS_ABI } from "./helpers/inference";
import {
  CALLBACK_GAS_LIMIT,
  Callback,
  CHALLENGE_WINDOW,
  CHALLENGER_SHARE_BPS,
  deadlineIn,
  ETH,
  FEE,
  Fault,
  fulfilArgs,
  fundedWallet,
  INPUTS,
  MAX_CALLBACK_GAS_LIMIT,
  MAX_INPUT_BYTES,
  MAX_OUTPUT_BYTES,
  MIN_BOND,
  Mode,
  requestedBy,
  requestsFixture,
  requestVia,
  scores,
  signedProof,
  signStruct,
  Status,
  testConfig,
  WITHDRAWAL_DELAY,
  type World,
} from "./helpers/requests";
import { blobIdOf, sha256Of } from "./helpers/values";
import { fieldsOf } from "./helpers/results";

const fixture = requestsFixture;

/** A pending request of the test consumer and its fulfilling proof, signed by the node with core. */
async function pendingWithProof(world: World, options: Parameters<typeof requestVia>[1] = {}) {
  const request = await requestVia(world, options);
  const proof = await signedProof(world, request);
  return { ...request, proof };
}

/** A request fulfilled by the node (callback delivered), at `fulfilledAt`. */
async function fulfilled(world: World, options: Parameters<typeof requestVia>[1] = {}) {
  const request = await pendingWithProof(world, options);
  await (await world.requests.fulfil(...fulfilArgs(request.key, request.proof))).wait();
  return { ...request, fulfilledAt: await time.latest() };
}

/** Two proofs signed by the node for the same model, input and runtime with different outputs (core-built). */
async function equivocation(world: World) {
  const request = await requestVia(world);
  const a = await signedProof(world, request, { outputs: scores([0.1, 0.7, 0.2]) });
  const b = await signedProof(world, request, { outputs: scores([0.9, 0.05, 0.05]) });
  return { request, a, b };
}

describe("InferenceRequests", function () {
  describe("deployment", function () {
    it("rejects a zero model registry or proof registry", async function () {
      const { admin, proofRegistry, modelRegistry } = await loadFixture(fixture);
      const factory = new InferenceRequests__factory(admin);
      const proof = await proofRegistry.getAddress();
      const model = await modelRegistry.getAddress();
      for (const config of [testConfig(ZeroAddress, proof), testConfig(model, ZeroAddress)]) {
        await expect(factory.deploy(config)).to.be.revertedWithCustomError(factory, "InferenceRequestsZeroAddress");
      }
    });

    it("rejects a withdrawal delay shorter than the challenge window", async function () {
      const { admin, proofRegistry, modelRegistry } = await loadFixture(fixture);
      const factory = new InferenceRequests__factory(admin);
      const config = { ...testConfig(await modelRegistry.getAddress(), await proofRegistry.getAddress()) };
      config.withdrawalDelay = CHALLENGE_WINDOW - 1;
      await expect(factory.deploy(config))
        .to.be.revertedWithCustomError(factory, "InferenceRequestsWithdrawalDelayTooShort")
        .withArgs(CHALLENGE_WINDOW - 1, CHALLENGE_WINDOW);
    });

    it("rejects a challenger share above 10,000 basis points", async function () {
      const { admin, proofRegistry, modelRegistry } = await loadFixture(fixture);
      const factory = new InferenceRequests__factory(admin);
      const config = { ...testConfig(await modelRegistry.getAddress(), await proofRegistry.getAddress()) };
      config.challengerShareBps = 10_001;
      await expect(factory.deploy(config))
        .to.be.revertedWithCustomError(factory, "InferenceRequestsChallengerShareTooHigh")
        .withArgs(10_001);
    });

    it("exposes its config, LATEST and version", async function () {
      const { requests, modelRegistry, proofRegistry } = await loadFixture(fixture);
      expect(fieldsOf(await requests.config())).to.deep.equal({
        modelRegistry: await modelRegistry.getAddress(),
        proofRegistry: await proofRegistry.getAddress(),
        minBond: MIN_BOND,
        challengeWindow: BigInt(CHALLENGE_WINDOW),
        withdrawalDelay: BigInt(WITHDRAWAL_DELAY),
        challengerShareBps: BigInt(CHALLENGER_SHARE_BPS),
        maxCallbackGasLimit: BigInt(MAX_CALLBACK_GAS_LIMIT),
        maxInputBytes: BigInt(MAX_INPUT_BYTES),
        maxOutputBytes: BigInt(MAX_OUTPUT_BYTES),
      });
      expect(await requests.LATEST()).to.equal(2n ** 32n - 1n);
      expect(await requests.version()).to.equal("1.0.0");
    });
  });

  describe("requests", function () {
    it("records a request for a version with a Walrus input, its id committed to its key, the fee in escrow", async function () {
      const world = await loadFixture(fixture);
      const { requests, consumer, modelId, modelRegistry } = world;
      const deadline = await deadlineIn();
      const inputHash = makeTensorSet(INPUTS).hash;
      const tx = consumer.request(modelId, 1, blobIdOf("input"), inputHash, CALLBACK_GAS_LIMIT, deadline, {
        value: FEE,
      });
      const v1 = await modelRegistry.getVersion(modelId, 1);
      const key = {
        nonce: 1n,
        modelId,
        modelVersion: 1n,
        modelBlobId: v1.blobId,
        modelSha256: v1.sha256,
        inputHash,
        callbackGasLimit: BigInt(CALLBACK_GAS_LIMIT),
      };
      const requestId = await requests.requestIdOf(key);
      const chainId = (await ethers.provider.getNetwork()).chainId;
      expect(requestId).to.equal(
        ethers.keccak256(
          AbiCoder.defaultAbiCoder().encode(
            ["uint256", "address", "tuple(uint64,bytes32,uint32,bytes32,bytes32,bytes32,uint32)"],
            [chainId, await requests.getAddress(), Object.values(key)],
          ),
        ),
      );
      await expect(tx)
        .to.emit(requests, "InferenceRequested")
        .withArgs(
          requestId,
          await consumer.getAddress(),
          modelId,
          Object.values(key),
          blobIdOf("input"),
          "0x",
          deadline,
          FEE,
        );
      expect(fieldsOf(await requests.getRequest(requestId))).to.deep.equal({
        requester: await consumer.getAddress(),
        fee: FEE,
        node: ZeroAddress,
        deadline: BigInt(deadline),
        fulfilledAt: 0n,
        status: BigInt(Status.Pending),
      });
      expect(await ethers.provider.getBalance(await requests.getAddress())).to.equal(4n * MIN_BOND + FEE);
      expect(await requests.nextNonce()).to.equal(2n);
    });

    it("gives each request its own id and nonce, even for the same parameters", async function () {
      const world = await loadFixture(fixture);
      const a = await requestVia(world);
      const b = await requestVia(world, { deadline: a.deadline });
      expect([a.key.nonce, b.key.nonce]).to.deep.equal([1n, 2n]);
      expect(a.requestId).to.not.equal(b.requestId);
    });

    it("resolves LATEST at request time to the newest version that is not deprecated", async function () {
      const world = await loadFixture(fixture);
      const { requests, modelRegistry, modelId, owner } = world;
      const latest = await requests.LATEST();
      const first = await requestVia(world, { modelVersion: latest });
      expect(first.key.modelVersion).to.equal(1n);
      expect(first.key.modelBlobId).to.equal(blobIdOf("model 1"));
      expect(first.key.modelSha256).to.equal(sha256Of("model 1"));
      await (await modelRegistry.connect(owner).deprecateVersion(modelId, 1)).wait();
      const second = await requestVia(world, { modelVersion: latest });
      expect(second.key.modelVersion).to.equal(0n);
      expect(second.key.modelBlobId).to.equal(blobIdOf("model 0"));
    });

    it("rejects a deprecated version asked for by index", async function () {
      const world = await loadFixture(fixture);
      const { requests, modelRegistry, modelId, owner } = world;
      await (await modelRegistry.connect(owner).deprecateVersion(modelId, 0)).wait();
      await expect(requestVia(world, { modelVersion: 0 }))
        .to.be.revertedWithCustomError(requests, "InferenceRequestsVersionDeprecated")
        .withArgs(modelId, 0);
    });

    it("passes on the ModelRegistry's refusal of an unknown version or a model without an active version", async function () {
      const world = await loadFixture(fixture);
      const { modelRegistry, modelId, owner, requests } = world;
      await expect(requestVia(world, { modelVersion: 2 }))
        .to.be.revertedWithCustomError(modelRegistry, "ModelRegistryUnknownVersion")
        .withArgs(modelId, 2, 2);
      await (await modelRegistry.connect(owner).createModel("empty", blobIdOf("meta"))).wait();
      const empty = await modelRegistry.modelIdOf(owner.address, "empty");
      await expect(
        requests.requestInference(
          empty,
          await requests.LATEST(),
          blobIdOf("in"),
          ZeroHash.replace(/0$/, "1"),
          0,
          await deadlineIn(),
        ),
      )
        .to.be.revertedWithCustomError(modelRegistry, "ModelRegistryNoActiveVersion")
        .withArgs(empty);
    });

    it("computes the input hash of an inline input with the twin, as core's makeTensorSet", async function () {
      const world = await loadFixture(fixture);
      const inputs = [
        encodeTensor("x", "float32", [1, 4], Float32Array.from([1, 2, 3, 4])),
        encodeTensor("mask", "bool", [4], Uint8Array.from([1, 0, 1, 1])),
      ];
      const request = await requestVia(world, { inline: true, inputs });
      expect(request.key.inputHash).to.equal(makeTensorSet(inputs).hash);
    });

    it("puts the inline input in the event, and no input Blob ID", async function () {
      const world = await loadFixture(fixture);
      const { consumer, requests, modelId } = world;
      const input = encodeTensors(INPUTS);
      const tx = consumer.requestInline(modelId, 0, input, 0, await deadlineIn());
      const { requestId } = await requestedBy(requests, tx);
      const receipt = await ethers.provider.getTransactionReceipt((await tx).hash);
      const event = receipt!.logs
        .map((l) => requests.interface.parseLog(l))
        .find((e) => e?.name === "InferenceRequested");
      expect(event!.args.requestId).to.equal(requestId);
      expect(event!.args.input).to.equal(input);
      expect(event!.args.inputBlobId).to.equal(ZeroHash);
    });

    it("rejects an inline input above the size cap", async function () {
      const world = await loadFixture(fixture);
      const big = [encodeTensor("x", "uint8", [MAX_INPUT_BYTES], new Uint8Array(MAX_INPUT_BYTES))];
      const length = ethers.dataLength(encodeTensors(big));
      await expect(requestVia(world, { inline: true, inputs: big }))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsInputTooLarge")
        .withArgs(length, MAX_INPUT_BYTES);
    });

    it("rejects an inline input whose tensors are not sorted by name", async function () {
      const world = await loadFixture(fixture);
      const { consumer, modelId, requests } = world;
      const tensors = [
        encodeTensor("b", "uint8", [1], Uint8Array.of(1)),
        encodeTensor("a", "uint8", [1], Uint8Array.of(2)),
      ];
      const unsorted = AbiCoder.defaultAbiCoder().encode(
        [TENSORS_ABI],
        [tensors.map((t) => [t.name, t.dtype, t.dims, hexlify(Buffer.from(t.data, "base64"))])],
      );
      const harness = await ethers.getContractAt("ProofDigestHarness", ZeroAddress);
      await expect(consumer.requestInline(modelId, 0, unsorted, 0, await deadlineIn()))
        .to.be.revertedWithCustomError(harness, "ProofDigestUnsortedTensors")
        .withArgs(1);
      expect(await requests.nextNonce()).to.equal(1n);
    });

    it("rejects a zero input Blob ID or a zero input hash", async function () {
      const { requests, modelId } = await loadFixture(fixture);
      const deadline = await deadlineIn();
      await expect(
        requests.requestInference(modelId, 0, ZeroHash, makeTensorSet(INPUTS).hash, 0, deadline),
      ).to.be.revertedWithCustomError(requests, "InferenceRequestsZeroInputBlobId");
      await expect(
        requests.requestInference(modelId, 0, blobIdOf("in"), ZeroHash, 0, deadline),
      ).to.be.revertedWithCustomError(requests, "InferenceRequestsZeroInputHash");
    });

    it("rejects a deadline that is not in the future, or beyond what a uint40 holds", async function () {
      const world = await loadFixture(fixture);
      const now = await time.latest();
      await time.setNextBlockTimestamp(now + 10);
      await expect(requestVia(world, { deadline: now + 10 }))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsBadDeadline")
        .withArgs(now + 10, now + 10);
      const far = 2n ** 40n;
      await expect(
        world.requests.requestInference(world.modelId, 0, blobIdOf("in"), makeTensorSet(INPUTS).hash, 0, far),
      ).to.be.revertedWithCustomError(world.requests, "InferenceRequestsBadDeadline");
    });

    it("rejects a callback gas limit above the cap", async function () {
      const world = await loadFixture(fixture);
      await expect(requestVia(world, { callbackGasLimit: MAX_CALLBACK_GAS_LIMIT + 1 }))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsCallbackGasLimitTooHigh")
        .withArgs(MAX_CALLBACK_GAS_LIMIT + 1, MAX_CALLBACK_GAS_LIMIT);
    });

    it("rejects a callback to an account without code, and takes a request without callback from it", async function () {
      const { requests, modelId, other } = await loadFixture(fixture);
      const hash = makeTensorSet(INPUTS).hash;
      const deadline = await deadlineIn();
      await expect(requests.connect(other).requestInference(modelId, 0, blobIdOf("in"), hash, 1, deadline))
        .to.be.revertedWithCustomError(requests, "InferenceRequestsNoCallbackCode")
        .withArgs(other.address);
      await expect(requests.connect(other).requestInference(modelId, 0, blobIdOf("in"), hash, 0, deadline)).to.emit(
        requests,
        "InferenceRequested",
      );
    });
  });

  describe("fulfilment", function () {
    it("fulfils with a proof built and signed by core, and calls the consumer back with the output", async function () {
      const world = await loadFixture(fixture);
      const { requests, consumer, node } = world;
      const { requestId, key, proof } = await pendingWithProof(world);
      const output = encodeTensors(proof.output.tensors);
      const commitment = proofCommitment(proof);
      expect(await requests.commitmentOf(proofStruct(proof))).to.equal(commitment);
      await expect(requests.fulfil(...fulfilArgs(key, proof)))
        .to.emit(requests, "InferenceFulfilled")
        .withArgs(requestId, node.address, commitment, proof.output.hash, Callback.Delivered);
      const record = await requests.getRequest(requestId);
      expect(record.status).to.equal(Status.Fulfilled);
      expect(record.node).to.equal(node.address);
      expect(record.fulfilledAt).to.equal(await time.latest());
      expect(await consumer.calls()).to.equal(1n);
      expect(await consumer.lastRequestId()).to.equal(requestId);
      expect(await consumer.lastCommitment()).to.equal(commitment);
      expect(await consumer.lastOutputHash()).to.equal(ethers.keccak256(output));
      expect(await requests.undeliveredOutput(requestId)).to.equal("0x");
    });

    it("fulfils an inline-input request", async function () {
      const world = await loadFixture(fixture);
      const { requestId, key, proof } = await pendingWithProof(world, { inline: true });
      await expect(world.requests.fulfil(...fulfilArgs(key, proof)))
        .to.emit(world.requests, "InferenceFulfilled")
        .withArgs(requestId, world.node.address, proofCommitment(proof), proof.output.hash, Callback.Delivered);
    });

    it("takes a fulfilment from anyone who relays the node's signed proof, and credits the node", async function () {
      const world = await loadFixture(fixture);
      const { requestId, key, proof } = await pendingWithProof(world);
      await (await world.requests.connect(world.other).fulfil(...fulfilArgs(key, proof))).wait();
      expect((await world.requests.getRequest(requestId)).node).to.equal(world.node.address);
    });

    it("makes no callback when the callback gas limit is zero", async function () {
      const world = await loadFixture(fixture);
      const { requestId, key, proof } = await pendingWithProof(world, { callbackGasLimit: 0 });
      await expect(world.requests.fulfil(...fulfilArgs(key, proof)))
        .to.emit(world.requests, "InferenceFulfilled")
        .withArgs(requestId, world.node.address, proofCommitment(proof), proof.output.hash, Callback.None);
      expect(await world.consumer.calls()).to.equal(0n);
    });

    it("accepts a proof of format version 2 (same EIP-712 type)", async function () {
      const world = await loadFixture(fixture);
      const { requestId, key, proof } = await pendingWithProof(world);
      const struct = { ...proofStruct(proof), version: 2 };
      const signature = signStruct(world, world.node, struct);
      await expect(
        world.requests.fulfil(key.nonce, key.callbackGasLimit, struct, encodeTensors(proof.output.tensors), signature),
      ).to.emit(world.requests, "InferenceFulfilled");
      expect((await world.requests.getRequest(requestId)).status).to.equal(Status.Fulfilled);
    });

    for (const [mode, name] of [
      [Mode.Revert, "reverts"],
      [Mode.BurnGas, "runs out of gas"],
    ] as const) {
      it(`keeps the fulfilment and stores the output when the callback ${name}`, async function () {
        const world = await loadFixture(fixture);
        await (await world.consumer.setMode(mode)).wait();
        const { requestId, key, proof } = await pendingWithProof(world);
        const output = encodeTensors(proof.output.tensors);
        await expect(world.requests.fulfil(...fulfilArgs(key, proof), { gasLimit: 2_000_000 }))
          .to.emit(world.requests, "InferenceFulfilled")
          .withArgs(requestId, world.node.address, proofCommitment(proof), proof.output.hash, Callback.Failed)
          .and.to.emit(world.requests, "OutputUndelivered")
          .withArgs(requestId, output);
        expect((await world.requests.getRequest(requestId)).status).to.equal(Status.Fulfilled);
        expect(await world.requests.undeliveredOutput(requestId)).to.equal(output);
      });
    }

    it("does not copy a failed callback's revert data, so a consumer cannot make the fulfiller pay for it", async function () {
      const world = await loadFixture(fixture);
      const gasOfFailure = async (mode: number) => {
        await (await world.consumer.setMode(mode)).wait();
        const { key, proof } = await pendingWithProof(world);
        const receipt = await (await world.requests.fulfil(...fulfilArgs(key, proof), { gasLimit: 2_000_000 })).wait();
        return receipt!.gasUsed;
      };
      const plain = await gasOfFailure(Mode.Revert);
      const huge = await gasOfFailure(Mode.RevertHuge);
      // The consumer's own memory for 200,000 bytes is about 95,000 gas; copying them back would cost as much again.
      expect(huge - plain).to.be.lessThan(110_000n);
    });

    it("keeps a callback from re-entering any function that moves ETH or calls out", async function () {
      const world = await loadFixture(fixture);
      await (await world.consumer.setMode(Mode.Reenter)).wait();
      const { key, proof, requestId } = await pendingWithProof(world, { callbackGasLimit: MAX_CALLBACK_GAS_LIMIT });
      await expect(world.requests.fulfil(...fulfilArgs(key, proof)))
        .to.emit(world.requests, "InferenceFulfilled")
        .withArgs(requestId, world.node.address, proofCommitment(proof), proof.output.hash, Callback.Delivered);
      const selector = world.requests.interface.getError("ReentrancyGuardReentrantCall")!.selector;
      const count = Number(await world.consumer.reentryErrorCount());
      const errors = await Promise.all(Array.from({ length: count }, (_, i) => world.consumer.reentryErrors(i)));
      expect(errors).to.deep.equal(Array(6).fill(selector));
    });

    it("gives the callback its whole gas limit or reverts: a fulfiller cannot starve it", async function () {
      const world = await loadFixture(fixture);
      const limit = 150_000;
      let reverted = 0;
      let delivered = 0;
      // From too little gas for the callback to plenty, in steps: every fulfilment that goes through gave the
      // consumer (which records gasleft() on entry) nearly all of its limit, and never a Failed callback.
      for (let gas = 150_000; gas <= 350_000; gas += 10_000) {
        const { requestId, key, proof } = await pendingWithProof(world, { callbackGasLimit: limit });
        try {
          await (await world.requests.fulfil(...fulfilArgs(key, proof), { gasLimit: gas })).wait();
        } catch {
          reverted++;
          expect((await world.requests.getRequest(requestId)).status).to.equal(Status.Pending);
          continue;
        }
        delivered++;
        expect(await world.requests.undeliveredOutput(requestId), `tx gas ${gas}`).to.equal("0x");
        expect(await world.consumer.lastRequestId()).to.equal(requestId);
        expect(await world.consumer.gasAtEntry()).to.be.greaterThan(limit - 1_000);
      }
      expect(reverted).to.be.greaterThan(0);
      expect(delivered).to.be.greaterThan(0);
    });

    it("reverts with the gas left and needed when the transaction cannot give the callback its limit", async function () {
      const world = await loadFixture(fixture);
      const { requestId, key, proof } = await pendingWithProof(world, { callbackGasLimit: 400_000 });
      await expect(world.requests.fulfil(...fulfilArgs(key, proof), { gasLimit: 300_000 }))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsInsufficientGas")
        .withArgs(requestId, (gasLeft: bigint) => gasLeft < 400_000n, (400_000n * 64n) / 63n + 5_000n);
    });

    it("rejects a fulfilment of an unknown or already fulfilled request", async function () {
      const world = await loadFixture(fixture);
      const { key, proof, requestId } = await fulfilled(world);
      await expect(world.requests.fulfil(...fulfilArgs(key, proof)))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNotPending")
        .withArgs(requestId, Status.Fulfilled);
      const stray = await signedProof(world, { requestId: blobIdOf("no such request"), key, inputs: INPUTS });
      await expect(world.requests.fulfil(...fulfilArgs(key, stray)))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNotPending")
        .withArgs(blobIdOf("no such request"), Status.None);
    });

    it("rejects a fulfilment after the deadline", async function () {
      const world = await loadFixture(fixture);
      const { key, proof, requestId, deadline } = await pendingWithProof(world);
      await time.setNextBlockTimestamp(deadline + 1);
      await expect(world.requests.fulfil(...fulfilArgs(key, proof)))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsExpired")
        .withArgs(requestId, deadline);
    });

    it("accepts a fulfilment at the deadline itself", async function () {
      const world = await loadFixture(fixture);
      const { key, proof, deadline } = await pendingWithProof(world);
      await time.setNextBlockTimestamp(deadline);
      await expect(world.requests.fulfil(...fulfilArgs(key, proof))).to.emit(world.requests, "InferenceFulfilled");
    });

    it("rejects a proof whose model, input, nonce or gas limit do not give the request id", async function () {
      const world = await loadFixture(fixture);
      const request = await requestVia(world);
      const { requests } = world;
      const other = [encodeTensor("x", "float32", [1, 4], Float32Array.from([4, 3, 2, 1]))];
      const cases = [
        await signedProof(world, request, {
          model: { version: 1, blobId: blobIdOf("model 1"), sha256: sha256Of("model 1") },
        }),
        await signedProof(world, request, { model: { sha256: sha256Of("another file") } }),
        await signedProof(world, request, { model: { blobId: blobIdOf("another blob") } }),
        await signedProof(world, request, { inputs: other }),
      ];
      for (const proof of cases) {
        await expect(requests.fulfil(...fulfilArgs(request.key, proof))).to.be.revertedWithCustomError(
          requests,
          "InferenceRequestsRequestMismatch",
        );
      }
      const proof = await signedProof(world, request);
      const [nonce, gas, ...rest] = fulfilArgs(request.key, proof);
      await expect(requests.fulfil(nonce + 1n, gas, ...rest)).to.be.revertedWithCustomError(
        requests,
        "InferenceRequestsRequestMismatch",
      );
      const derived = await requests.requestIdOf({ ...request.key, callbackGasLimit: gas - 1n });
      await expect(requests.fulfil(nonce, gas - 1n, ...rest))
        .to.be.revertedWithCustomError(requests, "InferenceRequestsRequestMismatch")
        .withArgs(request.requestId, derived);
    });

    it("rejects a proof that names another model registry", async function () {
      const world = await loadFixture(fixture);
      const { key, proof } = await pendingWithProof(world);
      const struct = { ...proofStruct(proof), modelRegistry: world.other.address };
      const signature = signStruct(world, world.node, struct);
      await expect(
        world.requests.fulfil(key.nonce, key.callbackGasLimit, struct, encodeTensors(proof.output.tensors), signature),
      )
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsWrongModelRegistry")
        .withArgs(world.other.address, await world.modelRegistry.getAddress());
    });

    it("rejects a proof format version other than 1 and 2", async function () {
      const world = await loadFixture(fixture);
      const { key, proof } = await pendingWithProof(world);
      for (const version of [0, 3]) {
        const struct = { ...proofStruct(proof), version };
        const signature = signStruct(world, world.node, struct);
        await expect(
          world.requests.fulfil(
            key.nonce,
            key.callbackGasLimit,
            struct,
            encodeTensors(proof.output.tensors),
            signature,
          ),
        )
          .to.be.revertedWithCustomError(world.requests, "InferenceRequestsUnsupportedProofVersion")
          .withArgs(version);
      }
    });

    it("rejects an output above the size cap", async function () {
      const world = await loadFixture(fixture);
      const request = await requestVia(world);
      const outputs = [encodeTensor("y", "uint8", [MAX_OUTPUT_BYTES], new Uint8Array(MAX_OUTPUT_BYTES))];
      const proof = await signedProof(world, request, { outputs });
      await expect(world.requests.fulfil(...fulfilArgs(request.key, proof)))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsOutputTooLarge")
        .withArgs(ethers.dataLength(encodeTensors(outputs)), MAX_OUTPUT_BYTES);
    });

    it("rejects an output that does not hash to the proof's output hash", async function () {
      const world = await loadFixture(fixture);
      const { key, proof } = await pendingWithProof(world);
      const [nonce, gas, struct, , signature] = fulfilArgs(key, proof);
      const forged = encodeTensors(scores([0.9, 0.05, 0.05]));
      await expect(world.requests.fulfil(nonce, gas, struct, forged, signature))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsOutputHashMismatch")
        .withArgs(proof.output.hash, makeTensorSet(scores([0.9, 0.05, 0.05])).hash);
    });

    it("rejects a malformed signature with the ECDSA error", async function () {
      const world = await loadFixture(fixture);
      const { key, proof } = await pendingWithProof(world);
      const [nonce, gas, struct, output] = fulfilArgs(key, proof);
      await expect(world.requests.fulfil(nonce, gas, struct, output, proof.signature.slice(0, -2)))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsInvalidSignature")
        .withArgs(proofCommitment(proof), 2);
    });

    it("rejects a signature by anyone but the proof's node", async function () {
      const world = await loadFixture(fixture);
      const request = await requestVia(world);
      const proof = await signedProof(world, request);
      const struct = proofStruct(proof);
      const signature = signStruct(world, world.node2, struct);
      await expect(
        world.requests.fulfil(
          request.key.nonce,
          request.key.callbackGasLimit,
          struct,
          encodeTensors(proof.output.tensors),
          signature,
        ),
      )
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsSignerNotNode")
        .withArgs(proofCommitment(proof), world.node2.address, world.node.address);
    });

    it("rejects a node that is not active in the ProofRegistry", async function () {
      const world = await loadFixture(fixture);
      const { key, proof } = await pendingWithProof(world);
      await (await world.nodeRegistry.removeNode(world.node.address)).wait();
      await expect(world.requests.fulfil(...fulfilArgs(key, proof)))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNotActiveNode")
        .withArgs(world.node.address);
    });

    it("rejects an active node whose bond is below the minimum", async function () {
      const world = await loadFixture(fixture);
      const unbonded = await fundedWallet(world.admin, "unbonded node");
      await (await world.nodeRegistry.admitNode(unbonded.address, "https://unbonded.example")).wait();
      await (await world.requests.connect(unbonded).postBond({ value: MIN_BOND - 1n })).wait();
      const request = await requestVia(world);
      const proof = await signedProof(world, request, {}, unbonded);
      await expect(world.requests.fulfil(...fulfilArgs(request.key, proof)))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsInsufficientBond")
        .withArgs(unbonded.address, MIN_BOND - 1n, MIN_BOND);
    });

    it("rejects a node that is withdrawing its bond", async function () {
      const world = await loadFixture(fixture);
      const { key, proof } = await pendingWithProof(world);
      await (await world.requests.connect(world.node).requestBondWithdrawal()).wait();
      await expect(world.requests.fulfil(...fulfilArgs(key, proof)))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsBondUnlocking")
        .withArgs(world.node.address, (await time.latest()) + WITHDRAWAL_DELAY);
    });
  });

  describe("fees", function () {
    it("refunds an expired request to its requester", async function () {
      const world = await loadFixture(fixture);
      const { requestId, deadline } = await requestVia(world);
      await time.increaseTo(deadline + 1);
      const consumer = await world.consumer.getAddress();
      const tx = world.consumer.refund(requestId);
      await expect(tx).to.emit(world.requests, "InferenceRefunded").withArgs(requestId, consumer, FEE);
      await expect(tx).to.changeEtherBalances([world.requests, world.consumer], [-FEE, FEE]);
      expect((await world.requests.getRequest(requestId)).status).to.equal(Status.Refunded);
    });

    it("refuses a refund before the deadline has passed", async function () {
      const world = await loadFixture(fixture);
      const { requestId, deadline } = await requestVia(world);
      await time.setNextBlockTimestamp(deadline);
      await expect(world.consumer.refund(requestId))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNotExpired")
        .withArgs(requestId, deadline);
    });

    it("refunds only to the requester, and only once", async function () {
      const world = await loadFixture(fixture);
      const { requestId, deadline } = await requestVia(world);
      await time.increaseTo(deadline + 1);
      await expect(world.requests.connect(world.other).refund(requestId))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNotRequester")
        .withArgs(requestId, world.other.address);
      await (await world.consumer.refund(requestId)).wait();
      await expect(world.consumer.refund(requestId))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNotRefundable")
        .withArgs(requestId, Status.Refunded);
    });

    it("does not refund a request fulfilled by a node in good standing", async function () {
      const world = await loadFixture(fixture);
      const { requestId } = await fulfilled(world);
      await time.increase(CHALLENGE_WINDOW * 2);
      await expect(world.consumer.refund(requestId))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNotRefundable")
        .withArgs(requestId, Status.Fulfilled);
    });

    it("refuses a refund the requester cannot receive, and keeps the request pending", async function () {
      const world = await loadFixture(fixture);
      const { requestId, deadline } = await requestVia(world);
      await time.increaseTo(deadline + 1);
      await (await world.consumer.setAcceptsEth(false)).wait();
      await expect(world.consumer.refund(requestId)).to.be.revertedWithCustomError(
        world.consumer,
        "TestConsumerRefused",
      );
      expect((await world.requests.getRequest(requestId)).status).to.equal(Status.Pending);
    });

    it("pays the node its fees after the challenge window, several in one claim", async function () {
      const world = await loadFixture(fixture);
      const a = await fulfilled(world);
      const b = await fulfilled(world, { fee: 3n * FEE });
      await time.increaseTo(b.fulfilledAt + CHALLENGE_WINDOW);
      const tx = world.requests.connect(world.node).claimFees([a.requestId, b.requestId]);
      await expect(tx)
        .to.emit(world.requests, "FeesClaimed")
        .withArgs(world.node.address, [a.requestId, b.requestId], 4n * FEE);
      await expect(tx).to.changeEtherBalances([world.requests, world.node], [-4n * FEE, 4n * FEE]);
      expect((await world.requests.getRequest(a.requestId)).status).to.equal(Status.Claimed);
      await expect(world.requests.connect(world.node).claimFees([a.requestId]))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNotFulfilled")
        .withArgs(a.requestId, Status.Claimed);
    });

    it("pays the node whose consumer's callback failed: it did the work", async function () {
      const world = await loadFixture(fixture);
      await (await world.consumer.setMode(Mode.Revert)).wait();
      const { requestId, fulfilledAt } = await fulfilled(world);
      await time.increaseTo(fulfilledAt + CHALLENGE_WINDOW);
      await expect(world.requests.connect(world.node).claimFees([requestId])).to.changeEtherBalance(world.node, FEE);
    });

    it("refuses a claim within the challenge window", async function () {
      const world = await loadFixture(fixture);
      const { requestId, fulfilledAt } = await fulfilled(world);
      await time.setNextBlockTimestamp(fulfilledAt + CHALLENGE_WINDOW - 1);
      await expect(world.requests.connect(world.node).claimFees([requestId]))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsChallengeWindow")
        .withArgs(requestId, fulfilledAt + CHALLENGE_WINDOW);
    });

    it("refuses a claim by anyone but the fulfilling node, or for a request not fulfilled", async function () {
      const world = await loadFixture(fixture);
      const { requestId, fulfilledAt } = await fulfilled(world);
      const pending = await requestVia(world);
      await time.increaseTo(fulfilledAt + CHALLENGE_WINDOW);
      await expect(world.requests.connect(world.node2).claimFees([requestId]))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNotFulfiller")
        .withArgs(requestId, world.node2.address);
      await expect(world.requests.connect(world.node).claimFees([pending.requestId]))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNotFulfilled")
        .withArgs(pending.requestId, Status.Pending);
    });
  });

  describe("bonds", function () {
    it("adds to a bond and reports the total", async function () {
      const world = await loadFixture(fixture);
      await expect(world.requests.connect(world.node).postBond({ value: ETH }))
        .to.emit(world.requests, "BondPosted")
        .withArgs(world.node.address, ETH, 2n * MIN_BOND + ETH);
      expect(fieldsOf(await world.requests.getBond(world.node.address))).to.deep.equal({
        amount: 2n * MIN_BOND + ETH,
        unlockAt: 0n,
        slashedAt: 0n,
      });
    });

    it("rejects a bond of zero", async function () {
      const world = await loadFixture(fixture);
      await expect(world.requests.connect(world.node).postBond()).to.be.revertedWithCustomError(
        world.requests,
        "InferenceRequestsZeroBond",
      );
    });

    it("withdraws a bond only after the delay, and not twice", async function () {
      const world = await loadFixture(fixture);
      const requests = world.requests.connect(world.node);
      await expect(requests.withdrawBond())
        .to.be.revertedWithCustomError(requests, "InferenceRequestsNotUnlocking")
        .withArgs(world.node.address);
      await expect(requests.requestBondWithdrawal()).to.emit(requests, "BondWithdrawalRequested");
      const unlockAt = (await time.latest()) + WITHDRAWAL_DELAY;
      expect((await requests.getBond(world.node.address)).unlockAt).to.equal(unlockAt);
      await expect(requests.requestBondWithdrawal())
        .to.be.revertedWithCustomError(requests, "InferenceRequestsAlreadyUnlocking")
        .withArgs(world.node.address, unlockAt);
      await time.setNextBlockTimestamp(unlockAt - 1);
      await expect(requests.withdrawBond())
        .to.be.revertedWithCustomError(requests, "InferenceRequestsBondLocked")
        .withArgs(world.node.address, unlockAt);
      await time.setNextBlockTimestamp(unlockAt);
      const tx = requests.withdrawBond();
      await expect(tx)
        .to.emit(requests, "BondWithdrawn")
        .withArgs(world.node.address, 2n * MIN_BOND);
      await expect(tx).to.changeEtherBalance(world.node, 2n * MIN_BOND);
      await expect(requests.requestBondWithdrawal())
        .to.be.revertedWithCustomError(requests, "InferenceRequestsNoBond")
        .withArgs(world.node.address);
    });

    it("lets the node fulfil again once it posts during a withdrawal (the withdrawal is cancelled)", async function () {
      const world = await loadFixture(fixture);
      const requests = world.requests.connect(world.node);
      await (await requests.requestBondWithdrawal()).wait();
      await (await requests.postBond({ value: 1n })).wait();
      expect((await requests.getBond(world.node.address)).unlockAt).to.equal(0n);
      const { key, proof } = await pendingWithProof(world);
      await expect(world.requests.fulfil(...fulfilArgs(key, proof))).to.emit(world.requests, "InferenceFulfilled");
    });

    it("keeps the fees of a node's last fulfilment inside its bond's withdrawal delay", async function () {
      // The delay is at least the challenge window and a withdrawing node cannot fulfil, so by the time the bond
      // unlocks every fee's window has ended.
      const world = await loadFixture(fixture);
      const { requestId } = await fulfilled(world);
      await (await world.requests.connect(world.node).requestBondWithdrawal()).wait();
      const unlockAt = (await world.requests.getBond(world.node.address)).unlockAt;
      const endsAt = (await world.requests.getRequest(requestId)).fulfilledAt + BigInt(CHALLENGE_WINDOW);
      expect(endsAt <= unlockAt).to.equal(true);
    });
  });

  describe("slashing", function () {
    it("slashes an equivocating node with two proofs built and signed by core, paying the challenger its share", async function () {
      const world = await loadFixture(fixture);
      const { requests, node, challenger } = world;
      const { a, b } = await equivocation(world);
      const bond = 2n * MIN_BOND;
      const reward = (bond * BigInt(CHALLENGER_SHARE_BPS)) / 10_000n;
      const tx = requests
        .connect(challenger)
        .slashEquivocation(proofStruct(a), a.signature, proofStruct(b), b.signature);
      await expect(tx)
        .to.emit(requests, "NodeSlashed")
        .withArgs(
          node.address,
          challenger.address,
          Fault.Equivocation,
          proofCommitment(a),
          proofCommitment(b),
          bond,
          reward,
        );
      await expect(tx).to.changeEtherBalances([requests, challenger], [-reward, reward]);
      const slashed = await requests.getBond(node.address);
      expect(slashed.amount).to.equal(0n);
      expect(slashed.slashedAt).to.equal(await time.latest());
      // The rest of the bond stays in the contract, owned by no one (the other node's bond is untouched).
      expect(await ethers.provider.getBalance(await requests.getAddress())).to.equal(
        bond - reward + 2n * MIN_BOND + FEE,
      );
    });

    it("does not take two proofs that agree on the output, or differ in model, input or runtime, as an equivocation", async function () {
      const world = await loadFixture(fixture);
      const request = await requestVia(world);
      const a = await signedProof(world, request);
      const variants = [
        await signedProof(world, request, { timestamp: 1_800_000_000 }),
        await signedProof(world, request, {
          outputs: scores([0.9, 0.05, 0.05]),
          model: { version: 1, blobId: blobIdOf("model 1"), sha256: sha256Of("model 1") },
        }),
        await signedProof(world, request, {
          outputs: scores([0.9, 0.05, 0.05]),
          inputs: [encodeTensor("x", "float32", [1, 4], Float32Array.from([0, 0, 0, 0]))],
        }),
        await signedProof(world, request, { outputs: scores([0.9, 0.05, 0.05]), runtime: { ...RUNTIME_OTHER } }),
      ];
      for (const b of variants) {
        await expect(world.requests.slashEquivocation(proofStruct(a), a.signature, proofStruct(b), b.signature))
          .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNotEquivocation")
          .withArgs(proofCommitment(a), proofCommitment(b));
      }
    });

    it("agrees with core's checkEquivocation on every pair: what core accepts slashes, what it refuses reverts", async function () {
      const world = await loadFixture(fixture);
      const { a, b, request } = await equivocation(world);
      const other = scores([0.9, 0.05, 0.05]);
      const pairs = [
        [a, b],
        [b, a],
        [a, a],
        [a, await signedProof(world, request, { timestamp: 1_800_000_000 })],
        [a, await signedProof(world, request, { outputs: other, runtime: { ...RUNTIME_OTHER } })],
        [
          a,
          await signedProof(world, request, {
            outputs: other,
            inputs: [encodeTensor("x", "float32", [1, 4], Float32Array.from([0, 0, 0, 0]))],
          }),
        ],
        [a, await signedProof(world, request, { outputs: other }, world.node2)],
        [a, { ...b, signature: (await signedProof(world, request, { outputs: other }, world.node2)).signature }],
      ] as const;
      const domain = { chainId: world.domain.chainId, proofRegistry: world.domain.proofRegistry };
      for (const [i, [x, y]] of pairs.entries()) {
        const accepted = checkEquivocation(x, y, domain).equivocation;
        const slashes = await world.requests.slashEquivocation
          .staticCall(proofStruct(x), x.signature, proofStruct(y), y.signature)
          .then(
            () => true,
            () => false,
          );
        expect(slashes, `pair ${i}`).to.equal(accepted);
      }
      expect(checkEquivocation(a, b, domain).equivocation).to.equal(true);
    });

    it("needs both proofs signed by their node, and by the same node", async function () {
      const world = await loadFixture(fixture);
      const { a, b, request } = await equivocation(world);
      const byNode2 = await signedProof(world, request, { outputs: scores([0.9, 0.05, 0.05]) }, world.node2);
      await expect(
        world.requests.slashEquivocation(proofStruct(a), a.signature, proofStruct(byNode2), byNode2.signature),
      )
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsDifferentNodes")
        .withArgs(world.node.address, world.node2.address);
      await expect(world.requests.slashEquivocation(proofStruct(a), a.signature, proofStruct(b), byNode2.signature))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsSignerNotNode")
        .withArgs(proofCommitment(b), (signer: string) => signer !== world.node.address, world.node.address);
    });

    it("cannot slash a node twice, and a slashed node can neither fulfil nor bond again", async function () {
      const world = await loadFixture(fixture);
      const { a, b } = await equivocation(world);
      const pending = await pendingWithProof(world);
      await (await world.requests.slashEquivocation(proofStruct(a), a.signature, proofStruct(b), b.signature)).wait();
      const slashedAt = await time.latest();
      await expect(world.requests.slashEquivocation(proofStruct(a), a.signature, proofStruct(b), b.signature))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNoBond")
        .withArgs(world.node.address);
      await expect(world.requests.fulfil(...fulfilArgs(pending.key, pending.proof)))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsInsufficientBond")
        .withArgs(world.node.address, 0n, MIN_BOND);
      await expect(world.requests.connect(world.node).postBond({ value: MIN_BOND }))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNodeSlashed")
        .withArgs(world.node.address, slashedAt);
    });

    it("forfeits the slashed node's fees still in their window to their requesters, and keeps the ones it earned", async function () {
      const world = await loadFixture(fixture);
      const earned = await fulfilled(world);
      await time.increaseTo(earned.fulfilledAt + CHALLENGE_WINDOW);
      const forfeited = await fulfilled(world);
      const { a, b } = await equivocation(world);
      await (await world.requests.slashEquivocation(proofStruct(a), a.signature, proofStruct(b), b.signature)).wait();
      const slashedAt = await time.latest();
      await time.increase(CHALLENGE_WINDOW);
      await expect(world.requests.connect(world.node).claimFees([forfeited.requestId]))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsFeeForfeited")
        .withArgs(forfeited.requestId, slashedAt);
      await expect(world.consumer.refund(forfeited.requestId))
        .to.emit(world.requests, "InferenceRefunded")
        .withArgs(forfeited.requestId, await world.consumer.getAddress(), FEE);
      await expect(world.consumer.refund(earned.requestId))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsNotRefundable")
        .withArgs(earned.requestId, Status.Fulfilled);
      await expect(world.requests.connect(world.node).claimFees([earned.requestId])).to.changeEtherBalance(
        world.node,
        FEE,
      );
    });

    it("slashes a node that signed a proof for a request's id with another model version", async function () {
      const world = await loadFixture(fixture);
      const { requests, node, challenger } = world;
      const request = await requestVia(world);
      const wrong = await signedProof(world, request, {
        model: { version: 1, blobId: blobIdOf("model 1"), sha256: sha256Of("model 1") },
      });
      const reward = (2n * MIN_BOND * BigInt(CHALLENGER_SHARE_BPS)) / 10_000n;
      const tx = requests.connect(challenger).slashWrongModel(request.key, proofStruct(wrong), wrong.signature);
      await expect(tx)
        .to.emit(requests, "NodeSlashed")
        .withArgs(
          node.address,
          challenger.address,
          Fault.WrongModel,
          proofCommitment(wrong),
          request.requestId,
          2n * MIN_BOND,
          reward,
        );
      await expect(tx).to.changeEtherBalance(challenger, reward);
    });

    it("slashes a node that signed a proof for a request's id naming another model registry", async function () {
      const world = await loadFixture(fixture);
      const request = await requestVia(world);
      const proof = await signedProof(world, request);
      const struct = { ...proofStruct(proof), modelRegistry: world.other.address };
      const signature = signStruct(world, world.node, struct);
      await expect(world.requests.slashWrongModel(request.key, struct, signature))
        .to.emit(world.requests, "NodeSlashed")
        .withArgs(
          world.node.address,
          world.admin.address,
          Fault.WrongModel,
          () => true,
          request.requestId,
          2n * MIN_BOND,
          MIN_BOND,
        );
    });

    it("does not slash for the request's own model, a key that is not the proof's request, or no request", async function () {
      const world = await loadFixture(fixture);
      const { requests } = world;
      const request = await requestVia(world);
      const right = await signedProof(world, request);
      await expect(requests.slashWrongModel(request.key, proofStruct(right), right.signature))
        .to.be.revertedWithCustomError(requests, "InferenceRequestsSameModel")
        .withArgs(request.requestId, proofCommitment(right));
      const otherKey = { ...request.key, nonce: 7n };
      const otherId = await requests.requestIdOf(otherKey);
      await expect(requests.slashWrongModel(otherKey, proofStruct(right), right.signature))
        .to.be.revertedWithCustomError(requests, "InferenceRequestsRequestMismatch")
        .withArgs(request.requestId, otherId);
      const stray = await signedProof(world, { ...request, requestId: otherId }, { model: { version: 1 } });
      await expect(requests.slashWrongModel(otherKey, proofStruct(stray), stray.signature))
        .to.be.revertedWithCustomError(requests, "InferenceRequestsUnknownRequest")
        .withArgs(otherId);
    });

    it("does not slash on a wrong-model proof whose signature is not its node's", async function () {
      const world = await loadFixture(fixture);
      const request = await requestVia(world);
      const wrong = await signedProof(world, request, { model: { version: 1 } });
      const forged = await signedProof(world, request, { model: { version: 1 } }, world.node2);
      await expect(world.requests.slashWrongModel(request.key, proofStruct(wrong), forged.signature))
        .to.be.revertedWithCustomError(world.requests, "InferenceRequestsSignerNotNode")
        .withArgs(proofCommitment(wrong), (signer: string) => signer !== world.node.address, world.node.address);
    });
  });

  describe("storage layout", function () {
    const word = async (contract: string, slot: bigint) => toBigInt(await getStorageAt(contract, slot));
    const mapping = (keyType: string, key: unknown, slot: bigint) =>
      toBigInt(ethers.keccak256(AbiCoder.defaultAbiCoder().encode([keyType, "uint256"], [key, slot])));
    const bits = (value: bigint, offset: number, width: number) =>
      (value >> BigInt(offset)) & ((1n << BigInt(width)) - 1n);

    it("keeps _nonce at slot 0 and a request in two slots of _requests (slot 1), as its NatSpec says", async function () {
      const world = await loadFixture(fixture);
      const { requestId, fulfilledAt } = await fulfilled(world);
      const address = await world.requests.getAddress();
      expect(await word(address, 0n)).to.equal(2n);
      const base = mapping("bytes32", requestId, 1n);
      const first = await word(address, base);
      expect(bits(first, 0, 160)).to.equal(toBigInt(await world.consumer.getAddress()));
      expect(bits(first, 160, 96)).to.equal(FEE);
      const second = await word(address, base + 1n);
      expect(bits(second, 0, 160)).to.equal(toBigInt(world.node.address));
      expect(bits(second, 160, 40)).to.equal((await world.requests.getRequest(requestId)).deadline);
      expect(bits(second, 200, 40)).to.equal(BigInt(fulfilledAt));
      expect(bits(second, 240, 8)).to.equal(BigInt(Status.Fulfilled));
      expect(await word(address, base + 2n)).to.equal(0n);
    });

    it("keeps an undelivered output in _undelivered (slot 2) and a bond in one slot of _bonds (slot 3)", async function () {
      const world = await loadFixture(fixture);
      await (await world.consumer.setMode(Mode.Revert)).wait();
      const { requestId } = await fulfilled(world);
      const address = await world.requests.getAddress();
      // A long bytes value: its slot holds length * 2 + 1.
      const length = BigInt(ethers.dataLength(await world.requests.undeliveredOutput(requestId)));
      expect(await word(address, mapping("bytes32", requestId, 2n))).to.equal(length * 2n + 1n);
      await (await world.requests.connect(world.node).requestBondWithdrawal()).wait();
      const bond = await word(address, mapping("address", world.node.address, 3n));
      expect(bits(bond, 0, 96)).to.equal(2n * MIN_BOND);
      expect(bits(bond, 96, 40)).to.equal((await world.requests.getBond(world.node.address)).unlockAt);
      expect(bits(bond, 136, 40)).to.equal(0n);
      expect(await word(address, mapping("address", world.node.address, 3n) + 1n)).to.equal(0n);
    });
  });

  describe("reads", function () {
    it("reads an unknown request as all zero and its undelivered output as empty", async function () {
      const { requests } = await loadFixture(fixture);
      expect(fieldsOf(await requests.getRequest(blobIdOf("none")))).to.deep.equal({
        requester: ZeroAddress,
        fee: 0n,
        node: ZeroAddress,
        deadline: 0n,
        fulfilledAt: 0n,
        status: BigInt(Status.None),
      });
      expect(await requests.undeliveredOutput(blobIdOf("none"))).to.equal("0x");
    });
  });
});

const RUNTIME_OTHER = {
  engine: "onnxruntime-node",
  version: "1.20.1",
  graphOptimizationLevel: "all",
  executionMode: "sequential",
  intraOpNumThreads: 1,
} as const;
