import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";

/** The Walrus Rust test suite's known answer (walrus-core, 10 shards) for "walrus blob id v1 regression test". */
export const KNOWN_BLOB_ID = "RcU82Mwf-CFkv1LaI_2qcpANwpGUuG3TMwnVzZxD2kY";
const KNOWN = KNOWN_BLOB_ID;

/** Inputs every base64url entry point must reject, with the part of the message that says why. */
export const MALFORMED_BLOB_IDS: readonly [string, RegExp][] = [
  ["", /expected 43 characters, got 0/],
  [KNOWN.slice(0, 42), /expected 43 characters, got 42/],
  [`${KNOWN}A`, /expected 43 characters, got 44/],
  [`${KNOWN}=`, /unpadded.*remove the '=' padding/],
  [`${KNOWN.slice(0, 42)}=`, /padding/],
  [KNOWN.replace("-", "+"), /character "\+" is not in the base64url alphabet/],
  [KNOWN.replace("_", "/"), /character "\/" is not in the base64url alphabet/],
  [` ${KNOWN.slice(1)}`, /character " " is not in the base64url alphabet/],
  [`${KNOWN.slice(0, 42)}é`, /character "é"/],
  // The last character carries 4 data bits: "Y" (24) is canonical, "Z" (25) and "b" (27) have stray low bits.
  [`${KNOWN.slice(0, 42)}Z`, /non-canonical/],
  [`${KNOWN.slice(0, 42)}b`, /non-canonical/],
];

/** Tests compute Blob IDs over 10 shards where the behaviour is not shard-specific (1000 costs ~1.5 s each). */
export const TEST_SHARDS = 10;

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => ({ resolved: true as const, value }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) throw new Error(`expected a rejection, got ${String(outcome.value)}`);
  if (!(outcome.error instanceof Error)) throw new Error(`rejected with a non-Error: ${String(outcome.error)}`);
  return outcome.error;
}

/** The error a function throws; fails the test if it returns. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`threw a non-Error: ${String(error)}`, { cause: error });
  }
  throw new Error("expected an exception");
}

/** A fresh temporary directory, removed by `cleanup`. */
export async function tempDir(prefix = "strata-walrus-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface TestHttpServer {
  url: string;
  /** Requests received so far. */
  hits: number;
  close(): Promise<void>;
}

/** A real HTTP server on loopback with the given handler. */
export async function startHttp(
  handler: (req: IncomingMessage, res: ServerResponse, hit: number) => void | Promise<void>,
): Promise<TestHttpServer> {
  const state = { hits: 0 };
  const server: Server = createServer((req, res) => {
    state.hits++;
    Promise.resolve(handler(req, res, state.hits)).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get hits() {
      return state.hits;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Misbehaviour =
  "flip-byte" | "truncate" | "truncate-unannounced" | "503-twice" | "hang" | "stall-body" | "404-twice";

/**
 * A test aggregator in front of a real one (the local store) that misbehaves: flips a byte of the body, cuts it short
 * (with or without having announced its length), answers 503 twice before serving, never answers, stalls mid-body, or
 * answers 404 twice before serving (a cache behind a fresh store).
 */
export async function startMisbehavingAggregator(upstream: string, mode: Misbehaviour): Promise<TestHttpServer> {
  return startHttp(async (req, res, hit) => {
    if (mode === "hang") return;
    if (mode === "503-twice" && hit <= 2) {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify(walrusError(503, "UNAVAILABLE", "BLOB_UNAVAILABLE", "try again")));
      return;
    }
    if (mode === "404-twice" && hit <= 2) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify(walrusError(404, "NOT_FOUND", "BLOB_NOT_FOUND", "not yet")));
      return;
    }
    const upstreamResponse = await fetch(`${upstream}${req.url ?? "/"}`);
    const body = Buffer.from(await upstreamResponse.arrayBuffer());
    if (upstreamResponse.status !== 200) {
      res.writeHead(upstreamResponse.status, { "content-type": "application/json" });
      res.end(body);
      return;
    }
    switch (mode) {
      case "flip-byte": {
        body[Math.floor(body.length / 2)] ^= 0x01;
        res.writeHead(200, { "content-length": body.length });
        res.end(body);
        return;
      }
      case "truncate": {
        res.writeHead(200, { "content-length": body.length });
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
        return;
      }
      case "truncate-unannounced": {
        res.writeHead(200, { "transfer-encoding": "chunked" });
        res.end(body.subarray(0, Math.floor(body.length / 2)));
        return;
      }
      case "stall-body": {
        res.writeHead(200, { "content-length": body.length });
        res.write(body.subarray(0, Math.floor(body.length / 2)));
        return;
      }
      default: {
        res.writeHead(200, { "content-length": body.length });
        res.end(body);
      }
    }
  });
}

export function walrusError(code: number, status: string, reason: string, message: string): object {
  return {
    error: {
      status,
      code,
      message,
      details: [{ "@type": "ErrorInfo", reason, domain: "test", metadata: {} }],
    },
  };
}

/** Deterministic pseudo-random bytes (the blobs of different tests must differ so the memo does not hide work). */
export function pseudoRandomBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
