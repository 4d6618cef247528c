/**
 * The client of the local store's clock routes (`/local/…`, which real Walrus lacks: there a blob's end epoch is read
 * from its Sui object, and the aggregator answers an expired blob as one never stored, 404 `BLOB_NOT_FOUND`). Tests and
 * devnets use these to read a blob's lifetime and to move the clock of a store running in another process.
 */
import { parseBlobId } from "@strata/core";
import { readErrorBody } from "./api";
import { BlobNotFoundError, WalrusHttpError, WalrusNetworkError, WalrusResponseError } from "./errors";
import type { LocalBlobLifetime } from "./epochs";

async function call(url: string, init: RequestInit, blobId?: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (error) {
    throw new WalrusNetworkError(url, error, blobId);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.ok) {
    if (json === undefined) throw new WalrusResponseError(url, "the body is not JSON", blobId);
    return json;
  }
  const body = readErrorBody(json);
  if (res.status === 404 && blobId !== undefined) throw new BlobNotFoundError(blobId, url, body?.reason);
  throw new WalrusHttpError(url, res.status, body?.message ?? text, {
    blobId,
    reason: body?.reason,
    walrusStatus: body?.status,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** A blob's lifetime in a local store: its latest end epoch (exclusive) and whether it has expired. */
export async function localBlobLifetime(storeUrl: string, blobId: string): Promise<LocalBlobLifetime> {
  const url = `${storeUrl.replace(/\/+$/, "")}/local/blobs/${encodeURIComponent(blobId)}`;
  const json = await call(url, { method: "GET" }, blobId);
  if (
    !isRecord(json) ||
    typeof json.blobId !== "string" ||
    typeof json.currentEpoch !== "number" ||
    typeof json.endEpoch !== "number" ||
    typeof json.expired !== "boolean"
  ) {
    throw new WalrusResponseError(url, "the body is not a blob lifetime", blobId);
  }
  return {
    blobId: parseBlobId(json.blobId),
    currentEpoch: json.currentEpoch,
    endEpoch: json.endEpoch,
    expired: json.expired,
  };
}

/** Moves a local store's clock ahead by `epochs` whole epochs (persisted); resolves to the new current epoch. */
export async function advanceLocalEpochs(storeUrl: string, epochs: number): Promise<number> {
  const url = `${storeUrl.replace(/\/+$/, "")}/local/clock/advance?epochs=${encodeURIComponent(String(epochs))}`;
  const json = await call(url, { method: "POST" });
  if (!isRecord(json) || typeof json.epoch !== "number") throw new WalrusResponseError(url, "the body has no epoch");
  return json.epoch;
}
