/**
 * The explorer's JSON API: every request and response type, imported by the server (src/server.ts) and by the
 * browser code (src/client/), so both sides of each call are checked by the same compiler. Plain JSON only: big
 * integers are decimal strings, bytes are base64 strings, hashes and addresses are 0x-hex strings.
 */

/** Every error answer: `{ error: { code, message } }` (the message says what was wrong and what to do). */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** How long a blob is kept on Walrus, against the network's clock when it is known. */
export interface Expiry {
  /** The end epoch recorded on-chain (exclusive: the blob expires at the start of this epoch); null: not recorded. */
  endEpoch: number | null;
  /** The network's current epoch; null when it cannot be read. */
  currentEpoch: number | null;
  /** endEpoch - currentEpoch, when both are known. */
  epochsLeft: number | null;
  /** `expired` (epochsLeft <= 0), `soon` (within the warning window), `ok`, or `unknown`. */
  state: "ok" | "soon" | "expired" | "unknown";
  /** "epoch 12 (about 2026-12-05 14:00 UTC)" when the clock is known. */
  until: string | null;
}

/** GET /api/overview */
export interface OverviewResponse {
  chainId: number;
  network: string;
  registries: Record<string, string>;
  latestBlock: number;
  currentEpoch: number | null;
  /** The warning window: an end epoch within this many epochs of the current one is `soon`. */
  warnWithinEpochs: number;
  counts: { models: number; nodes: number; batches: number };
}

/** A model version as the ModelRegistry records it. */
export interface ModelVersionView {
  index: number;
  blobId: string;
  sha256: string;
  /** Bytes, as a decimal string. */
  size: string;
  publishedAt: number;
  deprecated: boolean;
  expiry: Expiry;
}

/** A model's metadata document (core's ModelMetadata v1, as JSON). */
export interface ModelMetadataView {
  name: string;
  description?: string;
  task?: string;
  license?: string;
  tags?: string[];
  format: string;
  signature?: {
    inputs: { name: string; dtype: string; shape: (number | string)[] }[];
    outputs: { name: string; dtype: string; shape: (number | string)[] }[];
  };
  validatedWith?: { engine: string; version: string };
}

/** A model, its metadata (read from Walrus, when it can be) and its versions. */
export interface ModelView {
  id: string;
  name: string;
  creator: string;
  owner: string;
  metadataBlobId: string;
  /** The metadata document (description, task, license, tags, signature); null when it could not be read. */
  metadata: ModelMetadataView | null;
  metadataError: string | null;
  versions: ModelVersionView[];
}

/** GET /api/models */
export interface ModelsResponse {
  models: ModelView[];
}

/** One span in which a node was admitted (Unix seconds; `to` null: still active). */
export interface NodeIntervalView {
  from: number;
  to: number | null;
}

/** A node's `/v1/health`, when its endpoint answers. */
export interface NodeHealthView {
  reachable: boolean;
  /** The HTTP status, when it answered. */
  status: number | null;
  /** Its answer's JSON (a node's health), when it answered JSON. */
  body: unknown;
  /** Why it could not be read. */
  error: string | null;
}

/** An inference node of the NodeRegistry. */
export interface NodeView {
  address: string;
  endpoint: string | null;
  active: boolean;
  intervals: NodeIntervalView[];
  /** How many batches it anchored or announced. */
  batches: number;
  health: NodeHealthView;
}

/** GET /api/nodes */
export interface NodesResponse {
  nodes: NodeView[];
}

/** A batch of proofs: its root, where it is on Walrus, and how it was anchored. */
export interface BatchView {
  root: string;
  node: string;
  /** The anchoring event: BatchAnchored, BatchAnnounced, QuiltsAnchored or QuiltsAnnounced. */
  event: string;
  anchored: boolean;
  /** The blob (v1) or quilt IDs that hold the proofs. */
  blobIds: string[];
  count: number;
  txHash: string;
  blockNumber: number;
  /** Unix seconds of the anchoring block. */
  timestamp: number;
  /** The anchoring transaction's gas, as a decimal string; null when its receipt could not be read. */
  gasUsed: string | null;
  expiry: Expiry;
}

/** GET /api/batches */
export interface BatchesResponse {
  batches: BatchView[];
}

/** GET /api/batches/:node/:root: the batch and the commitments it holds (read from its index patches or blob). */
export interface BatchDetailResponse {
  batch: BatchView;
  commitments: string[];
  /** Why the commitments could not be read (the blob is gone, or not a batch). */
  commitmentsError: string | null;
}

/** The element values of a tensor, as JSON: numbers, strings (64-bit integers, special floats, text) or booleans. */
export type TensorElement = number | string | boolean;

/** How a tensor can be drawn: [N, C, H, W] with C 1 or 3 (the first image), or [H, W] (grey). */
export interface ImageShape {
  width: number;
  height: number;
  channels: 1 | 3;
}

/** A tensor of a proof: what it is, and its values when the proof holds them (public proofs). */
export interface TensorView {
  set: "input" | "output";
  name: string;
  dtype: string;
  dims: number[];
  /** keccak256 of the tensor (the committed hash). */
  hash: string | null;
  /** Row-major values (at most {@link TENSOR_VALUES_MAX}); null when the proof holds none (private modes). */
  values: TensorElement[] | null;
  /** How many elements the tensor has. */
  elements: number;
  /** True when `values` holds fewer than `elements`. */
  truncated: boolean;
  /** Set when the shape is an image's. */
  image: ImageShape | null;
}

/** At most this many values of a tensor are sent to the page. */
export const TENSOR_VALUES_MAX = 65_536;

/** GET /api/proofs/:commitment */
export interface ProofResponse {
  commitment: string;
  /** public, hashed or encrypted. */
  privacy: "public" | "hashed" | "encrypted";
  version: number;
  node: string;
  timestamp: number;
  model: { id: string; name: string | null; version: number; blobId: string; sha256: string };
  /** How its anchor was found, the anchor, and where it lives on Walrus. */
  foundBy: string;
  anchor: Record<string, string | number | boolean | null>;
  index: number | null;
  root: string | null;
  location: Record<string, string | number | boolean | null>;
  /** What the proof was read as: its patch, blob or batch blob's size in bytes. */
  blobSize: number;
  tensors: TensorView[];
  /**
   * Encrypted proofs: the envelope (base64) and the context it is bound to (base64), for the page to open with a key
   * typed there; the key never leaves the browser.
   */
  envelope: { bytes: string; context: string; hash: string } | null;
  /** The document as JSON (tensors in their base64 form; envelope bytes in base64). */
  document: unknown;
  /** The end epoch of the proof's blob(s) and of its model version. */
  storage: { proof: Expiry; model: Expiry };
}

/** What a search string matched. */
export interface SearchHit {
  kind: "proof" | "batch" | "model" | "node" | "blob";
  /** The page to open: a hash route of the explorer (`#/proofs/0x…`). */
  href: string;
  label: string;
  detail: string;
}

/** GET /api/search?q= */
export interface SearchResponse {
  query: string;
  hits: SearchHit[];
}

/** A step of a verification as it finishes (the verifier's StepResult, as JSON). */
export interface VerifyStepEvent {
  step: string;
  status: "pass" | "fail" | "skip" | "unavailable";
  detail: string;
  values: Record<string, string | number | boolean | null>;
}

/** The last event of a verification: the verdict. */
export interface VerifyDoneEvent {
  ok: boolean;
  /** The first failing step, if any. */
  failedStep: string | null;
  totalMs: number;
  /** `fetched …` line: what was read from Walrus. */
  fetched: string;
  /** The report's storage lines: "proof stored until epoch E (about <date>): N epochs left", and per model version. */
  storage: string[];
}

/** A verification that could not run (usage error, unreachable service). */
export interface VerifyErrorEvent {
  code: string;
  message: string;
}

/**
 * GET /api/verify/:commitment?reexecute=1 — Server-Sent Events: `step` ({@link VerifyStepEvent}) per step, then
 * `done` ({@link VerifyDoneEvent}) or `error` ({@link VerifyErrorEvent}).
 */
export interface VerifyStreamEvents {
  step: VerifyStepEvent;
  done: VerifyDoneEvent;
  error: VerifyErrorEvent;
}

/** GET /api/live — Server-Sent Events: `batch` ({@link BatchView}) per newly anchored batch, `hello` on connect. */
export interface LiveStreamEvents {
  hello: { latestBlock: number };
  batch: BatchView;
}

/** The explorer's JSON routes and their answers, by path pattern (the browser's typed fetch reads this). */
export interface ApiRoutes {
  "/api/overview": OverviewResponse;
  "/api/models": ModelsResponse;
  "/api/nodes": NodesResponse;
  "/api/batches": BatchesResponse;
  "/api/batches/:node/:root": BatchDetailResponse;
  "/api/proofs/:commitment": ProofResponse;
  "/api/search": SearchResponse;
}
