/**
 * Canonical JSON: the one serialization that proofs and batches are hashed and stored in.
 *
 * Rules (the JSON Canonicalization Scheme, RFC 8785, for the values Strata documents use):
 * - object keys sorted by UTF-16 code units (JavaScript's default sort), no whitespace anywhere;
 * - keys whose value is `undefined` are left out (as `JSON.stringify` does); `undefined` elsewhere is an error;
 * - numbers must be finite and are written as `JSON.stringify` writes them; bigint, functions, symbols and objects
 *   other than plain objects and arrays are errors;
 * - strings are escaped as `JSON.stringify` escapes them; the text is encoded as UTF-8.
 */

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** `value` as canonical JSON text. Throws a `TypeError` naming the path of a value JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  return write(value, "$");
}

/** `value` as canonical JSON, UTF-8 encoded. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

/**
 * Parses UTF-8 JSON bytes (or text). Invalid UTF-8 and invalid JSON throw a `SyntaxError`/`TypeError` whose message
 * says which; callers wrap it in their own typed error.
 */
export function parseJson(input: Uint8Array | string): unknown {
  const text = typeof input === "string" ? input : new TextDecoder("utf-8", { fatal: true }).decode(input);
  return JSON.parse(text) as unknown;
}

function write(value: unknown, path: string): string {
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`${path} is ${value}, which JSON cannot hold`);
      return JSON.stringify(value);
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        return `[${value.map((item, i) => write(item, `${path}[${i}]`)).join(",")}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`${path} is a ${value.constructor?.name ?? "non-plain object"}, not a plain object`);
      }
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .sort()
        .filter((key) => record[key] !== undefined)
        .map((key) => `${JSON.stringify(key)}:${write(record[key], `${path}.${key}`)}`);
      return `{${members.join(",")}}`;
    }
    default:
      throw new TypeError(`${path} is a ${typeof value}, which JSON cannot hold`);
  }
}
