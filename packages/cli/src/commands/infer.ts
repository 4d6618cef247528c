/**
 * `strata infer <model>[@version] --input <json | @file>`: sends an inference request to a node and prints the outputs
 * and the proof reference.
 */
import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { NodeClient, type InferRequest } from "@strata/devkit";
import { resolveSettings } from "../config";
import { chainOptions, output, type ChainCommandFlags } from "../options";
import { splitVersion } from "./model";

interface InferFlags extends ChainCommandFlags {
  input: string;
  wait?: boolean;
  timeout: string;
}

export function inferCommand(): Command {
  return chainOptions(
    new Command("infer")
      .description("run an inference on a node and print the outputs and the proof reference")
      .argument("<model>", "model id, owner/name or name, with an optional @version index")
      .requiredOption("--input <json>", 'inputs as JSON ({"x":{"dtype":"float32","dims":[1,4],"data":[...]}}) or @file')
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
      throw new Error(`--input is not JSON: ${(error as Error).message}`, { cause: error });
    }
    const owner = model.includes("/") || model.startsWith("0x") ? undefined : await settings.defaultOwner();
    const body = {
      model: owner ? `${owner}/${model}` : model,
      ...(version !== undefined ? { version } : {}),
      inputs: inputs as InferRequest["inputs"],
    };
    const node = new NodeClient(settings.nodeUrl);
    const answer = await node.infer(body);
    const proof = flags.wait
      ? await node.waitForAnchor(answer.proof.commitment, { timeoutMs: Number(flags.timeout), known: answer.proof })
      : answer.proof;
    output(flags.json, { ...answer, proof }, [
      `model ${answer.model.id}@${answer.model.version} (blob ${answer.model.blobId})`,
      ...Object.entries(answer.outputs).map(
        ([name, t]) =>
          `  ${name} ${t.dtype}[${t.dims.join(",")}] = ${JSON.stringify(t.data.slice(0, 8))}${t.data.length > 8 ? " …" : ""}`,
      ),
      `proof ${answer.proof.commitment}: ${String(proof.status)}`,
      ...(proof.root
        ? [`  batch root ${String(proof.root)}`, `  batch blob ${String(proof.blobId)}`, `  tx ${String(proof.txHash)}`]
        : []),
    ]);
  });
}
