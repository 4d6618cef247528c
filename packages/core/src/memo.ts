/**
 * One single-flight memo for the reads a verifier or a node repeats (model versions, node histories, blobs, loaded
 * models, block times): concurrent callers of a key share one pending load, a settled value is reused (for `ttlMs`,
 * or for the life of the memo), and a failed load is never kept, so the next caller tries again.
 */
import { StrataError } from "./errors";

/** How long a {@link Memo} keeps its values, how many, and under which key. */
export interface MemoOptions<K = unknown> {
  /**
   * The key an input is kept under (default: the input itself), for inputs that are objects: e.g. a model version
   * kept by its Blob ID. Two inputs with the same key share one value.
   */
  keyOf?: (input: K) => unknown;
  /**
   * How long (ms, from the start of its load) a value is reused; default: for the life of the memo. A function is
   * read at each lookup (for a setting that may change).
   */
  ttlMs?: number | (() => number);
  /** The most entries kept; the oldest goes first when a new one would exceed it. Default: unbounded. */
  maxEntries?: number;
  /** The clock, in ms (default `Date.now`; for tests). */
  now?: () => number;
}

interface Entry<V> {
  at: number;
  value: Promise<V>;
}

/** A single-flight memo of `load(input)` results (see the module note). */
export class Memo<K, V> {
  private readonly entries = new Map<unknown, Entry<V>>();

  constructor(
    private readonly load: (input: K) => Promise<V>,
    private readonly options: MemoOptions<K> = {},
  ) {
    const { maxEntries } = options;
    if (maxEntries !== undefined && (!Number.isSafeInteger(maxEntries) || maxEntries < 1)) {
      throw new StrataError("INVALID_ARGUMENT", `A memo's maxEntries must be a positive integer, got ${maxEntries}`);
    }
  }

  /** The value of `input`: the pending or kept one, else a new load (shared by every caller until it settles). */
  get(input: K): Promise<V> {
    const key = this.keyOf(input);
    const now = (this.options.now ?? Date.now)();
    const hit = this.entries.get(key);
    if (hit !== undefined && !this.expired(hit, now)) return hit.value;
    const entry: Entry<V> = { at: now, value: this.load(input) };
    this.entries.delete(key);
    this.entries.set(key, entry);
    const { maxEntries } = this.options;
    while (maxEntries !== undefined && this.entries.size > maxEntries) {
      this.entries.delete(this.entries.keys().next().value);
    }
    // A failure is not kept (unless a newer load replaced it already).
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return entry.value;
  }

  /** Whether `input` has a pending or kept value. */
  has(input: K): boolean {
    const hit = this.entries.get(this.keyOf(input));
    return hit !== undefined && !this.expired(hit, (this.options.now ?? Date.now)());
  }

  /** Forgets `input`. */
  delete(input: K): boolean {
    return this.entries.delete(this.keyOf(input));
  }

  /** How many entries are kept (pending ones included). */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets everything and returns what was kept (pending loads included), e.g. to release loaded models. */
  clear(): Promise<V>[] {
    const values = [...this.entries.values()].map((entry) => entry.value);
    this.entries.clear();
    return values;
  }

  private keyOf(input: K): unknown {
    return this.options.keyOf === undefined ? input : this.options.keyOf(input);
  }

  private expired(entry: Entry<V>, now: number): boolean {
    const { ttlMs } = this.options;
    if (ttlMs === undefined) return false;
    return now - entry.at >= (typeof ttlMs === "function" ? ttlMs() : ttlMs);
  }
}
