/**
 * Tensors as the page shows them: element values as JSON (capped) and, when the shape is an image's, how to draw it.
 */
import { decodeTensor, elementCount, type Tensor } from "@strata/core";
import { TENSOR_VALUES_MAX, type ImageShape, type TensorElement } from "./api-types";

/**
 * The image a tensor of `dims` is, if any: [N, C, H, W] with C 1 or 3 (the first of the N images is drawn), or
 * [H, W] (grey). Both sides must be at least 2 (a [1, 4] row is a vector, not a picture).
 */
export function imageShape(dims: readonly number[]): ImageShape | null {
  if (dims.length === 4 && (dims[1] === 1 || dims[1] === 3) && dims[0] >= 1 && dims[2] >= 2 && dims[3] >= 2) {
    return { channels: dims[1] as 1 | 3, height: dims[2], width: dims[3] };
  }
  if (dims.length === 2 && dims[0] >= 2 && dims[1] >= 2) return { channels: 1, height: dims[0], width: dims[1] };
  return null;
}

/** The first {@link TENSOR_VALUES_MAX} values of `tensor` in row-major order, as JSON elements. */
export function tensorValues(tensor: Tensor): { values: TensorElement[]; elements: number; truncated: boolean } {
  const elements = elementCount(tensor.dims);
  const decoded = decodeTensor(tensor).values as ArrayLike<number | bigint | boolean | string>;
  const n = Math.min(elements, TENSOR_VALUES_MAX);
  const values: TensorElement[] = new Array<TensorElement>(n);
  for (let i = 0; i < n; i++) values[i] = element(decoded[i]);
  return { values, elements, truncated: n < elements };
}

function element(value: number | bigint | boolean | string): TensorElement {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (value === Infinity) return "Infinity";
    if (value === -Infinity) return "-Infinity";
    if (Object.is(value, -0)) return "-0";
  }
  return value;
}
