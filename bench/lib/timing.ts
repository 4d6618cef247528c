/** Small timing helpers for the benchmarks: order statistics over repeated runs, and timed loops. */

/** The `p`-th percentile (0..100) of `values`, by linear interpolation between the closest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

export const median = (values: readonly number[]): number => percentile(values, 50);
export const p90 = (values: readonly number[]): number => percentile(values, 90);

/** Milliseconds taken by `f`. */
export async function timeMs(f: () => unknown): Promise<number> {
  const start = performance.now();
  await f();
  return performance.now() - start;
}

/** The durations (ms) of `runs` sequential calls of `f`, after `warmup` untimed calls. */
export async function sample(runs: number, f: (i: number) => unknown, warmup = 0): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await f(i);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timeMs(() => f(i)));
  return times;
}

/** Per-call time (ms) of a synchronous `f`, as the median of `rounds` rounds of `perRound` calls each. */
export function perCallMs(f: (i: number) => unknown, perRound: number, rounds = 5): number {
  const times: number[] = [];
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let i = 0; i < perRound; i++) f(n++);
    times.push((performance.now() - start) / perRound);
  }
  return median(times);
}

export const fmt = (n: number, digits = 1): string =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 }) : "-";
