import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InferenceRequests__factory } from "@strata/contracts";
import { encodeOnchainTensors, encodeTensor } from "@strata/core";
import { startLocalStack, type LocalStack } from "@strata/devkit";
import { NODE_START_DEFAULTS, RequestWatcher } from "@strata/node";
import { startNode, type NodeStartFlags } from "../src/commands/node";

/** `strata node start` fulfils the deployment's on-chain requests by default, and not with `--no-requests`. */
describe("strata node start: on-chain requests", function () {
  this.timeout(180_000);
  let stack: LocalStack;
  let dir: string;
  let flags: NodeStartFlags;

  before(async function () {
    stack = await startLocalStack({ network: "node-start", shards: 10, model: { name: "node-start-mlp", seed: 3 } });
    dir = await mkdtemp(join(tmpdir(), "strata-node-start-"));
    const keyFile = join(dir, "node.key");
    await writeFile(keyFile, `${stack.nodeKey}\n`);
    const defaults: Record<string, string> = Object.fromEntries(NODE_START_DEFAULTS.map((d) => [d.option, d.flag]));
    flags = {
      rpc: stack.chain.url,
      deployment: stack.deploymentFile,
      publisher: stack.walrus.url,
      aggregator: [stack.walrus.url],
      shards: String(stack.walrus.shards),
      keyFile,
      port: "0",
      host: "127.0.0.1",
      dataDir: join(dir, "node"),
      cacheMaxBytes: defaults["--cache-max-bytes"],
      batchSize: defaults["--batch-size"],
      batchAgeMs: defaults["--batch-age-ms"],
      confirmations: "1",
      log: () => undefined,
    } satisfies NodeStartFlags;
  });

  after(async function () {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("watches the deployment's InferenceRequests and fulfils an inline request", async function () {
    const server = await startNode(flags);
    try {
      expect(server.watcher).to.be.instanceOf(RequestWatcher);
      const requests = InferenceRequests__factory.connect(
        stack.deployment.contracts.InferenceRequests!,
        stack.deployer,
      );
      const deadline = (await stack.provider.getBlock("latest"))!.timestamp + 3600;
      const input = encodeOnchainTensors([encodeTensor("x", "float32", [1, 4], Float32Array.from([1, 2, 3, 4]))]);
      const receipt = (await (
        await requests.requestInferenceInline(stack.model!.modelId, 0, input, 0, deadline)
      ).wait())!;
      const requestId = receipt.logs
        .map((l) => requests.interface.parseLog(l))
        .find((p) => p?.name === "InferenceRequested")!.args.requestId as string;
      const until = Date.now() + 60_000;
      while ((await requests.getRequest(requestId)).status === 1n && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await requests.queryFilter(requests.filters.InferenceFulfilled(requestId))).to.have.length(1);
    } finally {
      await server.stop();
    }
  });

  it("reads the Walrus store's epoch clock and warns about leases as --lease-warn-epochs says", async function () {
    const lines: string[] = [];
    const server = await startNode({
      ...flags,
      requests: false,
      dataDir: join(dir, "node-leases"),
      leaseWarnEpochs: "60",
      log: (line) => lines.push(line),
    });
    try {
      const health = (await (await fetch(`${server.url}/v1/health`)).json()) as {
        storage: { currentEpoch: number; leaseWarnEpochs: number; expiringSoon: { endEpoch: number }[] };
      };
      expect(health.storage.currentEpoch).to.equal(stack.walrus.store.currentEpoch());
      expect(health.storage.leaseWarnEpochs).to.equal(60);
      const answer = await fetch(`${server.url}/v1/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: stack.model!.modelId,
          inputs: { x: { dtype: "float32", dims: [1, 4], data: [1, 2, 3, 4] } },
        }),
      });
      expect(answer.status, await answer.clone().text()).to.equal(200);
      const after = (await (await fetch(`${server.url}/v1/health`)).json()) as typeof health;
      expect(after.storage.expiringSoon.map((v) => v.endEpoch)).to.deep.equal([stack.model!.endEpoch]);
      expect(lines.filter((line) => line.startsWith("warning: model"))).to.have.length(1);
    } finally {
      await server.stop();
    }
  });

  it("refuses a --lease-warn-epochs that is not a number of epochs", async function () {
    const error = await startNode({ ...flags, leaseWarnEpochs: "soon" }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).to.match(/--lease-warn-epochs must be a non-negative integer, got "soon"/);
  });

  it("runs no request watcher with --no-requests", async function () {
    const server = await startNode({ ...flags, requests: false, dataDir: join(dir, "node-2") });
    try {
      expect(server.watcher).to.equal(undefined);
    } finally {
      await server.stop();
    }
  });
});
