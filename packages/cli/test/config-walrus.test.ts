import { expect } from "chai";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCAL_WALRUS, LocalNetworkClock, WALRUS_TESTNET } from "@strata/walrus";
import { byteSize, resolveWalrusConfig, walrusClock } from "../src/config-walrus";

describe("strata CLI: Walrus configuration", function () {
  it("defaults to the devnet's local store with 1000 shards and no publish cap", function () {
    const config = resolveWalrusConfig({}, {});
    expect(config).to.deep.include({
      publisherUrl: LOCAL_WALRUS.publisherUrl,
      aggregatorUrls: [...LOCAL_WALRUS.aggregatorUrls],
      shards: 1000,
    });
    expect(config.maxPublishBytes).to.equal(undefined);
  });

  it("uses testnet's URLs and its 10 MiB cap when asked, by flag or environment", function () {
    for (const config of [
      resolveWalrusConfig({ network: "testnet" }, {}),
      resolveWalrusConfig({}, { STRATA_WALRUS_NETWORK: "testnet" }),
    ]) {
      expect(config.publisherUrl).to.equal(WALRUS_TESTNET.publisherUrl);
      expect(config.aggregatorUrls).to.deep.equal([...WALRUS_TESTNET.aggregatorUrls]);
      expect(config.maxPublishBytes).to.equal(10 * 1024 * 1024);
    }
  });

  it("takes flags over environment over the network, and drops the cap for another publisher", function () {
    const env = {
      STRATA_WALRUS_NETWORK: "testnet",
      STRATA_WALRUS_PUBLISHER: "http://env-publisher:1",
      STRATA_WALRUS_AGGREGATORS: "http://a:1, http://b:2,",
      STRATA_WALRUS_SHARDS: "10",
    };
    const fromEnv = resolveWalrusConfig({}, env);
    expect(fromEnv).to.deep.include({
      publisherUrl: "http://env-publisher:1",
      aggregatorUrls: ["http://a:1", "http://b:2"],
      shards: 10,
    });
    expect(fromEnv.maxPublishBytes).to.equal(undefined);
    const fromFlags = resolveWalrusConfig(
      { publisher: "http://flag:1", aggregator: ["http://c:3,http://d:4", "http://e:5"], shards: "7", timeout: "500" },
      env,
    );
    expect(fromFlags).to.deep.include({
      publisherUrl: "http://flag:1",
      aggregatorUrls: ["http://c:3", "http://d:4", "http://e:5"],
      shards: 7,
      timeoutMs: 500,
    });
  });

  it("rejects an unknown network, a bad number and a bad size with a message naming them", function () {
    expect(() => resolveWalrusConfig({ network: "mainnet" }, {})).to.throw(/Unknown Walrus network "mainnet"/);
    expect(() => resolveWalrusConfig({ shards: "0" }, {})).to.throw(/--shards must be a positive integer/);
    expect(() => resolveWalrusConfig({ timeout: "1s" }, {})).to.throw(/--timeout must be a positive integer/);
    expect(byteSize("--max-blob-size", "512MiB")).to.equal(512 * 1024 * 1024);
    expect(byteSize("--max-blob-size", "1GiB")).to.equal(1024 ** 3);
    expect(byteSize("--max-blob-size", "1000")).to.equal(1000);
    expect(() => byteSize("--max-blob-size", "1 GB")).to.throw(/--max-blob-size must be a size/);
  });

  describe("publisher bearer token", function () {
    const token = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJjbGkifQ.c2ln";

    it("takes the token from the environment, a token file flag or a token file variable", async function () {
      const dir = await mkdtemp(join(tmpdir(), "strata-token-"));
      const file = join(dir, "publisher.jwt");
      await writeFile(file, `${token}\n`, { mode: 0o600 });
      expect(resolveWalrusConfig({}, {}).publisherToken).to.equal(undefined);
      expect(resolveWalrusConfig({}, { STRATA_WALRUS_PUBLISHER_TOKEN: token }).publisherToken).to.equal(token);
      expect(resolveWalrusConfig({ publisherTokenFile: file }, {}).publisherToken).to.equal(token);
      expect(resolveWalrusConfig({}, { STRATA_WALRUS_PUBLISHER_TOKEN_FILE: file }).publisherToken).to.equal(token);
      // The flag's file wins over the environment.
      const other = join(dir, "other.jwt");
      await writeFile(other, "b3RoZXI.dG9rZW4");
      expect(
        resolveWalrusConfig({ publisherTokenFile: other }, { STRATA_WALRUS_PUBLISHER_TOKEN: token }).publisherToken,
      ).to.equal("b3RoZXI.dG9rZW4");
    });

    it("refuses a missing, empty or malformed token without showing it", async function () {
      const dir = await mkdtemp(join(tmpdir(), "strata-token-"));
      const empty = join(dir, "empty.jwt");
      await writeFile(empty, "\n");
      expect(() => resolveWalrusConfig({ publisherTokenFile: join(dir, "missing.jwt") }, {})).to.throw(
        /--publisher-token-file .*missing\.jwt.* cannot be read/,
      );
      expect(() => resolveWalrusConfig({ publisherTokenFile: empty }, {})).to.throw(/is empty/);
      const malformed = `${token} trailing words`;
      let message = "";
      try {
        resolveWalrusConfig({}, { STRATA_WALRUS_PUBLISHER_TOKEN: malformed });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).to.match(/STRATA_WALRUS_PUBLISHER_TOKEN is not a bearer token/);
      expect(message).to.not.contain(token.slice(0, 12));
      expect(() =>
        resolveWalrusConfig({}, { STRATA_WALRUS_PUBLISHER_TOKEN: token, STRATA_WALRUS_PUBLISHER_TOKEN_FILE: empty }),
      ).to.throw(/set STRATA_WALRUS_PUBLISHER_TOKEN or STRATA_WALRUS_PUBLISHER_TOKEN_FILE, not both/);
    });
  });
});

describe("strata CLI: the Walrus network's epoch clock", function () {
  it("counts testnet epochs from STRATA_WALRUS_EPOCH (<epoch>@<start time>, as walrus info prints them)", async function () {
    const config = resolveWalrusConfig({ network: "testnet" }, { STRATA_WALRUS_EPOCH: "120@2026-12-01T08:00:00Z" });
    const now = await walrusClock(config, () => Date.UTC(2026, 11, 3, 9, 0)).now();
    expect(now.epoch).to.equal(122);
    expect(new Date(now.epochStartMs).toISOString()).to.equal("2026-12-03T08:00:00.000Z");
  });

  it("says the testnet epoch is unknown without a reference, naming STRATA_WALRUS_EPOCH", async function () {
    const config = resolveWalrusConfig({ network: "testnet" }, {});
    const error = await walrusClock(config)
      .now()
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(error?.message).to.contain("STRATA_WALRUS_EPOCH");
  });

  it("refuses a malformed STRATA_WALRUS_EPOCH, saying what it should look like", function () {
    for (const value of ["120", "x@2026-12-01T08:00:00Z", "120@yesterday", "-1@2026-12-01T08:00:00Z"]) {
      expect(() => resolveWalrusConfig({ network: "testnet" }, { STRATA_WALRUS_EPOCH: value })).to.throw(
        /STRATA_WALRUS_EPOCH must be <epoch>@<start time>/,
      );
    }
  });

  it("reads a local store's own clock from the aggregator it reads from, when asked to", function () {
    const config = resolveWalrusConfig({ aggregator: ["http://127.0.0.1:9/"] }, {});
    const viaAggregator = walrusClock(config, undefined, "aggregator");
    const viaPublisher = walrusClock(config);
    expect(viaAggregator).to.be.instanceOf(LocalNetworkClock);
    expect((viaAggregator as LocalNetworkClock).url).to.equal("http://127.0.0.1:9/local/clock");
    expect((viaPublisher as LocalNetworkClock).url).to.equal(`${LOCAL_WALRUS.publisherUrl}/local/clock`);
  });
});
