/**
 * `tsx bench/privacy.ts`: what the encrypted mode's envelope costs per proof, beside what a proof costs to build, in
 * one run. For 256 KiB of tensors (two of 128 KiB): `sealTensors` to a requester the node has sealed to before (and
 * the first seal to a new one), `openEnvelope` with the private key, `openWithContentKey`, keccak256 of the same
 * bytes, and `buildProof` + `signProof` of a public proof holding them. Every run interleaves the steps (so none runs
 * on a warmer heap than the others); the figures are medians. The target: encryption adds at most 10% to the
 * proof build. Not part of `npm run bench`.
 */
import { createCipheriv, diffieHellman, generateKeyPairSync, randomBytes as nodeRandomBytes } from "node:crypto";
import { Wallet } from "ethers";
import {
  buildProof,
  ciphertextHash,
  contentKeyOf,
  envelopeContext,
  generatePrivacyKey,
  openEnvelope,
  openWithContentKey,
  sealTensors,
  signProof,
  tensorFromBytes,
  toBlobIdHex,
  toModelId,
  type ProofParams,
} from "@strata/core";
import { fmt, median, timeMs } from "./lib/timing";

const SIZE = 256 * 1024;
const RUNS = 41;
const TARGET = 0.1;

async function main(): Promise<void> {
  const bytes = new Uint8Array(nodeRandomBytes(SIZE));
  const tensors = [
    { name: "input", bytes: bytes.subarray(0, SIZE / 2) },
    { name: "output", bytes: bytes.subarray(SIZE / 2) },
  ];
  const node = Wallet.createRandom();
  const params: ProofParams = {
    domain: {
      chainId: 31337,
      proofRegistry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      modelRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    },
    model: {
      id: toModelId(`0x${"11".repeat(32)}`),
      version: 0,
      blobId: toBlobIdHex(`0x${"22".repeat(32)}`),
      sha256: `0x${"33".repeat(32)}`,
    },
    inputs: [tensorFromBytes("input", "uint8", [SIZE / 2], tensors[0].bytes)],
    outputs: [tensorFromBytes("output", "uint8", [SIZE / 2], tensors[1].bytes)],
    runtime: {
      engine: "onnxruntime-node",
      version: "1.30.0",
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionProviders: ["cpu"],
    },
    node: node.address,
    timestamp: 1_750_000_000,
    requestId: `0x${"44".repeat(32)}`,
  };
  const aad = envelopeContext({ chainId: 31337, requestId: params.requestId ?? "" });

  // A fresh requester per run for the first seal (no precomputed point yet), keys made outside the timing.
  const fresh = Array.from({ length: RUNS + 3 }, () => generatePrivacyKey().publicKey);
  let next = 0;
  const requester = generatePrivacyKey();
  const x25519Recipient = generateKeyPairSync("x25519");
  const envelope = await sealTensors(tensors, requester.publicKey, { aad });
  const contentKey = contentKeyOf(envelope, requester.privateKey);
  const steps: Record<string, () => unknown> = {
    build: async () => signProof(buildProof(params), node),
    seal: () => sealTensors(tensors, requester.publicKey, { aad }),
    sealCold: () => sealTensors(tensors, fresh[next++], { aad }),
    sealEmpty: () => sealTensors(new Uint8Array(0), requester.publicKey, { aad }),
    // Reference only (not what the envelope uses): the same work on OpenSSL through node:crypto, an X25519 key
    // agreement and AES-256-GCM over the bytes, to show the floor of native primitives.
    openssl: () => {
      const ephemeral = generateKeyPairSync("x25519");
      const key = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: x25519Recipient.publicKey });
      const cipher = createCipheriv("aes-256-gcm", key, nodeRandomBytes(12));
      cipher.setAAD(aad);
      cipher.update(bytes);
      cipher.final();
      return cipher.getAuthTag();
    },
    open: () => openEnvelope(envelope, requester.privateKey, { aad }),
    openContent: () => openWithContentKey(envelope, contentKey, { aad }),
    // ciphertextHash is keccak256 of its argument: the same keccak256 the proof hashes tensors with.
    keccak: () => ciphertextHash(bytes),
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(steps).map((k) => [k, []]));
  const names = Object.keys(steps);
  for (let run = -3; run < RUNS; run++) {
    // Rotate the order each run; the first three runs warm up and are not kept.
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + run + 3) % names.length];
      const ms = await timeMs(steps[name]);
      if (run >= 0) times[name].push(ms);
    }
  }
  const m = Object.fromEntries(names.map((k) => [k, median(times[k])])) as Record<string, number>;
  const ratio = m.seal / m.build;
  const line = (label: string, ms: number, extra = "") =>
    console.log(`${label.padEnd(52)}${fmt(ms, 3).padStart(9)} ms${extra}`);
  console.log(`privacy envelope, 256 KiB of tensors (2 x 128 KiB), medians of ${RUNS} interleaved runs`);
  line("buildProof + signProof (public proof, baseline)", m.build);
  line("keccak256 of the 256 KiB", m.keccak, `   (${fmt((m.keccak / m.build) * 100)}% of the build)`);
  line("sealTensors, a requester sealed to before", m.seal, `   (${fmt(ratio * 100)}% of the build)`);
  line("sealTensors, first seal to a new requester", m.sealCold, `   (${fmt((m.sealCold / m.build) * 100)}%)`);
  line("sealTensors of 0 bytes (the fixed cost)", m.sealEmpty);
  line("openEnvelope (private key)", m.open);
  line("openWithContentKey (disclosure key)", m.openContent);
  line("reference: OpenSSL X25519 + AES-256-GCM (node:crypto)", m.openssl, `   (${fmt((m.openssl / m.build) * 100)}%)`);
  const verdict = ratio <= TARGET ? "met" : "missed";
  console.log(`target: sealing adds at most ${TARGET * 100}% to the proof build: ${verdict} (${fmt(ratio * 100)}%)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
