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
import { canonicalJson, canonicalJsonBytes, parseJson } from "./json";
import { keccak256Bytes, keccak256Hex, writeHex } from "./keccak";
import { join, ShapeChecker } from "./shape";
import { DTYPES, tensorBytes, type Dtype, type Tensor } from "./tensor";

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
 * `encodeProof` writes canonical JSON (`json.ts`) as UTF-8. Hex values are lowercase except addresses, which are EIP-55
 * checksummed. `decodeProof` accepts any JSON with the exact v1 shape (unknown fields are errors) and normalizes hex.
 */

// ---------------------------------------------------------------------------------------------------------------------
// Types

/** The proof format versions, newest last. */
export enum ProofVersion {
  V1 = 1,
}

/** Every proof version this library reads. */
export const SUPPORTED_PROOF_VERSIONS: readonly ProofVersion[] = [ProofVersion.V1];

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

/** A proof document before the node signs it. */
export type UnsignedInferenceProofV1 = Omit<InferenceProofV1, "signature">;

/** Each version's document type. */
export interface InferenceProofByVersion {
  [ProofVersion.V1]: InferenceProofV1;
}

/** A proof document of any supported version. */
export type InferenceProof = InferenceProofByVersion[ProofVersion];
/** An unsigned proof document of any supported version. */
export type UnsignedInferenceProof = UnsignedInferenceProofV1;

/** The EIP-712 domain name and version of every Strata proof. */
export const PROOF_EIP712_NAME = "Strata";
export const PROOF_EIP712_VERSION = "1";

/** The EIP-712 types of each proof version (the domain type is implied). */
export const PROOF_EIP712_TYPES: { readonly [V in ProofVersion]: Record<string, TypedDataField[]> } = {
  [ProofVersion.V1]: {
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
  },
};

/** The EIP-712 message of a v1 proof. */
export interface InferenceProofMessageV1 {
  version: number;
  modelId: string;
  modelVersion: number;
  modelBlobId: string;
  modelSha256: string;
  modelRegistry: string;
  inputHash: string;
  outputHash: string;
  runtimeHash: string;
  node: string;
  timestamp: number;
  requestId: string;
}

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
  const name = Buffer.from(tensor.name, "utf8");
  const dtype = Buffer.from(tensor.dtype, "utf8");
  // Head: three offsets and the data hash; tail: name (length, padded bytes), dtype (same), dims (length, words).
  const dtypeAt = 160 + 32 * Math.ceil(name.length / 32);
  const dimsAt = dtypeAt + 32 + 32 * Math.ceil(dtype.length / 32);
  const encoded = new Uint8Array(dimsAt + 32 + 32 * dims.length);
  writeUint(encoded, 0, 128);
  writeUint(encoded, 32, dtypeAt);
  writeUint(encoded, 64, dimsAt);
  encoded.set(dataHash, 96);
  writeUint(encoded, 128, name.length);
  encoded.set(name, 160);
  writeUint(encoded, dtypeAt, dtype.length);
  encoded.set(dtype, dtypeAt + 32);
  writeUint(encoded, dimsAt, dims.length);
  for (let i = 0; i < dims.length; i++) writeUint(encoded, dimsAt + 32 + 32 * i, dims[i]);
  return keccak256Hex(encoded);
}

/** Writes `value` (a safe non-negative integer) as a big-endian uint256 into the zeroed word at `offset`. */
function writeUint(out: Uint8Array, offset: number, value: number): void {
  const high = Math.floor(value / 2 ** 32);
  const low = value >>> 0;
  out[offset + 25] = high >>> 16;
  out[offset + 26] = high >>> 8;
  out[offset + 27] = high;
  out[offset + 28] = low >>> 24;
  out[offset + 29] = low >>> 16;
  out[offset + 30] = low >>> 8;
  out[offset + 31] = low;
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
};

/** EIP-712 domain separators by chain id and verifying contract (a handful per process). */
const DOMAIN_SEPARATORS = new Map<string, Uint8Array>();

function domainSeparator(domain: ProofDomain): Uint8Array {
  const key = `${domain.chainId}/${domain.proofRegistry}`;
  let separator = DOMAIN_SEPARATORS.get(key);
  if (separator === undefined) {
    separator = getBytes(
      TypedDataEncoder.hashDomain({
        name: PROOF_EIP712_NAME,
        version: PROOF_EIP712_VERSION,
        chainId: domain.chainId,
        verifyingContract: domain.proofRegistry,
      }),
    );
    if (DOMAIN_SEPARATORS.size >= 64) DOMAIN_SEPARATORS.clear();
    DOMAIN_SEPARATORS.set(key, separator);
  }
  return separator;
}

/**
 * The EIP-712 digest of a checked v1 document (`TypedDataEncoder.hash` of its {@link proofTypedData}, byte for byte;
 * parity-tested), with the set and runtime hashes given: `keccak256(0x1901 || domainSeparator || hashStruct)`, where
 * `hashStruct = keccak256(typeHash || the 12 fields, each as one 32-byte word)`. Every field has been checked by the
 * validator (ranges, bytes32 hex, checksummed addresses), so each is written straight into its word.
 */
function digestV1(
  doc: UnsignedInferenceProofV1,
  inputHash: Bytes32,
  outputHash: Bytes32,
  runtimeHash: Bytes32,
): Bytes32 {
  const struct = new Uint8Array(13 * 32);
  struct.set(TYPE_HASHES[ProofVersion.V1], 0);
  writeUint(struct, 32, doc.version);
  writeHex(doc.model.id, struct, 64, 32);
  writeUint(struct, 96, doc.model.version);
  writeHex(doc.model.blobId, struct, 128, 32);
  writeHex(doc.model.sha256, struct, 160, 32);
  writeHex(doc.domain.modelRegistry, struct, 192 + 12, 20);
  writeHex(inputHash, struct, 224, 32);
  writeHex(outputHash, struct, 256, 32);
  writeHex(runtimeHash, struct, 288, 32);
  writeHex(doc.node, struct, 320 + 12, 20);
  writeUint(struct, 352, doc.timestamp);
  writeHex(doc.requestId, struct, 384, 32);
  const message = new Uint8Array(66);
  message[0] = 0x19;
  message[1] = 0x01;
  message.set(domainSeparator(doc.domain), 2);
  message.set(keccak256Bytes(struct), 34);
  return keccak256Hex(message);
}

/** Hashes `tensors` and orders them by name: the `input` or `output` of a proof. */
export function makeTensorSet(tensors: readonly Tensor[]): TensorSet {
  const hashed = sortByName(tensors).map((t) => ({
    name: t.name,
    dtype: t.dtype,
    dims: [...t.dims],
    data: t.data,
    hash: hashTensor(t),
  }));
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

/** What {@link buildProof} needs; tensors come from `encodeTensor` / `tensorFromBytes`. */
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

/** Builds an unsigned v1 proof: hashes the tensors, normalizes hex and checks the result against the v1 shape. */
export function buildProof(params: ProofParams): UnsignedInferenceProofV1 {
  // Tensors are validated (and their data decoded) once; their hashes are then computed from those bytes.
  const unhashed = (tensors: readonly Tensor[]): TensorSet => ({
    hash: ZERO_HASH,
    tensors: sortByName(tensors).map((t) => ({
      name: t.name,
      dtype: t.dtype,
      dims: [...t.dims],
      data: t.data,
      hash: ZERO_HASH,
    })),
  });
  const built = {
    version: ProofVersion.V1 as const,
    domain: { ...params.domain },
    model: { ...params.model },
    input: unhashed(params.inputs),
    output: unhashed(params.outputs),
    runtime: params.runtime,
    node: params.node,
    timestamp: params.timestamp ?? Math.floor(Date.now() / 1000),
    requestId: params.requestId ?? newRequestId(),
  };
  const bytes: TensorBytes = { input: [], output: [] };
  const doc = validateUnsignedV1(built, "", bytes);
  for (const [set, data] of [
    [doc.input, bytes.input],
    [doc.output, bytes.output],
  ] as const) {
    set.tensors.forEach((tensor, i) => (tensor.hash = tensorHash(tensor, data[i])));
    set.hash = hashTensorSet(set.tensors);
  }
  deepFreeze(doc);
  BUILT.set(doc, bytes);
  return doc;
}

/**
 * Documents {@link buildProof} returned (deeply frozen, so they cannot change afterwards) with their tensors' element
 * bytes: signing one skips validating and decoding it a second time.
 */
const BUILT = new WeakMap<object, TensorBytes>();

/** A placeholder hash, replaced before the document leaves {@link buildProof}. */
const ZERO_HASH: Bytes32 = `0x${"0".repeat(64)}`;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
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
  const doc = validateUnsignedV1(withoutSignature(proof), "", bytes);
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
  return commitChecked(version, validateUnsignedV1(withoutSignature(doc), "", bytes), bytes);
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
  return { proof, commitment: () => commitChecked(proof.version, proof, bytes) };
}

/**
 * The commitment of a document the validator has just checked, whose tensors' element bytes are `bytes`: recomputes
 * the tensor and set hashes (throwing {@link ProofFormatError} at the first that disagrees) and the runtime hash, then
 * the EIP-712 digest.
 */
function commitChecked(version: ProofVersion, doc: UnsignedInferenceProofV1, bytes: TensorBytes): Commitment {
  const inputHash = checkTensorSet(doc.input, "input", bytes.input);
  const outputHash = checkTensorSet(doc.output, "output", bytes.output);
  const runtimeHash = hashRuntime(doc.runtime);
  try {
    switch (version) {
      case ProofVersion.V1:
        return digestV1(doc, inputHash, outputHash, runtimeHash) as Commitment;
    }
  } catch (error) {
    throw new ProofFormatError("$", `cannot be EIP-712 encoded: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Signs `unsigned` with `signer`, which must be the proof's node. Returns the signed document; see
 * {@link signProofWithCommitment}.
 */
export async function signProof(unsigned: UnsignedInferenceProofV1, signer: Signer): Promise<InferenceProofV1> {
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
  unsigned: UnsignedInferenceProofV1,
  signer: Signer,
): Promise<{ proof: InferenceProofV1; commitment: Commitment }> {
  const version = checkVersion(unsigned.version);
  const built = BUILT.get(unsigned);
  const bytes: TensorBytes = built ?? { input: [], output: [] };
  const checked = built ? unsigned : validateUnsignedV1(withoutSignature(unsigned), "", bytes);
  const address = await signer.getAddress();
  if (address.toLowerCase() !== checked.node.toLowerCase()) {
    throw new SignatureError(
      `The proof names node ${checked.node} but the signer is ${address}: sign with the node's key`,
      checked.node,
      address,
    );
  }
  const commitment = commitChecked(version, checked, bytes);
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
  return { proof: { ...checked, signature }, commitment };
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

/** The canonical bytes of `doc` (canonical JSON, UTF-8), after checking its shape. */
export function encodeProof(doc: InferenceProof): Uint8Array {
  return canonicalJsonBytes(validateProof(doc));
}

/**
 * Reads a proof document from bytes (or JSON text): checks the JSON, the version, and the exact shape of that version
 * (unknown fields, wrong types, malformed hex, tensor dims/data mismatches are all {@link ProofFormatError}s naming the
 * field; an unknown version is an {@link UnsupportedVersionError}). Hashes are checked by {@link proofCommitment}.
 */
export function decodeProof(input: Uint8Array | string): InferenceProof {
  let parsed: unknown;
  try {
    parsed = parseJson(input);
  } catch (error) {
    throw new ProofFormatError("$", `is not UTF-8 JSON: ${(error as Error).message}`, { cause: error });
  }
  return validateProof(parsed);
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
    const unsigned = validateUnsignedV1(withoutSignature(record), path, bytes);
    return { ...unsigned, signature: check.hex(record.signature, join(path, "signature"), 65) };
  },
};

const V1_FIELDS = ["version", "domain", "model", "input", "output", "runtime", "node", "timestamp", "requestId"];

function withoutSignature(record: object): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...record };
  delete rest.signature;
  return rest;
}

function validateUnsignedV1(value: unknown, path: string, bytes?: TensorBytes): UnsignedInferenceProofV1 {
  const r = check.object(value, path, V1_FIELDS);
  if (r.version !== ProofVersion.V1) {
    throw new ProofFormatError(join(path, "version"), `must be ${ProofVersion.V1}, got ${JSON.stringify(r.version)}`);
  }
  const domainPath = join(path, "domain");
  const d = check.object(r.domain, domainPath, ["chainId", "proofRegistry", "modelRegistry"]);
  const modelPath = join(path, "model");
  const m = check.object(r.model, modelPath, ["id", "version", "blobId", "sha256"]);
  return {
    version: ProofVersion.V1,
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
    input: validateTensorSet(r.input, join(path, "input"), bytes?.input),
    output: validateTensorSet(r.output, join(path, "output"), bytes?.output),
    runtime: validateRuntime(r.runtime, join(path, "runtime")),
    node: check.address(r.node, join(path, "node")),
    timestamp: check.integer(r.timestamp, join(path, "timestamp"), 0, Number.MAX_SAFE_INTEGER),
    requestId: check.bytes32(r.requestId, join(path, "requestId")),
  };
}

/** Checks a tensor set's shape and each tensor's data; pushes each tensor's element bytes to `bytes` when given. */
function validateTensorSet(value: unknown, path: string, bytes?: Uint8Array[]): TensorSet {
  const r = check.object(value, path, ["hash", "tensors"]);
  const tensorsPath = join(path, "tensors");
  const names = new Set<string>();
  const tensors = check.array(r.tensors, tensorsPath, { minLength: 1 }).map((item, i): HashedTensor => {
    const at = join(tensorsPath, i);
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
