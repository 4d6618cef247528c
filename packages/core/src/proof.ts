import {
  AbiCoder,
  BaseWallet,
  getBytes,
  hexlify,
  id,
  keccak256,
  randomBytes,
  recoverAddress,
  Signature,
  toBeHex,
  toUtf8Bytes,
  TypedDataEncoder,
  type Signer,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";
import {
  NonCanonicalSignatureError,
  ProofFormatError,
  SignatureError,
  StrataError,
  TensorError,
  UnsupportedVersionError,
} from "./errors";
import { blobIdFromBytes32, blobIdToBytes32, type BlobId } from "./blob-id";
import type { BlobIdHex, Bytes32, Commitment, ModelId } from "./ids";
import type { ModelVersion } from "./models";
import { canonicalJson, canonicalJsonBytes, parseJson, type JsonValue } from "./json";
import { keccak256Bytes, keccak256Hex, writeHex } from "./keccak";
import { PROOF_EIP712_NAME, PROOF_EIP712_VERSION, proofStructDigest, type ProofStructFields } from "./proof-digest";
import { tensorHashPreimage, writeUint } from "./tensor-abi";
import { join, kind, ShapeChecker } from "./shape";
import { DTYPE_SIZES, DTYPES, tensorBytes, withLazyData, type Dtype, type FixedDtype, type Tensor } from "./tensor";
import {
  decodeProofFrame,
  encodeProofFrame,
  isBinaryProof,
  PROOF_V2_MAGIC,
  type ProofFrameTensor,
} from "./proof-binary";

/**
 * # The inference proof format
 *
 * An inference proof is a versioned JSON document; the document goes to Walrus and its commitment (a bytes32) goes
 * on-chain. Version 1 ({@link InferenceProofV1}):
 *
 * ```
 * { version: 1,
 *   domain:  { chainId, proofRegistry, modelRegistry },
 *   model:   { id, version, blobId, sha256 },
 *   input:   { hash, tensors: [{ name, dtype, dims, data, hash }, ...] },
 *   output:  { hash, tensors: [...] },
 *   runtime: { engine, version, graphOptimizationLevel, executionMode, intraOpNumThreads, ... },
 *   node, timestamp, requestId, signature }
 * ```
 *
 * ## Hashing rules (v1)
 * - **tensor hash** = `keccak256(abi.encode(string name, string dtype, uint256[] dims, bytes32 keccak256(data)))`, where
 *   `data` is the raw little-endian element bytes (the base64 decoded), see `tensor.ts`.
 * - **tensor-set hash** (the `hash` of `input` / `output`) = `keccak256(abi.encode(bytes32[] hashes))`, the tensor
 *   hashes ordered by tensor name (byte-wise on the UTF-8 names). Names are unique within a set; the order of the
 *   `tensors` array in the document does not matter (builders write it sorted by name).
 * - **runtime hash** = `keccak256(utf8(canonicalJson(runtime)))`, canonical JSON as in `json.ts` (sorted keys, no
 *   whitespace, undefined members left out).
 * - **commitment** = the EIP-712 digest (`TypedDataEncoder.hash`) of
 *   `InferenceProof(uint16 version,bytes32 modelId,uint32 modelVersion,bytes32 modelBlobId,bytes32 modelSha256,
 *   address modelRegistry,bytes32 inputHash,bytes32 outputHash,bytes32 runtimeHash,address node,uint64 timestamp,
 *   bytes32 requestId)` under the domain `{ name: "Strata", version: "1", chainId: domain.chainId,
 *   verifyingContract: domain.proofRegistry }`. The input/output/runtime hashes are recomputed from the document's
 *   contents, never taken on trust.
 * - **signature** = the node's 65-byte ECDSA signature (r, s, v; low s) of the commitment, i.e. `signTypedData` over
 *   the same domain, types and message. The signature is not part of the commitment.
 *
 * ## Serialization
 * `encodeProof` writes a v1 document as canonical JSON (`json.ts`) as UTF-8. Hex values are lowercase except
 * addresses, which are EIP-55 checksummed. `decodeProof` accepts any JSON with the exact v1 shape (unknown fields are
 * errors) and normalizes hex.
 *
 * ## Version 2 ({@link InferenceProofV2}): binary tensors
 * The same fields, the same hashing rules and the same EIP-712 type as v1, with `version: 2` (so the commitment of a
 * v2 proof differs from the v1 proof of the same inference only through the version word). In memory every tensor of
 * a v2 document carries its element bytes raw in `bytes` (a `Uint8Array`); `data` is then a lazy, non-enumerable base64
 * getter (see `tensor.ts`), so no base64 is ever made on the hot paths (build, sign, encode, decode, commit).
 * Serialized (`encodeProof` of a v2 document), it is binary, see `proof-binary.ts`:
 *
 * ```
 * magic 0x89 "STP" | u16 LE format version (2) | u32 LE header length | header | tensor bytes
 * ```
 *
 * where the header is the canonical JSON (UTF-8) of the whole document with each tensor as
 * `{ name, dtype, dims, hash, length }` (no data), and the tensor bytes are each tensor's raw little-endian element
 * bytes, in header order (inputs, then outputs), `length` bytes each, nothing after the last. Decoding is strict: the
 * header must be exactly the canonical JSON of the normalized document, the lengths must agree with the dims and add up
 * to the bytes that follow, and every field is checked as in v1. So a proof has one encoding.
 *
 * ## Version 3: private proofs (`private-proof.ts`)
 * The `hashed` and `encrypted` privacy modes give version 3 proofs: the same frame, tensors as committed hashes only
 * (and, encrypted, the envelope of their bytes as the body), and an EIP-712 type that adds `uint8 privacy` and
 * `bytes32 ciphertextHash` after `requestId`. v1 and v2 (public) proofs, their types and commitments are unchanged;
 * `decodeProof` refuses a v3 proof by its version (read it with `decodePrivateProof` or `decodeAnyProof`).
 */

// ---------------------------------------------------------------------------------------------------------------------
// Types

/** The proof format versions, newest last. */
export enum ProofVersion {
  V1 = 1,
  /** Binary tensors (see the module notes): the same fields, hashes and EIP-712 type as v1, version 2. */
  V2 = 2,
}

/** Every proof version this library reads. */
export const SUPPORTED_PROOF_VERSIONS: readonly ProofVersion[] = [ProofVersion.V1, ProofVersion.V2];

/** The newest proof version (what `buildProof(params, { version: LATEST_PROOF_VERSION })` builds). */
export const LATEST_PROOF_VERSION = ProofVersion.V2;

/**
 * The version {@link buildProof} builds when none is asked for. Still v1: the node's outbox and the v1 batch blob hold
 * proofs as JSON; v2 proofs go into v2 batches (quilts, `buildBatchV2`).
 */
export const DEFAULT_PROOF_VERSION = ProofVersion.V1;

/** The chain and registries a proof is bound to. */
export interface ProofDomain {
  chainId: number;
  /** The ProofRegistry address: the EIP-712 verifying contract. */
  proofRegistry: string;
  /** The ModelRegistry address the model id refers to. */
  modelRegistry: string;
}

/** The model version that ran, as the ModelRegistry records it. */
export interface ProofModel {
  id: ModelId;
  /** The version index in the ModelRegistry (the first is 0). */
  version: number;
  /** The raw 32 bytes of the model file's Walrus Blob ID, as bytes32 hex. */
  blobId: BlobIdHex;
  /** sha256 of the model file bytes, as bytes32 hex. */
  sha256: Bytes32;
}

/** A tensor with its hash. */
export interface HashedTensor extends Tensor {
  hash: Bytes32;
}

/** The inputs or outputs of an inference, with the combined hash. */
export interface TensorSet {
  hash: Bytes32;
  tensors: HashedTensor[];
}

/** ONNX Runtime graph optimization levels (onnxruntime-node `SessionOptions.graphOptimizationLevel`). */
export const GRAPH_OPTIMIZATION_LEVELS = ["disabled", "basic", "extended", "layout", "all"] as const;
/** ONNX Runtime execution modes. */
export const EXECUTION_MODES = ["sequential", "parallel"] as const;

/** A JSON scalar, for free-form runtime settings. */
export type RuntimeSetting = string | number | boolean;

/** The inference runtime and every setting that can change the output bits. */
export interface RuntimeV1 {
  /** The engine package, e.g. `onnxruntime-node`. */
  engine: string;
  /** The engine version, e.g. `1.20.1`. */
  version: string;
  graphOptimizationLevel: (typeof GRAPH_OPTIMIZATION_LEVELS)[number];
  executionMode: (typeof EXECUTION_MODES)[number];
  intraOpNumThreads: number;
  interOpNumThreads?: number;
  /** Execution providers in priority order, e.g. `["cpu"]`. */
  executionProviders?: string[];
  /** `process.platform-process.arch`, e.g. `linux-x64`: kernels differ across CPUs and builds. */
  platform?: string;
  /** Any other setting that affects bits (free-form scalars). */
  settings?: Record<string, RuntimeSetting>;
}

/** Version 1 of the inference proof document. */
export interface InferenceProofV1 {
  version: ProofVersion.V1;
  domain: ProofDomain;
  model: ProofModel;
  input: TensorSet;
  output: TensorSet;
  runtime: RuntimeV1;
  /** The node that ran the inference and signs the proof. */
  node: string;
  /** Unix seconds at which the node produced the proof. */
  timestamp: number;
  /** A random bytes32 chosen per request: two runs of the same input have different commitments. */
  requestId: Bytes32;
  /** The node's EIP-712 signature of the commitment (65 bytes hex). */
  signature: string;
}

/**
 * A proof document before the node signs it. v2 documents have exactly the fields of v1, so this type admits either
 * `version` (code written against v1 documents keeps compiling when they may be v2); {@link buildProof} without a
 * version returns a v1 one.
 */
export type UnsignedInferenceProofV1 = Omit<InferenceProofV1, "signature" | "version"> & { version: ProofVersion };

/**
 * Version 2 of the inference proof document: the fields of v1 with `version: 2`. Every tensor of a checked v2 document
 * (built, decoded or validated) carries its element bytes in `bytes`, and `data` is a lazy base64 view of them (a
 * hand-made v2 object may give `data` instead of `bytes`; the validator turns it into `bytes`).
 */
export interface InferenceProofV2 extends Omit<InferenceProofV1, "version"> {
  version: ProofVersion.V2;
}

/** A v2 proof document before the node signs it. */
export type UnsignedInferenceProofV2 = Omit<InferenceProofV2, "signature">;

/** Each version's document type. */
export interface InferenceProofByVersion {
  [ProofVersion.V1]: InferenceProofV1;
  [ProofVersion.V2]: InferenceProofV2;
}

/** A proof document of any supported version. */
export type InferenceProof = InferenceProofByVersion[ProofVersion];
/** An unsigned proof document of any supported version. */
export type UnsignedInferenceProof = UnsignedInferenceProofV1 | UnsignedInferenceProofV2;

export { PROOF_EIP712_NAME, PROOF_EIP712_VERSION } from "./proof-digest";

/** The EIP-712 struct of every proof version: v2 changes the serialization, not what is signed. */
const INFERENCE_PROOF_TYPE: Record<string, TypedDataField[]> = {
  InferenceProof: [
    { name: "version", type: "uint16" },
    { name: "modelId", type: "bytes32" },
    { name: "modelVersion", type: "uint32" },
    { name: "modelBlobId", type: "bytes32" },
    { name: "modelSha256", type: "bytes32" },
    { name: "modelRegistry", type: "address" },
    { name: "inputHash", type: "bytes32" },
    { name: "outputHash", type: "bytes32" },
    { name: "runtimeHash", type: "bytes32" },
    { name: "node", type: "address" },
    { name: "timestamp", type: "uint64" },
    { name: "requestId", type: "bytes32" },
  ],
};

/** The EIP-712 types of each proof version (the domain type is implied); v2's are v1's. */
export const PROOF_EIP712_TYPES: { readonly [V in ProofVersion]: Record<string, TypedDataField[]> } = {
  [ProofVersion.V1]: INFERENCE_PROOF_TYPE,
  [ProofVersion.V2]: INFERENCE_PROOF_TYPE,
};

/** The EIP-712 message of a v1 proof: the twelve fields every version signs ({@link ProofStructFields}). */
export type InferenceProofMessageV1 = ProofStructFields;

/** Everything a wallet needs to sign a proof (`eth_signTypedData_v4`). */
export interface ProofTypedData {
  domain: TypedDataDomain;
  types: Record<string, TypedDataField[]>;
  primaryType: "InferenceProof";
  message: InferenceProofMessageV1;
}

// ---------------------------------------------------------------------------------------------------------------------
// Hashing

const abi = AbiCoder.defaultAbiCoder();
const BYTES32_HEX = /^0x[0-9a-fA-F]{64}$/;
const SURROGATE = /[\ud800-\udfff]/;

/** The hash of one tensor (see the hashing rules above); checks the tensor's dtype, dims and data first. */
export function hashTensor(tensor: Tensor): Bytes32 {
  return tensorHash(tensor, tensorBytes(tensor));
}

/** The combined hash of a set of tensors with their hashes: the hashes ordered by name, ABI-encoded, keccak256. */
export function hashTensorSet(tensors: readonly { name: string; hash: Bytes32 }[]): Bytes32 {
  const sorted = sortByName(tensors);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].name === sorted[i - 1].name) {
      throw new TensorError(sorted[i].name, "two tensors of the same set have this name");
    }
  }
  const hashes = sorted.map((t) => t.hash);
  if (!hashes.every((hash) => typeof hash === "string" && BYTES32_HEX.test(hash))) {
    // Not bytes32 hex: ethers' encoder rejects it, as it always has.
    return keccak256(abi.encode(["bytes32[]"], [hashes]));
  }
  // abi.encode(bytes32[]): the offset of the array (0x20), its length, the items.
  const encoded = new Uint8Array(64 + 32 * hashes.length);
  writeUint(encoded, 0, 32);
  writeUint(encoded, 32, hashes.length);
  hashes.forEach((hash, i) => writeHex(hash, encoded, 64 + 32 * i, 32));
  return keccak256Hex(encoded);
}

/** The hash of the runtime: keccak256 of its canonical JSON. */
export function hashRuntime(runtime: RuntimeV1): Bytes32 {
  return keccak256Hex(utf8(canonicalJson(runtime)));
}

/**
 * The tensor hash of `tensor` whose element bytes (checked by `tensorBytes`) are `bytes`:
 * `keccak256(abi.encode(string name, string dtype, uint256[] dims, bytes32 keccak256(bytes)))`, the ABI encoding
 * written directly (byte-identical to ethers' AbiCoder; parity-tested on many shapes). Anything the direct writer does
 * not cover (a name with UTF-16 surrogates, a dims array with holes) goes through ethers' AbiCoder as before.
 */
function tensorHash(tensor: Tensor, bytes: Uint8Array): Bytes32 {
  const dataHash = keccak256Bytes(bytes);
  const dims = tensor.dims;
  let plainDims = true;
  for (let i = 0; i < dims.length; i++) if (typeof dims[i] !== "number") plainDims = false;
  if (SURROGATE.test(tensor.name) || SURROGATE.test(tensor.dtype) || !plainDims) {
    return keccak256(
      abi.encode(["string", "string", "uint256[]", "bytes32"], [tensor.name, tensor.dtype, dims, dataHash]),
    );
  }
  return keccak256Hex(tensorHashPreimage(tensor.name, tensor.dtype, dims as readonly number[], dataHash));
}

/** The UTF-8 bytes of `text`; a string with UTF-16 surrogates goes through ethers (which rejects lone ones). */
function utf8(text: string): Uint8Array {
  return SURROGATE.test(text) ? toUtf8Bytes(text) : Buffer.from(text, "utf8");
}

/** keccak256 of each version's EIP-712 struct type (`InferenceProof(uint16 version,...)`). */
const TYPE_HASHES: { readonly [V in ProofVersion]: Uint8Array } = {
  [ProofVersion.V1]: getBytes(
    id(TypedDataEncoder.from(PROOF_EIP712_TYPES[ProofVersion.V1]).encodeType("InferenceProof")),
  ),
  [ProofVersion.V2]: getBytes(
    id(TypedDataEncoder.from(PROOF_EIP712_TYPES[ProofVersion.V2]).encodeType("InferenceProof")),
  ),
};

/**
 * The EIP-712 digest of a checked document of either version (`TypedDataEncoder.hash` of its {@link proofTypedData}, byte for byte;
 * parity-tested), with the set and runtime hashes given: `keccak256(0x1901 || domainSeparator || hashStruct)`, where
 * `hashStruct = keccak256(typeHash || the 12 fields, each as one 32-byte word)`. Every field has been checked by the
 * validator (ranges, bytes32 hex, checksummed addresses), so each is written straight into its word.
 */
function digest(doc: UnsignedInferenceProof, inputHash: Bytes32, outputHash: Bytes32, runtimeHash: Bytes32): Bytes32 {
  return proofStructDigest(doc.domain, TYPE_HASHES[doc.version], {
    version: doc.version,
    modelId: doc.model.id,
    modelVersion: doc.model.version,
    modelBlobId: doc.model.blobId,
    modelSha256: doc.model.sha256,
    modelRegistry: doc.domain.modelRegistry,
    inputHash,
    outputHash,
    runtimeHash,
    node: doc.node,
    timestamp: doc.timestamp,
    requestId: doc.requestId,
  });
}

/** Hashes `tensors` and orders them by name: the `input` or `output` of a proof. */
export function makeTensorSet(tensors: readonly Tensor[]): TensorSet {
  const hashed = sortByName(tensors).map((t): HashedTensor => {
    const hash = hashTensor(t);
    // A binary tensor stays binary (its bytes, no base64).
    if (t.bytes !== undefined)
      return withLazyData({ name: t.name, dtype: t.dtype, dims: [...t.dims], bytes: t.bytes, hash });
    return { name: t.name, dtype: t.dtype, dims: [...t.dims], data: t.data, hash };
  });
  return { hash: hashTensorSet(hashed), tensors: hashed };
}

/** A fresh random request id. */
export function newRequestId(): Bytes32 {
  return hexlify(randomBytes(32));
}

/**
 * The `model` of a proof for `version` as the ModelRegistry records it (the registry client's {@link ModelVersion}):
 * the proof format holds the Blob ID as bytes32, the client a {@link BlobId}; this is the one conversion.
 */
export function proofModelOf(version: Pick<ModelVersion, "modelId" | "index" | "blobId" | "sha256">): ProofModel {
  return {
    id: version.modelId,
    version: version.index,
    blobId: blobIdToBytes32(version.blobId),
    sha256: version.sha256,
  };
}

/** The Walrus Blob ID of the model file a proof names (its `model.blobId`, bytes32 in the document). */
export function proofModelBlobId(proof: { model: Pick<ProofModel, "blobId"> }): BlobId {
  return blobIdFromBytes32(proof.model.blobId);
}

// ---------------------------------------------------------------------------------------------------------------------
// Building, committing, signing

/** What {@link buildProof} needs; tensors come from `encodeTensor` / `tensorFromBytes` (or their binary twins). */
export interface ProofParams {
  domain: ProofDomain;
  model: ProofModel;
  inputs: readonly Tensor[];
  outputs: readonly Tensor[];
  runtime: RuntimeV1;
  node: string;
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  /** Defaults to {@link newRequestId}. */
  requestId?: Bytes32;
}

/** Options of {@link buildProof}. */
export interface BuildProofOptions {
  /** The format version to build (default {@link DEFAULT_PROOF_VERSION}, v1). */
  version?: ProofVersion;
}

/**
 * Builds an unsigned proof: hashes the tensors, normalizes hex and checks the result against the shape of the version
 * (`options.version`, default {@link DEFAULT_PROOF_VERSION}). A v2 proof keeps each tensor's element bytes raw: a
 * binary tensor's `bytes` (copied: the proof does not change when the caller reuses its buffers) or a base64 tensor's
 * decoded `data`. The document is deeply frozen (a v2 tensor's `bytes` cannot be frozen: do not write into them).
 */
export function buildProof(
  params: ProofParams,
  options?: { version?: ProofVersion.V1 },
): Omit<InferenceProofV1, "signature">;
export function buildProof(params: ProofParams, options: { version: ProofVersion.V2 }): UnsignedInferenceProofV2;
export function buildProof(params: ProofParams, options?: BuildProofOptions): UnsignedInferenceProof;
export function buildProof(params: ProofParams, options: BuildProofOptions = {}): UnsignedInferenceProof {
  const version = checkVersion(options.version ?? DEFAULT_PROOF_VERSION);
  // Tensors are validated (and their data decoded) once; their hashes are then computed from those bytes.
  const known: Record<"input" | "output", (Bytes32 | undefined)[]> = { input: [], output: [] };
  const unhashed = (tensors: readonly Tensor[], set: "input" | "output"): TensorSet => ({
    hash: ZERO_HASH,
    tensors: sortByName(tensors).map((t): HashedTensor => {
      const common = { name: t.name, dtype: t.dtype, dims: Array.isArray(t.dims) ? [...t.dims] : t.dims };
      const prehashed = PREHASHED.get(t);
      known[set].push(prehashed?.hash);
      if (version === ProofVersion.V1) return { ...common, data: t.data, hash: ZERO_HASH };
      // A prehashed tensor's bytes are already core's own copy.
      const bytes = prehashed?.bytes ?? (t.bytes instanceof Uint8Array ? t.bytes.slice() : t.bytes);
      return bytes === undefined
        ? { ...common, data: t.data, hash: ZERO_HASH }
        : withLazyData({ ...common, bytes, hash: ZERO_HASH });
    }),
  });
  const built = {
    version,
    domain: { ...params.domain },
    model: { ...params.model },
    input: unhashed(params.inputs, "input"),
    output: unhashed(params.outputs, "output"),
    runtime: params.runtime,
    node: params.node,
    timestamp: params.timestamp ?? Math.floor(Date.now() / 1000),
    requestId: params.requestId ?? newRequestId(),
  };
  const bytes: TensorBytes = { input: [], output: [] };
  const doc = validateUnsigned(built, "", version, bytes);
  const hashes: string[] = [];
  for (const key of ["input", "output"] as const) {
    const set = doc[key];
    set.tensors.forEach((tensor, i) => (tensor.hash = known[key][i] ?? tensorHash(tensor, bytes[key][i])));
    set.hash = hashTensorSet(set.tensors);
    hashes.push(set.hash);
  }
  deepFreeze(doc);
  BUILT.set(doc, { bytes, inputHash: hashes[0], outputHash: hashes[1], runtimeHash: hashRuntime(doc.runtime) });
  return doc;
}

/**
 * Tensors {@link prehashTensor} returned, with the hash it computed and its copy of their bytes (kept here, so changing
 * the returned object's fields changes nothing).
 */
const PREHASHED = new WeakMap<object, { hash: Bytes32; bytes?: Uint8Array }>();

/**
 * Checks and hashes `tensor` ahead of {@link buildProof}, which then takes the hash as it is: a node can hash its
 * inputs while ONNX Runtime runs (its `run` is asynchronous) rather than after. Returns the tensor with its `hash`
 * (frozen; a binary tensor's bytes are copied, and must not be written into afterwards). Throws {@link TensorError}
 * for a tensor whose dtype, dims and data disagree.
 */
export function prehashTensor(tensor: Tensor): HashedTensor {
  const raw = tensorBytes(tensor);
  const dims = [...tensor.dims];
  let out: HashedTensor;
  if (tensor.bytes !== undefined) {
    const bytes = raw.slice();
    out = withLazyData({ name: tensor.name, dtype: tensor.dtype, dims, bytes, hash: ZERO_HASH });
    out.hash = tensorHash(out, bytes);
    PREHASHED.set(out, { hash: out.hash, bytes });
  } else {
    out = { name: tensor.name, dtype: tensor.dtype, dims, data: tensor.data, hash: tensorHash(tensor, raw) };
    PREHASHED.set(out, { hash: out.hash });
  }
  Object.freeze(dims);
  return Object.freeze(out);
}

/**
 * Documents {@link buildProof} returned (deeply frozen, so they cannot change afterwards) with their tensors' element
 * bytes and the hashes it computed: signing one skips validating, decoding and hashing it a second time.
 */
const BUILT = new WeakMap<
  object,
  { bytes: TensorBytes; inputHash: Bytes32; outputHash: Bytes32; runtimeHash: Bytes32 }
>();

/** A placeholder hash, replaced before the document leaves {@link buildProof}. */
const ZERO_HASH: Bytes32 = `0x${"0".repeat(64)}`;

function deepFreeze<T>(value: T): T {
  // Typed arrays with elements cannot be frozen (and a v2 tensor's bytes are one).
  if (value && typeof value === "object" && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/**
 * The EIP-712 domain, types and message of `doc`, with the input/output/runtime hashes recomputed from its contents.
 * Throws {@link ProofFormatError} when a stored hash disagrees with the data it covers.
 */
export function proofTypedData(proof: UnsignedInferenceProof | InferenceProof): ProofTypedData {
  const version = checkVersion(proof.version);
  const bytes: TensorBytes = { input: [], output: [] };
  const doc = validateUnsigned(withoutSignature(proof), "", version, bytes);
  const input = checkTensorSet(doc.input, "input", bytes.input);
  const output = checkTensorSet(doc.output, "output", bytes.output);
  return {
    domain: {
      name: PROOF_EIP712_NAME,
      version: PROOF_EIP712_VERSION,
      chainId: doc.domain.chainId,
      verifyingContract: doc.domain.proofRegistry,
    },
    types: PROOF_EIP712_TYPES[version],
    primaryType: "InferenceProof",
    message: {
      version,
      modelId: doc.model.id,
      modelVersion: doc.model.version,
      modelBlobId: doc.model.blobId,
      modelSha256: doc.model.sha256,
      modelRegistry: doc.domain.modelRegistry,
      inputHash: input,
      outputHash: output,
      runtimeHash: hashRuntime(doc.runtime),
      node: doc.node,
      timestamp: doc.timestamp,
      requestId: doc.requestId,
    },
  };
}

/**
 * The commitment of `doc`, the bytes32 that goes on-chain: the EIP-712 digest, recomputed from the document's contents
 * (tensor data -> tensor hashes -> set hashes; runtime -> runtime hash). Throws {@link ProofFormatError} when a stored
 * hash disagrees with the data. Does not check the signature (see {@link verifyProofSignature}).
 */
export function proofCommitment(doc: UnsignedInferenceProof | InferenceProof): Commitment {
  const version = checkVersion(doc.version);
  const bytes: TensorBytes = { input: [], output: [] };
  return commitChecked(validateUnsigned(withoutSignature(doc), "", version, bytes), bytes);
}

/** A proof checked by {@link validateProofForCommitment}, its commitment still to compute. */
export interface CheckedProof {
  /** The document, as {@link validateProof} returns it. */
  proof: InferenceProof;
  /** Its commitment, as {@link proofCommitment} computes it (and throwing as it does). */
  commitment(): Commitment;
}

/**
 * {@link validateProof} then {@link proofCommitment} in two steps that share their work: the document is validated
 * once and each tensor's base64 is decoded and checked once. Same checks, same errors. `commitment()` reads the checked
 * document: call it before anything can change `proof`. (Internal: core's batch decoding and the verifier use it.)
 */
export function validateProofForCommitment(value: unknown, path = ""): CheckedProof {
  const bytes: TensorBytes = { input: [], output: [] };
  const proof = validateVersioned(value, path, bytes);
  return { proof, commitment: () => commitChecked(proof, bytes) };
}

/**
 * The commitment of a document the validator has just checked, whose tensors' element bytes are `bytes`: recomputes
 * the tensor and set hashes (throwing {@link ProofFormatError} at the first that disagrees) and the runtime hash, then
 * the EIP-712 digest.
 */
function commitChecked(doc: UnsignedInferenceProof, bytes: TensorBytes): Commitment {
  const inputHash = checkTensorSet(doc.input, "input", bytes.input);
  const outputHash = checkTensorSet(doc.output, "output", bytes.output);
  return commitHashed(doc, inputHash, outputHash, hashRuntime(doc.runtime));
}

/** The EIP-712 digest of a checked document whose set and runtime hashes are given. */
function commitHashed(
  doc: UnsignedInferenceProof,
  inputHash: Bytes32,
  outputHash: Bytes32,
  runtimeHash: Bytes32,
): Commitment {
  try {
    return digest(doc, inputHash, outputHash, runtimeHash) as Commitment;
  } catch (error) {
    throw new ProofFormatError("$", `cannot be EIP-712 encoded: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Signs `unsigned` with `signer`, which must be the proof's node. Returns the signed document; see
 * {@link signProofWithCommitment}.
 */
export async function signProof(unsigned: UnsignedInferenceProofV2, signer: Signer): Promise<InferenceProofV2>;
export async function signProof(unsigned: UnsignedInferenceProofV1, signer: Signer): Promise<InferenceProofV1>;
export async function signProof(unsigned: UnsignedInferenceProof, signer: Signer): Promise<InferenceProof>;
export async function signProof(unsigned: UnsignedInferenceProof, signer: Signer): Promise<InferenceProof> {
  return (await signProofWithCommitment(unsigned, signer)).proof;
}

/**
 * Signs `unsigned` with `signer`, which must be the proof's node, and returns the signed document with its commitment
 * (so a caller need not recompute it). The document is validated and its hashes checked against its data once. A local
 * key (an ethers `Wallet`) signs the commitment directly — what `signTypedData` does, minus re-encoding the typed data;
 * the signature is then the key's by construction. Any other signer signs the typed data, and the signature is checked
 * by recovering it.
 */
export async function signProofWithCommitment(
  unsigned: UnsignedInferenceProofV2,
  signer: Signer,
): Promise<{ proof: InferenceProofV2; commitment: Commitment }>;
export async function signProofWithCommitment(
  unsigned: UnsignedInferenceProofV1,
  signer: Signer,
): Promise<{ proof: InferenceProofV1; commitment: Commitment }>;
export async function signProofWithCommitment(
  unsigned: UnsignedInferenceProof,
  signer: Signer,
): Promise<{ proof: InferenceProof; commitment: Commitment }>;
export async function signProofWithCommitment(
  unsigned: UnsignedInferenceProof,
  signer: Signer,
): Promise<{ proof: InferenceProof; commitment: Commitment }> {
  const version = checkVersion(unsigned.version);
  const built = BUILT.get(unsigned);
  const bytes: TensorBytes = { input: [], output: [] };
  const checked = built ? unsigned : validateUnsigned(withoutSignature(unsigned), "", version, bytes);
  const address = await signer.getAddress();
  if (address.toLowerCase() !== checked.node.toLowerCase()) {
    throw new SignatureError(
      `The proof names node ${checked.node} but the signer is ${address}: sign with the node's key`,
      checked.node,
      address,
    );
  }
  // A built document's hashes are the ones buildProof just computed from its bytes.
  const commitment = built
    ? commitHashed(checked, built.inputHash, built.outputHash, built.runtimeHash)
    : commitChecked(checked, bytes);
  let signature: string;
  if (signer instanceof BaseWallet) {
    signature = signer.signingKey.sign(commitment).serialized;
  } else {
    const { domain, types, message } = proofTypedData(checked);
    // Signature.from normalizes v to 27/28; a high s (valid, but not canonical) is replaced by its low-s twin.
    const returned = Signature.from(await signer.signTypedData(domain, types, message));
    const s = BigInt(returned.s);
    signature =
      s > HALF_N
        ? Signature.from({ r: returned.r, s: toBeHex(SECP256K1_N - s, 32), v: returned.v === 27 ? 28 : 27 }).serialized
        : returned.serialized;
    assertCanonicalSignature(signature);
    const recovered = recoverAddress(commitment, signature);
    if (recovered.toLowerCase() !== checked.node.toLowerCase()) {
      throw new SignatureError(
        `The signer returned a signature by ${recovered}, not by the node ${checked.node}: check the signer`,
        checked.node,
        recovered,
      );
    }
  }
  return { proof: { ...checked, signature } as InferenceProof, commitment };
}

/** The order of the secp256k1 group. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = SECP256K1_N / 2n;
const SIGNATURE_HEX = /^0x[0-9a-fA-F]{130}$/;

/**
 * Checks that `signature` is the canonical encoding of a secp256k1 signature: 65 bytes of hex `r || s || v` with
 * `1 <= r < n`, `1 <= s <= n/2` and `v` 27 or 28 (what ethers and every EIP-712 signer produce). Throws
 * {@link NonCanonicalSignatureError} naming the part and its value otherwise. Core's recovery and the verifier's both
 * apply it before recovering, so a proof has exactly one valid signature encoding.
 */
export function assertCanonicalSignature(signature: string): void {
  if (typeof signature !== "string" || !SIGNATURE_HEX.test(signature)) {
    const shown = typeof signature === "string" ? `${signature.slice(0, 20)}${signature.length > 20 ? "…" : ""}` : "";
    throw new NonCanonicalSignatureError(
      "length",
      shown,
      `expected 65 bytes of hex (0x + 130 digits: r, s, v), got ${typeof signature === "string" ? `"${shown}"` : typeof signature}`,
    );
  }
  const r = BigInt(signature.slice(0, 66));
  const sHex = `0x${signature.slice(66, 130).toLowerCase()}`;
  const s = BigInt(sHex);
  const v = parseInt(signature.slice(130, 132), 16);
  if (r === 0n || r >= SECP256K1_N) {
    const rHex = signature.slice(0, 66).toLowerCase();
    throw new NonCanonicalSignatureError("r", rHex, `r ${rHex} is not in [1, n)`);
  }
  if (s === 0n || s > HALF_N) {
    throw new NonCanonicalSignatureError(
      "s",
      sHex,
      `s ${sHex} is ${s === 0n ? "zero" : "above n/2 (the high-s twin of a signature)"}; only low s (1 <= s <= n/2) is accepted`,
    );
  }
  if (v !== 27 && v !== 28) {
    throw new NonCanonicalSignatureError(
      "v",
      String(v),
      `v ${v} is not 27 or 28 (v 0/1 and EIP-155 forms are other encodings of the same signature)`,
    );
  }
}

/**
 * The address that signed `doc` (whatever `doc.node` says). Throws {@link NonCanonicalSignatureError} for a signature
 * not in canonical form (see {@link assertCanonicalSignature}) and {@link SignatureError} for one that recovers to no
 * key.
 */
export function recoverProofSigner(doc: InferenceProof): string {
  const commitment = proofCommitment(doc);
  assertCanonicalSignature(doc.signature);
  try {
    return recoverAddress(commitment, doc.signature);
  } catch (error) {
    throw new SignatureError(`The proof signature is malformed: ${(error as Error).message}`, doc.node ?? null, null, {
      cause: error,
    });
  }
}

/**
 * Checks that `doc` is signed by its node and returns its commitment. Throws {@link SignatureError} when the signature
 * recovers to another address, and {@link ProofFormatError} when the document is inconsistent.
 */
export function verifyProofSignature(doc: InferenceProof): Commitment {
  const recovered = recoverProofSigner(doc);
  if (recovered.toLowerCase() !== doc.node.toLowerCase()) {
    throw new SignatureError(
      `The proof is signed by ${recovered}, not by its node ${doc.node}: the document was altered or forged`,
      doc.node,
      recovered,
    );
  }
  return proofCommitment(doc);
}

// ---------------------------------------------------------------------------------------------------------------------
// Serialization

/**
 * The canonical bytes of `doc`, after checking its shape: canonical JSON (UTF-8) for v1, the binary form for v2 (see
 * the module notes and `proof-binary.ts`).
 */
export function encodeProof(doc: InferenceProof): Uint8Array {
  const checked = validateProof(doc);
  if (checked.version === ProofVersion.V1) return canonicalJsonBytes(checked);
  return encodeProofFrame(checked.version, canonicalJsonBytes(binaryHeader(checked)), [
    ...checked.input.tensors.map((t) => t.bytes as Uint8Array),
    ...checked.output.tensors.map((t) => t.bytes as Uint8Array),
  ]);
}

/**
 * Reads a proof document from bytes (or JSON text): a v1 JSON document, or (bytes starting with the v2 magic
 * `0x89 "STP"`) a v2 binary one. Checks the JSON or the frame, the version, and the exact shape of that version
 * (unknown fields, wrong types, malformed hex, tensor dims/data mismatches, lengths that do not add up, trailing bytes
 * are all {@link ProofFormatError}s naming the field; an unknown version is an {@link UnsupportedVersionError}). Hashes
 * are checked by {@link proofCommitment}. A v2 document's tensor `bytes` are views into `input` (not copies).
 */
export function decodeProof(input: Uint8Array | string): InferenceProof {
  if (typeof input !== "string" && isBinaryProof(input)) return decodeBinaryProof(input);
  let parsed: unknown;
  try {
    parsed = parseJson(input);
  } catch (error) {
    throw new ProofFormatError("$", `is not UTF-8 JSON: ${(error as Error).message}`, { cause: error });
  }
  if (
    typeof parsed === "object" &&
    parsed !== null &&
    (parsed as Record<string, unknown>).version === ProofVersion.V2
  ) {
    throw new ProofFormatError(
      "version",
      `is 2 in a JSON document, but v2 proofs are binary (they start with the bytes ${hexlify(PROOF_V2_MAGIC)}): ` +
        "encode a v2 proof with encodeProof, or write it as version 1 JSON",
    );
  }
  return validateProof(parsed);
}

/**
 * A JSON view of `doc` for display (`JSON.stringify`, `--json` output, logs): a v1 document as it is; a v2 document with
 * each tensor as `{ name, dtype, dims, hash, data }` (`data` the base64 of its bytes), the v1 shape with version 2. Not
 * a serialization (that is {@link encodeProof}), but {@link validateProof} reads it back: a v2 tensor may give `data`.
 */
export function proofToJson(doc: InferenceProof): JsonValue {
  const set = (s: TensorSet) => ({
    hash: s.hash,
    tensors: s.tensors.map((t) => ({ name: t.name, dtype: t.dtype, dims: [...t.dims], hash: t.hash, data: t.data })),
  });
  return JSON.parse(canonicalJson({ ...doc, input: set(doc.input), output: set(doc.output) })) as JsonValue;
}

/** The v2 header of a checked v2 document: the document with each tensor as `{ name, dtype, dims, hash, length }`. */
function binaryHeader(doc: InferenceProofV2): Record<string, unknown> {
  const set = (s: TensorSet) => ({
    hash: s.hash,
    tensors: s.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      dims: t.dims,
      hash: t.hash,
      length: (t.bytes as Uint8Array).length,
    })),
  });
  return { ...doc, input: set(doc.input), output: set(doc.output) };
}

/**
 * The strict v2 reader: the frame (`proof-binary.ts`), then the header's tensor entries and lengths (each `length`
 * agrees with its dims for fixed-size dtypes; together they cover the bytes after the header exactly), then the whole
 * document as {@link validateProof} checks it, and last that the header is the canonical JSON of the checked document.
 */
function decodeBinaryProof(input: Uint8Array): InferenceProofV2 {
  const frame = decodeProofFrame(input);
  if (frame.version !== ProofVersion.V2) {
    if (frame.version === 3) {
      throw new ProofFormatError(
        "version",
        "is 3: a private (hashed or encrypted) proof; read it with decodePrivateProof or decodeAnyProof",
      );
    }
    if (frame.version === ProofVersion.V1) {
      throw new ProofFormatError("version", "is 1 in a binary frame, but v1 proofs are JSON documents");
    }
    throw new UnsupportedVersionError("proof", frame.version, SUPPORTED_PROOF_VERSIONS);
  }
  let header: unknown;
  try {
    header = parseJson(frame.header);
  } catch (error) {
    throw new ProofFormatError("header", `is not UTF-8 JSON: ${(error as Error).message}`, { cause: error });
  }
  const h = check.object(header, "", [...V1_FIELDS, "signature"]);
  if (h.version !== ProofVersion.V2) {
    throw new ProofFormatError("version", `is ${JSON.stringify(h.version)} in the header but 2 in the frame`);
  }
  const entries: ProofFrameTensor[] = [];
  const sets: Record<"input" | "output", Record<string, unknown>> = { input: {}, output: {} };
  for (const key of ["input", "output"] as const) {
    const set = check.object(h[key], key, ["hash", "tensors"]);
    const tensorsPath = join(key, "tensors");
    const tensors = check.array(set.tensors, tensorsPath, { minLength: 1 }).map((item, i) => {
      const at = join(tensorsPath, i);
      const t = check.object(item, at, ["name", "dtype", "dims", "hash", "length"]);
      const length = check.integer(t.length, join(at, "length"), 0, Number.MAX_SAFE_INTEGER);
      const expected = fixedLength(t.dtype, t.dims);
      if (expected !== undefined && expected !== length) {
        throw new ProofFormatError(
          join(at, "length"),
          `is ${length} but ${String(t.dtype)} dims [${(t.dims as number[]).join(", ")}] need ${expected} bytes`,
        );
      }
      const entry: ProofFrameTensor = { field: join(at, "length"), length, bytes: new Uint8Array(0) };
      entries.push(entry);
      return { t, entry };
    });
    sets[key] = { set, tensors };
  }
  frame.slice(entries);
  const doc: Record<string, unknown> = { ...h };
  for (const key of ["input", "output"] as const) {
    const { set, tensors } = sets[key] as {
      set: Record<string, unknown>;
      tensors: { t: Record<string, unknown>; entry: ProofFrameTensor }[];
    };
    doc[key] = {
      hash: set.hash,
      tensors: tensors.map(({ t, entry }) => ({
        name: t.name,
        dtype: t.dtype,
        dims: t.dims,
        hash: t.hash,
        bytes: entry.bytes,
      })),
    };
  }
  const checked = validateProof(doc) as InferenceProofV2;
  if (!bytesEqual(canonicalJsonBytes(binaryHeader(checked)), frame.header)) {
    throw new ProofFormatError(
      "header",
      "is not the canonical JSON of the document (sorted keys, no whitespace, lowercase hex, checksummed addresses): " +
        "re-encode the proof with encodeProof",
    );
  }
  return checked;
}

/** The byte length `dims` of a fixed-size `dtype` need, or `undefined` when the dtype or dims are not plain. */
function fixedLength(dtype: unknown, dims: unknown): number | undefined {
  if (typeof dtype !== "string" || dtype === "string" || !(DTYPES as readonly string[]).includes(dtype))
    return undefined;
  if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) return undefined;
  const count = (dims as number[]).reduce((a, b) => a * b, 1);
  return Number.isSafeInteger(count) ? count * DTYPE_SIZES[dtype as FixedDtype] : undefined;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * Checks that `value` is a proof document of a supported version, with the same rules as {@link decodeProof}, and
 * returns it with hex normalized. `path` prefixes field names in errors (e.g. `proofs[3]` inside a batch).
 */
export function validateProof(value: unknown, path = ""): InferenceProof {
  return validateVersioned(value, path);
}

/** {@link validateProof}, keeping each tensor's checked element bytes in `bytes` when given. */
function validateVersioned(value: unknown, path: string, bytes?: TensorBytes): InferenceProof {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProofFormatError(path || "$", "must be a JSON object");
  }
  const version = (value as Record<string, unknown>).version;
  if (version === undefined) throw new ProofFormatError(join(path, "version"), "is missing");
  if (typeof version !== "number" || !Number.isInteger(version)) {
    throw new ProofFormatError(join(path, "version"), `must be an integer, got ${JSON.stringify(version)}`);
  }
  const validate = VALIDATORS[version as ProofVersion];
  if (!validate) throw new UnsupportedVersionError("proof", version, SUPPORTED_PROOF_VERSIONS);
  return validate(value, path, bytes);
}

// ---------------------------------------------------------------------------------------------------------------------
// Validation

const check = new ShapeChecker((field, reason) => new ProofFormatError(field || "$", reason));
const UINT32_MAX = 2 ** 32 - 1;

/** The checked element bytes of a document's tensors, in document order (what the tensor hashes cover). */
interface TensorBytes {
  input: Uint8Array[];
  output: Uint8Array[];
}

const VALIDATORS: {
  readonly [V in ProofVersion]: (value: unknown, path: string, bytes?: TensorBytes) => InferenceProofByVersion[V];
} = {
  [ProofVersion.V1]: (value, path, bytes) => {
    const record = check.object(value, path, [...V1_FIELDS, "signature"]);
    const unsigned = validateUnsigned(withoutSignature(record), path, ProofVersion.V1, bytes);
    return { ...unsigned, signature: check.hex(record.signature, join(path, "signature"), 65) } as InferenceProofV1;
  },
  [ProofVersion.V2]: (value, path, bytes) => {
    const record = check.object(value, path, [...V1_FIELDS, "signature"]);
    const unsigned = validateUnsigned(withoutSignature(record), path, ProofVersion.V2, bytes);
    return { ...unsigned, signature: check.hex(record.signature, join(path, "signature"), 65) } as InferenceProofV2;
  },
};

const V1_FIELDS = ["version", "domain", "model", "input", "output", "runtime", "node", "timestamp", "requestId"];

function withoutSignature(record: object): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...record };
  delete rest.signature;
  return rest;
}

/** Checks an unsigned document of `version` (v1 and v2 have the same fields; v2 tensors carry `bytes`). */
function validateUnsigned(
  value: unknown,
  path: string,
  version: ProofVersion,
  bytes?: TensorBytes,
): UnsignedInferenceProof {
  const r = check.object(value, path, V1_FIELDS);
  if (r.version !== version) {
    throw new ProofFormatError(join(path, "version"), `must be ${version}, got ${JSON.stringify(r.version)}`);
  }
  const binary = version === ProofVersion.V2;
  return {
    version: version as ProofVersion.V1,
    ...validateProofHead(r, path),
    input: validateTensorSet(r.input, join(path, "input"), binary, bytes?.input),
    output: validateTensorSet(r.output, join(path, "output"), binary, bytes?.output),
  };
}

/**
 * The fields every proof version shares (domain, model, runtime, node, timestamp, request id), checked and normalized.
 * Internal: the private proof format (`private-proof.ts`) reads them with it.
 */
export function validateProofHead(r: Record<string, unknown>, path: string) {
  const domainPath = join(path, "domain");
  const d = check.object(r.domain, domainPath, ["chainId", "proofRegistry", "modelRegistry"]);
  const modelPath = join(path, "model");
  const m = check.object(r.model, modelPath, ["id", "version", "blobId", "sha256"]);
  return {
    domain: {
      chainId: check.integer(d.chainId, join(domainPath, "chainId"), 1, Number.MAX_SAFE_INTEGER),
      proofRegistry: check.address(d.proofRegistry, join(domainPath, "proofRegistry")),
      modelRegistry: check.address(d.modelRegistry, join(domainPath, "modelRegistry")),
    },
    model: {
      id: check.bytes32(m.id, join(modelPath, "id")) as ModelId,
      version: check.integer(m.version, join(modelPath, "version"), 0, UINT32_MAX),
      blobId: check.bytes32(m.blobId, join(modelPath, "blobId")) as BlobIdHex,
      sha256: check.bytes32(m.sha256, join(modelPath, "sha256")),
    },
    runtime: validateRuntime(r.runtime, join(path, "runtime")),
    node: check.address(r.node, join(path, "node")),
    timestamp: check.integer(r.timestamp, join(path, "timestamp"), 0, Number.MAX_SAFE_INTEGER),
    requestId: check.bytes32(r.requestId, join(path, "requestId")),
  };
}

/**
 * Checks a tensor set's shape and each tensor's data; pushes each tensor's element bytes to `bytes` when given. A
 * `binary` (v2) set's tensors give their element bytes in `bytes` (or, in a hand-made document, base64 `data`; both
 * must then agree) and come out as binary tensors.
 */
function validateTensorSet(value: unknown, path: string, binary: boolean, bytes?: Uint8Array[]): TensorSet {
  const r = check.object(value, path, ["hash", "tensors"]);
  const tensorsPath = join(path, "tensors");
  const names = new Set<string>();
  const tensors = check.array(r.tensors, tensorsPath, { minLength: 1 }).map((item, i): HashedTensor => {
    const at = join(tensorsPath, i);
    if (binary) return validateBinaryTensor(item, at, names, bytes);
    const t = check.object(item, at, ["name", "dtype", "dims", "data", "hash"]);
    const name = check.string(t.name, join(at, "name"), { nonEmpty: true });
    if (names.has(name))
      throw new ProofFormatError(join(at, "name"), `repeats the tensor name ${JSON.stringify(name)}`);
    names.add(name);
    const dims = check
      .array(t.dims, join(at, "dims"))
      .map((dim, j) => check.integer(dim, join(join(at, "dims"), j), 0, Number.MAX_SAFE_INTEGER));
    const tensor: HashedTensor = {
      name,
      dtype: check.oneOf(t.dtype, join(at, "dtype"), DTYPES) satisfies Dtype,
      dims,
      data: check.string(t.data, join(at, "data")),
      hash: check.bytes32(t.hash, join(at, "hash")),
    };
    try {
      const data = tensorBytes(tensor);
      bytes?.push(data);
    } catch (error) {
      if (error instanceof StrataError) throw new ProofFormatError(join(at, "data"), error.message, { cause: error });
      throw error;
    }
    return tensor;
  });
  return { hash: check.bytes32(r.hash, join(path, "hash")), tensors };
}

/** One tensor of a v2 set (see {@link validateTensorSet}). */
function validateBinaryTensor(item: unknown, at: string, names: Set<string>, bytes?: Uint8Array[]): HashedTensor {
  const t = check.object(item, at, ["name", "dtype", "dims", "hash"], ["bytes", "data"]);
  const name = check.string(t.name, join(at, "name"), { nonEmpty: true });
  if (names.has(name)) throw new ProofFormatError(join(at, "name"), `repeats the tensor name ${JSON.stringify(name)}`);
  names.add(name);
  const dims = check
    .array(t.dims, join(at, "dims"))
    .map((dim, j) => check.integer(dim, join(join(at, "dims"), j), 0, Number.MAX_SAFE_INTEGER));
  const dtype = check.oneOf(t.dtype, join(at, "dtype"), DTYPES) satisfies Dtype;
  const hash = check.bytes32(t.hash, join(at, "hash"));
  let raw: Uint8Array;
  let field = join(at, "bytes");
  try {
    if (t.bytes !== undefined) {
      if (!(t.bytes instanceof Uint8Array)) {
        throw new ProofFormatError(field, `must be a Uint8Array of the element bytes, got ${kind(t.bytes)}`);
      }
      raw = tensorBytes({ name, dtype, dims, data: "", bytes: t.bytes });
      // `data` given as well (not the lazy view of the bytes): it must say the same.
      if (Object.prototype.propertyIsEnumerable.call(t, "data")) {
        field = join(at, "data");
        const base64 = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64");
        if (t.data !== base64) {
          throw new ProofFormatError(field, "disagrees with the tensor's bytes: give one of them");
        }
      }
    } else {
      field = join(at, "data");
      if (t.data === undefined)
        throw new ProofFormatError(join(at, "bytes"), "is missing (a v2 tensor carries its element bytes)");
      raw = tensorBytes({ name, dtype, dims, data: check.string(t.data, field) });
    }
  } catch (error) {
    if (error instanceof ProofFormatError) throw error;
    if (error instanceof StrataError) throw new ProofFormatError(field, error.message, { cause: error });
    throw error;
  }
  bytes?.push(raw);
  return withLazyData({ name, dtype, dims, bytes: raw, hash });
}

function validateRuntime(value: unknown, path: string): RuntimeV1 {
  const r = check.object(
    value,
    path,
    ["engine", "version", "graphOptimizationLevel", "executionMode", "intraOpNumThreads"],
    ["interOpNumThreads", "executionProviders", "platform", "settings"],
  );
  const runtime: RuntimeV1 = {
    engine: check.string(r.engine, join(path, "engine"), { nonEmpty: true }),
    version: check.string(r.version, join(path, "version"), { nonEmpty: true }),
    graphOptimizationLevel: check.oneOf(r.graphOptimizationLevel, join(path, "graphOptimizationLevel"), [
      ...GRAPH_OPTIMIZATION_LEVELS,
    ]),
    executionMode: check.oneOf(r.executionMode, join(path, "executionMode"), [...EXECUTION_MODES]),
    intraOpNumThreads: check.integer(r.intraOpNumThreads, join(path, "intraOpNumThreads"), 0, 1024),
  };
  if (r.interOpNumThreads !== undefined) {
    runtime.interOpNumThreads = check.integer(r.interOpNumThreads, join(path, "interOpNumThreads"), 0, 1024);
  }
  if (r.executionProviders !== undefined) {
    const at = join(path, "executionProviders");
    runtime.executionProviders = check
      .array(r.executionProviders, at)
      .map((p, i) => check.string(p, join(at, i), { nonEmpty: true }));
  }
  if (r.platform !== undefined) runtime.platform = check.string(r.platform, join(path, "platform"), { nonEmpty: true });
  if (r.settings !== undefined) {
    const at = join(path, "settings");
    if (typeof r.settings !== "object" || r.settings === null || Array.isArray(r.settings)) {
      throw new ProofFormatError(at, "must be an object of string, number or boolean settings");
    }
    const settings: Record<string, RuntimeSetting> = {};
    for (const [key, setting] of Object.entries(r.settings)) {
      if (
        !(typeof setting === "string" || typeof setting === "boolean" || Number.isFinite(setting)) ||
        setting === null
      ) {
        throw new ProofFormatError(join(at, key), "must be a string, a finite number or a boolean");
      }
      settings[key] = setting as RuntimeSetting;
    }
    runtime.settings = settings;
  }
  return runtime;
}

/**
 * Recomputes the tensor hashes and the set hash of `set`; throws naming the first that disagrees. Returns the hash.
 * `bytes[i]`, when given, are the element bytes of tensor `i` as the validator checked them (not decoded again).
 */
function checkTensorSet(set: TensorSet, path: string, bytes?: readonly Uint8Array[]): Bytes32 {
  set.tensors.forEach((tensor, i) => {
    let actual: Bytes32;
    try {
      actual = bytes === undefined ? hashTensor(tensor) : tensorHash(tensor, bytes[i]);
    } catch (error) {
      if (error instanceof StrataError) {
        throw new ProofFormatError(join(join(path, "tensors"), i), error.message, { cause: error });
      }
      throw error;
    }
    if (actual !== tensor.hash.toLowerCase()) {
      throw new ProofFormatError(
        `${path}.tensors[${i}].hash`,
        `is ${tensor.hash} but tensor "${tensor.name}" hashes to ${actual}: the tensor or its hash was altered`,
      );
    }
  });
  let actual: Bytes32;
  try {
    actual = hashTensorSet(set.tensors);
  } catch (error) {
    throw new ProofFormatError(`${path}.tensors`, (error as Error).message, { cause: error });
  }
  if (actual !== set.hash.toLowerCase()) {
    throw new ProofFormatError(
      `${path}.hash`,
      `is ${set.hash} but the tensors hash to ${actual}: a tensor or the hash was altered`,
    );
  }
  return actual;
}

function checkVersion(version: unknown): ProofVersion {
  if (!SUPPORTED_PROOF_VERSIONS.includes(version as ProofVersion)) {
    throw new UnsupportedVersionError("proof", version, SUPPORTED_PROOF_VERSIONS);
  }
  return version as ProofVersion;
}

function sortByName<T extends { name: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => Buffer.compare(Buffer.from(a.name, "utf8"), Buffer.from(b.name, "utf8")));
}
