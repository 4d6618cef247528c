/**
 * `strata model create | publish | list | show`: model repositories on the ModelRegistry, files on Walrus.
 */
import { writeFile } from "node:fs/promises";
import { Command } from "commander";
import {
  blobIdToBytes32,
  buildModelMetadata,
  decodeModelMetadata,
  encodeModelMetadata,
  modelIdOf,
  type BlobId,
  type ModelMetadata,
  type ModelVersion,
  type TensorSignature,
} from "@strata/core";
import { buildMlp, publishModel } from "@strata/runtime";
import { WalrusClient } from "@strata/walrus";
import { resolveSettings } from "../config";
import { positiveInteger } from "../config-walrus";
import { chainOptions, output, type ChainCommandFlags } from "../options";
import { progressBar } from "./walrus";
import { CliError } from "../errors";

interface PublishFlags extends ChainCommandFlags {
  name: string;
  description?: string;
  task?: string;
  license?: string;
  tag?: string[];
  epochs: string;
}

function versionLine(v: ModelVersion): string {
  return (
    `  @${v.index}  blob ${v.blobId}  sha256 ${v.sha256.slice(2, 14)}…  ` +
    `${v.size} bytes  ends epoch ${v.endEpoch}${v.deprecated ? "  (deprecated)" : ""}`
  );
}

/** `<name>[@version]` -> its parts; the version is an index. */
export function splitVersion(ref: string): { model: string; version?: number } {
  const at = ref.lastIndexOf("@");
  if (at <= 0) return { model: ref };
  const version = ref.slice(at + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(version)) {
    throw new CliError("USAGE", `"${ref}": the part after @ must be a version index (0, 1, ...), got "${version}"`);
  }
  return { model: ref.slice(0, at), version: Number(version) };
}

export function modelCommand(): Command {
  const model = new Command("model").description(
    "create, publish, list and show models (files on Walrus, references on-chain)",
  );

  model.addCommand(
    chainOptions(
      new Command("create")
        .description("create a model repository owned by your key, with a metadata blob on Walrus")
        .argument("<name>", "model name (1 to 64 bytes, no '/' or '@')")
        .option("--description <text>", "description stored in the metadata blob")
        .option("--epochs <n>", "Walrus epochs to store the metadata for", "5"),
    ).action(async (name: string, flags: ChainCommandFlags & { description?: string; epochs: string }) => {
      const settings = resolveSettings(flags);
      const signer = await settings.signer();
      const client = settings.reader().connect(signer);
      const owner = await signer.getAddress();
      const modelId = modelIdOf(owner, name);
      // The same writer as publishing: no signature yet (there is no file), the rest as given.
      const metadata = buildModelMetadata({ name, description: flags.description });
      const stored = await settings.walrus.store(encodeModelMetadata(metadata), { epochs: Number(flags.epochs) });
      const tx = await client.models.createModel(name, stored.blobId);
      await tx.wait();
      output(flags.json, { modelId, name, owner, metadataBlobId: stored.blobId, txHash: tx.hash }, [
        `created model "${name}" ${modelId}`,
        `  owner ${owner}`,
        `  metadata blob ${stored.blobId}`,
        `  tx ${tx.hash}`,
      ]);
    }),
  );

  model.addCommand(
    chainOptions(
      new Command("publish")
        .description("validate an ONNX file, upload it to Walrus and publish it as a new version")
        .argument("<file>", "the .onnx model file")
        .requiredOption("--name <name>", "model name (created if it does not exist yet)")
        .option("--description <text>", "description for the metadata blob")
        .option("--task <task>", "task, e.g. image-classification")
        .option("--license <spdx>", "license, e.g. Apache-2.0")
        .option("--tag <tag...>", "tags")
        .option("--epochs <n>", "Walrus epochs to store for (at most 53)", "5"),
    ).action(async (file: string, flags: PublishFlags) => {
      const settings = resolveSettings(flags);
      const signer = await settings.signer();
      const client = settings.reader().connect(signer);
      const bar = progressBar("uploading", undefined);
      const published = await publishModel({
        client,
        walrus: settings.walrus,
        file,
        name: flags.name,
        description: flags.description,
        task: flags.task,
        license: flags.license,
        tags: flags.tag,
        epochs: Number(flags.epochs),
        onProgress: bar.update,
        onStep: flags.json ? undefined : (step) => process.stderr.write(`- ${step}\n`),
      });
      bar.stop();
      output(flags.json, published, [
        `published ${published.name}@${published.index} (model ${published.modelId})`,
        `  blob ${published.blobId}${published.alreadyCertified ? " (already on Walrus)" : ""}`,
        `  sha256 ${published.sha256}, ${published.size} bytes, stored until epoch ${published.endEpoch}`,
        `  inputs  ${published.signature.inputs.map((s) => `${s.name} ${s.dtype}[${s.shape.join(",")}]`).join(", ")}`,
        `  outputs ${published.signature.outputs.map((s) => `${s.name} ${s.dtype}[${s.shape.join(",")}]`).join(", ")}`,
        `  metadata blob ${published.metadataBlobId}`,
        `  tx ${published.txHash} (publishVersion gas ${published.gasUsed.publishVersion})`,
      ]);
    }),
  );

  model.addCommand(
    new Command("example")
      .description(
        "write a small seeded ONNX MLP (x float32[batch, inputs] -> y float32[batch, outputs]) to try things",
      )
      .argument("<file>", "where to write the .onnx file")
      .option("--inputs <n>", "input features", "4")
      .option("--hidden <n...>", "hidden layer widths", ["16"])
      .option("--outputs <n>", "output values", "3")
      .option("--seed <n>", "weight seed (same seed, same bytes)", "1")
      .action(async (file: string, flags: { inputs: string; hidden: string[]; outputs: string; seed: string }) => {
        const bytes = buildMlp({
          inputSize: positiveInteger("--inputs", flags.inputs),
          hidden: flags.hidden.map((h) => positiveInteger("--hidden", h)),
          outputSize: positiveInteger("--outputs", flags.outputs),
          seed: positiveInteger("--seed", flags.seed),
        });
        await writeFile(file, bytes);
        process.stdout.write(`wrote ${file} (${bytes.byteLength} bytes)\n`);
      }),
  );

  model.addCommand(
    chainOptions(
      new Command("list")
        .description("list the models in the registry, with their latest version")
        .option("--owner <address>", "only models created by this address"),
    ).action(async (flags: ChainCommandFlags & { owner?: string }) => {
      const settings = resolveSettings(flags);
      const client = settings.reader();
      const listings = await client.models.listModels(flags.owner ? { creator: flags.owner } : {});
      const rows = await Promise.all(
        listings.map(async (m) => {
          const record = await client.models.getModel(m.id);
          // JSON as before: the metadata Blob ID in its chain form.
          return { ...m, ...record, metadataBlobId: blobIdToBytes32(record.metadataBlobId) };
        }),
      );
      output(
        flags.json,
        rows,
        rows.length === 0
          ? ["no models yet: publish one with `strata model publish <file.onnx> --name <name>`"]
          : rows.map((m) => `${m.name.padEnd(24)} ${m.id}  owner ${m.owner}  ${m.versionCount} version(s)`),
      );
    }),
  );

  model.addCommand(
    chainOptions(
      new Command("show")
        .description("show a model and its versions, or one version with name@index")
        .argument("<model>", "a model id, owner/name, or a name of your key's; add @index for one version"),
    ).action(async (ref: string, flags: ChainCommandFlags) => {
      const settings = resolveSettings(flags);
      const client = settings.reader();
      const { model, version } = splitVersion(ref);
      const { model: record } = await client.models.resolve(model, await settings.defaultOwner());
      const name = await client.models.getModelName(record.id);
      const versions =
        version === undefined
          ? await client.models.listVersions(record.id)
          : [await client.models.getVersion(record.id, version)];
      const { metadataBlobId } = record;
      const metadata = await readMetadata(settings.walrusConfig, metadataBlobId);
      // JSON as before (the versions' Blob IDs in their chain form), plus the metadata read from Walrus.
      const json = {
        name,
        ...record,
        metadataBlobId,
        ...("metadata" in metadata
          ? { metadata: metadata.metadata }
          : { metadata: null, metadataError: metadata.error }),
        versions: versions.map((v) => ({ ...v, blobId: blobIdToBytes32(v.blobId) })),
      };
      output(flags.json, json, [
        `${name} ${record.id}`,
        `  owner ${record.owner}, ${record.versionCount} version(s), metadata blob ${metadataBlobId}`,
        ...("metadata" in metadata ? metadataLines(metadata.metadata) : [`  metadata unavailable: ${metadata.error}`]),
        ...versions.map(versionLine),
      ]);
    }),
  );
  return model;
}

/** The largest metadata blob `model show` reads: metadata is a few hundred bytes. */
const MAX_METADATA_BYTES = 1024 * 1024;

/**
 * The metadata blob `blobId`, read from Walrus and decoded; or why it could not be (`model show` still shows the
 * model and its versions when Walrus is unreachable or the blob expired). One retry only: this is a convenience read.
 */
async function readMetadata(
  config: ConstructorParameters<typeof WalrusClient>[0],
  blobId: BlobId,
): Promise<{ metadata: ModelMetadata } | { error: string }> {
  try {
    const walrus = new WalrusClient({ ...config, retries: 1 });
    return { metadata: decodeModelMetadata(await walrus.read(blobId, { maxBytes: MAX_METADATA_BYTES })) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** The human lines of a model's metadata: description, task, license, tags and the input/output signature. */
export function metadataLines(metadata: ModelMetadata): string[] {
  const tensors = (list: readonly TensorSignature[]) =>
    list.map((t) => `${t.name} ${t.dtype}[${t.shape.join(",")}]`).join(", ") || "(none)";
  const facts = [
    metadata.task === undefined ? undefined : `task ${metadata.task}`,
    metadata.license === undefined ? undefined : `license ${metadata.license}`,
    metadata.tags === undefined ? undefined : `tags ${metadata.tags.join(", ")}`,
  ].filter((f): f is string => f !== undefined);
  return [
    ...(metadata.description === undefined ? [] : [`  description ${metadata.description}`]),
    ...(facts.length === 0 ? [] : [`  ${facts.join(", ")}`]),
    ...(metadata.signature === undefined
      ? ["  signature  (no file published yet)"]
      : [`  inputs  ${tensors(metadata.signature.inputs)}`, `  outputs ${tensors(metadata.signature.outputs)}`]),
    ...(metadata.validatedWith === undefined
      ? []
      : [`  validated with ${metadata.validatedWith.engine} ${metadata.validatedWith.version}`]),
  ];
}
