/**
 * Gas of every registry write, measured on the in-process Hardhat network, beside the Ethereum Attestation Service
 * doing the same jobs. Shared by the benchmark (bench/gas.ts, which prints the table) and the snapshot test
 * (test/GasSnapshot.test.ts, which fails when a figure rises above snapshots/gas.json).
 *
 * Every value sent is derived from a label (keccak256), so calldata, and so gas, is the same on every run.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { ContractTransactionResponse } from "ethers";
import { ethers } from "hardhat";
import { deployRegistries } from "@strata/contracts";
import { measureInference } from "./gas-inference";

/** A word derived from `label`: deterministic, non-zero, realistic (mostly non-zero bytes) calldata. */
export const word = (label: string): string => ethers.keccak256(ethers.toUtf8Bytes(label));

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("transaction was not mined");
  return Number(receipt.gasUsed);
}

/** Batch sizes whose anchoring is measured: the gas is per batch; per proof divides by the size. */
export const BATCH_SIZES = [1, 100, 665, 1_000, 10_000] as const;

/** The proofs per quilt of a full quilt (666 patches at 1000 shards: 665 proofs and the batch's index patch). */
export const PROOFS_PER_QUILT = 665;

/**
 * The end epoch anchored (exclusive): a realistic Walrus epoch, one non-zero calldata byte as every mainnet epoch until
 * the 2030s (mainnet epochs are 14 days; epoch 1 started in March 2025).
 */
export const END_EPOCH = 60;

/** The end epoch a renewal records. */
export const RENEWED_EPOCH = 90;

/** Roots per renewal record measured (`extendBatches`, `announceBatchesExtended`): the gas per root divides by it. */
export const EXTENSION_SIZES = [1, 10, 100] as const;

/** Roots over several quilts whose anchoring is measured: [proofs, quilts]. */
export const QUILT_BATCHES = [
  [1_330, 2],
  [10_000, Math.ceil(10_000 / PROOFS_PER_QUILT)],
] as const;

/** The gas of each of our registry writes, by operation name, then of each InferenceRequests write (gas-inference.ts). */
export async function measureRegistries(): Promise<Record<string, number>> {
  const [deployer, owner, node, newOwner] = await ethers.getSigners();
  const { modelRegistry, nodeRegistry, proofRegistry } = await deployRegistries(deployer);
  const gas: Record<string, number> = {};

  const models = modelRegistry.connect(owner);
  gas["ModelRegistry.createModel"] = await gasOf(models.createModel("resnet-50-onnx", word("metadata")));
  const modelId = await modelRegistry.modelIdOf(owner.address, "resnet-50-onnx");
  // 100 MiB file, storage until epoch 60.
  gas["ModelRegistry.publishVersion"] = await gasOf(
    models.publishVersion(modelId, word("blob 0"), word("sha 0"), 104_857_600n, 60),
  );
  gas["ModelRegistry.publishVersion (next)"] = await gasOf(
    models.publishVersion(modelId, word("blob 1"), word("sha 1"), 104_857_600n, 60),
  );
  gas["ModelRegistry.extendVersion"] = await gasOf(models.extendVersion(modelId, 0, 90));
  gas["ModelRegistry.deprecateVersion"] = await gasOf(models.deprecateVersion(modelId, 0));
  gas["ModelRegistry.setMetadata"] = await gasOf(models.setMetadata(modelId, word("metadata 2")));
  gas["ModelRegistry.transferModel"] = await gasOf(models.transferModel(modelId, newOwner.address));
  gas["ModelRegistry.acceptModel"] = await gasOf(modelRegistry.connect(newOwner).acceptModel(modelId));

  gas["NodeRegistry.admitNode"] = await gasOf(nodeRegistry.admitNode(node.address, "https://node-1.strata.example"));
  gas["NodeRegistry.updateEndpoint"] = await gasOf(
    nodeRegistry.connect(node).updateEndpoint("https://node-1b.strata.example"),
  );

  const proofs = proofRegistry.connect(node);
  gas["ProofRegistry.anchorProof"] = await gasOf(proofs.anchorProof(word("proof 0"), word("proof blob 0"), END_EPOCH));
  for (const size of BATCH_SIZES) {
    const root = batchRoot(size);
    gas[`ProofRegistry.anchorBatch (${size})`] = await gasOf(
      proofs.anchorBatch(root, word(`batch blob ${size}`), size, END_EPOCH),
    );
    gas[`ProofRegistry.announceBatch (${size})`] = await gasOf(
      proofs.announceBatch(word(`announced ${size}`), word(`announced blob ${size}`), size, END_EPOCH),
    );
  }
  for (const [size, quilts] of QUILT_BATCHES) {
    const ids = Array.from({ length: quilts }, (_, k) => word(`quilt ${size}/${k}`));
    gas[`ProofRegistry.anchorQuilts (${quilts} quilts, ${size})`] = await gasOf(
      proofs.anchorQuilts(batchRoot(size, "quilted commitment"), ids, size, END_EPOCH),
    );
    gas[`ProofRegistry.announceQuilts (${quilts} quilts, ${size})`] = await gasOf(
      proofs.announceQuilts(word(`announced quilts ${size}`), ids, size, END_EPOCH),
    );
  }
  // Renewal records: one transaction for many roots (what the keeper sends), each root anchored beforehand.
  gas["ProofRegistry.extendProofs (1 commitments)"] = await gasOf(
    proofs.extendProofs([word("proof 0")], RENEWED_EPOCH),
  );
  for (const roots of EXTENSION_SIZES) {
    const anchored = Array.from({ length: roots }, (_, i) => word(`renewed root ${roots}/${i}`));
    for (const [i, root] of anchored.entries()) {
      await (await proofs.anchorBatch(root, word(`renewed blob ${roots}/${i}`), 665, END_EPOCH)).wait();
    }
    gas[`ProofRegistry.extendBatches (${roots} roots)`] = await gasOf(proofs.extendBatches(anchored, RENEWED_EPOCH));
    const announced = Array.from({ length: roots }, (_, i) => word(`renewed announced root ${roots}/${i}`));
    gas[`ProofRegistry.announceBatchesExtended (${roots} roots)`] = await gasOf(
      proofs.announceBatchesExtended(announced, RENEWED_EPOCH),
    );
  }
  gas["NodeRegistry.removeNode"] = await gasOf(nodeRegistry.removeNode(node.address));
  return { ...gas, ...(await measureInference()) };
}

/** The root of a real `@openzeppelin/merkle-tree` over `size` proof commitments. */
export function batchRoot(size: number, label = "commitment"): string {
  const leaves = Array.from({ length: size }, (_, i) => [word(`${label} ${size}/${i}`)]);
  return StandardMerkleTree.of(leaves, ["bytes32"]).root;
}

/** The gas of the Ethereum Attestation Service doing the same jobs (compiled from npm in the same build). */
export async function measureEas(): Promise<Record<string, number>> {
  const [deployer, attester] = await ethers.getSigners();
  const schemaRegistry = await (await ethers.getContractFactory("SchemaRegistry")).deploy();
  const eas = await (await ethers.getContractFactory("EAS")).deploy(await schemaRegistry.getAddress());
  const schema = "bytes32 blobId,bytes32 sha256,uint64 size";
  await (await schemaRegistry.connect(deployer).register(schema, ethers.ZeroAddress, true)).wait();
  const schemaUid = ethers.solidityPackedKeccak256(["string", "address", "bool"], [schema, ethers.ZeroAddress, true]);
  const data = (i: number) =>
    ethers.AbiCoder.defaultAbiCoder().encode(
      ["bytes32", "bytes32", "uint64"],
      [word(`blob ${i}`), word(`sha ${i}`), 104_857_600n],
    );
  const request = (i: number) => ({
    recipient: ethers.ZeroAddress,
    expirationTime: 0n,
    revocable: true,
    refUID: ethers.ZeroHash,
    data: data(i),
    value: 0n,
  });
  const gas: Record<string, number> = {};
  const easAttester = eas.connect(attester);
  gas["EAS.attest"] = await gasOf(easAttester.attest({ schema: schemaUid, data: request(0) }));
  gas["EAS.timestamp"] = await gasOf(easAttester.timestamp(word("proof 0")));
  const items = 10;
  const multi = await gasOf(
    easAttester.multiAttest([{ schema: schemaUid, data: Array.from({ length: items }, (_, i) => request(100 + i)) }]),
  );
  gas["EAS.multiAttest (per item of 10)"] = Math.round(multi / items);
  return gas;
}
