/**
 * `npm run demo`: the registries end to end on the in-process Hardhat network, with no accounts or keys to create.
 * Deploys and wires the three registries, creates a model and publishes a version (Blob ID + sha256 + size + end
 * epoch), admits an inference node, anchors one proof and a batch of 1,000 proof commitments, then proves one
 * commitment's inclusion on-chain and shows a wrong one rejected. Prints gas and timings for each step.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { createHash, randomBytes } from "node:crypto";
import type { ContractTransactionResponse } from "ethers";
import { ethers } from "hardhat";
import { deployRegistries } from "@strata/contracts";

const hex = (bytes: Uint8Array) => ethers.hexlify(bytes);

async function step(title: string, send: () => Promise<ContractTransactionResponse>): Promise<void> {
  const started = performance.now();
  const receipt = await (await send()).wait();
  const ms = performance.now() - started;
  console.log(`  ${title.padEnd(52)} gas ${receipt!.gasUsed.toString().padStart(7)}  ${ms.toFixed(0).padStart(4)} ms`);
}

async function main(): Promise<void> {
  const [deployer, owner, node] = await ethers.getSigners();
  console.log("Strata demo on the in-process Hardhat network (chain 31337)\n");
  const { modelRegistry, nodeRegistry, proofRegistry } = await deployRegistries(deployer);
  console.log(`  ModelRegistry ${await modelRegistry.getAddress()}`);
  console.log(`  NodeRegistry  ${await nodeRegistry.getAddress()}`);
  console.log(`  ProofRegistry ${await proofRegistry.getAddress()}\n`);

  // A model file stands in here as random bytes; its Walrus Blob ID is a bytes32 (the raw 32 bytes of the ID).
  const file = randomBytes(1 << 20);
  const sha = "0x" + createHash("sha256").update(file).digest("hex");
  const blobId = hex(randomBytes(32));
  const metadataBlobId = hex(randomBytes(32));
  const models = modelRegistry.connect(owner);
  await step(`create model "mnist-mlp" by ${owner.address.slice(0, 10)}…`, () =>
    models.createModel("mnist-mlp", metadataBlobId),
  );
  const modelId = await modelRegistry.modelIdOf(owner.address, "mnist-mlp");
  await step(`publish version 0 (1 MiB, sha256 ${sha.slice(0, 10)}…)`, () =>
    models.publishVersion(modelId, blobId, sha, file.length, 60),
  );
  const [index, latest] = await modelRegistry.latestVersion(modelId);
  console.log(`  latest version ${index}: blob ${latest.blobId.slice(0, 18)}…, ends at epoch ${latest.endEpoch}`);

  await step(`admit node ${node.address.slice(0, 10)}…`, () =>
    nodeRegistry.admitNode(node.address, "http://127.0.0.1:31416"),
  );
  const proofs = proofRegistry.connect(node);
  await step("anchor one proof commitment", () => proofs.anchorProof(hex(randomBytes(32)), hex(randomBytes(32))));

  const commitments = Array.from({ length: 1000 }, () => [hex(randomBytes(32))]);
  const tree = StandardMerkleTree.of(commitments, ["bytes32"]);
  await step("anchor a batch of 1,000 proof commitments", () =>
    proofs.anchorBatch(tree.root, hex(randomBytes(32)), commitments.length),
  );
  const [i, [commitment]] = [...tree.entries()][417];
  const included = await proofRegistry.isIncluded(tree.root, commitment, tree.getProof(i));
  const forged = await proofRegistry.isIncluded(tree.root, hex(randomBytes(32)), tree.getProof(i));
  console.log(`\n  commitment #417 included under root ${tree.root.slice(0, 18)}…: ${included}`);
  console.log(`  a forged commitment with the same Merkle proof:              ${forged}`);
  if (!included || forged) throw new Error("inclusion check disagreed with the tree");
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
