/**
 * `strata demo` (`npm run demo`): the whole story on embedded defaults, with no accounts, keys or servers to set up.
 * It starts a private devnet on free loopback ports (chain, Walrus store, registries, inference node), publishes a
 * model, runs inferences through the node, waits for the batch (a Walrus quilt) to be anchored, verifies a proof end to
 * end from its patch alone (the bytes fetched beside the quilt's size) with re-execution, then tampers with a copy — an
 * output changed and re-signed with the node's own key — and shows the verifier catching it. Last, a consumer contract
 * (the example ClassifierGate) requests an inference on-chain through InferenceRequests: the devnet node's request
 * watcher runs it, fulfils the request with its signed proof (checked on-chain) and the gate's callback admits the
 * applicant.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import {
  formatEther,
  JsonRpcProvider,
  parseEther,
  Wallet,
  type Addressable,
  type Interface,
  type Log,
  type LogDescription,
} from "ethers";
import { ClassifierGate__factory, InferenceRequests__factory, type Deployment } from "@strata/contracts";
import {
  binaryTensor,
  buildBatchV2,
  buildProof,
  decodeTensor,
  encodeBinaryTensor,
  encodeOnchainTensors,
  isPrivateProof,
  ProofVersion,
  signProof,
  StrataClient,
  tensorBytes,
  type InferenceProof,
  type Tensor,
} from "@strata/core";
import { buildMlp, publishModel } from "@strata/runtime";
import { renderReport, Verifier } from "@strata/verifier";
import { localNetworkClock, WalrusClient } from "@strata/walrus";
import { startDevnet } from "@strata/devkit";
import { keepStorage } from "../demo-keeper";
import { privateInference } from "../demo-private";
import { CliError } from "../errors";

const INFERENCES = 8;

export function demoCommand(): Command {
  return new Command("demo")
    .description(
      "the whole story on a private devnet: publish, infer, anchor, verify, tamper and catch it, and a contract that " +
        "requests an inference and receives its verified result",
    )
    .option("--keep", "keep the devnet's temporary directory")
    .action(async (flags: { keep?: boolean }) => {
      const ok = await runDemo(flags);
      process.exitCode = ok ? 0 : 1;
    });
}

async function timed<T>(run: () => Promise<T>): Promise<[T, string]> {
  const started = performance.now();
  const value = await run();
  const ms = performance.now() - started;
  return [value, ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`];
}

/** Runs the demo; resolves true when the proof verified and the tamper was caught. */
export async function runDemo(options: { keep?: boolean; out?: (text: string) => void } = {}): Promise<boolean> {
  const out = options.out ?? ((text: string) => process.stdout.write(text));
  const section = (title: string) => out(`\n== ${title}\n`);
  const line = (text: string) => out(`   ${text}\n`);
  const dir = await mkdtemp(join(tmpdir(), "strata-demo-"));
  const started = performance.now();
  section("1. Devnet: hardhat node, local Walrus store (1000 shards: true Blob IDs), registries, inference node");
  const devnet = await startDevnet({
    chainPort: 0,
    walrusPort: 0,
    nodePort: 0,
    dir,
    deploymentFile: join(dir, "deployment.json"),
    batchSize: INFERENCES,
    batchAgeMs: 1000,
    log: line,
  });
  try {
    const provider = new JsonRpcProvider(devnet.chain.url, undefined, { cacheTimeout: -1 });
    const publisher = new Wallet(devnet.publisherKey, provider);
    const nodeWallet = new Wallet(devnet.nodeKey, provider);
    const client = StrataClient.connect(devnet.deployment, provider);
    const walrus = new WalrusClient({ publisherUrl: devnet.walrus.url, aggregatorUrls: [devnet.walrus.url] });

    section("2. Publish a model: validate with ONNX Runtime, sha256 + Blob ID, upload to Walrus, register on-chain");
    const file = join(dir, "demo-mlp.onnx");
    await writeFile(file, buildMlp({ inputSize: 16, hidden: [64, 64], outputSize: 4, seed: 7 }));
    const [published, publishTime] = await timed(() =>
      publishModel({
        client: client.connect(publisher),
        walrus,
        file,
        name: "demo-mlp",
        epochs: 5,
        onStep: (s) => line(`- ${s}`),
      }),
    );
    line(`model ${published.name}@${published.index}  id ${published.modelId}`);
    line(`file ${published.size} bytes  sha256 ${published.sha256}`);
    line(`Walrus Blob ID ${published.blobId} (stored until epoch ${published.endEpoch})`);
    line(
      `metadata blob ${published.metadataBlobId}  inputs ${published.signature.inputs.map((s) => `${s.name} ${s.dtype}[${s.shape}]`).join(", ")}`,
    );
    line(
      `gas: createModel ${published.gasUsed.createModel ?? "-"}, publishVersion ${published.gasUsed.publishVersion}  (${publishTime})`,
    );

    section(`3. Run ${INFERENCES} inferences through the node (POST ${devnet.nodeUrl}/v1/infer)`);
    const [answers, inferTime] = await timed(() =>
      Promise.all(
        Array.from({ length: INFERENCES }, async (_, i) => {
          try {
            return await devnet.nodeClient.infer({
              model: "demo-mlp",
              inputs: {
                x: { dtype: "float32", dims: [1, 16], data: demoInput(i) },
              },
            });
          } catch (error) {
            throw new CliError("NODE_REFUSED", `the node refused inference ${i}: ${(error as Error).message}`, {
              cause: error,
            });
          }
        }),
      ),
    );
    for (const [i, a] of answers.entries()) {
      line(
        `#${i} y = [${(a.outputs.y.data as number[]).map((v) => v.toFixed(4)).join(", ")}]  proof ${a.proof.commitment} (${a.proof.status})`,
      );
    }
    line(`${INFERENCES} inferences, each signed (EIP-712) and journalled before the answer: ${inferTime}`);

    section("4. The node batches the proofs: one Walrus quilt (a patch per proof + an index patch), one anchorBatch");
    const commitment = answers[0].proof.commitment;
    const [status, anchorTime] = await timed(() => devnet.nodeClient.waitForAnchor(commitment, { intervalMs: 200 }));
    const receipt = await provider.getTransactionReceipt(status.txHash);
    const quiltId = status.quiltId ?? status.blobId;
    line(`batch root ${status.root}`);
    line(`quilt ${quiltId}`);
    line(`proof #0: patch ${status.patchId ?? "(none: not a quilt)"} (identifier = its commitment)`);
    line(
      `tx ${status.txHash}: gas ${receipt?.gasUsed} for ${INFERENCES} proofs (${(Number(receipt?.gasUsed) / INFERENCES).toFixed(0)} per proof)  (${anchorTime})`,
    );

    section("5. Verify proof #0 from its patch alone (the node's hint, checked), re-executing the inference");
    const verifier = new Verifier({ client, walrus, modelCacheDir: join(dir, "verifier-models") });
    const [report, verifyTime] = await timed(() =>
      verifier.verifyProof(commitment, { reexecute: true, nodeUrl: devnet.nodeUrl }),
    );
    out(renderReport(report).replace(/^/gm, "   ") + "\n");
    line(`(${verifyTime})`);
    // The whole-blob audit, for comparison: the quilt read whole and checked against its Blob ID.
    const audit = await verifier.verifyProof(commitment, { full: true, nodeUrl: devnet.nodeUrl });
    const quiltBytes = audit.fetched.location?.blobSize;
    const fromPatch = report.ok && report.fetched.location?.identifier !== undefined;
    if (quiltBytes !== undefined && fromPatch) {
      line(
        `read from Walrus: ${bytes(report.fetched.bytes)} (the proof's patch alone; its commitment is its integrity, ` +
          `no Blob ID recomputed), beside the quilt's ${bytes(quiltBytes)}: ` +
          `${(quiltBytes / report.fetched.bytes).toFixed(0)}x less; --full audited the whole quilt: ` +
          `${audit.ok ? "its Blob ID matches" : "FAILED"}`,
      );
    }

    section("6. Tamper: change one output of a copy, re-sign it with the node's own key, store and anchor it");
    const original = (await verifier.showProof(commitment, { nodeUrl: devnet.nodeUrl })).document;
    if (isPrivateProof(original)) throw new CliError("INTERNAL", "the demo's first inference is a public proof");
    const tampered = await tamperOutput(original, nodeWallet);
    const copy = buildBatchV2([tampered]);
    const stored = await walrus.storeQuilt(copy.quilts[0].patches, { epochs: 5 });
    const anchored = await (
      await client.proofs.connect(nodeWallet).anchorBatch(copy.root, stored.blobId, 1, stored.endEpoch)
    ).wait();
    const tamperedCommitment = copy.commitments[0];
    line(
      `y[0] ${decodeTensor(original.output.tensors[0]).values[0]} -> ${decodeTensor(tampered.output.tensors[0]).values[0]}`,
    );
    line(`tampered proof ${tamperedCommitment} in batch ${copy.root}`);
    line(
      `quilt ${anchored.blobId} (stored until epoch ${anchored.endEpoch}), anchored in tx ${anchored.txHash} ` +
        `(gas ${anchored.gasUsed})`,
    );
    const caught = await verifier.verifyProof(tamperedCommitment, { root: copy.root, reexecute: true, nodeUrl: false });
    out(renderReport(caught).replace(/^/gm, "   ") + "\n");
    await verifier.close();

    section("7. A contract consumes inference: ClassifierGate requests it on-chain, the node fulfils it, verified");
    const y0 = answers[0].outputs.y.data as number[];
    const gated = await requestThroughGate({
      deployment: devnet.deployment,
      applicant: publisher,
      modelId: published.modelId,
      input: demoInput(0),
      acceptedClass: y0.indexOf(Math.max(...y0)),
      line,
    });

    section("8. Private inference: an encrypted request; an outsider reads nothing, its owner re-executes it");
    const privateVerifier = new Verifier({ client, walrus, modelCacheDir: join(dir, "verifier-models") });
    const sealed = await privateInference({
      node: devnet.nodeClient,
      verifier: privateVerifier,
      nodeUrl: devnet.nodeUrl,
      input: demoInput(100),
      line,
      out,
    }).finally(() => privateVerifier.close());

    section("9. Nothing silently expires: the keeper renews ahead of expiry and records the new end epochs on-chain");
    const kept = await keepStorage({
      client,
      walrus,
      store: devnet.walrus,
      clock: localNetworkClock(devnet.walrus.url),
      provider,
      publisher,
      node: nodeWallet,
      commitment,
      nodeUrl: devnet.nodeUrl,
      dir,
      line,
    });

    const total = ((performance.now() - started) / 1000).toFixed(1);
    const success = report.ok && fromPatch && audit.ok && !caught.ok && gated && sealed && kept;
    section(
      success
        ? `Done in ${total} s: the genuine proof verified from its patch alone (re-executed bit-exact), the ` +
            "tampered copy was caught, a contract received a verified inference through its callback, and an " +
            "encrypted inference was unreadable to an outsider and re-executed by its owner, and the keeper renewed " +
            "every lease before it expired."
        : `Done in ${total} s: UNEXPECTED — genuine proof ok=${report.ok} (from its patch: ${fromPatch}), audit ` +
            `ok=${audit.ok}, tampered proof ok=${caught.ok}, contract callback delivered=${gated}, encrypted ` +
            `inference ok=${sealed}, storage kept=${kept}.`,
    );
    return success;
  } finally {
    await devnet.stop();
    if (!options.keep) await rm(dir, { recursive: true, force: true });
    else line(`kept ${dir}`);
  }
}

/** The input of inference `i`: x[j] = sin(i + j). */
function demoInput(i: number): number[] {
  return Array.from({ length: 16 }, (_, j) => Math.sin(i + j));
}

/** The callback of a request cannot complete the demo's gate section. */
const GATE_WAIT_MS = 60_000;

/**
 * Section 7: deploys a ClassifierGate over the devnet's InferenceRequests (admitting the class `acceptedClass`), asks
 * it for access with `input` inline and a fee, waits for the devnet node's request watcher to fulfil the request, and
 * prints the request, the fulfilment (tx, gas, the callback) and its effect (the decision; `enter()` let through).
 * Resolves whether the callback was delivered and admitted the applicant.
 */
async function requestThroughGate(options: {
  deployment: Deployment;
  applicant: Wallet;
  modelId: string;
  input: number[];
  acceptedClass: number;
  line: (text: string) => void;
}): Promise<boolean> {
  const { deployment, applicant, line } = options;
  const address = deployment.contracts.InferenceRequests;
  if (address === undefined) throw new CliError("INTERNAL", "the devnet deployment has no InferenceRequests");
  const provider = applicant.provider!;
  const requests = InferenceRequests__factory.connect(address, applicant);
  const gate = await new ClassifierGate__factory(applicant).deploy(
    address,
    options.modelId,
    await requests.LATEST(),
    "y",
    options.acceptedClass,
    200_000,
  );
  const deployed = await (await gate.waitForDeployment()).deploymentTransaction()?.wait();
  line(
    `ClassifierGate ${await gate.getAddress()} (gas ${deployed?.gasUsed}): admits an account when the argmax of the ` +
      `model's y is class ${options.acceptedClass}`,
  );

  const input = encodeOnchainTensors([encodeBinaryTensor("x", "float32", [1, 16], Float32Array.from(options.input))]);
  const now = (await provider.getBlock("latest"))!.timestamp;
  const fee = parseEther("0.001");
  const requested = (await (await gate.requestAccess(input, now + 600, { value: fee })).wait())!;
  const event = parsed(requests, requested.logs, "InferenceRequested");
  if (!event) throw new CliError("INTERNAL", `requestAccess ${requested.hash} emitted no InferenceRequested`);
  const requestId = event.args.requestId as string;
  line(`request ${requestId}`);
  line(
    `  requestAccess tx ${requested.hash}: gas ${requested.gasUsed} (InferenceRequests.requestInferenceInline, ` +
      `${(input.length - 2) / 2} bytes of input inline, fee ${formatEther(fee)} ETH in escrow, deadline in 10 min)`,
  );

  const [fulfilled, waitTime] = await timed(async () => {
    const filter = requests.filters.InferenceFulfilled(requestId);
    for (const until = Date.now() + GATE_WAIT_MS; Date.now() < until;) {
      const logs = await requests.queryFilter(filter, requested.blockNumber);
      if (logs.length > 0) return logs[0];
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return undefined;
  });
  if (!fulfilled) {
    line(`no fulfilment within ${GATE_WAIT_MS / 1000} s`);
    return false;
  }
  const receipt = (await provider.getTransactionReceipt(fulfilled.transactionHash))!;
  const callback = ["none", "delivered", "failed"][Number(fulfilled.args.callback)] ?? "unknown";
  line(
    `  fulfil tx ${receipt.hash} by node ${fulfilled.args.node}: gas ${receipt.gasUsed} with the callback (signature, model, input ` +
      `and deadline checked on-chain; callback ${callback})  (${waitTime} after the request)`,
  );
  line(`  proof ${fulfilled.args.commitment} (the node's signed proof, anchored with its batches)`);
  const decided = parsed(gate, receipt.logs, "AccessDecided");
  const admitted = decided?.args.admitted === true;
  if (decided) {
    line(`  callback: AccessDecided class ${decided.args.class_}, admitted ${admitted}`);
  }
  if (admitted) {
    const entered = (await (await gate.enter()).wait())!;
    line(`  effect: isAdmitted(${applicant.address}) = true; enter() let through (tx ${entered.hash})`);
  }
  return callback === "delivered" && admitted;
}

/** The first log of `logs` that `contract` emitted as `name`, parsed. */
function parsed(
  contract: { interface: Interface; target: string | Addressable },
  logs: readonly Log[],
  name: string,
): LogDescription | undefined {
  for (const log of logs) {
    if (typeof contract.target !== "string" || log.address.toLowerCase() !== contract.target.toLowerCase()) continue;
    const description = contract.interface.parseLog(log);
    if (description?.name === name) return description;
  }
  return undefined;
}

/** A copy of `proof` whose first output value is changed, re-hashed and re-signed by `signer` (a v2 proof). */
async function tamperOutput(proof: InferenceProof, signer: Wallet): Promise<InferenceProof> {
  const strip = (t: Tensor): Tensor => binaryTensor(t.name, t.dtype, t.dims, tensorBytes(t));
  const [first, ...rest] = proof.output.tensors;
  const values = Float32Array.from(decodeTensor(first).values as Float32Array);
  values[0] += 0.5;
  const unsigned = buildProof(
    {
      domain: proof.domain,
      model: proof.model,
      inputs: proof.input.tensors.map(strip),
      outputs: [encodeBinaryTensor(first.name, "float32", first.dims, values), ...rest.map(strip)],
      runtime: proof.runtime,
      node: proof.node,
      timestamp: proof.timestamp,
    },
    { version: ProofVersion.V2 },
  );
  return signProof(unsigned, signer);
}

function bytes(n: number): string {
  return `${n.toLocaleString("en-US")} bytes`;
}
