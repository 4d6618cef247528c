/**
 * `strata node start` (the inference node) and `strata cache ls | verify | prune` (its model cache).
 */
import { join, resolve } from "node:path";
import { Command } from "commander";
import { buildServer, InferenceNode } from "@strata/node";
import { ModelCache } from "@strata/runtime";
import { DEVNET_NODE_PORT, resolveSettings } from "../config";
import { byteSize, positiveInteger } from "../config-walrus";
import { chainOptions, output, type ChainCommandFlags } from "../options";
import { CliError } from "../errors";

export interface NodeStartFlags extends ChainCommandFlags {
  port: string;
  host: string;
  dataDir: string;
  cacheMaxBytes: string;
  maxModelBytes?: string;
  batchSize: string;
  /** Default 10 MiB (the public publishers' body cap). */
  batchMaxBytes?: string;
  batchAgeMs: string;
  modelOwner?: string;
  /** Where the node's anchoring log lines go (default stderr). */
  log?: (line: string) => void;
}

/** Starts a node in this process; resolves once it listens. Used by `node start` and `devnet`. */
export async function startNode(
  flags: NodeStartFlags,
): Promise<{ url: string; node: InferenceNode; stop: () => Promise<void> }> {
  const settings = resolveSettings(flags);
  const log = flags.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // The node signs with its own key: --key-file/STRATA_KEY_FILE/STRATA_PRIVATE_KEY, or on the devnet Hardhat's #1.
  const signer = await settings.signer(1);
  const node = await InferenceNode.start({
    dataDir: resolve(flags.dataDir),
    signer,
    client: settings.reader(),
    walrus: settings.walrus,
    cacheMaxBytes: byteSize("--cache-max-bytes", flags.cacheMaxBytes),
    ...(flags.maxModelBytes !== undefined ? { maxModelBytes: byteSize("--max-model-bytes", flags.maxModelBytes) } : {}),
    defaultModelOwner: flags.modelOwner,
    batch: {
      maxBatch: positiveInteger("--batch-size", flags.batchSize),
      maxBatchBytes: byteSize("--batch-max-bytes", flags.batchMaxBytes ?? "10MiB"),
      maxAgeMs: positiveInteger("--batch-age-ms", flags.batchAgeMs),
      onError: (error) => log(`anchoring failed (will retry): ${error.message}`),
      onEvent: (message) => log(message),
      onAnchored: (batch) =>
        log(
          `anchored batch ${batch.root} (${batch.commitments.length} proofs) blob ${batch.blobId} tx ${batch.txHash}`,
        ),
    },
  });
  const app = buildServer(node);
  if (!/^[0-9]+$/.test(flags.port) || Number(flags.port) > 65535) {
    throw new CliError("USAGE", `--port must be a TCP port (0 picks a free one), got ${JSON.stringify(flags.port)}`);
  }
  await app.listen({ port: Number(flags.port), host: flags.host });
  const address = app.server.address();
  const url = `http://${flags.host}:${typeof address === "object" && address ? address.port : flags.port}`;
  let stopping: Promise<void> | undefined;
  // Stopping is bounded: the batch in progress gets a grace period, then the journal (which holds everything accepted)
  // is closed and the next start finishes the work.
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.race([app.close(), new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
      await node.close(5_000);
    })());
  return { url, node, stop };
}

export function nodeStartOptions(command: Command): Command {
  return chainOptions(command)
    .option("--port <port>", "HTTP port", String(DEVNET_NODE_PORT))
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--data-dir <dir>", "model cache and outbox directory", ".strata/node")
    .option("--cache-max-bytes <size>", "model cache bound, e.g. 8GiB", "8GiB")
    .option(
      "--max-model-bytes <size>",
      "largest model file to download, checked before fetching (default: the cache bound)",
    )
    .option("--batch-size <n>", "anchor a batch when this many proofs wait", "4096")
    .option("--batch-max-bytes <size>", "seal a batch before its blob exceeds this (the publisher's body cap)", "10MiB")
    .option("--batch-age-ms <ms>", "anchor a batch when its oldest proof is this old", "2000")
    .option("--model-owner <address>", "creator that bare model names in requests refer to");
}

export function nodeCommand(): Command {
  const node = new Command("node").description("run an inference node");
  node.addCommand(
    nodeStartOptions(
      new Command("start").description("start an inference node: resolve models on-chain, run them, anchor proofs"),
    ).action(async (flags: NodeStartFlags) => {
      const started = await startNode(flags);
      process.stderr.write(
        `strata node ${started.node.address} listening on ${started.url}\n` +
          `  POST ${started.url}/v1/infer, GET ${started.url}/v1/proofs/:commitment, GET ${started.url}/v1/health\n`,
      );
      const shutdown = (signal: string) => {
        process.stderr.write(`${signal}: finishing the current batch and stopping\n`);
        // Whatever happens (a hung RPC, a stuck store), the process exits in bounded time; accepted work is journalled.
        setTimeout(() => {
          process.stderr.write(
            `${signal}: stop took longer than 12 s; exiting (the journal holds all accepted work)\n`,
          );
          process.exit(1);
        }, 12_000).unref();
        process.once(signal, () => process.exit(1)); // a second signal: exit now
        started.stop().then(
          () => process.exit(0),
          (error: Error) => {
            process.stderr.write(`stop failed: ${error.message}\n`);
            process.exit(1);
          },
        );
      };
      process.once("SIGINT", () => shutdown("SIGINT"));
      process.once("SIGTERM", () => shutdown("SIGTERM"));
    }),
  );
  return node;
}

export function cacheCommand(): Command {
  const cache = new Command("cache").description("inspect, verify and prune a node's model cache");
  const open = (flags: { dataDir: string }) =>
    new ModelCache(join(resolve(flags.dataDir), "models"), {
      readToFile: () =>
        Promise.reject(new CliError("INTERNAL", "the cache commands never download: this is a bug in strata")),
    });
  const withDir = (command: Command) =>
    command.option("--data-dir <dir>", "the node's data directory", ".strata/node").option("--json", "print JSON");

  cache.addCommand(
    withDir(new Command("ls").description("list cached models, most recently used first")).action(
      async (flags: { dataDir: string; json?: boolean }) => {
        const entries = await open(flags).list();
        const total = entries.reduce((sum, e) => sum + e.size, 0);
        output(flags.json, entries, [
          ...entries.map(
            (e) => `${e.blobId}  ${String(e.size).padStart(12)} bytes  used ${new Date(e.lastUsed).toISOString()}`,
          ),
          `${entries.length} model(s), ${total} bytes`,
        ]);
      },
    ),
  );
  cache.addCommand(
    withDir(
      new Command("verify").description("re-hash every cached model; remove the ones that no longer match"),
    ).action(async (flags: { dataDir: string; json?: boolean }) => {
      const { ok, corrupt } = await open(flags).verify();
      output(flags.json, { ok, corrupt }, [
        ...corrupt.map((e) => `CORRUPT ${e.blobId}: sha256 ${e.actual}, expected ${e.sha256} (removed)`),
        `${ok.length} ok, ${corrupt.length} corrupt`,
      ]);
      if (corrupt.length > 0) process.exitCode = 1;
    }),
  );
  cache.addCommand(
    withDir(new Command("prune").description("evict least-recently-used models down to a size"))
      .option("--max-bytes <size>", "keep at most this much, e.g. 2GiB", "0")
      .action(async (flags: { dataDir: string; json?: boolean; maxBytes: string }) => {
        const evicted = await open(flags).prune(byteSize("--max-bytes", flags.maxBytes));
        output(flags.json, evicted, [
          ...evicted.map((e) => `evicted ${e.blobId} (${e.size} bytes)`),
          `${evicted.length} evicted`,
        ]);
      }),
  );
  return cache;
}
