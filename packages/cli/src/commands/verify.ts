/**
 * `strata verify <commitment>`: verifies an inference proof end to end and prints a report (one line per check, or
 * JSON). `strata proof show <commitment>`: prints a proof's document, where it lives and who anchored it when.
 *
 * `strata verify <commitment> --challenge [--against <commitment2>]` then slashes the proof's node on-chain when the
 * two proofs (the second searched for in the node's batches without --against) are an equivocation: challenge.ts.
 *
 * Exit status: 0 when every requested check passes, 1 when a check fails, 2 for a usage error or a service (chain,
 * Walrus) that cannot be reached. The message on stderr names the failed step and why.
 */
import { resolve } from "node:path";
import { Command } from "commander";
import {
  describeFetched,
  describeStorage,
  isoTime,
  renderReport,
  VerificationError,
  VerificationFailedError,
  Verifier,
  VerifierUsageError,
  type ProofRecord,
  type VerificationReport,
} from "@strata/verifier";
import {
  anyProofToJson,
  blobIdToBytes32,
  decodeTensor,
  isPrivateProof,
  proofModelBlobId,
  type AnyInferenceProof,
  type InferenceProof,
} from "@strata/core";
import type { NetworkClock } from "@strata/walrus";
import { positiveInteger, walrusClock } from "../config-walrus";
import { resolveSettings, type Settings } from "../config";
import { chainOptions, output, type ChainCommandFlags } from "../options";
import { ChallengeRefusedError, challengeEquivocation, findConflicting, slashLines, type Slash } from "../challenge";
import { discloseAction, revealOf, revealOptions, type RevealFlags } from "./privacy";

interface LocateFlags extends ChainCommandFlags {
  root?: string;
  index?: string;
  scanBatches: string;
  scanEvents: string;
  maxBlobBytes: string;
  timeout?: string;
  clockSkew: string;
  nodeHint: boolean;
  full?: boolean;
}

interface VerifyFlags extends LocateFlags, RevealFlags {
  challenge?: boolean;
  against?: string;
  reexecute?: boolean;
  tolerance?: string;
  relTolerance?: string;
  modelCache: string;
}

/** The flags `verify` and `proof show` share: where the proof is, and how far to search for it. */
function locateOptions(command: Command): Command {
  return chainOptions(command)
    .option("--root <root>", "the batch root the proof is anchored under (skips finding its batch)")
    .option("--index <n>", "the proof's index in its batch (checked against the batch's tree)")
    .option("--scan-batches <n>", "how many of the newest anchored or announced batches to search for the proof", "256")
    .option("--scan-events <n>", "how many anchoring events to consider when searching for the proof", "10000")
    .option("--max-blob-bytes <n>", "the largest proof or batch blob to read, in bytes", String(64 * 1024 * 1024))
    .option("--no-node-hint", "do not ask the node (--node-url) where the proof's batch is")
    .option("--timeout <ms>", "how long the chain, a node or an aggregator may take to answer (default 10000)")
    .option("--clock-skew <s>", "how far a proof's timestamp (the node's clock) may be from the chain's clock", "300")
    .option(
      "--full",
      "a proof in a quilt: also read the whole quilt and check it against its Blob ID (a whole-blob audit; by " +
        "default only the proof's patch and the quilt's index patch are read)",
    );
}

export function verifyCommand(): Command {
  const command = locateOptions(
    new Command("verify")
      .summary("verify an inference proof end to end")
      .description(
        "Verify an inference proof: its anchor on-chain (single, or a batch found by --root, the node's hint or a scan " +
          "of batch events), its Walrus blob (Blob ID recomputed) or, in a quilt, its patch alone (its integrity is its " +
          "commitment; --full reads the quilt whole too), its commitment, its Merkle inclusion, the " +
          "node's EIP-712 signature and activity, its domain and its model reference; with --reexecute, re-run the " +
          "inference with the model from Walrus. Exit 0 when every check passes, 1 when one fails, 2 for usage errors " +
          "or unreachable services.",
      )
      .argument("<commitment>", "the proof commitment (bytes32 hex)")
      .option("--reexecute", "fetch the model from Walrus (verified by sha256) and re-run the inference")
      .option("--tolerance <abs>", "compare re-executed outputs within this absolute tolerance (default: bit for bit)")
      .option("--rel-tolerance <rel>", "... and within this relative tolerance")
      .option("--model-cache <dir>", "where re-executed models are cached", ".strata/verifier/models")
      .option(
        "--challenge",
        "when this proof and another by its node are an equivocation (same model, input and runtime, different " +
          "outputs), slash the node through InferenceRequests.slashEquivocation, signed with the key (--key-file, " +
          "STRATA_KEY_FILE or STRATA_PRIVATE_KEY). The other proof is --against's, else searched for in the newest " +
          "--scan-batches batches of the node; any pair that is not an equivocation is refused and nothing is sent",
      )
      .option("--against <commitment>", "with --challenge: the other proof of the pair (located like the first)"),
  );
  return revealOptions(command).action(async (commitment: string, flags: VerifyFlags) =>
    withVerifier(flags, async (verifier, settings) => {
      if (flags.challenge !== true && flags.against !== undefined) {
        throw new VerifierUsageError("--against", "--against is for --challenge");
      }
      const reveal = await revealOf(flags);
      const report = await verifier.verifyProof(commitment, {
        ...locate(flags),
        ...(reveal === undefined ? {} : { reveal }),
        reexecute: flags.reexecute === true,
        tolerance: {
          ...(flags.tolerance === undefined ? {} : { absolute: number("--tolerance", flags.tolerance) }),
          ...(flags.relTolerance === undefined ? {} : { relative: number("--rel-tolerance", flags.relTolerance) }),
        },
      });
      if (flags.challenge !== true) {
        output(flags.json, report, [renderReport(report)]);
        if (!report.ok) fail(new VerificationFailedError(report));
        return;
      }
      await challenge(verifier, settings, report, commitment, flags);
    }),
  );
}

export function proofCommand(): Command {
  const proof = new Command("proof").description(
    "show inference proofs: the document, where it lives, who anchored it",
  );
  proof.addCommand(
    locateOptions(
      new Command("show")
        .description(
          "Print a proof's document, where it lives (Walrus Blob ID, or quilt and patch ID; batch root and index), " +
            "the bytes fetched, and when and by whom it was anchored (tx hash). Its blob is checked (Blob ID " +
            "recomputed; a patch by its commitment) and its commitment recomputed; run `strata verify` for every " +
            "other check.",
        )
        .argument("<commitment>", "the proof commitment (bytes32 hex)"),
    ).action(async (commitment: string, flags: LocateFlags) =>
      withVerifier(flags, async (verifier) => {
        const record = await verifier.showProof(commitment, locate(flags));
        output(flags.json, showJson(record), showLines(record));
      }),
    ),
  );
  proof.addCommand(
    locateOptions(
      new Command("disclose")
        .description(
          "Print the disclosure key (strata-dk1:...) of one encrypted proof: it opens that proof's tensors (`strata " +
            "verify --disclosure-key`) and nothing else; the private key is neither printed nor derivable from it.",
        )
        .argument("<commitment>", "the proof commitment (bytes32 hex)")
        .requiredOption(
          "--privacy-key <sk>",
          "the requester's private key (strata-sk2:... or strata-sk1:...) or @file",
        ),
    ).action(async (commitment: string, flags: LocateFlags & { privacyKey: string }) =>
      withVerifier(flags, (verifier) => discloseAction((c) => verifier.showProof(c, locate(flags)), flags, commitment)),
    ),
  );
  return proof;
}

// ---------------------------------------------------------------------------------------------------------------------

/** Runs `body` with a verifier of the configured deployment; maps verifier errors to exit statuses 1 and 2. */
async function withVerifier(
  flags: VerifyFlags | LocateFlags,
  body: (verifier: Verifier, settings: Settings) => Promise<void>,
) {
  let settings: Settings | undefined;
  let verifier: Verifier | undefined;
  try {
    settings = resolveSettings(flags);
    const timeoutMs = flags.timeout === undefined ? undefined : positiveInteger("--timeout", flags.timeout);
    verifier = new Verifier({
      client: settings.reader(),
      walrus: settings.walrus,
      ...(flags.nodeHint ? { nodeUrl: settings.nodeUrl } : {}),
      maxScanBatches: positiveInteger("--scan-batches", flags.scanBatches),
      maxScanEvents: positiveInteger("--scan-events", flags.scanEvents),
      maxBlobBytes: positiveInteger("--max-blob-bytes", flags.maxBlobBytes),
      clockSkewSeconds: nonNegativeInteger("--clock-skew", flags.clockSkew),
      ...("modelCache" in flags ? { modelCacheDir: resolve(flags.modelCache) } : {}),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      clock: verifierClock(settings),
    });
    await body(verifier, settings);
  } catch (error) {
    if (!(error instanceof VerificationError)) throw error;
    fail(error, flags.json === true);
  } finally {
    await verifier?.close();
    // A JSON-RPC provider that never reached its chain keeps retrying: stop it so the process can exit.
    settings?.provider.destroy();
  }
}

/**
 * The epoch clock of the configured Walrus network, for the report's "stored until" lines and expiry: a network's
 * schedule, or for a local store (no schedule) its own clock, read from the aggregator the verifier reads from.
 */
function verifierClock(settings: Settings): NetworkClock {
  return walrusClock(settings.walrusConfig, undefined, "aggregator");
}

/**
 * `verify --challenge`: prints the first proof's report, reads both proofs and slashes their node when they are an
 * equivocation (see challenge.ts); a refused pair fails with exit status 1 and sends nothing.
 */
async function challenge(
  verifier: Verifier,
  settings: Settings,
  report: VerificationReport,
  first: string,
  flags: VerifyFlags,
): Promise<void> {
  const a = publicProof((await verifier.showProof(first, locate(flags))).document, first);
  const deployment = settings.deployment();
  const domain = { chainId: deployment.chainId, proofRegistry: deployment.contracts.ProofRegistry };
  let b: InferenceProof;
  if (flags.against !== undefined) {
    // The second proof is found on its own (--root and --index are the first's).
    b = publicProof(
      (await verifier.showProof(flags.against, locate({ ...flags, root: undefined, index: undefined }))).document,
      flags.against,
    );
  } else {
    const search = await findConflicting(a, {
      client: settings.reader(),
      walrus: settings.walrus,
      domain,
      maxBatches: positiveInteger("--scan-batches", flags.scanBatches),
      maxEvents: positiveInteger("--scan-events", flags.scanEvents),
    });
    if (search.found === undefined) {
      const reason =
        `no equivocation found: no proof of node ${a.node} for the same model, input and runtime with another ` +
        `output in its newest ${search.batches} batch(es) (${search.proofs} proofs read` +
        `${search.skipped > 0 ? `, ${search.skipped} blob(s) unreadable and skipped` : ""}); nothing sent`;
      output(flags.json, { ...report, challenge: { slashed: false, reason } }, [renderReport(report), reason]);
      if (!report.ok) fail(new VerificationFailedError(report));
      return;
    }
    b = search.found.proof;
    if (!flags.json) {
      process.stderr.write(`strata: found a conflicting proof of node ${a.node} in batch ${search.found.root}\n`);
    }
  }
  let slash: Slash;
  try {
    slash = await challengeEquivocation(a, b, {
      requests: deployment.contracts.InferenceRequests,
      domain,
      signer: () => settings.signer(),
    });
  } catch (error) {
    if (error instanceof ChallengeRefusedError) {
      // The reason goes to stderr (see fail), and into the JSON.
      output(flags.json, { ...report, challenge: { slashed: false, reason: error.reason } }, [renderReport(report)]);
    }
    throw error;
  }
  output(flags.json, { ...report, challenge: { slashed: true, ...slash } }, [
    renderReport(report),
    ...slashLines(slash),
  ]);
  if (!report.ok) fail(new VerificationFailedError(report));
}

/** Reports `error` on stderr (and as JSON on stdout with --json) and sets the exit status. */
function fail(error: VerificationError, json = false): void {
  if (json && error.code !== "CHECK_FAILED") {
    output(true, { ok: false, error: { code: error.code, message: error.message } }, []);
  }
  process.stderr.write(`strata: ${error.message}\n`);
  process.exitCode = error.exitCode;
}

function locate(flags: LocateFlags): { root?: string; index?: number; nodeUrl?: false; full?: boolean } {
  return {
    ...(flags.root === undefined ? {} : { root: flags.root }),
    ...(flags.index === undefined ? {} : { index: nonNegativeInteger("--index", flags.index) }),
    ...(flags.nodeHint ? {} : { nodeUrl: false as const }),
    ...(flags.full === true ? { full: true } : {}),
  };
}

/** A proof `--challenge` can show the contract: a public one (a private proof holds no tensors to compare). */
function publicProof(doc: AnyInferenceProof, commitment: string): InferenceProof {
  if (isPrivateProof(doc)) {
    throw new VerifierUsageError(
      "--challenge",
      `proof ${commitment} is ${doc.privacy}: it holds no tensors for the contract to compare, so it cannot be ` +
        "equivocation evidence",
    );
  }
  return doc;
}

function nonNegativeInteger(flag: string, value: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(value)) {
    throw new VerifierUsageError(flag, `${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function number(flag: string, value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed < 0) {
    throw new VerifierUsageError(flag, `${flag} must be a number >= 0 (e.g. 1e-5), got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function showJson(record: ProofRecord): object {
  const { anchor, fetched } = record;
  const at = fetched.location;
  return {
    commitment: record.commitment,
    foundBy: record.foundBy,
    location: {
      kind: anchor.kind,
      blobId: at?.blobId ?? anchor.blobId,
      blobIdHex: at?.blobId === undefined ? anchor.blobIdHex : blobIdToBytes32(at.blobId),
      blobSize: record.blobSize,
      ...(anchor.root === undefined ? {} : { root: anchor.root, index: record.index, count: anchor.count }),
      ...(at?.identifier === undefined
        ? {}
        : {
            quiltId: at.blobId,
            identifier: at.identifier,
            ...(at.patchId === undefined ? {} : { patchId: at.patchId }),
            quilt: at.quilt,
            quilts: at.quilts,
            ...(anchor.blobIds === undefined ? {} : { quiltIds: anchor.blobIds }),
          }),
    },
    fetched: { bytes: fetched.bytes, reads: fetched.reads },
    storage: record.storage,
    anchored: {
      node: anchor.node,
      at: anchor.anchoredAt,
      atIso: isoTime(anchor.anchoredAt),
      blockNumber: anchor.blockNumber,
      txHash: anchor.txHash,
    },
    document: anyProofToJson(record.document),
  };
}

/** `proof #1 of 3`, or in a root of several quilts `proof #0 of quilt 2 of 2, 3 proofs in all`. */
function quiltPosition(record: ProofRecord): string {
  const at = record.fetched.location!;
  const proof = record.index === undefined ? "" : `proof #${record.index} of `;
  return (at.quilts ?? 1) > 1
    ? `${proof}quilt ${at.quilt! + 1} of ${at.quilts}, ${record.anchor.count} proofs in all`
    : `${proof}${record.anchor.count}`;
}

function showLines(record: ProofRecord): string[] {
  const { anchor, document: doc, fetched } = record;
  const at = fetched.location;
  const tensors = (set: typeof doc.input) =>
    set.tensors
      .map((t) => {
        if (!("data" in t)) return `${t.name} ${t.dtype}[${t.dims.join(",")}] hash ${t.hash} (no data in the proof)`;
        const values = Array.from(decodeTensor(t).values as ArrayLike<number | bigint>, String);
        const shown = values.length > 8 ? `${values.slice(0, 8).join(", ")}, …` : values.join(", ");
        return `${t.name} ${t.dtype}[${t.dims.join(",")}] = [${shown}]`;
      })
      .join("; ");
  const r = doc.runtime;
  const position = record.index === undefined ? "" : `proof #${record.index} of ${anchor.count}`;
  const where =
    at?.identifier !== undefined
      ? [
          `  lives in   batch ${anchor.root} (${quiltPosition(record)}), Walrus quilt ${at.blobId}`,
          `  patch      ${at.patchId ?? `${at.identifier} (read by quilt ID and identifier: its patch ID is known with --full or from a node)`}, ` +
            `${record.blobSize} bytes, its commitment recomputed and matching` +
            `${at.full ? "; the whole quilt read and its Blob ID recomputed" : ""}`,
        ]
      : [
          anchor.kind === "batch"
            ? `  lives in   batch ${anchor.root} (${position}), Walrus blob ${anchor.blobId}`
            : `  lives in   Walrus blob ${anchor.blobId} (anchored singly)`,
          `  blob       ${anchor.blobIdHex} (bytes32), ${record.blobSize} bytes, Blob ID recomputed and matching`,
        ];
  return [
    `proof ${record.commitment}`,
    ...where,
    `  ${describeFetched(fetched).replace(/^fetched /, "fetched    ")}`,
    ...describeStorage(record.storage, "proof").map((line) => `  ${line.replace(/^proof stored /, "stored     ")}`),
    `  anchored   by ${anchor.node} at ${isoTime(anchor.anchoredAt)} in block ${anchor.blockNumber}`,
    `  tx         ${anchor.txHash}`,
    `  found by   ${record.foundBy}`,
    `  model      ${doc.model.id} version ${doc.model.version}, blob ${proofModelBlobId(doc)}, ` +
      `sha256 ${doc.model.sha256}`,
    `  node       ${doc.node}, signed at ${isoTime(doc.timestamp)}`,
    `  runtime    ${r.engine} ${r.version} (graph optimization ${r.graphOptimizationLevel}, ${r.executionMode}, ` +
      `${r.intraOpNumThreads} thread(s)${r.platform ? `, ${r.platform}` : ""})`,
    `  input      ${tensors(doc.input)}`,
    `  output     ${tensors(doc.output)}`,
    `  domain     chain ${doc.domain.chainId}, ProofRegistry ${doc.domain.proofRegistry}`,
    `  request    ${doc.requestId}`,
    ...(isPrivateProof(doc)
      ? [
          `  privacy    ${doc.privacy}: ${doc.privacy === "hashed" ? "tensor hashes only, no data" : `the tensors sealed to the requester (envelope ${doc.envelope!.bytes.length} bytes, hash ${doc.envelope!.hash})`}`,
        ]
      : []),
  ];
}
