import { ethers } from "hardhat";
import { deployAndDescribe } from "@strata/contracts";
import {
  blobIdFromBytes32,
  connect,
  encodeTensor,
  buildProof,
  toBatchRoot,
  toBlobIdHex,
  toCommitment,
  toModelId,
  type BatchRoot,
  type BlobId,
  type Commitment,
  type ModelId,
  type ProofParams,
  type RuntimeV1,
  type StrataClient,
} from "../src";

/** Shared fixtures of the core tests: the registries deployed and wired on the in-process Hardhat network. */
export async function deployFixture() {
  const [admin, owner, other, node, node2] = await ethers.getSigners();
  const { registries, deployment } = await deployAndDescribe(admin, "hardhat");
  const client: StrataClient = connect(deployment, admin);
  return { admin, owner, other, node, node2, registries, deployment, client };
}

/** A deterministic bytes32 for test values. */
export function b32(label: string): string {
  return ethers.id(label);
}

/** A deterministic Walrus Blob ID for test values: the Blob ID whose 32 bytes are {@link b32} of `label`. */
export function blob(label: string): BlobId {
  return blobIdFromBytes32(b32(label));
}

/** {@link b32} of `label` as a proof commitment. */
export function commitment(label: string): Commitment {
  return toCommitment(b32(label));
}

/** {@link b32} of `label` as a batch root. */
export function root(label: string): BatchRoot {
  return toBatchRoot(b32(label));
}

/** {@link b32} of `label` as a model id. */
export function modelId(label: string): ModelId {
  return toModelId(b32(label));
}

export const RUNTIME: RuntimeV1 = {
  engine: "onnxruntime-node",
  version: "1.30.0",
  graphOptimizationLevel: "all",
  executionMode: "sequential",
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionProviders: ["cpu"],
};

/** Proof parameters for a tiny MLP-like inference, bound to `client`'s deployment, for `node`. */
export function proofParams(client: StrataClient, node: string, overrides: Partial<ProofParams> = {}): ProofParams {
  return {
    domain: client.proofDomain,
    model: { id: modelId("model"), version: 0, blobId: toBlobIdHex(b32("model blob")), sha256: b32("model sha256") },
    inputs: [encodeTensor("input", "float32", [1, 4], new Float32Array([0.5, -1.25, 3, 7.75]))],
    outputs: [
      encodeTensor("logits", "float32", [1, 3], new Float32Array([0.1, 0.7, 0.2])),
      encodeTensor("label", "int64", [1], new BigInt64Array([1n])),
    ],
    runtime: RUNTIME,
    node,
    timestamp: 1_750_000_000,
    requestId: b32("request"),
    ...overrides,
  };
}

export { buildProof };

/** The error `promise` rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`, { cause: error });
  }
  throw new Error("expected a rejection, but the promise resolved");
}
