import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers, network } from "hardhat";
import { Wallet } from "ethers";
import { readDeployment } from "@strata/contracts";
import { deployAndAdmit, startTestWalrus } from "@strata/devkit";
import { blobIdFromBytes32, buildModelMetadata, connect, decodeModelMetadata, encodeModelMetadata } from "@strata/core";
import { buildMlp } from "@strata/runtime";
import { WalrusClient, type LocalWalrus } from "@strata/walrus";
import { startRpcProxy, REFUSAL_STYLES } from "../../core/test/rpc-proxy";
import { runStrata } from "./in-process";

/** Hardhat's account #1: funded on the in-process network. */
const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const SHARDS = "10";

/** Runs `strata <args>` in this process, its stderr silenced; resolves with what it wrote to stdout. */
const strata = async (args: string[]): Promise<string> => (await runStrata(args, { silenceStderr: true })).out;

describe("strata model: the metadata blob, written by create and publish the same way and read by show", function () {
  this.timeout(120_000);
  let dir: string;
  let store: LocalWalrus;
  let proxy: Awaited<ReturnType<typeof startRpcProxy>>;
  let common: string[];
  let owner: string;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "strata-metadata-"));
    ({ store } = await startTestWalrus({ dir: join(dir, "store"), shards: Number(SHARDS) }));
    const [admin] = await ethers.getSigners();
    const file = join(dir, "deployment.json");
    await deployAndAdmit(admin, { network: "hardhat", deploymentFile: file });
    const keyFile = join(dir, "owner.key");
    writeFileSync(keyFile, `${KEY.slice(2)}\n`, { mode: 0o600 });
    owner = new Wallet(KEY).address;
    proxy = await startRpcProxy(network.provider, 10_000, REFUSAL_STYLES[0]);
    common = [
      "--rpc",
      proxy.url,
      "--deployment",
      file,
      "--key-file",
      keyFile,
      "--publisher",
      store.url,
      "--aggregator",
      store.url,
      "--shards",
      SHARDS,
    ];
  });

  after(async function () {
    await proxy?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("model create writes the metadata core's writer writes, which core's reader reads back", async function () {
    const created = JSON.parse(
      await strata(["model", "create", "described", "--description", "a small test model", "--json", ...common]),
    ) as { metadataBlobId: string };
    const walrus = new WalrusClient({ publisherUrl: store.url, aggregatorUrls: [store.url], shards: Number(SHARDS) });
    const bytes = await walrus.read(created.metadataBlobId);
    const expected = buildModelMetadata({ name: "described", description: "a small test model" });
    expect(Buffer.from(bytes).toString("utf8")).to.equal(Buffer.from(encodeModelMetadata(expected)).toString("utf8"));
    expect(decodeModelMetadata(bytes)).to.deep.equal({
      version: 1,
      kind: "strata.model-metadata",
      name: "described",
      description: "a small test model",
      format: "onnx",
    });
  });

  it("model show prints a created model's metadata, saying it has no file yet", async function () {
    const shown = JSON.parse(await strata(["model", "show", `${owner}/described`, "--json", ...common])) as {
      name: string;
      metadata: { description?: string; signature?: unknown } | null;
    };
    expect(shown.name).to.equal("described");
    expect(shown.metadata?.description).to.equal("a small test model");
    expect(shown.metadata?.signature).to.equal(undefined);
    const lines = await strata(["model", "show", `${owner}/described`, ...common]);
    expect(lines).to.contain("  description a small test model\n");
    expect(lines).to.contain("  signature  (no file published yet)\n");
  });

  it("model show prints a published model's description, task, license, tags and input/output signature", async function () {
    const file = join(dir, "mlp.onnx");
    writeFileSync(file, buildMlp({ inputSize: 4, hidden: [8], outputSize: 3, seed: 7 }));
    await strata([
      "model",
      "publish",
      file,
      "--name",
      "published",
      "--description",
      "an MLP",
      "--task",
      "regression",
      "--license",
      "Apache-2.0",
      "--tag",
      "tiny",
      "mlp",
      "--json",
      ...common,
    ]);
    const shown = JSON.parse(await strata(["model", "show", `${owner}/published`, "--json", ...common])) as {
      metadata: ReturnType<typeof decodeModelMetadata>;
    };
    expect(shown.metadata).to.include({ description: "an MLP", task: "regression", license: "Apache-2.0" });
    expect(shown.metadata.tags).to.deep.equal(["tiny", "mlp"]);
    expect(shown.metadata.signature?.inputs.map((t) => t.name)).to.have.length(1);
    const lines = await strata(["model", "show", `${owner}/published`, ...common]);
    expect(lines).to.contain("  description an MLP\n");
    expect(lines).to.contain("  task regression, license Apache-2.0, tags tiny, mlp\n");
    expect(lines).to.match(/^ {2}inputs {2}\S+ float32\[/m);
    expect(lines).to.match(/^ {2}outputs \S+ float32\[/m);
  });

  it("model show still shows the model when its metadata blob cannot be read", async function () {
    const models = connect(readDeployment(common[3]), new Wallet(KEY, ethers.provider)).models;
    await (await models.createModel("unread", blobIdFromBytes32(ethers.id("nowhere")))).wait();
    const shown = JSON.parse(await strata(["model", "show", `${owner}/unread`, "--json", ...common])) as {
      name: string;
      metadata: null;
      metadataError: string;
    };
    expect(shown.name).to.equal("unread");
    expect(shown.metadata).to.equal(null);
    expect(shown.metadataError).to.be.a("string").and.not.equal("");
    expect(await strata(["model", "show", `${owner}/unread`, ...common])).to.contain("  metadata unavailable: ");
  });
});
