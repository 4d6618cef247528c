/**
 * A tensor's committed hash, as core's `hashTensor` computes it (packages/core/src/proof.ts): keccak256 of
 * abi.encode(string name, string dtype, uint256[] dims, bytes32 keccak256(element bytes)). The page checks each tensor
 * it opens from an envelope against the hash the signed proof commits to. The browser test checks it against core.
 */
import { keccak_256 } from "@noble/hashes/sha3";

/** `0x` + 64 hex digits: the hash of the tensor `name` (`dtype`, `dims`) whose element bytes are `bytes`. */
export function tensorHash(name: string, dtype: string, dims: readonly number[], bytes: Uint8Array): string {
  const nameBytes = new TextEncoder().encode(name);
  const dtypeBytes = new TextEncoder().encode(dtype);
  const dtypeAt = 160 + 32 * Math.ceil(nameBytes.length / 32);
  const dimsAt = dtypeAt + 32 + 32 * Math.ceil(dtypeBytes.length / 32);
  const encoded = new Uint8Array(dimsAt + 32 + 32 * dims.length);
  word(encoded, 0, 128);
  word(encoded, 32, dtypeAt);
  word(encoded, 64, dimsAt);
  encoded.set(keccak_256(bytes), 96);
  word(encoded, 128, nameBytes.length);
  encoded.set(nameBytes, 160);
  word(encoded, dtypeAt, dtypeBytes.length);
  encoded.set(dtypeBytes, dtypeAt + 32);
  word(encoded, dimsAt, dims.length);
  dims.forEach((d, i) => word(encoded, dimsAt + 32 + 32 * i, d));
  return `0x${Array.from(keccak_256(encoded), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Writes `value` (a safe integer) as a big-endian 32-byte word at `offset`. */
function word(out: Uint8Array, offset: number, value: number): void {
  let v = BigInt(value);
  for (let i = 31; i >= 0 && v > 0n; i--) {
    out[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}
