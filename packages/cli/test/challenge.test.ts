import { expect } from "chai";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Wallet } from "ethers";
import {
  buildBatchV2,
  buildProof,
  encodeBinaryTensor,
  proofModelOf,
  ProofVersion,
  signProof,
  type InferenceProof,
  type ProofModel,
  type RuntimeV1,
} from "@strata/core";
import { startLocalStack, type LocalStack } from "@strata/devkit";
import { runStrata } from "./in-process";

/** Hardhat's account #2: the challenger (neither the deployer nor the node). */
const CHALLENGER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
/** Hardhat's account #3: a second node. */
const SECOND_NODE_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";

const RUNTIME: RuntimeV1 = {
  engine: "onnxruntime-node",
  version: "1.20.1",
  graphOptimizationLevel: "all",
  executionMode: "sequential",
  intraOpNumThreads: 1,
};

interface ChallengeJson {
  ok: boolean;
  challenge: { slashed: boolean; reason?: string; node?: string; bond?: string; reward?: string; txHash?: string };
}

describe("strata verify --challenge: an equivocating node slashed on-chain", function () {
  this.timeout(120_000);
  let stack: LocalStack;
  let node: Wallet;
  let network: string[];
  let seq = 0;
  let model: ProofModel;

  /** A v2 proof of the test model on input `x` (default [1, 2, 3, 4]), with output `y`, signed by `signer`. */
  async function proof(y: number[], signer: Wallet = node, x = [1, 2, 3, 4]): Promise<InferenceProof> {
    seq += 1;
    const unsigned = buildProof(
      {
        domain: stack.client.proofDomain,
        model,
        inputs: [encodeBinaryTensor("x", "float32", [1, 4], new Float32Array(x))],
        outputs: [encodeBinaryTensor("y", "float32", [1, 2], new Float32Array(y))],
        runtime: RUNTIME,
        node: signer.address,
        timestamp: Math.floor(Date.now() / 1000),
        requestId: `0x${seq.toString(16).padStart(64, "0")}`,
      },
      { version: ProofVersion.V2 },
    );
    return signProof(unsigned, signer);
  }

  /** Stores `proofs` as one quilt and anchors their batch as `by`; their commitments. */
  async function anchor(proofs: InferenceProof[], by: Wallet = node): Promise<string[]> {
    const batch = buildBatchV2(proofs);
    const stored = await stack.walrus.client.storeQuilt(batch.quilts[0].patches, { epochs: 5 });
    await (
      await stack.client.proofs.connect(by).anchorBatch(batch.root, stored.blobId, proofs.length, stored.endEpoch)
    ).wait();
    return batch.commitments;
  }

  const challenge = async (a: string, b: string, ...extra: string[]) => {
    const run = await runStrata(["verify", a, "--challenge", "--against", b, "--json", ...network, ...extra], {
      silenceStderr: true,
    });
    return { exitCode: run.exitCode, json: JSON.parse(run.out) as ChallengeJson };
  };

  before(async function () {
    stack = await startLocalStack({ network: "challenge", shards: 10, model: { name: "challenge-mlp", seed: 5 } });
    node = new Wallet(stack.nodeKey, stack.provider);
    model = proofModelOf(await stack.client.models.getVersion(stack.model!.modelId, stack.model!.index));
    const keyFile = path.join(stack.dir, "challenger.key");
    await writeFile(keyFile, `${CHALLENGER_KEY}\n`);
    network = [
      "--rpc",
      stack.chain.url,
      "--deployment",
      stack.deploymentFile,
      "--aggregator",
      stack.walrus.url,
      "--shards",
      String(stack.walrus.shards),
      "--no-node-hint",
      "--key-file",
      keyFile,
    ];
  });

  after(async function () {
    await stack?.stop();
  });

  it("refuses a pair that is not an equivocation (the outputs agree) and sends no transaction", async function () {
    const [a, b] = await anchor([await proof([0.25, 0.75]), await proof([0.25, 0.75])]);
    const challenger = new Wallet(CHALLENGER_KEY, stack.provider);
    const nonce = await stack.provider.getTransactionCount(challenger.address);
    const { exitCode, json } = await challenge(a, b);
    expect(exitCode).to.equal(1);
    expect(json.ok, "the first proof itself verifies").to.equal(true);
    expect(json.challenge.slashed).to.equal(false);
    expect(json.challenge.reason).to.match(/^the two proofs are not an equivocation: the proofs have the same output/);
    expect(await stack.provider.getTransactionCount(challenger.address)).to.equal(nonce);
    const bond = await stack.registries.inferenceRequests!.getBond(node.address);
    expect(bond.amount).to.be.greaterThan(0n);
  });

  it("slashes a node that signed two different outputs for one model, input and runtime: bond gone, challenger paid", async function () {
    const requests = stack.registries.inferenceRequests!;
    const [a, b] = await anchor([await proof([0.25, 0.75]), await proof([0.75, 0.25])]);
    const { amount: bond } = await requests.getBond(node.address);
    const challenger = new Wallet(CHALLENGER_KEY, stack.provider);
    const before = await stack.provider.getBalance(challenger.address);

    const text = await runStrata(["verify", a, "--challenge", "--against", b, ...network]);
    expect(text.exitCode, text.out).to.equal(0);
    expect(text.out).to.include(`EQUIVOCATION by node ${node.address}: ${a} and ${b}`);
    const tx = /^ {2}tx {9}(0x[0-9a-f]{64}) \(block \d+, gas \d+\)$/m.exec(text.out);
    expect(tx, text.out).to.not.equal(null);

    const receipt = (await stack.provider.getTransactionReceipt(tx![1]))!;
    expect(receipt.from).to.equal(challenger.address);
    const reward = (bond * BigInt((await requests.config()).challengerShareBps)) / 10_000n;
    expect(reward).to.be.greaterThan(0n);
    expect(text.out).to.match(/slashed {4}bond 0\.1 ETH taken; reward 0\.05 ETH paid to the challenger/);
    const after = await stack.provider.getBalance(challenger.address);
    expect(after - before).to.equal(reward - receipt.gasUsed * receipt.gasPrice);
    const slashed = await requests.getBond(node.address);
    expect(slashed.amount).to.equal(0n);
    expect(slashed.slashedAt).to.be.greaterThan(0n);

    // Once slashed, the same evidence finds no bond: refused before any transaction.
    const again = await challenge(b, a);
    expect(again.exitCode).to.equal(1);
    expect(again.json.challenge.reason).to.match(/has no bond .* \(it was slashed already, at /);
  });

  it("without --against, finds the conflicting proof in the node's newest batches and slashes the node", async function () {
    // A second node, admitted and bonded here (the first is slashed above).
    const second = new Wallet(SECOND_NODE_KEY, stack.provider);
    const requests = stack.registries.inferenceRequests!;
    await (await stack.registries.nodeRegistry.admitNode(second.address, "http://127.0.0.1")).wait();
    const { minBond } = await requests.config();
    await (await requests.connect(second).postBond({ value: minBond })).wait();

    const [a] = await anchor([await proof([0.1, 0.9], second), await proof([0.3, 0.7], second, [9, 9, 9, 9])], second);
    await anchor([await proof([0.9, 0.1], second)], second);
    const run = await runStrata(["verify", a, "--challenge", ...network], { silenceStderr: true });
    expect(run.exitCode, run.out).to.equal(0);
    expect(run.out).to.include(`EQUIVOCATION by node ${second.address}: ${a} and `);
    expect((await requests.getBond(second.address)).amount).to.equal(0n);
  });

  it("without --against, says when the node's batches hold no conflicting proof, and sends nothing", async function () {
    const [a] = await anchor([await proof([0.5, 0.5], node, [4, 3, 2, 1])]);
    const challenger = new Wallet(CHALLENGER_KEY, stack.provider);
    const nonce = await stack.provider.getTransactionCount(challenger.address);
    const run = await runStrata(["verify", a, "--challenge", "--json", ...network], { silenceStderr: true });
    expect(run.exitCode, run.out).to.equal(0);
    const json = JSON.parse(run.out) as ChallengeJson;
    expect(json.ok).to.equal(true);
    expect(json.challenge.slashed).to.equal(false);
    expect(json.challenge.reason).to.match(
      new RegExp(
        `^no equivocation found: no proof of node ${node.address} .* in its newest \\d+ batch\\(es\\) \\(\\d+ proofs read\\); nothing sent$`,
      ),
    );
    expect(await stack.provider.getTransactionCount(challenger.address)).to.equal(nonce);
  });

  it("refuses --against without --challenge (usage, exit 2)", async function () {
    const [a, b] = await anchor([
      await proof([0.5, 0.5], node, [7, 7, 7, 7]),
      await proof([0.5, 0.5], node, [8, 8, 8, 8]),
    ]);
    const run = await runStrata(["verify", a, "--against", b, ...network], { silenceStderr: true });
    expect(run.exitCode).to.equal(2);
  });
});
