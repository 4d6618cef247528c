import { expect } from "chai";
import { network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { JsonRpcProvider } from "ethers";
import {
  BlockRange,
  connect,
  LogRangeError,
  logRangeRefusal,
  scanBlockRanges,
  scanBlockRangesNewestFirst,
} from "../src";
import { blob, deployFixture, rejection } from "./fixtures";
import { REFUSAL_STYLES, startRpcProxy, type RpcProxy } from "./rpc-proxy";

const CAP = 100;
const SPREAD = 1_500;

/** Models created far apart (1,500 empty blocks between them) and a node admitted, then moved, then removed. */
async function spreadFixture() {
  const base = await deployFixture();
  const names = ["first", "second", "third"];
  for (const name of names) {
    await network.provider.send("hardhat_mine", [`0x${SPREAD.toString(16)}`]);
    await (await base.client.models.connect(base.owner).createModel(name, blob(`meta ${name}`))).wait();
  }
  const nodes = base.client.nodes;
  await (await nodes.admitNode(base.node.address, "http://a")).wait();
  await network.provider.send("hardhat_mine", [`0x${SPREAD.toString(16)}`]);
  await (await nodes.connect(base.node).updateEndpoint("http://b")).wait();
  await (await nodes.removeNode(base.node.address)).wait();
  return { ...base, names };
}

describe("core event scans on RPCs that cap eth_getLogs", function () {
  let proxy: RpcProxy | undefined;
  let provider: JsonRpcProvider | undefined;
  afterEach(async function () {
    provider?.destroy();
    await proxy?.close();
    proxy = provider = undefined;
  });

  async function throughProxy(style = REFUSAL_STYLES[0], cap = CAP) {
    const fixture = await loadFixture(spreadFixture);
    proxy = await startRpcProxy(network.provider, cap, style);
    provider = new JsonRpcProvider(proxy.url, Number(fixture.deployment.chainId), {
      staticNetwork: true,
      batchMaxCount: 1,
      cacheTimeout: -1,
    });
    return { ...fixture, proxy, client: connect(fixture.deployment, provider) };
  }

  for (const style of REFUSAL_STYLES) {
    it(`lists every model and reads a node's history through an RPC that answers ${style.name}`, async function () {
      const { client, names, owner, node, proxy } = await throughProxy(style);
      const listed = await client.models.listModels();
      expect(listed.map((m) => m.name)).to.deep.equal(names);
      expect(listed.every((m) => m.creator === owner.address)).to.equal(true);
      expect(await client.models.getModelName(listed[2].id)).to.equal("third");
      const history = await client.nodes.history(node.address);
      expect(history.map((e) => e.kind)).to.deep.equal(["admitted", "endpointUpdated", "removed"]);
      // Every range the proxy served fits its cap; the scans learned the limit and kept to it.
      expect(proxy.ranges.filter((r) => !r.refused).every((r) => r.to - r.from + 1 <= CAP)).to.equal(true);
      const size = client.models.blockRange.size!;
      expect(size).to.be.at.most(CAP);
      if (style.statesLimit) expect(size, "uses the limit the RPC states").to.equal(CAP);
      else expect(size, "halves until a range is served").to.be.greaterThan(CAP / 2);
      // One client learned it for all three: the node history scans started at the learned size.
      expect(client.nodes.blockRange).to.equal(client.models.blockRange);
    });
  }

  it("splits scans into the configured block range from the start, without a refusal", async function () {
    const fixture = await loadFixture(spreadFixture);
    proxy = await startRpcProxy(network.provider, CAP, REFUSAL_STYLES[4]);
    provider = new JsonRpcProvider(proxy.url, Number(fixture.deployment.chainId), { staticNetwork: true });
    const client = connect(fixture.deployment, provider, { maxBlockRange: 80 });
    expect((await client.models.listModels()).map((m) => m.name)).to.deep.equal(fixture.names);
    expect(proxy.ranges.some((r) => r.refused)).to.equal(false);
    expect(Math.max(...proxy.ranges.map((r) => r.to - r.from + 1))).to.equal(80);
  });

  it("fails with a LogRangeError naming the block when the RPC refuses even one block", async function () {
    const { client } = await throughProxy(REFUSAL_STYLES[7], 0);
    const error = await rejection(client.models.listModels());
    expect(error).to.be.instanceOf(LogRangeError);
    expect(error.message).to.match(
      /refuses eth_getLogs even for blocks (\d+)–\1 \(1 block\): "block range is too wide"/,
    );
  });

  it("rethrows errors that are not a range refusal, and does not narrow on a rate limit", async function () {
    const range = new BlockRange();
    const rateLimited = Object.assign(new Error("could not coalesce error"), {
      error: { code: -32005, message: "daily request count exceeded, request rate limited" },
    });
    const error = await rejection(
      scanBlockRanges(() => Promise.reject(rateLimited), { fromBlock: 0, blockRange: range, latest: async () => 99 }),
    );
    expect(error).to.equal(rateLimited);
    expect(range.size).to.equal(undefined);
  });

  it("searches newest first in the limit the RPC states, and stops when the visitor has found what it wants", async function () {
    const range = new BlockRange();
    const asked: [number, number][] = [];
    const query = async (from: number, to: number) => {
      asked.push([from, to]);
      if (to - from + 1 > 1000) {
        throw Object.assign(new Error("could not coalesce error"), {
          error: { code: -32614, message: "eth_getLogs is limited to a 1000 blocks range" },
        });
      }
      return to >= 2500 && from <= 2500 ? ["found at 2500"] : [];
    };
    const visited: string[] = [];
    const lowest = await scanBlockRangesNewestFirst(
      query,
      { fromBlock: 10, blockRange: range, latest: async () => 5_000 },
      (logs) => {
        visited.push(...logs);
        return logs.length > 0;
      },
    );
    expect(asked).to.deep.equal([
      [10, 5000],
      [4001, 5000],
      [3001, 4000],
      [2001, 3000],
    ]);
    expect(visited).to.deep.equal(["found at 2500"]);
    expect(lowest).to.equal(2001);
    expect(range.size).to.equal(1000);
  });

  it("reads the limit from each RPC's words, and none from result counts", function () {
    const wrap = (code: number, message: string) => ({ code: "UNKNOWN_ERROR", error: { code, message } });
    const cases: [unknown, number | undefined][] = [
      [wrap(-32000, "exceed maximum block range: 5000"), 5000],
      [wrap(-32614, "eth_getLogs is limited to a 1000 blocks range"), 1000],
      [wrap(-32602, "eth_getLogs is limited to a 10,000 range"), 10_000],
      [wrap(-32005, "query returned more than 10000 results. Try with this block range [0x10, 0x4f]."), 64],
      [wrap(-32000, "query exceeds max results 20000, retry with the range 123-456"), 334],
      [wrap(-32600, "Under the Free tier plan, you can make eth_getLogs requests with up to a 10 block range."), 10],
      [wrap(-32000, "requested too many blocks from 0 to 100000, maximum is set to 2048"), 2048],
      [wrap(-32602, "You can make eth_getLogs requests with up to a 2K block range"), 2000],
      [wrap(-32005, "query returned more than 10000 results"), undefined],
      [wrap(-32600, "block range is too wide"), undefined],
      [wrap(-32005, "limit exceeded"), undefined],
    ];
    for (const [error, limit] of cases) {
      const refusal = logRangeRefusal(error);
      expect(refusal, JSON.stringify(error)).to.not.equal(undefined);
      expect(refusal!.limit, refusal!.message).to.equal(limit);
    }
    expect(logRangeRefusal(wrap(3, "execution reverted"))).to.equal(undefined);
    expect(logRangeRefusal(new Error("connect ECONNREFUSED 127.0.0.1:8545"))).to.equal(undefined);
    expect(logRangeRefusal(wrap(-32602, "invalid argument 0: hex string without 0x prefix"))).to.equal(undefined);
  });
});
