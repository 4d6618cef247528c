import { ProofFormatError } from "./errors";

/**
 * # The binary frame of proof format v2
 *
 * ```
 * offset 0   4 bytes  magic: 0x89 0x53 0x54 0x50 (0x89 "STP": not text, so never mistaken for a v1 JSON document)
 * offset 4   u16 LE   format version (2)
 * offset 6   u32 LE   header length H
 * offset 10  H bytes  header: canonical JSON (UTF-8) of the document, tensors as { name, dtype, dims, hash, length }
 * offset 10+H         the tensors' raw element bytes, in header order (inputs, then outputs), `length` bytes each;
 *                     nothing after the last
 * ```
 *
 * This module only frames and unframes bytes; `proof.ts` checks the header and the document. Internal module.
 */

/** The first four bytes of every binary (v2 and later) proof. */
export const PROOF_V2_MAGIC: Uint8Array = Uint8Array.of(0x89, 0x53, 0x54, 0x50);

/** The bytes before the header: magic, version, header length. */
export const PROOF_FRAME_PREFIX = 10;

/** Whether `bytes` start with {@link PROOF_V2_MAGIC} (a binary proof; anything else is read as v1 JSON). */
export function isBinaryProof(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && PROOF_V2_MAGIC.every((b, i) => bytes[i] === b);
}

/** One tensor's place in the frame: its declared `length` (named `field` in errors) and, once sliced, its bytes. */
export interface ProofFrameTensor {
  field: string;
  length: number;
  bytes: Uint8Array;
}

/** A frame read by {@link decodeProofFrame}: its version, its header bytes, and a slicer for the tensor bytes. */
export interface ProofFrame {
  version: number;
  header: Uint8Array;
  /**
   * Cuts the bytes after the header into `tensors` (in order, `length` each: views, not copies) and checks that they
   * cover them exactly. Throws {@link ProofFormatError} naming the first tensor whose bytes run past the end, or
   * `trailing` for bytes left after the last.
   */
  slice(tensors: ProofFrameTensor[]): void;
}

/** The frame of `version` around `header` and the tensors' bytes. */
export function encodeProofFrame(version: number, header: Uint8Array, tensors: readonly Uint8Array[]): Uint8Array {
  let total = PROOF_FRAME_PREFIX + header.length;
  for (const t of tensors) total += t.length;
  const out = new Uint8Array(total);
  out.set(PROOF_V2_MAGIC, 0);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint16(4, version, true);
  view.setUint32(6, header.length, true);
  out.set(header, PROOF_FRAME_PREFIX);
  let at = PROOF_FRAME_PREFIX + header.length;
  for (const t of tensors) {
    out.set(t, at);
    at += t.length;
  }
  return out;
}

/** Reads the prefix of a binary proof; throws {@link ProofFormatError} (`magic`, `version`, `headerLength`). */
export function decodeProofFrame(bytes: Uint8Array): ProofFrame {
  if (!isBinaryProof(bytes)) {
    throw new ProofFormatError("magic", `must be the 4 bytes 0x89535450 (0x89 "STP") at offset 0`);
  }
  if (bytes.length < PROOF_FRAME_PREFIX) {
    throw new ProofFormatError(
      bytes.length < 6 ? "version" : "headerLength",
      `is cut short: a binary proof has a ${PROOF_FRAME_PREFIX}-byte prefix (magic, u16 version, u32 header length) ` +
        `but only ${bytes.length} byte(s) were given`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  const headerLength = view.getUint32(6, true);
  const bodyAt = PROOF_FRAME_PREFIX + headerLength;
  if (bodyAt > bytes.length) {
    throw new ProofFormatError(
      "headerLength",
      `is ${headerLength} (at offset 6) but only ${bytes.length - PROOF_FRAME_PREFIX} byte(s) follow the prefix`,
    );
  }
  return {
    version,
    header: bytes.subarray(PROOF_FRAME_PREFIX, bodyAt),
    slice(tensors) {
      let at = bodyAt;
      for (const t of tensors) {
        if (t.length > bytes.length - at) {
          throw new ProofFormatError(
            t.field,
            `is ${t.length} but only ${bytes.length - at} byte(s) remain at offset ${at}: the tensor bytes are cut ` +
              "short or a length was altered",
          );
        }
        t.bytes = bytes.subarray(at, at + t.length);
        at += t.length;
      }
      if (at !== bytes.length) {
        throw new ProofFormatError(
          "trailing",
          `${bytes.length - at} byte(s) at offset ${at} follow the last tensor: a binary proof ends with its last ` +
            "tensor's bytes",
        );
      }
    },
  };
}
