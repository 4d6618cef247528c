import { expect } from "chai";
import { Wallet, type Signer } from "ethers";
import {
  buildProof,
  checkEquivocation,
  encodeTensor,
  proofCommitment,
  ProofVersion,
  signProof,
  type InferenceProof,
  toBlobIdHex,
  type ProofParams,
} from "../src";
import { b32, modelId, RUNTIME } from "./fixtures";

const DOMAIN = {
  chainId: 31337,
  proofRegistry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  modelRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
};

function params(node: string, overrides: Partial<ProofParams> = {}): ProofParams {
  return {
    domain: DOMAIN,
    model: { id: modelId("model"), version: 0, blobId: toBlobIdHex(b32("model blob")), sha256: b32("model sha256") },
    inputs: [encodeTensor("x", "float32", [1, 2], new Float32Array([0.5, -1.25]))],
    outputs: [encodeTensor("y", "float32", [1, 2], new Float32Array([0.1, 0.9]))],
    runtime: RUNTIME,
    node,
    timestamp: 1_750_000_000,
    requestId: b32("request a"),
    ...overrides,
  };
}

const otherOutput = { outputs: [encodeTensor("y", "float32", [1, 2], new Float32Array([0.9, 0.1]))] };

async function signed(
  signer: Signer & { address: string },
  overrides: Partial<ProofParams> = {},
): Promise<InferenceProof> {
  return signProof(buildProof(params(signer.address, overrides), { version: ProofVersion.V2 }), signer);
}

describe("equivocation check", function () {
  const node = Wallet.createRandom();
  const other = Wallet.createRandom();

  it("accepts two proofs by one node of the same model, input and runtime with different outputs, in either order", async function () {
    const a = await signed(node);
    const b = await signed(node, { ...otherOutput, requestId: b32("request b"), timestamp: 1_750_000_100 });
    const found = checkEquivocation(a, b, DOMAIN);
    expect(found).to.deep.include({ equivocation: true, node: node.address });
    expect(found.equivocation && found.commitments).to.deep.equal([proofCommitment(a), proofCommitment(b)]);
    expect(found.equivocation && found.structs[1].outputHash).to.equal(b.output.hash);
    expect(checkEquivocation(b, a).equivocation).to.equal(true);
  });

  it("refuses two proofs that agree on the output", async function () {
    const a = await signed(node);
    const b = await signed(node, { requestId: b32("request b") });
    const result = checkEquivocation(a, b);
    expect(result).to.deep.equal({
      equivocation: false,
      reason: `the proofs have the same output hash ${a.output.hash}: they agree`,
    });
  });

  it("refuses the same proof given twice", async function () {
    const a = await signed(node);
    const result = checkEquivocation(a, a);
    expect(result.equivocation === false && result.reason).to.equal(`both are the same proof ${proofCommitment(a)}`);
  });

  it("refuses proofs of different inputs, model versions or runtimes, naming what differs", async function () {
    const a = await signed(node);
    const cases: [Partial<ProofParams>, RegExp][] = [
      [{ inputs: [encodeTensor("x", "float32", [1, 2], new Float32Array([1, 2]))] }, /their input hash differ/],
      [
        {
          model: {
            id: modelId("model"),
            version: 1,
            blobId: toBlobIdHex(b32("model blob")),
            sha256: b32("model sha256"),
          },
        },
        /their model version differ/,
      ],
      [{ runtime: { ...RUNTIME, intraOpNumThreads: 4 } }, /their runtime hash differ/],
    ];
    for (const [overrides, reason] of cases) {
      const b = await signed(node, { ...otherOutput, ...overrides });
      const result = checkEquivocation(a, b);
      expect(result.equivocation, String(reason)).to.equal(false);
      if (!result.equivocation) expect(result.reason).to.match(reason);
    }
  });

  it("refuses proofs signed by different nodes", async function () {
    const a = await signed(node);
    const b = await signed(other, otherOutput);
    const result = checkEquivocation(a, b);
    expect(result.equivocation === false && result.reason).to.match(/signed by different nodes/);
  });

  it("refuses a proof whose signature is not its node's", async function () {
    const a = await signed(node);
    const forged = { ...(await signed(other, otherOutput)), node: node.address } as InferenceProof;
    // The forged document claims `node`, but its signature (over a message naming `other`) recovers to someone else.
    const result = checkEquivocation(a, forged);
    expect(result.equivocation === false && result.reason).to.match(
      /second proof is signed by 0x[0-9a-fA-F]{40}, not by its node/,
    );
  });

  it("refuses proofs signed for another deployment than the one given", async function () {
    const a = await signed(node);
    const b = await signed(node, otherOutput);
    const elsewhere = { chainId: 1, proofRegistry: DOMAIN.proofRegistry };
    const result = checkEquivocation(a, b, elsewhere);
    expect(result.equivocation === false && result.reason).to.match(/first proof is signed for chain 31337/);
  });
});
