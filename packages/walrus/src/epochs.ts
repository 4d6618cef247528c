/**
 * The local store's simulated epoch clock, as Walrus documents it: epochs of a fixed length counted from the
 * directory's genesis (the first epoch is 1), advanced in tests by whole epochs, and kept in `clock.json` so the clock
 * (with every advance) and the blob lifetimes measured against it survive restarts. A blob's `endEpoch` is exclusive:
 * it expires at the start of that epoch.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import writeFileAtomic from "write-file-atomic";
import { parseBlobId, type BlobId } from "@strata/core";
import { LocalStoreError } from "./errors";
import type { LocalClockReading } from "./network-clock";
import type { LocalWalrusReason } from "./server";

export const DEFAULT_EPOCH_MS = 24 * 60 * 60 * 1000;

/** What `clock.json` holds. `advancedMs` (absent in files written before advances existed) counts as 0. */
interface ClockFile {
  version: 1;
  genesisMs: number;
  epochMs: number;
  shards: number;
  advancedMs?: number;
}

/** The clock of one store directory. */
export class EpochClock {
  private constructor(
    private readonly file: string,
    private state: Required<ClockFile>,
    private readonly now: () => number,
  ) {}

  get epochMs(): number {
    return this.state.epochMs;
  }

  get genesisMs(): number {
    return this.state.genesisMs;
  }

  /** How far tests have moved the clock ahead of the wall clock, in milliseconds. */
  get advancedMs(): number {
    return this.state.advancedMs;
  }

  /** The current epoch: 1 in the epoch the directory was created, one more every `epochMs`. */
  currentEpoch(): number {
    return Math.floor((this.now() + this.state.advancedMs - this.state.genesisMs) / this.state.epochMs) + 1;
  }

  /** When the current epoch started, on the store's time line (the wall clock plus the advances). */
  currentEpochStartMs(): number {
    return this.state.genesisMs + (this.currentEpoch() - 1) * this.state.epochMs;
  }

  /** The store's time: its wall clock plus the advances. */
  networkMs(): number {
    return this.now() + this.state.advancedMs;
  }

  /** Whether a storage lease ending at `endEpoch` (exclusive) has expired. */
  expired(endEpoch: number): boolean {
    return endEpoch <= this.currentEpoch();
  }

  /** Moves the clock ahead by `epochs` whole epochs, persisted before it takes effect; answers the new epoch. */
  async advance(epochs: number): Promise<number> {
    if (!Number.isSafeInteger(epochs) || epochs < 1) throw new RangeError(`epochs must be a positive integer`);
    const next = { ...this.state, advancedMs: this.state.advancedMs + epochs * this.state.epochMs };
    await writeFileAtomic(this.file, `${JSON.stringify(next, null, 1)}\n`, { fsync: true });
    this.state = next;
    return this.currentEpoch();
  }

  /** Reads the clock of a store directory, creating it on first start. */
  static async load(
    dir: string,
    wanted: { shards: number; epochMs: number | undefined; now: () => number },
  ): Promise<EpochClock> {
    const file = path.join(dir, "clock.json");
    let existing: ClockFile | undefined;
    try {
      existing = JSON.parse(await readFile(file, "utf8")) as ClockFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    if (existing !== undefined) {
      if (existing.shards !== wanted.shards) {
        throw new LocalStoreError(
          `${dir} holds blobs stored with ${existing.shards} shards; start it with shards ${existing.shards} ` +
            `or use another directory`,
          dir,
        );
      }
      if (wanted.epochMs !== undefined && wanted.epochMs !== existing.epochMs) {
        throw new LocalStoreError(
          `${dir} runs epochs of ${existing.epochMs} ms; start it with that epoch length or use another directory`,
          dir,
        );
      }
      return new EpochClock(file, { ...existing, advancedMs: existing.advancedMs ?? 0 }, wanted.now);
    }
    const epochMs = wanted.epochMs ?? DEFAULT_EPOCH_MS;
    if (!Number.isInteger(epochMs) || epochMs <= 0) throw new RangeError(`epochMs must be a positive integer`);
    const state: Required<ClockFile> = {
      version: 1,
      genesisMs: wanted.now(),
      epochMs,
      shards: wanted.shards,
      advancedMs: 0,
    };
    await writeFileAtomic(file, `${JSON.stringify(state, null, 1)}\n`, { fsync: true });
    return new EpochClock(file, state, wanted.now);
  }
}

/** A blob's lifetime as the local store knows it: its latest end epoch (exclusive) and whether it has passed. */
export interface LocalBlobLifetime {
  blobId: BlobId;
  currentEpoch: number;
  /** The latest end epoch of the blob's registrations (expired ones included). */
  endEpoch: number;
  expired: boolean;
}

/** The methods of the local-only clock routes, for a 405's `Allow`. */
export const EPOCH_ROUTE_METHODS: [RegExp, string][] = [
  [/^\/local\/clock\/advance$/, "POST"],
  [/^\/local\/clock$/, "GET,HEAD"],
  [/^\/local\/blobs\/[^/]+$/, "GET,HEAD"],
];

/** What the clock routes need of the server. */
export interface EpochRouteContext {
  clock: EpochClock;
  problem(reason: LocalWalrusReason, message: string, status?: number): Error;
  checkQuery(query: unknown, allowed: ReadonlySet<string>): Record<string, string>;
  /** The latest end epoch of every registration of a blob, or undefined for a blob never stored here. */
  endEpochOf(blobId: BlobId): number | undefined;
}

/**
 * Local-only routes (Walrus has neither; its clock is Sui's, and a blob's end epoch is read from its Sui object):
 * `POST /local/clock/advance?epochs=N` moves the clock ahead by N epochs and answers `{ epoch }`;
 * `GET /local/clock` answers the clock ({@link LocalClockReading});
 * `GET /local/blobs/{blobId}` answers a blob's {@link LocalBlobLifetime}, or 404 `BLOB_NOT_FOUND` if never stored.
 */
export function registerEpochRoutes(app: FastifyInstance, ctx: EpochRouteContext): void {
  const advanceParameters = new Set(["epochs"]);
  app.post("/local/clock/advance", async (request) => {
    const query = ctx.checkQuery(request.query, advanceParameters);
    const text = query.epochs ?? "";
    if (!/^[1-9][0-9]{0,8}$/.test(text)) {
      throw ctx.problem("INVALID_EPOCHS", `epochs must be a positive integer, got ${JSON.stringify(text)}`);
    }
    return { epoch: await ctx.clock.advance(Number(text)), epochMs: ctx.clock.epochMs };
  });

  app.get("/local/clock", async (request) => {
    ctx.checkQuery(request.query, new Set());
    const clock = ctx.clock;
    const reading: LocalClockReading = {
      epoch: clock.currentEpoch(),
      epochMs: clock.epochMs,
      epochStartMs: clock.currentEpochStartMs(),
      genesisMs: clock.genesisMs,
      advancedMs: clock.advancedMs,
      nowMs: clock.networkMs(),
    };
    return reading;
  });

  app.get<{ Params: { blobId: string } }>("/local/blobs/:blobId", async (request) => {
    ctx.checkQuery(request.query, new Set());
    let blobId: BlobId;
    try {
      blobId = parseBlobId(request.params.blobId);
    } catch (error) {
      throw ctx.problem("INVALID_BLOB_ID", (error as Error).message);
    }
    const endEpoch = ctx.endEpochOf(blobId);
    if (endEpoch === undefined) throw ctx.problem("BLOB_NOT_FOUND", `blob ${blobId} was never stored here`);
    const lifetime: LocalBlobLifetime = {
      blobId,
      currentEpoch: ctx.clock.currentEpoch(),
      endEpoch,
      expired: ctx.clock.expired(endEpoch),
    };
    return lifetime;
  });
}
