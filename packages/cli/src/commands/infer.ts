/**
 * `strata infer <model>[@version] --input <json | @file> [--privacy public|hashed|encrypted] [--recipient <pk>]
 * [--outputs <file>]`: sends an inference request to a node and prints the outputs and the proof reference.
 */
import { readFile, writeFile } from "node:fs/promises";
import { PRIVACY_MODES, parsePrivacyPublicKey, formatPrivacyPublicKey, type PrivacyMode } from "@strata/core";
import { Command } from "commander";
import { NodeClient, type InferRequest } from "@strata/devkit";
import { resolveSettings } from "../config";
import { chainOptions, output, type ChainCommandFlags } from "../options";
import { splitVersion } from "./model";
import { CliError } from "../errors";

interface InferFlags extends ChainCommandFlags {
  input: string;
  privacy: string;
  recipient?: string;
  outputs?: string;
  wait?: boolean;
  timeout: string;
}

export function inferCommand(): Command {
  return chainOptions(
    new Command("infer")
      .description("run an inference on a node and print the outputs and the proof reference")
      .argument("<model>", "model id, owner/name or name, with an optional @version index")
      .requiredOption("--input <json>", 'inputs as JSON ({"x":{"dtype":"float32","dims":[1,4],"data":[...]}}) or @file')
      .option(
        "--privacy <mode>",
        "public (tensors in the proof), hashed (only their hashes) or encrypted (sealed to --recipient)",
        "public",
      )
      .option("--recipient <pk>", "encrypted mode: the public key to seal to (strata-pk1:...) or @file holding it")
      .option("--outputs <file>", "also write the outputs as JSON (what `strata verify --outputs` takes)")
      .option("--wait", "wait until the proof is anchored on-chain")
      .option("--timeout <ms>", "how long --wait waits", "60000"),
  ).action(async (ref: string, flags: InferFlags) => {
    const settings = resolveSettings(flags);
    const { model, version } = splitVersion(ref);
    const text = flags.input.startsWith("@") ? await readFile(flags.input.slice(1), "utf8") : flags.input;
    let inputs: unknown;
    try {
      inputs = JSON.parse(text);
    } catch (error) {
      throw new CliError("USAGE", `--input is not JSON: ${(error as Error).message}`, { cause: error });
    }
    const privacy = privacyOf(flags.privacy);
    const recipient = await recipientOf(privacy, flags.recipient);
    const owner = model.includes("/") || model.startsWith("0x") ? undefined : await settings.defaultOwner();
    const body = {
      model: owner ? `${owner}/${model}` : model,
      ...(version !== undefined ? { version } : {}),
      inputs: inputs as InferRequest["inputs"],
      ...(privacy === "public" ? {} : { privacy }),
      ...(recipient === undefined ? {} : { recipient }),
    };
    const node = new NodeClient(settings.nodeUrl);
    const answer = await node.infer(body);
    if (flags.outputs !== undefined) await writeFile(flags.outputs, JSON.stringify(answer.outputs) + "\n");
    const proof = flags.wait
      ? await node.waitForAnchor(answer.proof.commitment, { timeoutMs: Number(flags.timeout), known: answer.proof })
      : answer.proof;
    output(flags.json, { ...answer, proof }, [
      `model ${answer.model.id}@${answer.model.version} (blob ${answer.model.blobId})`,
      ...Object.entries(answer.outputs).map(
        ([name, t]) =>
          `  ${name} ${t.dtype}[${t.dims.join(",")}] = ${JSON.stringify(t.data.slice(0, 8))}${t.data.length > 8 ? " …" : ""}`,
      ),
      `proof ${answer.proof.commitment}: ${String(proof.status)}` +
        (privacy === "public"
          ? ""
          : ` (${privacy}: the proof holds ${privacy === "hashed" ? "only the tensors' hashes" : "the tensors sealed to the recipient"})`),
      ...(proof.root
        ? [`  batch root ${String(proof.root)}`, `  batch blob ${String(proof.blobId)}`, `  tx ${String(proof.txHash)}`]
        : []),
    ]);
  });
}

function privacyOf(flag: string): PrivacyMode {
  if (!(PRIVACY_MODES as readonly string[]).includes(flag)) {
    throw new CliError("USAGE", `--privacy is ${JSON.stringify(flag)}: use one of ${PRIVACY_MODES.join(", ")}`);
  }
  return flag as PrivacyMode;
}

/** The recipient of an encrypted request (text or @file), checked here so that a wrong key never reaches the node. */
async function recipientOf(privacy: PrivacyMode, flag: string | undefined): Promise<string | undefined> {
  if (privacy !== "encrypted") {
    if (flag !== undefined) throw new CliError("USAGE", "--recipient is only for --privacy encrypted");
    return undefined;
  }
  if (flag === undefined) {
    throw new CliError(
      "USAGE",
      "--privacy encrypted needs --recipient <strata-pk1:...> (the key to seal the tensors to)",
    );
  }
  const text = flag.startsWith("@") ? await readFile(flag.slice(1), "utf8") : flag;
  return formatPrivacyPublicKey(parsePrivacyPublicKey(text.trim()));
}
