/**
 * The state scripts/test-fork.ts seeds on the `hardhat node` before Fork.test.ts forks it, and the seed file that
 * records it beside the deployment file (`<deployment>.seed.json`). Every value derives from a fixed label, so the
 * same seed gives the same commitments, tree and root on every run.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Signer } from "ethers";
import type { Registries } from "@strata/contracts";
import { blobIdOf, commitmentOf, sha256Of } from "../../helpers/values";

/** What was seeded, with the accounts that did it and the block to fork at. */
export interface ForkSeed {
  /** The block after the last seeding transaction: fork here. */
  block: number;
  accounts: { deployer: string; owner: string; node: string };
  model: {
    name: string;
    modelId: string;
    owner: string;
    metadataBlobId: string;
    version: { blobId: string; sha256: string; size: number; endEpoch: number };
  };
  node: { address: string; endpoint: string };
  proof: { commitment: string; blobId: string };
  batch: { root: string; blobId: string; commitments: string[] };
}

const MODEL_NAME = "fork-mnist-mlp";
const NODE_ENDPOINT = "http://127.0.0.1:31416";
const BATCH_SIZE = 8;
/** The Walrus end epoch (exclusive) the seeded proof and batch are anchored with. */
export const END_EPOCH = 60;

/** The commitments of the seeded batch, in leaf order. */
export function seededBatchCommitments(): string[] {
  return Array.from({ length: BATCH_SIZE }, (_, i) => commitmentOf(`fork:batch:${i}`));
}

/** The Merkle tree of a batch, as the node builds it (openzeppelin merkle-tree, leaf encoding `["bytes32"]`). */
export function batchTree(commitments: readonly string[]): StandardMerkleTree<[string]> {
  return StandardMerkleTree.of(
    commitments.map((commitment) => [commitment] as [string]),
    ["bytes32"],
  );
}

/** The seed file beside `deploymentFile` (`fork.json` -> `fork.seed.json`). */
export function seedPath(deploymentFile: string): string {
  return deploymentFile.replace(/(\.json)?$/, ".seed.json");
}

/**
 * Seeds the registries: `owner` creates a model and publishes version 0, `deployer` (the node admin) admits `node`,
 * and `node` anchors one proof and a batch of {@link seededBatchCommitments}.
 */
export async function seedRegistries(
  registries: Registries,
  signers: { deployer: Signer; owner: Signer; node: Signer },
): Promise<ForkSeed> {
  const { modelRegistry, nodeRegistry, proofRegistry } = registries;
  const [deployer, owner, node] = await Promise.all([
    signers.deployer.getAddress(),
    signers.owner.getAddress(),
    signers.node.getAddress(),
  ]);

  const metadataBlobId = blobIdOf("fork:metadata");
  const version = { blobId: blobIdOf("fork:v0"), sha256: sha256Of("fork model v0"), size: 1024, endEpoch: 60 };
  const models = modelRegistry.connect(signers.owner);
  await (await models.createModel(MODEL_NAME, metadataBlobId)).wait();
  const modelId = await modelRegistry.modelIdOf(owner, MODEL_NAME);
  await (await models.publishVersion(modelId, version.blobId, version.sha256, version.size, version.endEpoch)).wait();

  await (await nodeRegistry.connect(signers.deployer).admitNode(node, NODE_ENDPOINT)).wait();

  const proofs = proofRegistry.connect(signers.node);
  const proof = { commitment: commitmentOf("fork:proof"), blobId: blobIdOf("fork:proof-document") };
  await (await proofs.anchorProof(proof.commitment, proof.blobId, END_EPOCH)).wait();
  const commitments = seededBatchCommitments();
  const batch = { root: batchTree(commitments).root, blobId: blobIdOf("fork:batch-document"), commitments };
  const receipt = await (await proofs.anchorBatch(batch.root, batch.blobId, commitments.length, END_EPOCH)).wait();

  return {
    block: receipt!.blockNumber,
    accounts: { deployer, owner, node },
    model: { name: MODEL_NAME, modelId, owner, metadataBlobId, version },
    node: { address: node, endpoint: NODE_ENDPOINT },
    proof,
    batch,
  };
}

/** Writes a seed file atomically. */
export function writeSeed(path: string, seed: ForkSeed): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(seed, null, 2) + "\n");
  renameSync(tmp, path);
}

/** Reads a seed file written by {@link writeSeed}. */
export function readSeed(path: string): ForkSeed {
  const seed = JSON.parse(readFileSync(path, "utf8")) as Partial<ForkSeed>;
  if (typeof seed.block !== "number" || !seed.model || !seed.node || !seed.proof || !seed.batch || !seed.accounts) {
    throw new Error(`${path} is not a fork seed file: run npm run test:fork`);
  }
  return seed as ForkSeed;
}
