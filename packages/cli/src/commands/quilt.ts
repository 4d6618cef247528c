/**
 * The quilt side of `strata store` and `strata read`: `store --quilt <files...>` stores files as one Walrus quilt and
 * prints the quilt ID and every patch ID; `read --patch <id>` (or `read <quiltId> --identifier <name>`) reads one patch,
 * verified by `--sha256` or by reading the whole quilt (`--whole-quilt`).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseBlobId, parseQuiltPatchId, WalrusClient, type PatchRead, type QuiltPatchInput } from "@strata/walrus";
import { positiveInteger, resolveWalrusConfig, type WalrusCliFlags } from "../config-walrus";
import { CliError } from "../errors";

function print(json: boolean, value: object, lines: string[], stream: NodeJS.WriteStream = process.stdout): void {
  stream.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${lines.join("\n")}\n`);
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface StoreQuiltFlags extends WalrusCliFlags {
  epochs: string;
  permanent?: boolean;
  force?: boolean;
  json?: boolean;
  identifier?: string[];
}

/** `strata store --quilt <files...>`: one patch per file, named by its file name or by `--identifier`, in order. */
export async function storeQuiltFiles(files: string[], flags: StoreQuiltFlags): Promise<void> {
  if (flags.identifier !== undefined && flags.identifier.length !== files.length) {
    throw new CliError(
      "USAGE",
      `--identifier names ${flags.identifier.length} patches but ${files.length} files were given: give one ` +
        `identifier per file, in the same order (or none, to use the file names)`,
    );
  }
  const patches: (QuiltPatchInput & { file: string })[] = [];
  for (const [i, file] of files.entries()) {
    patches.push({
      identifier: flags.identifier?.[i] ?? path.basename(file),
      contents: new Uint8Array(await readFile(file)),
      file: path.resolve(file),
    });
  }
  const config = resolveWalrusConfig(flags);
  const client = new WalrusClient(config);
  const result = await client.storeQuilt(
    patches.map(({ identifier, contents }) => ({ identifier, contents })),
    {
      epochs: positiveInteger("--epochs", flags.epochs),
      permanent: flags.permanent === true,
      force: flags.force === true,
    },
  );
  const byIdentifier = new Map(patches.map((p) => [p.identifier, p]));
  const rows = result.patches.map((p) => {
    const source = byIdentifier.get(p.identifier);
    return {
      identifier: p.identifier,
      patchId: p.patchId,
      file: source?.file,
      size: source?.contents.length,
      sha256: source !== undefined ? sha256(source.contents) : undefined,
    };
  });
  const width = Math.max(...rows.map((r) => r.identifier.length));
  print(
    flags.json === true,
    {
      quiltId: result.blobId,
      status: result.status,
      endEpoch: result.endEpoch,
      quiltBytes: result.quiltBytes,
      ...(result.objectId !== undefined ? { objectId: result.objectId } : {}),
      patches: rows,
      publisher: config.publisherUrl,
    },
    [
      `Quilt ID:   ${result.blobId}`,
      `status:     ${result.status}`,
      `end epoch:  ${result.endEpoch}`,
      `quilt size: ${result.quiltBytes} bytes (${rows.length} patches)`,
      ...(result.objectId !== undefined ? [`object id:  ${result.objectId}`] : []),
      `publisher:  ${config.publisherUrl}`,
      `patches (identifier, patch ID, size, sha256):`,
      ...rows.map((r) => `  ${r.identifier.padEnd(width)}  ${r.patchId}  ${r.size} bytes  ${r.sha256}`),
    ],
  );
}

export interface ReadPatchFlags extends WalrusCliFlags {
  output?: string;
  sha256?: string;
  wholeQuilt?: boolean;
  json?: boolean;
  patch?: string;
  identifier?: string;
}

/**
 * `strata read --patch <patchId>` or `strata read <quiltId> --identifier <name>`: one patch, verified by exactly one of
 * `--sha256` and `--whole-quilt`, written to `--output` (atomically) or to stdout (the summary then goes to stderr).
 */
export async function readPatchCommand(positional: string | undefined, flags: ReadPatchFlags): Promise<void> {
  let ref: string | { quiltId: string; identifier: string };
  if (flags.patch !== undefined) {
    if (positional !== undefined || flags.identifier !== undefined) {
      throw new CliError("USAGE", "give either --patch <patchId>, or a quilt ID and --identifier <name>, not both");
    }
    parseQuiltPatchId(flags.patch);
    ref = flags.patch;
  } else {
    if (positional === undefined || flags.identifier === undefined) {
      throw new CliError("USAGE", "read a patch with --patch <patchId>, or with <quiltId> --identifier <name>");
    }
    ref = { quiltId: parseBlobId(positional), identifier: flags.identifier };
  }
  if ((flags.sha256 !== undefined) === (flags.wholeQuilt === true)) {
    throw new CliError(
      "USAGE",
      "a patch read needs exactly one check: --sha256 <hex> (the patch's hash) or --whole-quilt (read the whole " +
        "quilt and verify it by its Blob ID). A patch ID is a position, not a hash: bytes read by it alone prove nothing.",
    );
  }
  const client = new WalrusClient(resolveWalrusConfig(flags));
  const read: PatchRead = await client.readPatch(
    ref,
    flags.sha256 !== undefined ? { sha256: flags.sha256 } : { wholeQuilt: true },
  );
  let written: string | undefined;
  if (flags.output !== undefined) {
    written = path.resolve(flags.output);
    await mkdir(path.dirname(written), { recursive: true });
    const temp = `${written}.${process.pid}.partial`;
    await writeFile(temp, read.bytes);
    await rename(temp, written);
  } else {
    process.stdout.write(read.bytes);
  }
  const quiltId = typeof ref === "string" ? parseQuiltPatchId(ref).quiltId : ref.quiltId;
  const verified = read.integrity === "sha256" ? "sha256 of the patch" : "whole quilt read, its Blob ID recomputed";
  print(
    flags.json === true,
    {
      quiltId,
      identifier: read.identifier,
      ...(read.patchId !== undefined ? { patchId: read.patchId } : {}),
      size: read.bytes.length,
      sha256: sha256(read.bytes),
      fetchedBytes: read.fetchedBytes,
      integrity: read.integrity,
      ...(written !== undefined ? { path: written } : {}),
    },
    [
      `quilt ID:   ${quiltId}`,
      `identifier: ${read.identifier === "" ? "(not named by the aggregator)" : read.identifier}`,
      ...(read.patchId !== undefined ? [`patch ID:   ${read.patchId}`] : []),
      `size:       ${read.bytes.length} bytes`,
      `sha256:     ${sha256(read.bytes)}`,
      `fetched:    ${read.fetchedBytes} bytes`,
      ...(written !== undefined ? [`written:    ${written}`] : []),
      `verified:   ${verified}`,
    ],
    written !== undefined ? process.stdout : process.stderr,
  );
}
