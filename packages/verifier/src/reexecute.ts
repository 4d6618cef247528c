import {
  canonicalJson,
  decodeTensor,
  DTYPE_SIZES,
  tensorBytes,
  type DecodedTensor,
  type RuntimeV1,
  type Tensor,
} from "@strata/core";
import { RUNTIME_SETTINGS, toProofTensor } from "@strata/runtime";
import type { StepValue } from "./report";

/**
 * Re-execution support: how the runtime recorded in a proof compares with the one this machine runs, and how the
 * outputs of a re-run compare with the recorded ones (bit for bit, or within a stated tolerance).
 */

/** An element matches when `|local - recorded| <= absolute + relative * |recorded|` (or the bits are equal). */
export interface Tolerance {
  absolute: number;
  relative: number;
}

/** The runtime this machine re-executes with: the pinned settings of `@strata/runtime`, as a proof records them. */
export function localRuntime(): RuntimeV1 {
  return { ...RUNTIME_SETTINGS, executionProviders: [...RUNTIME_SETTINGS.executionProviders] };
}

/** The runtime fields that can change output bits, in report order. */
const RUNTIME_FIELDS = [
  "engine",
  "version",
  "graphOptimizationLevel",
  "executionMode",
  "intraOpNumThreads",
  "interOpNumThreads",
  "executionProviders",
  "platform",
  "settings",
] as const satisfies readonly (keyof RuntimeV1)[];

/** One runtime field that differs between the proof and this machine. */
export interface RuntimeDifference {
  field: (typeof RUNTIME_FIELDS)[number];
  recorded: string;
  local: string;
}

/** The fields of `recorded` that differ from `local` (a field absent on one side and present on the other differs). */
export function compareRuntime(recorded: RuntimeV1, local: RuntimeV1 = localRuntime()): RuntimeDifference[] {
  const show = (value: unknown): string =>
    value === undefined ? "(unset)" : typeof value === "string" ? value : canonicalJson(value);
  return RUNTIME_FIELDS.filter((field) => show(recorded[field]) !== show(local[field])).map((field) => ({
    field,
    recorded: show(recorded[field]),
    local: show(local[field]),
  }));
}

/** How re-executed outputs compare with the recorded ones. */
export interface OutputComparison {
  ok: boolean;
  /** One sentence: what matched, or the first thing that did not. */
  detail: string;
  values: Record<string, StepValue>;
}

/**
 * Compares the `local` outputs of a re-run with the `recorded` output tensors of a proof: the same names, dtypes and
 * dims, and every element bit-identical (no tolerance) or within `tolerance`. NaNs match NaNs; integers and booleans
 * are compared as numbers under a tolerance.
 */
export function compareOutputs(
  recorded: readonly Tensor[],
  local: readonly DecodedTensor[],
  tolerance?: Tolerance,
): OutputComparison {
  const mode = tolerance === undefined ? "bit-exact" : "tolerance";
  const base: Record<string, StepValue> = {
    mode,
    absoluteTolerance: tolerance?.absolute ?? null,
    relativeTolerance: tolerance?.relative ?? null,
  };
  const fail = (detail: string, extra: Record<string, StepValue> = {}): OutputComparison => ({
    ok: false,
    detail,
    values: { ...base, ...extra },
  });
  const recordedNames = recorded.map((t) => t.name).sort();
  const localNames = local.map((t) => t.name).sort();
  if (recordedNames.join("\u0000") !== localNames.join("\u0000")) {
    return fail(
      `the proof records outputs [${recordedNames.join(", ")}] but the model gives [${localNames.join(", ")}]`,
      {
        recordedOutputs: recordedNames.join(","),
        localOutputs: localNames.join(","),
      },
    );
  }
  let elements = 0;
  let mismatched = 0;
  let maxAbs = 0;
  let maxRel = 0;
  let first: string | null = null;
  for (const want of recorded) {
    const got = local.find((t) => t.name === want.name)!;
    if (want.dtype !== got.dtype || want.dims.join(",") !== got.dims.join(",")) {
      return fail(
        `output "${want.name}" is recorded as ${want.dtype}[${want.dims.join(",")}] but the model gives ` +
          `${got.dtype}[${got.dims.join(",")}]`,
      );
    }
    if (want.dtype === "string") {
      // Strings match exactly or not at all (no tolerance applies).
      const wantStrings = decodeTensor(want).values as string[];
      const gotStrings = got.values as string[];
      wantStrings.forEach((a, i) => {
        elements++;
        if (a === gotStrings[i]) return;
        mismatched++;
        first ??= `${want.name}[${i}] recorded ${JSON.stringify(a)} vs re-executed ${JSON.stringify(gotStrings[i])}`;
      });
      continue;
    }
    const wantBytes = tensorBytes(want);
    const gotBytes = tensorBytes(toProofTensor(got));
    const size = DTYPE_SIZES[want.dtype];
    const wantValues = numbers(decodeTensor(want));
    const gotValues = numbers(got);
    for (let i = 0; i < wantValues.length; i++) {
      elements++;
      if (sameBytes(wantBytes, gotBytes, i * size, size)) continue;
      const a = wantValues[i];
      const b = gotValues[i];
      const abs = Math.abs(b - a);
      const rel = a === 0 ? (abs === 0 ? 0 : Infinity) : abs / Math.abs(a);
      const bothNaN = Number.isNaN(a) && Number.isNaN(b);
      if (!bothNaN) {
        maxAbs = Math.max(maxAbs, Number.isNaN(abs) ? Infinity : abs);
        maxRel = Math.max(maxRel, Number.isNaN(rel) ? Infinity : rel);
      }
      const within =
        bothNaN || (tolerance !== undefined && abs <= tolerance.absolute + tolerance.relative * Math.abs(a));
      if (tolerance !== undefined && within) continue;
      mismatched++;
      first ??= `${want.name}[${i}] recorded ${a} vs re-executed ${b}`;
    }
  }
  const values: Record<string, StepValue> = {
    ...base,
    outputs: recorded.length,
    elements,
    mismatched,
    maxAbsDiff: finite(maxAbs),
    maxRelDiff: finite(maxRel),
    firstMismatch: first,
  };
  if (mismatched > 0) {
    const how =
      tolerance === undefined
        ? "not bit-identical"
        : `outside the tolerance (absolute ${tolerance.absolute}, relative ${tolerance.relative})`;
    return {
      ok: false,
      detail: `${mismatched} of ${elements} output elements are ${how}: ${first} (max abs diff ${finite(maxAbs)})`,
      values,
    };
  }
  const detail =
    tolerance === undefined || maxAbs === 0
      ? `${elements} output elements of ${recorded.length} tensor(s) re-executed bit-identical`
      : `${elements} output elements within absolute ${tolerance.absolute} / relative ${tolerance.relative} ` +
        `(max abs diff ${maxAbs}, max rel diff ${finite(maxRel)})`;
  return { ok: true, detail, values };
}

function sameBytes(a: Uint8Array, b: Uint8Array, offset: number, size: number): boolean {
  for (let k = offset; k < offset + size; k++) if (a[k] !== b[k]) return false;
  return true;
}

/** The elements of a decoded tensor as numbers (float16 from its bits, 64-bit integers possibly rounded). */
function numbers(tensor: DecodedTensor): number[] {
  if (tensor.dtype === "float16") return Array.from(tensor.values as Uint16Array, halfToNumber);
  return Array.from(tensor.values as ArrayLike<number | bigint>, (v) => Number(v));
}

/** IEEE 754 binary16 bits to a number. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Infinity is not JSON: report it as a string. */
function finite(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}
