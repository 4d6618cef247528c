import { StrataError } from "./errors";
import { canonicalJsonBytes, parseJson } from "./json";
import { join, kind, ShapeChecker } from "./shape";

/**
 * # Model metadata
 *
 * The blob a model's `metadataBlobId` points at (`ModelRegistry.createModel` / `setMetadata`): what the model is, for
 * people and tools. One writer ({@link encodeModelMetadata}, over {@link buildModelMetadata}) used by `strata model
 * create` and by publishing, and one reader ({@link decodeModelMetadata}) used by `strata model show`.
 *
 * Version 1 is the canonical JSON (see `json.ts`) of
 * `{ version: 1, kind: "strata.model-metadata", name, description?, task?, license?, tags?, format: "onnx",
 * signature?, validatedWith? }`. `signature` (the file's inputs and outputs, as ONNX Runtime reads them) and
 * `validatedWith` (the runtime that loaded it) come with a published file: a model created before any file has
 * neither. Optional fields are left out when empty, so the same metadata always has the same bytes and Blob ID.
 */

/** The `kind` of a model metadata document. */
export const MODEL_METADATA_KIND = "strata.model-metadata";

/** The model metadata format versions. */
export enum ModelMetadataVersion {
  V1 = 1,
}

/** Every metadata version this library reads. */
export const SUPPORTED_MODEL_METADATA_VERSIONS: readonly ModelMetadataVersion[] = [ModelMetadataVersion.V1];

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

/** The model metadata blob (v1). */
export interface ModelMetadataV1 {
  version: ModelMetadataVersion.V1;
  kind: typeof MODEL_METADATA_KIND;
  name: string;
  description?: string;
  task?: string;
  license?: string;
  tags?: string[];
  format: "onnx";
  /** The input/output signature ONNX Runtime reads from the file (absent before a file is published). */
  signature?: ModelSignature;
  /** The runtime the publisher validated the file with (absent before a file is published). */
  validatedWith?: { engine: string; version: string };
}

/** A metadata document of any version this library reads. */
export type ModelMetadata = ModelMetadataV1;

/** What {@link buildModelMetadata} needs: everything but the version, the kind and the format. */
export interface ModelMetadataParams {
  name: string;
  description?: string;
  task?: string;
  license?: string;
  tags?: readonly string[];
  signature?: ModelSignature;
  validatedWith?: { engine: string; version: string };
}

/** A model metadata document is malformed; `field` is the JSON path of the offending value. */
export class ModelMetadataFormatError extends StrataError {
  constructor(
    readonly field: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super("METADATA_FORMAT", `Invalid model metadata: ${field} ${reason}`, options);
  }
}

/**
 * The v1 metadata of a model: empty optional fields (an empty string, no tags) are left out, and the result is
 * checked as the reader checks it. Throws {@link ModelMetadataFormatError} naming the field.
 */
export function buildModelMetadata(params: ModelMetadataParams): ModelMetadataV1 {
  const metadata = {
    version: ModelMetadataVersion.V1 as const,
    kind: MODEL_METADATA_KIND,
    name: params.name,
    ...(params.description ? { description: params.description } : {}),
    ...(params.task ? { task: params.task } : {}),
    ...(params.license ? { license: params.license } : {}),
    ...(params.tags?.length ? { tags: [...params.tags] } : {}),
    format: "onnx" as const,
    ...(params.signature === undefined ? {} : { signature: params.signature }),
    ...(params.validatedWith === undefined ? {} : { validatedWith: params.validatedWith }),
  };
  return validateModelMetadata(metadata);
}

/** The blob bytes of `metadata`: its canonical JSON, after checking it. */
export function encodeModelMetadata(metadata: ModelMetadata): Uint8Array {
  return canonicalJsonBytes(validateModelMetadata(metadata));
}

/**
 * Reads a metadata blob strictly: UTF-8 JSON of a known version, every field of the right type, no unknown field.
 * Throws {@link ModelMetadataFormatError} naming the field (`version` for a version this library does not read).
 */
export function decodeModelMetadata(input: Uint8Array | string): ModelMetadata {
  let parsed: unknown;
  try {
    parsed = parseJson(input);
  } catch (error) {
    throw new ModelMetadataFormatError("$", `is not UTF-8 JSON: ${(error as Error).message}`, { cause: error });
  }
  return validateModelMetadata(parsed);
}

/** Checks a metadata document of any supported version and returns a copy holding only its fields. */
export function validateModelMetadata(value: unknown): ModelMetadata {
  const r = check.object(value, "", ["version"], [...V1_FIELDS]);
  if (!SUPPORTED_MODEL_METADATA_VERSIONS.includes(r.version as ModelMetadataVersion)) {
    throw new ModelMetadataFormatError(
      "version",
      `is ${kind(r.version)}; this @strata/core reads model metadata version ` +
        `${SUPPORTED_MODEL_METADATA_VERSIONS.join(", ")}: upgrade @strata/core to read newer metadata`,
    );
  }
  return validateV1(r);
}

// ---------------------------------------------------------------------------------------------------------------------

const V1_FIELDS = [
  "kind",
  "name",
  "description",
  "task",
  "license",
  "tags",
  "format",
  "signature",
  "validatedWith",
] as const;

const check = new ShapeChecker((field, reason) => new ModelMetadataFormatError(field || "$", reason));

function validateV1(r: Record<string, unknown>): ModelMetadataV1 {
  check.object(r, "", ["version", "kind", "name", "format"], V1_FIELDS);
  if (r.kind !== MODEL_METADATA_KIND) {
    throw new ModelMetadataFormatError("kind", `must be "${MODEL_METADATA_KIND}", got ${kind(r.kind)}`);
  }
  const optional = (field: "description" | "task" | "license") =>
    r[field] === undefined ? {} : { [field]: check.string(r[field], field, { nonEmpty: true }) };
  const tags =
    r.tags === undefined
      ? undefined
      : check.array(r.tags, "tags", { minLength: 1 }).map((t, i) => check.string(t, join("tags", i)));
  return {
    version: ModelMetadataVersion.V1,
    kind: MODEL_METADATA_KIND,
    name: check.string(r.name, "name", { nonEmpty: true }),
    ...optional("description"),
    ...optional("task"),
    ...optional("license"),
    ...(tags === undefined ? {} : { tags }),
    format: check.oneOf(r.format, "format", ["onnx"] as const),
    ...(r.signature === undefined ? {} : { signature: validateSignature(r.signature) }),
    ...(r.validatedWith === undefined ? {} : { validatedWith: validateRuntime(r.validatedWith) }),
  };
}

function validateSignature(value: unknown): ModelSignature {
  const s = check.object(value, "signature", ["inputs", "outputs"]);
  const tensors = (list: unknown, field: string): TensorSignature[] =>
    check.array(list, field).map((item, i) => {
      const at = join(field, i);
      const t = check.object(item, at, ["name", "dtype", "shape"]);
      return {
        name: check.string(t.name, join(at, "name")),
        dtype: check.string(t.dtype, join(at, "dtype"), { nonEmpty: true }),
        shape: check.array(t.shape, join(at, "shape")).map((d, k) => {
          if (typeof d === "string") return d;
          return check.integer(d, join(join(at, "shape"), k), Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        }),
      };
    });
  return { inputs: tensors(s.inputs, "signature.inputs"), outputs: tensors(s.outputs, "signature.outputs") };
}

function validateRuntime(value: unknown): { engine: string; version: string } {
  const v = check.object(value, "validatedWith", ["engine", "version"]);
  return {
    engine: check.string(v.engine, "validatedWith.engine", { nonEmpty: true }),
    version: check.string(v.version, "validatedWith.version", { nonEmpty: true }),
  };
}
