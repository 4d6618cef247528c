/**
 * The demo's private inference (issue 12): an encrypted request, what an outsider holding the proof's bytes can read
 * (no byte of the tensors), the verification without the data (every check but re-execution, which is not possible)
 * and the owner's verification with re-execution.
 */
import { encodePrivateProof, formatPrivacyPublicKey, generatePrivacyKey, isPrivateProof } from "@strata/core";
import type { NodeClient } from "@strata/devkit";
import { renderReport, type Verifier } from "@strata/verifier";
import { CliError } from "./errors";

/** Runs the section; true when the outsider read nothing and the owner's re-execution passed. */
export async function privateInference(options: {
  node: NodeClient;
  verifier: Verifier;
  nodeUrl: string;
  input: number[];
  line: (text: string) => void;
  out: (text: string) => void;
}): Promise<boolean> {
  const { node, verifier, nodeUrl, line, out } = options;
  const requester = generatePrivacyKey();
  const recipient = formatPrivacyPublicKey(requester.publicKey);
  line(`requester key ${recipient} (X25519; the private key stays with the requester)`);
  const answer = await node
    .infer({
      model: "demo-mlp",
      inputs: { x: { dtype: "float32", dims: [1, 16], data: options.input } },
      privacy: "encrypted",
      recipient,
    })
    .catch((error: unknown) => {
      throw new CliError("NODE_REFUSED", `the node refused the encrypted inference: ${(error as Error).message}`, {
        cause: error,
      });
    });
  const commitment = answer.proof.commitment;
  await node.waitForAnchor(commitment, { intervalMs: 200 });
  line(`encrypted proof ${commitment} anchored; the answer's outputs went to the caller only`);

  const record = await verifier.showProof(commitment, { nodeUrl });
  const doc = record.document;
  if (!isPrivateProof(doc) || doc.envelope === undefined) {
    throw new CliError("INTERNAL", `proof ${commitment} is not an encrypted proof`);
  }
  const stored = Buffer.from(encodePrivateProof(doc));
  const plaintext = Buffer.from(new Float32Array(options.input).buffer);
  const outputs = Buffer.from(new Float32Array(answer.outputs.y.data as number[]).buffer);
  const unread = stored.indexOf(plaintext) === -1 && stored.indexOf(outputs) === -1;
  line(
    `an outsider reads the proof's ${stored.length} bytes from Walrus: tensor hashes and a ${doc.envelope.bytes.length}-byte ` +
      `envelope; the input's ${plaintext.length} bytes and the output's ${outputs.length} appear ${unread ? "nowhere" : "IN IT"}`,
  );
  const outsider = await verifier.verifyProof(commitment, { nodeUrl });
  out(renderReport(outsider).replace(/^/gm, "   ") + "\n");
  const owner = await verifier.verifyProof(commitment, { nodeUrl, reveal: { privateKey: requester.privateKey } });
  out(renderReport(owner).replace(/^/gm, "   ") + "\n");
  const reexecuted = owner.steps.find((s) => s.step === "reexecution")?.status === "pass";
  const notPossible = outsider.steps.find((s) => s.step === "reexecution")?.status === "unavailable";
  return unread && outsider.ok && notPossible && owner.ok && reexecuted;
}
