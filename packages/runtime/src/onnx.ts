import * as ort from "onnxruntime-node";
import { decodeTensor, encodeTensor, isDtype, DTYPES, type DecodedTensor, type Dtype, type Tensor } from "@strata/core";
import { InvalidInputError, NotOnnxModelError } from "./errors";

/**
 * A tensor as the node's HTTP API carries it: `data` is either a JSON array of numbers (int64/uint64 also as decimal
 * strings, bool as true/false) or the base64 of the little-endian element bytes (as proofs carry it).
 */
export interface TensorJson {
  dtype: Dtype;
  dims: number[];
  data: (number | string | boolean)[] | string;
}

/** One input or output of a model: name, element type and shape (symbolic dimensions as strings). */
export interface TensorSignature {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

/** A model's inputs and outputs. */
export interface ModelSignature {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

/**
 * Session settings pinned for reproducible bits and written into every proof. Graph optimisation 'all' gave different
 * bits on different CPU generations; 'extended' did not. One intra-op thread was also the fastest on 2 vCPUs.
 */
export const RUNTIME_SETTINGS = {
  engine: "onnxruntime-node",
  version: ort.env.versions.node ?? "unknown",
  graphOptimizationLevel: "extended",
  executionMode: "sequential",
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionProviders: ["cpu"],
  platform: `${process.platform}-${process.arch}`,
} as const;

/** The ONNX Runtime session options every session uses: {@link RUNTIME_SETTINGS}. */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: RUNTIME_SETTINGS.graphOptimizationLevel,
  executionMode: RUNTIME_SETTINGS.executionMode,
  intraOpNumThreads: RUNTIME_SETTINGS.intraOpNumThreads,
  interOpNumThreads: RUNTIME_SETTINGS.interOpNumThreads,
  executionProviders: [...RUNTIME_SETTINGS.executionProviders],
  logSeverityLevel: 3,
};

/** A loaded model: its signature and a pinned ONNX Runtime session. */
export class ModelSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly signature: ModelSignature,
  ) {}

  /** Loads `model` (a path or the file's bytes); `source` names it in errors. */
  static async load(model: string | Uint8Array, source: string): Promise<ModelSession> {
    let session: ort.InferenceSession;
    try {
      session =
        typeof model === "string"
          ? await ort.InferenceSession.create(model, SESSION_OPTIONS)
          : await ort.InferenceSession.create(model, SESSION_OPTIONS);
    } catch (error) {
      throw new NotOnnxModelError(source, firstLine(error));
    }
    return new ModelSession(session, signatureOf(session));
  }

  /** Runs the model on `inputs`, checked against the signature first (names, dtypes, shapes). */
  async run(inputs: readonly DecodedTensor[]): Promise<DecodedTensor[]> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const tensor of inputs) {
      const expected = this.signature.inputs.find((s) => s.name === tensor.name);
      if (!expected) {
        throw new InvalidInputError(
          tensor.name,
          `the model has no input "${tensor.name}"; it takes ${describe(this.signature.inputs)}`,
        );
      }
      if (feeds[tensor.name]) throw new InvalidInputError(tensor.name, `input "${tensor.name}" is given twice`);
      checkAgainst(expected, tensor);
      feeds[tensor.name] = new ort.Tensor(tensor.dtype, tensor.values, tensor.dims);
    }
    for (const expected of this.signature.inputs) {
      if (!feeds[expected.name]) {
        throw new InvalidInputError(
          expected.name,
          `input "${expected.name}" is missing; the model takes ${describe(this.signature.inputs)}`,
        );
      }
    }
    const results = await this.session.run(feeds);
    return this.signature.outputs.map(({ name }) => {
      const value = results[name];
      return { name, dtype: value.type as Dtype, dims: [...value.dims], values: value.data } as DecodedTensor;
    });
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function signatureOf(session: ort.InferenceSession): ModelSignature {
  const toSignature = (m: ort.InferenceSession.ValueMetadata): TensorSignature =>
    m.isTensor
      ? { name: m.name, dtype: m.type, shape: [...m.shape] }
      : { name: m.name, dtype: "non-tensor", shape: [] };
  return { inputs: session.inputMetadata.map(toSignature), outputs: session.outputMetadata.map(toSignature) };
}

function describe(signatures: TensorSignature[]): string {
  return signatures.map((s) => `"${s.name}" ${s.dtype}[${s.shape.join(", ")}]`).join(", ");
}

function checkAgainst(expected: TensorSignature, tensor: DecodedTensor): void {
  const where = `input "${expected.name}"`;
  if (tensor.dtype !== expected.dtype) {
    throw new InvalidInputError(expected.name, `${where} must be ${expected.dtype}, not ${tensor.dtype}`);
  }
  const shape = expected.shape;
  const matches =
    tensor.dims.length === shape.length && shape.every((d, i) => typeof d === "string" || d === tensor.dims[i]);
  if (!matches) {
    throw new InvalidInputError(
      expected.name,
      `${where} has shape [${tensor.dims.join(", ")}] but the model expects [${shape.join(", ")}]`,
    );
  }
}

const BIGINT_DTYPES = new Set<Dtype>(["int64", "uint64"]);

/** Turns an API tensor into a typed array, checking dtype, dims and data; errors name the tensor. */
export function tensorFromJson(name: string, json: TensorJson): DecodedTensor {
  const where = `input "${name}"`;
  if (!isDtype(json.dtype)) {
    throw new InvalidInputError(name, `${where} has dtype "${String(json.dtype)}"; use one of ${DTYPES.join(", ")}`);
  }
  try {
    if (typeof json.data === "string") {
      return decodeTensor({ name, dtype: json.dtype, dims: json.dims, data: json.data });
    }
    const values = json.data.map((v, i) => {
      if (BIGINT_DTYPES.has(json.dtype)) {
        if (typeof v === "boolean" || (typeof v === "number" && !Number.isSafeInteger(v)))
          throw new Error(`data[${i}]`);
        return BigInt(v);
      }
      if (json.dtype === "bool") {
        if (typeof v !== "boolean" && v !== 0 && v !== 1) throw new Error(`data[${i}] = ${JSON.stringify(v)}`);
        return v ? 1 : 0;
      }
      if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`data[${i}] = ${JSON.stringify(v)}`);
      return v;
    });
    const encoded = encodeTensor(name, json.dtype, json.dims, typedArrayOf(json.dtype, values));
    return decodeTensor(encoded);
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError(name, `${where} is not a valid ${json.dtype} tensor: ${firstLine(error)}`);
  }
}

function typedArrayOf(dtype: Dtype, values: (number | bigint)[]): DecodedTensor["values"] {
  const make = {
    float16: () => Uint16Array.from(values as number[]),
    float32: () => Float32Array.from(values as number[]),
    float64: () => Float64Array.from(values as number[]),
    int8: () => Int8Array.from(values as number[]),
    uint8: () => Uint8Array.from(values as number[]),
    int16: () => Int16Array.from(values as number[]),
    uint16: () => Uint16Array.from(values as number[]),
    int32: () => Int32Array.from(values as number[]),
    uint32: () => Uint32Array.from(values as number[]),
    int64: () => BigInt64Array.from(values as bigint[]),
    uint64: () => BigUint64Array.from(values as bigint[]),
    bool: () => Uint8Array.from(values as number[]),
  }[dtype];
  return make();
}

/** The API form of a tensor: numbers (int64/uint64 as decimal strings so no precision is lost, bool as booleans). */
export function tensorToJson(tensor: DecodedTensor): TensorJson {
  const values = tensor.values as ArrayLike<number | bigint>;
  const data = Array.from(values, (v): number | string | boolean =>
    typeof v === "bigint" ? v.toString() : tensor.dtype === "bool" ? v !== 0 : v,
  );
  return { dtype: tensor.dtype, dims: [...tensor.dims], data };
}

/** The serialized (proof) form of a decoded tensor. */
export function toProofTensor(tensor: DecodedTensor): Tensor {
  return encodeTensor(tensor.name, tensor.dtype, tensor.dims, tensor.values);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}
