import type { ContractRunner, ContractTransactionReceipt } from "ethers";
import { ModelRegistry__factory, type ModelRegistry } from "@strata/contracts";
import {
  ContractRevertError,
  InvalidArgumentError,
  NoActiveVersionError,
  UnknownModelError,
  UnknownVersionError,
} from "./errors";
import { blobIdArgument, blobIdFromBytes32, type BlobId } from "./blob-id";
import { parseModelRef, toAddress, toBytes32, toModelId, type Bytes32, type ModelId } from "./ids";
import { Base, big, num, str, type ClientOptions, type Mined, type Transaction, type TxOverrides } from "./transaction";

/** A model repository as the registry stores it. */
export interface ModelRecord {
  id: ModelId;
  owner: string;
  versionCount: number;
  /** Unix seconds. */
  createdAt: number;
  /** The Walrus blob of the model's metadata (description, task, license, tags, input/output signature). */
  metadataBlobId: BlobId;
}

/** A published version of a model. */
export interface ModelVersion {
  modelId: ModelId;
  index: number;
  /** The model file's Walrus Blob ID. */
  blobId: BlobId;
  /** sha256 of the model file bytes. */
  sha256: Bytes32;
  /** File size in bytes. */
  size: bigint;
  /** The Walrus epoch (exclusive) at which the blob's storage ends. */
  endEpoch: number;
  /** Unix seconds. */
  publishedAt: number;
  deprecated: boolean;
}

/** What {@link ModelRegistryClient.publishVersion} needs. */
export interface PublishVersionParams {
  /** The model file's Walrus Blob ID. */
  blobId: BlobId;
  sha256: Bytes32;
  size: bigint | number;
  endEpoch: number;
}

/** A version, as published. */
export interface PublishedVersion extends Mined {
  modelId: ModelId;
  index: number;
  blobId: BlobId;
  sha256: Bytes32;
  size: bigint;
  endEpoch: number;
}

/** A model as its creation event tells it (name and first metadata blob). */
export interface ModelListing {
  id: ModelId;
  creator: string;
  name: string;
  /** The metadata blob at creation (see {@link ModelRecord.metadataBlobId} for the current one). */
  metadataBlobId: BlobId;
  blockNumber: number;
  txHash: string;
}

/** A change of owner, offered or accepted. */
export interface OwnershipChange extends Mined {
  modelId: ModelId;
  previousOwner: string;
  newOwner: string;
}

/** A model resolved from a reference. */
export interface ResolvedModel {
  ref: string;
  model: ModelRecord;
}

/** The typed client of the ModelRegistry. */
export class ModelRegistryClient extends Base<ModelRegistry> {
  constructor(contract: ModelRegistry, options: ClientOptions = {}) {
    super(contract, "ModelRegistry", options);
  }

  /** The client of the ModelRegistry at `address`, through `runner` (a signer to write, a provider to read). */
  static at(address: string, runner: ContractRunner, options?: ClientOptions): ModelRegistryClient {
    return new ModelRegistryClient(ModelRegistry__factory.connect(address, runner), options);
  }

  /** The same client through another runner. */
  connect(runner: ContractRunner): ModelRegistryClient {
    return new ModelRegistryClient(this.contract.connect(runner), this.options);
  }

  // Writes ------------------------------------------------------------------------------------------------------------

  /** Creates the model `name` owned by the sender; `wait()` gives its id. */
  async createModel(name: string, metadataBlobId: BlobId, overrides: TxOverrides = {}): Promise<Transaction<ModelId>> {
    const blobId = blobIdArgument(metadataBlobId, "metadataBlobId");
    return this.send(
      "createModel",
      () => this.contract.createModel(name, blobId, overrides),
      async (receipt) => modelIdOfArgs((await this.receiptEvent(receipt, "ModelCreated")).args),
    );
  }

  /** Points the model at a new metadata blob. Only the owner. */
  async setMetadata(
    modelId: ModelId,
    metadataBlobId: BlobId,
    overrides: TxOverrides = {},
  ): Promise<Transaction<Mined & { modelId: ModelId; metadataBlobId: BlobId }>> {
    const id = toModelId(modelId, "modelId");
    const blobId = blobIdArgument(metadataBlobId, "metadataBlobId");
    return this.send(
      "setMetadata",
      () => this.contract.setMetadata(id, blobId, overrides),
      async (receipt) => {
        const { args, mined } = await this.receiptEvent(receipt, "ModelMetadataUpdated");
        return { ...mined, modelId: modelIdOfArgs(args), metadataBlobId: blobIdOfArgs(args, "metadataBlobId") };
      },
    );
  }

  /** Publishes a version of the model; `wait()` gives its index and what was recorded. Only the owner. */
  async publishVersion(
    modelId: ModelId,
    params: PublishVersionParams,
    overrides: TxOverrides = {},
  ): Promise<Transaction<PublishedVersion>> {
    const id = toModelId(modelId, "modelId");
    const blobId = blobIdArgument(params.blobId, "blobId");
    const sha256 = toBytes32(params.sha256, "sha256");
    return this.send(
      "publishVersion",
      () => this.contract.publishVersion(id, blobId, sha256, params.size, params.endEpoch, overrides),
      async (receipt) => {
        const { args, mined } = await this.receiptEvent(receipt, "VersionPublished");
        return {
          ...mined,
          modelId: modelIdOfArgs(args),
          index: num(args, "index"),
          blobId: blobIdOfArgs(args, "blobId"),
          sha256: str(args, "sha256"),
          size: big(args, "size"),
          endEpoch: num(args, "endEpoch"),
        };
      },
    );
  }

  /** Records that version `index` is stored on Walrus up to `endEpoch`. Only the owner. */
  async extendVersion(
    modelId: ModelId,
    index: number,
    endEpoch: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<Mined & { modelId: ModelId; index: number; endEpoch: number }>> {
    const id = toModelId(modelId, "modelId");
    return this.send(
      "extendVersion",
      () => this.contract.extendVersion(id, index, endEpoch, overrides),
      async (receipt) => {
        const { args, mined } = await this.receiptEvent(receipt, "VersionExtended");
        return { ...mined, modelId: modelIdOfArgs(args), index: num(args, "index"), endEpoch: num(args, "endEpoch") };
      },
    );
  }

  /** Deprecates version `index`. Only the owner. */
  async deprecateVersion(
    modelId: ModelId,
    index: number,
    overrides: TxOverrides = {},
  ): Promise<Transaction<Mined & { modelId: ModelId; index: number }>> {
    const id = toModelId(modelId, "modelId");
    return this.send(
      "deprecateVersion",
      () => this.contract.deprecateVersion(id, index, overrides),
      async (receipt) => {
        const { args, mined } = await this.receiptEvent(receipt, "VersionDeprecated");
        return { ...mined, modelId: modelIdOfArgs(args), index: num(args, "index") };
      },
    );
  }

  /** Offers the model to `newOwner`, who must accept it (zero address cancels). Only the owner. */
  async transferModel(
    modelId: ModelId,
    newOwner: string,
    overrides: TxOverrides = {},
  ): Promise<Transaction<OwnershipChange>> {
    const id = toModelId(modelId, "modelId");
    const to = toAddress(newOwner, "newOwner");
    return this.send(
      "transferModel",
      () => this.contract.transferModel(id, to, overrides),
      async (receipt) => this.ownershipChange(receipt, "ModelTransferStarted"),
    );
  }

  /** Accepts a pending offer of the model. Only the pending owner. */
  async acceptModel(modelId: ModelId, overrides: TxOverrides = {}): Promise<Transaction<OwnershipChange>> {
    const id = toModelId(modelId, "modelId");
    return this.send(
      "acceptModel",
      () => this.contract.acceptModel(id, overrides),
      async (receipt) => this.ownershipChange(receipt, "ModelTransferred"),
    );
  }

  // Reads -------------------------------------------------------------------------------------------------------------

  /** The registry's `version()`: the semantic version of its interface and behaviour, to tell deployments apart. */
  async version(): Promise<string> {
    return this.call("version", () => this.contract.version());
  }

  /** The model; throws {@link UnknownModelError} if there is none. */
  async getModel(modelId: ModelId): Promise<ModelRecord> {
    const id = toModelId(modelId, "modelId");
    const model = await this.read("getModel", id, () => this.contract.getModel(id));
    return {
      id,
      owner: model.owner,
      versionCount: Number(model.versionCount),
      createdAt: Number(model.createdAt),
      metadataBlobId: blobIdFromBytes32(model.metadataBlobId),
    };
  }

  /** Whether the model exists. */
  async exists(modelId: ModelId): Promise<boolean> {
    try {
      await this.getModel(modelId);
      return true;
    } catch (error) {
      if (error instanceof UnknownModelError) return false;
      throw error;
    }
  }

  /** The pending owner of the model, or `null`. */
  async pendingOwner(modelId: ModelId): Promise<string | null> {
    const id = toModelId(modelId, "modelId");
    const owner = await this.call("pendingOwner", () => this.contract.pendingOwner(id));
    return /^0x0{40}$/.test(owner) ? null : owner;
  }

  /** Version `index` of the model; throws {@link UnknownVersionError} if there is none. */
  async getVersion(modelId: ModelId, index: number): Promise<ModelVersion> {
    const id = toModelId(modelId, "modelId");
    const version = await this.read("getVersion", id, () => this.contract.getVersion(id, index));
    return toVersion(id, index, version);
  }

  /** The newest version that is not deprecated; throws {@link NoActiveVersionError} if there is none. */
  async latestVersion(modelId: ModelId): Promise<ModelVersion> {
    const id = toModelId(modelId, "modelId");
    const [index, version] = await this.read("latestVersion", id, () => this.contract.latestVersion(id));
    return toVersion(id, Number(index), version);
  }

  /** The number of versions (deprecated ones included); 0 for an unknown model. */
  async versionCount(modelId: ModelId): Promise<number> {
    const id = toModelId(modelId, "modelId");
    return Number(await this.call("versionCount", () => this.contract.versionCount(id)));
  }

  /** The index of the version whose file is `blobId`; throws {@link UnknownVersionError} if there is none. */
  async versionOf(modelId: ModelId, blobId: BlobId): Promise<number> {
    const id = toModelId(modelId, "modelId");
    const blob = blobIdArgument(blobId, "blobId");
    return Number(await this.read("versionOf", id, () => this.contract.versionOf(id, blob)));
  }

  /** Every version of the model, oldest first. */
  async listVersions(modelId: ModelId): Promise<ModelVersion[]> {
    const count = await this.versionCount(modelId);
    return Promise.all(Array.from({ length: count }, (_, index) => this.getVersion(modelId, index)));
  }

  /**
   * Resolves a model reference (a model id, `creator/name`, or a bare name created by `defaultCreator`; see
   * {@link parseModelRef}) to the model; throws {@link UnknownModelError} naming the reference if there is none.
   */
  async resolve(ref: string, defaultCreator?: string): Promise<ResolvedModel> {
    const { modelId } = parseModelRef(ref, defaultCreator);
    try {
      return { ref, model: await this.getModel(modelId) };
    } catch (error) {
      if (error instanceof UnknownModelError) throw new UnknownModelError(modelId, ref, { cause: error });
      throw error;
    }
  }

  /**
   * Resolves a model reference and a version: an index, or `"latest"` (the newest active version, the default).
   */
  async resolveVersion(
    ref: string,
    version: number | "latest" = "latest",
    defaultCreator?: string,
  ): Promise<ModelVersion> {
    const { model } = await this.resolve(ref, defaultCreator);
    if (version === "latest") return this.latestVersion(model.id);
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new InvalidArgumentError("version", version, 'expected a version index (0, 1, ...) or "latest"');
    }
    return this.getVersion(model.id, version);
  }

  /** The model's name, from its creation event; throws {@link UnknownModelError} if it was never created. */
  async getModelName(modelId: ModelId): Promise<string> {
    const id = toModelId(modelId, "modelId");
    const [created] = await this.scan((from, to) =>
      this.contract.queryFilter(this.contract.filters.ModelCreated(id), from, to),
    );
    if (!created) throw new UnknownModelError(id);
    return created.args.name;
  }

  /** Every model created (by `creator`, if given), oldest first, from the creation events. */
  async listModels(filter: { creator?: string } = {}): Promise<ModelListing[]> {
    const creator = filter.creator === undefined ? undefined : toAddress(filter.creator, "creator");
    const logs = await this.scan((from, to) =>
      this.contract.queryFilter(this.contract.filters.ModelCreated(undefined, creator), from, to),
    );
    return logs.map((log) => ({
      id: log.args.modelId as ModelId,
      creator: log.args.creator,
      name: log.args.name,
      metadataBlobId: blobIdFromBytes32(log.args.metadataBlobId),
      blockNumber: log.blockNumber,
      txHash: log.transactionHash,
    }));
  }

  // Internals ---------------------------------------------------------------------------------------------------------

  /** A view call whose "does not exist" reverts become {@link UnknownModelError} / {@link UnknownVersionError}. */
  private async read<T>(method: string, modelId: ModelId, run: () => Promise<T>): Promise<T> {
    try {
      return await this.call(method, run);
    } catch (error) {
      if (!(error instanceof ContractRevertError)) throw error;
      const a = error.namedArgs;
      switch (error.errorName) {
        case "ModelRegistryUnknownModel":
          throw new UnknownModelError(modelId, modelId, { cause: error });
        case "ModelRegistryUnknownVersion":
          throw new UnknownVersionError(modelId, { index: Number(a.index), count: Number(a.count) }, { cause: error });
        case "ModelRegistryUnknownBlobId":
          throw new UnknownVersionError(modelId, { blobId: blobIdFromBytes32(String(a.blobId)) }, { cause: error });
        case "ModelRegistryNoActiveVersion":
          throw new NoActiveVersionError(modelId, { cause: error });
        default:
          throw error;
      }
    }
  }

  private async ownershipChange(
    receipt: ContractTransactionReceipt,
    eventName: "ModelTransferStarted" | "ModelTransferred",
  ): Promise<OwnershipChange> {
    const { args, mined } = await this.receiptEvent(receipt, eventName);
    return {
      ...mined,
      modelId: modelIdOfArgs(args),
      previousOwner: str(args, "previousOwner"),
      newOwner: str(args, "newOwner"),
    };
  }
}

function toVersion(modelId: ModelId, index: number, v: Awaited<ReturnType<ModelRegistry["getVersion"]>>): ModelVersion {
  return {
    modelId,
    index,
    blobId: blobIdFromBytes32(v.blobId),
    sha256: v.sha256,
    size: v.size,
    endEpoch: Number(v.endEpoch),
    publishedAt: Number(v.publishedAt),
    deprecated: v.deprecated,
  };
}

/** The `modelId` of an event's arguments. */
function modelIdOfArgs(args: Record<string, unknown>): ModelId {
  return toModelId(str(args, "modelId"));
}

/** A Blob ID of an event's arguments (bytes32 on-chain). */
function blobIdOfArgs(args: Record<string, unknown>, key: string): BlobId {
  return blobIdFromBytes32(str(args, key));
}
