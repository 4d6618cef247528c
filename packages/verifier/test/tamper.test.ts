import { expect } from "chai";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { JsonRpcProvider, Wallet } from "ethers";
import { ethers, network } from "hardhat";
import {
  buildBatch,
  ContractRevertError,
  makeTensorSet,
  proofCommitment,
  proofTypedData,
  StrataClient,
  type InferenceProof,
  blobIdToBytes32,
} from "@strata/core";
import { WalrusClient } from "@strata/walrus";
import {
  assertVerified,
  renderBatchReport,
  renderReport,
  ServiceUnreachableError,
  STEPS,
  VerificationFailedError,
  VerifierUsageError,
  verifyProof,
  type StepName,
  type VerificationReport,
} from "@strata/verifier";
import {
  anchorBatch,
  anchorMissingBatch,
  anchorSingle,
  nudged,
  setup,
  sign,
  teardown,
  variant,
  verifier,
  SHARDS,
  UNEXPIRED_END_EPOCH,
  type Env,
} from "./fixture";

function stepOf(report: VerificationReport, name: StepName) {
  const found = report.steps.find((s) => s.step === name);
  if (found === undefined) throw new Error(`the report has no step ${name}`);
  return found;
}

/** The report failed, first at `step`, with a detail matching `why`; every step before it passed. */
function expectCaughtAt(report: VerificationReport, step: StepName, why: RegExp): void {
  const failed = report.steps.filter((s) => s.status === "fail");
  expect(report.ok, renderReport(report)).to.equal(false);
  expect(failed[0]?.step, renderReport(report)).to.equal(step);
  expect(failed[0].detail).to.match(why);
  // Every step before it held (a single anchor skips the batch inclusion step).
  const before = report.steps.slice(0, report.steps.indexOf(failed[0]));
  for (const s of before) {
    expect(s.status === "pass" || (s.step === "inclusion" && s.status === "skip"), `${s.step}: ${s.detail}`).to.equal(
      true,
    );
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected a rejection, got ${String(outcome.value)}`);
  if (!(outcome.error instanceof Error)) throw new Error(`rejected with a non-Error ${String(outcome.error)}`);
  return outcome.error;
}

describe("Verifier: proofs of a real node, and tampered ones", function () {
  let env: Env;
  let base: InferenceProof;

  before(async function () {
    env = await setup();
    base = env.batches[0].proofs[0];
  });
  after(async function () {
    await teardown(env);
  });

  describe("the happy path", function () {
    it("verifies a node's proof end to end, found by scanning BatchAnchored events, and re-executes it bit for bit", async function () {
      const v = verifier(env);
      try {
        const [batch] = env.batches;
        const report = await v.verifyProof(batch.commitments[1], { reexecute: true });
        expect(report.ok, renderReport(report)).to.equal(true);
        expect(report.steps.map((s) => [s.step, s.status])).to.deep.equal(STEPS.map((s) => [s, "pass"]));
        expect(report).to.include({
          commitment: batch.commitments[1],
          root: batch.root,
          index: 1,
          foundBy: "event-scan",
        });
        // The newest batch is read first; the second one holds it.
        expect(stepOf(report, "locate").values).to.include({ scannedBatches: 2 });
        expect(stepOf(report, "chain-record").values).to.include({ node: env.nodeA.address, count: 4 });
        expect(stepOf(report, "blob").values).to.include({ blobId: batch.blobId });
        expect(stepOf(report, "signature").values).to.include({ recovered: env.nodeA.address });
        expect(stepOf(report, "model").values).to.include({ registryBlobId: env.model.blobId });
        expect(stepOf(report, "reexecution").values).to.include({ mode: "bit-exact", mismatched: 0, elements: 3 });
        expect(stepOf(report, "inclusion").values).to.include({ onChain: true, offChain: true });

        const text = renderReport(report);
        expect(text.split("\n")[0]).to.equal(
          `proof ${batch.commitments[1]} (batch ${batch.root.slice(0, 10)}…${batch.root.slice(-6)} #1): VERIFIED`,
        );
        for (const name of STEPS) expect(text).to.match(new RegExp(`^  PASS  ${name} +\\S`, "m"));
        expect(JSON.parse(JSON.stringify(report))).to.deep.equal(report);
        expect(assertVerified(report)).to.equal(report);
      } finally {
        await v.close();
      }
    });

    it("finds the batch from a caller's root (and index) or a node's hint, and says which way", async function () {
      const v = verifier(env);
      const [batch] = env.batches;
      const byRoot = await v.verifyProof(batch.commitments[2], { root: batch.root, index: 2 });
      expect(byRoot).to.include({ ok: true, foundBy: "caller-root", index: 2 });
      // The node knows the proofs it made (in the batches it sealed itself).
      const [made] = env.nodeBatches;
      const byNode = await v.verifyProof(made.commitments[3], { nodeUrl: env.nodeUrl });
      expect(byNode).to.include({ ok: true, foundBy: "node-hint", root: made.root });
      expect(stepOf(byNode, "locate").detail).to.match(
        /names batch .*a hint: everything below is checked independently/,
      );
      // A node that does not answer is only a missed hint: the scan finds the batch.
      const silent = await v.verifyProof(made.commitments[3], { nodeUrl: "http://127.0.0.1:9" });
      expect(silent).to.include({ ok: true, foundBy: "event-scan" });
      expect(stepOf(silent, "locate").detail).to.match(/the node at http:\/\/127\.0\.0\.1:9 did not answer/);
    });

    it("verifies a singly anchored proof", async function () {
      const doc = await sign(variant(base), env.nodeA);
      const commitment = proofCommitment(doc);
      await anchorSingle(env, commitment, doc, env.nodeA);
      const report = await verifier(env).verifyProof(commitment);
      expect(report, renderReport(report)).to.include({ ok: true, foundBy: "single-anchor" });
      expect(report.root).to.equal(undefined);
      expect(stepOf(report, "inclusion")).to.include({ status: "skip" });
      expect(stepOf(report, "chain-record").values).to.include({ kind: "single", node: env.nodeA.address });
    });

    it("shows a proof: its document, where it lives, who anchored it and when", async function () {
      const [batch] = env.batches;
      const record = await verifier(env).showProof(batch.commitments[1]);
      expect(record).to.include({ commitment: batch.commitments[1], foundBy: "event-scan", index: 1 });
      expect(record.document).to.deep.equal(batch.proofs[1]);
      expect(record.anchor).to.include({
        kind: "batch",
        node: env.nodeA.address,
        root: batch.root,
        blobId: batch.blobId,
      });
      const unknown = await rejection(verifier(env).showProof(`0x${"ab".repeat(32)}`));
      expect(unknown).to.be.instanceOf(VerificationFailedError);
      expect(unknown).to.include({ step: "locate", exitCode: 1 });
      // The node's own two batches and their two v1 copies.
      expect(unknown.message).to.match(/not anchored: no single anchor, and none of the 4 newest anchored batches/);
    });
  });

  describe("another admitted node cannot grief a node's proofs", function () {
    it("verifies A's single proof although B anchored a copy of it first, and picks A's anchor", async function () {
      const doc = await sign(variant(base), env.nodeA);
      const commitment = proofCommitment(doc);
      await anchorSingle(env, commitment, doc, env.nodeB);
      await anchorSingle(env, commitment, doc, env.nodeA);
      const report = await verifier(env).verifyProof(commitment);
      expect(report, renderReport(report)).to.include({ ok: true, foundBy: "single-anchor" });
      expect(stepOf(report, "chain-record").values).to.include({ kind: "single", node: env.nodeA.address });
    });

    it("picks A's batch when B re-packages A's proof in a newer batch", async function () {
      const [batch] = env.batches;
      const repackaged = await anchorBatch(env, [batch.proofs[0]], env.nodeB);
      expect(repackaged.root).to.not.equal(batch.root);
      const report = await verifier(env).verifyProof(batch.commitments[0]);
      expect(report, renderReport(report)).to.include({ ok: true, foundBy: "event-scan", root: batch.root });
      expect(stepOf(report, "chain-record").values).to.include({ node: env.nodeA.address });
      // Given B's root, the proof's signer never anchored it: that is what fails.
      const byRoot = await verifier(env).verifyProof(batch.commitments[0], { root: repackaged.root });
      expect(byRoot.ok).to.equal(false);
      expect(stepOf(byRoot, "chain-record").detail).to.match(
        new RegExp(`not anchored or announced by the proof's signer ${env.nodeA.address}`),
      );
    });

    it("verifies A's batch although B anchored its root first with another Blob ID", async function () {
      const docs = [await sign(variant(base), env.nodeA), await sign(variant(base), env.nodeA)];
      const batch = buildBatch(docs);
      await (
        await env.client.proofs
          .connect(env.nodeB)
          .anchorBatch(batch.root, env.batches[1].blobId, 2, UNEXPIRED_END_EPOCH)
      ).wait();
      const stored = await env.walrusClient.store(batch.bytes, { epochs: 5 });
      await (await env.client.proofs.connect(env.nodeA).anchorBuiltBatch(batch, stored.blobId, stored.endEpoch)).wait();
      for (const options of [{}, { root: batch.root }]) {
        const report = await verifier(env).verifyProof(batch.commitments[1], options);
        expect(report, renderReport(report)).to.include({ ok: true, root: batch.root });
        expect(stepOf(report, "blob").values).to.include({ blobId: stored.blobId });
        expect(stepOf(report, "chain-record").values).to.include({ node: env.nodeA.address });
      }
      const whole = await verifier(env).verifyBatch(batch.root, env.nodeA.address);
      expect(whole.ok, renderBatchReport(whole)).to.equal(true);
    });

    it("verifies the proofs of a salted batch (re-sealed by its node), and never takes the salt for a proof", async function () {
      const docs = [await sign(variant(base), env.nodeA), await sign(variant(base), env.nodeA)];
      const salt = ethers.hexlify(ethers.randomBytes(32));
      const batch = buildBatch(docs, { salt });
      const stored = await env.walrusClient.store(batch.bytes, { epochs: 5 });
      await (await env.client.proofs.connect(env.nodeA).anchorBuiltBatch(batch, stored.blobId, stored.endEpoch)).wait();
      for (const options of [{}, { root: batch.root }]) {
        const report = await verifier(env).verifyProof(batch.commitments[1], options);
        expect(report, renderReport(report)).to.include({ ok: true, root: batch.root, index: 1 });
      }
      const whole = await verifier(env).verifyBatch(batch.root);
      expect(whole.ok, renderBatchReport(whole)).to.equal(true);
      expect(whole.proofs).to.have.length(2);
      const asProof = await verifier(env).verifyProof(salt, { root: batch.root });
      expect(asProof.ok).to.equal(false);
    });

    it("verifies a proof of an announced batch, checking its inclusion off-chain (no on-chain check exists for it)", async function () {
      const docs = [await sign(variant(base), env.nodeA), await sign(variant(base), env.nodeA)];
      const batch = buildBatch(docs);
      const stored = await env.walrusClient.store(batch.bytes, { epochs: 5 });
      await (
        await env.client.proofs.connect(env.nodeA).announceBatch(batch.root, stored.blobId, 2, stored.endEpoch)
      ).wait();
      const report = await verifier(env).verifyProof(batch.commitments[0]);
      expect(report, renderReport(report)).to.include({ ok: true, root: batch.root, foundBy: "event-scan" });
      expect(stepOf(report, "chain-record").values).to.include({ node: env.nodeA.address, announced: true });
      expect(stepOf(report, "inclusion").values).to.include({ offChain: true, onChain: null });
      expect(stepOf(report, "inclusion").detail).to.match(/announced.*no on-chain inclusion check/);
      const whole = await verifier(env).verifyBatch(batch.root);
      expect(whole.ok, renderBatchReport(whole)).to.equal(true);
      expect(whole.steps.find((st) => st.step === "spot-check")).to.include({ status: "skip" });
    });
  });

  describe("bounded reads and chain order", function () {
    it("reports a blob over the verifier's read cap as a failed blob check naming the cap", async function () {
      const [batch] = env.batches;
      const report = await verifier(env, { maxBlobBytes: 100 }).verifyProof(batch.commitments[0], { root: batch.root });
      expectCaughtAt(report, "blob", /over the verifier's cap of 100 bytes \(maxBlobBytes, --max-blob-bytes\)/);
      expect(stepOf(report, "blob").values).to.include({ maxBlobBytes: 100 });
    });

    it("never allocates on an aggregator's word: a claimed 1 GB Content-Length is refused at the cap, unread", async function () {
      const liar = createServer((req, res) => {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(1_000_000_000) });
        res.write(Buffer.alloc(16));
        setTimeout(() => res.destroy(), 50);
      });
      await new Promise<void>((resolve) => liar.listen(0, "127.0.0.1", resolve));
      const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
      try {
        const [batch] = env.batches;
        const walrus = new WalrusClient({ aggregatorUrls: [url], shards: SHARDS, retries: 0 });
        const report = await verifier(env, { walrus }).verifyProof(batch.commitments[0], { root: batch.root });
        expectCaughtAt(
          report,
          "blob",
          new RegExp(`over the verifier's cap of ${64 * 1024 * 1024} bytes \\(maxBlobBytes, --max-blob-bytes\\)`),
        );
        expect(stepOf(report, "blob").values).to.include({ size: 1_000_000_000 });
      } finally {
        liar.closeAllConnections();
        await new Promise<void>((resolve) => liar.close(() => resolve()));
      }
    });

    it("stops the event scan at its cap and says which cap it hit", async function () {
      const [batch] = env.batches;
      const report = await verifier(env, { maxScanBatches: 1 }).verifyProof(batch.commitments[1], { nodeUrl: false });
      expectCaughtAt(report, "locate", /the scan stopped at its cap: 1 batches \(maxScanBatches, --scan-batches\)/);
      const events = await verifier(env, { maxScanEvents: 1 }).verifyProof(batch.commitments[1], { nodeUrl: false });
      expectCaughtAt(events, "locate", /the scan stopped at its cap: 1 events \(maxScanEvents, --scan-events\)/);
    });

    it("orders anchoring and removal by block, not timestamp: a node that anchored just before its removal, at the same timestamp, was active", async function () {
      const signers = await ethers.getSigners();
      const nodeE = signers[signers.length - 1];
      const admin = StrataClient.connect(env.deployment, env.admin);
      await (await admin.nodes.admitNode(nodeE.address, "http://127.0.0.1:31505")).wait();
      const doc = await sign(
        variant(base, (u) => ({ ...u, node: nodeE.address, timestamp: Math.max(u.timestamp, 0) })),
        nodeE,
      );
      const t = (await time.latest()) + 1;
      await network.provider.send("evm_setNextBlockTimestamp", [t]);
      const batch = await anchorBatch(env, [doc], nodeE);
      await network.provider.send("evm_setNextBlockTimestamp", [t]);
      await (await admin.nodes.removeNode(nodeE.address)).wait();
      const report = await verifier(env).verifyProof(batch.commitments[0]);
      expect(stepOf(report, "node-active").status, renderReport(report)).to.equal("pass");
      expect(report.ok, renderReport(report)).to.equal(true);
      const whole = await verifier(env).verifyBatch(batch.root);
      expect(whole.steps.find((st) => st.step === "node-history")?.status).to.equal("pass");
    });
  });

  describe("tampering, each caught at its step", function () {
    it("catches an altered output: under the anchored commitment at the commitment step, re-committed at the signature", async function () {
      const honest = await sign(variant(base), env.nodeA);
      const commitment = proofCommitment(honest);
      const altered: InferenceProof = { ...honest, output: nudged(honest.output.tensors, 0.5) };
      await anchorSingle(env, commitment, altered, env.nodeA);
      const single = await verifier(env).verifyProof(commitment);
      expectCaughtAt(
        single,
        "commitment",
        /recomputes to 0x[0-9a-f]{64}, not the anchored 0x[0-9a-f]{64}: the document was altered/,
      );

      const batch = await anchorBatch(env, [altered], env.nodeA);
      const recommitted = await verifier(env).verifyProof(batch.commitments[0], { root: batch.root });
      expectCaughtAt(
        recommitted,
        "signature",
        /recovers to 0x[0-9a-fA-F]{40}, not to the proof's node .*altered after signing/,
      );
    });

    it("catches an altered input: a tensor changed under its old hash, and a re-hashed one", async function () {
      const honest = await sign(variant(base), env.nodeA);
      const commitment = proofCommitment(honest);
      const [x] = honest.input.tensors;
      const data = Buffer.from(x.data, "base64");
      data[0] ^= 0x01;
      const stale: InferenceProof = {
        ...honest,
        input: { ...honest.input, tensors: [{ ...x, data: data.toString("base64") }] },
      };
      await anchorSingle(env, commitment, stale, env.nodeA);
      expectCaughtAt(
        await verifier(env).verifyProof(commitment),
        "commitment",
        /does not hash to a commitment: Invalid proof: input\.tensors\[0\]\.hash is 0x[0-9a-f]{64} but tensor "x" hashes to/,
      );

      const rehashed: InferenceProof = { ...honest, input: makeTensorSet([{ ...x, data: data.toString("base64") }]) };
      const batch = await anchorBatch(env, [rehashed], env.nodeA);
      expectCaughtAt(await verifier(env).verifyProof(batch.commitments[0]), "signature", /not to the proof's node/);
    });

    it("catches another model's Blob ID at the model step (signed by the node, so every other check holds)", async function () {
      const lie = await sign(
        variant(base, (u) => ({
          ...u,
          model: {
            ...u.model,
            blobId: blobIdToBytes32(env.otherModel.blobId),
            sha256: `0x${env.otherModel.sha256}`,
          },
        })),
        env.nodeA,
      );
      const batch = await anchorBatch(env, [lie], env.nodeA);
      const report = await verifier(env).verifyProof(batch.commitments[0], { reexecute: true });
      expectCaughtAt(
        report,
        "model",
        new RegExp(`the proof names Blob ID ${env.otherModel.blobId} but the registry records ${env.model.blobId}`),
      );
      expect(report.steps.filter((s) => s.status === "fail").map((s) => s.step)).to.deep.equal(["model"]);
      expect(stepOf(report, "reexecution")).to.include({ status: "skip" });
    });

    it("catches a proof bound to another deployment at the domain step", async function () {
      const elsewhere = await sign(
        variant(base, (u) => ({ ...u, domain: { ...u.domain, chainId: 1, proofRegistry: env.deployment.deployer } })),
        env.nodeA,
      );
      const batch = await anchorBatch(env, [elsewhere], env.nodeA);
      const report = await verifyProof({
        client: env.client,
        walrus: env.walrusClient,
        clockSkewSeconds: env.clockSkewSeconds,
        commitment: batch.commitments[0],
        root: batch.root,
      });
      expectCaughtAt(
        report,
        "domain",
        new RegExp(
          `the proof is bound to another deployment: chain id 1, not 31337; ProofRegistry ${env.deployment.deployer}, ` +
            `not ${env.deployment.contracts.ProofRegistry}$`,
        ),
      );
      expect(report.steps.filter((s) => s.status === "fail")).to.have.length(1);
    });

    it("catches a signature by an unregistered key, whether the proof names that key or the node", async function () {
      const stranger = Wallet.createRandom();
      const ownKey = await sign(
        variant(base, (u) => ({ ...u, node: stranger.address })),
        stranger,
      );
      const forged = variant(base);
      const { domain, types, message } = proofTypedData(forged);
      const forgedDoc: InferenceProof = { ...forged, signature: await stranger.signTypedData(domain, types, message) };
      const batch = await anchorBatch(env, [ownKey, forgedDoc], env.nodeA);
      const v = verifier(env);
      // Its signer (the key it names) never anchored it: only the signer's anchors count.
      expectCaughtAt(
        await v.verifyProof(batch.commitments[0], { root: batch.root }),
        "chain-record",
        new RegExp(
          `not anchored or announced by the proof's signer ${stranger.address} \\(only by ${env.nodeA.address}`,
        ),
      );
      expectCaughtAt(
        await v.verifyProof(batch.commitments[1], { root: batch.root }),
        "signature",
        new RegExp(`recovers to ${stranger.address}, not to the proof's node ${env.nodeA.address}.*never admitted`),
      );
    });

    it("a removed node cannot anchor; its proof anchored only by another node is not anchored by its signer", async function () {
      const byD = await sign(
        variant(base, (u) => ({ ...u, node: env.nodeD.address })),
        env.nodeD,
      );
      const admin = StrataClient.connect(env.deployment, env.admin);
      await (await admin.nodes.removeNode(env.nodeD.address)).wait();
      const refused = await rejection(anchorBatch(env, [byD], env.nodeD));
      expect(refused).to.be.instanceOf(ContractRevertError);
      expect((refused as ContractRevertError).errorName).to.equal("ProofRegistryNotActiveNode");

      const batch = await anchorBatch(env, [byD], env.nodeB);
      const report = await verifier(env).verifyProof(batch.commitments[0]);
      expectCaughtAt(report, "locate", new RegExp(`not anchored by its signer ${env.nodeD.address}`));
      const byRoot = await verifier(env).verifyProof(batch.commitments[0], { root: batch.root });
      expectCaughtAt(
        byRoot,
        "chain-record",
        new RegExp(
          `not anchored or announced by the proof's signer ${env.nodeD.address} \\(only by ${env.nodeB.address}: ` +
            "a node anchors only the proofs it signed",
        ),
      );
    });

    it("active at the time: the node's admission must cover the proof's timestamp (within the clock skew) and its anchoring", async function () {
      const history = await env.client.nodes.history(env.nodeC.address);
      const admittedAt = history[0].timestamp;
      const backdated = await sign(
        variant(base, (u) => ({ ...u, node: env.nodeC.address, timestamp: admittedAt - 86_400 })),
        env.nodeC,
      );
      const early = await anchorBatch(env, [backdated], env.nodeC);
      expectCaughtAt(
        await verifier(env).verifyProof(early.commitments[0], { root: early.root }),
        "node-active",
        /was not active at the proof's timestamp .* \(±\d+ s\) \(active \d{4}-.* – now\)/,
      );

      // Removed, then admitted again 20 s later: a proof dated in the gap is anchored after the re-admission.
      const admin = StrataClient.connect(env.deployment, env.admin);
      const removed = await (await admin.nodes.removeNode(env.nodeC.address)).wait();
      const removedAt = (await ethers.provider.getBlock(removed.blockNumber))!.timestamp;
      await time.setNextBlockTimestamp(removedAt + 20);
      await (await admin.nodes.admitNode(env.nodeC.address, "http://127.0.0.1:31503")).wait();
      const inGap = await sign(
        variant(base, (u) => ({ ...u, node: env.nodeC.address, timestamp: removedAt + 5 })),
        env.nodeC,
      );
      const gap = await anchorBatch(env, [inGap], env.nodeC);
      const strict = await verifier(env, { clockSkewSeconds: 0 }).verifyProof(gap.commitments[0], { root: gap.root });
      expectCaughtAt(
        strict,
        "node-active",
        /was not active at the proof's timestamp .* \(±0 s\) \(active .* – .*, .* – now\)/,
      );
      expect(stepOf(strict, "node-active").values).to.include({ proofTimestamp: removedAt + 5, clockSkewSeconds: 0 });
      // The same proof within a 300 s skew: the node's clock may be that far off the chain's.
      const lenient = await verifier(env, { clockSkewSeconds: 300 }).verifyProof(gap.commitments[0], {
        root: gap.root,
      });
      expect(lenient.ok, renderReport(lenient)).to.equal(true);

      // A proof dated after its own anchoring (beyond the skew) cannot be honest.
      const latest = (await ethers.provider.getBlock("latest"))!.timestamp;
      const future = await sign(
        variant(base, (u) => ({ ...u, node: env.nodeC.address, timestamp: latest + 7_200 })),
        env.nodeC,
      );
      const late = await anchorBatch(env, [future], env.nodeC);
      expectCaughtAt(
        await verifier(env, { clockSkewSeconds: 300 }).verifyProof(late.commitments[0], { root: late.root }),
        "node-active",
        /the proof is dated .* after its anchoring at .* \(beyond the 300 s clock skew allowed\)/,
      );
    });

    it("catches a proof blob whose bytes were changed on the store, by recomputing its Blob ID", async function () {
      const doc = await sign(variant(base), env.nodeA);
      const batch = await anchorBatch(env, [doc], env.nodeA);
      const file = join(env.walrusDir, "blobs", batch.blobId);
      const bytes = await readFile(file);
      const at = bytes.indexOf(Buffer.from('"timestamp":')) + 13;
      bytes[at] = bytes[at] === 0x31 ? 0x32 : 0x31; // one digit of the timestamp: same length, valid JSON
      await writeFile(file, bytes);
      const report = await verifier(env).verifyProof(batch.commitments[0], { root: batch.root });
      expectCaughtAt(
        report,
        "blob",
        new RegExp(
          `the bytes served for blob ${batch.blobId} do not match it \\(blob-id: expected ${batch.blobId}, got `,
        ),
      );
      // Scanning for it, the corrupt batch is reported as unreadable.
      const scanned = await verifier(env).verifyProof(batch.commitments[0]);
      expectCaughtAt(scanned, "locate", /could not be read \(batch 0x[0-9a-f]{8}…[0-9a-f]{6}: blob corrupt\)/);
    });

    it("catches a missing blob", async function () {
      const doc = await sign(variant(base), env.nodeA);
      const batch = await anchorMissingBatch(env, [doc], env.nodeA);
      expectCaughtAt(
        await verifier(env).verifyProof(batch.commitments[0], { root: batch.root }),
        "blob",
        new RegExp(`the batch blob ${batch.blobId} is not on Walrus \\(never stored, expired or deleted\\)`),
      );
    });

    it("catches a wrong Merkle proof: a wrong index, another batch's root, a root never anchored", async function () {
      const [first, second] = env.batches;
      const v = verifier(env);
      const wrongIndex = await v.verifyProof(first.commitments[1], { root: first.root, index: 2 });
      expectCaughtAt(
        wrongIndex,
        "inclusion",
        /index 2 of batch .* holds 0x.*, not 0x.* \(which is at index 1\); the Merkle proof for index 2 fails ProofRegistry\.isIncluded: wrong index/,
      );
      expect(stepOf(wrongIndex, "inclusion").values).to.include({ onChain: false, index: 1, requestedIndex: 2 });
      // The proof itself is sound: only the caller's index was wrong.
      expect(wrongIndex.steps.filter((s) => s.status === "fail")).to.have.length(1);

      expectCaughtAt(
        await v.verifyProof(first.commitments[1], { root: second.root }),
        "inclusion",
        /the batch 0x.* \(2 proofs\) does not hold 0x.*: wrong root\?/,
      );
      expectCaughtAt(
        await v.verifyProof(first.commitments[1], { root: `0x${"12".repeat(32)}` }),
        "chain-record",
        /no batch is anchored under root 0x12121212…121212: no such root was anchored: wrong root\?/,
      );
    });
  });

  describe("re-execution", function () {
    it("compares outputs bit for bit, or within a stated tolerance", async function () {
      const shifted = await sign(
        variant(base, (u) => ({ ...u, output: nudged(u.output.tensors, 1e-4) })),
        env.nodeA,
      );
      const batch = await anchorBatch(env, [shifted], env.nodeA);
      const v = verifier(env);
      try {
        const exact = await v.verifyProof(batch.commitments[0], { root: batch.root, reexecute: true });
        expectCaughtAt(
          exact,
          "reexecution",
          /1 of 3 output elements are not bit-identical: y\[0\] recorded .* vs re-executed/,
        );
        const loose = await v.verifyProof(batch.commitments[0], {
          root: batch.root,
          reexecute: true,
          tolerance: { absolute: 1e-3 },
        });
        expect(loose.ok, renderReport(loose)).to.equal(true);
        expect(stepOf(loose, "reexecution").detail).to.match(
          /^3 output elements within absolute 0\.001 \/ relative 0 /,
        );
        expect(stepOf(loose, "reexecution").values.maxAbsDiff).to.be.closeTo(1e-4, 1e-6);
        const tight = await v.verifyProof(batch.commitments[0], {
          root: batch.root,
          reexecute: true,
          tolerance: { absolute: 1e-6, relative: 1e-6 },
        });
        expectCaughtAt(tight, "reexecution", /outside the tolerance \(absolute 0\.000001, relative 0\.000001\)/);
      } finally {
        await v.close();
      }
    });

    it("says when the recorded runtime differs from this machine's, and needs a tolerance to compare across it", async function () {
      const other = await sign(
        variant(base, (u) => ({ ...u, runtime: { ...u.runtime, version: "1.20.1", graphOptimizationLevel: "all" } })),
        env.nodeA,
      );
      const batch = await anchorBatch(env, [other], env.nodeA);
      const v = verifier(env);
      try {
        const strict = await v.verifyProof(batch.commitments[0], { root: batch.root, reexecute: true });
        expectCaughtAt(
          strict,
          "runtime",
          /differs from this machine's \(version 1\.20\.1 here \S+; graphOptimizationLevel all here extended\): a bit-exact re-execution needs the recorded runtime/,
        );
        expect(stepOf(strict, "reexecution").status).to.equal("pass");
        const tolerant = await v.verifyProof(batch.commitments[0], {
          root: batch.root,
          reexecute: true,
          tolerance: { relative: 1e-5 },
        });
        expect(tolerant.ok, renderReport(tolerant)).to.equal(true);
        expect(stepOf(tolerant, "runtime").detail).to.match(
          /differs .* outputs are compared within the stated tolerance/,
        );
      } finally {
        await v.close();
      }
    });
  });

  describe("whole batches", function () {
    it("verifies every proof of a batch with one fetch, and names each failing proof and check", async function () {
      const v = verifier(env);
      const clean = await v.verifyBatch(env.batches[0].root);
      expect(clean.ok, renderBatchReport(clean)).to.equal(true);
      expect(clean).to.include({ passed: 4, failed: 0 });
      expect(clean.steps.map((s) => [s.step, s.status])).to.deep.equal([
        ["chain-record", "pass"],
        ["blob", "pass"],
        ["document", "pass"],
        ["spot-check", "pass"],
        ["node-history", "pass"],
      ]);

      const good = await sign(variant(base), env.nodeA);
      const altered: InferenceProof = { ...(await sign(variant(base), env.nodeA)) };
      const alteredDoc: InferenceProof = { ...altered, output: nudged(altered.output.tensors, 1) };
      const stranger = Wallet.createRandom();
      const foreign = await sign(
        variant(base, (u) => ({ ...u, node: stranger.address })),
        stranger,
      );
      const wrongModel = await sign(
        variant(base, (u) => ({ ...u, model: { ...u.model, version: 0, id: env.otherModel.modelId } })),
        env.nodeA,
      );
      const mixed = await anchorBatch(env, [good, alteredDoc, foreign, wrongModel], env.nodeA);
      const report = await v.verifyBatch(mixed.root);
      expect(report.ok).to.equal(false);
      expect(report).to.include({ passed: 1, failed: 3 });
      expect(report.proofs.map((p) => p.failures.map((f) => f.step))).to.deep.equal([
        [],
        ["signature"],
        ["signature"],
        ["model"],
      ]);
      expect(report.proofs[2].failures[0].detail).to.match(new RegExp(`${stranger.address} was never admitted`));
      expect(report.proofs[3].failures[0].detail).to.match(/the proof names Blob ID .* but the registry records/);
      const text = renderBatchReport(report);
      expect(text).to.match(/^batch 0x[0-9a-f]{64}: FAILED \(1 of 4 proofs pass\)/);
      expect(text).to.match(/FAIL {2}proof #1 .* signature: /);
      const thrown = (() => {
        try {
          assertVerified(report);
        } catch (error) {
          return error;
        }
        throw new Error("assertVerified accepted a failed report");
      })();
      expect(thrown).to.be.instanceOf(VerificationFailedError);
      expect((thrown as VerificationFailedError).message).to.match(
        /Batch 0x.* failed verification at step signature: proof #1/,
      );
    });

    it("fails a batch whose blob is missing, and one that was never anchored", async function () {
      const v = verifier(env);
      const missing = await anchorMissingBatch(env, [await sign(variant(base), env.nodeA)], env.nodeA);
      const report = await v.verifyBatch(missing.root);
      expect(report.steps.map((s) => s.status)).to.deep.equal(["pass", "fail"]);
      expect(report.steps[1].detail).to.match(/is not on Walrus/);
      expect(report).to.include({ ok: false, passed: 0, failed: 0 });
      const never = await v.verifyBatch(`0x${"34".repeat(32)}`);
      expect(never.steps[0]).to.include({ step: "chain-record", status: "fail" });
    });
  });

  describe("errors", function () {
    it("rejects malformed arguments with a usage error, before any check", async function () {
      const v = verifier(env);
      for (const [call, argument, message] of [
        [
          () => v.verifyProof("0x1234"),
          "commitment",
          /Invalid commitment "0x1234": expected 0x followed by 64 hex digits/,
        ],
        [() => v.verifyProof(`0x${"00".repeat(32)}`), "commitment", /must not be zero/],
        [() => v.verifyProof(env.batches[0].commitments[0], { index: -1 }), "index", /non-negative integer/],
        [() => v.verifyProof(env.batches[0].commitments[0], { root: "nope" }), "root", /Invalid batch root/],
        [
          () => v.verifyProof(env.batches[0].commitments[0], { reexecute: true, tolerance: { absolute: -1 } }),
          "tolerance",
          /absolute tolerance must be a finite number >= 0/,
        ],
        [() => v.verifyBatch("0x"), "root", /Invalid batch root/],
      ] as const) {
        const error = await rejection(call());
        expect(error).to.be.instanceOf(VerifierUsageError);
        expect(error).to.include({ argument, exitCode: 2, code: "USAGE" });
        expect(error.message).to.match(message);
      }
    });

    it("says which service cannot be reached: the Walrus aggregator, the chain", async function () {
      const noWalrus = verifier(env, {
        walrus: new WalrusClient({ aggregatorUrls: ["http://127.0.0.1:9"], shards: SHARDS, retries: 0 }),
      });
      const [batch] = env.batches;
      const walrus = await rejection(noWalrus.verifyProof(batch.commitments[0], { root: batch.root }));
      expect(walrus).to.be.instanceOf(ServiceUnreachableError);
      expect(walrus).to.include({ service: "walrus", exitCode: 2 });
      expect(walrus.message).to.match(
        /The Walrus aggregator at http:\/\/127\.0\.0\.1:9\/v1\/blobs\/.* cannot be reached/,
      );

      const provider = new JsonRpcProvider("http://127.0.0.1:9", undefined, { staticNetwork: false });
      try {
        const noChain = verifier(env, { client: StrataClient.connect(env.deployment, provider), timeoutMs: 500 });
        const chain = await rejection(noChain.verifyProof(batch.commitments[0]));
        expect(chain).to.be.instanceOf(ServiceUnreachableError);
        expect(chain).to.include({ service: "chain", url: "http://127.0.0.1:9" });
        expect(chain.message).to.match(
          /The chain RPC at http:\/\/127\.0\.0\.1:9 cannot be reached: .*(ECONNREFUSED|no answer within 500 ms)/,
        );
      } finally {
        provider.destroy();
      }
    });

    it("refuses a deployment that is not on the connected chain", async function () {
      const wrongChain = { ...env.deployment, chainId: 1 };
      const wrongAddress = {
        ...env.deployment,
        contracts: { ...env.deployment.contracts, ProofRegistry: Wallet.createRandom().address },
      };
      const chainError = await rejection(
        verifier(env, { client: StrataClient.connect(wrongChain, ethers.provider) }).verifyProof(base.requestId),
      );
      expect(chainError).to.be.instanceOf(VerifierUsageError);
      expect(chainError.message).to.match(/serves chain 31337, but the deployment "hardhat" is on chain 1/);
      const codeError = await rejection(
        verifier(env, { client: StrataClient.connect(wrongAddress, ethers.provider) }).verifyProof(base.requestId),
      );
      expect(codeError.message).to.match(/No ProofRegistry at 0x[0-9a-fA-F]{40} on chain 31337/);
    });
  });
});
