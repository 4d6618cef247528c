import * as ort from "onnxruntime-node";
import { InvalidInputError, NotOnnxModelError } from "./errors";

/** Element types a request may use, with their typed arrays. */
export const DTYPES = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;
export type DType = keyof typeof DTYPES;
export type TypedArray = InstanceType<(typeof DTYPES)[DType]>;

/** A tensor as the API carries it: data as a JSON array of numbers (int64 also as decimal strings). */
export interface TensorJson {
  dtype: DType;
  dims: number[];
  data: (number | string | boolean)[];
}

/** A tensor with its data in a typed array. */
export interface Tensor {
  dtype: DType;
  dims: number[];
  data: TypedArray;
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
} as const;
export type RuntimeSettings = typeof RUNTIME_SETTINGS;

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
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

  /** Runs the model on `inputs`, checked against the signature first (names, dtypes, shapes, data lengths). */
  async run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const expected of this.signature.inputs) {
      const tensor = inputs[expected.name];
      if (!tensor) {
        throw new InvalidInputError(
          expected.name,
          `input "${expected.name}" is missing; the model takes ${describe(this.signature.inputs)}`,
        );
      }
      checkAgainst(expected, tensor);
      feeds[expected.name] = new ort.Tensor(tensor.dtype === "bool" ? "bool" : tensor.dtype, tensor.data, tensor.dims);
    }
    for (const name of Object.keys(inputs)) {
      if (!this.signature.inputs.some((s) => s.name === name)) {
        throw new InvalidInputError(
          name,
          `the model has no input "${name}"; it takes ${describe(this.signature.inputs)}`,
        );
      }
    }
    const results = await this.session.run(feeds);
    const outputs: Record<string, Tensor> = {};
    for (const { name } of this.signature.outputs) {
      const value = results[name];
      outputs[name] = { dtype: value.type as DType, dims: [...value.dims], data: value.data as TypedArray };
    }
    return outputs;
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

function checkAgainst(expected: TensorSignature, tensor: Tensor): void {
  const where = `input "${expected.name}"`;
  if (tensor.dtype !== expected.dtype) {
    throw new InvalidInputError(expected.name, `${where} must be ${expected.dtype}, not ${tensor.dtype}`);
  }
  const shape = expected.shape;
  const matches =
    shape.length === 0 ||
    (tensor.dims.length === shape.length && shape.every((d, i) => typeof d === "string" || d === tensor.dims[i]));
  if (!matches) {
    throw new InvalidInputError(
      expected.name,
      `${where} has shape [${tensor.dims.join(", ")}] but the model expects [${shape.join(", ")}]`,
    );
  }
}

/** Turns an API tensor into a typed array, checking dtype, dims and data length; errors name the tensor. */
export function tensorFromJson(name: string, json: TensorJson): Tensor {
  const where = `input "${name}"`;
  const Ctor = DTYPES[json.dtype];
  if (!Ctor) {
    throw new InvalidInputError(
      name,
      `${where} has dtype "${json.dtype}"; use one of ${Object.keys(DTYPES).join(", ")}`,
    );
  }
  if (!Array.isArray(json.dims) || json.dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new InvalidInputError(name, `${where} dims must be an array of non-negative integers`);
  }
  const count = json.dims.reduce((a, b) => a * b, 1);
  if (!Array.isArray(json.data) || json.data.length !== count) {
    throw new InvalidInputError(
      name,
      `${where} has ${Array.isArray(json.data) ? json.data.length : "no"} values but dims [${json.dims.join(", ")}] need ${count}`,
    );
  }
  let data: TypedArray;
  try {
    if (json.dtype === "int64") {
      data = BigInt64Array.from(json.data, (v) => BigInt(v as number | string));
    } else if (json.dtype === "bool") {
      data = Uint8Array.from(json.data, (v) => (v ? 1 : 0));
    } else {
      for (const v of json.data) if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(String(v));
      data = (Ctor as Float32ArrayConstructor).from(json.data as number[]);
    }
  } catch (error) {
    throw new InvalidInputError(name, `${where} holds a value that is not a ${json.dtype}: ${firstLine(error)}`);
  }
  return { dtype: json.dtype, dims: [...json.dims], data };
}

/** The API form of a tensor (int64 as decimal strings, so no precision is lost in JSON). */
export function tensorToJson(tensor: Tensor): TensorJson {
  const data =
    tensor.dtype === "int64"
      ? Array.from(tensor.data as BigInt64Array, (v) => v.toString())
      : tensor.dtype === "bool"
        ? Array.from(tensor.data as Uint8Array, (v) => v !== 0)
        : Array.from(tensor.data as Float32Array);
  return { dtype: tensor.dtype, dims: [...tensor.dims], data };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}
