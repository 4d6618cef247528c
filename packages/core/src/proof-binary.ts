import { ProofFormatError } from "./errors";
import { decodeFrame, encodeFrame, hasMagic, type Frame, type FramePiece } from "./frame";

/**
 * # The binary frame of proof format v2
 *
 * The frame of `frame.ts` with the magic 0x89 "STP" (Strata Proof) and version 2:
 *
 * ```
 * offset 0   4 bytes  magic: 0x89 0x53 0x54 0x50
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

/** Whether `bytes` start with {@link PROOF_V2_MAGIC} (a binary proof; anything else is read as v1 JSON). */
export function isBinaryProof(bytes: Uint8Array): boolean {
  return hasMagic(bytes, PROOF_V2_MAGIC);
}

/** One tensor's place in the frame: its declared `length` (named `field` in errors) and, once sliced, its bytes. */
export type ProofFrameTensor = FramePiece;

/** The frame of `version` around `header` and the tensors' bytes. */
export function encodeProofFrame(version: number, header: Uint8Array, tensors: readonly Uint8Array[]): Uint8Array {
  return encodeFrame(PROOF_V2_MAGIC, version, header, tensors);
}

/** Reads the prefix of a binary proof; throws {@link ProofFormatError} (`magic`, `version`, `headerLength`). */
export function decodeProofFrame(bytes: Uint8Array): Frame {
  return decodeFrame(bytes, PROOF_V2_MAGIC, "a binary proof", (field, reason) => new ProofFormatError(field, reason));
}
