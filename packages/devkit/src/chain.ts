/**
 * A `hardhat node` child process on a loopback port: started, awaited until its JSON-RPC answers, and stopped with
 * every process it spawned. Used by the devnet (`strata devnet`, `strata demo`), `npm run test:fork`
 * (scripts/test-fork.ts), the package tests and any script that needs a throwaway local chain.
 *
 *   const node = await startHardhatNode();
 *   try {
 *     const provider = new JsonRpcProvider(node.url, node.chainId, { staticNetwork: true });
 *     ...
 *   } finally {
 *     await node.stop();
 *   }
 *
 * The node listens on 127.0.0.1 only. It runs in a process group of its own (npx, its shell and the node process), so
 * `stop()` ends all of them; the group is also killed when this process exits normally. A caller that wants the node
 * gone on SIGINT or SIGTERM must catch the signal and call `stop()` (a library should not change how its host process
 * reacts to signals).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { HardhatNodeError } from "./errors";

export { HardhatNodeError };

/** The only address the node binds to. */
export const HARDHAT_NODE_HOSTNAME = "127.0.0.1";

/** Options of {@link startHardhatNode}. */
export interface StartHardhatNodeOptions {
  /** The port to listen on. Omitted: a free port is picked (and another one tried if it is taken meanwhile). */
  port?: number;
  /** The Hardhat project whose hardhat.config.ts the node loads. Default: the repository root. */
  cwd?: string;
  /** How long to wait for `eth_chainId` to answer, in milliseconds. Default: 60,000. */
  startTimeoutMs?: number;
  /** Called with every chunk the node writes to stdout or stderr (the node logs each JSON-RPC call). */
  onOutput?: (chunk: string) => void;
  /** The chain id of the node's network. Default 31337 (set through STRATA_HARDHAT_CHAIN_ID, see hardhat.config.ts). */
  chainId?: number;
}

/** The program a chain node runs as: `npx hardhat node ...`, or anvil (see anvil.ts). */
export interface ChainProgram {
  /** For messages: "hardhat node", "anvil". */
  name: string;
  command: string;
  args(port: number): string[];
  env?: NodeJS.ProcessEnv;
}

/** A running `hardhat node`. */
export interface HardhatNode {
  /** The JSON-RPC URL: `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The chain id the node answered `eth_chainId` with (31337 for the Hardhat network). */
  readonly chainId: number;
  /** The process id of the child, which is also its process group id. */
  readonly pid: number;
  /** The last 64 KiB the node wrote to stdout and stderr. */
  output(): string;
  /** Ends the node and its process group (SIGTERM, then SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
}

const REPOSITORY_ROOT = join(__dirname, "..", "..", "..");
const OUTPUT_LIMIT = 64 * 1024;
const POLL_INTERVAL_MS = 200;
const STOP_GRACE_MS = 5_000;
const PORT_ATTEMPTS = 3;

/** A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, HARDHAT_NODE_HOSTNAME, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() =>
        port > 0
          ? resolve(port)
          : reject(
              new HardhatNodeError(
                `the OS gave no free TCP port on ${HARDHAT_NODE_HOSTNAME}: check the loopback interface`,
                "",
              ),
            ),
      );
    });
  });
}

/** Whether `port` on 127.0.0.1 can be bound now. */
async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, HARDHAT_NODE_HOSTNAME, () => server.close(() => resolve(true)));
  });
}

/** The chain id `url` answers `eth_chainId` with, or undefined while it does not answer. */
async function chainIdAt(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { result?: unknown };
    return typeof body.result === "string" ? Number(BigInt(body.result)) : undefined;
  } catch {
    return undefined;
  }
}

/** `env` without FORCE_COLOR, which turns colors on whatever its value (picocolors), over NO_COLOR. */
function withoutForcedColor(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { FORCE_COLOR: _forced, ...rest } = env;
  return rest;
}

/** Sends `signal` to the process group of `child` (npx, its shell and hardhat); false if it is gone. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `npx hardhat node --hostname 127.0.0.1 --port <port>` and resolves once its JSON-RPC answers `eth_chainId`.
 * Rejects with a {@link HardhatNodeError} carrying the node's output if it exits or does not answer within
 * `startTimeoutMs`; the child is killed in that case.
 */
export async function startHardhatNode(options: StartHardhatNodeOptions = {}): Promise<HardhatNode> {
  return startChainNode(
    {
      name: "hardhat node",
      command: "npx",
      args: (port) => ["hardhat", "node", "--hostname", HARDHAT_NODE_HOSTNAME, "--port", String(port)],
      env: options.chainId === undefined ? {} : { STRATA_HARDHAT_CHAIN_ID: String(options.chainId) },
    },
    options,
  );
}

/** Starts `program` on a free (or the given) loopback port; resolves once it answers `eth_chainId`. */
export async function startChainNode(
  program: ChainProgram,
  options: StartHardhatNodeOptions = {},
): Promise<HardhatNode> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await findFreePort());
    try {
      return await startOnce(program, port, options);
    } catch (error) {
      // A picked port can be taken between the check and the node's bind: try another one.
      const portTaken = error instanceof HardhatNodeError && /EADDRINUSE|port \d+ is in use/.test(error.message);
      if (options.port !== undefined || !portTaken || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

async function startOnce(program: ChainProgram, port: number, options: StartHardhatNodeOptions): Promise<HardhatNode> {
  const url = `http://${HARDHAT_NODE_HOSTNAME}:${port}`;
  const { name } = program;
  if (!(await isPortFree(port))) {
    throw new HardhatNodeError(`Cannot start ${name}: port ${port} is in use on ${HARDHAT_NODE_HOSTNAME}`, "");
  }
  const child = spawn(program.command, program.args(port), {
    cwd: options.cwd ?? REPOSITORY_ROOT,
    detached: true, // its own process group, so that stop() reaches npx's children too
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...withoutForcedColor(process.env), NO_COLOR: "1", ...program.env }, // plain text in output() and errors
  });
  let output = "";
  const record = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    output = (output + text).slice(-OUTPUT_LIMIT);
    options.onOutput?.(text);
  };
  child.stdout!.on("data", record);
  child.stderr!.on("data", record);

  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
    child.once("error", (error) => {
      exited = `error ${error.message}`;
      resolve();
    });
  });
  const killOnExit = () => signalGroup(child, "SIGKILL");
  process.once("exit", killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener("exit", killOnExit);
      if (exited === undefined && signalGroup(child, "SIGTERM")) {
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)));
        await Promise.race([exit, grace]);
        clearTimeout(timer);
      }
      // npx may exit before the hardhat process it started: make sure nothing of the group is left.
      signalGroup(child, "SIGKILL");
    })();
    return stopping;
  };

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new HardhatNodeError(`${name} on port ${port} exited (${exited}) before it answered eth_chainId`, output);
    }
    const chainId = await chainIdAt(url);
    // Answered by our child (the port was free before it started, and it is still running).
    if (chainId !== undefined && exited === undefined) {
      return { url, port, chainId, pid: child.pid!, output: () => output, stop };
    }
    if (Date.now() >= deadline) {
      await stop();
      throw new HardhatNodeError(`${name} at ${url} did not answer eth_chainId within ${timeoutMs} ms`, output);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}
