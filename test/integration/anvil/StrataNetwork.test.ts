/**
 * The `strata` network of hardhat.config.ts is defined by the environment (STRATA_RPC_URL, STRATA_KEY_FILE or
 * STRATA_PRIVATE_KEY) and asks the RPC for its chain id: `npm run deploy -- --network strata` works against a
 * Hardhat node on another chain id and against anvil, with no edit of the config. Run by `npm run test:anvil`.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Wallet } from "ethers";
import { readDeployment } from "@strata/contracts";
import { DEVNET_KEYS, startAnvil, startHardhatNode, type HardhatNode } from "@strata/devkit";
import { ANVIL_TESTS, deployToStrataNetwork } from "./chains";

(ANVIL_TESTS ? describe : describe.skip)("npm run deploy -- --network strata", function () {
  this.timeout(180_000);
  let dir: string;
  let keyFile: string;
  const chains: HardhatNode[] = [];
  before(function () {
    dir = mkdtempSync(join(tmpdir(), "strata-network-"));
    keyFile = join(dir, "deployer.key");
    writeFileSync(keyFile, `${DEVNET_KEYS[0]}\n`, { mode: 0o600 });
  });
  after(async function () {
    for (const chain of chains) await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [kind, chainId] of [
    ["a Hardhat node", 4243],
    ["anvil", 4242],
  ] as const) {
    it(`deploys to ${kind} on chain ${chainId}, the chain id asked of the RPC, with the key from STRATA_KEY_FILE`, async function () {
      const chain = kind === "anvil" ? await startAnvil({ chainId }) : await startHardhatNode({ chainId });
      chains.push(chain);
      expect(chain.chainId).to.equal(chainId);
      const file = join(dir, `${chainId}.json`);
      const { code, output } = await deployToStrataNetwork({
        STRATA_RPC_URL: chain.url,
        STRATA_KEY_FILE: keyFile,
        STRATA_DEPLOYMENT: file,
      });
      expect(code, output).to.equal(0);
      expect(output).to.include(`chain ${chainId}, block`);
      const deployment = readDeployment(file);
      expect(deployment.chainId).to.equal(chainId);
      expect(deployment.network).to.equal("strata");
    });
  }

  it("tells an unfunded deployer in one line which account to fund, never the signed transaction", async function () {
    const chain = chains.find((c) => c.chainId === 4242)!;
    const poor = Wallet.createRandom();
    const poorFile = join(dir, "poor.key");
    writeFileSync(poorFile, poor.privateKey.slice(2), { mode: 0o600 });
    const { code, output } = await deployToStrataNetwork({
      STRATA_RPC_URL: chain.url,
      STRATA_KEY_FILE: poorFile,
      STRATA_DEPLOYMENT: join(dir, "poor.json"),
    });
    expect(code).to.equal(1);
    expect(output).to.include(`${poor.address} cannot pay for the transaction on chain 4242 (has 0 ETH (0 wei))`);
    expect(output).to.include(`send native tokens to ${poor.address}`);
    expect(output).to.not.match(/0x[0-9a-f]{65,}/i);
  });

  it("says which variable to set when the strata network has no key", async function () {
    const chain = chains[0];
    const { code, output } = await deployToStrataNetwork({
      STRATA_RPC_URL: chain.url,
      STRATA_DEPLOYMENT: join(dir, "none.json"),
    });
    expect(code).to.equal(1);
    expect(output).to.include("network strata has no account: set STRATA_KEY_FILE");
  });
});
