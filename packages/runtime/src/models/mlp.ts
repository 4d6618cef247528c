import { onnx } from "onnx-proto";

/** The shape of a test MLP: `input -> (MatMul + Add + Relu) x hidden.length -> MatMul + Add -> output`. */
export interface MlpSpec {
  /** Features per input row. */
  inputSize: number;
  /** Widths of the hidden layers. */
  hidden: number[];
  /** Values per output row. */
  outputSize: number;
  /** Seed of the weights: the same spec and seed give byte-identical files. */
  seed: number;
  /** The graph's name (default "strata-mlp"). */
  name?: string;
}

/** A small deterministic PRNG (mulberry32), so models (and benchmark inputs) are reproducible without any download. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function floatTensor(name: string, dims: number[], random: () => number, scale: number): onnx.ITensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = (random() * 2 - 1) * scale;
  return {
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(values.buffer),
  };
}

function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Builds an ONNX MLP with seeded float32 weights: input `x` of shape [batch, inputSize], output `y` of shape
 * [batch, outputSize] (batch is symbolic). About 4 bytes per weight: `{inputSize: 2048, hidden: [2048, 2048, 2048],
 * outputSize: 1024}` is ~48 MiB.
 */
export function buildMlp(spec: MlpSpec): Uint8Array {
  const random = seededRandom(spec.seed);
  const widths = [spec.inputSize, ...spec.hidden, spec.outputSize];
  const nodes: onnx.INodeProto[] = [];
  const initializer: onnx.ITensorProto[] = [];
  let current = "x";
  for (let layer = 0; layer < widths.length - 1; layer++) {
    const [inW, outW] = [widths[layer], widths[layer + 1]];
    const w = `w${layer}`;
    const b = `b${layer}`;
    initializer.push(floatTensor(w, [inW, outW], random, Math.sqrt(2 / inW)));
    initializer.push(floatTensor(b, [outW], random, 0.1));
    const last = layer === widths.length - 2;
    const mm = `mm${layer}`;
    const sum = last ? "y" : `sum${layer}`;
    nodes.push({ opType: "MatMul", input: [current, w], output: [mm], name: `matmul${layer}` });
    nodes.push({ opType: "Add", input: [mm, b], output: [sum], name: `add${layer}` });
    if (!last) {
      nodes.push({ opType: "Relu", input: [sum], output: [`relu${layer}`], name: `relu${layer}` });
      current = `relu${layer}`;
    }
  }
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: "strata",
    producerVersion: "1",
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: spec.name ?? "strata-mlp",
      node: nodes,
      initializer,
      input: [valueInfo("x", ["batch", spec.inputSize])],
      output: [valueInfo("y", ["batch", spec.outputSize])],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}
