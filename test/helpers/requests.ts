/**
 * The InferenceRequests world for tests: the wired registries, a model with two versions, an admitted and bonded node
 * whose key is an ethers Wallet (so proofs are signed by core's `signProof`, never by hand), the requests contract and
 * a test consumer; plus helpers that request, build and sign the fulfilling proof with `@strata/core`, and fulfil.
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import {
  keccak256,
  toUtf8Bytes,
  TypedDataEncoder,
  Wallet,
  type ContractTransactionResponse,
  type Signer,
} from "ethers";
import {
  buildProof,
  encodeTensor,
  makeTensorSet,
  proofTypedData,
  signProof,
  type InferenceProofV1,
  type ModelId,
  type BlobIdHex,
  type RuntimeV1,
  type Tensor,
} from "@strata/core";
import {
  InferenceRequests__factory,
  TestConsumer__factory,
  type InferenceRequests,
  type TestConsumer,
} from "@strata/contracts/typechain";
import { deployWiredRegistries } from "./deploy";
import { encodeTensors, proofStruct, type ProofStruct } from "./inference";
import { blobIdOf, sha256Of } from "./values";

export const ETH = 10n ** 18n;
export const MIN_BOND = ETH;
export const CHALLENGE_WINDOW = 3600;
export const WITHDRAWAL_DELAY = 7200;
export const CHALLENGER_SHARE_BPS = 5000;
export const MAX_CALLBACK_GAS_LIMIT = 500_000;
export const MAX_INPUT_BYTES = 2048;
export const MAX_OUTPUT_BYTES = 1024;
export const FEE = ETH / 100n;
export const CALLBACK_GAS_LIMIT = 200_000;

/** The status and callback enums of IInferenceRequests. */
export const Status = { None: 0, Pending: 1, Fulfilled: 2, Refunded: 3, Claimed: 4 } as const;
export const Callback = { None: 0, Delivered: 1, Failed: 2 } as const;
export const Fault = { Equivocation: 0, WrongModel: 1 } as const;
export const Mode = { Record: 0, Revert: 1, BurnGas: 2, Reenter: 3, Noop: 4, RevertHuge: 5 } as const;

/** A request's key as the contract takes it. */
export interface RequestKey {
  nonce: bigint;
  modelId: string;
  modelVersion: bigint;
  modelBlobId: string;
  modelSha256: string;
  inputHash: string;
  callbackGasLimit: bigint;
}

export const RUNTIME: RuntimeV1 = {
  engine: "onnxruntime-node",
  version: "1.20.1",
  graphOptimizationLevel: "extended",
  executionMode: "sequential",
  intraOpNumThreads: 1,
};

/** The classifier's input: one float32 tensor `x` of shape [1, 4]. */
export const INPUTS: Tensor[] = [encodeTensor("x", "float32", [1, 4], Float32Array.from([1, 2, 3, 4]))];

/** Scores `y` (float32 [1, n]) as the classifier's output. */
export function scores(values: number[], name = "y"): Tensor[] {
  return [encodeTensor(name, "float32", [1, values.length], Float32Array.from(values))];
}

/** The config the tests deploy with, over `modelRegistry` and `proofRegistry`. */
export function testConfig(modelRegistry: string, proofRegistry: string) {
  return {
    modelRegistry,
    proofRegistry,
    minBond: MIN_BOND,
    challengeWindow: CHALLENGE_WINDOW,
    withdrawalDelay: WITHDRAWAL_DELAY,
    challengerShareBps: CHALLENGER_SHARE_BPS,
    maxCallbackGasLimit: MAX_CALLBACK_GAS_LIMIT,
    maxInputBytes: MAX_INPUT_BYTES,
    maxOutputBytes: MAX_OUTPUT_BYTES,
  };
}

/** A funded Wallet derived from `label` (deterministic), connected to the Hardhat network. */
export async function fundedWallet(funder: Signer, label: string): Promise<Wallet> {
  const wallet = new Wallet(keccak256(toUtf8Bytes(`wallet:${label}`)), ethers.provider);
  await (await funder.sendTransaction({ to: wallet.address, value: 100n * ETH })).wait();
  return wallet;
}

/** The world: registries, model `classifier` (versions 0 and 1), node (admitted, bonded), requests, consumer. */
export async function requestsFixture() {
  const [admin, owner, requester, challenger, other] = await ethers.getSigners();
  const registries = await deployWiredRegistries(admin);
  const { modelRegistry, nodeRegistry, proofRegistry } = registries;

  await (await modelRegistry.connect(owner).createModel("classifier", blobIdOf("metadata"))).wait();
  const modelId = await modelRegistry.modelIdOf(owner.address, "classifier");
  for (const v of [0, 1]) {
    await (
      await modelRegistry
        .connect(owner)
        .publishVersion(modelId, blobIdOf(`model ${v}`), sha256Of(`model ${v}`), 1000n, 90)
    ).wait();
  }

  const node = await fundedWallet(admin, "node");
  const node2 = await fundedWallet(admin, "node 2");
  await (await nodeRegistry.admitNode(node.address, "https://node.strata.example")).wait();
  await (await nodeRegistry.admitNode(node2.address, "https://node-2.strata.example")).wait();

  const requests = await new InferenceRequests__factory(admin).deploy(
    testConfig(await modelRegistry.getAddress(), await proofRegistry.getAddress()),
  );
  await requests.waitForDeployment();
  await (await requests.connect(node).postBond({ value: 2n * MIN_BOND })).wait();
  await (await requests.connect(node2).postBond({ value: 2n * MIN_BOND })).wait();

  const consumer = await new TestConsumer__factory(requester).deploy(await requests.getAddress());
  await consumer.waitForDeployment();
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  const domain = {
    chainId,
    proofRegistry: await proofRegistry.getAddress(),
    modelRegistry: await modelRegistry.getAddress(),
  };
  return {
    admin,
    owner,
    requester,
    challenger,
    other,
    node,
    node2,
    modelRegistry,
    nodeRegistry,
    proofRegistry,
    requests,
    consumer,
    modelId: modelId as ModelId,
    domain,
  };
}

export type World = Awaited<ReturnType<typeof requestsFixture>>;

/** A deadline `seconds` after the latest block. */
export async function deadlineIn(seconds = 600): Promise<number> {
  return (await time.latest()) + seconds;
}

/** The request id and key of the InferenceRequested event of `tx`. */
export async function requestedBy(
  requests: InferenceRequests,
  tx: Promise<ContractTransactionResponse>,
): Promise<{ requestId: string; key: RequestKey; gasUsed: bigint }> {
  const receipt = (await (await tx).wait())!;
  for (const log of receipt.logs) {
    const parsed = requests.interface.parseLog(log);
    if (parsed?.name === "InferenceRequested") {
      const k = parsed.args.key;
      return {
        requestId: parsed.args.requestId,
        key: {
          nonce: k.nonce,
          modelId: k.modelId,
          modelVersion: k.modelVersion,
          modelBlobId: k.modelBlobId,
          modelSha256: k.modelSha256,
          inputHash: k.inputHash,
          callbackGasLimit: k.callbackGasLimit,
        },
        gasUsed: receipt.gasUsed,
      };
    }
  }
  throw new Error("no InferenceRequested event");
}

/** Options of a request made through the test consumer. */
export interface RequestOptions {
  modelVersion?: number | bigint;
  callbackGasLimit?: number;
  deadline?: number;
  fee?: bigint;
  inputs?: Tensor[];
  inline?: boolean;
}

/** A request by the test consumer for `inputs` (by default INPUTS, as a blob), returning its id and key. */
export async function requestVia(world: World, options: RequestOptions = {}) {
  const { consumer, requests, modelId } = world;
  const inputs = options.inputs ?? INPUTS;
  const modelVersion = options.modelVersion ?? 0;
  const gasLimit = options.callbackGasLimit ?? CALLBACK_GAS_LIMIT;
  const deadline = options.deadline ?? (await deadlineIn());
  const value = options.fee ?? FEE;
  const tx = options.inline
    ? consumer.requestInline(modelId, modelVersion, encodeTensors(inputs), gasLimit, deadline, { value })
    : consumer.request(modelId, modelVersion, blobIdOf("input"), makeTensorSet(inputs).hash, gasLimit, deadline, {
        value,
      });
  return { ...(await requestedBy(requests, tx)), inputs, deadline };
}

/** Changes to a fulfilling proof (before signing). */
export interface ProofOptions {
  outputs?: Tensor[];
  inputs?: Tensor[];
  model?: { id?: string; version?: number; blobId?: string; sha256?: string };
  runtime?: RuntimeV1;
  node?: string;
  requestId?: string;
  timestamp?: number;
}

/** The proof of `key` / `requestId`, built and signed by core with `signer` (the node's Wallet by default). */
export async function signedProof(
  world: World,
  request: { requestId: string; key: RequestKey; inputs: Tensor[] },
  options: ProofOptions = {},
  signer: Wallet = world.node,
): Promise<InferenceProofV1> {
  const { key } = request;
  const unsigned = buildProof({
    domain: world.domain,
    model: {
      id: (options.model?.id ?? key.modelId) as ModelId,
      version: options.model?.version ?? Number(key.modelVersion),
      blobId: (options.model?.blobId ?? key.modelBlobId) as BlobIdHex,
      sha256: options.model?.sha256 ?? key.modelSha256,
    },
    inputs: options.inputs ?? request.inputs,
    outputs: options.outputs ?? scores([0.1, 0.7, 0.2]),
    runtime: options.runtime ?? RUNTIME,
    node: options.node ?? signer.address,
    timestamp: options.timestamp ?? 1_750_000_000,
    requestId: options.requestId ?? request.requestId,
  });
  return signProof(unsigned, signer);
}

/** The 65-byte signature by `wallet` of an arbitrary proof struct (for messages core would not build, e.g. v2). */
export function signStruct(world: World, wallet: Wallet, struct: ProofStruct): string {
  const { domain, types } = proofTypedDataDomain(world);
  return wallet.signingKey.sign(TypedDataEncoder.hash(domain, types, struct)).serialized;
}

function proofTypedDataDomain(world: World) {
  // The domain and types of any proof of this world (they do not depend on the document's contents).
  const doc = buildProof({
    domain: world.domain,
    model: { id: world.modelId, version: 0, blobId: blobIdOf("x") as BlobIdHex, sha256: sha256Of("x") },
    inputs: INPUTS,
    outputs: INPUTS,
    runtime: RUNTIME,
    node: world.node.address,
  });
  return proofTypedData(doc);
}

/** The arguments of `fulfil` for a signed proof of `key`. */
export function fulfilArgs(key: RequestKey, proof: InferenceProofV1) {
  return [
    key.nonce,
    key.callbackGasLimit,
    proofStruct(proof),
    encodeTensors(proof.output.tensors),
    proof.signature,
  ] as const;
}

export type { InferenceRequests, TestConsumer };
