/** `/metrics` of the keeper, served as the node serves its own: fastify, Prometheus text format 0.0.4. */
import Fastify from "fastify";

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `metrics()` on `GET /metrics` at `host:port` (port 0 picks a free one). */
export async function serveKeeperMetrics(
  metrics: () => string,
  port: number,
  host = "127.0.0.1",
): Promise<MetricsServer> {
  const app = Fastify({ logger: false });
  app.get("/metrics", async (_request, reply) => reply.type("text/plain; version=0.0.4").send(metrics()));
  const address = await app.listen({ port, host });
  return { url: address, close: () => app.close() };
}
