import Fastify, { type FastifyInstance, type FastifyError } from "fastify";
import { DTYPES, StrataError } from "@strata/core";
import { StrataRuntimeError, type TensorJson } from "@strata/runtime";

/** POST /v1/infer body. */
export interface InferRequest {
  /** A model id (0x…), `owner/name`, or a name published by the default owner. */
  model: string;
  /** Version index; the latest non-deprecated version when absent. */
  version?: number;
  inputs: Record<string, TensorJson>;
}

/** What the HTTP API needs from the node. */
export interface NodeService {
  infer(request: InferRequest): Promise<unknown>;
  proofStatus(commitment: string): Promise<unknown>;
  health(): Promise<Record<string, unknown>>;
  metrics(): string;
}

export interface ServerOptions {
  /** Largest request body in bytes (default 16 MiB). */
  bodyLimit?: number;
  /** Largest number of input tensors per request (default 64). */
  maxInputs?: number;
}

/** Core error codes caused by the request (the rest come from the chain or Walrus: 502). */
const CLIENT_ERRORS = new Set<string>(["INVALID_ARGUMENT", "TENSOR"]);

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

/** The node's HTTP API (fastify, with JSON schemas on every request). Errors are `{ error: { code, message } }`. */
export function buildServer(service: NodeService, options: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 16 * 1024 * 1024,
    logger: false,
    ajv: { customOptions: { allowUnionTypes: true } },
  });

  app.setErrorHandler((error: FastifyError | StrataRuntimeError, _request, reply) => {
    if (error instanceof StrataRuntimeError) {
      return reply.status(error.status).send({ error: { code: error.code, message: error.message } });
    }
    if (error instanceof StrataError) {
      const status = CLIENT_ERRORS.has(error.code) ? 400 : 502;
      return reply.status(status).send({ error: { code: error.code, message: error.message } });
    }
    const fe = error as FastifyError;
    if (fe.validation) {
      return reply.status(400).send({ error: { code: "BAD_REQUEST", message: `invalid request: ${fe.message}` } });
    }
    if (fe.statusCode && fe.statusCode < 500) {
      return reply.status(fe.statusCode).send({ error: { code: fe.code ?? "BAD_REQUEST", message: fe.message } });
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
