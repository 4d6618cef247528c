/** The page's typed calls to the explorer's API (the types are the server's: ../api-types.ts). */
import { StrataError } from "@strata/errors";
import type { ApiErrorBody, ApiRoutes, LiveStreamEvents, VerifyStreamEvents } from "../api-types";

/** The path parameters of a route pattern (`/api/proofs/:commitment` -> `{ commitment: string }`). */
type Params<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? { [K in Name]: string } & Params<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? { [K in Name]: string }
    : Record<never, never>;

/** An API error, with the server's code and message. */
export class ApiError extends StrataError {
  constructor(
    code: string,
    message: string,
    readonly status: number,
  ) {
    super(code, message);
  }
}

/** GETs `route` with its path parameters (and query); resolves with the route's response type. */
export async function get<R extends keyof ApiRoutes>(
  route: R,
  params: Params<R>,
  query: Record<string, string> = {},
): Promise<ApiRoutes[R]> {
  let path: string = route;
  for (const [name, value] of Object.entries(params as Record<string, string>)) {
    path = path.replace(`:${name}`, encodeURIComponent(value));
  }
  const search = new URLSearchParams(query).toString();
  const res = await fetch(search === "" ? path : `${path}?${search}`, { headers: { accept: "application/json" } });
  const body = (await res.json()) as ApiRoutes[R] | ApiErrorBody;
  if (!res.ok) {
    const error = (body as ApiErrorBody).error;
    throw new ApiError(error?.code ?? "HTTP", error?.message ?? `HTTP ${res.status}`, res.status);
  }
  return body as ApiRoutes[R];
}

/** Listens to a typed event stream; returns the function that closes it. */
export function listen<E>(
  url: string,
  handlers: { [K in keyof E]?: (data: E[K]) => void },
  onDrop?: (source: EventSource) => void,
): () => void {
  const source = new EventSource(url);
  for (const name of Object.keys(handlers) as (keyof E & string)[]) {
    source.addEventListener(name, (event) => handlers[name]?.(JSON.parse((event as MessageEvent<string>).data)));
  }
  source.onerror = () => onDrop?.(source);
  return () => source.close();
}

export type VerifyHandlers = { [K in keyof VerifyStreamEvents]?: (data: VerifyStreamEvents[K]) => void };
export type LiveHandlers = { [K in keyof LiveStreamEvents]?: (data: LiveStreamEvents[K]) => void };
