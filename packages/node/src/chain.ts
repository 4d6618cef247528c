import { isError, type Provider } from "ethers";
import type { Mined, Transaction } from "@strata/core";
import { ChainUnavailableError, NodeError } from "./errors";

/**
 * The delay before retry number `attempt` (1-based): exponential from `baseMs`, capped at `maxMs`, with "equal
 * jitter" (between half and all of it) so that many failing batches or nodes do not retry in lockstep.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/** `promise`, or a {@link ChainUnavailableError} naming `what` once `ms` pass without an answer. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ChainUnavailableError(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** An anchoring transaction was sent but is not mined yet (still in the mempool): it is checked again later. */
export class TransactionPendingError extends NodeError {
  constructor(
    readonly hash: string,
    waitedMs: number,
  ) {
    super(
      "TRANSACTION_PENDING",
      `transaction ${hash} was not mined within ${waitedMs} ms; it is checked again (and sent again if it was dropped)`,
    );
  }
}

/** Whether `error` says the chain could not be reached or did not answer (as opposed to a revert or bad input). */
export function isChainUnavailable(error: unknown): boolean {
  if (error instanceof ChainUnavailableError) return true;
  if (isError(error, "NETWORK_ERROR") || isError(error, "TIMEOUT") || isError(error, "SERVER_ERROR")) return true;
  const code = (error as { code?: unknown; cause?: { code?: unknown } })?.code;
  const causeCode = (error as { cause?: { code?: unknown } })?.cause?.code;
  const network = ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "UND_ERR_SOCKET"];
  if (network.includes(String(code)) || network.includes(String(causeCode))) return true;
  const message = (error as Error)?.message ?? "";
  return /ECONNREFUSED|ECONNRESET|socket hang up|fetch failed|request timeout|connect ETIMEDOUT/i.test(message);
}

export interface SendAndMine<T extends Mined> {
  provider: Provider;
  /** A transaction sent by an earlier attempt and not seen mined. */
  sent?: { hash: string };
  send: () => Promise<Transaction<T>>;
  onSent: (hash: string) => void;
  onDropped: (hash: string) => void;
  /** How long to wait for mining before giving up for now ({@link TransactionPendingError}). */
  timeoutMs: number;
}

/**
 * Sends a transaction and waits (bounded) for it to be mined. A transaction from an earlier attempt is looked up first:
 * mined means "check the chain again" (`null`), still pending means wait for it, gone from the node's mempool means it
 * was dropped (a restarted chain forgets its mempool) and is sent again.
 */
export async function sendAndMine<T extends Mined>(options: SendAndMine<T>): Promise<T | null> {
  const { provider, sent, timeoutMs } = options;
  if (sent) {
    if (await provider.getTransactionReceipt(sent.hash)) return null;
    const known = await provider.getTransaction(sent.hash);
    if (known) {
      await waitMined(provider, sent.hash, timeoutMs);
      return null;
    }
    options.onDropped(sent.hash);
  }
  const tx = await options.send();
  options.onSent(tx.hash);
  await waitMined(provider, tx.hash, timeoutMs);
  return tx.wait();
}

/**
 * Waits until `hash` has a receipt, polling (any provider can answer `eth_getTransactionReceipt`; not every ethers
 * provider implements `waitForTransaction`), at most `timeoutMs`: then {@link TransactionPendingError}.
 */
async function waitMined(provider: Provider, hash: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const every = Math.max(20, Math.min(500, Math.floor(timeoutMs / 20)));
  for (;;) {
    const left = deadline - Date.now();
    let receipt: unknown;
    try {
      receipt = await withTimeout(
        provider.getTransactionReceipt(hash),
        Math.max(left, every),
        "eth_getTransactionReceipt",
      );
    } catch (error) {
      if (!(error instanceof ChainUnavailableError) && !isChainUnavailable(error)) throw error;
    }
    if (receipt) return;
    if (Date.now() >= deadline) throw new TransactionPendingError(hash, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, Math.min(every, Math.max(0, deadline - Date.now()))));
  }
}
