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

/**
 * What the publisher did with blob and storage resources (walrus-sdk `RegisterBlobOp`, camelCase as served; the
 * published OpenAPI schema spells the fields in snake_case, but the daemon serializes `rename_all_fields = camelCase`).
 */
export type ResourceOperation =
  /** Storage and registration bought from scratch. */
  | { registerFromScratch: { encodedLength: number; epochsAhead: number } }
  /** Storage reused, the blob newly registered. */
  | { reuseStorage: { encodedLength: number } }
  /** A registration was already there. */
  | { reuseRegistration: { encodedLength: number } }
  /** The blob was certified already, but for too short; its storage was extended. */
  | { reuseAndExtend: { encodedLength: number; epochsExtended: number } }
  /** The blob was registered (not certified) for too short; it was extended and certified. */
  | { reuseAndExtendNonCertified: { encodedLength: number; epochsExtended: number } };

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

/** Walrus knows the blob but marked it invalid (an inconsistent encoding): it can never be read. */
export interface MarkedInvalidResponse {
  markedInvalid: {
    blobId: string;
    /** The event that marked it invalid. */
    event: { txDigest: string; eventSeq: string };
  };
}

/** A 200 answer of a publisher whose store failed (walrus-sdk `BlobStoreResult::Error`). */
export interface StoreFailedResponse {
  error: {
    blobId?: string | null;
    /** The phase the store failed in (newer daemons only). */
    failurePhase?: string;
    errorMsg: string;
  };
}

/** Every answer of `PUT /v1/blobs` with status 200 (the daemon's `BlobStoreResult`). */
export type BlobStoreResult = StoreResponse | MarkedInvalidResponse | StoreFailedResponse;

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

/** Narrows an untrusted JSON value to a store result, or says what is wrong with it. */
export function checkStoreResponse(value: unknown): BlobStoreResult | string {
  if (!isRecord(value)) return "the body is not a JSON object";
  if (isRecord(value.markedInvalid)) {
    const invalid = value.markedInvalid;
    if (typeof invalid.blobId !== "string") return "markedInvalid has no blobId";
    if (!isRecord(invalid.event)) return "markedInvalid has no event";
    return value as unknown as MarkedInvalidResponse;
  }
  // A 200 `error` carries `errorMsg`; the Walrus error body of a failed request carries `message` and `code`.
  if (isRecord(value.error) && typeof value.error.errorMsg === "string") {
    const failure = value.error;
    if (failure.failurePhase !== undefined && typeof failure.failurePhase !== "string") {
      return "error.failurePhase is not a string";
    }
    return value as unknown as StoreFailedResponse;
  }
  if (isRecord(value.newlyCreated)) {
    const blobObject = value.newlyCreated.blobObject;
    if (!isRecord(blobObject)) return "newlyCreated has no blobObject";
    if (typeof blobObject.blobId !== "string") return "newlyCreated.blobObject has no blobId";
    if (typeof blobObject.id !== "string") return "newlyCreated.blobObject has no id";
    if (typeof blobObject.size !== "number") return "newlyCreated.blobObject has no size";
    if (!isRecord(blobObject.storage) || typeof blobObject.storage.endEpoch !== "number") {
      return "newlyCreated.blobObject has no storage.endEpoch";
    }
    const operation = value.newlyCreated.resourceOperation;
    if (operation !== undefined && (!isRecord(operation) || Object.keys(operation).length !== 1)) {
      return "newlyCreated.resourceOperation is not a single operation";
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

/** The Walrus error body's message, status (such as `SIZE_EXCEEDED`) and reason, when `value` is one. */
export function readErrorBody(value: unknown): { message: string; status?: string; reason?: string } | undefined {
  if (!isRecord(value) || !isRecord(value.error)) return undefined;
  const { message, details, status } = value.error;
  const first = Array.isArray(details) && isRecord(details[0]) ? details[0] : undefined;
  return {
    message: typeof message === "string" ? message : "",
    status: typeof status === "string" ? status : undefined,
    reason: first !== undefined && typeof first.reason === "string" ? first.reason : undefined,
  };
}
