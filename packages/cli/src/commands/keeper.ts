/**
 * `strata keeper`: the storage keeper as a long-running service (or one cycle with `--once`), and the pieces
 * `strata node start --keeper` and `strata status` share with it (the clock, the policy flags).
 */
import { resolve } from "node:path";
import { Command } from "commander";
import type { Signer } from "ethers";
import {
  DEFAULT_POLICY,
  Keeper,
  KEEPER_DEFAULTS,
  serveKeeperMetrics,
  type KeeperPolicy,
  type MetricsServer,
} from "@strata/keeper";
import type { NetworkClock } from "@strata/walrus";
import type { Settings } from "../config";
import { resolveSettings } from "../config";
import { positiveInteger, walrusClock } from "../config-walrus";
import { chainOptions, output, type ChainCommandFlags } from "../options";
import { CliError } from "../errors";

/** The policy flags, shared by `strata keeper`, `strata status` and `strata node start --keeper`. */
export interface PolicyFlags {
  modelAhead?: string;
  retention?: string;
  renewWithin?: string;
}

export function policyOptions(command: Command): Command {
  return command
    .option(
      "--model-ahead <E>",
      `keep active model versions at least E epochs ahead (renewed to current + min(53, 2E)); default ${DEFAULT_POLICY.modelAhead}`,
    )
    .option(
      "--retention <R>",
      `keep proof batches R epochs after the epoch they were anchored in; default ${DEFAULT_POLICY.retention}`,
    )
    .option(
      "--renew-within <W>",
      `renew a proof batch when fewer than W epochs are left; default ${DEFAULT_POLICY.renewWithin}`,
    );
}

export function policyOf(flags: PolicyFlags): KeeperPolicy {
  return {
    modelAhead:
      flags.modelAhead !== undefined ? positiveInteger("--model-ahead", flags.modelAhead) : DEFAULT_POLICY.modelAhead,
    retention:
      flags.retention !== undefined ? positiveInteger("--retention", flags.retention) : DEFAULT_POLICY.retention,
    renewWithin:
      flags.renewWithin !== undefined
        ? positiveInteger("--renew-within", flags.renewWithin)
        : DEFAULT_POLICY.renewWithin,
  };
}

/** The clock of the Walrus network the settings name (the local store's is read from its publisher URL). */
export function clockOf(settings: Settings): NetworkClock {
  return walrusClock(settings.walrusConfig);
}

export interface KeeperFlags extends ChainCommandFlags, PolicyFlags {
  dataDir: string;
  dryRun?: boolean;
  once?: boolean;
  interval?: string;
  rate?: string;
  maxRenewalsPerMinute?: string;
  metricsPort?: string;
  watchNode?: string[];
  models?: boolean;
}

export interface KeeperRunOptions {
  settings: Settings;
  signer: Signer;
  dataDir: string;
  policy: KeeperPolicy;
  dryRun?: boolean;
  renewalsPerMinute?: number;
  nodes?: string[];
  models?: boolean;
  log: (line: string) => void;
}

/** A keeper over the settings' chain and Walrus, signing with `signer`. */
export function keeperOf(options: KeeperRunOptions): Keeper {
  return new Keeper({
    client: options.settings.reader(),
    signer: options.signer,
    walrus: options.settings.walrus,
    clock: clockOf(options.settings),
    dataDir: options.dataDir,
    policy: options.policy,
    dryRun: options.dryRun,
    ...(options.renewalsPerMinute !== undefined ? { renewalsPerMinute: options.renewalsPerMinute } : {}),
    ...(options.nodes !== undefined && options.nodes.length > 0 ? { nodes: options.nodes } : {}),
    ...(options.models !== undefined ? { models: options.models } : {}),
    log: options.log,
  });
}

/** Parses a positive number of seconds (decimals allowed: `0.5`). */
export function positiveSeconds(name: string, value: string): number {
  const seconds = /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : Number.NaN;
  if (!(seconds > 0))
    throw new CliError("USAGE", `${name} must be a positive number of seconds, got ${JSON.stringify(value)}`);
  return seconds;
}

function rateOf(flags: KeeperFlags): number | undefined {
  if (flags.rate !== undefined && flags.maxRenewalsPerMinute !== undefined) {
    throw new CliError("USAGE", "give --rate or --max-renewals-per-minute, not both (they are the same limit)");
  }
  if (flags.rate !== undefined) return positiveInteger("--rate", flags.rate);
  if (flags.maxRenewalsPerMinute !== undefined)
    return positiveInteger("--max-renewals-per-minute", flags.maxRenewalsPerMinute);
  return undefined;
}

export function keeperCommand(): Command {
  return policyOptions(
    chainOptions(
      new Command("keeper").description(
        "keep what the registries point at stored on Walrus: renew model versions, their metadata blobs, proof " +
          "batches and single proofs ahead of expiry, by policy, and record the new end epochs on-chain (metadata " +
          "blobs have none: the journal keeps their record)",
      ),
    ),
  )
    .option("--data-dir <dir>", "where the keeper's journal lives", ".strata/keeper")
    .option("--dry-run", "plan only: no store, no transaction")
    .option("--once", "run one cycle and exit (1 when something could not be renewed)")
    .option("--interval <s>", `seconds between cycles (default ${KEEPER_DEFAULTS.intervalSeconds})`)
    .option("--rate <n>", `at most n renewals per minute (default ${KEEPER_DEFAULTS.renewalsPerMinute})`)
    .option("--max-renewals-per-minute <n>", "the same limit as --rate")
    .option(
      "--metrics-port <port>",
      `serve Prometheus metrics on http://127.0.0.1:<port>/metrics (0: a free port; default ${KEEPER_DEFAULTS.metricsPort})`,
    )
    .option(
      "--watch-node <address...>",
      "keep these nodes' proofs, batched and single (default: the signer's, as a node)",
    )
    .option("--no-models", "do not keep model versions and their metadata blobs (proofs only)")
    .action(async (flags: KeeperFlags) => {
      const settings = resolveSettings(flags);
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const keeper = keeperOf({
        settings,
        signer: await settings.signer(0),
        dataDir: resolve(flags.dataDir),
        policy: policyOf(flags),
        dryRun: flags.dryRun === true,
        renewalsPerMinute: rateOf(flags),
        nodes: flags.watchNode,
        models: flags.models,
        log,
      });
      if (flags.once) {
        const report = await keeper.cycle();
        if (flags.json) output(true, report, []);
        if (report.couldNotRenew.length > 0) process.exitCode = 1;
        return;
      }
      const interval = flags.interval !== undefined ? positiveSeconds("--interval", flags.interval) : undefined;
      const metricsPort = flags.metricsPort !== undefined ? Number(flags.metricsPort) : KEEPER_DEFAULTS.metricsPort;
      if (!Number.isSafeInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535) {
        throw new CliError("USAGE", `--metrics-port must be a TCP port (0 picks a free one), got ${flags.metricsPort}`);
      }
      await runKeeper(keeper, Math.round((interval ?? KEEPER_DEFAULTS.intervalSeconds) * 1000), metricsPort, log);
    });
}

/** Runs `keeper` every `intervalMs` with `/metrics` served, until SIGINT/SIGTERM. */
async function runKeeper(keeper: Keeper, intervalMs: number, metricsPort: number, log: (line: string) => void) {
  const metrics: MetricsServer = await serveKeeperMetrics(() => keeper.metrics(), metricsPort);
  log(
    `strata keeper: policy E=${keeper.policy.modelAhead} R=${keeper.policy.retention} W=${keeper.policy.renewWithin}, ` +
      `a cycle every ${intervalMs / 1000} s, metrics on ${metrics.url}/metrics, journal ${keeper.journalPath}`,
  );
  keeper.start(intervalMs);
  const shutdown = (signal: string) => {
    log(`${signal}: finishing the current cycle and stopping (the journal holds what is pending)`);
    setTimeout(() => process.exit(1), 12_000).unref();
    void keeper
      .stop()
      .then(() => metrics.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
}
