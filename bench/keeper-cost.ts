/**
 * `npx tsx bench/keeper-cost.ts`: what the storage keeper buys, under its default policy (E = 5, R = 26, W = 2), in
 * Walrus storage units (1 MiB of encoded length, per epoch): per blob-year for a model version, and per proof.
 *
 * Encoded lengths are Walrus's (`encodedBlobLength`, the local store's `storageSize`, at 1000 shards) and quilt sizes
 * Walrus's exact quilt layout (`quiltSize`; the node's quilts: at most 665 proofs, at most the publisher's 10 MiB); a proof is a real signed v2 proof of the test MLP (4 -> [8] -> 2). The
 * FROST figures are measured, not assumed: the local store (testnet prices) answers the extensions the keeper makes
 * (store again with more epochs: `reuseAndExtend`, whose `cost` is what the added epochs cost).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { randomFillSync } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { id, Wallet } from "ethers";
import {
  buildProof,
  encodeBinaryTensor,
  encodeProof,
  ProofVersion,
  signProofWithCommitment,
  toBlobIdHex,
  toModelId,
} from "@strata/core";
import { NODE_RUNTIME } from "@strata/node";
import { DEFAULT_POLICY } from "@strata/keeper";
import {
  closeDefaultEncoderPool,
  encodedBlobLength,
  quiltSize,
  startLocalWalrus,
  WALRUS_MAINNET_EPOCHS,
  WALRUS_TESTNET_EPOCHS,
  WalrusClient,
} from "@strata/walrus";

const MiB = 1024 * 1024;
const SHARDS = 1000;
const UNIT = MiB;
const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

const units = (bytes: number) => Math.ceil(bytes / UNIT);

async function realProofBytes(): Promise<number> {
  const wallet = Wallet.createRandom();
  const unsigned = buildProof(
    {
      domain: { chainId: 1, proofRegistry: wallet.address, modelRegistry: wallet.address },
      model: { id: toModelId(id("model")), version: 0, blobId: toBlobIdHex(id("blob")), sha256: id("sha") },
      inputs: [encodeBinaryTensor("x", "float32", [1, 4], new Float32Array([1, 2, 3, 4]))],
      outputs: [encodeBinaryTensor("y", "float32", [1, 2], new Float32Array([0.5, -0.5]))],
      runtime: NODE_RUNTIME,
      node: wallet.address,
      timestamp: 1_760_000_000,
      requestId: id("request"),
    },
    { version: ProofVersion.V2 },
  );
  const { proof } = await signProofWithCommitment(unsigned, wallet);
  return encodeProof(proof).byteLength;
}

/** A quilt of `n` proofs of `proofBytes` each, with its index patch (about 32 bytes a proof), as the node seals it. */
function proofQuiltBytes(n: number, proofBytes: number): number {
  const patches = Array.from({ length: n }, (_, i) => ({
    identifier: `0x${i.toString(16).padStart(64, "0")}`,
    size: proofBytes,
  }));
  patches.push({ identifier: "strata-index", size: 64 + 32 * n });
  return quiltSize(patches, { nShards: SHARDS });
}

async function main(): Promise<void> {
  const policy = DEFAULT_POLICY;
  const mainnetPerYear = YEAR_MS / WALRUS_MAINNET_EPOCHS.epochMs;
  const testnetPerYear = YEAR_MS / WALRUS_TESTNET_EPOCHS.epochMs;

  // The price of an added epoch, measured: a 48 MiB model stored for 5 epochs, then extended as the keeper does.
  const dir = await mkdtemp(path.join(tmpdir(), "strata-keeper-cost-"));
  const store = await startLocalWalrus({ dir, port: 0, shards: SHARDS });
  let frostPerUnitEpoch: number;
  try {
    const walrus = new WalrusClient({ publisherUrl: store.url, aggregatorUrls: [store.url], shards: SHARDS });
    const model = randomFillSync(new Uint8Array(48 * MiB));
    const first = await walrus.store(model, { epochs: 5 });
    const renewal = await walrus.store(model, { epochs: 2 * policy.modelAhead });
    const op = renewal.resourceOperation;
    if (!op || !("reuseAndExtend" in op) || renewal.cost === undefined) {
      throw new Error(`the renewal was not an extension in place: ${JSON.stringify(renewal.response)}`);
    }
    const extended = op.reuseAndExtend.epochsExtended;
    frostPerUnitEpoch = renewal.cost / (units(encodedBlobLength(model.byteLength, SHARDS)) * extended);
    console.log(
      `48 MiB model: stored until epoch ${first.endEpoch} (cost ${first.cost} FROST), renewed to ${renewal.endEpoch} ` +
        `(reuseAndExtend, ${extended} epochs, ${renewal.cost} FROST): ${frostPerUnitEpoch} FROST per unit-epoch`,
    );
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
    await closeDefaultEncoderPool();
  }

  const proofBytes = await realProofBytes();
  const rows: string[][] = [];
  const row = (what: string, bytes: number, per: number, epochsPerYear: number, network: string) => {
    const encoded = encodedBlobLength(bytes, SHARDS);
    const u = units(encoded);
    const unitEpochs = (u * epochsPerYear) / per;
    rows.push([
      what,
      network,
      `${(bytes / MiB).toFixed(bytes < MiB ? 3 : 1)} MiB`,
      `${(encoded / MiB).toFixed(1)} MiB`,
      `${u}`,
      `${epochsPerYear.toFixed(2)}`,
      unitEpochs < 10 ? unitEpochs.toFixed(3) : unitEpochs.toFixed(0),
      `${Math.round(unitEpochs * frostPerUnitEpoch)}`,
    ]);
  };
  // A model version kept the whole year: every epoch of it is bought once (extensions in place never buy twice).
  row("model version, 48 MiB (per blob-year)", 48 * MiB, 1, mainnetPerYear, "mainnet");
  row("model version, 48 MiB (per blob-year)", 48 * MiB, 1, testnetPerYear, "testnet");
  // A proof is kept R epochs after anchoring: the node buys 5 at anchoring, the keeper the remaining R - 5.
  const keeperEpochs = policy.retention - 5;
  // The node seals at most 665 proofs per quilt and no quilt above the publisher's 10 MiB body cap.
  let full = 665;
  while (full > 1 && proofQuiltBytes(full, proofBytes) > 10 * MiB) full--;
  for (const n of [full, 50]) {
    const bytes = proofQuiltBytes(n, proofBytes);
    row(`proof, quilt of ${n} (R = ${policy.retention}, keeper buys ${keeperEpochs})`, bytes, n, keeperEpochs, "any");
    row(`proof, quilt of ${n} (per proof-year)`, bytes, n, mainnetPerYear, "mainnet");
  }
  const header = [
    "what",
    "network",
    "size",
    "encoded",
    "units",
    "epochs",
    "unit-epochs",
    `FROST (${frostPerUnitEpoch}/unit-epoch)`,
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(`\nproof: a signed v2 proof of the test MLP, ${proofBytes} bytes; 1000 shards; unit = 1 MiB encoded`);
  console.log(line(header));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(r));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
