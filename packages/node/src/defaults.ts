/**
 * The one table of the inference node's defaults. The node and its outbox use it when an option is absent,
 * `strata node start --help` and `strata devnet --help` print it, the README's table is rendered from it
 * ({@link nodeDefaultsMarkdown}, checked by a test), and the benches name it when they deliberately run otherwise.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export interface NodeDefault {
  /** The value, typed: a number (count, milliseconds, bytes, port) or a string. */
  readonly value: number | string;
  /** How the CLI writes it: `8GiB`, `4096`. */
  readonly flag: string;
  /** The `strata node start` option that sets it, if any. */
  readonly option?: string;
  /** What it is, for the README. */
  readonly meaning: string;
}

/** A byte size as the CLI writes it: the largest binary unit that divides it (`8GiB`, `10MiB`, `512KiB`, `100`). */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [
    ["GiB", GiB],
    ["MiB", MiB],
    ["KiB", KiB],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/**
 * The defaults, typed. Batch size 4,096: the production node (`strata node start`, the outbox) has used it since the
 * byte cap exists; a batch of small proofs then costs ~12 gas per proof on-chain (193 at 256, BENCHMARKS.md), and
 * the byte cap (10 MiB) seals larger proofs' batches first; the devnet uses the same value.
 */
export const NODE_DEFAULTS = Object.freeze({
  /** The node's HTTP port (the devnet's node, and the CLI's default `--node-url`). */
  port: 31416,
  host: "127.0.0.1",
  dataDir: ".strata/node",
  /** The model cache bound, in bytes. */
  cacheMaxBytes: 8 * GiB,
  /** Seal a batch when this many proofs wait. */
  batchSize: 4096,
  /** Public Walrus publishers' body cap: no quilt (nor v1 batch blob) the node stores is larger. */
  batchMaxBytes: 10 * MiB,
  /** Seal a batch when its oldest proof is this old, in milliseconds. */
  batchAgeMs: 2_000,
  /** Walrus epochs batch blobs are stored for. */
  batchEpochs: 5,
  /** Warn about served model versions whose storage ends within this many epochs (`--lease-warn-epochs`). */
  leaseWarnEpochs: 3,
  /** Refuse new proofs (503 BACKLOG_FULL) while this many bytes of proofs wait to be anchored. */
  maxBacklogBytes: 1 * GiB,
  /** First retry delay of a failed batch, doubled per failure up to `retryMaxMs`. */
  retryBaseMs: 500,
  retryMaxMs: 60_000,
  /** Failures in a row after which a batch is quarantined. */
  quarantineAfter: 5,
  /** How long an anchoring transaction may take to be mined before the outbox checks it was dropped. */
  txTimeoutMs: 60_000,
  /** How long one chain read of the outbox may take. */
  chainTimeoutMs: 15_000,
  /** Compact the journal once it grew by this many bytes since the last compaction. */
  compactBytes: 16 * MiB,
});

/** The defaults `strata node start` exposes as options, in `--help` order, as the CLI writes them. */
export const NODE_START_DEFAULTS: readonly NodeDefault[] = Object.freeze([
  { value: NODE_DEFAULTS.port, flag: String(NODE_DEFAULTS.port), option: "--port", meaning: "HTTP port" },
  { value: NODE_DEFAULTS.host, flag: NODE_DEFAULTS.host, option: "--host", meaning: "address to listen on" },
  {
    value: NODE_DEFAULTS.dataDir,
    flag: NODE_DEFAULTS.dataDir,
    option: "--data-dir",
    meaning: "model cache and outbox directory",
  },
  {
    value: NODE_DEFAULTS.cacheMaxBytes,
    flag: formatByteSize(NODE_DEFAULTS.cacheMaxBytes),
    option: "--cache-max-bytes",
    meaning: "model cache bound",
  },
  {
    value: NODE_DEFAULTS.batchSize,
    flag: String(NODE_DEFAULTS.batchSize),
    option: "--batch-size",
    meaning: "seal a batch when this many proofs wait",
  },
  {
    value: NODE_DEFAULTS.batchMaxBytes,
    flag: formatByteSize(NODE_DEFAULTS.batchMaxBytes),
    option: "--batch-max-bytes",
    meaning: "seal a batch before its blob exceeds this (the public publishers' body cap)",
  },
  {
    value: NODE_DEFAULTS.batchAgeMs,
    flag: String(NODE_DEFAULTS.batchAgeMs),
    option: "--batch-age-ms",
    meaning: "seal a batch when its oldest proof is this old (ms)",
  },
]);

/** The README's table of `strata node start` defaults (README.md holds exactly this text; a test checks it). */
export function nodeDefaultsMarkdown(): string {
  const rows = NODE_START_DEFAULTS.map((d) => [`\`${d.option}\``, `\`${d.flag}\``, d.meaning]);
  const header = ["option", "default", "meaning"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
