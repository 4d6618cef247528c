/**
 * The user flow on Foundry's anvil (chain id 31338, not the devnet's), through the public entry points only:
 * `npm run deploy -- --network strata` deploys the registries and admits a node, `startNode` (what `strata node
 * start` runs) serves inferences, and `strata model publish`, `strata infer --wait`, `strata verify` and
 * `strata proof show` do the rest. The verifier reads the chain through a JSON-RPC proxy that refuses eth_getLogs
 * over 3 blocks, as public RPCs do. Run by `npm run test:anvil`.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Wallet } from "ethers";
import { InsufficientFundsError } from "@strata/core";
import { startLocalWalrus, type LocalWalrus } from "@strata/walrus";
import { DEVNET_KEYS, findFreePort, startAnvil, type HardhatNode } from "@strata/devkit";
import { startNode } from "../../../packages/cli/src/commands/node";
import { errorMessage } from "../../../packages/cli/src/error-message";
import { REFUSAL_STYLES, startRpcProxy, type RpcProxy } from "../../../packages/core/test/rpc-proxy";
import { ANVIL_TESTS, deployToStrataNetwork, strata } from "./chains";

(ANVIL_TESTS ? describe : describe.skip)("the user flow on anvil", function () {
  this.timeout(300_000);
  let dir: string;
  let anvil: HardhatNode | undefined;
  let walrus: LocalWalrus | undefined;
  let node: { url: string; stop: () => Promise<void> } | undefined;
  let proxy: RpcProxy | undefined;
  let common: string[];
  let deploymentFile: string;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "strata-anvil-"));
    anvil = await startAnvil({ chainId: 31338 });
    const publisherKey = join(dir, "publisher.key");
    const nodeKey = join(dir, "node.key");
    writeFileSync(publisherKey, `${DEVNET_KEYS[0]}\n`, { mode: 0o600 });
    writeFileSync(nodeKey, `${DEVNET_KEYS[1]}\n`, { mode: 0o600 });
    const nodePort = await findFreePort();
    deploymentFile = join(dir, "deployment.json");
    const deployed = await deployToStrataNetwork({
      STRATA_RPC_URL: anvil.url,
      STRATA_KEY_FILE: publisherKey,
      STRATA_DEPLOYMENT: deploymentFile,
      STRATA_NODES: `${new Wallet(DEVNET_KEYS[1]).address}=http://127.0.0.1:${nodePort}`,
    });
    expect(deployed.code, deployed.output).to.equal(0);
    expect(deployed.output).to.include("admitted node");
    walrus = await startLocalWalrus({ dir: join(dir, "walrus"), port: 0 });
    const walrusFlags = { publisher: walrus.url, aggregator: [walrus.url], shards: String(walrus.shards) };
    node = await startNode({
      rpc: anvil.url,
      deployment: deploymentFile,
      ...walrusFlags,
      keyFile: nodeKey,
      port: String(nodePort),
      host: "127.0.0.1",
      dataDir: join(dir, "node"),
      cacheMaxBytes: "1GiB",
      batchSize: "4",
      batchAgeMs: "300",
      modelOwner: new Wallet(DEVNET_KEYS[0]).address,
      log: () => undefined,
    });
    common = [
      "--rpc",
      anvil.url,
      "--deployment",
      deploymentFile,
      "--publisher",
      walrus.url,
      "--aggregator",
      walrus.url,
      "--shards",
      String(walrus.shards),
      "--node-url",
      node.url,
      "--key-file",
      publisherKey,
    ];
  });

  after(async function () {
    await proxy?.close();
    await node?.stop();
    await walrus?.close();
    await anvil?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("publishes a model, infers through the node, waits for the anchor and verifies through a capped RPC", async function () {
    const model = join(dir, "model.onnx");
    await strata(["model", "example", model]);
    const published = JSON.parse(
      (await strata(["model", "publish", model, "--name", "anvil", "--json", ...common])).out,
    ) as {
      modelId: string;
      index: number;
    };
    expect(published.index).to.equal(0);

    const input = JSON.stringify({ x: { dtype: "float32", dims: [1, 4], data: [1, 2, 3, 4] } });
    const inferred = JSON.parse(
      (await strata(["infer", "anvil", "--input", input, "--wait", "--timeout", "120000", "--json", ...common])).out,
    ) as { proof: { commitment: string; status: string } };
    expect(inferred.proof.status).to.equal("anchored");

    // The verifier finds the batch by scanning BatchAnchored events (no node hint), through an RPC capped at 3 blocks.
    proxy = await startRpcProxy(anvil!.url, 3, REFUSAL_STYLES[3]);
    const capped = common.map((arg) => (arg === anvil!.url ? proxy!.url : arg));
    const verified = await strata(["verify", inferred.proof.commitment, "--no-node-hint", "--json", ...capped]);
    expect(verified.exitCode, verified.out).to.equal(0);
    const report = JSON.parse(verified.out) as { ok: boolean };
    expect(report.ok, verified.out).to.equal(true);
    const shown = await strata(["proof", "show", inferred.proof.commitment, "--no-node-hint", "--json", ...capped]);
    expect(shown.exitCode, shown.out).to.equal(0);
    expect(JSON.parse(shown.out)).to.have.property("commitment", inferred.proof.commitment);
    const listed = JSON.parse((await strata(["model", "list", "--json", ...capped])).out) as { name: string }[];
    expect(listed.map((m) => m.name)).to.deep.equal(["anvil"]);
    expect(proxy.ranges.some((r) => r.refused)).to.equal(true);
    expect(proxy.ranges.filter((r) => !r.refused).every((r) => r.to - r.from + 1 <= 3)).to.equal(true);
  });

  it("refuses a send from an unfunded key file with a short error naming the account", async function () {
    const poor = Wallet.createRandom();
    const poorKey = join(dir, "poor.key");
    writeFileSync(poorKey, poor.privateKey, { mode: 0o600 });
    const args = ["model", "create", "poor", ...common.slice(0, -2), "--key-file", poorKey];
    const error = await strata(args).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(InsufficientFundsError);
    const message = await errorMessage(error);
    expect(message).to.include(
      `ModelRegistry.createModel: ${poor.address} cannot pay for the transaction on chain 31338`,
    );
    expect(message).to.include("has 0 ETH (0 wei)");
    expect(message).to.not.match(/0x[0-9a-f]{65,}/i);
  });
});
