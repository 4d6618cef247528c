/**
 * @strata/devkit — local environments for the CLI's devnet and demo, scripts, tests and benches: a `hardhat node` or
 * anvil process, the local Walrus store, deploy-and-admit, the devnet, test fixtures, and a typed client of the
 * inference node's HTTP API. It depends on contracts, walrus, core, runtime and node; never on the CLI or the verifier.
 */
export * from "./errors";
export * from "./chain";
export * from "./anvil";
export * from "./constants";
export * from "./environment";
export * from "./devnet";
export * from "./fixtures";
export * from "./node-client";
