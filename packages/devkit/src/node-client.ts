/**
 * A typed client of the inference node's HTTP API (packages/node/src/server.ts): `POST /v1/infer`,
 * `GET /v1/proofs/:commitment`, `GET /v1/health`, `GET /metrics`. Every error the node answers,
 * `{ error: { code, message } }`, becomes a {@link NodeApiError} with that code; a node that does not answer is a
 * {@link NodeUnreachableError}.
 *
 *   const node = new NodeClient("http://127.0.0.1:31416");
 *   const answer = await node.infer({ model: "demo", inputs: { x: { dtype: "float32", dims: [1, 4], data: [1, 2, 3, 4] } } });
 *   const anchored = await node.waitForAnchor(answer.proof.commitment, { timeoutMs: 60_000 });
 */
import type { InferRequest, InferResponse, ProofStatus } from "@strata/node";
import { AnchorWaitTimeoutError, NodeApiError, NodeResponseError, NodeUnreachableError } from "./errors";

export type { InferRequest, InferResponse, ProofStatus };

/** The status of an anchored proof: its batch, blob and transaction are known. */
export type AnchoredProofStatus = ProofStatus & {
  status: "anchored";
  root: string;
  index: number;
  blobId: string;
  txHash: string;
};

/** `GET /v1/health`: the node's own report (the fields below, and more). */
export interface NodeHealth {
  /** `ok`, `degraded` (answers, but a dependency fails or a batch is quarantined) or `unavailable` (refuses work). */
  status: "ok" | "degraded" | "unavailable";
  /** Why the node refuses work, while `status` is `unavailable`. */
  reason?: { code: string; message: string };
  node: string;
  checks: Record<string, { ok: boolean; error?: string; checkedAt?: string; lastOkAt?: string }>;
  chainId: number;
  outbox: Record<string, number>;
  [field: string]: unknown;
}

export interface NodeClientOptions {
  /** How long one request may take, in milliseconds (default: no limit). */
  timeoutMs?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

export interface WaitForAnchorOptions {
  /** Give up after this many milliseconds (default: wait as long as it takes). */
  timeoutMs?: number;
  /** Time between two status requests (default 250 ms). */
  intervalMs?: number;
  /** A status already known (e.g. the one `infer` answered): no request is made if it is anchored. */
  known?: ProofStatus;
}

export class NodeClient {
  /** The node's base URL, without a trailing slash. */
  readonly url: string;
  private readonly timeoutMs: number | undefined;
  private readonly fetch: typeof fetch;

  constructor(url: string, options: NodeClientOptions = {}) {
    this.url = url.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs;
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Runs an inference: the outputs, the model version that ran and the status of the signed proof. */
  async infer(request: InferRequest): Promise<InferResponse> {
    return this.json<InferResponse>("/v1/infer", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
    });
  }

  /** The status of a proof the node signed (404 `PROOF_NOT_FOUND` as a {@link NodeApiError} when it has none). */
  async proofStatus(commitment: string): Promise<ProofStatus> {
    return this.json<ProofStatus>(`/v1/proofs/${commitment}`);
  }

  /** Polls {@link proofStatus} until the proof is anchored; rejects with {@link AnchorWaitTimeoutError} past the timeout. */
  async waitForAnchor(commitment: string, options: WaitForAnchorOptions = {}): Promise<AnchoredProofStatus> {
    const interval = options.intervalMs ?? 250;
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    let status = options.known ?? (await this.proofStatus(commitment));
    while (status.status !== "anchored") {
      if (Date.now() > deadline)
        throw new AnchorWaitTimeoutError(commitment, options.timeoutMs!, String(status.status));
      await new Promise((resolve) => setTimeout(resolve, interval));
      status = await this.proofStatus(commitment);
    }
    return status as AnchoredProofStatus;
  }

  /** The node's health report; it is returned also while the node refuses work (HTTP 503, `status: "unavailable"`). */
  async health(): Promise<NodeHealth> {
    return this.json<NodeHealth>("/v1/health", undefined, (status) => status === 503);
  }

  /** `GET /metrics` as the node writes it (Prometheus text). */
  async metricsText(): Promise<string> {
    const response = await this.request("/metrics");
    if (!response.ok) throw await this.apiError(response);
    return response.text();
  }

  /** `GET /metrics` by name: `{ strata_infer_requests_total: 3, ... }`. */
  async metrics(): Promise<Record<string, number>> {
    const metrics: Record<string, number> = {};
    for (const line of (await this.metricsText()).split("\n")) {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? (\S+)$/.exec(line.trim());
      if (match) metrics[match[1]] = Number(match[2]);
    }
    return metrics;
  }

  private async request(path: string, init?: RequestInit): Promise<Response> {
    const url = `${this.url}${path}`;
    try {
      return await this.fetch(url, {
        ...init,
        ...(this.timeoutMs !== undefined ? { signal: AbortSignal.timeout(this.timeoutMs) } : {}),
      });
    } catch (error) {
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      throw new NodeUnreachableError(url, typeof code === "string" ? code : (error as Error).message, { cause: error });
    }
  }

  private async apiError(response: Response): Promise<NodeApiError> {
    const body = (await response.json().catch(() => undefined)) as { error?: { code?: unknown; message?: unknown } };
    const error = typeof body === "object" && body !== null ? body.error : undefined;
    const code = typeof error?.code === "string" ? error.code : undefined;
    const message = typeof error?.message === "string" ? error.message : undefined;
    return new NodeApiError(response.url || this.url, response.status, code, message);
  }

  private async json<T>(path: string, init?: RequestInit, acceptStatus?: (status: number) => boolean): Promise<T> {
    const response = await this.request(path, init);
    if (!response.ok && !acceptStatus?.(response.status)) throw await this.apiError(response);
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new NodeResponseError(`${this.url}${path}`, "a body that is not JSON");
    }
    if (typeof body !== "object" || body === null) {
      throw new NodeResponseError(`${this.url}${path}`, `${JSON.stringify(body)}, not a JSON object`);
    }
    return body as T;
  }
}
