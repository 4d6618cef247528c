/**
 * Talking to any EVM JSON-RPC as it is: `eth_getLogs` scans split into block ranges that adapt to what the RPC says
 * its limit is, and short typed errors for what a public RPC answers (an unfunded key) instead of ethers' dumps.
 */
import { isError } from "ethers";
import { StrataError } from "./errors";

// ---------------------------------------------------------------------------------------------------------------------
// eth_getLogs block ranges

/**
 * The block range of `eth_getLogs` queries on one RPC: the configured size (or none: one query for the whole scan),
 * narrowed whenever the RPC refuses a range. Share one instance between every client of the same RPC, so that a
 * limit learned by one scan is used by the next.
 */
export class BlockRange {
  private current: number | undefined;

  /** @param initial blocks per query; `undefined`: ask for the whole scan at once until the RPC refuses. */
  constructor(initial?: number) {
    if (initial !== undefined && (!Number.isSafeInteger(initial) || initial < 1)) {
      throw new StrataError("INVALID_ARGUMENT", `The block range must be a positive integer of blocks, got ${initial}`);
    }
    this.current = initial;
  }

  /** Blocks per query now; `undefined` while no limit is configured or known. */
  get size(): number | undefined {
    return this.current;
  }

  /**
   * Narrows after the RPC refused a query of `attempted` blocks: to the limit the RPC stated when it is smaller,
   * else to half. Never widens. Returns the new size.
   */
  narrow(attempted: number, statedLimit?: number): number {
    const next =
      statedLimit !== undefined && statedLimit >= 1 && statedLimit < attempted
        ? statedLimit
        : Math.max(1, Math.floor(attempted / 2));
    this.current = Math.min(this.current ?? next, next);
    return this.current;
  }
}

/** Why an RPC refused an `eth_getLogs` query, as read from its error. */
export interface LogRangeRefusal {
  /** The RPC's message. */
  message: string;
  /** The JSON-RPC error code, when there is one. */
  code?: number;
  /** The most blocks per query the message allows (stated, or from the range it suggests), when it says so. */
  limit?: number;
}

/** The RPC refuses `eth_getLogs` even for the smallest range: the scan cannot be done on this RPC. */
export class LogRangeError extends StrataError {
  constructor(
    readonly fromBlock: number,
    readonly toBlock: number,
    readonly refusal: LogRangeRefusal,
    options?: { cause?: unknown },
  ) {
    super(
      "LOG_RANGE",
      `The RPC refuses eth_getLogs even for blocks ${fromBlock}–${toBlock} ` +
        `(${toBlock - fromBlock + 1} block${toBlock === fromBlock ? "" : "s"}): "${refusal.message}". ` +
        "Use an RPC that serves event logs (an archive or a paid endpoint), or one without a result cap",
      options,
    );
  }
}

/** Words of RPCs refusing a range or a result count (Infura, Alchemy, QuickNode, Ankr, geth forks, Erigon, ...). */
const REFUSAL =
  /block range|blocks range|range (?:is )?too (?:wide|large|big)|range exceeds|exceeds? (?:the )?max(?:imum)? (?:block )?range|max(?:imum)?(?: allowed)? (?:block )?range|too many blocks|more than [\d,]+ (?:results|logs)|max(?:imum)? results|response size|log response|limited to an? [\d,]+|range limit|query exceeds|result(?:s)? limit|too many (?:results|logs)|requested too many/i;
/** Rate limits use the same codes: they are not a range refusal (retrying smaller ranges would only add load). */
const RATE_LIMIT = /rate.?limit|per second|daily|credits|capacity|too many requests|throughput/i;
/** JSON-RPC codes RPCs use for a refused range: limit exceeded, invalid params/request, server error, Alchemy's. */
const REFUSAL_CODES = new Set([-32005, -32602, -32600, -32000, -32001, -32614, -32011, 35]);

/**
 * Reads an RPC's refusal of an `eth_getLogs` range from `error` (an ethers error wrapping the JSON-RPC error, or
 * the JSON-RPC error itself); `undefined` when `error` is something else (a revert, a network failure, a rate limit).
 *
 * Understood, among others: "query returned more than 10000 results. Try with this block range [0x1, 0x2]" (Infura,
 * -32005), "Log response size exceeded ... this block range should work: [0x0, 0x2ae6]" and "eth_getLogs is limited
 * to a 10,000 range" (Alchemy, -32602), "eth_getLogs is limited to a 1000 blocks range" (QuickNode), "block range is
 * too wide" (Ankr), "exceed maximum block range: 5000" (BSC, Polygon), "query exceeds max block range 100000"
 * (Erigon), "requested too many blocks from 0 to 100000, maximum is set to 2048" (Avalanche), "query exceeds max
 * results 20000, retry with the range 123-456", and a bare -32005 "limit exceeded".
 */
export function logRangeRefusal(error: unknown): LogRangeRefusal | undefined {
  const found: { message: string; code?: number }[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 6 || typeof value !== "object" || value === null || seen.has(value)) return;
    seen.add(value);
    const record = value as Record<string, unknown>;
    const code = typeof record.code === "number" ? record.code : undefined;
    if (typeof record.message === "string") found.push({ message: record.message, code });
    else if (code !== undefined) found.push({ message: "", code });
    visit(record.error, depth + 1);
    visit(record.info, depth + 1);
    visit(record.cause, depth + 1);
    visit(record.payload, depth + 1);
  };
  visit(error, 0);
  // The innermost JSON-RPC error carries the RPC's own words; ethers' wrappers come first in `found`.
  for (const entry of [...found].reverse()) {
    if (RATE_LIMIT.test(entry.message)) return undefined;
    const byWords = REFUSAL.test(entry.message);
    const byCode = entry.code === -32005 && !/revert/i.test(entry.message);
    if (byWords || byCode) {
      const code = entry.code ?? found.find((f) => f.code !== undefined && REFUSAL_CODES.has(f.code))?.code;
      return { message: entry.message || `JSON-RPC error ${entry.code}`, code, limit: statedLimit(entry.message) };
    }
  }
  return undefined;
}

const NUMBER = String.raw`(0x[0-9a-f]+|\d[\d,_]*(?:\.\d+)?)\s*(k\b)?`;

function parseNumber(text: string, thousands?: string): number {
  const value = text.toLowerCase().startsWith("0x") ? Number.parseInt(text, 16) : Number(text.replace(/[,_]/g, ""));
  return Math.floor(thousands ? value * 1000 : value);
}

/** The blocks per query `message` allows, from a range it suggests or a limit it states; `undefined` if neither. */
function statedLimit(message: string): number | undefined {
  // A suggested range: "[0x1, 0x2710]", "retry with the range 123-456".
  const suggested =
    /\[\s*(0x[0-9a-f]+|\d+)\s*,\s*(0x[0-9a-f]+|\d+)\s*\]/i.exec(message) ?? /range\s+(\d+)\s*-\s*(\d+)/i.exec(message);
  if (suggested) {
    const size = parseNumber(suggested[2]) - parseNumber(suggested[1]) + 1;
    if (Number.isSafeInteger(size) && size >= 1) return size;
  }
  // A stated block limit: "maximum block range: 5000", "limited to a 10,000 range", "maximum is set to 2048",
  // "limit of 800", then "1000 blocks", "2K block range", "10 block range".
  const patterns = [
    new RegExp(
      String.raw`(?:max(?:imum)?(?: allowed)?(?: block)? range(?: is)?(?: of)?|block range limit(?: is)?(?: of)?|limited to an?|maximum is set to|limit of|range of at most|up to an?)\s*:?\s*` +
        NUMBER +
        String.raw`(?!\s*(?:results|logs))`,
      "i",
    ),
    new RegExp(NUMBER + String.raw`\s*-?\s*blocks?\b`, "i"),
  ];
  for (const pattern of patterns) {
    const match = pattern.exec(message);
    if (match) {
      const limit = parseNumber(match[1], match[2]);
      if (Number.isSafeInteger(limit) && limit >= 1) return limit;
    }
  }
  return undefined;
}

/** Where a {@link scanBlockRanges} scan runs. */
export interface BlockRangeScan {
  fromBlock: number;
  /** The last block: a number, or `"latest"` (the default). */
  toBlock?: number | "latest";
  /** The (shared, learning) block range. */
  blockRange: BlockRange;
  /** The latest block number: asked only when the scan must be split. */
  latest: () => Promise<number>;
  /** Called whenever the RPC refuses a range and the scan narrows (for logs). */
  onNarrow?: (refusal: LogRangeRefusal, attempted: number, next: number) => void;
}

/**
 * Runs `query` over [fromBlock, toBlock] in ranges of `blockRange.size` blocks (one query when no size is set), in
 * block order. When the RPC refuses a range, the range narrows (to the limit the RPC states, else by half) and the
 * refused part is asked again; a refusal of a single block is a {@link LogRangeError}. Other errors are rethrown.
 */
export async function scanBlockRanges<L>(
  query: (fromBlock: number, toBlock: number | "latest") => Promise<L[]>,
  scan: BlockRangeScan,
): Promise<L[]> {
  const { fromBlock, blockRange } = scan;
  let toBlock = scan.toBlock ?? "latest";
  if (blockRange.size === undefined) {
    try {
      return await query(fromBlock, toBlock);
    } catch (error) {
      if (!logRangeRefusal(error)) throw error;
      if (toBlock === "latest") toBlock = await scan.latest();
      narrowAfterRefusal(error, fromBlock, Math.max(fromBlock, toBlock), scan);
    }
  }
  if (toBlock === "latest") toBlock = await scan.latest();
  const found: L[] = [];
  for (let start = fromBlock; start <= toBlock;) {
    const end = Math.min(toBlock, start + (blockRange.size ?? toBlock - start + 1) - 1);
    try {
      found.push(...(await query(start, end)));
      start = end + 1;
    } catch (error) {
      narrowAfterRefusal(error, start, end, scan);
    }
  }
  return found;
}

/**
 * Runs `query` over [fromBlock, toBlock] newest range first (for searches that want the latest events, like the
 * verifier's search for a proof's batch), in ranges of `blockRange.size` blocks (default 10,000 until the RPC refuses
 * one), and hands each range's logs to `visit`, which returns `true` to stop. Refusals narrow as in
 * {@link scanBlockRanges}. Resolves with the lowest block searched.
 */
export async function scanBlockRangesNewestFirst<L>(
  query: (fromBlock: number, toBlock: number) => Promise<L[]>,
  scan: BlockRangeScan,
  visit: (logs: L[], fromBlock: number, toBlock: number) => boolean | Promise<boolean>,
): Promise<number> {
  const { fromBlock, blockRange } = scan;
  const toBlock = scan.toBlock === undefined || scan.toBlock === "latest" ? await scan.latest() : scan.toBlock;
  let lowest = toBlock + 1;
  for (let end = toBlock; end >= fromBlock;) {
    const start = Math.max(fromBlock, end - (blockRange.size ?? DEFAULT_NEWEST_FIRST_RANGE) + 1);
    let logs: L[];
    try {
      logs = await query(start, end);
    } catch (error) {
      narrowAfterRefusal(error, start, end, scan);
      continue;
    }
    lowest = start;
    if (await visit(logs, start, end)) break;
    end = start - 1;
  }
  return lowest;
}

/**
 * After a query over [start, end] failed with `error`: rethrows it unless the RPC refused the range; throws
 * {@link LogRangeError} when even one block was refused; else narrows the scan's range (and tells `onNarrow`).
 */
function narrowAfterRefusal(error: unknown, start: number, end: number, scan: BlockRangeScan): void {
  const refusal = logRangeRefusal(error);
  if (!refusal) throw error;
  const attempted = end - start + 1;
  if (attempted <= 1) throw new LogRangeError(start, end, refusal, { cause: error });
  const next = scan.blockRange.narrow(attempted, refusal.limit);
  scan.onNarrow?.(refusal, attempted, next);
}

/** Blocks per query of a newest-first search while no limit is configured or known. */
const DEFAULT_NEWEST_FIRST_RANGE = 10_000;

// ---------------------------------------------------------------------------------------------------------------------
// Sending from an account that cannot pay

/** The sending account cannot pay for the transaction (gas × fee + value). */
export class InsufficientFundsError extends StrataError {
  constructor(
    /** The sending account. */
    readonly address: string | null,
    /** Its balance in wei, when known. */
    readonly balance: bigint | null,
    /** What the transaction needs at most (gas limit × max fee + value) in wei, when known. */
    readonly needed: bigint | null,
    /** What was being sent, e.g. `ModelRegistry.createModel`. */
    readonly action: string,
    options: { chainId?: bigint | null; rpcMessage?: string | null } = {},
  ) {
    const who = address ?? "the sending account";
    const amounts = [
      needed !== null ? `needs up to ${formatEther(needed)}` : undefined,
      balance !== null ? `has ${formatEther(balance)}` : undefined,
    ]
      .filter(Boolean)
      .join(", ");
    const chain = options.chainId != null ? ` on chain ${options.chainId}` : "";
    super(
      "INSUFFICIENT_FUNDS",
      `${action}: ${who} cannot pay for the transaction${chain}${amounts ? ` (${amounts})` : ""}: ` +
        `send native tokens to ${who}, or sign with a funded key (--key-file, STRATA_KEY_FILE or STRATA_PRIVATE_KEY)`,
    );
    this.rpcMessage = options.rpcMessage ?? null;
  }

  /**
   * The RPC's own words, shortened. The ethers error is deliberately not kept as `cause`: it holds the whole signed
   * transaction, which a logged error would print.
   */
  readonly rpcMessage: string | null;
}

/** Amounts in wei and ether, e.g. `0.0021 ETH (2100000000000000 wei)`. */
function formatEther(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const fraction = (wei % 10n ** 18n).toString().padStart(18, "0").replace(/0+$/, "");
  return `${whole}${fraction ? `.${fraction}` : ""} ETH (${wei} wei)`;
}

/** What an RPC says when the sender cannot pay (geth, anvil, Hardhat, Nethermind, Besu, Erigon, ...). */
const NO_FUNDS =
  /insufficient funds|doesn't have enough funds|does not have enough funds|not enough funds|insufficient balance|sender balance too low|exceeds (?:the )?balance|balance too low/i;

/** Is `error` an RPC's or ethers' "the sender cannot pay"? (A contract's own revert about a balance is not.) */
export function isInsufficientFunds(error: unknown): boolean {
  if (isError(error, "INSUFFICIENT_FUNDS")) return true;
  const texts = messagesOf(error);
  if (texts.some((text) => /revert/i.test(text)) && !texts.some((text) => /insufficient funds for gas/i.test(text))) {
    return false;
  }
  return texts.some((text) => NO_FUNDS.test(text));
}

/** The messages of `error` and of the errors it wraps, outermost first. */
function messagesOf(error: unknown): string[] {
  const texts: string[] = [];
  const seen = new Set<unknown>();
  for (let current: unknown = error, depth = 0; typeof current === "object" && current !== null && depth < 6; depth++) {
    if (seen.has(current)) break;
    seen.add(current);
    const record = current as Record<string, unknown>;
    if (typeof record.message === "string") texts.push(record.message);
    const info = record.info as Record<string, unknown> | undefined;
    current = record.error ?? info?.error ?? record.cause;
  }
  return texts;
}

/**
 * "have 0 want 21000" (geth, anvil) and "The max upfront cost is: X and the sender's balance is: Y" (Hardhat; older
 * versions say "the sender's account only has: Y").
 */
function amountsIn(texts: string[]): { balance?: bigint; needed?: bigint } {
  const text = texts.join(" ");
  const geth = /have (\d+) want (\d+)/i.exec(text);
  if (geth) return { balance: BigInt(geth[1]), needed: BigInt(geth[2]) };
  const hardhat = /upfront cost is:?\s*(\d+).*?(?:only has|balance is):?\s*(\d+)/is.exec(text);
  if (hardhat) return { balance: BigInt(hardhat[2]), needed: BigInt(hardhat[1]) };
  return {};
}

/** The RPC's own "cannot pay" words, without any hex longer than an address and at most 200 characters. */
function rpcWords(texts: string[]): string | null {
  const own = [...texts].reverse().find((text) => NO_FUNDS.test(text));
  if (!own) return null;
  const cleaned = own
    .replace(/0x[0-9a-f]{41,}/gi, (hex) => `${hex.slice(0, 10)}…`)
    .replace(/\s*\(transaction=.*$/s, "");
  return cleaned.length > 200 ? `${cleaned.slice(0, 199)}…` : cleaned;
}

/** A transaction as ethers reports it in an error (a request, or the signed transaction's fields). */
interface SentShape {
  from?: unknown;
  gasLimit?: unknown;
  gas?: unknown;
  maxFeePerGas?: unknown;
  gasPrice?: unknown;
  value?: unknown;
}

function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^(0x[0-9a-f]+|\d+)$/i.test(value)) return BigInt(value);
  return undefined;
}

/**
 * Turns an "insufficient funds" `error` into an {@link InsufficientFundsError} naming the account, what it has and
 * what it needs (read from the RPC's message, or the balance asked of `provider`); `undefined` for any other error.
 */
export async function toInsufficientFundsError(
  error: unknown,
  context: {
    action: string;
    from?: string | null;
    provider?: { getBalance(address: string): Promise<bigint>; getNetwork?(): Promise<{ chainId: bigint }> } | null;
    transaction?: SentShape;
  },
): Promise<InsufficientFundsError | undefined> {
  if (error instanceof InsufficientFundsError) return error;
  if (!isInsufficientFunds(error)) return undefined;
  const record = (typeof error === "object" && error !== null ? error : {}) as Record<string, unknown>;
  const reported = (
    typeof record.transaction === "object" && record.transaction !== null ? record.transaction : {}
  ) as SentShape;
  const tx: SentShape = { ...reported, ...context.transaction };
  const from = context.from ?? (typeof tx.from === "string" ? tx.from : null);
  const texts = messagesOf(error);
  const stated = amountsIn(texts);
  let balance = stated.balance ?? null;
  if (balance === null && from && context.provider) {
    balance = await context.provider.getBalance(from).catch(() => null);
  }
  let needed = stated.needed ?? null;
  const gas = toBigInt(tx.gasLimit ?? tx.gas);
  const fee = toBigInt(tx.maxFeePerGas ?? tx.gasPrice);
  if (needed === null && gas !== undefined && fee !== undefined) needed = gas * fee + (toBigInt(tx.value) ?? 0n);
  const chainId = context.provider?.getNetwork
    ? await context.provider.getNetwork().then(
        (n) => n.chainId,
        () => null,
      )
    : null;
  return new InsufficientFundsError(from, balance, needed, context.action, { chainId, rpcMessage: rpcWords(texts) });
}
