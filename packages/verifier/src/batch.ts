import { getAddress } from "ethers";
import {
  activeAtPosition,
  decodeBatch,
  decodeAnyProof,
  provesBatchInclusion,
  StrataError,
  type ActiveInterval,
  type BatchRoot,
  type ModelId,
  type ModelVersion,
  type ProofBatch,
} from "@strata/core";
import { checkActivity, checkDomain, checkModel, checkSignature, describeIntervals, fail, pass } from "./checks";
import { inspected, type Outcome, type VerifierContext } from "./context";
import { asServiceError } from "./errors";
import {
  isoTime,
  short,
  type Location,
  type BatchProofOutcome,
  type BatchReport,
  type BatchStepName,
  type StepName,
} from "./report";
import { recoveryNote } from "./signature";
import { batchRecord } from "./record";
import { readBlob } from "./blob";
import { decodeQuiltBatch, QuiltSource, readQuilts } from "./quilt";
import type { CheckedBatch } from "./sources";
import type { Anchor } from "./checks";
import { storageSummary } from "./lease";

/**
 * Verifies every proof of a batch with one fetch: the chain record, the blob's integrity, the document (core's
 * `decodeBatch`: every proof's shape and hashes, every commitment against the tree, the tree against its root), the
 * root and count against the chain, the source's spot check (one random proof through `ProofRegistry.isIncluded`, for
 * a stored batch), then per proof the Merkle inclusion off-chain, the signature by the anchoring node, the node's
 * activity, the domain and the model reference (model versions and the node's history are read once).
 */
export class BatchPipeline {
  constructor(private readonly ctx: VerifierContext) {}

  async run(root: BatchRoot, nodeGiven: string | undefined): Promise<BatchReport> {
    const { value, traffic } = await this.ctx.metered(() => this.runSteps(root, nodeGiven));
    return { ...value, fetched: { ...value.fetched, ...traffic } };
  }

  private async runSteps(root: BatchRoot, nodeGiven: string | undefined): Promise<BatchReport> {
    const started = performance.now();
    const steps: BatchReport["steps"] = [];
    const timings: Partial<Record<StepName | BatchStepName, number>> = {};
    const spent = { chainMs: 0, fetchMs: 0, decodeMs: 0, checkMs: 0 };
    const proofs: BatchProofOutcome[] = [];
    const read: { location?: Location; anchor?: Anchor; versions?: ModelVersion[] } = {};
    const finish = async (): Promise<BatchReport> => {
      const storage = storageSummary(
        this.ctx.settings.clock,
        await this.ctx.epochNow(),
        read.anchor,
        read.versions ?? [],
      );
      const totalMs = performance.now() - started;
      const passed = proofs.filter((p) => p.ok).length;
      const note = proofs.length > 0 ? recoveryNote() : undefined;
      return {
        ok: steps.every((s) => s.status !== "fail") && proofs.length > 0 && passed === proofs.length,
        root,
        steps,
        proofs,
        passed,
        failed: proofs.length - passed,
        ...(note === undefined ? {} : { notes: [note] }),
        // The traffic is filled in by `run`.
        fetched: { bytes: 0, reads: 0, ...(read.location === undefined ? {} : { location: read.location }) },
        storage,
        timings: {
          totalMs,
          steps: timings,
          ...spent,
          proofsPerSecond: proofs.length / (totalMs / 1000),
          checkedPerSecond: proofs.length / ((spent.decodeMs + spent.checkMs) / 1000),
        },
      };
    };
    const step = async <T>(
      name: BatchStepName,
      bucket: keyof typeof spent,
      check: () => Outcome<T> | Promise<Outcome<T>>,
    ): Promise<T | undefined> => {
      const { outcome, ms } = await this.ctx.runCheck(check);
      timings[name] = ms;
      spent[bucket] += ms;
      steps.push({ step: name, status: outcome.status, detail: outcome.detail, values: outcome.values });
      return outcome.status === "pass" ? outcome.value : undefined;
    };

    const source = await step("chain-record", "chainMs", async () =>
      batchRecord(this.ctx, root, nodeGiven ?? (await this.batchSigner(root)), { full: true }),
    );
    if (!source) return finish();
    const { anchor } = source;
    read.anchor = anchor;
    let batch: CheckedBatch | undefined;
    if (source instanceof QuiltSource) {
      // Each quilt read once, whole (its Blob ID recomputed), then every patch checked against the index and the root.
      const quilts = await step("blob", "fetchMs", () => readQuilts(this.ctx, source));
      if (!quilts) return finish();
      read.location = {
        blobId: anchor.blobId,
        blobSize: quilts.reduce((n, q) => n + q.bytes.byteLength, 0),
        quilts: quilts.length,
        full: true,
      };
      batch = await step("document", "decodeMs", () => decodeQuiltBatch(this.ctx, source, quilts));
    } else {
      // decodeBatch reads the whole document: no lenient container parse first.
      const fetched = await step("blob", "fetchMs", () => readBlob(this.ctx, anchor, "caller-root", false));
      if (!fetched) return finish();
      read.location = { blobId: anchor.blobId, blobSize: fetched.bytes.byteLength };
      batch = await step("document", "decodeMs", (): Outcome<ProofBatch> => {
        let decoded: ProofBatch;
        try {
          decoded = decodeBatch(fetched.bytes);
        } catch (error) {
          if (error instanceof StrataError) return fail(`the batch document is invalid: ${error.message}`, {});
          throw error;
        }
        const values = { count: decoded.count, anchoredCount: anchor.count ?? null, root: decoded.root };
        if (decoded.root !== root) {
          return fail(`the document's tree has root ${decoded.root}, not the anchored ${root}`, values);
        }
        if (decoded.count !== anchor.count) {
          return fail(`the document holds ${decoded.count} proofs but the chain records ${anchor.count}`, values);
        }
        return {
          ...pass(
            `${decoded.count} proofs, each well formed and committing to its tree leaf; the tree's root is the anchored one`,
            values,
          ),
          value: decoded,
        };
      });
    }
    if (!batch) return finish();
    await step("spot-check", "chainMs", () => source.spotCheck(batch));
    const intervals = await step("node-history", "chainMs", async (): Promise<Outcome<ActiveInterval[]>> => {
      const found = await this.ctx.nodeIntervals(anchor.node);
      const values = { node: anchor.node, anchoredAt: anchor.anchoredAt, intervals: describeIntervals(found) };
      const active = activeAtPosition(found, { blockNumber: anchor.blockNumber, logIndex: anchor.logIndex });
      if (!active) {
        return fail(
          `the anchoring node ${anchor.node} was not active when it anchored, at ${isoTime(anchor.anchoredAt)} ` +
            `(active ${describeIntervals(found)})`,
          values,
        );
      }
      return {
        ...pass(
          `the anchoring node ${short(anchor.node)} was active when it anchored (active ${describeIntervals(found)})`,
          values,
        ),
        value: found,
      };
    });
    const t0 = performance.now();
    const keys = new Map<string, { id: ModelId; version: number }>();
    for (const p of batch.proofs)
      keys.set(`${p.model.id}:${p.model.version}`, { id: p.model.id, version: p.model.version });
    const versions = new Map<string, ModelVersion | Error>();
    await Promise.all(
      [...keys].map(async ([key, m]) => versions.set(key, await this.ctx.modelVersion(m.id, m.version))),
    ).catch((error: unknown) => {
      throw asServiceError(error, this.ctx.chainUrl) ?? error;
    });
    spent.chainMs += performance.now() - t0;
    read.versions = [...versions.values()].filter((v): v is ModelVersion => !(v instanceof Error));

    const t1 = performance.now();
    const domain = this.ctx.client.proofDomain;
    const foreignSigners = new Map<number, string>();
    batch.proofs.forEach((doc, index) => {
      const commitment = batch.commitments[index];
      const failures: BatchProofOutcome["failures"] = [];
      if (!provesBatchInclusion(root, commitment, batch.inclusions[index].proof)) {
        failures.push({ step: "inclusion", detail: `its Merkle proof does not verify under ${short(root)}` });
      }
      const signature = checkSignature(doc, commitment, anchor.node);
      if (signature.status === "fail") {
        failures.push({ step: "signature", detail: signature.detail });
        if (signature.recovered !== null) foreignSigners.set(index, signature.recovered);
      }
      if (intervals !== undefined) {
        const activity = checkActivity(doc, anchor, intervals, this.ctx.settings.clockSkewSeconds);
        if (activity.status === "fail") failures.push({ step: "node-active", detail: activity.detail });
      }
      const domainCheck = checkDomain(doc, domain);
      if (domainCheck.status === "fail") failures.push({ step: "domain", detail: domainCheck.detail });
      const model = checkModel(doc, versions.get(`${doc.model.id}:${doc.model.version}`)!);
      if (model.status === "fail") failures.push({ step: "model", detail: model.detail });
      proofs.push({ index, commitment, ok: failures.length === 0, failures });
    });
    spent.checkMs += performance.now() - t1;
    // Say which foreign signers are not nodes at all (one registry read per distinct signer).
    const t2 = performance.now();
    for (const [index, signer] of foreignSigners) {
      if (await this.ctx.everAdmitted(signer)) continue;
      const failure = proofs[index].failures.find((f) => f.step === "signature")!;
      failure.detail += ` (${signer} was never admitted to the NodeRegistry)`;
    }
    spent.chainMs += performance.now() - t2;
    return finish();
  }

  /**
   * The node whose batch `root` is to be verified when the caller names none: among the nodes that anchored or
   * announced it (anchored first), the first whose blob's proofs it signed; else the first anchoring node.
   */
  private async batchSigner(root: BatchRoot): Promise<string | undefined> {
    const references = (await this.ctx.client.proofs.batchReferences(root))
      .sort((a, b) => Number(b.anchored) - Number(a.anchored))
      .slice(0, this.ctx.settings.maxScanBatches);
    for (const reference of references) {
      const index = await this.ctx.quiltIndex(reference.blobId, reference.root);
      if (index.found) {
        // A batch in quilts: the first proof's patch names its node (the quilt itself is read whole later, once).
        const first = index.view?.values[0];
        const patch = first === undefined ? undefined : await this.ctx.proofPatch(reference.blobId, first);
        const node = patch?.found && patch.rejected === undefined ? nodeOf(decodeAnyProof(patch.bytes)) : undefined;
        if (node?.toLowerCase() === reference.node.toLowerCase()) return getAddress(reference.node);
        continue;
      }
      const fetched = await this.ctx.fetchReferenced(reference.blobId, true);
      if (typeof fetched === "string") continue;
      const container = inspected(fetched);
      if (container === undefined) continue;
      if (nodeOf(container.proofs[0])?.toLowerCase() === reference.node.toLowerCase()) {
        return getAddress(reference.node);
      }
    }
    return references[0] === undefined ? undefined : getAddress(references[0].node);
  }
}

/** The `node` a raw proof document names, if it names one. */
function nodeOf(raw: unknown): string | undefined {
  const node = (raw as { node?: unknown } | undefined)?.node;
  return typeof node === "string" ? node : undefined;
}
