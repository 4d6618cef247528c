/**
 * The private modes' commands and flags: `strata key new` (a requester's key pair), `strata proof disclose
 * <commitment> --privacy-key <sk>` (one proof's disclosure key), and the data flags of `strata verify` (`--inputs`,
 * `--outputs`, `--privacy-key`, `--disclosure-key`). `--privacy-key`, not `--key`: `--key` is the chain signing key of
 * every chain-facing command.
 */
import { readFile, writeFile } from "node:fs/promises";
import { Command } from "commander";
import {
  encodeBinaryTensor,
  formatPrivacyPrivateKey,
  formatPrivacyPublicKey,
  generatePrivacyKey,
  isPrivateProof,
  parseDisclosureKey,
  parsePrivacyPrivateKeyWithSuite,
  privateProofDisclosureKey,
  formatDisclosureKey,
  StrataError,
  type Tensor,
} from "@strata/core";
import { tensorFromJson, type TensorJson } from "@strata/runtime";
import type { PrivateReveal } from "@strata/verifier";
import { CliError } from "../errors";
import { output } from "../options";

/** The data flags of `strata verify`. */
export interface RevealFlags {
  inputs?: string;
  outputs?: string;
  privacyKey?: string;
  disclosureKey?: string;
}

/** Adds the data flags of a private proof's re-execution to `command`. */
export function revealOptions(command: Command): Command {
  return command
    .option("--inputs <file>", "a hashed proof: its inputs, JSON as `strata infer --input` takes (re-executes it)")
    .option("--outputs <file>", "a hashed proof: its outputs, JSON as `strata infer --outputs` wrote them")
    .option(
      "--privacy-key <sk>",
      "an encrypted proof: the requester's private key (strata-sk2:... or strata-sk1:...) or @file (re-executes it)",
    )
    .option("--disclosure-key <dk>", "an encrypted proof: its disclosure key (strata-dk1:...) or @file");
}

/** What the data flags give the verifier, or undefined when none is set (checked: one kind of data at a time). */
export async function revealOf(flags: RevealFlags): Promise<PrivateReveal | undefined> {
  const given = [
    flags.inputs !== undefined || flags.outputs !== undefined ? "--inputs/--outputs" : undefined,
    flags.privacyKey !== undefined ? "--privacy-key" : undefined,
    flags.disclosureKey !== undefined ? "--disclosure-key" : undefined,
  ].filter((g) => g !== undefined);
  if (given.length > 1) throw new CliError("USAGE", `give one of ${given.join(", ")}, not several`);
  if (flags.privacyKey !== undefined) {
    return { privateKey: await privateKeyOf(flags.privacyKey, "--privacy-key") };
  }
  if (flags.disclosureKey !== undefined) {
    const text = await textOf(flags.disclosureKey);
    return { disclosureKey: formatDisclosureKey(keyOrUsage("--disclosure-key", () => parseDisclosureKey(text))) };
  }
  if (flags.inputs === undefined && flags.outputs === undefined) return undefined;
  if (flags.inputs === undefined || flags.outputs === undefined) {
    throw new CliError("USAGE", "a hashed proof re-executes from both its --inputs and its --outputs");
  }
  return {
    inputs: await tensorsFile(flags.inputs, "--inputs"),
    outputs: await tensorsFile(flags.outputs, "--outputs"),
  };
}

/** `strata key new [--out <file>]`: a requester's key pair for encrypted requests. */
export function keyCommand(): Command {
  const key = new Command("key").description("privacy keys: the key pair encrypted inferences are sealed to");
  key.addCommand(
    new Command("new")
      .description(
        "Make a privacy key pair: the public key (strata-pk2:...) goes with encrypted requests (`strata infer " +
          "--privacy encrypted --recipient`); the private key (strata-sk2:...) opens them and makes disclosure keys. " +
          "With --out the private key is written to the file (mode 0600) and only the public key is printed.",
      )
      .option("--out <file>", "write the private key to this file instead of printing it")
      .option("--json", "print JSON")
      .action(async (flags: { out?: string; json?: boolean }) => {
        const pair = generatePrivacyKey();
        const publicKey = formatPrivacyPublicKey(pair.publicKey);
        const privateKey = formatPrivacyPrivateKey(pair);
        if (flags.out !== undefined) await writeFile(flags.out, privateKey + "\n", { mode: 0o600, flag: "wx" });
        const shown = flags.out === undefined ? { publicKey, privateKey } : { publicKey, privateKeyFile: flags.out };
        output(flags.json, shown, [
          `public key  ${publicKey}`,
          flags.out === undefined
            ? `private key ${privateKey} (keep it secret)`
            : `private key written to ${flags.out}`,
        ]);
      }),
  );
  return key;
}

/**
 * `strata proof disclose <commitment> --privacy-key <sk>`: the disclosure key of one encrypted proof (read and checked like
 * `proof show`). It opens that proof and nothing else; the long-term key is not printed nor derivable from it.
 */
export function discloseAction(
  show: (commitment: string) => Promise<{ document: unknown }>,
  flags: { privacyKey: string; json?: boolean },
  commitment: string,
): Promise<void> {
  return (async () => {
    const privateKey = await privateKeyOf(flags.privacyKey, "--privacy-key");
    const { document } = await show(commitment);
    if (!isPrivateProof(document) || document.privacy !== "encrypted") {
      const mode = isPrivateProof(document) ? document.privacy : "public";
      throw new CliError("USAGE", `proof ${commitment} is ${mode}: only an encrypted proof has a disclosure key`);
    }
    const disclosureKey = keyOrUsage("--privacy-key", () => privateProofDisclosureKey(document, privateKey));
    output(flags.json, { commitment, disclosureKey }, [disclosureKey]);
  })();
}

// ---------------------------------------------------------------------------------------------------------------------

async function textOf(flag: string): Promise<string> {
  return (flag.startsWith("@") ? await readFile(flag.slice(1), "utf8") : flag).trim();
}

async function privateKeyOf(flag: string, name: string): Promise<string> {
  const text = await textOf(flag);
  const key = keyOrUsage(name, () => parsePrivacyPrivateKeyWithSuite(text));
  return formatPrivacyPrivateKey(key.bytes, key.suite);
}

/** Runs `parse`; a key error (its message never repeats the key) becomes a usage error naming the flag. */
function keyOrUsage<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof StrataError && error.code !== "INTERNAL") {
      throw new CliError("USAGE", `${flag}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** A tensors file (`{"name": {"dtype", "dims", "data"}}`, the node API's form) as binary tensors. */
async function tensorsFile(path: string, flag: string): Promise<Tensor[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path.startsWith("@") ? path.slice(1) : path, "utf8"));
  } catch (error) {
    throw new CliError("USAGE", `${flag} ${path} is not a readable JSON file: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CliError("USAGE", `${flag} ${path} must be a JSON object of tensors by name`);
  }
  return Object.entries(parsed as Record<string, TensorJson>).map(([name, json]) => {
    const decoded = keyOrUsage(flag, () => tensorFromJson(name, json));
    return encodeBinaryTensor(decoded.name, decoded.dtype, decoded.dims, decoded.values);
  });
}
