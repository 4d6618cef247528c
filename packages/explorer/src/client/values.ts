/** Tensor element bytes (little-endian, as proofs and envelopes hold them) as the values the page shows. */
import type { TensorElement } from "../api-types";

const FIXED: Record<string, { size: number; read: (view: DataView, at: number) => TensorElement }> = {
  float32: { size: 4, read: (v, at) => float(v.getFloat32(at, true)) },
  float64: { size: 8, read: (v, at) => float(v.getFloat64(at, true)) },
  float16: { size: 2, read: (v, at) => v.getUint16(at, true) },
  int8: { size: 1, read: (v, at) => v.getInt8(at) },
  uint8: { size: 1, read: (v, at) => v.getUint8(at) },
  int16: { size: 2, read: (v, at) => v.getInt16(at, true) },
  uint16: { size: 2, read: (v, at) => v.getUint16(at, true) },
  int32: { size: 4, read: (v, at) => v.getInt32(at, true) },
  uint32: { size: 4, read: (v, at) => v.getUint32(at, true) },
  int64: { size: 8, read: (v, at) => v.getBigInt64(at, true).toString() },
  uint64: { size: 8, read: (v, at) => v.getBigUint64(at, true).toString() },
  bool: { size: 1, read: (v, at) => v.getUint8(at) !== 0 },
};

/** The elements of a tensor of `dtype` whose element bytes are `bytes`, at most `max`. */
export function decodeValues(dtype: string, bytes: Uint8Array, max: number): TensorElement[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: TensorElement[] = [];
  if (dtype === "string") {
    const decoder = new TextDecoder();
    for (let at = 0; at + 4 <= bytes.length && out.length < max;) {
      const length = view.getUint32(at, true);
      out.push(decoder.decode(bytes.subarray(at + 4, at + 4 + length)));
      at += 4 + length;
    }
    return out;
  }
  const kind = FIXED[dtype];
  if (kind === undefined) return out;
  for (let at = 0; at + kind.size <= bytes.length && out.length < max; at += kind.size) out.push(kind.read(view, at));
  return out;
}

function float(value: number): TensorElement {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  if (Object.is(value, -0)) return "-0";
  return value;
}
