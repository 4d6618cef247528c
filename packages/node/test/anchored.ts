/**
 * Test helper: what a node anchored, read back from the chain's events and Walrus as a verifier would: a
 * `BatchAnchored` names one blob (a v1 batch blob or one quilt), a `QuiltsAnchored` the quilts of a root.
 */
import { expect } from "chai";
import type { ProofRegistry } from "@strata/contracts";
import { blobIdFromBytes32, decodeBatch, decodeBatchQuilt } from "@strata/core";
import { decodeQuilt, type WalrusClient } from "@strata/walrus";

/** Every batch anchored (by `node`, when given): its root and the commitments its blobs hold, checked against it. */
export async function anchoredBatches(
  contract: ProofRegistry,
  reader: Pick<WalrusClient, "read">,
  nShards: number,
  node?: string,
): Promise<{ root: string; commitments: string[] }[]> {
  const events = [
    ...(await contract.queryFilter(contract.filters.BatchAnchored(undefined, node))).map((e) => ({
      root: e.args.root,
      blobs: [e.args.blobId],
    })),
    ...(await contract.queryFilter(contract.filters.QuiltsAnchored(undefined, node))).map((e) => ({
      root: e.args.root,
      blobs: [...e.args.quilts],
    })),
  ];
  const batches = [];
  for (const event of events) {
    const commitments: string[] = [];
    for (const blob of event.blobs) {
      const bytes = await reader.read(blobIdFromBytes32(blob));
      if (bytes[0] === 0x7b) {
        // A v1 batch blob: canonical JSON.
        const batch = decodeBatch(bytes);
        expect(batch.root).to.equal(event.root);
        commitments.push(...batch.commitments);
        continue;
      }
      const quilt = decodeQuilt(bytes, { nShards });
      const { index } = decodeBatchQuilt(
        quilt.patches.map((p) => ({ identifier: p.identifier, contents: quilt.patch(p) })),
      );
      expect(index.root).to.equal(event.root);
      commitments.push(...index.commitments);
    }
    batches.push({ root: event.root, commitments });
  }
  return batches;
}
