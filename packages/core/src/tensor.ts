import { TensorError } from "./errors";

/**
 * Tensors as proofs carry them: `{ name, dtype, dims, data }` where `data` is the standard base64 (RFC 4648 §4, with
 * padding) of the tensor's element bytes in row-major order:
 * - numeric and bool dtypes: each element little-endian, whatever the host's byte order;
 * - `string`: each element as its UTF-8 byte length (uint32, little-endian) followed by its UTF-8 bytes (no BOM is
 *   added or removed; the bytes must be valid UTF-8, so the strings must be well-formed UTF-16 in JavaScript).
 * The arrays are those onnxruntime-node uses for each dtype (float16 as the raw bits in a Uint16Array, bool as 0/1
 * bytes in a Uint8Array, string as a `string[]`). 4-bit and bfloat16 tensors are not supported.
 */

/** The typed array (or, for `string`, the array) that holds each supported dtype. */
export interface DtypeArrays extends FixedDtypeArrays {
  string: string[];
}

/** The typed array of each fixed-size dtype. */
export interface FixedDtypeArrays {
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

/** A dtype whose elements all have the same size in bytes (every dtype but `string`). */
export type FixedDtype = keyof FixedDtypeArrays;

/** Any typed array (or string array) a tensor can hold. */
export type TensorValues = DtypeArrays[Dtype];

type ArrayConstructorOf<A> = {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): A;
  BYTES_PER_ELEMENT: number;
};

const ARRAY_TYPES: { readonly [D in FixedDtype]: ArrayConstructorOf<FixedDtypeArrays[D]> } = {
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

/** Every fixed-size dtype. */
export const FIXED_DTYPES = Object.keys(ARRAY_TYPES) as readonly FixedDtype[];

/** Every supported dtype: the fixed-size ones and `string`. */
export const DTYPES: readonly Dtype[] = [...FIXED_DTYPES, "string"];

/** The size in bytes of one element of each fixed-size dtype (`string` elements have no fixed size). */
export const DTYPE_SIZES: Readonly<Record<FixedDtype, number>> = Object.fromEntries(
  FIXED_DTYPES.map((dtype) => [dtype, ARRAY_TYPES[dtype].BYTES_PER_ELEMENT]),
) as Record<FixedDtype, number>;

/** A tensor in its serialized form. */
export interface Tensor {
  name: string;
  dtype: Dtype;
  /** The shape; `[]` is a scalar (one element). */
  dims: number[];
  /**
   * Base64 of the element bytes (little-endian elements; length-prefixed UTF-8 for strings). On a tensor that carries
   * {@link Tensor.bytes} (a binary tensor: {@link binaryTensor}, proofs v2), a non-enumerable getter that encodes the
   * bytes on first read, for code that reads `data`; the hot paths never read it.
   */
  data: string;
  /**
   * The element bytes themselves, on a binary tensor (proof format v2 keeps them raw). When present they are the
   * tensor's contents: {@link tensorBytes} checks and returns them without any base64.
   */
  bytes?: Uint8Array;
}

/** A tensor that carries its element bytes (and `data` as a lazy, non-enumerable base64 view of them). */
export interface BinaryTensor extends Tensor {
  bytes: Uint8Array;
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
  return value === "string" || isFixedDtype(value);
}

/** Whether `value` is a fixed-size dtype name (every dtype but `string`). */
export function isFixedDtype(value: unknown): value is FixedDtype {
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
  if (dtype === "string") {
    const strings = values as string[];
    if (!Array.isArray(strings))
      throw new TensorError(name, `dtype string needs an array of strings, got ${describeArray(values)}`);
    checkCount(name, dims, strings.length);
    return { name, dtype, dims: [...dims], data: toBase64(encodeStrings(strings, name)) };
  }
  const type = ARRAY_TYPES[dtype as FixedDtype];
  if (!(values instanceof type)) {
    throw new TensorError(name, `dtype ${dtype} needs a ${type.name}, got ${describeArray(values)}`);
  }
  const typed = values as FixedDtypeArrays[FixedDtype];
  checkCount(name, dims, typed.length);
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  if (dtype === "bool") checkBools(bytes, name);
  return { name, dtype, dims: [...dims], data: toBase64(toLittleEndian(bytes, type.BYTES_PER_ELEMENT)) };
}

/**
 * Serializes raw element bytes (little-endian elements; length-prefixed UTF-8 for strings) as a tensor, checking them
 * against `dtype` and `dims`.
 */
export function tensorFromBytes(name: string, dtype: Dtype, dims: readonly number[], bytes: Uint8Array): Tensor {
  checkName(name);
  checkDtype(dtype, name);
  checkLength(name, dtype, dims, bytes);
  if (dtype === "bool") checkBools(bytes, name);
  return { name, dtype, dims: [...dims], data: toBase64(bytes) };
}

/**
 * A binary tensor over raw element bytes (little-endian elements; length-prefixed UTF-8 for strings), checked against
 * `dtype` and `dims` as {@link tensorFromBytes} checks them, without base64: `bytes` is kept as given (not copied) and
 * `data` is a lazy, non-enumerable base64 view of it.
 */
export function binaryTensor(name: string, dtype: Dtype, dims: readonly number[], bytes: Uint8Array): BinaryTensor {
  checkName(name);
  checkDtype(dtype, name);
  if (!(bytes instanceof Uint8Array))
    throw new TensorError(name, `bytes must be a Uint8Array, got ${describeArray(bytes)}`);
  checkLength(name, dtype, dims, bytes);
  if (dtype === "bool") checkBools(bytes, name);
  return withLazyData({ name, dtype, dims: [...dims], bytes });
}

/** {@link encodeTensor}, as a {@link BinaryTensor}: the little-endian element bytes without base64. */
export function encodeBinaryTensor<D extends Dtype>(
  name: string,
  dtype: D,
  dims: readonly number[],
  values: DtypeArrays[D],
): BinaryTensor {
  checkName(name);
  checkDtype(dtype, name);
  if (dtype === "string") {
    const strings = values as string[];
    if (!Array.isArray(strings))
      throw new TensorError(name, `dtype string needs an array of strings, got ${describeArray(values)}`);
    checkCount(name, dims, strings.length);
    return withLazyData({ name, dtype, dims: [...dims], bytes: encodeStrings(strings, name) });
  }
  const type = ARRAY_TYPES[dtype as FixedDtype];
  if (!(values instanceof type)) {
    throw new TensorError(name, `dtype ${dtype} needs a ${type.name}, got ${describeArray(values)}`);
  }
  const typed = values as FixedDtypeArrays[FixedDtype];
  checkCount(name, dims, typed.length);
  const view = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  if (dtype === "bool") checkBools(view, name);
  // A copy: the tensor must not change when the caller reuses its array.
  const bytes =
    LITTLE_ENDIAN_HOST || type.BYTES_PER_ELEMENT === 1 ? view.slice() : swapBytes(view, type.BYTES_PER_ELEMENT);
  return withLazyData({ name, dtype, dims: [...dims], bytes });
}

/**
 * Gives `tensor` (which carries `bytes`) a non-enumerable `data` getter: the base64 of the bytes, encoded on first read
 * and remembered. Non-enumerable, so spreading, `Object.keys` and canonical JSON see only `bytes`. Returns `tensor`.
 */
export function withLazyData<T extends Omit<BinaryTensor, "data">>(tensor: T): T & BinaryTensor {
  let data: string | undefined;
  const bytes = tensor.bytes;
  Object.defineProperty(tensor, "data", {
    get: () => (data ??= toBase64(bytes)),
    enumerable: false,
    configurable: true,
  });
  return tensor as T & BinaryTensor;
}

/**
 * The raw element bytes of `tensor`, after checking that its data is canonical base64 and that the bytes hold exactly
 * `product(dims)` elements of its dtype (`product(dims) * size(dtype)` bytes; for strings, that many length-prefixed
 * valid UTF-8 strings and nothing after them). These bytes are what the tensor hash covers. A binary tensor's
 * {@link Tensor.bytes} are checked the same way and returned as they are (no base64).
 */
export function tensorBytes(tensor: Tensor): Uint8Array {
  const name = typeof tensor.name === "string" ? tensor.name : "tensor";
  checkName(tensor.name);
  checkDtype(tensor.dtype, name);
  const raw = tensor.bytes;
  if (raw !== undefined && !(raw instanceof Uint8Array)) {
    throw new TensorError(name, `bytes must be a Uint8Array, got ${describeArray(raw)}`);
  }
  const bytes = raw ?? fromBase64(tensor.data, name);
  checkLength(name, tensor.dtype, tensor.dims, bytes);
  if (tensor.dtype === "bool") checkBools(bytes, name);
  return bytes;
}

/**
 * The elements of `tensor` in the typed array of its dtype (a fresh, aligned copy in host byte order), or for `string`
 * an array of strings.
 */
export function decodeTensor<D extends Dtype>(tensor: Tensor & { dtype: D }): DecodedTensor<D> {
  const bytes = tensorBytes(tensor);
  if (tensor.dtype === "string") {
    const values = decodeStrings(bytes, tensor.name) as DtypeArrays[D];
    return { name: tensor.name, dtype: tensor.dtype, dims: [...tensor.dims], values };
  }
  const type = ARRAY_TYPES[tensor.dtype as FixedDtype] as unknown as ArrayConstructorOf<DtypeArrays[D]>;
  const host = fromLittleEndian(bytes, type.BYTES_PER_ELEMENT);
  const buffer = new ArrayBuffer(host.length);
  new Uint8Array(buffer).set(host);
  const values = new type(buffer, 0, host.length / type.BYTES_PER_ELEMENT);
  return { name: tensor.name, dtype: tensor.dtype, dims: [...tensor.dims], values };
}

// ---------------------------------------------------------------------------------------------------------------------

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/**
 * Strict base64: the standard alphabet with padding, and the unused bits of the last character zero. Node's encoder
 * writes exactly that form, so data that re-encodes to itself is canonical; the slower scan for the reason runs only
 * on failure. (No regular expression: a backtracking one overflowed the stack on strings above ~4.5 MB.)
 */
function fromBase64(data: unknown, name: string): Uint8Array {
  if (typeof data !== "string") throw new TensorError(name, "data must be a base64 string");
  const bytes = Buffer.from(data, "base64");
  if (bytes.toString("base64") !== data) throw new TensorError(name, base64Problem(data));
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Why `data` is not canonical standard padded base64. */
function base64Problem(data: string): string {
  const what = "data is not standard padded base64 (RFC 4648 section 4)";
  if (data.length % 4 !== 0) return `${what}: its length ${data.length} is not a multiple of 4`;
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  for (let i = 0; i < data.length - padding; i++) {
    const c = data.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
    if (!ok) return `${what}: character ${i} is ${JSON.stringify(data[i])}`;
  }
  return "data is not canonical base64 (non-zero pad bits)";
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

function checkCount(name: string, dims: readonly number[], given: number): void {
  const count = elementCount(dims, name);
  if (given !== count) {
    throw new TensorError(name, `dims [${dims.join(", ")}] hold ${count} element(s) but ${given} value(s) were given`);
  }
}

function checkDtype(dtype: unknown, name: string): asserts dtype is Dtype {
  if (!isDtype(dtype)) {
    throw new TensorError(name, `dtype ${JSON.stringify(dtype)} is not supported (supported: ${DTYPES.join(", ")})`);
  }
}

function checkLength(name: string, dtype: Dtype, dims: readonly number[], bytes: Uint8Array): void {
  const count = elementCount(dims, name);
  if (dtype === "string") {
    const held = decodeStrings(bytes, name).length;
    if (held !== count) {
      throw new TensorError(
        name,
        `string dims [${dims.join(", ")}] need ${count} string(s) but data holds ${held} string(s)`,
      );
    }
    return;
  }
  const byteLength = bytes.length;
  const expected = count * DTYPE_SIZES[dtype];
  if (byteLength !== expected) {
    throw new TensorError(
      name,
      `${dtype} dims [${dims.join(", ")}] need ${expected} bytes (${count} x ${DTYPE_SIZES[dtype]}) but data holds ` +
        `${byteLength}`,
    );
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Each string as its UTF-8 byte length (uint32 little-endian) and its UTF-8 bytes, concatenated. */
function encodeStrings(strings: readonly unknown[], name: string): Uint8Array {
  const parts: Buffer[] = [];
  let total = 0;
  strings.forEach((value, i) => {
    if (typeof value !== "string") throw new TensorError(name, `string element ${i} is not a string (${typeof value})`);
    const at = value.search(LONE_SURROGATE);
    if (at >= 0) {
      throw new TensorError(name, `string element ${i} has a lone surrogate at ${at}: it has no UTF-8 form`);
    }
    const utf8 = Buffer.from(value, "utf8");
    if (utf8.length > 0xffffffff) throw new TensorError(name, `string element ${i} is longer than 2^32 - 1 bytes`);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(utf8.length, 0);
    parts.push(head, utf8);
    total += 4 + utf8.length;
  });
  const out = Buffer.concat(parts, total);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** The strings of length-prefixed UTF-8 element bytes; throws unless the bytes are exactly that. */
function decodeStrings(bytes: Uint8Array, name: string): string[] {
  const strings: string[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    const i = strings.length;
    if (bytes.length - at < 4) {
      const rest = bytes.length - at;
      throw new TensorError(name, `string element ${i}: ${rest} trailing byte(s) are not a full uint32 length`);
    }
    const length = view.getUint32(at, true);
    at += 4;
    if (bytes.length - at < length) {
      throw new TensorError(
        name,
        `string element ${i} needs ${length} bytes but ${bytes.length - at} remain (the data holds strings as a ` +
          "uint32 little-endian UTF-8 length and the bytes)",
      );
    }
    try {
      strings.push(UTF8.decode(bytes.subarray(at, at + length)));
    } catch {
      throw new TensorError(name, `string element ${i} is not valid UTF-8`);
    }
    at += length;
  }
  return strings;
}

function checkBools(bytes: Uint8Array, name: string): void {
  const bad = bytes.findIndex((b) => b > 1);
  if (bad >= 0) throw new TensorError(name, `bool element ${bad} is ${bytes[bad]}; bools must be 0 or 1`);
}

function describeArray(values: unknown): string {
  if (typeof values === "object" && values !== null) return values.constructor?.name ?? "an object";
  return typeof values;
}
