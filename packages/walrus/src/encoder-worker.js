"use strict";
// Worker of the Blob ID encoder pool (see encoder-pool.ts). Plain CommonJS so that it loads the same way under plain
// node, ts-node and tsx. The input buffer arrives transferred (not copied); it is transferred back when the caller
// asked for it, so a caller that still needs the bytes pays no copy either way.
const { BlobEncoder } = require("@mysten/walrus-wasm");
const { move, transferableSymbol, valueSymbol } = require("piscina");

/** One encoder per shard count: constructing one is cheap, but there is no reason to do it per blob. */
const encoders = new Map();

/**
 * @param {{ buffer: ArrayBuffer, byteOffset: number, byteLength: number, shards: number, giveBack: boolean }} task
 */
module.exports = function computeMetadata(task) {
  const { buffer, byteOffset, byteLength, shards, giveBack } = task;
  let encoder = encoders.get(shards);
  if (encoder === undefined) {
    encoder = new BlobEncoder(shards);
    encoders.set(shards, encoder);
  }
  const [blobId, rootHash, unencodedLength, encodingType] = encoder.compute_metadata(
    new Uint8Array(buffer, byteOffset, byteLength),
  );
  const result = {
    blobId: Uint8Array.from(blobId),
    rootHash: Uint8Array.from(rootHash.Digest),
    unencodedLength: Number(unencodedLength),
    encodingType: String(encodingType),
    buffer: giveBack ? buffer : null,
  };
  if (!giveBack) return result;
  return move({ [transferableSymbol]: buffer, [valueSymbol]: result });
};
