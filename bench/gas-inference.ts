/**
 * Gas of every InferenceRequests write (request, fulfil, claim, refund, bonds, slashes), measured on the in-process
 * Hardhat network with proofs built and signed by `@strata/core`. Part of {@link measureRegistries} (so the snapshot
 * test covers it) and printed by bench/gas.ts beside EAS `attest`.
 *
 * Every address here is deterministic: the registries and the requests contract are deployed by a wallet derived from
 * a label, at its nonce 0 (the measurement runs in a snapshot it reverts), and every actor is such a wallet; values, deadlines and proof timestamps are constants. So
 * the calldata (request ids, EIP-712 signatures) and the gas are the same on every run.
 */
import { ethers } from "hardhat";
import { Wallet, type ContractTransactionResponse, type Signer } from "ethers";
import {
  buildProof,
  encodeTensor,
  makeTensorSet,
  signProof,
  type BlobIdHex,
  type InferenceProofV1,
  type ModelId,
  type RuntimeV1,
  type Tensor,
} from "@strata/core";
import { deployRegistries } from "@strata/contracts";
import { InferenceRequests__factory, TestConsumer__factory } from "@strata/contracts/typechain";
import { encodeTensors, proofStruct } from "../test/helpers/inference";

/** A request's key, as the contract takes it. */
interface RequestKey {
  nonce: bigint;
  modelId: string;
  modelVersion: bigint;
  modelBlobId: string;
  modelSha256: string;
  inputHash: string;
  callbackGasLimit: bigint;
}

const word = (label: string): string => ethers.keccak256(ethers.toUtf8Bytes(label));
const ETH = 10n ** 18n;
/** Far enough ahead for any test run before the snapshot; a constant, so calldata is the same on every run. */
const DEADLINE = 4_000_000_000;
const CHALLENGE_WINDOW = 3600;
const WITHDRAWAL_DELAY = 7200;
/** The callback gas limit of the no-op consumer's request. */
export const NOOP_CALLBACK_GAS_LIMIT = 50_000;

const RUNTIME: RuntimeV1 = {
  engine: "onnxruntime-node",
  version: "1.20.1",
  graphOptimizationLevel: "extended",
  executionMode: "sequential",
  intraOpNumThreads: 1,
};
/** The classifier's input (one float32 [1, 4] tensor) and output (scores, float32 [1, 3]). */
const INPUTS: Tensor[] = [encodeTensor("x", "float32", [1, 4], Float32Array.from([1, 2, 3, 4]))];
const scores = (values: number[]): Tensor[] => [
  encodeTensor("y", "float32", [1, values.length], Float32Array.from(values)),
];

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("transaction was not mined");
  return Number(receipt.gasUsed);
}

async function wallet(funder: Signer, label: string): Promise<Wallet> {
  const w = new Wallet(word(`gas bench wallet: ${label}`), ethers.provider);
  await (await funder.sendTransaction({ to: w.address, value: 100n * ETH })).wait();
  return w;
}

async function advance(seconds: number): Promise<void> {
  await ethers.provider.send("evm_increaseTime", [seconds]);
  await ethers.provider.send("evm_mine", []);
}

/**
 * The gas of each InferenceRequests write, by operation name. Runs inside an EVM snapshot that it reverts, so the
 * chain (its clock, moved past the deadlines, and every nonce) is left as it was found.
 */
export async function measureInference(): Promise<Record<string, number>> {
  const snapshot: string = await ethers.provider.send("evm_snapshot", []);
  try {
    return await measure();
  } finally {
    await ethers.provider.send("evm_revert", [snapshot]);
  }
}

async function measure(): Promise<Record<string, number>> {
  const [funder] = await ethers.getSigners();
  const deployer = await wallet(funder, "deployer");
  if ((await ethers.provider.getTransactionCount(deployer.address)) !== 0) {
    throw new Error("the gas bench's deployer must be at nonce 0, for the same addresses (and calldata) on every run");
  }
  const [owner, requester, node, node2, node3, challenger] = await Promise.all(
    ["owner", "requester", "node", "node 2", "node 3", "challenger"].map((label) => wallet(funder, label)),
  );
  const { modelRegistry, nodeRegistry, proofRegistry } = await deployRegistries(deployer);
  await (await modelRegistry.connect(owner).createModel("classifier", word("metadata"))).wait();
  const modelId = (await modelRegistry.modelIdOf(owner.address, "classifier")) as ModelId;
  for (const v of [0, 1]) {
    await (
      await modelRegistry.connect(owner).publishVersion(modelId, word(`blob ${v}`), word(`sha ${v}`), 1000n, 60)
    ).wait();
  }
  for (const [n, i] of [
    [node, 1],
    [node2, 2],
    [node3, 3],
  ] as const) {
    await (await nodeRegistry.connect(deployer).admitNode(n.address, `https://node-${i}.strata.example`)).wait();
  }
  const requests = await new InferenceRequests__factory(deployer).deploy({
    modelRegistry: await modelRegistry.getAddress(),
    proofRegistry: await proofRegistry.getAddress(),
    minBond: ETH,
    challengeWindow: CHALLENGE_WINDOW,
    withdrawalDelay: WITHDRAWAL_DELAY,
    challengerShareBps: 5000,
    maxCallbackGasLimit: 500_000,
    maxInputBytes: 2048,
    maxOutputBytes: 1024,
  });
  await requests.waitForDeployment();
  const consumer = await new TestConsumer__factory(requester).deploy(await requests.getAddress());
  await consumer.waitForDeployment();
  await (await consumer.setMode(4 /* Noop */)).wait();
  const domain = {
    chainId: Number((await ethers.provider.getNetwork()).chainId),
    proofRegistry: await proofRegistry.getAddress(),
    modelRegistry: await modelRegistry.getAddress(),
  };

  const gas: Record<string, number> = {};
  const asRequester = requests.connect(requester);
  const inputHash = makeTensorSet(INPUTS).hash;
  const fee = ETH / 100n;

  gas["InferenceRequests.postBond"] = await gasOf(requests.connect(node).postBond({ value: 2n * ETH }));
  await (await requests.connect(node2).postBond({ value: 2n * ETH })).wait();
  await (await requests.connect(node3).postBond({ value: 2n * ETH })).wait();

  /** The key of the request `tx` made. */
  const keyOf = async (tx: Promise<ContractTransactionResponse>) => {
    const receipt = (await (await tx).wait())!;
    for (const log of receipt.logs) {
      const parsed = requests.interface.parseLog(log);
      if (parsed?.name === "InferenceRequested") {
        const key = parsed.args.key.toObject() as RequestKey;
        return { requestId: parsed.args.requestId as string, key, gas: Number(receipt.gasUsed) };
      }
    }
    throw new Error("no InferenceRequested event");
  };
  const proofFor = (
    request: { requestId: string; key: { modelVersion: bigint; modelBlobId: string; modelSha256: string } },
    signer: Wallet,
    outputs = scores([0.1, 0.7, 0.2]),
    modelVersion = Number(request.key.modelVersion),
  ): Promise<InferenceProofV1> =>
    signProof(
      buildProof({
        domain,
        model: {
          id: modelId,
          version: modelVersion,
          blobId: (modelVersion === Number(request.key.modelVersion)
            ? request.key.modelBlobId
            : word(`blob ${modelVersion}`)) as BlobIdHex,
          sha256:
            modelVersion === Number(request.key.modelVersion) ? request.key.modelSha256 : word(`sha ${modelVersion}`),
        },
        inputs: INPUTS,
        outputs,
        runtime: RUNTIME,
        node: signer.address,
        timestamp: 1_750_000_000,
        requestId: request.requestId,
      }),
      signer,
    );
  const fulfil = (request: { key: { nonce: bigint; callbackGasLimit: bigint } }, proof: InferenceProofV1) =>
    requests
      .connect(node)
      .fulfil(
        request.key.nonce,
        request.key.callbackGasLimit,
        proofStruct(proof),
        encodeTensors(proof.output.tensors),
        proof.signature,
      );

  // Requests: a Walrus input (by an account, no callback: as EAS attest is called), LATEST, an inline input.
  const walrus = await keyOf(
    asRequester.requestInference(modelId, 0, word("input blob"), inputHash, 0, DEADLINE, { value: fee }),
  );
  gas["InferenceRequests.requestInference (Walrus input)"] = walrus.gas;
  const latest = await keyOf(
    asRequester.requestInference(modelId, await requests.LATEST(), word("input blob 2"), inputHash, 0, DEADLINE, {
      value: fee,
    }),
  );
  gas["InferenceRequests.requestInference (LATEST)"] = latest.gas;
  const inline = await keyOf(
    asRequester.requestInferenceInline(modelId, 0, encodeTensors(INPUTS), 0, DEADLINE, { value: fee }),
  );
  gas["InferenceRequests.requestInferenceInline (float32 [1,4])"] = inline.gas;
  const viaConsumer = await keyOf(
    consumer.request(modelId, 0, word("input blob 3"), inputHash, NOOP_CALLBACK_GAS_LIMIT, DEADLINE, { value: fee }),
  );

  // Fulfilments: without a callback (gas limit 0), and with a no-op consumer's callback.
  gas["InferenceRequests.fulfil (no callback)"] = await gasOf(fulfil(walrus, await proofFor(walrus, node)));
  gas["InferenceRequests.fulfil (no-op consumer callback)"] = await gasOf(
    fulfil(viaConsumer, await proofFor(viaConsumer, node)),
  );
  await (await fulfil(inline, await proofFor(inline, node))).wait();

  await advance(CHALLENGE_WINDOW);
  gas["InferenceRequests.claimFees (1 request)"] = await gasOf(requests.connect(node).claimFees([walrus.requestId]));
  gas["InferenceRequests.claimFees (2 requests)"] = await gasOf(
    requests.connect(node).claimFees([viaConsumer.requestId, inline.requestId]),
  );

  gas["InferenceRequests.requestBondWithdrawal"] = await gasOf(requests.connect(node3).requestBondWithdrawal());
  await advance(WITHDRAWAL_DELAY);
  gas["InferenceRequests.withdrawBond"] = await gasOf(requests.connect(node3).withdrawBond());

  // Faults: node signs two outputs for the same model, input and runtime; node 2 signs for another model version.
  const a = await proofFor(latest, node, scores([0.1, 0.7, 0.2]));
  const b = await proofFor(latest, node, scores([0.8, 0.1, 0.1]));
  gas["InferenceRequests.slashEquivocation"] = await gasOf(
    requests.connect(challenger).slashEquivocation(proofStruct(a), a.signature, proofStruct(b), b.signature),
  );
  const wrong = await proofFor(latest, node2, scores([0.1, 0.7, 0.2]), 0);
  gas["InferenceRequests.slashWrongModel"] = await gasOf(
    requests.connect(challenger).slashWrongModel(latest.key, proofStruct(wrong), wrong.signature),
  );

  // An expired request refunded (last: it moves the clock past every deadline above).
  const expiring = await keyOf(
    asRequester.requestInference(modelId, 0, word("input blob 4"), inputHash, 0, DEADLINE, { value: fee }),
  );
  await ethers.provider.send("evm_setNextBlockTimestamp", [DEADLINE + 1]);
  gas["InferenceRequests.refund"] = await gasOf(asRequester.refund(expiring.requestId));
  return gas;
}
