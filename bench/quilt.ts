/**
 * `tsx bench/quilt.ts`: the QuiltV1 codec of `@strata/walrus` beside `@mysten/walrus`'s own `encodeQuilt`, in one
 * run: encoding a full quilt of 665 patches of 15 KiB (a sealed proof batch's shape) at 1000 shards, decoding it
 * (index and every patch header) and cutting every patch out. The outputs are checked equal before timing.
 */
import path from "node:path";
import { decodeQuilt, encodeQuilt, quiltSize, type QuiltPatchInput } from "@strata/walrus";

interface SdkQuilts {
  encodeQuilt(args: { blobs: QuiltPatchInput[]; numShards: number }): { quilt: Uint8Array };
}

const SHARDS = 1000;
const PATCHES = 665;
const PATCH_BYTES = 15 * 1024;
const RUNS = 9;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function main(): void {
  const file = path.join(path.dirname(require.resolve("@mysten/walrus")), "utils", "quilts.mjs");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require(file) as SdkQuilts;
  let x = 1;
  const blobs: QuiltPatchInput[] = Array.from({ length: PATCHES }, (_, i) => {
    const contents = new Uint8Array(PATCH_BYTES);
    for (let k = 0; k < contents.length; k++) {
      x = (x * 1_103_515_245 + 12_345) >>> 0;
      contents[k] = x >>> 24;
    }
    return { identifier: `0x${i.toString(16).padStart(64, "0")}`, contents };
  });

  const ours = encodeQuilt(blobs, { nShards: SHARDS });
  const theirs = sdk.encodeQuilt({ blobs, numShards: SHARDS });
  if (Buffer.compare(Buffer.from(ours.bytes), Buffer.from(theirs.quilt)) !== 0) {
    throw new Error("the two encoders disagree: fix the codec before timing it");
  }
  const ourRuns: number[] = [];
  const sdkRuns: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Alternate so that neither side always runs on a warmer heap.
    if (run % 2 === 0) {
      ourRuns.push(time(() => encodeQuilt(blobs, { nShards: SHARDS })));
      sdkRuns.push(time(() => sdk.encodeQuilt({ blobs, numShards: SHARDS })));
    } else {
      sdkRuns.push(time(() => sdk.encodeQuilt({ blobs, numShards: SHARDS })));
      ourRuns.push(time(() => encodeQuilt(blobs, { nShards: SHARDS })));
    }
  }
  const sizeRuns = Array.from({ length: RUNS }, () =>
    time(() =>
      quiltSize(
        blobs.map((b) => ({ identifier: b.identifier, size: b.contents.length })),
        { nShards: SHARDS },
      ),
    ),
  );
  const decodeRuns = Array.from({ length: RUNS }, () => time(() => decodeQuilt(ours.bytes, { nShards: SHARDS })));
  const decoded = decodeQuilt(ours.bytes, { nShards: SHARDS });
  const cutRuns = Array.from({ length: RUNS }, () =>
    time(() => {
      for (const entry of decoded.patches) decoded.patch(entry);
    }),
  );
  const mib = (ours.bytes.length / 1024 / 1024).toFixed(1);
  console.log(`quilt of ${PATCHES} patches x ${PATCH_BYTES} bytes at ${SHARDS} shards: ${mib} MiB, medians of ${RUNS}`);
  console.log(`  encodeQuilt, @strata/walrus      ${median(ourRuns).toFixed(1)} ms`);
  console.log(`  encodeQuilt, @mysten/walrus      ${median(sdkRuns).toFixed(1)} ms`);
  console.log(`  ratio (SDK / ours)               ${(median(sdkRuns) / median(ourRuns)).toFixed(2)}x`);
  console.log(`  quiltSize (no bytes built)       ${median(sizeRuns).toFixed(2)} ms`);
  console.log(`  decodeQuilt (index + headers)    ${median(decodeRuns).toFixed(2)} ms`);
  console.log(`  cut out all ${PATCHES} patches       ${median(cutRuns).toFixed(1)} ms`);
}

main();
