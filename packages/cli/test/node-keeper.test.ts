/**
 * `strata node start --keeper`: the keeper runs inside the node's process, on the node's key, and renews what that key
 * owns before it expires (recorded on-chain), beside a node that keeps serving.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import path from "node:path";
import { Wallet } from "ethers";
import { StrataClient, type ModelId } from "@strata/core";
import { publishTestModel, startLocalStack, type LocalStack } from "@strata/devkit";
import { localBlobLifetime, localNetworkClock } from "@strata/walrus";

const BIN = path.resolve(__dirname, "..", "bin", "strata.js");
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

describe("strata node start --keeper", function () {
  this.timeout(120_000);
  let stack: LocalStack;

  before(async () => {
    stack = await startLocalStack({ network: "node-keeper", shards: 10 });
  });
  after(() => stack?.stop());

  it("renews the node key's model version from inside the node process and records it on-chain", async () => {
    const owner = StrataClient.connect(stack.deployment, new Wallet(stack.nodeKey, stack.provider));
    const published = await publishTestModel(owner, stack.walrus.client, { name: "node-kept", seed: 5, epochs: 2 });
    const modelId = published.modelId as ModelId;
    const current = (await localNetworkClock(stack.walrus.url).now()).epoch;
    const child = spawn(
      process.execPath,
      [
        BIN,
        "node",
        "start",
        "--port",
        "0",
        "--data-dir",
        path.join(stack.dir, "node"),
        "--no-requests",
        "--keeper",
        "--keeper-interval",
        "0.5",
      ],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          STRATA_RPC_URL: stack.chain.url,
          STRATA_DEPLOYMENT: stack.deploymentFile,
          STRATA_WALRUS_PUBLISHER: stack.walrus.url,
          STRATA_WALRUS_AGGREGATORS: stack.walrus.url,
          STRATA_WALRUS_SHARDS: "10",
        },
      },
    );
    let log = "";
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no renewal within 60 s; log:\n${log}`)), 60_000);
        child.stderr.on("data", (d: Buffer) => {
          log += d.toString();
          if (/listening on/.test(log) && /keeper: renewed model node-kept\/0/.test(log)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on("exit", (code) => reject(new Error(`the node exited (${code}); log:\n${log}`)));
      });
      expect(log).to.contain("recorded on-chain");
      expect((await stack.client.models.getVersion(modelId, 0)).endEpoch).to.equal(current + 10);
      expect((await localBlobLifetime(stack.walrus.url, published.blobId)).endEpoch).to.equal(current + 10);
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  });
});
