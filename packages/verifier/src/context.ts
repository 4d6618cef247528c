import { AsyncLocalStorage } from "node:async_hooks";
import { getAddress } from "ethers";
import {
  BatchFormatError,
  inspectBatch,
  Memo,
  UnsupportedVersionError,
  NoActiveVersionError,
  StrataError,
  UnknownModelError,
  UnknownVersionError,
  validateAnyProofForCommitment,
  type ActiveInterval,
  type BatchInspection,
  type BatchRoot,
  type BlobId,
  type Commitment,
  type ModelId,
  type ModelVersion,
  type StrataClient,
} from "@strata/core";
import { ModelSession, type ModelCache } from "@strata/runtime";
import {
  BlobIntegrityError,
  BlobNotFoundError,
  BlobTooLargeError,
  type NetworkClock,
  type QuiltPatchId,
  type WalrusClient,
} from "@strata/walrus";
import type { CheckResult } from "./checks";
import { asServiceError } from "./errors";
import { readClock, type EpochReading } from "./lease";
import {
  QUILT_INDEX_IDENTIFIER,
  readCheckedPatch,
  patchCommitsTo,
  readIndex,
  type IndexLookup,
  type PatchLookup,
} from "./patches";

/**
 * What every step of a verification reads through: the deployment's registry clients, Walrus, the verifier's limits,
 * and the reads a verification repeats, each kept once per verifier (core's single-flight {@link Memo}).
 */

/** A step's outcome plus the value it produced for later steps (`undefined` unless it passed). */
export type Outcome<T> = CheckResult & { value?: T };

/**
 * A fetched blob: its bytes (already verified against the Blob ID) and, for batches, core's lenient reading of it
 * (`inspectBatch`), or why it is not a batch document.
 */
export interface FetchedBlob {
  bytes: Uint8Array;
  container?: BatchInspection | BatchFormatError | UnsupportedVersionError;
}

/**
 * What one verification read from Walrus: the bytes of proof data (blobs, patches) that came over the wire, and how
 * many reads brought them. A read served from the verifier's cache brings nothing; a model fetched for re-execution is
 * not counted (it is cached by sha256 across verifications).
 */
export interface Traffic {
  bytes: number;
  reads: number;
}

/** The limits and clocks of a verification (see `VerifierOptions`). */
export interface VerifierSettings {
  nodeUrl: string | undefined;
  maxScanBatches: number;
  maxScanEvents: number;
  maxBlobBytes: number;
  clockSkewSeconds: number;
  timeoutMs: number;
  /** The Walrus network's epoch clock (for storage leases), when given. */
  clock: NetworkClock | undefined;
}

/** What one verification run keeps in its async context: its traffic and its one reading of the network's clock. */
interface Run {
  traffic: Traffic;
  epoch?: Promise<EpochReading>;
}

/** Decoded blobs kept in memory per verifier (batch blobs are megabytes). */
const BLOB_CACHE_ENTRIES = 8;
/** Patches (proofs and quilt indexes) kept in memory per verifier (kilobytes each). */
const PATCH_CACHE_ENTRIES = 4096;

/** The services, limits and cached reads the steps of one verifier share. */
export class VerifierContext {
  /** The chain RPC URL, when the provider is a JSON-RPC one (for messages). */
  readonly chainUrl: string | undefined;
  private readonly blobs: Memo<BlobId, FetchedBlob>;
  private readonly versions: Memo<{ id: ModelId; version: number }, ModelVersion | Error>;
  private readonly intervals: Memo<string, ActiveInterval[]>;
  private readonly admitted: Memo<string, boolean>;
  private readonly sessions: Memo<ModelVersion, ModelSession>;
  private readonly patches: Memo<{ quiltId: BlobId; commitment: Commitment; patchId?: string }, PatchLookup>;
  private readonly indexes: Memo<{ quiltId: BlobId; root: BatchRoot }, IndexLookup>;
  /** The verification running in the current async context (see {@link metered}). */
  private readonly runs = new AsyncLocalStorage<Run>();

  constructor(
    readonly client: StrataClient,
    readonly walrus: WalrusClient,
    readonly settings: VerifierSettings,
    private readonly modelCache: () => ModelCache,
  ) {
    this.chainUrl = client.proofs.rpcUrl();
    this.blobs = new Memo(
      (blobId) =>
        walrus.read(blobId, { maxBytes: settings.maxBlobBytes }).then((bytes): FetchedBlob => {
          this.count(bytes.byteLength);
          return { bytes };
        }),
      { maxEntries: BLOB_CACHE_ENTRIES },
    );
    this.versions = new Memo(
      ({ id, version }) =>
        client.models.getVersion(id, version).catch((error: unknown) => {
          // A proof naming no registered version is a check failure, kept like a version (the check says why).
          if (
            error instanceof UnknownModelError ||
            error instanceof UnknownVersionError ||
            error instanceof NoActiveVersionError
          ) {
            return error;
          }
          throw error;
        }),
      { keyOf: ({ id, version }) => `${id}:${version}` },
    );
    const limits = { maxBytes: settings.maxBlobBytes, count: (n: number) => this.count(n) };
    this.patches = new Memo(
      ({ quiltId, commitment, patchId }) =>
        readCheckedPatch(
          walrus,
          patchId === undefined ? { quiltId, identifier: commitment } : (patchId as QuiltPatchId),
          (bytes) => patchCommitsTo(bytes, commitment),
          limits,
        ),
      {
        keyOf: ({ quiltId, commitment, patchId }) => `${quiltId}/${commitment}/${patchId ?? ""}`,
        maxEntries: PATCH_CACHE_ENTRIES,
      },
    );
    this.indexes = new Memo(
      async ({ quiltId, root }): Promise<IndexLookup> => {
        const read = await readCheckedPatch(
          walrus,
          { quiltId, identifier: QUILT_INDEX_IDENTIFIER },
          (bytes) => readIndex(bytes, root).rejected,
          { ...limits, keepServerErrors: true },
        );
        if (!read.found) return read;
        const { view } = readIndex(read.bytes, root);
        return { ...read, ...(view === undefined ? {} : { view }) };
      },
      { keyOf: ({ quiltId, root }) => `${quiltId}:${root}`, maxEntries: PATCH_CACHE_ENTRIES },
    );
    this.intervals = new Memo((node) => client.nodes.activeIntervals(node));
    this.admitted = new Memo((address) => client.nodes.getNode(address).then((record) => record.admittedAt !== 0));
    this.sessions = new Memo(
      (version) =>
        this.modelCache()
          .get({ blobId: version.blobId, sha256: version.sha256, size: Number(version.size) })
          .then((entry) => ModelSession.load(entry.path, `model blob ${version.blobId}`)),
      { keyOf: (version) => version.blobId },
    );
  }

  /**
   * Runs `body` as one verification: the Walrus reads it makes (in its async context, so concurrent verifications of
   * one verifier keep apart) add up in the returned traffic.
   */
  async metered<T>(body: () => Promise<T>): Promise<{ value: T; traffic: Traffic }> {
    const traffic: Traffic = { bytes: 0, reads: 0 };
    const value = await this.runs.run({ traffic }, body);
    return { value, traffic };
  }

  /** Adds one read of `bytes` over the wire to the running verification's traffic. */
  count(bytes: number): void {
    const traffic = this.runs.getStore()?.traffic;
    if (traffic === undefined) return;
    traffic.bytes += bytes;
    traffic.reads += 1;
  }

  /**
   * The network's current epoch, read once per verification (every lease of one report is judged at one epoch), or
   * why it cannot be read: a verification never fails for the clock.
   */
  epochNow(): Promise<EpochReading> {
    const run = this.runs.getStore();
    if (run === undefined) return readClock(this.settings.clock);
    run.epoch ??= readClock(this.settings.clock);
    return run.epoch;
  }

  /** A blob's bytes, verified by recomputing its Blob ID (and read as a batch by core's lenient reader, for batches). */
  async fetchBlob(blobId: BlobId, batch: boolean): Promise<FetchedBlob> {
    const fetched = await this.blobs.get(blobId);
    if (batch && fetched.container === undefined) {
      try {
        fetched.container = inspectBatch(fetched.bytes);
      } catch (error) {
        if (!(error instanceof BatchFormatError || error instanceof UnsupportedVersionError)) throw error;
        fetched.container = error;
      }
    }
    return fetched;
  }

  /** The blob `blobId` (an event's), or why it cannot be read (a note), rethrowing other errors. */
  async fetchReferenced(blobId: BlobId, batch: boolean): Promise<FetchedBlob | string> {
    try {
      return await this.fetchBlob(blobId, batch);
    } catch (error) {
      const why = blobProblem(error);
      if (why === undefined) throw error;
      return why;
    }
  }

  /**
   * The patch of `commitment` in quilt `quiltId` (by identifier, or by the node's `patchId`), checked to commit to it;
   * bytes that fail the check are kept with why (see `patches.ts`).
   */
  proofPatch(quiltId: BlobId, commitment: Commitment, patchId?: string): Promise<PatchLookup> {
    return this.patches.get({ quiltId, commitment, ...(patchId === undefined ? {} : { patchId }) });
  }

  /** The index patch of quilt `quiltId`, checked to be a batch index of `root` (see `patches.ts`). */
  quiltIndex(quiltId: BlobId, root: BatchRoot): Promise<IndexLookup> {
    return this.indexes.get({ quiltId, root });
  }

  /** The version `version` of model `id`, or the registry's error when there is no such active version. */
  modelVersion(id: ModelId, version: number): Promise<ModelVersion | Error> {
    return this.versions.get({ id, version });
  }

  nodeIntervals(node: string): Promise<ActiveInterval[]> {
    return this.intervals.get(node);
  }

  everAdmitted(address: string): Promise<boolean> {
    return this.admitted.get(address);
  }

  /** The loaded model of `version` (fetched and verified by the model cache, loaded once). */
  session(version: ModelVersion): Promise<ModelSession> {
    return this.sessions.get(version);
  }

  /** Runs one check, timing it; a failure to reach a service becomes a `ServiceUnreachableError`. */
  async runCheck<T>(check: () => Outcome<T> | Promise<Outcome<T>>): Promise<{ outcome: Outcome<T>; ms: number }> {
    const t0 = performance.now();
    try {
      return { outcome: await check(), ms: performance.now() - t0 };
    } catch (error) {
      throw asServiceError(error, this.chainUrl) ?? error;
    }
  }

  /** Releases loaded models (they load again on demand). */
  async close(): Promise<void> {
    for (const session of this.sessions.clear()) await session.then((s) => s.release()).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------------------

/** Why a blob could not be read, for a note, or undefined when the error is not about the blob. */
export function blobProblem(error: unknown): string | undefined {
  if (error instanceof BlobNotFoundError) return "blob missing";
  if (error instanceof BlobIntegrityError) return "blob corrupt";
  if (error instanceof BlobTooLargeError) {
    return `blob over the verifier's cap of ${error.limit ?? "?"} bytes (maxBlobBytes, --max-blob-bytes)`;
  }
  return undefined;
}

/** The checksummed signer (the proof's `node`) of a document that commits to `commitment`, else undefined. */
export function signerOf(raw: unknown, commitment: Commitment): string | undefined {
  try {
    const checked = validateAnyProofForCommitment(raw);
    return checked.commitment() === commitment ? getAddress(checked.proof.node) : undefined;
  } catch (error) {
    if (error instanceof StrataError) return undefined;
    throw error;
  }
}

/** The batch document a fetched batch blob holds, else undefined (not read as a batch, or not a batch). */
export function inspected(fetched: FetchedBlob): BatchInspection | undefined {
  const { container } = fetched;
  return container === undefined || container instanceof StrataError ? undefined : container;
}

/** Why a batch blob is not a batch document: core's reason, without its "Invalid proof batch: " preamble. */
export function notABatch(fetched: FetchedBlob): string {
  const { container } = fetched;
  if (container instanceof BatchFormatError) return container.message.replace(/^Invalid proof batch: /, "");
  return container instanceof StrataError ? container.message : "unreadable";
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
