import {
  BaseWallet,
  getAddress,
  getBytes,
  id,
  recoverAddress,
  Signature,
  TypedDataEncoder,
  type Signer,
  type TypedDataField,
} from "ethers";
import { PrivateDataError, ProofFormatError, SignatureError, StrataError } from "./errors";
import type { Bytes32, Commitment } from "./ids";
import { canonicalJson, canonicalJsonBytes, parseJson, type JsonValue } from "./json";
import { proofStructDigest } from "./proof-digest";
import {
  assertCanonicalSignature,
  decodeProof,
  hashRuntime,
  hashTensor,
  hashTensorSet,
  PROOF_EIP712_NAME,
  PROOF_EIP712_TYPES,
  PROOF_EIP712_VERSION,
  newRequestId,
  proofCommitment,
  proofToJson,
  ProofVersion,
  validateProofForCommitment,
  validateProofHead,
  type InferenceProof,
  type HashedTensor,
  type ProofDomain,
  type ProofModel,
  type ProofParams,
  type RuntimeV1,
} from "./proof";
import { decodeProofFrame, encodeProofFrame, isBinaryProof, type ProofFrameTensor } from "./proof-binary";
import { join, ShapeChecker } from "./shape";
import { DTYPES, binaryTensor, tensorBytes, type Dtype, type Tensor } from "./tensor";
import {
  ciphertextHash,
  contentKeyOf,
  envelopeContext,
  openEnvelope,
  openWithContentKey,
  sealTensors,
  type EnvelopeContents,
  type NamedBytes,
} from "./privacy/envelope";
import { formatDisclosureKey, type ContentKeyInput, type PrivateKeyInput, type PublicKeyInput } from "./privacy/keys";

/**
 * # Private proofs: proof format version 3
 *
 * A request's privacy mode is `public` (a v1/v2 proof, tensors in plaintext: unchanged), `hashed` or `encrypted`. A
 * private mode gives a **version 3** proof: the v2 binary frame (magic `0x89 "STP"`, u16 LE version 3, u32 LE header
 * length, canonical JSON header, body) whose document is
 *
 * ```
 * { version: 3, privacy: "hashed" | "encrypted",
 *   domain, model, runtime, node, timestamp, requestId, signature,      (as in v1/v2)
 *   input:  { hash, tensors: [{ name, dtype, dims, hash }, ...] },        (no data: each tensor's committed hash)
 *   output: { hash, tensors: [...] },
 *   envelope: { hash, length } }                                         (encrypted only; the body is its bytes)
 * ```
 *
 * - **hashed**: the body is empty; the holder of the tensors alone can show them (they must hash to the committed
 *   tensor hashes, see {@link revealPrivateProof}).
 * - **encrypted**: the body is the envelope (`privacy/envelope.ts`) of the tensors, sealed to the requester's public
 *   key, inputs then outputs in committed order, named `input/<name>` and `output/<name>`. Its AAD is
 *   {@link proofEnvelopeContext} (chain, both registries, model id and version, node, request id), so an envelope moved
 *   to another proof does not open there. `envelope.hash` is `ciphertextHash(envelope)` (keccak256 of its bytes).
 *
 * Hashing rules are v1's (tensor hash over name, dtype, dims and the keccak256 of the data; set hash over the tensor
 * hashes by name; runtime hash). The **commitment** is the EIP-712 digest of
 * `InferenceProof(uint16 version,bytes32 modelId,uint32 modelVersion,bytes32 modelBlobId,bytes32 modelSha256,
 * address modelRegistry,bytes32 inputHash,bytes32 outputHash,bytes32 runtimeHash,address node,uint64 timestamp,
 * bytes32 requestId,uint8 privacy,bytes32 ciphertextHash)` (v1's fields, then `privacy` 1 hashed / 2 encrypted and the
 * ciphertext hash, zero in hashed mode) under the v1 domain. So the node's signature covers the plaintext tensor hashes
 * and the ciphertext hash: neither can be swapped. A new version rather than a field folded into v2: v1 and v2
 * commitments, types and bytes are unchanged, and a v2 reader refuses a v3 proof by its version instead of misreading
 * it. The set hashes are recomputed from the tensor hashes and the ciphertext hash from the envelope's bytes, never
 * taken on trust; what cannot be checked without the data is that the tensor hashes are those of the real tensors.
 *
 * Decoding is strict as in v2: exact fields, the header the canonical JSON of the checked document, the body exactly
 * the envelope (encrypted) or empty (hashed).
 */

/** The version of private proofs. */
export const PRIVATE_PROOF_VERSION = 3;

/** A request's privacy mode. */
export const PRIVACY_MODES = ["public", "hashed", "encrypted"] as const;
export type PrivacyMode = (typeof PRIVACY_MODES)[number];
/** The modes a v3 proof records. */
export type PrivateMode = Exclude<PrivacyMode, "public">;

/** The `uint8 privacy` word of each private mode in the commitment. */
export const PRIVACY_CODES: Readonly<Record<PrivateMode, number>> = { hashed: 1, encrypted: 2 };

/** A tensor as a private proof holds it: what it is and its committed hash, no data. */
export interface CommittedTensor {
  name: string;
  dtype: Dtype;
  dims: number[];
  hash: Bytes32;
}

/** A private proof's inputs or outputs: committed hashes only. */
export interface CommittedTensorSet {
  hash: Bytes32;
  tensors: CommittedTensor[];
}

/** The envelope of an encrypted proof: its bytes and their hash. */
export interface ProofEnvelope {
  hash: Bytes32;
  bytes: Uint8Array;
}

/** A version 3 (private) proof before the node signs it. */
export interface UnsignedPrivateProof {
  version: typeof PRIVATE_PROOF_VERSION;
  privacy: PrivateMode;
  domain: ProofDomain;
  model: ProofModel;
  input: CommittedTensorSet;
  output: CommittedTensorSet;
  /** Encrypted mode only. */
  envelope?: ProofEnvelope;
  runtime: RuntimeV1;
  node: string;
  timestamp: number;
  requestId: Bytes32;
}

/** A signed version 3 proof. */
export interface PrivateInferenceProof extends UnsignedPrivateProof {
  signature: string;
}

/** The EIP-712 struct of v3: v1's fields, then the privacy mode and the ciphertext hash. */
export const PRIVATE_PROOF_EIP712_TYPES: Record<string, TypedDataField[]> = {
  InferenceProof: [
    ...PROOF_EIP712_TYPES[ProofVersion.V1].InferenceProof,
    { name: "privacy", type: "uint8" },
    { name: "ciphertextHash", type: "bytes32" },
  ],
};

/** Options of {@link buildPrivateProof}. */
export type PrivateProofOptions = { privacy: "hashed" } | { privacy: "encrypted"; recipient: PublicKeyInput };

/** The plaintext tensors of a private proof, checked against its committed hashes (binary tensors, with hashes). */
export interface PrivateProofData {
  inputs: HashedTensor[];
  outputs: HashedTensor[];
}

/** The key that opens an encrypted proof: the requester's private key, or the proof's disclosure (content) key. */
export type PrivateProofKey = { privateKey: PrivateKeyInput } | { disclosureKey: ContentKeyInput };

const ZERO: Bytes32 = `0x${"0".repeat(64)}`;

/**
 * Envelope byte arrays whose keccak256 this module computed (when building, or checking a document): a proof is
 * validated several times on its way (built, signed, committed, encoded) and the envelope is most of its bytes. As
 * with a v2 proof's tensor bytes, do not write into an envelope's bytes once they are in a proof: a changed copy
 * (`slice()`) is hashed again.
 */
const HASHED_ENVELOPES = new WeakMap<Uint8Array, Bytes32>();
const check = new ShapeChecker((field, reason) => new ProofFormatError(field || "$", reason));
const FIELDS = [
  "version",
  "privacy",
  "domain",
  "model",
  "input",
  "output",
  "runtime",
  "node",
  "timestamp",
  "requestId",
];

/**
 * The envelope context (AAD) of a private proof: its chain, registries, model, node and request id. An envelope
 * sealed for one proof does not open under another's.
 */
export function proofEnvelopeContext(doc: Pick<UnsignedPrivateProof, "domain" | "model" | "node" | "requestId">) {
  return envelopeContext({
    kind: "strata.proof-envelope",
    version: PRIVATE_PROOF_VERSION,
    chainId: doc.domain.chainId,
    proofRegistry: getAddress(doc.domain.proofRegistry),
    modelRegistry: getAddress(doc.domain.modelRegistry),
    modelId: doc.model.id.toLowerCase(),
    modelVersion: doc.model.version,
    node: getAddress(doc.node),
    requestId: doc.requestId.toLowerCase(),
  });
}

/**
 * Builds an unsigned private proof of `params` (the same parameters as `buildProof`): hashes every tensor and keeps
 * only the hashes; in encrypted mode seals the tensors to `options.recipient` bound to {@link proofEnvelopeContext}.
 * The tensors' data is in the result only inside the envelope.
 */
export async function buildPrivateProof(
  params: ProofParams,
  options: PrivateProofOptions,
): Promise<UnsignedPrivateProof> {
  const privacy = options.privacy;
  if (privacy !== "hashed" && privacy !== "encrypted") {
    throw new ProofFormatError("privacy", `must be "hashed" or "encrypted" in a private proof, got ${String(privacy)}`);
  }
  const head = validateProofHead(
    {
      domain: params.domain,
      model: params.model,
      runtime: params.runtime,
      node: params.node,
      timestamp: params.timestamp ?? Math.floor(Date.now() / 1000),
      requestId: params.requestId ?? newRequestId(),
    },
    "",
  );
  const checked = (tensors: readonly Tensor[], set: "input" | "output") =>
    sortByName(tensors).map((t) => ({ tensor: t, bytes: checkedBytes(t, set) }));
  const inputs = checked(params.inputs, "input");
  const outputs = checked(params.outputs, "output");
  let sealing: Promise<Uint8Array> | undefined;
  if (options.privacy === "encrypted") {
    const plaintext: NamedBytes[] = [
      ...inputs.map((t) => ({ name: `input/${t.tensor.name}`, bytes: t.bytes })),
      ...outputs.map((t) => ({ name: `output/${t.tensor.name}`, bytes: t.bytes })),
    ];
    sealing = sealTensors(plaintext, options.recipient, { aad: proofEnvelopeContext(head) });
    sealing.catch(() => undefined); // awaited below; never an unhandled rejection if hashing throws first
  }
  const committed = (ts: typeof inputs, set: "input" | "output"): CommittedTensorSet => {
    const tensors = ts.map(({ tensor }) => ({
      name: tensor.name,
      dtype: tensor.dtype,
      dims: [...tensor.dims],
      hash: hashOrThrow(tensor, set),
    }));
    return { hash: hashTensorSet(tensors), tensors };
  };
  const doc: UnsignedPrivateProof = {
    version: PRIVATE_PROOF_VERSION,
    privacy,
    ...head,
    input: committed(inputs, "input"),
    output: committed(outputs, "output"),
  };
  if (sealing !== undefined) {
    const bytes = await sealing;
    doc.envelope = { hash: ciphertextHash(bytes), bytes };
    HASHED_ENVELOPES.set(bytes, doc.envelope.hash);
  }
  return validatePrivateProof(doc, { unsigned: true });
}

/** A tensor's checked element bytes; a malformed tensor is a {@link PrivateDataError} naming it. */
function checkedBytes(t: Tensor, set: "input" | "output"): Uint8Array {
  try {
    return tensorBytes(t);
  } catch (error) {
    if (error instanceof StrataError) throw new PrivateDataError(set, t.name, error.message);
    throw error;
  }
}

function hashOrThrow(t: Tensor, set: "input" | "output"): Bytes32 {
  try {
    return hashTensor(t);
  } catch (error) {
    if (error instanceof StrataError) throw new PrivateDataError(set, t.name, error.message);
    throw error;
  }
}

/** Whether `doc` is a private (v3) proof document. */
export function isPrivateProof(doc: unknown): doc is PrivateInferenceProof {
  return typeof doc === "object" && doc !== null && (doc as { version?: unknown }).version === PRIVATE_PROOF_VERSION;
}

/**
 * Checks a private proof document's shape strictly (exact fields, the envelope present exactly in encrypted mode and
 * its hash that of its bytes) and returns it normalized. `unsigned: true` for a document without its signature.
 */
export function validatePrivateProof(value: unknown, options: { unsigned: true }): UnsignedPrivateProof;
export function validatePrivateProof(value: unknown, options?: { unsigned?: false }): PrivateInferenceProof;
export function validatePrivateProof(
  value: unknown,
  options: { unsigned?: boolean } = {},
): UnsignedPrivateProof | PrivateInferenceProof {
  const required = options.unsigned ? FIELDS : [...FIELDS, "signature"];
  const r = check.object(value, "", required, ["envelope"]);
  if (r.version !== PRIVATE_PROOF_VERSION) {
    throw new ProofFormatError("version", `must be ${PRIVATE_PROOF_VERSION}, got ${JSON.stringify(r.version)}`);
  }
  const privacy = check.oneOf(r.privacy, "privacy", ["hashed", "encrypted"] as const);
  const doc: UnsignedPrivateProof = {
    version: PRIVATE_PROOF_VERSION,
    privacy,
    ...validateProofHead(r, ""),
    input: validateCommittedSet(r.input, "input"),
    output: validateCommittedSet(r.output, "output"),
  };
  if (privacy === "encrypted") {
    if (r.envelope === undefined) throw new ProofFormatError("envelope", "is missing (an encrypted proof holds one)");
    const e = check.object(r.envelope, "envelope", ["hash", "bytes"]);
    if (!(e.bytes instanceof Uint8Array)) throw new ProofFormatError("envelope.bytes", "must be a Uint8Array");
    const hash = check.bytes32(e.hash, "envelope.hash");
    const actual = HASHED_ENVELOPES.get(e.bytes) ?? ciphertextHash(e.bytes);
    if (actual !== hash) {
      throw new ProofFormatError(
        "envelope.hash",
        `is ${hash} but the envelope's bytes hash to ${actual}: the ciphertext or its hash was altered`,
      );
    }
    doc.envelope = { hash, bytes: e.bytes };
    HASHED_ENVELOPES.set(e.bytes, hash);
  } else if (r.envelope !== undefined) {
    throw new ProofFormatError("envelope", "must be absent in hashed mode (a hashed proof holds no data)");
  }
  if (options.unsigned) return doc;
  return { ...doc, signature: check.hex(r.signature, "signature", 65) };
}

function validateCommittedSet(value: unknown, path: string): CommittedTensorSet {
  const r = check.object(value, path, ["hash", "tensors"]);
  const names = new Set<string>();
  const tensors = check.array(r.tensors, join(path, "tensors"), { minLength: 1 }).map((item, i) => {
    const at = join(join(path, "tensors"), i);
    const t = check.object(item, at, ["name", "dtype", "dims", "hash"]);
    const name = check.string(t.name, join(at, "name"), { nonEmpty: true });
    if (names.has(name))
      throw new ProofFormatError(join(at, "name"), `repeats the tensor name ${JSON.stringify(name)}`);
    names.add(name);
    return {
      name,
      dtype: check.oneOf(t.dtype, join(at, "dtype"), DTYPES),
      dims: check
        .array(t.dims, join(at, "dims"))
        .map((dim, j) => check.integer(dim, join(join(at, "dims"), j), 0, Number.MAX_SAFE_INTEGER)),
      hash: check.bytes32(t.hash, join(at, "hash")),
    };
  });
  return { hash: check.bytes32(r.hash, join(path, "hash")), tensors: sortByName(tensors) };
}

/** The EIP-712 message of a checked private proof, its set hashes and ciphertext hash recomputed. */
function messageOf(doc: UnsignedPrivateProof) {
  const setHash = (set: CommittedTensorSet, path: string) => {
    const actual = hashTensorSet(set.tensors);
    if (actual !== set.hash) {
      throw new ProofFormatError(
        `${path}.hash`,
        `is ${set.hash} but the tensor hashes hash to ${actual}: a tensor hash or the set hash was altered`,
      );
    }
    return actual;
  };
  return {
    version: PRIVATE_PROOF_VERSION,
    modelId: doc.model.id,
    modelVersion: doc.model.version,
    modelBlobId: doc.model.blobId,
    modelSha256: doc.model.sha256,
    modelRegistry: doc.domain.modelRegistry,
    inputHash: setHash(doc.input, "input"),
    outputHash: setHash(doc.output, "output"),
    runtimeHash: hashRuntime(doc.runtime),
    node: doc.node,
    timestamp: doc.timestamp,
    requestId: doc.requestId,
    privacy: PRIVACY_CODES[doc.privacy],
    // The validator has just recomputed (or read from HASHED_ENVELOPES) the hash of these very bytes.
    ciphertextHash: doc.envelope === undefined ? ZERO : doc.envelope.hash,
  };
}

function domainOf(doc: UnsignedPrivateProof) {
  return {
    name: PROOF_EIP712_NAME,
    version: PROOF_EIP712_VERSION,
    chainId: doc.domain.chainId,
    verifyingContract: doc.domain.proofRegistry,
  };
}

/**
 * The commitment of a private proof: the v3 EIP-712 digest, with the set hashes recomputed from the tensor hashes and
 * the ciphertext hash from the envelope's bytes. Throws {@link ProofFormatError} when a stored hash disagrees.
 */
export function privateProofCommitment(doc: UnsignedPrivateProof | PrivateInferenceProof): Commitment {
  return digestOf(validatePrivateProof(withoutSignature(doc), { unsigned: true }));
}

/** The v3 EIP-712 struct's type hash. */
const TYPE_HASH = getBytes(id(TypedDataEncoder.from(PRIVATE_PROOF_EIP712_TYPES).encodeType("InferenceProof")));

/** The EIP-712 digest of a checked private proof: core's proof digest with v3's privacy mode and ciphertext hash. */
function digestOf(doc: UnsignedPrivateProof): Commitment {
  const { privacy, ciphertextHash, ...fields } = messageOf(doc);
  return proofStructDigest(doc.domain, TYPE_HASH, fields, { privacy, ciphertextHash }) as Commitment;
}

/** Signs a private proof with its node's key; returns the signed document and its commitment. */
export async function signPrivateProof(
  unsigned: UnsignedPrivateProof,
  signer: Signer,
): Promise<{ proof: PrivateInferenceProof; commitment: Commitment }> {
  const checked = validatePrivateProof(withoutSignature(unsigned), { unsigned: true });
  const address = await signer.getAddress();
  if (address.toLowerCase() !== checked.node.toLowerCase()) {
    throw new SignatureError(
      `The proof names node ${checked.node} but the signer is ${address}: sign with the node's key`,
      checked.node,
      address,
    );
  }
  const commitment = digestOf(checked);
  // A local key signs the commitment directly (the signature is the key's by construction, as for public proofs);
  // any other signer signs the typed data, and its signature is checked by recovering it.
  if (signer instanceof BaseWallet) {
    return { proof: { ...checked, signature: signer.signingKey.sign(commitment).serialized }, commitment };
  }
  const signature = Signature.from(
    await signer.signTypedData(domainOf(checked), PRIVATE_PROOF_EIP712_TYPES, messageOf(checked)),
  ).serialized;
  assertCanonicalSignature(signature);
  if (recoverAddress(commitment, signature).toLowerCase() !== checked.node.toLowerCase()) {
    throw new SignatureError("The signer returned a signature that is not the node's: check the signer", checked.node);
  }
  return { proof: { ...checked, signature }, commitment };
}

/**
 * Checks that a private proof is signed by its node (canonical signature, recovered over the recomputed commitment)
 * and returns the commitment.
 */
export function verifyPrivateProofSignature(doc: PrivateInferenceProof): Commitment {
  const commitment = privateProofCommitment(doc);
  assertCanonicalSignature(doc.signature);
  let recovered: string;
  try {
    recovered = recoverAddress(commitment, doc.signature);
  } catch (error) {
    throw new SignatureError(`The proof signature is malformed: ${(error as Error).message}`, doc.node, null, {
      cause: error,
    });
  }
  if (recovered.toLowerCase() !== doc.node.toLowerCase()) {
    throw new SignatureError(
      `The proof is signed by ${recovered}, not by its node ${doc.node}: the document was altered or forged`,
      doc.node,
      recovered,
    );
  }
  return commitment;
}

// ---------------------------------------------------------------------------------------------------------------------
// Serialization

/** The binary form of a private proof (see the module notes): the v2 frame, version 3, the envelope as the body. */
export function encodePrivateProof(doc: PrivateInferenceProof): Uint8Array {
  const checked = validatePrivateProof(doc);
  return encodeProofFrame(
    PRIVATE_PROOF_VERSION,
    canonicalJsonBytes(headerOf(checked)),
    checked.envelope ? [checked.envelope.bytes] : [],
  );
}

function headerOf(doc: PrivateInferenceProof): Record<string, unknown> {
  const { envelope, ...rest } = doc;
  return envelope ? { ...rest, envelope: { hash: envelope.hash, length: envelope.bytes.length } } : rest;
}

/**
 * Reads a private (v3) proof strictly: the frame, the header's fields, the body exactly the envelope (or empty), and
 * the header the canonical JSON of the checked document. The envelope's bytes are a view into `input`.
 */
export function decodePrivateProof(input: Uint8Array): PrivateInferenceProof {
  const frame = decodeProofFrame(input);
  if (frame.version !== PRIVATE_PROOF_VERSION) {
    throw new ProofFormatError("version", `is ${frame.version} in the frame: a private proof is version 3`);
  }
  let header: unknown;
  try {
    header = parseJson(frame.header);
  } catch (error) {
    throw new ProofFormatError("header", `is not UTF-8 JSON: ${(error as Error).message}`, { cause: error });
  }
  const h = check.object(header, "", [...FIELDS, "signature"], ["envelope"]);
  const pieces: ProofFrameTensor[] = [];
  const doc: Record<string, unknown> = { ...h };
  if (h.envelope !== undefined) {
    const e = check.object(h.envelope, "envelope", ["hash", "length"]);
    const piece = {
      field: "envelope.length",
      length: check.integer(e.length, "envelope.length", 1, Number.MAX_SAFE_INTEGER),
      bytes: new Uint8Array(0),
    };
    pieces.push(piece);
    frame.slice(pieces);
    doc.envelope = { hash: e.hash, bytes: piece.bytes };
  } else {
    frame.slice(pieces);
  }
  const checked = validatePrivateProof(doc);
  const canonical = canonicalJsonBytes(headerOf(checked));
  if (Buffer.compare(Buffer.from(canonical), Buffer.from(frame.header)) !== 0) {
    throw new ProofFormatError(
      "header",
      "is not the canonical JSON of the document (sorted keys, no whitespace, lowercase hex, checksummed addresses)",
    );
  }
  return checked;
}

/** Whether `bytes` are a private (v3) proof: the binary frame with version 3. */
export function isPrivateProofBytes(bytes: Uint8Array): boolean {
  return isBinaryProof(bytes) && bytes.length >= 6 && bytes[4] === PRIVATE_PROOF_VERSION && bytes[5] === 0;
}

// ---------------------------------------------------------------------------------------------------------------------
// Showing the data

/**
 * The tensors of a hashed (or encrypted) proof as their holder gives them, checked against the committed hashes:
 * every committed tensor present (by name, inputs and outputs), no other, and each hashing (name, dtype, dims, bytes)
 * to its committed hash. Throws {@link PrivateDataError} at the first that does not; nothing is re-executed first.
 */
export function revealPrivateProof(
  doc: UnsignedPrivateProof,
  data: { inputs: readonly Tensor[]; outputs: readonly Tensor[] },
): PrivateProofData {
  return { inputs: matchSet(doc.input, data.inputs, "input"), outputs: matchSet(doc.output, data.outputs, "output") };
}

function matchSet(set: CommittedTensorSet, given: readonly Tensor[], which: "input" | "output"): HashedTensor[] {
  const byName = new Map<string, Tensor>();
  for (const t of given) {
    if (byName.has(t.name)) throw new PrivateDataError(which, t.name, "given twice");
    if (!set.tensors.some((c) => c.name === t.name)) {
      throw new PrivateDataError(which, t.name, `the proof commits to no ${which} of this name`);
    }
    byName.set(t.name, t);
  }
  return set.tensors.map((committed) => {
    const t = byName.get(committed.name);
    if (t === undefined) throw new PrivateDataError(which, committed.name, "not given (the proof commits to it)");
    if (
      t.dtype !== committed.dtype ||
      t.dims.length !== committed.dims.length ||
      t.dims.some((d, i) => d !== committed.dims[i])
    ) {
      throw new PrivateDataError(
        which,
        committed.name,
        `given as ${t.dtype} [${t.dims.join(", ")}], committed as ${committed.dtype} [${committed.dims.join(", ")}]`,
      );
    }
    let bytes: Uint8Array;
    let hash: Bytes32;
    try {
      bytes = tensorBytes(t);
      hash = hashTensor(t);
    } catch (error) {
      if (error instanceof StrataError) throw new PrivateDataError(which, committed.name, error.message);
      throw error;
    }
    if (hash !== committed.hash) {
      throw new PrivateDataError(
        which,
        committed.name,
        `its bytes hash to ${hash}, the proof commits to ${committed.hash}: this is not the data the node ran`,
      );
    }
    return { ...binaryTensor(committed.name, committed.dtype, committed.dims, bytes), hash };
  });
}

/**
 * Opens an encrypted proof with the requester's private key or its disclosure key, in the proof's own context, and
 * checks the plaintext against the committed tensor hashes. In order: the envelope's hash (`ProofFormatError`
 * `envelope.hash`), the envelope (`EnvelopeFormatError`, `EnvelopeKeyError` for a wrong key, `EnvelopeContextError`
 * for an envelope of another proof, `EnvelopeCorruptedError`), then each tensor ({@link PrivateDataError}).
 */
export async function openPrivateProof(doc: UnsignedPrivateProof, key: PrivateProofKey): Promise<PrivateProofData> {
  const envelope = envelopeOf(doc);
  const aad = proofEnvelopeContext(doc);
  const contents: EnvelopeContents =
    "privateKey" in key
      ? await openEnvelope(envelope, key.privateKey, { aad })
      : await openWithContentKey(envelope, key.disclosureKey, { aad });
  if (contents.kind !== "tensors") {
    throw new PrivateDataError("input", "(envelope)", "the envelope holds bytes, not the proof's tensors");
  }
  const tensorsOf = (set: CommittedTensorSet, which: "input" | "output"): Tensor[] =>
    contents.tensors
      .filter((t) => t.name.startsWith(`${which}/`))
      .map((t) => {
        const name = t.name.slice(which.length + 1);
        const committed = set.tensors.find((c) => c.name === name);
        if (committed === undefined) {
          throw new PrivateDataError(which, name, `the proof commits to no ${which} of this name`);
        }
        return binaryTensor(name, committed.dtype, committed.dims, t.bytes);
      });
  const stray = contents.tensors.find((t) => !t.name.startsWith("input/") && !t.name.startsWith("output/"));
  if (stray) throw new PrivateDataError("input", stray.name, "the envelope holds a tensor of neither set");
  return revealPrivateProof(doc, { inputs: tensorsOf(doc.input, "input"), outputs: tensorsOf(doc.output, "output") });
}

/**
 * The disclosure key (`strata-dk1:` text) of an encrypted proof: its envelope's content key, which opens this proof
 * and nothing else and says nothing of `privateKey`.
 */
export function privateProofDisclosureKey(doc: UnsignedPrivateProof, privateKey: PrivateKeyInput): string {
  return formatDisclosureKey(contentKeyOf(envelopeOf(doc), privateKey));
}

function envelopeOf(doc: UnsignedPrivateProof): Uint8Array {
  if (doc.privacy !== "encrypted" || doc.envelope === undefined) {
    throw new ProofFormatError("privacy", `is ${doc.privacy}: only an encrypted proof holds an envelope to open`);
  }
  const actual = ciphertextHash(doc.envelope.bytes);
  if (actual !== doc.envelope.hash) {
    throw new ProofFormatError(
      "envelope.hash",
      `is ${doc.envelope.hash} but the envelope's bytes hash to ${actual}: the ciphertext or its hash was altered`,
    );
  }
  return doc.envelope.bytes;
}

function withoutSignature(doc: object): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...doc };
  delete rest.signature;
  return rest;
}

function sortByName<T extends { name: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => Buffer.compare(Buffer.from(a.name, "utf8"), Buffer.from(b.name, "utf8")));
}

/** Reads a proof of any version: v1 JSON, v2 binary, or a private (v3) proof. */
export function decodeAnyProof(input: Uint8Array | string): InferenceProof | PrivateInferenceProof {
  if (typeof input !== "string" && isPrivateProofBytes(input)) return decodePrivateProof(input);
  return decodeProof(input);
}

/** A proof of any version: public (v1, v2) or private (v3). */
export type AnyInferenceProof = InferenceProof | PrivateInferenceProof;

/** The commitment of a proof of any version (see `proofCommitment` and {@link privateProofCommitment}). */
export function anyProofCommitment(doc: AnyInferenceProof): Commitment {
  return isPrivateProof(doc) ? privateProofCommitment(doc) : proofCommitment(doc);
}

/**
 * `validateProofForCommitment` for a document of any version: a private (v3) proof is validated by
 * {@link validatePrivateProof} and committed by {@link privateProofCommitment}. Same errors.
 */
export function validateAnyProofForCommitment(value: unknown): { proof: AnyInferenceProof; commitment(): Commitment } {
  if (isPrivateProof(value)) {
    const proof = validatePrivateProof(value);
    return { proof, commitment: () => privateProofCommitment(proof) };
  }
  return validateProofForCommitment(value);
}

/**
 * A JSON view of a proof of any version for display: `proofToJson` of a public one; a private one as its header
 * (tensors as committed hashes, the envelope as `{ hash, length }`).
 */
export function anyProofToJson(doc: AnyInferenceProof): JsonValue {
  if (!isPrivateProof(doc)) return proofToJson(doc);
  return JSON.parse(canonicalJson(headerOf(validatePrivateProof(doc)))) as JsonValue;
}
