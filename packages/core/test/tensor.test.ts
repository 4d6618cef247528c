import { expect } from "chai";
import {
  binaryTensor,
  decodeTensor,
  encodeBinaryTensor,
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
  string: ["a", "ü", ""],
};

function bytesOf(values: ArrayBufferView | string[]): number[] | string[] {
  if (Array.isArray(values)) return values;
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
      if (dtype !== "string") expect(tensorBytes(tensor).length, dtype).to.equal(values.length * DTYPE_SIZES[dtype]);
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
      const bf16 = { name: "s", dtype: "bfloat16", dims: [1], data: "AAA=" } as unknown as Tensor;
      expect(() => tensorBytes(bf16)).to.throw(TensorError, /dtype "bfloat16" is not supported/);
      expect(() => encodeTensor("", "uint8", [1], new Uint8Array(1))).to.throw(TensorError, /name must be a non-empty/);
    });
  });

  describe("large tensors", function () {
    it("checks and decodes a base64 data string above 4.5 MB (a [250000,4] float32 tensor) without a stack overflow", function () {
      const values = new Float32Array(250_000 * 4).map((_, i) => i * 0.5);
      const tensor = encodeTensor("x", "float32", [250_000, 4], values);
      expect(tensor.data.length).to.be.greaterThan(5_000_000);
      expect(tensorBytes(tensor).length).to.equal(4_000_000);
      expect(decodeTensor(tensor).values[999_999]).to.equal(999_999 * 0.5);
    });

    it("still rejects a bad character or non-zero pad bits deep inside a large data string", function () {
      const data = encodeTensor("x", "uint8", [3_000_000], new Uint8Array(3_000_000)).data;
      const bad = `${data.slice(0, 2_000_000)}*${data.slice(2_000_001)}`;
      expect(() => tensorBytes({ name: "x", dtype: "uint8", dims: [3_000_000], data: bad })).to.throw(
        TensorError,
        /data is not standard padded base64 .*character 2000000/,
      );
      expect(() => tensorBytes({ name: "x", dtype: "uint8", dims: [1], data: "AB==" })).to.throw(
        TensorError,
        /non-zero pad bits/,
      );
    });
  });

  describe("string tensors", function () {
    const words = ["abc", "héllo", "", "😀", "\ufeffbom"];

    it("round-trips UTF-8 strings through the length-prefixed element bytes", function () {
      const tensor = encodeTensor("s", "string", [5], words);
      const bytes = tensorBytes(tensor);
      // "abc" is its UTF-8 length (uint32 little-endian) and its bytes.
      expect([...bytes.subarray(0, 7)]).to.deep.equal([3, 0, 0, 0, 0x61, 0x62, 0x63]);
      const decoded = decodeTensor(tensor);
      expect(decoded.values).to.deep.equal(words);
      expect(tensorFromBytes("s", "string", [5], bytes).data).to.equal(tensor.data);
    });

    it("handles a [2,0] string tensor and a scalar", function () {
      expect(encodeTensor("e", "string", [2, 0], []).data).to.equal("");
      expect(decodeTensor(encodeTensor("one", "string", [], ["x"])).values).to.deep.equal(["x"]);
    });

    it("rejects strings that disagree with dims, are not strings, or are not well-formed UTF-16", function () {
      expect(() => encodeTensor("s", "string", [2], ["a"])).to.throw(TensorError, /hold 2 element\(s\) but 1/);
      expect(() => encodeTensor("s", "string", [1], [1 as never])).to.throw(TensorError, /element 0 is not a string/);
      expect(() => encodeTensor("s", "string", [1], ["a\ud800"])).to.throw(TensorError, /element 0 .*lone surrogate/);
    });

    it("rejects element bytes that are truncated, too long, or not UTF-8", function () {
      const bad =
        (bytes: number[], dims = [1]) =>
        () =>
          tensorFromBytes("s", "string", dims, new Uint8Array(bytes));
      expect(bad([3, 0, 0, 0, 0x61])).to.throw(TensorError, /element 0 needs 3 bytes/);
      expect(bad([1, 0, 0])).to.throw(TensorError, /element 0: 3 trailing byte\(s\) are not a full uint32 length/);
      expect(bad([1, 0, 0, 0, 0x61, 0])).to.throw(TensorError, /1 trailing byte/);
      expect(bad([1, 0, 0, 0, 0x61], [2])).to.throw(TensorError, /holds 1 string\(s\)/);
      expect(bad([2, 0, 0, 0, 0xc0, 0x80])).to.throw(TensorError, /element 0 is not valid UTF-8/);
    });
  });
});

describe("core binary tensors: raw little-endian bytes, base64 only on demand", function () {
  it("holds the same bytes as the base64 tensor for every dtype, and decodes to the same values", function () {
    for (const dtype of DTYPES) {
      const values = SAMPLES[dtype];
      const binary = encodeBinaryTensor(`t_${dtype}`, dtype, [values.length], values);
      const base64 = encodeTensor(`t_${dtype}`, dtype, [values.length], values);
      expect(Buffer.from(binary.bytes).toString("base64")).to.equal(base64.data, dtype);
      expect(binary.data).to.equal(base64.data, dtype);
      expect(bytesOf(decodeTensor(binary).values)).to.deep.equal(bytesOf(decodeTensor(base64).values));
      expect(tensorBytes(binary)).to.equal(binary.bytes);
      const raw = binaryTensor(`t_${dtype}`, dtype, [values.length], Buffer.from(base64.data, "base64"));
      expect(Buffer.from(raw.bytes).equals(Buffer.from(binary.bytes))).to.equal(true);
    }
  });

  it("keeps data out of its enumerable fields and copies the caller's array", function () {
    const values = new Float32Array([1, 2]);
    const tensor = encodeBinaryTensor("x", "float32", [2], values);
    expect(Object.keys(tensor).sort()).to.deep.equal(["bytes", "dims", "dtype", "name"]);
    expect(JSON.parse(JSON.stringify({ ...tensor }))).to.not.have.property("data");
    values[0] = 9;
    expect(decodeTensor(tensor).values[0]).to.equal(1);
  });

  it("handles zero-size tensors and scalars", function () {
    expect(encodeBinaryTensor("e", "float32", [0, 3], new Float32Array(0)).bytes.length).to.equal(0);
    expect(encodeBinaryTensor("s", "string", [2, 0], []).bytes.length).to.equal(0);
    expect(decodeTensor(encodeBinaryTensor("k", "int64", [], new BigInt64Array([-5n]))).values[0]).to.equal(-5n);
  });

  it("rejects bytes that disagree with dtype and dims, bad bools and bytes that are not a Uint8Array", function () {
    expect(() => binaryTensor("x", "float32", [2], new Uint8Array(7))).to.throw(TensorError, /need 8 bytes/);
    expect(() => binaryTensor("b", "bool", [1], new Uint8Array([2]))).to.throw(TensorError, /0 or 1/);
    expect(() => binaryTensor("s", "string", [1], new Uint8Array([5, 0, 0, 0, 97]))).to.throw(TensorError);
    expect(() => binaryTensor("x", "uint8", [1], [1] as unknown as Uint8Array)).to.throw(TensorError, /Uint8Array/);
    const forged = { name: "x", dtype: "float32" as const, dims: [1], data: "", bytes: [0, 0, 0, 0] };
    expect(() => tensorBytes(forged as unknown as Tensor)).to.throw(TensorError, /Uint8Array/);
  });
});
