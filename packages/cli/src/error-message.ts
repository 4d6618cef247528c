import { InsufficientFundsError, isInsufficientFunds, toInsufficientFundsError } from "@strata/core";

/**
 * The one-line message `strata` prints for an error: an unfunded key's error names the account and what to do, and
 * no message carries a signed transaction or calldata (ethers puts them in its messages): long hex is shortened.
 */
export async function errorMessage(error: unknown): Promise<string> {
  if (!(error instanceof InsufficientFundsError) && isInsufficientFunds(error)) {
    const funds = await toInsufficientFundsError(error, { action: "sending a transaction" });
    if (funds) return funds.message;
  }
  const message = error instanceof Error ? error.message : String(error);
  return shortenHex(message);
}

/** Hex strings longer than 66 characters (a bytes32) become their first 10 characters, an ellipsis and their size. */
export function shortenHex(text: string): string {
  return text.replace(/0x[0-9a-fA-F]{65,}/g, (hex) => `${hex.slice(0, 10)}…(${(hex.length - 2) / 2} bytes)`);
}
