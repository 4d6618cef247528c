/**
 * The JSON shapes of the Walrus publisher and aggregator HTTP API (camelCase, as the Walrus daemon serves them), shared
 * by the client and the local store.
 */

export interface StorageResource {
  id: string;
  startEpoch: number;
  /** Exclusive: the blob is available while the current epoch is below it. */
  endEpoch: number;
  storageSize: number;
}

export interface BlobObject {
  id: string;
  registeredEpoch: number;
  blobId: string;
  size: number;
  encodingType: "RS2";
  certifiedEpoch: number | null;
  storage: StorageResource;
  deletable: boolean;
}

export type ResourceOperation =
  | { registerFromScratch: { encodedLength: number; epochsAhead: number } }
  | { reuseStorage: { encodedLength: number } }
  | { reuseRegistration: { encodedLength: number } }
  | { extend: { encodedLength: number; epochsExtended: number } };

export interface NewlyCreatedResponse {
  newlyCreated: {
    blobObject: BlobObject;
    resourceOperation: ResourceOperation;
    cost: number;
    sharedBlobObject?: string;
  };
}

export interface AlreadyCertifiedResponse {
  alreadyCertified: {
    blobId: string;
    /** The certification event (or, instead, `object`: the id of an owned blob object). */
    event?: { txDigest: string; eventSeq: string };
    object?: string;
    endEpoch: number;
  };
}

export type StoreResponse = NewlyCreatedResponse | AlreadyCertifiedResponse;

export interface ErrorInfo {
  "@type": "ErrorInfo";
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

/** The error body of the Walrus daemon (Google API style). */
export interface WalrusErrorBody {
  error: {
    status: string;
    code: number;
    message: string;
    details: ErrorInfo[];
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Narrows an untrusted JSON value to a store response, or says what is wrong with it. */
export function checkStoreResponse(value: unknown): StoreResponse | string {
  if (!isRecord(value)) return "the body is not a JSON object";
  if (isRecord(value.newlyCreated)) {
    const blobObject = value.newlyCreated.blobObject;
    if (!isRecord(blobObject)) return "newlyCreated has no blobObject";
    if (typeof blobObject.blobId !== "string") return "newlyCreated.blobObject has no blobId";
    if (typeof blobObject.id !== "string") return "newlyCreated.blobObject has no id";
    if (typeof blobObject.size !== "number") return "newlyCreated.blobObject has no size";
    if (!isRecord(blobObject.storage) || typeof blobObject.storage.endEpoch !== "number") {
      return "newlyCreated.blobObject has no storage.endEpoch";
    }
    return value as unknown as NewlyCreatedResponse;
  }
  if (isRecord(value.alreadyCertified)) {
    const certified = value.alreadyCertified;
    if (typeof certified.blobId !== "string") return "alreadyCertified has no blobId";
    if (typeof certified.endEpoch !== "number") return "alreadyCertified has no endEpoch";
    return value as unknown as AlreadyCertifiedResponse;
  }
  return "expected newlyCreated or alreadyCertified";
}

/** The Walrus error body's message and reason, when `value` is one. */
export function readErrorBody(value: unknown): { message: string; reason?: string } | undefined {
  if (!isRecord(value) || !isRecord(value.error)) return undefined;
  const { message, details } = value.error;
  const first = Array.isArray(details) && isRecord(details[0]) ? details[0] : undefined;
  return {
    message: typeof message === "string" ? message : "",
    reason: first !== undefined && typeof first.reason === "string" ? first.reason : undefined,
  };
}
