import { expect } from "chai";
import {
  buildModelMetadata,
  canonicalJson,
  decodeModelMetadata,
  encodeModelMetadata,
  ModelMetadataFormatError,
  type ModelMetadataV1,
} from "../src";

const SIGNATURE = {
  inputs: [{ name: "x", dtype: "float32", shape: ["batch", 4] }],
  outputs: [{ name: "y", dtype: "float32", shape: ["batch", 3] }],
};

function formatError(run: () => unknown): ModelMetadataFormatError {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(ModelMetadataFormatError);
    return error as ModelMetadataFormatError;
  }
  throw new Error("expected a ModelMetadataFormatError");
}

describe("core model metadata (the blob a model's metadataBlobId points at)", function () {
  it("writes the bytes publishing wrote before: canonical JSON, empty optional fields left out", function () {
    const metadata = buildModelMetadata({
      name: "mnist",
      description: "digits",
      task: "image-classification",
      license: "",
      tags: [],
      signature: SIGNATURE,
      validatedWith: { engine: "onnxruntime-node", version: "1.30.0" },
    });
    // What runtime/src/publish.ts built by hand before this module: the same object, so the same bytes and Blob ID.
    const before = {
      version: 1,
      kind: "strata.model-metadata",
      name: "mnist",
      description: "digits",
      task: "image-classification",
      format: "onnx",
      signature: SIGNATURE,
      validatedWith: { engine: "onnxruntime-node", version: "1.30.0" },
    };
    expect(Buffer.from(encodeModelMetadata(metadata)).toString("utf8")).to.equal(canonicalJson(before));
  });

  it("writes what model create wrote before: no signature while there is no file", function () {
    const before = { version: 1, kind: "strata.model-metadata", name: "m", description: "d", format: "onnx" };
    const metadata = buildModelMetadata({ name: "m", description: "d" });
    expect(Buffer.from(encodeModelMetadata(metadata)).toString("utf8")).to.equal(canonicalJson(before));
    expect(decodeModelMetadata(canonicalJson(before))).to.deep.equal(before);
  });

  it("reads back every field it writes", function () {
    const metadata: ModelMetadataV1 = buildModelMetadata({
      name: "all",
      description: "every field",
      task: "regression",
      license: "Apache-2.0",
      tags: ["a", "b"],
      signature: SIGNATURE,
      validatedWith: { engine: "onnxruntime-node", version: "1.30.0" },
    });
    expect(decodeModelMetadata(encodeModelMetadata(metadata))).to.deep.equal(metadata);
  });

  it("refuses a document of another version, kind or format, naming the field", function () {
    const base = { version: 1, kind: "strata.model-metadata", name: "m", format: "onnx" };
    expect(formatError(() => decodeModelMetadata(JSON.stringify({ ...base, version: 2 }))).field).to.equal("version");
    expect(formatError(() => decodeModelMetadata(JSON.stringify({ ...base, version: 2 }))).message).to.match(
      /reads model metadata version 1/,
    );
    expect(formatError(() => decodeModelMetadata(JSON.stringify({ ...base, kind: "x" }))).field).to.equal("kind");
    expect(formatError(() => decodeModelMetadata(JSON.stringify({ ...base, format: "tflite" }))).field).to.equal(
      "format",
    );
  });

  it("refuses unknown fields, malformed signatures and bytes that are not JSON", function () {
    const base = { version: 1, kind: "strata.model-metadata", name: "m", format: "onnx" };
    expect(formatError(() => decodeModelMetadata(JSON.stringify({ ...base, extra: 1 }))).field).to.equal("extra");
    const badShape = { ...base, signature: { inputs: [{ name: "x", dtype: "float32", shape: [1.5] }], outputs: [] } };
    expect(formatError(() => decodeModelMetadata(JSON.stringify(badShape))).field).to.equal(
      "signature.inputs[0].shape[0]",
    );
    expect(formatError(() => decodeModelMetadata(JSON.stringify({ ...base, name: "" }))).field).to.equal("name");
    expect(formatError(() => decodeModelMetadata(new Uint8Array([0xff]))).field).to.equal("$");
    expect(formatError(() => decodeModelMetadata("[]")).field).to.equal("$");
  });

  it("refuses to write what it would refuse to read", function () {
    expect(formatError(() => buildModelMetadata({ name: "" })).field).to.equal("name");
  });
});
