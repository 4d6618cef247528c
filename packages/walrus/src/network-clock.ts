/**
 * A Walrus network's epoch clock, as its clients see it: the current epoch, when it started, and approximate dates of
 * other epochs. Walrus has no HTTP route for the current epoch (it lives in the system object on Sui), so a clock is
 * either the local store's (`GET /local/clock`, exact, advanced by tests) or a schedule: a fixed epoch length and one
 * known epoch start (configured, as for mainnet, or learnt from a publisher's store answer, whose `registeredEpoch` is
 * the epoch in progress when it was stored).
 *
 * A blob's `endEpoch` is exclusive: it expires at the start of that epoch, and storage can be bought at most
 * {@link MAX_EPOCHS_AHEAD} epochs ahead of the current one.
 */
import { readErrorBody } from "./api";
import { WalrusError, WalrusHttpError, WalrusNetworkError, WalrusResponseError } from "./errors";

/** Walrus sells storage at most this many epochs ahead of the current epoch (mainnet and testnet). */
export const MAX_EPOCHS_AHEAD = 53;

/** A network's clock at one reading. */
export interface EpochNow {
  /** The epoch in progress (the first epoch is 1). */
  epoch: number;
  /** The length of an epoch, in milliseconds. */
  epochMs: number;
  /** When the current epoch started, on the network's time line (ms since 1970). */
  epochStartMs: number;
  /** The wall clock at the reading (ms since 1970). */
  wallMs: number;
  /** The network's time at the reading: the wall clock, plus any advance of a local store's clock. */
  networkMs: number;
}

/** Where the current epoch comes from. */
export interface NetworkClock {
  /** The network's name, for messages. */
  readonly network: string;
  /** Reads the clock now. */
  now(): Promise<EpochNow>;
}

/** A fixed epoch length and, once known, the start of one epoch. */
export interface EpochSchedule {
  epochMs: number;
  /** The start of one epoch on the network's time line; absent until known (testnet resets, so it has none fixed). */
  reference?: { epoch: number; startMs: number };
}

/** The current epoch of a network is not known yet. */
export class EpochUnknownError extends WalrusError {
  constructor(
    readonly network: string,
    hint = `configure the network's epochs.reference (the start of one epoch, as "walrus info" prints it)`,
  ) {
    super(
      "EPOCH_UNKNOWN",
      `the current epoch of the Walrus network ${JSON.stringify(network)} is unknown: ${hint}, or store a blob ` +
        `through its publisher first (its answer names the epoch)`,
    );
  }
}

function checkEpoch(epoch: number, what: string): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0)
    throw new RangeError(`${what} must be a non-negative integer, got ${epoch}`);
}

/** The epoch in progress at `networkMs` on the network's time line (at least 1). */
export function epochAt(now: EpochNow, networkMs: number): number {
  const epoch = now.epoch + Math.floor((networkMs - now.epochStartMs) / now.epochMs);
  return Math.max(1, epoch);
}

/** The approximate wall-clock date at which `epoch` starts (or started), as a user would see it. */
export function epochStartDate(now: EpochNow, epoch: number): Date {
  checkEpoch(epoch, "epoch");
  const networkStart = now.epochStartMs + (epoch - now.epoch) * now.epochMs;
  return new Date(networkStart - (now.networkMs - now.wallMs));
}

/** `YYYY-MM-DD HH:MM UTC`. */
export function formatEpochDate(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** `epoch 12 (about 2026-12-05 14:00 UTC)`. */
export function describeEpoch(now: EpochNow, epoch: number): string {
  return `epoch ${epoch} (about ${formatEpochDate(epochStartDate(now, epoch))})`;
}

/** A clock from a schedule: exact epochs once a reference epoch start is known. */
export class ScheduleClock implements NetworkClock {
  private reference: { epoch: number; startMs: number } | undefined;

  constructor(
    readonly network: string,
    private readonly schedule: EpochSchedule,
    private readonly wall: () => number = Date.now,
    /** What to tell a user whose clock has no reference yet (how to give one). */
    private readonly hint?: string,
  ) {
    if (!Number.isSafeInteger(schedule.epochMs) || schedule.epochMs <= 0) {
      throw new RangeError(`epochMs must be a positive integer, got ${schedule.epochMs}`);
    }
    this.reference = schedule.reference;
  }

  /**
   * Learns the epoch in progress from a store answer: `registeredEpoch` was current at `atWallMs` (the epoch started
   * at most one epoch length before). The start is taken as `atWallMs` itself unless a reference is already known, so
   * later readings may run up to one epoch late until a configured reference is given.
   */
  learn(registeredEpoch: number, atWallMs: number = this.wall()): void {
    checkEpoch(registeredEpoch, "registeredEpoch");
    if (this.reference !== undefined) return;
    this.reference = { epoch: registeredEpoch, startMs: atWallMs };
  }

  async now(): Promise<EpochNow> {
    const reference = this.reference;
    if (reference === undefined) throw new EpochUnknownError(this.network, this.hint);
    const wallMs = this.wall();
    const elapsed = Math.floor((wallMs - reference.startMs) / this.schedule.epochMs);
    return {
      epoch: reference.epoch + elapsed,
      epochMs: this.schedule.epochMs,
      epochStartMs: reference.startMs + elapsed * this.schedule.epochMs,
      wallMs,
      networkMs: wallMs,
    };
  }
}

/** What `GET /local/clock` answers. */
export interface LocalClockReading {
  epoch: number;
  epochMs: number;
  epochStartMs: number;
  genesisMs: number;
  advancedMs: number;
  /** The store's network time (its wall clock plus the advances). */
  nowMs: number;
}

/** The clock of a local store (`strata walrus serve`), read over HTTP: exact, and moved by its advances. */
export class LocalNetworkClock implements NetworkClock {
  readonly network = "local";

  constructor(
    private readonly storeUrl: string,
    private readonly wall: () => number = Date.now,
  ) {}

  /** The URL of the clock route it reads. */
  get url(): string {
    return `${this.storeUrl.replace(/\/+$/, "")}/local/clock`;
  }

  async now(): Promise<EpochNow> {
    const url = this.url;
    let res: Response;
    try {
      res = await fetch(url);
    } catch (error) {
      throw new WalrusNetworkError(url, error);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const body = readErrorBody(json);
      throw new WalrusHttpError(url, res.status, body?.message ?? text, { reason: body?.reason });
    }
    const r = json as Partial<LocalClockReading> | undefined;
    if (
      typeof r !== "object" ||
      r === null ||
      !["epoch", "epochMs", "epochStartMs", "advancedMs", "nowMs"].every(
        (key) => typeof (r as Record<string, unknown>)[key] === "number",
      )
    ) {
      throw new WalrusResponseError(url, "the body is not a clock reading (is this a Strata local store?)");
    }
    const reading = r as LocalClockReading;
    const wallMs = this.wall();
    return {
      epoch: reading.epoch,
      epochMs: reading.epochMs,
      epochStartMs: reading.epochStartMs,
      wallMs,
      networkMs: wallMs + reading.advancedMs,
    };
  }
}

/** The clock of a local store at `storeUrl`. */
export function localNetworkClock(storeUrl: string, wall?: () => number): LocalNetworkClock {
  return new LocalNetworkClock(storeUrl, wall);
}

/** A clock from a fixed schedule (see {@link ScheduleClock}). */
export function scheduleClock(
  network: string,
  schedule: EpochSchedule,
  wall?: () => number,
  hint?: string,
): ScheduleClock {
  return new ScheduleClock(network, schedule, wall, hint);
}
