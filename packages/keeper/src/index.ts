/**
 * `@strata/keeper`: keeps what the registries point at stored on Walrus — renews model versions and proof batches
 * ahead of expiry by policy, through the publisher, and records the new end epochs on-chain.
 */
export * from "./errors";
export * from "./policy";
export * from "./inventory";
export { KeeperJournal, type JournalEntry, type RenewalOutcome, type RenewalRecord } from "./journal";
export {
  Keeper,
  KEEPER_DEFAULTS,
  METADATA_NOT_ON_CHAIN,
  pendingRenewals,
  readKeeperRecords,
  type CycleReport,
  type KeeperOptions,
  type Lapsed,
  type Learned,
  type Planned,
  type Renewed,
  type Unrenewed,
} from "./keeper";
export { serveKeeperMetrics, type MetricsServer } from "./metrics";
export * from "./status";
