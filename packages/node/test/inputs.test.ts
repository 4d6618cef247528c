/**
 * Inputs are checked, not coerced: the JSON tensor form is lossless (NaN, infinities, -0, 64-bit integers, strings),
 * every element is checked against its dtype, requests are validated strictly, errors raised before routing use the
 * node's error shape, and large tensors work.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "hardhat";
import * as ort from "onnxruntime-node";
import { onnx } from "onnx-proto";
import type { FastifyInstance } from "fastify";
import { deployAndAdmit, startTestWalrus, type TestWalrus } from "@strata/devkit";
import {
  decodeProof,
  decodeTensor,
  encodeTensor,
  proofCommitment,
  StrataClient,
  tensorBytes,
  type Dtype,
} from "@strata/core";
import { buildMlp, publishModel, tensorFromJson, tensorToJson, type TensorJson } from "@strata/runtime";
import { WalrusClient } from "@strata/walrus";
import { buildServer, DEFAULT_BODY_LIMIT, InferenceNode } from "@strata/node";

// 30 shards hold a blob of ~16 MB: the large-tensor proofs here (up to ~9.4 MB) fit a batch (10 shards hold ~1.8 MB).
const SHARDS = 30;
const T = onnx.TensorProto.DataType;

// ---------------------------------------------------------------------------------------------------------------------
// Tiny ONNX graphs (built with onnx-proto, as runtime/src/models/mlp.ts builds the MLP)

function valueInfo(name: string, elemType: number, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function graphModel(
  name: string,
  node: onnx.INodeProto[],
  input: onnx.IValueInfoProto[],
  output: onnx.IValueInfoProto[],
): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: "strata-test",
    opsetImport: [{ domain: "", version: 13 }],
    graph: { name, node, input, output },
  }).finish();
}

/** ONNX's test_operator_sqrt, for float32 and float64: y = Sqrt(x), e = Sqrt(d). */
const SQRT = graphModel(
  "sqrt",
  [
    { opType: "Sqrt", input: ["x"], output: ["y"] },
    { opType: "Sqrt", input: ["d"], output: ["e"] },
  ],
  [valueInfo("x", T.FLOAT, ["n"]), valueInfo("d", T.DOUBLE, ["n"])],
  [valueInfo("y", T.FLOAT, ["n"]), valueInfo("e", T.DOUBLE, ["n"])],
);

/** Identity on every integer-like dtype: the outputs are the inputs, bit for bit. */
const INT_DTYPES: [string, number, Dtype][] = [
  ["i8", T.INT8, "int8"],
  ["u8", T.UINT8, "uint8"],
  ["i32", T.INT32, "int32"],
  ["u32", T.UINT32, "uint32"],
  ["i64", T.INT64, "int64"],
  ["u64", T.UINT64, "uint64"],
  ["h", T.FLOAT16, "float16"],
  ["b", T.BOOL, "bool"],
];
const IDENTITY = graphModel(
  "identity",
  INT_DTYPES.map(([name]) => ({ opType: "Identity", input: [name], output: [`${name}_out`] })),
  INT_DTYPES.map(([name, type]) => valueInfo(name, type, ["n"])),
  INT_DTYPES.map(([name, type]) => valueInfo(`${name}_out`, type, ["n"])),
);

/** A StringNormalizer (upper case, stopword "the") and an Identity on a string input. */
const STRINGS = graphModel(
  "strings",
  [
    {
      opType: "StringNormalizer",
      input: ["s"],
      output: ["upper"],
      attribute: [
        { name: "case_change_action", type: onnx.AttributeProto.AttributeType.STRING, s: Buffer.from("UPPER") },
        { name: "locale", type: onnx.AttributeProto.AttributeType.STRING, s: Buffer.from("C.UTF-8") },
        { name: "stopwords", type: onnx.AttributeProto.AttributeType.STRINGS, strings: [Buffer.from("the")] },
      ],
    },
    { opType: "Identity", input: ["s"], output: ["same"] },
  ],
  [valueInfo("s", T.STRING, ["n"])],
  [valueInfo("upper", T.STRING, ["m"]), valueInfo("same", T.STRING, ["n"])],
);

/** 64 outputs: o0 = x tiled to [250000, 4] (5.3 MB of base64 in the proof), o1 … o63 = x. */
const WIDE = onnx.ModelProto.encode({
  irVersion: 8,
  producerName: "strata-test",
  opsetImport: [{ domain: "", version: 13 }],
  graph: {
    name: "wide",
    node: [
      { opType: "Tile", input: ["x", "repeats"], output: ["o0"] },
      ...Array.from({ length: 63 }, (_, i) => ({ opType: "Identity", input: ["x"], output: [`o${i + 1}`] })),
    ],
    initializer: [
      {
        name: "repeats",
        dims: [2],
        dataType: T.INT64,
        rawData: new Uint8Array(new BigInt64Array([250_000n, 1n]).buffer),
      },
    ],
    input: [valueInfo("x", T.FLOAT, [1, 4])],
    output: [
      valueInfo("o0", T.FLOAT, [250_000, 4]),
      ...Array.from({ length: 63 }, (_, i) => valueInfo(`o${i + 1}`, T.FLOAT, [1, 4])),
    ],
  },
}).finish();

/** ONNX's test_MaxPool2d_stride_padding_dilation operator (kernel 2, stride 2, pads 1, dilations 2) on [1,1,H,W]. */
const MAXPOOL = graphModel(
  "maxpool",
  [
    {
      opType: "MaxPool",
      input: ["x"],
      output: ["y"],
      attribute: [
        { name: "kernel_shape", type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 2] },
        { name: "strides", type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 2] },
        { name: "pads", type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 1, 1, 1] },
        { name: "dilations", type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 2] },
      ],
    },
  ],
  [valueInfo("x", T.FLOAT, [1, 1, "h", "w"])],
  [valueInfo("y", T.FLOAT, [1, 1, "oh", "ow"])],
);

const MLP = buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 9 });

const MODELS = { sqrt: SQRT, identity: IDENTITY, strings: STRINGS, wide: WIDE, maxpool: MAXPOOL, mlp: MLP };

// ---------------------------------------------------------------------------------------------------------------------

interface Env {
  walrus: TestWalrus;
  dirs: string[];
  node: InferenceNode;
  app: FastifyInstance;
}

async function setup(): Promise<Env> {
  const [deployer, owner, nodeSigner] = await ethers.getSigners();
  const { deployment } = await deployAndAdmit(deployer, {
    network: "hardhat",
    nodes: [{ address: nodeSigner.address, url: "http://127.0.0.1:31417" }],
  });
  const walrus = await startTestWalrus({ shards: SHARDS, prefix: "strata-inputs-walrus-" });
  const walrusClient = walrus.client;
  const ownerClient = StrataClient.connect(deployment, owner);
  for (const [name, file] of Object.entries(MODELS)) {
    await publishModel({ client: ownerClient, walrus: walrusClient, file, name, epochs: 5 });
  }
  const dataDir = await mkdtemp(join(tmpdir(), "strata-inputs-node-"));
  const node = await InferenceNode.start({
    dataDir,
    signer: nodeSigner,
    client: StrataClient.connect(deployment, ethers.provider),
    walrus: walrusClient,
    defaultModelOwner: owner.address,
    batch: { maxBatch: 1_000, maxAgeMs: 3_600_000 },
  });
  return { walrus, dirs: [dataDir], node, app: buildServer(node) };
}

type Inputs = Record<string, TensorJson | Record<string, unknown>>;

/** An answer of POST /v1/infer: outputs and proof on success, error otherwise. */
interface Answer {
  outputs: Record<string, TensorJson>;
  proof: { commitment: string };
  error: { code: string; message: string };
}

async function infer(env: Env, model: string, inputs: Inputs, extra: Record<string, unknown> = {}) {
  const response = await env.app.inject({ method: "POST", url: "/v1/infer", payload: { model, inputs, ...extra } });
  return { status: response.statusCode, body: response.json() as Answer };
}

/** The error of a 4xx answer, after checking its status and shape. */
async function refused(env: Env, status: number, model: string, inputs: Inputs): Promise<string> {
  const { status: got, body } = await infer(env, model, inputs);
  expect(got, JSON.stringify(body)).to.equal(status);
  const error = (body as { error: { code: string; message: string } }).error;
  expect(error.code).to.be.a("string");
  return error.message;
}

const hex = (values: ArrayBufferView) =>
  Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString("hex");

/** The proof the node signed for `commitment`: its patch in the quilt the node stored, checked against it. */
async function proofOf(env: Env, commitment: string) {
  await env.node.outbox.flush();
  const status = (await env.app.inject({ method: "GET", url: `/v1/proofs/${commitment}` })).json();
  const patch = await new WalrusClient({ aggregatorUrls: [env.walrus.url], shards: SHARDS }).readPatch(status.patchId, {
    verify: (bytes) => expect(proofCommitment(decodeProof(bytes))).to.equal(commitment),
  });
  return decodeProof(patch.bytes);
}

describe("Node inputs: checked, not coerced", function () {
  let env: Env;
  before(async function () {
    env = await setup();
  });
  after(async function () {
    await env?.node.close();
    await env?.walrus.close();
    for (const dir of env?.dirs ?? []) await rm(dir, { recursive: true, force: true });
  });

  const ints = (overrides: Record<string, TensorJson["data"]> = {}): Inputs => {
    const base: Record<string, TensorJson["data"]> = {
      i8: [-128, 127],
      u8: [0, 255],
      i32: [-2147483648, 2147483647],
      u32: [0, 4294967295],
      i64: ["-9223372036854775808", "9223372036854775807"],
      u64: ["0", "18446744073709551615"],
      h: [0x3c00, 0x7e00],
      b: [true, false],
      ...overrides,
    };
    const dtypes = Object.fromEntries(INT_DTYPES.map(([name, , dtype]) => [name, dtype]));
    return Object.fromEntries(
      Object.entries(base).map(([name, data]) => [name, { dtype: dtypes[name], dims: [data.length], data }]),
    );
  };

  describe("integers", function () {
    it("refuses an int8 value out of range with 400 naming the tensor, index, value and range", async function () {
      const message = await refused(env, 400, "identity", ints({ i8: [1, 300] }));
      expect(message).to.match(/input "i8".*data\[1\] = 300 is out of range; int8 takes integers from -128 to 127/);
    });

    it("refuses a fractional value for an integer dtype with 400", async function () {
      const message = await refused(env, 400, "identity", ints({ u32: [1.5, 2] }));
      expect(message).to.match(/input "u32".*data\[0\] = 1.5 is not an integer; uint32 takes integers from 0/);
    });

    it("round-trips int64 and uint64 beyond 2^53 exactly, as decimal strings", async function () {
      const i64 = ["-9223372036854775808", "9007199254740993"];
      const u64 = ["18446744073709551615", "9007199254740993"];
      const { status, body } = await infer(env, "identity", ints({ i64, u64 }));
      expect(status, JSON.stringify(body)).to.equal(200);
      const outputs = (body as { outputs: Record<string, TensorJson> }).outputs;
      expect(outputs.i64_out.data).to.deep.equal(i64);
      expect(outputs.u64_out.data).to.deep.equal(u64);
      expect(outputs.i8_out.data).to.deep.equal([-128, 127]);
      expect(outputs.b_out.data).to.deep.equal([true, false]);
      expect(outputs.h_out.data).to.deep.equal([0x3c00, 0x7e00]);
    });

    for (const [label, value, why] of [
      ["out of range", "9223372036854775808", /out of range; int64 takes integers from -9223372036854775808/],
      ["hex", "0x10", /is not a decimal integer/],
      ["empty", "", /is not a decimal integer/],
      ["leading zero", "010", /is not a decimal integer/],
      [
        "2^53 as a JSON number",
        2 ** 53,
        /outside ±\(2\^53 - 1\), where JSON numbers lose precision; send it as a decimal string/,
      ],
    ] as const) {
      it(`refuses an int64 element (${label}) with 400`, async function () {
        const message = await refused(env, 400, "identity", ints({ i64: [value, "1"] }));
        expect(message).to.match(/input "i64".*data\[0\]/);
        expect(message).to.match(why);
      });
    }

    it("refuses a negative uint64 and a string for int8 with 400", async function () {
      expect(await refused(env, 400, "identity", ints({ u64: ["-1", "0"] }))).to.match(/out of range; uint64/);
      expect(await refused(env, 400, "identity", ints({ i8: ["1", 2] }))).to.match(/data\[0\] = "1" is not an integer/);
    });
  });

  describe("floats: NaN, infinities and -0 survive the JSON form", function () {
    it("answers ONNX's test_operator_sqrt on NaN, -0 and infinities bit-identical to ONNX Runtime", async function () {
      const x = [4, 0, "-0", "NaN", "-NaN", "NaN:0x7fc00001", "Infinity", "-Infinity", -1, 2];
      const d = [4, 0, "-0", "NaN", "-NaN", "NaN:0x7ff0000000000001", "Infinity", "-Infinity", -1, 2];
      const inputs = {
        x: { dtype: "float32", dims: [x.length], data: x },
        d: { dtype: "float64", dims: [d.length], data: d },
      };
      const { status, body } = await infer(env, "sqrt", inputs);
      expect(status, JSON.stringify(body)).to.equal(200);
      const answer = body as { outputs: Record<string, TensorJson>; proof: { commitment: string } };

      const xs = decodeTensor(tensorFromJsonChecked("x", inputs.x as TensorJson));
      const ds = decodeTensor(tensorFromJsonChecked("d", inputs.d as TensorJson));
      // The JSON input form carries these exact bits.
      expect(hex(xs.values as Float32Array)).to.equal(
        "00008040" +
          "00000000" +
          "00000080" +
          "0000c07f" +
          "0000c0ff" +
          "0100c07f" +
          "0000807f" +
          "000080ff" +
          "000080bf" +
          "00000040",
      );
      const session = await ort.InferenceSession.create(SQRT, { graphOptimizationLevel: "extended" });
      const raw = await session.run({
        x: new ort.Tensor("float32", xs.values as Float32Array, [x.length]),
        d: new ort.Tensor("float64", ds.values as Float64Array, [d.length]),
      });
      await session.release();
      const y = tensorFromJson("y", answer.outputs.y).values as Float32Array;
      const e = tensorFromJson("e", answer.outputs.e).values as Float64Array;
      expect(hex(y)).to.equal(hex(raw.y.data as Float32Array));
      expect(hex(e)).to.equal(hex(raw.e.data as Float64Array));
      // Sqrt(-0) is -0 and Sqrt(-1) a NaN with the sign bit, both written as strings.
      expect(answer.outputs.y.data.slice(0, 3)).to.deep.equal([2, 0, "-0"]);
      expect(answer.outputs.y.data).to.include("Infinity");
      // And the proof's output bytes are the same bits.
      const doc = await proofOf(env, answer.proof.commitment);
      const proved = doc.output.tensors.find((t) => t.name === "y")!;
      expect(Buffer.from(tensorBytes(proved)).toString("hex")).to.equal(hex(raw.y.data as Float32Array));
    });

    it("refuses a float32 beyond float32's range, a NaN string of the wrong width and other strings with 400", async function () {
      const x = (data: TensorJson["data"]) => ({
        x: { dtype: "float32", dims: [1], data },
        d: { dtype: "float64", dims: [1], data: [1] },
      });
      expect(await refused(env, 400, "sqrt", x([1e39]))).to.match(/data\[0\] = 1e\+39 is beyond float32's range/);
      expect(await refused(env, 400, "sqrt", x(["NaN:0x7ff0000000000001"]))).to.match(/is not a number; float32 takes/);
      expect(await refused(env, 400, "sqrt", x(["NaN:0x7f800000"]))).to.match(/is not a number/); // infinity bits
      expect(await refused(env, 400, "sqrt", x(["1.5"]))).to.match(/data\[0\] = "1.5" is not a number/);
      expect(await refused(env, 400, "sqrt", x([true]))).to.match(/data\[0\] = true is not a number/);
    });
  });

  describe("string tensors", function () {
    it("runs a StringNormalizer end to end and proves the strings (length-prefixed UTF-8)", async function () {
      const words = ["the", "héllo", "", "😀 Ok", "world"];
      const { status, body } = await infer(env, "strings", { s: { dtype: "string", dims: [5], data: words } });
      expect(status, JSON.stringify(body)).to.equal(200);
      const answer = body as { outputs: Record<string, TensorJson>; proof: { commitment: string } };
      expect(answer.outputs.upper).to.deep.equal({ dtype: "string", dims: [4], data: ["HÉLLO", "", "😀 OK", "WORLD"] });
      expect(answer.outputs.same.data).to.deep.equal(words);
      const doc = await proofOf(env, answer.proof.commitment);
      const input = doc.input.tensors[0];
      expect(input.dtype).to.equal("string");
      expect(decodeTensor(input).values).to.deep.equal(words);
      expect([...tensorBytes(input).subarray(0, 7)]).to.deep.equal([3, 0, 0, 0, 0x74, 0x68, 0x65]);
    });

    it("accepts a string tensor in the base64 data form", async function () {
      const data = encodeTensor("s", "string", [2], ["a", "b"]).data;
      const { status, body } = await infer(env, "strings", { s: { dtype: "string", dims: [2], data } });
      expect(status, JSON.stringify(body)).to.equal(200);
      expect((body as { outputs: Record<string, TensorJson> }).outputs.upper.data).to.deep.equal(["A", "B"]);
    });

    it("refuses a non-string element, a lone surrogate and a NUL with 400", async function () {
      const s = (data: TensorJson["data"]) => ({ s: { dtype: "string", dims: [data.length], data } });
      expect(await refused(env, 400, "strings", s(["a", 1]))).to.match(/data\[1\] = 1 is not a string/);
      expect(await refused(env, 400, "strings", s(["\ud800"]))).to.match(/lone surrogate/);
      expect(await refused(env, 400, "strings", s(["a\u0000b"]))).to.match(/element 0 contains U\+0000/);
    });
  });

  describe("strict request validation", function () {
    const mlpInput = { x: { dtype: "float32", dims: [1, 4], data: [1, 2, 3, 4] } };

    it('refuses an unknown field ({"vesion": 5}) with 400 naming it', async function () {
      const { status, body } = await infer(env, "mlp", mlpInput, { vesion: 5 });
      expect(status).to.equal(400);
      expect(body.error.message).to.equal('invalid request: unknown field "vesion" in body');
      const tensor = await infer(env, "mlp", { x: { ...mlpInput.x, shape: [1, 4] } });
      expect(tensor.status).to.equal(400);
      expect(tensor.body.error.message).to.equal('invalid request: unknown field "shape" in body/inputs/x');
    });

    it("does not coerce types: a version string, a dims string or a data number is a 400", async function () {
      expect((await infer(env, "mlp", mlpInput, { version: "0" })).status).to.equal(400);
      expect((await infer(env, "mlp", { x: { ...mlpInput.x, dims: ["1", 4] } })).status).to.equal(400);
      expect((await infer(env, "mlp", { x: { ...mlpInput.x, data: 5 } })).status).to.equal(400);
    });

    it("accepts the documented base64 data form", async function () {
      const data = encodeTensor("x", "float32", [1, 4], new Float32Array([1, 2, 3, 4])).data;
      const { status, body } = await infer(env, "mlp", { x: { dtype: "float32", dims: [1, 4], data } });
      expect(status, JSON.stringify(body)).to.equal(200);
      const viaArray = await infer(env, "mlp", mlpInput);
      expect((body as { outputs: unknown }).outputs).to.deep.equal((viaArray.body as { outputs: unknown }).outputs);
    });
  });

  describe("errors before routing use the node's error shape", function () {
    const shape = (body: string) => {
      const parsed = JSON.parse(body) as { error: { code: string; message: string } };
      expect(Object.keys(parsed)).to.deep.equal(["error"]);
      expect(parsed.error.code).to.be.a("string");
      expect(parsed.error.message).to.be.a("string");
      return parsed.error;
    };

    it("answers a malformed URL with 400 {error: {code, message}}", async function () {
      const response = await env.app.inject({ method: "GET", url: "/v1/proofs/%zz" });
      expect(response.statusCode).to.equal(400);
      expect(shape(response.body).code).to.equal("BAD_URL");
    });

    it("answers bad JSON, a wrong content type and an empty body with 4xx {error: {code, message}}", async function () {
      const post = (payload: string, type = "application/json") =>
        env.app.inject({ method: "POST", url: "/v1/infer", headers: { "content-type": type }, payload });
      const bad = await post('{"model": ');
      expect(bad.statusCode).to.equal(400);
      expect(shape(bad.body)).to.include({ code: "BAD_JSON" });
      const type = await post("model=mlp", "application/x-www-form-urlencoded");
      expect(type.statusCode).to.equal(415);
      expect(shape(type.body).code).to.equal("UNSUPPORTED_MEDIA_TYPE");
      const empty = await post("");
      expect(empty.statusCode).to.equal(400);
      shape(empty.body);
    });

    it("answers a malformed HTTP request with 400 {error: {code, message}}", async function () {
      const app = buildServer(env.node);
      await app.listen({ port: 0, host: "127.0.0.1" });
      try {
        const { port } = app.server.address() as AddressInfo;
        const raw = await new Promise<string>((resolve, reject) => {
          const socket = connect(port, "127.0.0.1", () =>
            socket.write("GET /v1/health HTTP/1.1\r\nBad Header\r\n\r\n"),
          );
          let text = "";
          socket.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
          socket.on("end", () => resolve(text));
          socket.on("error", reject);
        });
        expect(raw.split("\r\n")[0]).to.equal("HTTP/1.1 400 Bad Request");
        expect(shape(raw.slice(raw.indexOf("\r\n\r\n") + 4)).code).to.equal("BAD_REQUEST");
      } finally {
        await app.close();
      }
    });

    it("answers a body over the limit with 413 {error: {code, message}} naming the limit", async function () {
      const small = buildServer(env.node, { bodyLimit: 1024 });
      const response = await small.inject({
        method: "POST",
        url: "/v1/infer",
        payload: { model: "mlp", inputs: { x: { dtype: "float32", dims: [1, 300], data: Array(300).fill(1.25) } } },
      });
      expect(response.statusCode).to.equal(413);
      const error = shape(response.body);
      expect(error.code).to.equal("BODY_TOO_LARGE");
      expect(error.message).to.match(/1024 bytes/);
      await small.close();
    });
  });

  describe("large tensors", function () {
    it("accepts a MaxPool2d input over 16 MiB of JSON (the default body limit fits it)", async function () {
      expect(DEFAULT_BODY_LIMIT).to.be.at.least(64 * 1024 * 1024);
      const [h, w] = [1024, 1280];
      const values = Float32Array.from({ length: h * w }, (_, i) => -1.2345678e-20 * (1 + (i % 97)));
      const payload = JSON.stringify({
        model: "maxpool",
        inputs: { x: { dtype: "float32", dims: [1, 1, h, w], data: Array.from(values) } },
      });
      expect(payload.length).to.be.greaterThan(18 * 1024 * 1024);
      const response = await env.app.inject({
        method: "POST",
        url: "/v1/infer",
        headers: { "content-type": "application/json" },
        payload,
      });
      expect(response.statusCode, response.body.slice(0, 500)).to.equal(200);
      expect(response.json().outputs.y.dims).to.deep.equal([1, 1, 512, 640]);
    });

    it("runs a [250000,4] float32 input in the base64 form", async function () {
      const values = Float32Array.from({ length: 250_000 * 4 }, (_, i) => (i % 13) - 6);
      const data = encodeTensor("x", "float32", [250_000, 4], values).data;
      const { status, body } = await infer(env, "mlp", { x: { dtype: "float32", dims: [250_000, 4], data } });
      expect(status, JSON.stringify(body).slice(0, 500)).to.equal(200);
      expect((body as { outputs: Record<string, TensorJson> }).outputs.y.dims).to.deep.equal([250_000, 3]);
    });

    it("runs a 64-output model whose largest output is a [250000,4] float32 tensor", async function () {
      const { status, body } = await infer(env, "wide", { x: { dtype: "float32", dims: [1, 4], data: [1, 2, 3, 4] } });
      expect(status, JSON.stringify(body).slice(0, 500)).to.equal(200);
      expect(Object.keys(body.outputs)).to.have.length(64);
      expect(body.outputs.o0.dims).to.deep.equal([250_000, 4]);
      expect(body.outputs.o0.data.slice(-4)).to.deep.equal([1, 2, 3, 4]);
      expect(body.outputs.o63.data).to.deep.equal([1, 2, 3, 4]);
    });
  });

  describe("the JSON form on its own", function () {
    it("writes every float32 and float64 bit pattern back as it read it", function () {
      const tricky = [0, -0, 1.5, Number.MIN_VALUE, -Infinity, Infinity, NaN];
      for (const dtype of ["float32", "float64"] as const) {
        const values = dtype === "float32" ? Float32Array.from(tricky) : Float64Array.from(tricky);
        const json = tensorToJson({ name: "t", dtype, dims: [values.length], values });
        const back = tensorFromJson("t", JSON.parse(JSON.stringify(json)) as TensorJson);
        expect(hex(back.values as Float32Array), dtype).to.equal(hex(values));
      }
    });
  });
});

/** The proof form of a JSON input, through the runtime's parser. */
function tensorFromJsonChecked(name: string, json: TensorJson) {
  const decoded = tensorFromJson(name, json);
  return encodeTensor(name, decoded.dtype, decoded.dims, decoded.values);
}
