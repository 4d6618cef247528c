/**
 * An inference node serving its HTTP API, from typed options: what `strata node start` runs once it has parsed its
 * flags, and what the devnet starts in-process.
 */
import type { FastifyInstance } from "fastify";
import { InvalidArgumentError } from "@strata/core";
import { NODE_DEFAULTS } from "./defaults";
import { InferenceNode, type InferenceNodeOptions } from "./node";
import type { OutboxOptions } from "./outbox";
import { RequestWatcher, type RequestWatcherOptions } from "./requests";
import { buildServer, type ServerOptions } from "./server";

export interface NodeServerOptions extends InferenceNodeOptions {
  /** TCP port; 0 picks a free one (default {@link NODE_DEFAULTS}.port). */
  port?: number;
  /** Address to listen on (default {@link NODE_DEFAULTS}.host). */
  host?: string;
  /** The HTTP server's limits. */
  server?: ServerOptions;
  /** Watch and fulfil the on-chain requests of this InferenceRequests contract (default: none). */
  requests?: Omit<RequestWatcherOptions, "node" | "signer" | "walrus" | "dataDir">;
  /** How long stopping waits for open requests (default 3 s) and then for the batch in progress (default 5 s). */
  stopGraceMs?: { requests?: number; batch?: number };
}

/** A node listening on its port. */
export interface NodeServer {
  /** `http://<host>:<port>`, with the port it actually listens on. */
  url: string;
  node: InferenceNode;
  /** The request watcher, when `requests` was given. */
  watcher?: RequestWatcher;
  app: FastifyInstance;
  /**
   * Stops serving and closes the node, in bounded time: open requests get a grace period, the batch in progress gets
   * another, then the journal (which holds everything accepted) is closed and the next start finishes the work.
   * Idempotent.
   */
  stop(): Promise<void>;
}

/** Starts an {@link InferenceNode} and its HTTP API; resolves once it listens. */
export async function startNodeServer(options: NodeServerOptions): Promise<NodeServer> {
  const port = options.port ?? NODE_DEFAULTS.port;
  const host = options.host ?? NODE_DEFAULTS.host;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError("port", port, "a TCP port is an integer from 0 (a free one) to 65535");
  }
  const node = await InferenceNode.start(options);
  const app = buildServer(node, options.server);
  let watcher: RequestWatcher | undefined;
  try {
    await app.listen({ port, host });
    if (options.requests) {
      const { signer, walrus, dataDir } = options;
      watcher = (await RequestWatcher.open({ ...options.requests, node, signer, walrus, dataDir })).start();
    }
  } catch (error) {
    await app.close();
    await node.close(0);
    throw error;
  }
  const address = app.server.address();
  const url = `http://${host}:${typeof address === "object" && address ? address.port : port}`;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await watcher?.close();
      await Promise.race([
        app.close(),
        new Promise((resolve) => setTimeout(resolve, options.stopGraceMs?.requests ?? 3_000).unref()),
      ]);
      await node.close(options.stopGraceMs?.batch ?? 5_000);
    })());
  return { url, node, ...(watcher ? { watcher } : {}), app, stop };
}

/** The outbox listeners that write the node's anchoring log (`strata node start` to stderr, the devnet to its log). */
export function anchoringLog(
  log: (line: string) => void,
): Required<Pick<OutboxOptions, "onError" | "onEvent" | "onAnchored">> {
  return {
    onError: (error) => log(`anchoring failed (will retry): ${error.message}`),
    onEvent: (message) => log(message),
    onAnchored: (batch) =>
      log(
        `anchored batch ${batch.root} (${batch.commitments.length} proofs) ` +
          (batch.quiltIds
            ? `quilt${batch.quiltIds.length > 1 ? "s" : ""} ${batch.quiltIds.join(", ")}`
            : `blob ${batch.blobId}`) +
          ` stored until epoch ${batch.endEpoch} tx ${batch.txHash}`,
      ),
  };
}
