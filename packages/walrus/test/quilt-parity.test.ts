/**
 * Parity of the QuiltV1 codec with the real thing: `@mysten/walrus`'s own `encodeQuilt` and `encodeQuiltPatchId`, the
 * Blob ID of `@mysten/walrus-wasm`'s `BlobEncoder`, and the patch IDs the Walrus docs show. Nothing here compares the
 * codec with itself.
 */
import { expect } from "chai";
import path from "node:path";
import { BlobEncoder } from "@mysten/walrus-wasm";
import {
  blobId,
  decodeQuilt,
  encodeQuilt,
  maxQuiltPatches,
  parseBlobId,
  parseQuiltPatchId,
  quiltPatchId,
  quiltSize,
  type BlobId,
  type QuiltPatchInput,
} from "../src";
import { KNOWN_BLOB_ID, TEST_SHARDS } from "./helpers";

interface SdkQuilts {
  encodeQuilt(args: { blobs: QuiltPatchInput[]; numShards: number; encodingType?: "RS2" }): {
    quilt: Uint8Array;
    index: { patches: { startIndex: number; endIndex: number; identifier: string; tags: Record<string, string> }[] };
  };
  encodeQuiltPatchId(id: {
    quiltId: string;
    patchId: { version: number; startIndex: number; endIndex: number };
  }): string;
  parseQuiltPatchId(id: string): {
    quiltId: string;
    patchId: { version: number; startIndex: number; endIndex: number };
  };
}

/** The SDK's quilt module: not exported by the package, so loaded from its file (ESM, by `require(esm)`). */
function sdkQuilts(): SdkQuilts {
  const file = path.join(path.dirname(require.resolve("@mysten/walrus")), "utils", "quilts.mjs");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as SdkQuilts;
}

/** A seeded generator (xorshift32), so every run checks the same cases. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function bytesOf(size: number, seed: number): Uint8Array {
  const next = rng(seed + 1);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (next() * 256) | 0;
  return out;
}

/** The Blob ID straight from the wasm encoder, as walrus.md describes it. */
function wasmBlobId(bytes: Uint8Array, shards: number): string {
  const [id] = new BlobEncoder(shards).compute_metadata(bytes) as [number[], unknown, number, string];
  return Buffer.from(id).toString("base64url");
}

interface Case {
  name: string;
  shards: number;
  blobs: QuiltPatchInput[];
  /** Also compare the quilt Blob IDs (about 2 s of CPU each at 1000 shards). */
  blobIds?: boolean;
}

const UNICODE_IDENTIFIERS = [
  "données.bin",
  "日本語のファイル",
  "Ωmega-42",
  "émoji 😀 inside",
  "Zürich",
  "42",
  "a.b-c_d",
];

function cases(): Case[] {
  const list: Case[] = [
    { name: "one empty patch", shards: 1000, blobs: [{ identifier: "empty", contents: new Uint8Array(0) }] },
    { name: "one byte", shards: 1000, blobs: [{ identifier: "x", contents: new Uint8Array([7]) }], blobIds: true },
    {
      name: "unicode identifiers and tags",
      shards: 1000,
      blobs: UNICODE_IDENTIFIERS.map((identifier, i) => ({
        identifier,
        contents: bytesOf(i * 997, i),
        ...(i % 2 === 0 ? { tags: { "content-type": "application/octet-stream", clé: "välue ✓", [`k${i}`]: "" } } : {}),
      })),
      blobIds: true,
    },
    {
      name: "sizes from 0 bytes to several MiB",
      shards: 1000,
      blobs: [0, 1, 2, 255, 256, 65_535, 65_536, 1024 * 1024, 3 * 1024 * 1024 + 17].map((size, i) => ({
        identifier: `size-${size}`,
        contents: bytesOf(size, 100 + i),
      })),
    },
    {
      name: "one patch of 6 MiB",
      shards: 1000,
      blobs: [{ identifier: "big", contents: bytesOf(6 * 1024 * 1024 + 3, 7), tags: { kind: "tensor" } }],
    },
    {
      name: "666 patches (the most at 1000 shards)",
      shards: 1000,
      blobs: Array.from({ length: 666 }, (_, i) => ({
        identifier: `0x${i.toString(16).padStart(64, "0")}`,
        contents: bytesOf((i * 37) % 2000, i),
        ...(i % 50 === 0 ? { tags: { n: String(i) } } : {}),
      })),
    },
    {
      name: "665 patches of 15 KiB",
      shards: 1000,
      blobs: Array.from({ length: 665 }, (_, i) => ({
        identifier: `proof-${String(i).padStart(4, "0")}`,
        contents: bytesOf(15 * 1024, 1000 + i),
      })),
      blobIds: true,
    },
    {
      name: "large tags",
      shards: 1000,
      blobs: [
        { identifier: "tagged", contents: bytesOf(100, 3), tags: { big: "v".repeat(60_000) } },
        { identifier: "plain", contents: bytesOf(100, 4) },
      ],
    },
    {
      name: `the most patches at ${TEST_SHARDS} shards`,
      shards: TEST_SHARDS,
      blobs: Array.from({ length: maxQuiltPatches(TEST_SHARDS) }, (_, i) => ({
        identifier: `p${i}`,
        contents: bytesOf(i * 101, 50 + i),
      })),
      blobIds: true,
    },
    {
      name: `a long identifier at ${TEST_SHARDS} shards`,
      shards: TEST_SHARDS,
      blobs: [
        { identifier: `L${"o".repeat(20_000)}ng`, contents: bytesOf(10, 1) },
        { identifier: "short", contents: bytesOf(3000, 2), tags: { a: "1", b: "2" } },
      ],
      blobIds: true,
    },
  ];
  // Seeded random quilts: counts, sizes and tags of all kinds, at both shard counts.
  const next = rng(20_251_201);
  for (let c = 0; c < 16; c++) {
    const shards = c % 4 === 0 ? TEST_SHARDS : 1000;
    const count = 1 + Math.floor(next() * Math.min(maxQuiltPatches(shards), 40));
    const blobs: QuiltPatchInput[] = [];
    for (let i = 0; i < count; i++) {
      const size = next() < 0.1 ? 0 : Math.floor(next() ** 3 * 200_000);
      const tagCount = next() < 0.5 ? 0 : 1 + Math.floor(next() * 4);
      const tags = Object.fromEntries(Array.from({ length: tagCount }, (_, t) => [`t${t}${c}`, "x".repeat(t * 3)]));
      blobs.push({
        identifier: `${String.fromCharCode(97 + (i % 26))}${i}-${Math.floor(next() * 1e6)}`,
        contents: bytesOf(size, c * 1000 + i),
        ...(tagCount > 0 ? { tags } : {}),
      });
    }
    list.push({ name: `seeded quilt ${c} (${count} patches, ${shards} shards)`, shards, blobs });
  }
  return list;
}

describe("Quilt codec: parity with @mysten/walrus and Walrus", function () {
  this.timeout(600_000);
  const sdk = sdkQuilts();

  for (const testCase of cases()) {
    it(`encodes the SDK's bytes, index and patch IDs: ${testCase.name}`, async function () {
      const { shards, blobs } = testCase;
      const theirs = sdk.encodeQuilt({ blobs, numShards: shards, encodingType: "RS2" });
      const ours = encodeQuilt(blobs, { nShards: shards });

      expect(ours.bytes.length, "quilt length").to.equal(theirs.quilt.length);
      expect(Buffer.compare(Buffer.from(ours.bytes), Buffer.from(theirs.quilt)), "quilt bytes").to.equal(0);
      expect(ours.patches).to.deep.equal(
        theirs.index.patches.map((p) => ({
          identifier: p.identifier,
          tags: p.tags,
          startIndex: p.startIndex,
          endIndex: p.endIndex,
        })),
      );
      expect(ours.nShards).to.equal(shards);
      expect(ours.symbolSize * (ours.bytes.length / ours.symbolSize)).to.equal(theirs.quilt.length);
      expect(
        quiltSize(
          blobs.map((b) => ({ identifier: b.identifier, size: b.contents.length, tags: b.tags })),
          { nShards: shards },
        ),
        "quiltSize predicts the SDK's length",
      ).to.equal(theirs.quilt.length);

      let quiltId: BlobId = parseBlobId(KNOWN_BLOB_ID);
      if (testCase.blobIds === true) {
        const expected = wasmBlobId(theirs.quilt, shards);
        quiltId = await blobId(ours.bytes, { shards });
        expect(quiltId, "quilt Blob ID").to.equal(expected);
      }
      for (const entry of ours.patches) {
        const id = quiltPatchId(quiltId, entry);
        const sdkId = sdk.encodeQuiltPatchId({
          quiltId,
          patchId: { version: 1, startIndex: entry.startIndex, endIndex: entry.endIndex },
        });
        expect(id, entry.identifier).to.equal(sdkId);
        expect(id).to.have.length(50);
        expect(parseQuiltPatchId(sdkId)).to.deep.equal({
          quiltId,
          version: 1,
          startIndex: entry.startIndex,
          endIndex: entry.endIndex,
        });
      }

      // Decoding the SDK's bytes gives back every patch exactly.
      const decoded = decodeQuilt(theirs.quilt, { nShards: shards });
      expect(decoded.patches).to.deep.equal(ours.patches);
      for (const blob of blobs) {
        const contents = decoded.patch(blob.identifier);
        expect(Buffer.compare(Buffer.from(contents), Buffer.from(blob.contents)), blob.identifier).to.equal(0);
        const entry = decoded.patches.find((p) => p.identifier === blob.identifier);
        expect(entry?.tags).to.deep.equal(blob.tags ?? {});
      }
    });
  }

  it("parses the SDK's patch IDs of random positions as the SDK does", function () {
    const next = rng(99);
    for (let i = 0; i < 200; i++) {
      const startIndex = Math.floor(next() * 65_000);
      const endIndex = startIndex + 1 + Math.floor(next() * 500);
      const quiltId = Buffer.from(bytesOf(32, i)).toString("base64url");
      const id = sdk.encodeQuiltPatchId({ quiltId, patchId: { version: 1, startIndex, endIndex } });
      expect(parseQuiltPatchId(id)).to.deep.equal({ quiltId, version: 1, startIndex, endIndex });
      expect(quiltPatchId(parseBlobId(quiltId), { startIndex, endIndex })).to.equal(id);
    }
  });

  // Known answers: the patch IDs of the Walrus docs (docs/content/http-api/quilt-http-apis.mdx) and of the
  // aggregator's OpenAPI spec (list_patches_in_quilt), each from its quilt ID and the columns it names.
  const DOCUMENTED = [
    ["6XUOE-Q5-nAXHRifN6n9nomVDtHZQbGuAkW3PjlBuKo", "6XUOE-Q5-nAXHRifN6n9nomVDtHZQbGuAkW3PjlBuKoBAQDQAA", 1, 208],
    ["6XUOE-Q5-nAXHRifN6n9nomVDtHZQbGuAkW3PjlBuKo", "6XUOE-Q5-nAXHRifN6n9nomVDtHZQbGuAkW3PjlBuKoB0AB7Ag", 208, 635],
    ["uIiEbhP2qgZYygEGxJX1GeB-rQATo2yufC2DCp7B4iA", "uIiEbhP2qgZYygEGxJX1GeB-rQATo2yufC2DCp7B4iABAQANAA", 1, 13],
    ["uIiEbhP2qgZYygEGxJX1GeB-rQATo2yufC2DCp7B4iA", "uIiEbhP2qgZYygEGxJX1GeB-rQATo2yufC2DCp7B4iABDQBnAA", 13, 103],
  ] as const;
  for (const [quilt, patchId, startIndex, endIndex] of DOCUMENTED) {
    it(`gives the documented patch ID ${patchId}`, function () {
      expect(quiltPatchId(parseBlobId(quilt), { startIndex, endIndex })).to.equal(patchId);
      expect(parseQuiltPatchId(patchId)).to.deep.equal({ quiltId: quilt, version: 1, startIndex, endIndex });
    });
  }
});
