import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A JSON-RPC error an RPC answers for a refused `eth_getLogs` range. */
export interface RefusalStyle {
  name: string;
  code: number;
  /** The message for a refused query [from, to] with a cap of `cap` blocks. */
  message(cap: number, from: number, to: number): string;
  /** Whether the message states the cap (so the client should use it at once, not halve). */
  statesLimit: boolean;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The styles of public RPCs (messages as they answer them), each refusing ranges above `cap` blocks. */
export const REFUSAL_STYLES: readonly RefusalStyle[] = [
  {
    name: "Infura (-32005, more than 10000 results, suggested range)",
    code: -32005,
    message: (cap, from) =>
      `query returned more than 10000 results. Try with this block range [${hex(from)}, ${hex(from + cap - 1)}].`,
    statesLimit: true,
  },
  {
    name: "Alchemy (-32602, log response size exceeded, suggested range)",
    code: -32602,
    message: (cap, from) =>
      "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on " +
      "the response size, or you can request any block range with a cap of 10K logs in the response. Based on your " +
      `parameters, this block range should work: [${hex(from)}, ${hex(from + cap - 1)}]`,
    statesLimit: true,
  },
  {
    name: "Alchemy free tier (-32600, up to a N block range)",
    code: -32600,
    message: (cap) => `Under the Free tier plan, you can make eth_getLogs requests with up to a ${cap} block range.`,
    statesLimit: true,
  },
  {
    name: "QuickNode (-32614, limited to a N blocks range)",
    code: -32614,
    message: (cap) => `eth_getLogs is limited to a ${cap.toLocaleString("en-US")} blocks range`,
    statesLimit: true,
  },
  {
    name: "BSC/Polygon geth (-32000, exceed maximum block range: N)",
    code: -32000,
    message: (cap) => `exceed maximum block range: ${cap}`,
    statesLimit: true,
  },
  {
    name: "Erigon (-32000, query exceeds max block range N)",
    code: -32000,
    message: (cap) => `query exceeds max block range ${cap}`,
    statesLimit: true,
  },
  {
    name: "Avalanche (-32000, maximum is set to N)",
    code: -32000,
    message: (cap, from, to) => `requested too many blocks from ${from} to ${to}, maximum is set to ${cap}`,
    statesLimit: true,
  },
  {
    name: "Ankr (-32600, block range is too wide)",
    code: -32600,
    message: () => "block range is too wide",
    statesLimit: false,
  },
  {
    name: "bare -32005 limit exceeded",
    code: -32005,
    message: () => "limit exceeded",
    statesLimit: false,
  },
  {
    name: "Infura without a suggestion (-32005, more than 10000 results)",
    code: -32005,
    message: () => "query returned more than 10000 results",
    statesLimit: false,
  },
];

/** Where the proxy forwards: an EIP-1193 provider (the in-process Hardhat network) or a JSON-RPC URL. */
export type Upstream = { request(args: { method: string; params?: unknown[] }): Promise<unknown> } | string;

interface RpcRequest {
  jsonrpc: "2.0";
  id: number | string | null;
  method: string;
  params?: unknown[];
}

/** A JSON-RPC proxy on loopback that refuses `eth_getLogs` ranges above its cap, in one RPC's style. */
export interface RpcProxy {
  url: string;
  /** Blocks per `eth_getLogs` the proxy serves; `Infinity` serves every range. */
  cap: number;
  style: RefusalStyle;
  /** The `eth_getLogs` ranges asked, served or refused. */
  readonly ranges: { from: number; to: number; refused: boolean }[];
  close(): Promise<void>;
}

export async function startRpcProxy(upstream: Upstream, cap: number, style: RefusalStyle): Promise<RpcProxy> {
  const forward = async (request: RpcRequest): Promise<unknown> => {
    if (typeof upstream !== "string") {
      try {
        return { jsonrpc: "2.0", id: request.id, result: await upstream.request(request) };
      } catch (error) {
        const e = error as { code?: number; message?: string; data?: unknown };
        return { jsonrpc: "2.0", id: request.id, error: { code: e.code ?? -32603, message: e.message, data: e.data } };
      }
    }
    const response = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
    });
    return response.json();
  };
  const blockOf = async (tag: unknown): Promise<number> => {
    if (typeof tag === "string" && /^0x[0-9a-f]+$/i.test(tag)) return Number.parseInt(tag, 16);
    if (tag === "earliest") return 0;
    const latest = (await forward({ jsonrpc: "2.0", id: 0, method: "eth_blockNumber", params: [] })) as {
      result: string;
    };
    return Number.parseInt(latest.result, 16);
  };
  const handle = async (request: RpcRequest): Promise<unknown> => {
    if (request.method === "eth_getLogs") {
      const filter = (request.params?.[0] ?? {}) as { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown };
      if (filter.blockHash === undefined) {
        const from = await blockOf(filter.fromBlock ?? "latest");
        const to = await blockOf(filter.toBlock ?? "latest");
        const refused = to - from + 1 > proxy.cap;
        proxy.ranges.push({ from, to, refused });
        if (refused) {
          return {
            jsonrpc: "2.0",
            id: request.id,
            error: { code: proxy.style.code, message: proxy.style.message(proxy.cap, from, to) },
          };
        }
      }
    }
    return forward(request);
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as RpcRequest | RpcRequest[];
        const answer = Array.isArray(body) ? await Promise.all(body.map(handle)) : await handle(body);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(answer));
      })().catch((error: unknown) => {
        res.writeHead(500);
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: RpcProxy = {
    url: `http://127.0.0.1:${port}`,
    cap,
    style,
    ranges: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
