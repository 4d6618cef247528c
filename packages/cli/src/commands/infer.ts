/**
 * `strata infer <model>[@version] --input <json | @file>`: sends an inference request to a node and prints the outputs
 * and the proof reference.
 */
import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { resolveSettings } from "../config";
import { chainOptions, output, type ChainCommandFlags } from "../options";
import { splitVersion } from "./model";
import { CliError } from "../errors";

interface InferFlags extends ChainCommandFlags {
  input: string;
  wait?: boolean;
  timeout: string;
}

interface ApiError {
  error: { code: string; message: string };
}

async function call<T>(url: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new CliError(
      "NODE_UNREACHABLE",
      `no inference node answers at ${url} (${(error as Error).message}); start one with \`strata node start\` or \`strata devnet\``,
      { cause: error },
    );
  }
  const body = (await response.json().catch(() => undefined)) as T | ApiError | undefined;
  if (!response.ok) {
    const e = (body as ApiError | undefined)?.error;
    throw new CliError("NODE_REFUSED", e ? `${e.code}: ${e.message}` : `the node answered HTTP ${response.status}`);
  }
  return body as T;
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
      throw new CliError("USAGE", `--input is not JSON: ${(error as Error).message}`, { cause: error });
    }
    const owner = model.includes("/") || model.startsWith("0x") ? undefined : await settings.defaultOwner();
    const body = { model: owner ? `${owner}/${model}` : model, ...(version !== undefined ? { version } : {}), inputs };
    type Answer = {
      model: { id: string; version: number; blobId: string };
      outputs: Record<string, { dtype: string; dims: number[]; data: unknown[] }>;
      proof: { commitment: string; status: string; root?: string; txHash?: string; blobId?: string };
    };
    const answer = await call<Answer>(`${settings.nodeUrl}/v1/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    let proof: Record<string, unknown> = answer.proof;
    if (flags.wait) {
      const deadline = Date.now() + Number(flags.timeout);
      while (proof.status !== "anchored") {
        if (Date.now() > deadline)
          throw new CliError(
            "NOT_ANCHORED",
            `the proof was not anchored within ${flags.timeout} ms (status ${String(proof.status)})`,
          );
        await new Promise((r) => setTimeout(r, 250));
        proof = await call(`${settings.nodeUrl}/v1/proofs/${answer.proof.commitment}`);
      }
    }
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
