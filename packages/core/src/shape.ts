import { getAddress, isAddress } from "ethers";

/**
 * Hand-written shape checks for the JSON documents core reads (proofs, batches). Every failure names the JSON path of
 * the offending value; the error class is the caller's (`ProofFormatError`, `BatchFormatError`). Internal module.
 */
export type Fail = (field: string, reason: string) => Error;

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

export class ShapeChecker {
  constructor(readonly fail: Fail) {}

  /** A plain object with exactly the `required` keys and any of the `optional` ones; unknown keys are rejected. */
  object(value: unknown, field: string, required: readonly string[], optional: readonly string[] = []) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw this.fail(field, `must be an object, got ${kind(value)}`);
    }
    const record = value as Record<string, unknown>;
    for (const key of required) {
      if (record[key] === undefined) throw this.fail(join(field, key), "is missing");
    }
    for (const key of Object.keys(record)) {
      if (!required.includes(key) && !optional.includes(key)) {
        throw this.fail(join(field, key), `is not a known field (known: ${[...required, ...optional].join(", ")})`);
      }
    }
    return record;
  }

  array(value: unknown, field: string, options: { minLength?: number } = {}): unknown[] {
    if (!Array.isArray(value)) throw this.fail(field, `must be an array, got ${kind(value)}`);
    if (options.minLength !== undefined && value.length < options.minLength) {
      throw this.fail(field, `must hold at least ${options.minLength} item(s)`);
    }
    return value;
  }

  string(value: unknown, field: string, options: { nonEmpty?: boolean; maxLength?: number } = {}): string {
    if (typeof value !== "string") throw this.fail(field, `must be a string, got ${kind(value)}`);
    if (options.nonEmpty && value.length === 0) throw this.fail(field, "must not be empty");
    if (options.maxLength !== undefined && value.length > options.maxLength) {
      throw this.fail(field, `must be at most ${options.maxLength} characters`);
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
      throw this.fail(field, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${kind(value)}`);
    }
    return value as T;
  }

  integer(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      throw this.fail(field, `must be an integer, got ${kind(value)}`);
    }
    if (value < min || value > max) throw this.fail(field, `must be between ${min} and ${max}, got ${value}`);
    return value;
  }

  boolean(value: unknown, field: string): boolean {
    if (typeof value !== "boolean") throw this.fail(field, `must be a boolean, got ${kind(value)}`);
    return value;
  }

  /** A bytes32 hex string, returned in lowercase. */
  bytes32(value: unknown, field: string): string {
    if (typeof value !== "string" || !BYTES32.test(value)) {
      throw this.fail(field, `must be 0x followed by 64 hex digits, got ${kind(value)}`);
    }
    return value.toLowerCase();
  }

  /** A hex string of whole bytes, returned in lowercase. */
  hex(value: unknown, field: string, byteLength?: number): string {
    if (typeof value !== "string" || !HEX.test(value))
      throw this.fail(field, `must be 0x-prefixed hex, got ${kind(value)}`);
    if (byteLength !== undefined && value.length !== 2 + 2 * byteLength) {
      throw this.fail(field, `must be ${byteLength} bytes, got ${(value.length - 2) / 2}`);
    }
    return value.toLowerCase();
  }

  /** An address, returned checksummed; mixed case must carry a valid EIP-55 checksum. */
  address(value: unknown, field: string): string {
    if (typeof value === "string") {
      const known = CHECKED_ADDRESSES.get(value);
      if (known !== undefined) return known;
    }
    if (typeof value !== "string" || !isAddress(value)) {
      throw this.fail(field, `must be a 20-byte hex address (valid checksum if mixed case), got ${kind(value)}`);
    }
    const checksummed = getAddress(value);
    if (CHECKED_ADDRESSES.size >= MAX_CHECKED_ADDRESSES) CHECKED_ADDRESSES.clear();
    CHECKED_ADDRESSES.set(value, checksummed);
    return checksummed;
  }
}

/**
 * Address strings that passed {@link ShapeChecker.address}, with their checksummed form: the same few addresses (node,
 * registries) appear in every proof, and each EIP-55 check costs a keccak256. A pure function's memo, bounded.
 */
const CHECKED_ADDRESSES = new Map<string, string>();
const MAX_CHECKED_ADDRESSES = 4096;

export function join(field: string, key: string | number): string {
  return typeof key === "number" ? `${field}[${key}]` : field ? `${field}.${key}` : key;
}

/** A short description of a value for error messages. */
export function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 70 ? `${value.slice(0, 67)}...` : value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return `a ${typeof value}`;
}
