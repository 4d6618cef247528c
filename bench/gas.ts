/**
 * `npm run bench:gas`: the gas of every registry write, side by side with the Ethereum Attestation Service measured in
 * the same run, and OpenGradient's settlement relay as a quoted reference. Targets from the foundation issue are
 * checked and printed. `UPDATE_GAS_SNAPSHOT=1 npm run bench:gas` rewrites snapshots/gas.json deliberately.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BATCH_SIZES, measureEas, measureRegistries, QUILT_BATCHES } from "./gas-scenarios";

/** OpenGradient InferenceSettlementRelay.batchSettle (og-evm, not on npm): stores nothing, emits one event. */
const OPENGRADIENT_BATCH_SETTLE = 28_339;

const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 1 });

async function main(): Promise<void> {
  const ours = await measureRegistries();
  const eas = await measureEas();
  const attest = eas["EAS.attest"];
  const timestamp = eas["EAS.timestamp"];

  console.log(
    "\nGas per registry write (in-process Hardhat network, solc 0.8.29, optimizer 10,000 runs for the registries and 200 for EAS, cancun)\n",
  );
  console.log(
    `${"operation".padEnd(48)} ${"gas".padStart(9)} ${"per proof".padStart(10)} ${"vs EAS attest".padStart(14)}`,
  );
  for (const [op, gas] of Object.entries(ours)) {
    const size = /(\d+)\)$/.exec(op)?.[1];
    const perProof = size ? fmt(gas / Number(size)) : "";
    console.log(
      `${op.padEnd(48)} ${fmt(gas).padStart(9)} ${perProof.padStart(10)} ${(gas / attest).toFixed(3).padStart(13)}x`,
    );
  }
  console.log("\nReferences measured in the same run");
  for (const [op, gas] of Object.entries(eas)) console.log(`${op.padEnd(48)} ${fmt(gas).padStart(9)}`);
  console.log(`${"OpenGradient batchSettle (quoted)".padEnd(40)} ${fmt(OPENGRADIENT_BATCH_SETTLE).padStart(9)}`);

  const publish = ours["ModelRegistry.publishVersion"];
  const single = ours["ProofRegistry.anchorProof"];
  const batch1000 = ours["ProofRegistry.anchorBatch (1000)"] / 1000;
  const announce = ours["ProofRegistry.announceBatch (1000)"];
  const quilt665 = ours["ProofRegistry.anchorBatch (665)"] / 665;
  const [wide, wideQuilts] = QUILT_BATCHES[QUILT_BATCHES.length - 1];
  const acrossQuilts = ours[`ProofRegistry.anchorQuilts (${wideQuilts} quilts, ${wide})`] / wide;
  const targets: [string, number, string, boolean][] = [
    ["publish version / EAS attest", publish / attest, "<= 0.45x", publish / attest <= 0.45],
    ["anchor one proof / EAS attest", single / attest, "<= 0.30x", single / attest <= 0.3],
    ["anchor one proof / EAS timestamp", single / timestamp, "(reference)", true],
    ["stored batch, gas per proof at 1,000", batch1000, "<= 50", batch1000 <= 50],
    ["one full quilt (665 proofs), gas per proof", quilt665, "<= 75", quilt665 <= 75],
    [
      `${wide.toLocaleString("en-US")} proofs in ${wideQuilts} quilts, per proof`,
      acrossQuilts,
      "<= 13",
      acrossQuilts <= 13,
    ],
    [
      "events-only batch / OpenGradient",
      announce / OPENGRADIENT_BATCH_SETTLE,
      "< 1.00x",
      announce < OPENGRADIENT_BATCH_SETTLE,
    ],
    [
      "stored batch / events-only batch",
      ours["ProofRegistry.anchorBatch (1000)"] / announce,
      "(price of storage)",
      true,
    ],
  ];
  console.log("\nTargets");
  for (const [name, value, target, ok] of targets) {
    console.log(`${name.padEnd(40)} ${value.toFixed(3).padStart(9)} ${target.padStart(18)}  ${ok ? "met" : "MISSED"}`);
  }
  console.log(`\nBatch sizes measured: ${BATCH_SIZES.join(", ")} (a batch's gas does not grow with its size).`);
  console.log(
    "A root in one quilt is anchored with anchorBatch (the quilt's Blob ID in the event); a root over several quilts " +
      "with anchorQuilts (every quilt Blob ID in the event, none in storage: about 800 gas per quilt).",
  );

  if (process.env.UPDATE_GAS_SNAPSHOT === "1") {
    const path = join(__dirname, "..", "snapshots", "gas.json");
    writeFileSync(path, JSON.stringify(ours, null, 2) + "\n");
    console.log(`wrote ${path}`);
  }
  if (targets.some(([, , , ok]) => !ok)) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
