/**
 * Walrus commands: `blob-id`, `store` (a blob, or files as a quilt), `read` (a blob, or one quilt patch) and
 * `walrus serve`.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { SingleBar, Presets } from "cli-progress";
import { Command, Option } from "commander";
import { blobIdToBytes32 } from "@strata/core";
import {
  blobIdToU256,
  blobMetadataOfFile,
  DEFAULT_EPOCH_MS,
  DEFAULT_LOCAL_MAX_BLOB_SIZE,
  DEFAULT_SHARDS,
  LOCAL_WALRUS_PORT,
  maxBlobSize,
  parseBlobId,
  startLocalWalrus,
  WalrusClient,
  type TransferProgress,
} from "@strata/walrus";
import { byteSize, positiveInteger, resolveWalrusConfig, type WalrusCliFlags } from "../config-walrus";
import { CliError } from "../errors";
import { readPatchCommand, storeQuiltFiles, type ReadPatchFlags } from "./quilt";

/** Transfers at least this large get a progress bar (when stderr is a terminal). */
const PROGRESS_FROM_BYTES = 8 * 1024 * 1024;

function print(json: boolean, value: object, lines: string[]): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${lines.join("\n")}\n`);
}

/** A progress bar on stderr for large transfers; a no-op otherwise. */
export function progressBar(
  label: string,
  total: number | undefined,
): {
  update: (p: TransferProgress) => void;
  stop: () => void;
} {
  if (!process.stderr.isTTY || (total !== undefined && total < PROGRESS_FROM_BYTES)) {
    return { update: () => undefined, stop: () => undefined };
  }
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} MiB | {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
  let started = false;
  return {
    update: (p) => {
      const size = p.total ?? total;
      if (size === undefined || size < PROGRESS_FROM_BYTES) return;
      if (!started) {
        bar.start(mib(size), 0);
        started = true;
      }
      bar.update(mib(p.bytes));
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

function networkOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--network <name>", "Walrus network: local (the devnet store) or testnet").env(
        "STRATA_WALRUS_NETWORK",
      ),
    )
    .option("--shards <n>", "shard count for Blob IDs (default: the network's, 1000)")
    .option("--timeout <ms>", "fail a request that makes no progress for this long (default 30000)")
    .option("--json", "print JSON");
}

export function blobIdCommand(): Command {
  return new Command("blob-id")
    .summary("print the Walrus Blob ID of a file")
    .description("Print the true Walrus Blob ID of a file (RedStuff encoding, computed locally; no network).")
    .argument("<file>", "file to identify")
    .option("--shards <n>", "shard count of the Walrus network", String(DEFAULT_SHARDS))
    .option("--json", "print JSON with the sha256, size and the chain forms of the Blob ID")
    .action(async (file: string, flags: { shards: string; json?: boolean }) => {
      const shards = positiveInteger("--shards", flags.shards);
      const metadata = await blobMetadataOfFile(file, { shards });
      print(
        flags.json === true,
        {
          file: path.resolve(file),
          blobId: metadata.blobId,
          sha256: metadata.sha256,
          size: metadata.size,
          shards,
          bytes32: blobIdToBytes32(metadata.blobId),
          u256: blobIdToU256(metadata.blobId),
        },
        [metadata.blobId],
      );
    });
}

export function storeCommand(): Command {
  return networkOptions(
    new Command("store")
      .summary("store a file on Walrus through a publisher")
      .description(
        "Store a file on Walrus through a publisher, after computing its Blob ID locally. With --quilt, store " +
          "several files as one Walrus quilt (one patch per file, at most 666) and print the quilt ID and each " +
          "patch ID, all computed locally and checked against the publisher's. Public publishers take at most " +
          "10 MiB per request; see packages/walrus/README.md for larger blobs.",
      )
      .argument("<files...>", "file to store (several with --quilt)")
      .option("--quilt", "store the files as one quilt, one patch per file")
      .option("--identifier <names...>", "with --quilt: the patch identifiers, one per file (default: file names)")
      .option("--epochs <n>", "epochs ahead to store for (at most 53)", "1")
      .option("--permanent", "store a permanent blob (default: deletable)")
      .option("--force", "store again even if the blob is already certified")
      .addOption(new Option("--publisher <url>", "publisher base URL").env("STRATA_WALRUS_PUBLISHER"))
      .option(
        "--publisher-token-file <path>",
        "file holding the publisher's bearer token (env STRATA_WALRUS_PUBLISHER_TOKEN[_FILE])",
      ),
  ).action(
    async (
      files: string[],
      flags: WalrusCliFlags & {
        epochs: string;
        permanent?: boolean;
        force?: boolean;
        json?: boolean;
        quilt?: boolean;
        identifier?: string[];
      },
    ) => {
      if (flags.quilt === true) return storeQuiltFiles(files, flags);
      if (files.length !== 1 || flags.identifier !== undefined) {
        throw new CliError(
          "USAGE",
          "store takes one file; to store several files (with --identifier names) as one quilt, add --quilt",
        );
      }
      const file = files[0];
      const config = resolveWalrusConfig(flags);
      const client = new WalrusClient(config);
      const { size } = await stat(file);
      const bar = progressBar("store", size);
      try {
        const result = await client.store(file, {
          epochs: positiveInteger("--epochs", flags.epochs),
          permanent: flags.permanent === true,
          force: flags.force === true,
          onProgress: bar.update,
        });
        bar.stop();
        const { response: _response, ...summary } = result;
        print(flags.json === true, { ...summary, publisher: config.publisherUrl }, [
          `Blob ID:    ${result.blobId}`,
          `sha256:     ${result.sha256}`,
          `size:       ${result.size} bytes`,
          `status:     ${result.status}`,
          `end epoch:  ${result.endEpoch}`,
          ...(result.objectId !== undefined ? [`object id:  ${result.objectId}`] : []),
          `publisher:  ${config.publisherUrl}`,
        ]);
      } finally {
        bar.stop();
      }
    },
  );
}

export function readCommand(): Command {
  return networkOptions(
    new Command("read")
      .summary("read a blob (or one quilt patch) from aggregators, verified")
      .description(
        "Read a blob from Walrus aggregators (with failover) into a file. The bytes are verified against --sha256 " +
          "when given, else by recomputing the Blob ID, and only then renamed onto the output file. With --patch " +
          "<patchId> (or a quilt ID and --identifier <name>), read one patch of a quilt, verified by --sha256 or " +
          "--whole-quilt, to --output or to stdout.",
      )
      .argument("[blobId]", "Blob ID (43 characters of base64url); with --identifier, the quilt ID")
      .option("-o, --output <file>", "where to write the blob (or the patch; default for a patch: stdout)")
      .option("--sha256 <hex>", "expected sha256 of the content (fast verification)")
      .option("--patch <patchId>", "read one quilt patch by its patch ID (50 characters)")
      .option("--identifier <name>", "read the patch of this identifier in the quilt <blobId>")
      .option("--whole-quilt", "verify a patch by reading the whole quilt and recomputing its Blob ID")
      .option("--aggregator <url...>", "aggregator base URL(s), tried in order (env STRATA_WALRUS_AGGREGATORS)"),
  ).action(async (blobId: string | undefined, flags: ReadPatchFlags) => {
    if (flags.patch !== undefined || flags.identifier !== undefined) return readPatchCommand(blobId, flags);
    if (blobId === undefined) throw new CliError("USAGE", "read needs a Blob ID (or --patch <patchId>)");
    if (flags.wholeQuilt === true) throw new CliError("USAGE", "--whole-quilt applies to patch reads (--patch)");
    if (flags.output === undefined) throw new CliError("USAGE", "read needs -o, --output <file> for a blob");
    const id = parseBlobId(blobId);
    const config = resolveWalrusConfig(flags);
    const client = new WalrusClient(config);
    const bar = progressBar("read", undefined);
    try {
      const result = await client.readToFile(id, flags.output, { sha256: flags.sha256, onProgress: bar.update });
      bar.stop();
      print(flags.json === true, result, [
        `Blob ID:  ${result.blobId}`,
        `sha256:   ${result.sha256}`,
        `size:     ${result.size} bytes`,
        `written:  ${result.path}`,
        `verified: ${flags.sha256 !== undefined ? "sha256" : "Blob ID recomputed"}`,
      ]);
    } finally {
      bar.stop();
    }
  });
}

export function walrusCommand(): Command {
  const walrus = new Command("walrus").summary("local Walrus-compatible store: walrus serve");
  walrus
    .command("serve")
    .summary("run the local Walrus-compatible store (publisher and aggregator)")
    .description(
      "Run a local Walrus-compatible store: PUT /v1/blobs, GET /v1/blobs/{blobId}, GET /v1/blobs/by-object-id/{id}, " +
        "the quilt routes (PUT /v1/quilts, GET /v1/blobs/by-quilt-patch-id/{id}, GET /v1/blobs/by-quilt-id/{id}/" +
        "{identifier}, GET /v1/quilts/{id}/patches), GET /v1/blobs/{id}/byte-range and GET /status, with true Blob " +
        "IDs, blobs kept in --dir, and a simulated epoch clock.",
    )
    .option("--port <port>", "TCP port", String(LOCAL_WALRUS_PORT))
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--dir <dir>", "directory the blobs are kept in", ".strata/walrus")
    .option("--shards <n>", "shard count for Blob IDs", String(DEFAULT_SHARDS))
    .option("--epoch-ms <ms>", `epoch length in ms, fixed when --dir is created (default ${DEFAULT_EPOCH_MS})`)
    .option(
      "--max-blob-size <size>",
      `largest blob accepted, e.g. 512MiB (default ${DEFAULT_LOCAL_MAX_BLOB_SIZE / 1024 / 1024}MiB, at most ` +
        `${maxBlobSize(DEFAULT_SHARDS) / 1024 / 1024}MiB)`,
    )
    .action(
      async (flags: {
        port: string;
        host: string;
        dir: string;
        shards: string;
        epochMs?: string;
        maxBlobSize?: string;
      }) => {
        const port = flags.port === "0" ? 0 : positiveInteger("--port", flags.port);
        const server = await startLocalWalrus({
          port,
          host: flags.host,
          dir: flags.dir,
          shards: positiveInteger("--shards", flags.shards),
          ...(flags.epochMs !== undefined ? { epochMs: positiveInteger("--epoch-ms", flags.epochMs) } : {}),
          ...(flags.maxBlobSize !== undefined ? { maxBlobSize: byteSize("--max-blob-size", flags.maxBlobSize) } : {}),
          warn: (message) => console.error(message),
        });
        console.log(
          `Local Walrus store on ${server.url} (dir ${server.dir}, ${server.shards} shards, ` +
            `epoch ${server.currentEpoch()}, max blob ${server.maxBlobSize} bytes)`,
        );
        const stop = (): void => {
          server.close().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      },
    );
  return walrus;
}
