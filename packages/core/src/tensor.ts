import { TensorError } from "./errors";

/**
 * Tensors as proofs carry them: `{ name, dtype, dims, data }` where `data` is the standard base64 (RFC 4648 §4, with
 * padding) of the tensor's elements in row-major order, each little-endian, whatever the host's byte order.
 * The typed arrays are those onnxruntime-node uses for each dtype (float16 as the raw bits in a Uint16Array, bool as
 * 0/1 bytes in a Uint8Array). String, 4-bit and bfloat16 tensors are not supported.
 */

/** The typed array that holds each supported dtype. */
export interface DtypeArrays {
  float16: Uint16Array;
  float32: Float32Array;
  float64: Float64Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
}

/** A supported element type, named as ONNX Runtime names it. */
export type Dtype = keyof DtypeArrays;

/** Any typed array a tensor can hold. */
export type TensorValues = DtypeArrays[Dtype];

type ArrayConstructorOf<A> = {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): A;
  BYTES_PER_ELEMENT: number;
};

const ARRAY_TYPES: { readonly [D in Dtype]: ArrayConstructorOf<DtypeArrays[D]> } = {
  float16: Uint16Array,
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

/** Every supported dtype. */
export const DTYPES = Object.keys(ARRAY_TYPES) as readonly Dtype[];

/** The size in bytes of one element of each dtype. */
export const DTYPE_SIZES: Readonly<Record<Dtype, number>> = Object.fromEntries(
  DTYPES.map((dtype) => [dtype, ARRAY_TYPES[dtype].BYTES_PER_ELEMENT]),
) as Record<Dtype, number>;

/** A tensor in its serialized form. */
export interface Tensor {
  name: string;
  dtype: Dtype;
  /** The shape; `[]` is a scalar (one element). */
  dims: number[];
  /** Base64 of the little-endian element bytes. */
  data: string;
}

/** A tensor with its elements in a typed array. */
export interface DecodedTensor<D extends Dtype = Dtype> {
  name: string;
  dtype: D;
  dims: number[];
  values: DtypeArrays[D];
}

/** Whether `value` is a supported dtype name. */
export function isDtype(value: unknown): value is Dtype {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(ARRAY_TYPES, value);
}

/** The number of elements of a tensor of shape `dims`; throws {@link TensorError} for a malformed shape. */
export function elementCount(dims: readonly number[], tensor = "tensor"): number {
  if (!Array.isArray(dims)) throw new TensorError(tensor, "dims must be an array of integers");
  let count = 1;
  dims.forEach((dim, i) => {
    if (typeof dim !== "number" || !Number.isSafeInteger(dim) || dim < 0) {
      throw new TensorError(tensor, `dims[${i}] must be a non-negative integer, got ${String(dim)}`);
    }
    count *= dim;
  });
  if (!Number.isSafeInteger(count)) throw new TensorError(tensor, `dims [${dims.join(", ")}] hold too many elements`);
  return count;
}

/** Serializes `values` as a tensor of `dtype` and shape `dims`, checking that they agree. */
export function encodeTensor<D extends Dtype>(
  name: string,
  dtype: D,
  dims: readonly number[],
  values: DtypeArrays[D],
): Tensor {
  checkName(name);
  checkDtype(dtype, name);
  const type = ARRAY_TYPES[dtype];
  if (!(values instanceof type)) {
    throw new TensorError(name, `dtype ${dtype} needs a ${type.name}, got ${describeArray(values)}`);
  }
  const count = elementCount(dims, name);
  if (values.length !== count) {
    throw new TensorError(
      name,
      `dims [${dims.join(", ")}] hold ${count} element(s) but ${values.length} value(s) were given`,
    );
  }
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (dtype === "bool") checkBools(bytes, name);
  return { name, dtype, dims: [...dims], data: toBase64(toLittleEndian(bytes, type.BYTES_PER_ELEMENT)) };
}

/** Serializes raw little-endian element bytes as a tensor, checking the length against `dtype` and `dims`. */
export function tensorFromBytes(name: string, dtype: Dtype, dims: readonly number[], bytes: Uint8Array): Tensor {
  checkName(name);
  checkDtype(dtype, name);
  checkLength(name, dtype, dims, bytes.length);
  if (dtype === "bool") checkBools(bytes, name);
  return { name, dtype, dims: [...dims], data: toBase64(bytes) };
}

/**
 * The raw little-endian element bytes of `tensor`, after checking that its data is canonical base64 and that its length
 * is `product(dims) * size(dtype)`. These bytes are what the tensor hash covers.
 */
export function tensorBytes(tensor: Tensor): Uint8Array {
  const name = typeof tensor.name === "string" ? tensor.name : "tensor";
  checkName(tensor.name);
  checkDtype(tensor.dtype, name);
  const bytes = fromBase64(tensor.data, name);
  checkLength(name, tensor.dtype, tensor.dims, bytes.length);
  if (tensor.dtype === "bool") checkBools(bytes, name);
  return bytes;
}

/** The elements of `tensor` in the typed array of its dtype (a fresh, aligned copy in host byte order). */
export function decodeTensor<D extends Dtype>(tensor: Tensor & { dtype: D }): DecodedTensor<D> {
  const bytes = tensorBytes(tensor);
  const type = ARRAY_TYPES[tensor.dtype];
  const host = fromLittleEndian(bytes, type.BYTES_PER_ELEMENT);
  const buffer = new ArrayBuffer(host.length);
  new Uint8Array(buffer).set(host);
  const values = new type(buffer, 0, host.length / type.BYTES_PER_ELEMENT);
  return { name: tensor.name, dtype: tensor.dtype, dims: [...tensor.dims], values };
}

// ---------------------------------------------------------------------------------------------------------------------

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Strict base64: the standard alphabet with padding, and the unused bits of the last character zero. */
function fromBase64(data: unknown, name: string): Uint8Array {
  if (typeof data !== "string") throw new TensorError(name, "data must be a base64 string");
  if (!BASE64.test(data)) throw new TensorError(name, "data is not standard padded base64 (RFC 4648 section 4)");
  const bytes = Buffer.from(data, "base64");
  if (bytes.toString("base64") !== data)
    throw new TensorError(name, "data is not canonical base64 (non-zero pad bits)");
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toLittleEndian(bytes: Uint8Array, size: number): Uint8Array {
  return LITTLE_ENDIAN_HOST || size === 1 ? bytes : swapBytes(bytes, size);
}

function fromLittleEndian(bytes: Uint8Array, size: number): Uint8Array {
  return LITTLE_ENDIAN_HOST || size === 1 ? bytes : swapBytes(bytes, size);
}

function swapBytes(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) {
    for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j];
  }
  return out;
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.length === 0) {
    throw new TensorError(String(name), "name must be a non-empty string");
  }
}

function checkDtype(dtype: unknown, name: string): asserts dtype is Dtype {
  if (!isDtype(dtype)) {
    throw new TensorError(name, `dtype ${JSON.stringify(dtype)} is not supported (supported: ${DTYPES.join(", ")})`);
  }
}

function checkLength(name: string, dtype: Dtype, dims: readonly number[], byteLength: number): void {
  const count = elementCount(dims, name);
  const expected = count * DTYPE_SIZES[dtype];
  if (byteLength !== expected) {
    throw new TensorError(
      name,
      `${dtype} dims [${dims.join(", ")}] need ${expected} bytes (${count} x ${DTYPE_SIZES[dtype]}) but data holds ` +
        `${byteLength}`,
    );
  }
}

function checkBools(bytes: Uint8Array, name: string): void {
  const bad = bytes.findIndex((b) => b > 1);
  if (bad >= 0) throw new TensorError(name, `bool element ${bad} is ${bytes[bad]}; bools must be 0 or 1`);
}

function describeArray(values: unknown): string {
  if (typeof values === "object" && values !== null) return values.constructor?.name ?? "an object";
  return typeof values;
}
