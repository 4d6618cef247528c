/**
 * The ABI encoding under a tensor's committed hash: `abi.encode(string name, string dtype, uint256[] dims, bytes32
 * dataHash)`, written directly. Pure (Uint8Array and TextEncoder only, no Node built-ins), so the explorer's page
 * bundles this same module to check tensors it opens in the browser. `hashTensor` (proof.ts) hashes it with keccak256;
 * byte-identical to ethers' AbiCoder for names and dtypes without UTF-16 surrogates (proof.ts sends those to ethers).
 */

/** Writes a safe non-negative integer (below 2^53) as a big-endian uint256 into the zeroed word at `offset`. */
export function writeUint(out: Uint8Array, offset: number, value: number): void {
  const high = Math.floor(value / 2 ** 32);
  const low = value >>> 0;
  out[offset + 25] = high >>> 16;
  out[offset + 26] = high >>> 8;
  out[offset + 27] = high;
  out[offset + 28] = low >>> 24;
  out[offset + 29] = low >>> 16;
  out[offset + 30] = low >>> 8;
  out[offset + 31] = low;
}

const UTF8 = new TextEncoder();

/**
 * `abi.encode(string name, string dtype, uint256[] dims, bytes32 dataHash)` for UTF-8 `name`/`dtype` bytes (given as
 * strings, encoded here, or as bytes) and safe-integer `dims`.
 */
export function tensorHashPreimage(
  name: string | Uint8Array,
  dtype: string | Uint8Array,
  dims: readonly number[],
  dataHash: Uint8Array,
): Uint8Array {
  const nameBytes = typeof name === "string" ? UTF8.encode(name) : name;
  const dtypeBytes = typeof dtype === "string" ? UTF8.encode(dtype) : dtype;
  // Head: three offsets and the data hash; tail: name (length, padded bytes), dtype (same), dims (length, words).
  const dtypeAt = 160 + 32 * Math.ceil(nameBytes.length / 32);
  const dimsAt = dtypeAt + 32 + 32 * Math.ceil(dtypeBytes.length / 32);
  const encoded = new Uint8Array(dimsAt + 32 + 32 * dims.length);
  writeUint(encoded, 0, 128);
  writeUint(encoded, 32, dtypeAt);
  writeUint(encoded, 64, dimsAt);
  encoded.set(dataHash, 96);
  writeUint(encoded, 128, nameBytes.length);
  encoded.set(nameBytes, 160);
  writeUint(encoded, dtypeAt, dtypeBytes.length);
  encoded.set(dtypeBytes, dtypeAt + 32);
  writeUint(encoded, dimsAt, dims.length);
  for (let i = 0; i < dims.length; i++) writeUint(encoded, dimsAt + 32 + 32 * i, dims[i] ?? 0);
  return encoded;
}
