import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { blobIdFromBytes32, blobIdToBytes32 } from "@strata/core";
import {
  BLOB_ID_LENGTH,
  blobIdFromBytes,
  blobIdFromU256,
  blobIdToBytes,
  blobIdToU256,
  encodedBlobLength,
  InvalidBlobIdError,
  isBlobId,
  maxBlobSize,
  MAX_WASM_BLOB_SIZE,
  parseBlobId,
  sourceSymbols,
  symbolSize,
} from "../src";
import { KNOWN_BLOB_ID as KNOWN, MALFORMED_BLOB_IDS, thrown } from "./helpers";

describe("Blob IDs: strict conversions", function () {
  it("parses a canonical Blob ID and round-trips its bytes", function () {
    const id = parseBlobId(KNOWN);
    expect(id).to.equal(KNOWN);
    const bytes = blobIdToBytes(id);
    expect(bytes).to.have.length(32);
    expect(blobIdFromBytes(bytes)).to.equal(KNOWN);
    expect(isBlobId(KNOWN)).to.equal(true);
  });

  for (const [input, why] of MALFORMED_BLOB_IDS) {
    it(`rejects ${JSON.stringify(input)} with an error naming the input`, function () {
      const error = thrown(() => parseBlobId(input));
      expect(error).to.be.instanceOf(InvalidBlobIdError);
      expect((error as InvalidBlobIdError).input).to.equal(input);
      expect((error as InvalidBlobIdError).code).to.equal("INVALID_BLOB_ID");
      expect(error.message).to.contain(JSON.stringify(input.length > 80 ? input.slice(0, 77) : input));
      expect(error.message).to.match(why);
      expect(isBlobId(input)).to.equal(false);
      // Every conversion that takes a Blob ID string rejects it the same way.
      expect(thrown(() => blobIdToBytes(input))).to.be.instanceOf(InvalidBlobIdError);
      expect(thrown(() => blobIdToBytes32(input))).to.be.instanceOf(InvalidBlobIdError);
      expect(thrown(() => blobIdToU256(input))).to.be.instanceOf(InvalidBlobIdError);
    });
  }

  it("accepts every canonical final character and only those", function () {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const accepted = [...alphabet].filter((c) => isBlobId(`${KNOWN.slice(0, 42)}${c}`));
    expect(accepted.join("")).to.equal("AEIMQUYcgkosw048");
    for (const c of accepted) {
      const id = `${KNOWN.slice(0, 42)}${c}`;
      expect(blobIdFromBytes(blobIdToBytes(id))).to.equal(id);
    }
  });

  it("converts to the chain's bytes32: the same 32 bytes in order, lowercase hex", function () {
    const hex = blobIdToBytes32(KNOWN);
    expect(hex).to.equal("0x45c53cd8cc1ff82164bf52da23fdaa72900dc29194b86dd33309d5cd9c43da46");
    expect(blobIdFromBytes32(hex)).to.equal(KNOWN);
    expect(blobIdFromBytes32(hex.toUpperCase().replace("0X", "0x"))).to.equal(KNOWN);
  });

  for (const [input, why] of [
    ["45c53cd8cc1ff82164bf52da23fdaa72900dc29194b86dd33309d5cd9c43da46", /0x prefix/],
    ["0x45c53cd8cc1ff82164bf52da23fdaa72900dc29194b86dd33309d5cd9c43da4", /64 hex digits after 0x, got 63/],
    ["0x45c53cd8cc1ff82164bf52da23fdaa72900dc29194b86dd33309d5cd9c43da4600", /got 66/],
    ["0x45c53cd8cc1ff82164bf52da23fdaa72900dc29194b86dd33309d5cd9c43da4g", /not a hex digit/],
    ["0X45c53cd8cc1ff82164bf52da23fdaa72900dc29194b86dd33309d5cd9c43da46", /0x prefix/],
    ["", /0x prefix/],
  ] as const) {
    it(`rejects the bytes32 hex ${JSON.stringify(input)}`, function () {
      const error = thrown(() => blobIdFromBytes32(input));
      expect(error).to.be.instanceOf(InvalidBlobIdError);
      expect((error as InvalidBlobIdError).input).to.equal(input);
      expect((error as InvalidBlobIdError).form).to.equal("bytes32 hex");
      expect(error.message).to.match(why);
    });
  }

  it("converts to Sui's u256 as the little-endian integer of the bytes, as @mysten/walrus does", async function () {
    const walrus = (await import("@mysten/walrus")) as {
      blobIdToInt(id: string): bigint;
      blobIdFromInt(value: bigint | string): string;
    };
    for (const id of [
      KNOWN,
      blobIdFromBytes(new Uint8Array(32)),
      blobIdFromBytes(new Uint8Array(32).fill(255)),
      ...Array.from({ length: 20 }, () => blobIdFromBytes(randomBytes(32))),
    ]) {
      const decimal = blobIdToU256(id);
      expect(decimal).to.equal(walrus.blobIdToInt(id).toString());
      expect(blobIdFromU256(decimal)).to.equal(id);
      expect(blobIdFromU256(BigInt(decimal))).to.equal(id);
      expect(walrus.blobIdFromInt(BigInt(decimal))).to.equal(id);
    }
    // Little-endian: the first byte is the least significant.
    const one = new Uint8Array(32);
    one[0] = 1;
    expect(blobIdToU256(blobIdFromBytes(one))).to.equal("1");
    expect(blobIdToU256(blobIdFromBytes(new Uint8Array(32).fill(255)))).to.equal(((1n << 256n) - 1n).toString());
  });

  for (const input of ["", "-1", "+1", "01", "1e3", " 1", "1 ", "0x10", "1.0", (1n << 256n).toString()]) {
    it(`rejects the u256 ${JSON.stringify(input)}`, function () {
      const error = thrown(() => blobIdFromU256(input));
      expect(error).to.be.instanceOf(InvalidBlobIdError);
      expect((error as InvalidBlobIdError).input).to.equal(input);
      expect((error as InvalidBlobIdError).form).to.equal("u256");
    });
  }

  it("rejects a u256 bigint out of range and raw bytes of the wrong length", function () {
    expect(thrown(() => blobIdFromU256(-1n))).to.be.instanceOf(InvalidBlobIdError);
    expect(thrown(() => blobIdFromU256(1n << 256n))).to.be.instanceOf(InvalidBlobIdError);
    expect(thrown(() => blobIdFromBytes(new Uint8Array(31)))).to.be.instanceOf(InvalidBlobIdError);
    expect(BLOB_ID_LENGTH).to.equal(43);
  });
});

describe("RedStuff sizes", function () {
  it("matches the encoded-length formula for 1000 shards", function () {
    expect(sourceSymbols(1000)).to.deep.equal({ primary: 334, secondary: 667 });
    const metadata = 1000 * (1000 * 64 + 32);
    for (const size of [0, 1, 17, 334 * 667, 334 * 667 + 1, 3 * 334 * 667, 10 * 1024 * 1024]) {
      let symbol = Math.ceil(Math.max(size, 1) / (334 * 667));
      if (symbol % 2 === 1) symbol++;
      expect(symbolSize(size, 1000)).to.equal(symbol);
      expect(encodedBlobLength(size, 1000)).to.equal(metadata + (334 + 667) * symbol * 1000);
    }
    expect(encodedBlobLength(17)).to.equal(66_034_000);
  });

  it("caps blobs at the RS2 symbol limit and at what the 32-bit wasm can hold", function () {
    // 10 shards: 4 x 7 source symbols of at most 65534 bytes (checked against the wasm encoder in pool tests).
    expect(maxBlobSize(10)).to.equal(4 * 7 * 65_534);
    expect(maxBlobSize(1000)).to.equal(MAX_WASM_BLOB_SIZE);
    expect(MAX_WASM_BLOB_SIZE).to.equal(1024 ** 3);
    expect(thrown(() => sourceSymbols(3))).to.be.instanceOf(RangeError);
    expect(thrown(() => sourceSymbols(65_536))).to.be.instanceOf(RangeError);
    expect(thrown(() => sourceSymbols(10.5))).to.be.instanceOf(RangeError);
  });
});
