import { expect } from "chai";
import {
  decodeTensor,
  DTYPE_SIZES,
  DTYPES,
  elementCount,
  encodeTensor,
  TensorError,
  tensorBytes,
  tensorFromBytes,
  type DtypeArrays,
  type Tensor,
} from "../src";

const SAMPLES: { [D in keyof DtypeArrays]: DtypeArrays[D] } = {
  float16: new Uint16Array([0x3c00, 0xc000, 0x7e00]),
  float32: new Float32Array([1.5, -0, Number.NaN, Infinity, 3.4e38, 1e-45]),
  float64: new Float64Array([Math.PI, -0, Number.NaN, -Infinity]),
  int8: new Int8Array([-128, 0, 127]),
  uint8: new Uint8Array([0, 128, 255]),
  int16: new Int16Array([-32768, 1, 32767]),
  uint16: new Uint16Array([0, 65535]),
  int32: new Int32Array([-2147483648, 2147483647]),
  uint32: new Uint32Array([0, 4294967295]),
  int64: new BigInt64Array([-(2n ** 63n), -1n, 2n ** 63n - 1n]),
  uint64: new BigUint64Array([0n, 2n ** 64n - 1n]),
  bool: new Uint8Array([0, 1, 1]),
};

function bytesOf(values: ArrayBufferView): number[] {
  return [...new Uint8Array(values.buffer, values.byteOffset, values.byteLength)];
}

describe("core tensors: typed arrays <-> base64 little-endian", function () {
  it("round-trips every dtype bit for bit (NaN, -0 and infinities included)", function () {
    for (const dtype of DTYPES) {
      const values = SAMPLES[dtype];
      const tensor = encodeTensor(`t_${dtype}`, dtype, [values.length], values);
      const decoded = decodeTensor(tensor);
      expect(decoded.dtype, dtype).to.equal(dtype);
      expect(decoded.values.constructor, dtype).to.equal(values.constructor);
      expect(bytesOf(decoded.values), dtype).to.deep.equal(bytesOf(values));
      expect(tensorBytes(tensor).length, dtype).to.equal(values.length * DTYPE_SIZES[dtype]);
    }
  });

  it("writes elements little-endian", function () {
    expect(encodeTensor("x", "float32", [1], new Float32Array([1])).data).to.equal(
      Buffer.from([0x00, 0x00, 0x80, 0x3f]).toString("base64"),
    );
    expect([...tensorBytes(encodeTensor("x", "int64", [1], new BigInt64Array([-2n])))]).to.deep.equal([
      0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    expect([...tensorBytes(encodeTensor("x", "uint16", [1], new Uint16Array([0x0102])))]).to.deep.equal([0x02, 0x01]);
  });

  it("encodes a view into a larger buffer without the bytes around it", function () {
    const backing = new Float32Array([9, 1, 2, 9]);
    const tensor = encodeTensor("view", "float32", [2], backing.subarray(1, 3));
    expect([...decodeTensor(tensor).values]).to.deep.equal([1, 2]);
  });

  it("handles scalars (dims []) and empty tensors (a zero dim)", function () {
    expect(elementCount([])).to.equal(1);
    expect(decodeTensor(encodeTensor("s", "float64", [], new Float64Array([2.5]))).values[0]).to.equal(2.5);
    const empty = encodeTensor("e", "int32", [0, 3], new Int32Array(0));
    expect(empty.data).to.equal("");
    expect(decodeTensor(empty).values.length).to.equal(0);
  });

  it("decodes unaligned data into an aligned array", function () {
    const tensor = tensorFromBytes("raw", "float64", [1], new Uint8Array([0, 0, 0, 0, 0, 0, 0xf0, 0x3f]));
    expect(decodeTensor(tensor).values[0]).to.equal(1);
  });

  describe("consistency checks, naming the tensor", function () {
    it("rejects values whose count disagrees with dims", function () {
      expect(() => encodeTensor("logits", "float32", [2, 3], new Float32Array(5))).to.throw(
        TensorError,
        'Tensor "logits": dims [2, 3] hold 6 element(s) but 5 value(s) were given',
      );
    });

    it("rejects a typed array of another dtype", function () {
      expect(() => encodeTensor("x", "float32", [1], new Float64Array(1) as never)).to.throw(
        TensorError,
        /dtype float32 needs a Float32Array, got Float64Array/,
      );
      expect(() => encodeTensor("x", "int32", [1], new Uint32Array(1) as never)).to.throw(TensorError, /Int32Array/);
      // Subclasses are the same bytes: a Buffer is a Uint8Array.
      expect(encodeTensor("x", "uint8", [1], Buffer.from([7])).data).to.equal("Bw==");
    });

    it("rejects negative, fractional and non-numeric dims", function () {
      expect(() => elementCount([2, -1], "t")).to.throw(TensorError, /dims\[1\] must be a non-negative integer/);
      expect(() => elementCount([1.5], "t")).to.throw(TensorError, /dims\[0\]/);
      expect(() => elementCount(["3" as never], "t")).to.throw(TensorError, /dims\[0\]/);
    });

    it("rejects bools other than 0 and 1", function () {
      expect(() => encodeTensor("mask", "bool", [2], new Uint8Array([1, 2]))).to.throw(
        TensorError,
        /bool element 1 is 2/,
      );
    });

    it("rejects data whose length disagrees with dtype and dims", function () {
      const tensor: Tensor = { name: "y", dtype: "float32", dims: [3], data: Buffer.alloc(8).toString("base64") };
      expect(() => tensorBytes(tensor)).to.throw(
        TensorError,
        'Tensor "y": float32 dims [3] need 12 bytes (3 x 4) but data holds 8',
      );
      expect(() => tensorFromBytes("z", "int64", [2], new Uint8Array(15))).to.throw(TensorError, /need 16 bytes/);
    });

    it("rejects data that is not canonical padded base64", function () {
      for (const data of ["AAAA AAA=", "AAAAAA", "AAAAAA-_", "AB==", 12]) {
        const tensor = { name: "b", dtype: "uint8", dims: [1], data } as unknown as Tensor;
        expect(() => tensorBytes(tensor), String(data)).to.throw(TensorError, /Tensor "b": data/);
      }
    });

    it("rejects unsupported dtypes and empty names", function () {
      const strings = { name: "s", dtype: "string", dims: [1], data: "" } as unknown as Tensor;
      expect(() => tensorBytes(strings)).to.throw(TensorError, /dtype "string" is not supported/);
      expect(() => encodeTensor("", "uint8", [1], new Uint8Array(1))).to.throw(TensorError, /name must be a non-empty/);
    });
  });
});
