import type { Result } from "ethers";

/**
 * The named fields of a struct returned by a typechain read, as a plain object, so that a whole record is compared
 * with one deep equality. (The typechain `...StructOutput` types are tuples with names; at runtime they are ethers
 * `Result`s.)
 */
export function fieldsOf(struct: object): Record<string, unknown> {
  return (struct as Result).toObject();
}
