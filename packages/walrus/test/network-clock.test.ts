/** The network clock: the local store's (over HTTP, moved by advances) and schedule clocks (mainnet's, learnt). */
import { expect } from "chai";
import {
  advanceLocalEpochs,
  describeEpoch,
  epochAt,
  epochStartDate,
  EpochUnknownError,
  localNetworkClock,
  networkClockFor,
  scheduleClock,
  startLocalWalrus,
  WALRUS_MAINNET_EPOCHS,
  WALRUS_TESTNET,
  WalrusClient,
  WalrusHttpError,
  type EpochNow,
} from "../src";
import { pseudoRandomBytes, rejection, tempDir, TEST_SHARDS } from "./helpers";

const DAY = 24 * 60 * 60 * 1000;

describe("Walrus network clock", function () {
  it("reads the local store's epoch over HTTP and follows its advances, with dates moving a whole epoch each", async function () {
    const { dir, cleanup } = await tempDir();
    const server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS, epochMs: DAY });
    const client = new WalrusClient({ publisherUrl: server.url, aggregatorUrls: [server.url], shards: TEST_SHARDS });
    try {
      const clock = localNetworkClock(server.url);
      const before = await clock.now();
      expect(before.epoch).to.equal(server.currentEpoch());
      expect(before.epochMs).to.equal(DAY);
      expect(before.networkMs - before.epochStartMs).to.be.within(0, DAY);
      const stored = await client.store(pseudoRandomBytes(64, 3), { epochs: 3 });
      expect(stored.endEpoch).to.equal(before.epoch + 3);
      // The end epoch starts three days after the current epoch started, whatever the advances.
      const endDate = epochStartDate(before, stored.endEpoch).getTime();
      expect(endDate - (before.epochStartMs - (before.networkMs - before.wallMs))).to.equal(3 * DAY);

      await advanceLocalEpochs(server.url, 2);
      const after = await clock.now();
      expect(after.epoch).to.equal(before.epoch + 2);
      expect(after.networkMs - after.wallMs).to.equal(2 * DAY);
      // The same end epoch is one day away now, on the wall clock as the user sees it.
      expect(epochStartDate(after, stored.endEpoch).getTime() - after.wallMs).to.be.within(0, DAY);
      expect(epochAt(after, after.networkMs)).to.equal(after.epoch);
      expect(epochAt(after, after.epochStartMs - 1)).to.equal(after.epoch - 1);
    } finally {
      await server.close();
      await cleanup();
    }
  });

  it("networkClockFor gives the local store's clock for a config without a schedule", async function () {
    const { dir, cleanup } = await tempDir();
    const server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
    try {
      const clock = networkClockFor({
        name: "local",
        publisherUrl: server.url,
        aggregatorUrls: [server.url],
        shards: 10,
      });
      expect((await clock.now()).epoch).to.equal(server.currentEpoch());
    } finally {
      await server.close();
      await cleanup();
    }
  });

  it("refuses a clock reading from a server that is not a local store, naming the URL", async function () {
    const { dir, cleanup } = await tempDir();
    const server = await startLocalWalrus({ dir, port: 0, shards: TEST_SHARDS });
    try {
      const error = await rejection(localNetworkClock(`${server.url}/nowhere`).now());
      expect(error).to.be.instanceOf(WalrusHttpError);
      expect(error.message).to.contain("/nowhere/local/clock");
    } finally {
      await server.close();
      await cleanup();
    }
  });

  it("counts mainnet epochs from epoch 1 at 2025-03-25 15:00:24.408 UTC, 14 days each", async function () {
    const at = Date.UTC(2026, 11, 1, 12, 0, 0);
    const now = await scheduleClock("mainnet", WALRUS_MAINNET_EPOCHS, () => at).now();
    // 615.9 days after the start of epoch 1: 43 whole epochs have passed (602 days), so epoch 44 runs.
    expect(now.epoch).to.equal(44);
    expect(new Date(now.epochStartMs).toISOString()).to.equal("2026-11-17T15:00:24.408Z");
    expect(describeEpoch(now, 45)).to.equal("epoch 45 (about 2026-12-01 15:00 UTC)");
  });

  it("a testnet clock fails with EpochUnknownError until it learns the epoch from a store answer", async function () {
    let wall = 1_000_000;
    const clock = scheduleClock("testnet", WALRUS_TESTNET.epochs ?? { epochMs: DAY }, () => wall);
    const unknown = await rejection(clock.now());
    expect(unknown).to.be.instanceOf(EpochUnknownError);
    expect(unknown.message).to.contain("testnet").and.contain("epochs.reference");
    clock.learn(120, wall);
    expect((await clock.now()).epoch).to.equal(120);
    wall += DAY + 1;
    const later: EpochNow = await clock.now();
    expect(later.epoch).to.equal(121);
    clock.learn(5, wall); // a reference once known is kept
    expect((await clock.now()).epoch).to.equal(121);
  });
});
