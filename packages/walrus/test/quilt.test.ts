/** The QuiltV1 codec's refusals: Walrus's identifier and tag rules, malformed quilts, malformed patch IDs. */
import { expect } from "chai";
import {
  decodeQuilt,
  encodeQuilt,
  InvalidQuiltError,
  InvalidQuiltPatchIdError,
  isQuiltPatchId,
  maxQuiltPatches,
  parseBlobId,
  parseQuiltPatchId,
  QuiltFormatError,
  QuiltPatchNotFoundError,
  quiltPatchId,
  quiltSize,
  type QuiltPatchInput,
} from "../src";
import { KNOWN_BLOB_ID, TEST_SHARDS, thrown } from "./helpers";

const SHARDS = TEST_SHARDS;

function patch(identifier: string, size = 10, tags?: Record<string, string>): QuiltPatchInput {
  return { identifier, contents: new Uint8Array(size).fill(identifier.length), ...(tags ? { tags } : {}) };
}

function invalid(patches: QuiltPatchInput[], nShards = SHARDS): InvalidQuiltError {
  const error = thrown(() => encodeQuilt(patches, { nShards }));
  expect(error).to.be.instanceOf(InvalidQuiltError);
  // quiltSize refuses the same patches with the same problem.
  const sized = thrown(() =>
    quiltSize(
      patches.map((p) => ({ identifier: p.identifier, size: p.contents?.length ?? 0, tags: p.tags })),
      { nShards },
    ),
  );
  expect((sized as InvalidQuiltError).problem).to.equal((error as InvalidQuiltError).problem);
  return error as InvalidQuiltError;
}

describe("Quilt codec: Walrus's rules", function () {
  it("holds 666 patches at 1000 shards and the secondary symbols less one at others", function () {
    expect(maxQuiltPatches()).to.equal(666);
    expect(maxQuiltPatches(1000)).to.equal(666);
    expect(maxQuiltPatches(SHARDS)).to.equal(6);
  });

  it("refuses no patches and one patch too many", function () {
    expect(invalid([]).problem).to.equal("no-patches");
    const many = Array.from({ length: maxQuiltPatches(SHARDS) + 1 }, (_, i) => patch(`p${i}`));
    const error = invalid(many);
    expect(error.problem).to.equal("too-many-patches");
    expect(error.message).to.match(/at most 6 patches at 10 shards, got 7/);
  });

  const BAD_IDENTIFIERS: [string, string][] = [
    ["", "identifier-empty"],
    ["_metadata", "identifier-start"],
    ["-dash", "identifier-start"],
    [" lead", "identifier-start"],
    ["trailing ", "identifier-trailing-whitespace"],
    ["tab\t", "identifier-trailing-whitespace"],
    ["nbsp\u00a0", "identifier-trailing-whitespace"],
    ["bell\u0007inside", "identifier-control-character"],
    ["c1\u0085x", "identifier-control-character"],
    ["lone\ud800surrogate", "identifier-malformed-unicode"],
    [`a${"b".repeat(65_531)}`, "identifier-too-long"],
  ];
  for (const [identifier, problem] of BAD_IDENTIFIERS) {
    it(`refuses identifier ${JSON.stringify(identifier.slice(0, 20))} (${problem})`, function () {
      const error = invalid([patch(identifier)]);
      expect(error.problem).to.equal(problem);
      expect(error.code).to.equal("INVALID_QUILT");
    });
  }

  it("takes the longest identifier Walrus takes: 65531 bytes (65534 with its BCS length)", function () {
    const identifier = `a${"b".repeat(65_530)}`;
    const { patches } = encodeQuilt([patch(identifier)], { nShards: SHARDS });
    expect(patches[0].identifier).to.equal(identifier);
  });

  it("takes identifiers that start with a letter or digit of any script", function () {
    const ids = ["données", "日本", "٣x", "Ωmega", "9lives"];
    const { patches } = encodeQuilt(
      ids.map((id) => patch(id)),
      { nShards: 1000 },
    );
    expect(patches.map((p) => p.identifier).sort()).to.deep.equal([...ids].sort());
  });

  it("refuses a duplicate identifier, naming it", function () {
    const error = invalid([patch("same"), patch("other"), patch("same", 3)]);
    expect(error.problem).to.equal("identifier-duplicate");
    expect(error.identifier).to.equal("same");
  });

  it("refuses tags over 64 KB and tags that are not strings", function () {
    expect(invalid([patch("t", 1, { k: "v".repeat(65_535) })]).problem).to.equal("tags-too-large");
    const notStrings = {
      identifier: "t",
      contents: new Uint8Array(1),
      tags: { n: 1 } as unknown as Record<string, string>,
    };
    expect(invalid([notStrings]).problem).to.equal("tags-invalid");
  });

  it("refuses contents that are not bytes", function () {
    const error = thrown(() =>
      encodeQuilt([{ identifier: "x", contents: "text" as unknown as Uint8Array }], { nShards: SHARDS }),
    );
    expect((error as InvalidQuiltError).problem).to.equal("contents-invalid");
  });

  it("refuses patches that need a symbol larger than RS2 allows", function () {
    // At 10 shards a quilt holds 4 x 7 symbols of at most 65534 bytes.
    const error = invalid([patch("huge", 7 * 4 * 65_534)]);
    expect(error.problem).to.equal("quilt-too-large");
  });

  it("sorts identifiers by their UTF-8 bytes, as walrus-core sorts Rust strings", function () {
    // U+FF5E sorts before U+1F600 by code point (and UTF-8), after it by UTF-16 code unit (JavaScript's `<`).
    const { patches } = encodeQuilt([patch("x\u{1F600}"), patch("x\uFF5E")], { nShards: 1000 });
    expect(patches.map((p) => p.identifier)).to.deep.equal(["x\uFF5E", "x\u{1F600}"]);
  });
});

/** A patch ID with its bytes edited. */
function edited(id: string, edit: (bytes: Buffer) => void): string {
  const bytes = Buffer.from(id, "base64url");
  edit(bytes);
  return bytes.toString("base64url");
}

describe("Quilt codec: strict decoding", function () {
  const patches = [patch("alpha", 300, { kind: "a" }), patch("beta", 0), patch("gamma", 2000)];
  const encoded = encodeQuilt(patches, { nShards: SHARDS });

  function damaged(edit: (bytes: Uint8Array) => void): QuiltFormatError {
    const copy = new Uint8Array(encoded.bytes);
    edit(copy);
    const error = thrown(() => decodeQuilt(copy, { nShards: SHARDS }));
    expect(error).to.be.instanceOf(QuiltFormatError);
    return error as QuiltFormatError;
  }

  it("reads back every patch and its tags, by identifier and by entry", function () {
    const decoded = decodeQuilt(encoded.bytes, { nShards: SHARDS });
    expect(decoded.patches).to.deep.equal(encoded.patches);
    for (const p of patches) expect(Buffer.from(decoded.patch(p.identifier))).to.deep.equal(Buffer.from(p.contents));
    for (const entry of decoded.patches) expect(decoded.patch(entry).length).to.be.a("number");
    const missing = thrown(() => decoded.patch("delta"));
    expect(missing).to.be.instanceOf(QuiltPatchNotFoundError);
    expect(thrown(() => decoded.patch({ ...decoded.patches[0], endIndex: 6 }))).to.be.instanceOf(
      QuiltPatchNotFoundError,
    );
  });

  it("refuses a length that is not a whole symbol matrix", function () {
    expect(thrown(() => decodeQuilt(encoded.bytes.subarray(1), { nShards: SHARDS }))).to.be.instanceOf(
      QuiltFormatError,
    );
    expect((thrown(() => decodeQuilt(new Uint8Array(0))) as QuiltFormatError).part).to.equal("length");
    // The right bytes for another shard count are not a quilt of this one.
    expect((thrown(() => decodeQuilt(encoded.bytes, { nShards: 1000 })) as QuiltFormatError).part).to.equal("length");
  });

  it("refuses another version byte", function () {
    expect(damaged((b) => (b[0] = 2)).part).to.equal("version");
  });

  it("refuses an index length beyond its columns", function () {
    expect(damaged((b) => (b[4] = 0xff)).part).to.equal("index-length");
  });

  it("refuses an index whose BCS does not parse or has trailing bytes", function () {
    // The index length, one byte longer than the index: a trailing zero byte.
    const longer = damaged((b) => (b[1] += 1));
    expect(longer.part).to.equal("index");
  });

  it("refuses a patch header that disagrees with the index", function () {
    // The first patch's header starts at column 1, row 0: symbol (0, 1), at least 6 bytes long here.
    const at = encoded.symbolSize;
    expect(at).to.be.at.least(6);
    expect(damaged((b) => (b[at] = 9)).message).to.match(/version 9/);
    expect(damaged((b) => (b[at + 5] = 0x80)).message).to.match(/unknown feature bits/);
    expect(damaged((b) => (b[at + 2] += 0x10)).part).to.equal("patch-header");
  });

  it("refuses a patch ID that is not 50 characters of canonical base64url, version 1, start < end", function () {
    const good = quiltPatchId(parseBlobId(KNOWN_BLOB_ID), { startIndex: 1, endIndex: 3 });
    expect(isQuiltPatchId(good)).to.equal(true);
    const bad = [
      "",
      good.slice(0, 49),
      `${good}A`,
      // The OpenAPI spec's example is two characters short (48).
      "DJHLsgUoKQKEPcw3uehNQwuJjMu5a2sRdn8r-f7iWSAAC8Pw",
      `${good.slice(0, 49)}B`, // a stray low bit in the last character
      good.replace(/^./, "+"),
      edited(good, (b) => (b[32] = 2)), // version 2
      edited(good, (b) => b.writeUInt16LE(3, 33)), // columns [3, 3)
    ];
    for (const id of bad) {
      const error = thrown(() => parseQuiltPatchId(id));
      expect(error, id).to.be.instanceOf(InvalidQuiltPatchIdError);
      expect((error as InvalidQuiltPatchIdError).code).to.equal("INVALID_QUILT_PATCH_ID");
      expect(isQuiltPatchId(id)).to.equal(false);
    }
    expect(() => quiltPatchId(parseBlobId(KNOWN_BLOB_ID), { startIndex: 2, endIndex: 2 })).to.throw(RangeError);
  });
});
