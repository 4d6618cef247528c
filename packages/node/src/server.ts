import Fastify, { type FastifyInstance, type FastifyError, type FastifyReply } from "fastify";
import { DTYPES, PRIVACY_MODES, StrataError, type PrivacyMode, type StrataErrorCode } from "@strata/core";
import type { TensorJson } from "@strata/runtime";
import { NodeUnavailableError } from "./errors";

/** POST /v1/infer body. */
export interface InferRequest {
  /** A model id (0x…), `owner/name`, or a name published by the default owner. */
  model: string;
  /** Version index; the latest non-deprecated version when absent. */
  version?: number;
  inputs: Record<string, TensorJson>;
  /** The privacy mode (default public): hashed keeps only the tensors' hashes, encrypted seals them to `recipient`. */
  privacy?: PrivacyMode;
  /** Encrypted mode: the requester's public key (`strata-pk1:...`). */
  recipient?: string;
}

/** What the HTTP API needs from the node. */
export interface NodeService {
  infer(request: InferRequest): Promise<unknown>;
  proofStatus(commitment: string): Promise<unknown>;
  health(): Promise<Record<string, unknown>>;
  metrics(): string;
}

/**
 * The default largest request body: 64 MiB. It fits the JSON array form of any tensor that fits in a proof blob of
 * 10 MiB (public Walrus publishers' cap): JSON takes up to ~6 bytes per element byte (`false,` for a bool, `"\u0001"`
 * per control character of a string), ~3.75 for float32; the base64 `data` form takes 4/3.
 */
export const DEFAULT_BODY_LIMIT = 64 * 1024 * 1024;

export interface ServerOptions {
  /** Largest request body in bytes (default {@link DEFAULT_BODY_LIMIT}). */
  bodyLimit?: number;
  /** Largest number of input tensors per request (default 64). */
  maxInputs?: number;
}

/** Core's codes: those caused by the request are 400, the rest come from the chain or Walrus (502). */
const CORE_STATUS: Readonly<Record<StrataErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  TENSOR: 400,
  CONTRACT_REVERT: 502,
  TRANSACTION_FAILED: 502,
  UNKNOWN_MODEL: 502,
  UNKNOWN_VERSION: 502,
  NO_ACTIVE_VERSION: 502,
  PROOF_FORMAT: 502,
  UNSUPPORTED_VERSION: 502,
  SIGNATURE: 502,
  BATCH_FORMAT: 502,
  NOT_IN_BATCH: 502,
  LOG_RANGE: 502,
  INSUFFICIENT_FUNDS: 502,
  INVALID_BLOB_ID: 400,
  METADATA_FORMAT: 502,
  PRIVATE_DATA: 400,
};

/**
 * The one table from an error's `code` to the HTTP status the API answers with: core's codes, the runtime's (model
 * cache, sessions, publishing) and the node's own. Library errors carry no status. A {@link NodeUnavailableError}
 * (the node refuses work) is 503 whatever its reason; a `StrataError` whose code is not here, like any other error,
 * is a 500 `INTERNAL`.
 */
export const HTTP_STATUS: Readonly<Record<string, number>> = {
  ...CORE_STATUS,
  // @strata/runtime
  NOT_ONNX_MODEL: 400,
  INVALID_INPUT: 400,
  INVALID_BLOB_ID: 400,
  NO_SIGNER: 400,
  MODEL_NOT_FOUND: 404,
  MODEL_EXPIRED: 410,
  ALREADY_PUBLISHED: 409,
  MODEL_INTEGRITY: 502,
  INVALID_MODEL_SIZE: 502,
  MODEL_BLOB_NOT_FOUND: 502,
  MODEL_UNAVAILABLE: 503,
  MODEL_TOO_LARGE: 507,
  CACHE_TOO_SMALL: 507,
  DISK_FULL: 507,
  // @strata/node
  BAD_REQUEST: 400,
  INVALID_MODEL_REF: 400,
  // core's privacy module
  PRIVACY_KEY: 400,
  PROOF_NOT_FOUND: 404,
  PROOF_TOO_LARGE: 413,
  INVALID_INDEXED_BATCH: 500,
  PROOF_INDEX_CONFLICT: 500,
  NO_PROVIDER: 500,
  NO_CLOCK: 500,
  OUTBOX: 503,
  CHAIN_UNAVAILABLE: 503,
  TRANSACTION_PENDING: 503,
  PROOF_INDEX: 503,
  PROOF_INDEX_CORRUPT: 503,
  NODE_NOT_ACTIVE: 503,
  BACKLOG_FULL: 503,
  SHUTTING_DOWN: 503,
  STORE_UNAVAILABLE: 503,
};

/** The HTTP status of `error` by {@link HTTP_STATUS}, or `undefined` when its code is not in the table. */
export function httpStatusOf(error: StrataError): number | undefined {
  if (error instanceof NodeUnavailableError) return 503;
  return Object.hasOwn(HTTP_STATUS, error.code) ? HTTP_STATUS[error.code] : undefined;
}

const tensorSchema = {
  type: "object",
  required: ["dtype", "dims", "data"],
  additionalProperties: false,
  properties: {
    dtype: { type: "string", enum: [...DTYPES] },
    dims: { type: "array", maxItems: 16, items: { type: "integer", minimum: 0 } },
    data: {
      anyOf: [{ type: "array", items: { type: ["number", "string", "boolean"] } }, { type: "string" }],
    },
  },
} as const;

/** Fastify's own errors (raised before a route runs), by code: the node's code for each and how to fix the request. */
const FRAMEWORK_ERRORS: Readonly<Record<string, { code: string; hint: string }>> = {
  FST_ERR_BAD_URL: { code: "BAD_URL", hint: "percent-encode the URL correctly" },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: "BAD_JSON", hint: "send a valid JSON body" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: "BAD_JSON", hint: "send a JSON body, or no content-type without a body" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: "UNSUPPORTED_MEDIA_TYPE",
    hint: "send the body as JSON with content-type: application/json",
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: "BODY_TOO_LARGE", hint: "" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: "BAD_CONTENT_LENGTH",
    hint: "send a Content-Length that matches the body",
  },
  FST_ERR_MAX_PARAM_LENGTH: { code: "BAD_URL", hint: "shorten the URL" },
  FST_ERR_ASYNC_CONSTRAINT: { code: "BAD_REQUEST", hint: "check the request's headers" },
};

/**
 * The node's HTTP API (fastify, with JSON schemas on every request, validated strictly: no type coercion, no field
 * silently removed, unknown fields refused). Every error, including those raised before routing (a malformed URL, bad
 * JSON, a wrong content type, a body over the limit), is `{ error: { code, message } }`.
 */
export function buildServer(service: NodeService, options: ServerOptions = {}): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const frameworkError = (error: FastifyError): { status: number; code: string; message: string } => {
    const known = FRAMEWORK_ERRORS[error.code];
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 400;
    if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return {
        status: 413,
        code: "BODY_TOO_LARGE",
        message:
          `the request body is larger than this node's limit of ${bodyLimit} bytes; send tensors in the base64 ` +
          "data form (about a third of the JSON array size), or split the request",
      };
    }
    const message = known?.hint ? `${error.message}: ${known.hint}` : error.message;
    return { status, code: known?.code ?? "BAD_REQUEST", message };
  };
  const app = Fastify({
    bodyLimit,
    logger: false,
    // Strict: fastify's defaults coerce types ("5" -> 5, "AAAA" -> ["AAAA"]) and drop unknown fields.
    ajv: { customOptions: { allowUnionTypes: true, coerceTypes: false, removeAdditional: false, useDefaults: false } },
    frameworkErrors: (error, _request, reply) => {
      const { status, code, message } = frameworkError(error);
      void (reply as FastifyReply).status(status).send({ error: { code, message } });
    },
    // Errors of the HTTP parser itself (before fastify sees a request), as fastify's default handler sorts them.
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (error.code === "ECONNRESET" || socket.destroyed) return;
      const [status, reason, code] =
        error.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "Request Timeout", "REQUEST_TIMEOUT"]
          : error.code === "HPE_HEADER_OVERFLOW"
            ? [431, "Request Header Fields Too Large", "HEADERS_TOO_LARGE"]
            : [400, "Bad Request", "BAD_REQUEST"];
      if (socket.writable && socket.bytesWritten === 0) {
        const body = JSON.stringify({ error: { code, message: `malformed HTTP request: ${error.message}` } });
        socket.write(
          `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
            `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy(error);
    },
  });

  app.setErrorHandler((error: FastifyError | StrataError, _request, reply) => {
    const status = error instanceof StrataError ? httpStatusOf(error) : undefined;
    if (status !== undefined) {
      return reply.status(status).send({ error: { code: error.code, message: error.message } });
    }
    const fe = error as FastifyError;
    if (fe.validation) {
      const message = `invalid request: ${describeValidation(fe.validation, fe.validationContext ?? "body")}`;
      return reply.status(400).send({ error: { code: "BAD_REQUEST", message } });
    }
    if (fe.statusCode && fe.statusCode < 500) {
      const { status, code, message } = frameworkError(fe);
      return reply.status(status).send({ error: { code, message } });
    }
    return reply.status(500).send({ error: { code: "INTERNAL", message: fe.message } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: "NOT_FOUND", message: `no route ${request.method} ${request.url}` } }),
  );

  app.post<{ Body: InferRequest }>(
    "/v1/infer",
    {
      schema: {
        body: {
          type: "object",
          required: ["model", "inputs"],
          additionalProperties: false,
          properties: {
            model: { type: "string", minLength: 1, maxLength: 200 },
            version: { type: "integer", minimum: 0, maximum: 4294967295 },
            privacy: { type: "string", enum: [...PRIVACY_MODES] },
            recipient: { type: "string", minLength: 1, maxLength: 200 },
            inputs: {
              type: "object",
              minProperties: 1,
              maxProperties: options.maxInputs ?? 64,
              additionalProperties: tensorSchema,
            },
          },
        },
      },
    },
    async (request) => service.infer(request.body),
  );

  app.get<{ Params: { commitment: string } }>(
    "/v1/proofs/:commitment",
    {
      schema: {
        params: {
          type: "object",
          properties: { commitment: { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } },
        },
      },
    },
    async (request) => service.proofStatus(request.params.commitment.toLowerCase()),
  );

  // 503 while the node refuses work (a load balancer then stops sending it any), with the reason in the body.
  app.get("/v1/health", async (_request, reply) => {
    const health = await service.health();
    return reply.status(health.status === "unavailable" ? 503 : 200).send(health);
  });
  app.get("/metrics", async (_request, reply) => reply.type("text/plain; version=0.0.4").send(service.metrics()));
  return app;
}

/** A validation failure in words: unknown fields by name, the rest as ajv says them, each with its JSON path. */
function describeValidation(errors: NonNullable<FastifyError["validation"]>, context: string): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const error of errors) {
    const at = error.instancePath ? `${context}${error.instancePath}` : context;
    let part: string;
    if (error.keyword === "additionalProperties") {
      const field = String((error.params as { additionalProperty?: unknown }).additionalProperty);
      part = `unknown field ${JSON.stringify(field)} in ${at}`;
    } else {
      part = `${at} ${error.message ?? "is invalid"}`;
    }
    if (!seen.has(part)) parts.push(part);
    seen.add(part);
  }
  return parts.join("; ");
}
