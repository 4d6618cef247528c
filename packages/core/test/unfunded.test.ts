import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { JsonRpcProvider, Wallet } from "ethers";
import { connect, InsufficientFundsError } from "../src";
import { blob, deployFixture, rejection } from "./fixtures";
import { REFUSAL_STYLES, startRpcProxy } from "./rpc-proxy";

/** No hex longer than a bytes32 (66 characters): a signed transaction never appears. */
const LONG_HEX = /0x[0-9a-f]{65,}/i;

describe("core: sending from an unfunded key", function () {
  it("is a short InsufficientFundsError naming the address, what it has and what to do (in-process network)", async function () {
    const { deployment } = await loadFixture(deployFixture);
    const poor = Wallet.createRandom().connect(ethers.provider);
    const error = await rejection(connect(deployment, poor).models.createModel("poor", blob("meta")));
    expect(error).to.be.instanceOf(InsufficientFundsError);
    const funds = error as InsufficientFundsError;
    expect(funds.code).to.equal("INSUFFICIENT_FUNDS");
    expect(funds.address).to.equal(poor.address);
    expect(funds.balance).to.equal(0n);
    expect(funds.message).to.include(`ModelRegistry.createModel: ${poor.address} cannot pay for the transaction`);
    expect(funds.message).to.include(`send native tokens to ${poor.address}`);
    expect(funds.message).to.not.match(LONG_HEX);
    expect(funds.message.length).to.be.below(400);
    expect(funds.cause).to.equal(undefined);
  });

  it("is the same short error over HTTP JSON-RPC, with the needed amount, and never the signed transaction", async function () {
    const { deployment } = await loadFixture(deployFixture);
    const proxy = await startRpcProxy(network.provider, Infinity, REFUSAL_STYLES[0]);
    const provider = new JsonRpcProvider(proxy.url, Number(deployment.chainId), { staticNetwork: true });
    try {
      const poor = Wallet.createRandom().connect(provider);
      // A gas limit given: no estimate, so the RPC refuses the signed transaction itself (eth_sendRawTransaction).
      const error = await rejection(
        connect(deployment, poor).models.createModel("poor", blob("meta"), {
          gasLimit: 200_000,
          maxFeePerGas: 2_000_000_000n,
          maxPriorityFeePerGas: 1_000_000_000n,
        }),
      );
      expect(error).to.be.instanceOf(InsufficientFundsError);
      const funds = error as InsufficientFundsError;
      expect(funds.address).to.equal(poor.address);
      expect(funds.balance).to.equal(0n);
      expect(funds.needed).to.equal(200_000n * 2_000_000_000n);
      expect(funds.message).to.match(/needs up to 0\.0004 ETH \(400000000000000 wei\), has 0 ETH \(0 wei\)/);
      expect(funds.message).to.include(`on chain ${deployment.chainId}`);
      expect(funds.message).to.not.match(LONG_HEX);
      expect(String(funds.stack)).to.not.match(LONG_HEX);
    } finally {
      provider.destroy();
      await proxy.close();
    }
  });
});
