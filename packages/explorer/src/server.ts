/**
 * The explorer's HTTP server (fastify): the page (one HTML document, its bundled script and style), the JSON API of
 * api-types.ts, and two Server-Sent Event streams: a verification's steps as they finish, and new batches.
 */
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { isStrataError } from "@strata/errors";
import { describeFetched, describeStorage } from "@strata/verifier";
import type {
  ApiErrorBody,
  BatchDetailResponse,
  BatchesResponse,
  LiveStreamEvents,
  ModelsResponse,
  NodesResponse,
  OverviewResponse,
  ProofResponse,
  SearchResponse,
  VerifyStreamEvents,
} from "./api-types";
import { clientBundle } from "./bundle";
import { ExplorerData, type ExplorerSources } from "./data";
import { BatchWatcher } from "./live";

/** Options of {@link buildExplorerServer}. */
export interface ExplorerOptions extends ExplorerSources {
  /** How often the chain is polled for new batches (ms; default 1,000). */
  pollIntervalMs?: number;
}

/** A running explorer. */
export interface Explorer {
  url: string;
  app: FastifyInstance;
  data: ExplorerData;
  watcher: BatchWatcher;
  close(): Promise<void>;
}

/** HTTP statuses of error codes (every other error is a 500, or 502 when a service did not answer). */
const STATUS: Record<string, number> = {
  NOT_FOUND: 404,
  BAD_REQUEST: 400,
  INVALID_ARGUMENT: 400,
  USAGE: 400,
  UNREACHABLE: 502,
  BUNDLE_FAILED: 500,
};

/** Builds the explorer's server (not listening yet) and its batch watcher (not started). */
export function buildExplorerServer(options: ExplorerOptions): {
  app: FastifyInstance;
  data: ExplorerData;
  watcher: BatchWatcher;
} {
  const data = new ExplorerData(options);
  const watcher = new BatchWatcher(data, options.pollIntervalMs ?? 1_000);
  // Event streams stay open as long as a page is: closing the server closes them, not waits for them.
  const app = Fastify({ logger: false, forceCloseConnections: true });

  app.setErrorHandler((error, _request, reply) => {
    const code = isStrataError(error) ? error.code : "INTERNAL";
    const status =
      STATUS[code] ?? (isStrataError(error) ? 500 : ((error as { statusCode?: number }).statusCode ?? 500));
    const body: ApiErrorBody = { error: { code, message: (error as Error).message } };
    void reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: ApiErrorBody = {
      error: { code: "NOT_FOUND", message: `No route ${request.method} ${request.url}: the API is under /api/` },
    };
    void reply.code(404).send(body);
  });

  const page = async () => {
    await clientBundle();
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'">
<title>Strata explorer</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<div id="app"></div>
<noscript>The Strata explorer needs JavaScript; the same data is in the JSON API under /api/.</noscript>
<script type="module" src="/app.js"></script>
</body>
</html>
`;
  };
  app.get("/", async (_request, reply) => reply.type("text/html; charset=utf-8").send(await page()));
  app.get("/app.js", async (_request, reply) =>
    reply.type("text/javascript; charset=utf-8").send((await clientBundle()).script),
  );
  app.get("/app.css", async (_request, reply) =>
    reply.type("text/css; charset=utf-8").send((await clientBundle()).style),
  );

  app.get("/api/overview", async (): Promise<OverviewResponse> => data.overview());
  app.get("/api/models", async (): Promise<ModelsResponse> => ({ models: await data.models() }));
  app.get("/api/nodes", async (): Promise<NodesResponse> => ({ nodes: await data.nodes() }));
  app.get("/api/batches", async (): Promise<BatchesResponse> => ({ batches: await data.batches() }));
  app.get<{ Params: { node: string; root: string } }>(
    "/api/batches/:node/:root",
    async (request): Promise<BatchDetailResponse> => data.batch(request.params.node, request.params.root),
  );
  app.get<{ Params: { commitment: string } }>("/api/proofs/:commitment", async (request): Promise<ProofResponse> =>
    data.proof(request.params.commitment),
  );
  app.get<{ Querystring: { q?: string } }>("/api/search", async (request): Promise<SearchResponse> =>
    data.search(request.query.q ?? ""),
  );

  app.get<{ Params: { commitment: string }; Querystring: { reexecute?: string } }>(
    "/api/verify/:commitment",
    async (request, reply) => {
      const send = openStream<VerifyStreamEvents>(reply);
      const verifier = data.verifier();
      try {
        const report = await verifier.verifyProof(request.params.commitment, {
          nodeUrl: false,
          reexecute: request.query.reexecute === "1",
          onStep: (result) => send("step", result),
        });
        const failed = report.steps.find((s) => s.status === "fail");
        send("done", {
          ok: report.ok,
          failedStep: failed?.step ?? null,
          totalMs: report.timings.totalMs,
          fetched: describeFetched(report.fetched),
          storage: describeStorage(report.storage, "proof"),
        });
      } catch (error) {
        send("error", {
          code: isStrataError(error) ? error.code : "INTERNAL",
          message: (error as Error).message,
        });
      } finally {
        await verifier.close();
        reply.raw.end();
      }
    },
  );

  app.get("/api/live", async (request, reply) => {
    const send = openStream<LiveStreamEvents>(reply);
    send("hello", { latestBlock: watcher.latestBlock ?? 0 });
    const unsubscribe = watcher.subscribe((batch) => send("batch", batch));
    const keepAlive = setInterval(() => reply.raw.destroyed || reply.raw.write(": keep-alive\n\n"), 15_000);
    await new Promise<void>((resolve) => request.raw.on("close", resolve));
    clearInterval(keepAlive);
    unsubscribe();
  });

  return { app, data, watcher };
}

/** Answers with an event stream; returns the function that sends one typed event. */
function openStream<E>(reply: FastifyReply): <K extends keyof E & string>(event: K, data: E[K]) => void {
  reply.hijack();
  reply.raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  reply.raw.write(": stream open\n\n");
  return (event, value) => {
    if (reply.raw.writableEnded || reply.raw.destroyed) return;
    reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(value)}\n\n`);
  };
}

/**
 * Starts the explorer on `host:port` (default 127.0.0.1:31418; port 0 picks a free one): builds the page first, so a
 * broken build fails here, not in a browser.
 */
export async function startExplorer(options: ExplorerOptions & { port?: number; host?: string }): Promise<Explorer> {
  await clientBundle();
  const { app, data, watcher } = buildExplorerServer(options);
  await app.listen({ port: options.port ?? DEFAULT_EXPLORER_PORT, host: options.host ?? "127.0.0.1" });
  await watcher.start();
  const address = app.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    app,
    data,
    watcher,
    async close() {
      await watcher.stop();
      await app.close();
    },
  };
}

/** The explorer's default port (the devnet's store is 31415, its node 31416). */
export const DEFAULT_EXPLORER_PORT = 31418;
