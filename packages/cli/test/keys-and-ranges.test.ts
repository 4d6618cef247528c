import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers, network } from "hardhat";
import { Wallet } from "ethers";
import { deployAndAdmit } from "@strata/devkit";
import { blobIdFromBytes32, connect } from "@strata/core";
import { resolveSettings } from "../src/config";
import { buildProgram } from "../src/program";
import { errorMessage } from "../src/error-message";
import { REFUSAL_STYLES, startRpcProxy } from "../../core/test/rpc-proxy";
import { runStrata } from "./in-process";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const ADDRESS = new Wallet(KEY).address;

/** Runs `strata <args>` in this process; resolves with what it wrote to stdout. */
const strata = async (args: string[]): Promise<string> => (await runStrata(args)).out;

describe("strata CLI: keys off the command line, and block ranges", function () {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "strata-keys-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe("keys", function () {
    it("reads the key from --key-file, STRATA_KEY_FILE or the config file's keyFile, with no warning", async function () {
      const file = join(dir, "node.key");
      writeFileSync(file, `${KEY.slice(2)}\n`, { mode: 0o600 });
      const config = join(dir, "strata.config.json");
      writeFileSync(config, JSON.stringify({ keyFile: file }));
      const warnings: string[] = [];
      for (const [flags, env] of [
        [{ keyFile: file }, {}],
        [{}, { STRATA_KEY_FILE: file }],
        [{ config }, {}],
        [{}, { STRATA_PRIVATE_KEY: KEY }],
      ] as const) {
        const signer = await resolveSettings(flags, env, (line) => warnings.push(line)).signer();
        expect(await signer.getAddress()).to.equal(ADDRESS);
      }
      expect(warnings).to.deep.equal([]);
    });

    it("still takes --key, but warns that it shows in ps", async function () {
      const warnings: string[] = [];
      const signer = await resolveSettings({ key: KEY }, {}, (line) => warnings.push(line)).signer();
      expect(await signer.getAddress()).to.equal(ADDRESS);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/--key puts the private key on the command line, where `ps`.*use --key-file/);
    });

    it("refuses --key with --key-file, and a key file that holds no key, naming the file and not its content", async function () {
      const file = join(dir, "bad.key");
      writeFileSync(file, "not a key at all\n");
      const settings = resolveSettings({ keyFile: file }, {}, () => undefined);
      const error = await settings.signer().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).to.include(`the key file ${file} (--key-file) must hold one 32-byte hex private key`);
      expect(error?.message).to.not.include("not a key at all");
      const missing = await resolveSettings({}, { STRATA_KEY_FILE: join(dir, "none") }, () => undefined)
        .signer()
        .then(
          () => undefined,
          (e: Error) => e,
        );
      expect(missing?.message).to.match(/the key file .*none \(STRATA_KEY_FILE\) cannot be read: ENOENT/);
      const both = await resolveSettings({ key: KEY, keyFile: file }, {}, () => undefined)
        .signer()
        .then(
          () => undefined,
          (e: Error) => e,
        );
      expect(both?.message).to.equal("pass either --key or --key-file, not both");
    });

    it("offers --publisher-token-file (the documented way to pass a publisher's token) on store and model publish", function () {
      const program = buildProgram();
      const model = program.commands.find((c) => c.name() === "model")!;
      for (const command of [
        model.commands.find((c) => c.name() === "publish")!,
        program.commands.find((c) => c.name() === "store")!,
      ]) {
        expect(
          command.options.map((o) => o.long),
          command.name(),
        ).to.include("--publisher-token-file");
      }
    });

    it("offers --key-file on every chain-facing command", function () {
      const program = buildProgram();
      const model = program.commands.find((c) => c.name() === "model")!;
      for (const command of [
        model.commands.find((c) => c.name() === "publish")!,
        program.commands.find((c) => c.name() === "infer")!,
      ]) {
        expect(command.options.map((o) => o.long)).to.include.members(["--key-file", "--block-range"]);
      }
    });
  });

  describe("block ranges", function () {
    it("takes --block-range over STRATA_BLOCK_RANGE over the config file's blockRange, into the clients", function () {
      const config = join(dir, "strata.config.json");
      writeFileSync(config, JSON.stringify({ blockRange: 300, deployment: join(dir, "d.json") }));
      const sizes = [
        resolveSettings({ blockRange: "100", config }, { STRATA_BLOCK_RANGE: "200" }),
        resolveSettings({ config }, { STRATA_BLOCK_RANGE: "200" }),
        resolveSettings({ config }, {}),
        resolveSettings({}, {}),
      ].map((s) => s.blockRange.size);
      expect(sizes).to.deep.equal([100, 200, 300, undefined]);
      expect(() => resolveSettings({ blockRange: "0" }, {})).to.throw(/--block-range/);
      expect(() => resolveSettings({}, { STRATA_BLOCK_RANGE: "1e3" })).to.throw(/STRATA_BLOCK_RANGE/);
    });

    it("lists models through an RPC that refuses more than 50 blocks per eth_getLogs, and shows one", async function () {
      const [admin, owner] = await ethers.getSigners();
      const file = join(dir, "deployment.json");
      const { deployment } = await deployAndAdmit(admin, { network: "hardhat", deploymentFile: file });
      const models = connect(deployment, owner).models;
      for (const name of ["far", "farther"]) {
        await network.provider.send("hardhat_mine", ["0x3e8"]);
        await (await models.createModel(name, blobIdFromBytes32(ethers.id(name)))).wait();
      }
      const proxy = await startRpcProxy(network.provider, 50, REFUSAL_STYLES[4]);
      try {
        const common = ["--rpc", proxy.url, "--deployment", file, "--json"];
        const listed = JSON.parse(await strata(["model", "list", ...common])) as { name: string }[];
        expect(listed.map((m) => m.name)).to.deep.equal(["far", "farther"]);
        const shown = JSON.parse(await strata(["model", "show", `${owner.address}/farther`, ...common])) as {
          name: string;
        };
        expect(shown.name).to.equal("farther");
        expect(proxy.ranges.some((r) => r.refused)).to.equal(true);
        expect(proxy.ranges.filter((r) => !r.refused).every((r) => r.to - r.from + 1 <= 50)).to.equal(true);
      } finally {
        await proxy.close();
      }
    });
  });

  it("prints an unfunded send in one short line, never the signed transaction", async function () {
    const signed = `0x02f8${"ab".repeat(300)}`;
    const ethersError = Object.assign(
      new Error(
        `insufficient funds for intrinsic transaction cost (transaction="${signed}", info={ "error": { "code": -32000, "message": "insufficient funds for gas * price + value: have 0 want 4000000000000000" } }, code=INSUFFICIENT_FUNDS, version=6.17.0)`,
      ),
      {
        code: "INSUFFICIENT_FUNDS",
        transaction: signed,
        info: {
          error: { code: -32000, message: "insufficient funds for gas * price + value: have 0 want 4000000000000000" },
        },
      },
    );
    const message = await errorMessage(ethersError);
    expect(message).to.match(
      /^sending a transaction: the sending account cannot pay for the transaction \(needs up to 0\.004 ETH \(4000000000000000 wei\), has 0 ETH \(0 wei\)\)/,
    );
    expect(message).to.not.include("abab");
    expect(await errorMessage(new Error(`boom data=${signed}`))).to.equal("boom data=0x02f8abab…(302 bytes)");
  });
});
