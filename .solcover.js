/**
 * solidity-coverage (`npm run coverage`): measures our registries in contracts/ only.
 *
 * hardhat-dependency-compiler writes import stubs for the EAS contracts (compiled beside ours for the gas benchmark)
 * into the temporary folder contracts/hardhat-dependency-compiler/ while it compiles; they are not ours to cover.
 */

/**
 * Tests that measure gas compare optimised bytecode with committed figures; under coverage the bytecode is
 * instrumented (and unoptimised), so their numbers mean nothing there. They are left out of the coverage run only: the
 * gas snapshot suite by its title, anything else by putting `@skip-on-coverage` in its title.
 */
const SKIP_ON_COVERAGE = /^Gas snapshot\b|@skip-on-coverage/;

module.exports = {
  // contracts/test/ holds test-only harnesses and consumers (never deployed), not ours to cover either.
  skipFiles: ["hardhat-dependency-compiler", "test"],
  istanbulReporter: ["text", "html", "lcov", "json", "json-summary"],
  // The Hardhat plugin ignores a `mocha` key here; the config it hands the hooks is the live Hardhat config.
  onServerReady: async (config) => {
    config.mocha = { ...config.mocha, grep: SKIP_ON_COVERAGE, invert: true };
  },
};
