/**
 * # Binary frames
 *
 * The container of Strata's binary documents (proofs v2, `proof-binary.ts`; v2 batch index patches, `batch/v2.ts`):
 *
 * ```
 * offset 0   4 bytes  magic (0x89 then three ASCII letters: not text, so never mistaken for JSON)
 * offset 4   u16 LE   format version
 * offset 6   u32 LE   header length H
 * offset 10  H bytes  header: canonical JSON (UTF-8)
 * offset 10+H         the body: raw bytes whose layout the header gives; nothing after them
 * ```
 *
 * This module only frames and unframes bytes; each document's module checks its header and body. Internal module.
 */

/** The bytes before the header: magic, version, header length. */
export const FRAME_PREFIX = 10;

/** Makes the caller's typed error for a frame problem at `field`. */
export type FrameFail = (field: string, reason: string) => Error;

/** One piece of a frame's body: its declared `length` (named `field` in errors) and, once sliced, its bytes. */
export interface FramePiece {
  field: string;
  length: number;
  bytes: Uint8Array;
}

/** A frame read by {@link decodeFrame}: its version, its header bytes, and a slicer for the body. */
export interface Frame {
  version: number;
  header: Uint8Array;
  /** The body (views, not copies). */
  body: Uint8Array;
  /**
   * Cuts the body into `pieces` (in order, `length` each: views, not copies) and checks that they cover it exactly.
   * Throws the caller's error naming the first piece that runs past the end, or `trailing` for bytes left after the
   * last.
   */
  slice(pieces: FramePiece[]): void;
}

/** Whether `bytes` start with `magic`. */
export function hasMagic(bytes: Uint8Array, magic: Uint8Array): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** The frame of `version` with `magic` around `header` and the body `pieces`. */
export function encodeFrame(
  magic: Uint8Array,
  version: number,
  header: Uint8Array,
  pieces: readonly Uint8Array[],
): Uint8Array {
  let total = FRAME_PREFIX + header.length;
  for (const piece of pieces) total += piece.length;
  const out = new Uint8Array(total);
  out.set(magic, 0);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint16(4, version, true);
  view.setUint32(6, header.length, true);
  out.set(header, FRAME_PREFIX);
  let at = FRAME_PREFIX + header.length;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/** Reads the prefix of a frame; throws `fail(...)` at `magic`, `version` or `headerLength`. */
export function decodeFrame(bytes: Uint8Array, magic: Uint8Array, what: string, fail: FrameFail): Frame {
  if (!hasMagic(bytes, magic)) {
    throw fail("magic", `must be the 4 bytes 0x${Buffer.from(magic).toString("hex")} at offset 0 (${what})`);
  }
  if (bytes.length < FRAME_PREFIX) {
    throw fail(
      bytes.length < 6 ? "version" : "headerLength",
      `is cut short: ${what} has a ${FRAME_PREFIX}-byte prefix (magic, u16 version, u32 header length) but only ` +
        `${bytes.length} byte(s) were given`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  const headerLength = view.getUint32(6, true);
  const bodyAt = FRAME_PREFIX + headerLength;
  if (bodyAt > bytes.length) {
    throw fail(
      "headerLength",
      `is ${headerLength} (at offset 6) but only ${bytes.length - FRAME_PREFIX} byte(s) follow the prefix`,
    );
  }
  return {
    version,
    header: bytes.subarray(FRAME_PREFIX, bodyAt),
    body: bytes.subarray(bodyAt),
    slice(pieces) {
      let at = bodyAt;
      for (const piece of pieces) {
        if (piece.length > bytes.length - at) {
          throw fail(
            piece.field,
            `is ${piece.length} but only ${bytes.length - at} byte(s) remain at offset ${at}: the bytes are cut short ` +
              "or a length was altered",
          );
        }
        piece.bytes = bytes.subarray(at, at + piece.length);
        at += piece.length;
      }
      if (at !== bytes.length) {
        throw fail(
          "trailing",
          `${bytes.length - at} byte(s) at offset ${at} follow the last piece: ${what} ends with its last piece's bytes`,
        );
      }
    },
  };
}
