import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import {
  buildModelMetadata,
  encodeModelMetadata,
  UnknownVersionError,
  modelIdOf,
  type BlobId,
  type ModelId,
  type ModelSignature,
  type StrataClient,
} from "@strata/core";
import { blobMetadata, type StoreResult, type TransferProgress, type WalrusClient } from "@strata/walrus";
import { StrataRuntimeError } from "./errors";
import { ModelSession, RUNTIME_SETTINGS } from "./onnx";

/** The model metadata blob (v1): core's format (`@strata/core`'s `metadata.ts`), re-exported. */
export type { ModelMetadataV1 } from "@strata/core";

export interface PublishModelOptions {
  /** Registry clients connected to the publisher's signer. */
  client: StrataClient;
  walrus: WalrusClient;
  /** The model file: a path or its bytes. */
  file: string | Uint8Array;
  name: string;
  description?: string;
  task?: string;
  license?: string;
  tags?: string[];
  /** Walrus epochs to store for (default 5). */
  epochs?: number;
  onProgress?: (progress: TransferProgress) => void;
  /** Called before each step, for progress output. */
  onStep?: (step: string) => void;
}

export interface PublishedModel {
  modelId: ModelId;
  name: string;
  owner: string;
  created: boolean;
  index: number;
  blobId: BlobId;
  sha256: string;
  size: number;
  endEpoch: number;
  metadataBlobId: BlobId;
  signature: ModelSignature;
  /** Whether Walrus already held the file. */
  alreadyCertified: boolean;
  txHash: string;
  gasUsed: { createModel?: bigint; setMetadata?: bigint; publishVersion: bigint };
}

/**
 * Publishes a model file: checks that ONNX Runtime can load it (nothing is uploaded or registered otherwise), reads its
 * input/output signature into the metadata blob, computes its sha256 and Walrus Blob ID, refuses a file already
 * published in the model, uploads metadata and file to Walrus (the client checks the publisher's Blob ID against the
 * local one), creates the model if needed, and publishes the version on-chain.
 */
export async function publishModel(options: PublishModelOptions): Promise<PublishedModel> {
  const { client, walrus } = options;
  const step = options.onStep ?? (() => undefined);
  const source = typeof options.file === "string" ? options.file : "model bytes";
  const bytes = typeof options.file === "string" ? await readFile(options.file) : options.file;

  step(`validating ${typeof options.file === "string" ? basename(options.file) : "model"} with ONNX Runtime`);
  const session = await ModelSession.load(bytes, source);
  const signature = session.signature;
  await session.release();

  const signer = client.models.runner;
  if (!signer || !("getAddress" in signer) || typeof signer.getAddress !== "function") {
    throw new StrataRuntimeError(
      "NO_SIGNER",
      "publishing needs a signer: pass a private key (--key or STRATA_PRIVATE_KEY)",
    );
  }
  const owner = (await signer.getAddress()) as string;
  const modelId = modelIdOf(owner, options.name); // throws on an invalid name before any upload

  step("computing sha256 and Walrus Blob ID");
  const meta = await blobMetadata(bytes, { shards: walrus.shards });
  const existing = await client.models.exists(modelId);
  if (existing) {
    const index = await client.models.versionOf(modelId, meta.blobId).catch((error: unknown) => {
      if (error instanceof UnknownVersionError) return -1;
      throw error;
    });
    if (index >= 0) {
      throw new StrataRuntimeError(
        "ALREADY_PUBLISHED",
        `${source} (Blob ID ${meta.blobId}) is already version ${index} of ${options.name}; nothing was uploaded`,
      );
    }
  }

  const metadata = buildModelMetadata({
    name: options.name,
    description: options.description,
    task: options.task,
    license: options.license,
    tags: options.tags,
    signature,
    validatedWith: { engine: RUNTIME_SETTINGS.engine, version: RUNTIME_SETTINGS.version },
  });
  const epochs = options.epochs ?? 5;
  step("storing the metadata blob on Walrus");
  const metaStored = await walrus.store(encodeModelMetadata(metadata), { epochs });

  step(`storing the model file (${bytes.byteLength} bytes) on Walrus`);
  const stored: StoreResult = await walrus.store(bytes, { epochs, onProgress: options.onProgress });

  const gasUsed: PublishedModel["gasUsed"] = { publishVersion: 0n };
  let created = false;
  if (!existing) {
    step(`creating model "${options.name}" on-chain`);
    const tx = await client.models.createModel(options.name, metaStored.blobId);
    await tx.wait();
    const receipt = await signer.provider?.getTransactionReceipt(tx.hash);
    if (receipt) gasUsed.createModel = receipt.gasUsed;
    created = true;
  } else {
    const record = await client.models.getModel(modelId);
    if (record.metadataBlobId !== metaStored.blobId) {
      step("pointing the model at the new metadata blob");
      const mined = await (await client.models.setMetadata(modelId, metaStored.blobId)).wait();
      gasUsed.setMetadata = mined.gasUsed;
    }
  }

  step("publishing the version on-chain");
  const published = await (
    await client.models.publishVersion(modelId, {
      blobId: meta.blobId,
      sha256: `0x${stored.sha256}`,
      size: stored.size,
      endEpoch: stored.endEpoch,
    })
  ).wait();
  gasUsed.publishVersion = published.gasUsed;
  return {
    modelId,
    name: options.name,
    owner,
    created,
    index: published.index,
    blobId: published.blobId,
    sha256: stored.sha256,
    size: stored.size,
    endEpoch: stored.endEpoch,
    metadataBlobId: metaStored.blobId,
    signature,
    alreadyCertified: !stored.newlyCreated,
    txHash: published.txHash,
    gasUsed,
  };
}
