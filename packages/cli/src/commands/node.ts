/**
 * `strata node start` (the inference node) and `strata cache ls | verify | prune` (its model cache).
 */
import { join, resolve } from "node:path";
import { Command } from "commander";
import type { Signer } from "ethers";
import {
  anchoringLog,
  NODE_DEFAULTS,
  NODE_START_DEFAULTS,
  REQUEST_WATCHER_DEFAULTS,
  serialSigner,
  startNodeServer,
  type NodeServer,
} from "@strata/node";
import { KEEPER_DEFAULTS, serveKeeperMetrics, type Keeper } from "@strata/keeper";
import { ModelCache } from "@strata/runtime";
import { resolveSettings } from "../config";
import { byteSize, positiveInteger, walrusClock } from "../config-walrus";
import { chainOptions, output, type ChainCommandFlags } from "../options";
import { CliError } from "../errors";
import { keeperOf, policyOf, policyOptions, positiveSeconds } from "./keeper";

export interface NodeStartFlags extends ChainCommandFlags {
  port: string;
  host: string;
  dataDir: string;
  cacheMaxBytes: string;
  maxModelBytes?: string;
  batchSize: string;
  /** The publisher's body cap, default 10 MiB (the public publishers'): the largest quilt the node stores. */
  batchMaxBytes?: string;
  batchAgeMs: string;
  modelOwner?: string;
  /** Watch and fulfil the deployment's on-chain requests (`--no-requests`: false). Default true. */
  requests?: boolean;
  /** Confirmations before a request is picked up. */
  confirmations?: string;
  /** Warn about served model versions whose storage ends within this many epochs. */
  leaseWarnEpochs?: string;
  /** Where the node's anchoring log lines go (default stderr). */
  log?: (line: string) => void;
  /** Run the storage keeper in this process, on the node's key (`--keeper`). */
  keeper?: boolean;
  keeperInterval?: string;
  keeperMetricsPort?: string;
  modelAhead?: string;
  retention?: string;
  renewWithin?: string;
}

/**
 * Starts the storage keeper beside a started node, in its process and on its key (`signer`, the node's: its
 * transactions join the node's one queue, so anchoring and renewals never read the same nonce): it keeps the node's own
 * proof batches and the model versions the key owns (renewing others' on Walrus, reported as not recorded on-chain).
 * Its journal lives in the node's data directory.
 */
export async function startNodeKeeper(
  flags: NodeStartFlags,
  signer: Signer,
  log: (line: string) => void,
): Promise<Keeper> {
  const settings = resolveSettings(flags);
  const keeper = keeperOf({
    settings,
    signer: serialSigner(signer),
    dataDir: join(resolve(flags.dataDir), "keeper"),
    policy: policyOf(flags),
    log,
  });
  const interval =
    flags.keeperInterval !== undefined
      ? positiveSeconds("--keeper-interval", flags.keeperInterval)
      : KEEPER_DEFAULTS.intervalSeconds;
  keeper.start(Math.round(interval * 1000));
  return keeper;
}

/** Parses `strata node start`'s flags and starts the node in this process; resolves once it listens. */
export async function startNode(flags: NodeStartFlags, nodeSigner?: Signer): Promise<NodeServer> {
  const settings = resolveSettings(flags);
  const log = flags.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (!/^[0-9]+$/.test(flags.port) || Number(flags.port) > 65535) {
    throw new CliError("USAGE", `--port must be a TCP port (0 picks a free one), got ${JSON.stringify(flags.port)}`);
  }
  const cacheMaxBytes = byteSize("--cache-max-bytes", flags.cacheMaxBytes);
  const maxModelBytes =
    flags.maxModelBytes !== undefined ? byteSize("--max-model-bytes", flags.maxModelBytes) : undefined;
  const maxBatch = positiveInteger("--batch-size", flags.batchSize);
  const maxBatchBytes =
    flags.batchMaxBytes !== undefined
      ? byteSize("--batch-max-bytes", flags.batchMaxBytes)
      : NODE_DEFAULTS.batchMaxBytes;
  const maxAgeMs = positiveInteger("--batch-age-ms", flags.batchAgeMs);
  const confirmations =
    flags.confirmations !== undefined ? positiveInteger("--confirmations", flags.confirmations) : undefined;
  const leaseWarnEpochs = nonNegativeInteger("--lease-warn-epochs", flags.leaseWarnEpochs);
  // The node signs with its own key: --key-file/STRATA_KEY_FILE/STRATA_PRIVATE_KEY, or on the devnet Hardhat's #1.
  const signer = nodeSigner ?? (await settings.signer(1));
  // It fulfils the deployment's on-chain requests unless told not to (a deployment without InferenceRequests has none).
  const deployment = settings.deployment();
  const requestsAddress = flags.requests === false ? undefined : deployment.contracts.InferenceRequests;
  return startNodeServer({
    port: Number(flags.port),
    host: flags.host,
    dataDir: resolve(flags.dataDir),
    signer,
    client: settings.reader(),
    walrus: settings.walrus,
    // The network's epoch clock (the local store's own, or the network's schedule) for the models' storage leases.
    clock: walrusClock(settings.walrusConfig),
    leaseWarnEpochs,
    log,
    cacheMaxBytes,
    ...(maxModelBytes !== undefined ? { maxModelBytes } : {}),
    defaultModelOwner: flags.modelOwner,
    batch: { maxBatch, maxBatchBytes, maxAgeMs, ...anchoringLog(log) },
    ...(requestsAddress !== undefined
      ? {
          requests: {
            requests: requestsAddress,
            fromBlock: deployment.block,
            ...(confirmations !== undefined ? { confirmations } : {}),
            log: (text: string) => log(`requests: ${text}`),
          },
        }
      : {}),
  });
}

export function nodeStartOptions(command: Command): Command {
  const defaults = Object.fromEntries(NODE_START_DEFAULTS.map((d) => [d.option, d.flag]));
  return policyOptions(chainOptions(command))
    .option("--keeper", "run the storage keeper in the node's process, on the node's key (see strata keeper)")
    .option("--keeper-interval <s>", `seconds between keeper cycles (default ${KEEPER_DEFAULTS.intervalSeconds})`)
    .option("--keeper-metrics-port <port>", "serve the keeper's Prometheus metrics on this port too")
    .option("--port <port>", "HTTP port", defaults["--port"])
    .option("--host <host>", "address to listen on", defaults["--host"])
    .option("--data-dir <dir>", "model cache and outbox directory", defaults["--data-dir"])
    .option("--cache-max-bytes <size>", "model cache bound, e.g. 8GiB", defaults["--cache-max-bytes"])
    .option(
      "--max-model-bytes <size>",
      "largest model file to download, checked before fetching (default: the cache bound)",
    )
    .option("--batch-size <n>", "anchor a batch when this many proofs wait", defaults["--batch-size"])
    .option(
      "--batch-max-bytes <size>",
      "the publisher's body cap: no quilt (or v1 batch blob) the node stores exceeds it, and a proof that cannot fit " +
        "in a quilt alone is refused (413)",
      defaults["--batch-max-bytes"],
    )
    .option("--batch-age-ms <ms>", "anchor a batch when its oldest proof is this old", defaults["--batch-age-ms"])
    .option("--model-owner <address>", "creator that bare model names in requests refer to")
    .option("--no-requests", "do not watch and fulfil the deployment's on-chain InferenceRequests")
    .option(
      "--confirmations <n>",
      `confirmations before an on-chain request is picked up (default ${REQUEST_WATCHER_DEFAULTS.confirmations})`,
    )
    .option(
      "--lease-warn-epochs <n>",
      "warn (in /v1/health and the log, once per epoch) about served model versions whose Walrus storage ends " +
        "within this many epochs; an expired version is refused (410 MODEL_EXPIRED)",
      String(NODE_DEFAULTS.leaseWarnEpochs),
    );
}

function nonNegativeInteger(flag: string, value: string | undefined): number {
  if (value === undefined) return NODE_DEFAULTS.leaseWarnEpochs;
  if (!/^(0|[1-9][0-9]*)$/.test(value)) {
    throw new CliError("USAGE", `${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export function nodeCommand(): Command {
  const node = new Command("node").description("run an inference node");
  node.addCommand(
    nodeStartOptions(
      new Command("start").description("start an inference node: resolve models on-chain, run them, anchor proofs"),
    ).action(async (flags: NodeStartFlags) => {
      // One signer object for the node and its keeper: they share its transaction queue.
      const signer = await resolveSettings(flags).signer(1);
      const started = await startNode(flags, signer);
      process.stderr.write(
        `strata node ${started.node.address} listening on ${started.url}\n` +
          `  POST ${started.url}/v1/infer, GET ${started.url}/v1/proofs/:commitment, GET ${started.url}/v1/health\n`,
      );
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const keeper = flags.keeper ? await startNodeKeeper(flags, signer, log) : undefined;
      const keeperMetrics =
        keeper && flags.keeperMetricsPort !== undefined
          ? await serveKeeperMetrics(() => keeper.metrics(), Number(flags.keeperMetricsPort))
          : undefined;
      if (keeperMetrics) log(`strata keeper metrics on ${keeperMetrics.url}/metrics`);
      const shutdown = (signal: string) => {
        process.stderr.write(`${signal}: finishing the current batch and stopping\n`);
        void keeper?.stop();
        void keeperMetrics?.close();
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
