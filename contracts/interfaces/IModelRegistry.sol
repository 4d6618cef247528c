// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {BlobId} from "../types/BlobId.sol";
import {ModelId} from "../types/ModelId.sol";

/// @title IModelRegistry
/// @notice Model repositories whose files live on Walrus. A model is (owner, name) with a content-derived id and a
/// metadata Blob ID (description, task, license, tags, input/output signature: a Walrus blob). Its versions point at the
/// model file's Blob ID with a sha256 commitment, the size and the Walrus storage end epoch. Names and every other
/// descriptive value live in events and Walrus blobs, not in storage.
interface IModelRegistry {
    /// @notice A model repository. Fits in two slots: (owner, versionCount, createdAt) and metadataBlobId.
    struct Model {
        address owner;
        uint32 versionCount;
        uint64 createdAt;
        BlobId metadataBlobId;
    }

    /// @notice A published version of a model, as returned by the reads.
    struct Version {
        BlobId blobId;
        bytes32 sha256;
        uint64 size;
        uint32 endEpoch;
        uint64 publishedAt;
        bool deprecated;
    }

    /// @notice Emitted when `creator` creates the model `modelId` named `name`.
    event ModelCreated(ModelId indexed modelId, address indexed creator, string name, BlobId metadataBlobId);

    /// @notice Emitted when the owner points the model at a new metadata blob.
    event ModelMetadataUpdated(ModelId indexed modelId, BlobId metadataBlobId);

    /// @notice Emitted when version `index` of `modelId` is published.
    event VersionPublished(
        ModelId indexed modelId,
        uint32 indexed index,
        BlobId blobId,
        bytes32 sha256,
        uint64 size,
        uint32 endEpoch
    );

    /// @notice Emitted when the Walrus storage of a version was renewed up to `endEpoch`.
    event VersionExtended(ModelId indexed modelId, uint32 indexed index, uint32 endEpoch);

    /// @notice Emitted when a version is deprecated: it stays readable but is no longer the latest.
    event VersionDeprecated(ModelId indexed modelId, uint32 indexed index);

    /// @notice Emitted when the owner offers the model to `newOwner` (zero cancels a pending offer).
    event ModelTransferStarted(ModelId indexed modelId, address indexed previousOwner, address indexed newOwner);

    /// @notice Emitted when `newOwner` accepted the model.
    event ModelTransferred(ModelId indexed modelId, address indexed previousOwner, address indexed newOwner);

    /// @notice The model name is empty.
    error ModelRegistryEmptyName();
    /// @notice The model name is longer than `maxLength` bytes.
    error ModelRegistryNameTooLong(uint256 length, uint256 maxLength);
    /// @notice A Blob ID argument of `modelId` is zero.
    error ModelRegistryZeroBlobId(ModelId modelId);
    /// @notice The sha256 commitment of a version of `modelId` is zero.
    error ModelRegistryZeroSha256(ModelId modelId, BlobId blobId);
    /// @notice The size of a version of `modelId` is zero.
    error ModelRegistryZeroSize(ModelId modelId, BlobId blobId);
    /// @notice The Walrus end epoch of a version of `modelId` is zero.
    error ModelRegistryZeroEndEpoch(ModelId modelId, BlobId blobId);
    /// @notice `creator` already has a model with this id.
    error ModelRegistryModelExists(ModelId modelId, address creator);
    /// @notice No model has this id.
    error ModelRegistryUnknownModel(ModelId modelId);
    /// @notice `account` is not the owner of `modelId`.
    error ModelRegistryUnauthorizedAccount(ModelId modelId, address account);
    /// @notice `account` is not the pending owner of `modelId`.
    error ModelRegistryNotPendingOwner(ModelId modelId, address account);
    /// @notice `blobId` is already version `index` of `modelId`.
    error ModelRegistryDuplicateBlobId(ModelId modelId, BlobId blobId, uint32 index);
    /// @notice `modelId` has `count` versions; `index` is not one of them.
    error ModelRegistryUnknownVersion(ModelId modelId, uint256 index, uint256 count);
    /// @notice `blobId` is not a version of `modelId`.
    error ModelRegistryUnknownBlobId(ModelId modelId, BlobId blobId);
    /// @notice Version `index` of `modelId` is already deprecated.
    error ModelRegistryVersionDeprecated(ModelId modelId, uint32 index);
    /// @notice The new end epoch `requested` does not extend version `index` of `modelId` past `current`.
    error ModelRegistryEndEpochNotExtended(ModelId modelId, uint32 index, uint32 current, uint32 requested);
    /// @notice Every version of `modelId` is deprecated, or it has none.
    error ModelRegistryNoActiveVersion(ModelId modelId);

    /// @notice Creates the model `name` owned by the caller, described by the Walrus blob `metadataBlobId`.
    /// @dev Reverts with {ModelRegistryEmptyName}, {ModelRegistryNameTooLong}, {ModelRegistryZeroBlobId} or
    /// {ModelRegistryModelExists}. Emits {ModelCreated}.
    /// @return modelId `keccak256(abi.encode(msg.sender, name))`.
    function createModel(string calldata name, BlobId metadataBlobId) external returns (ModelId modelId);

    /// @notice Points `modelId` at a new metadata blob. Only the owner.
    /// @dev Emits {ModelMetadataUpdated}.
    function setMetadata(ModelId modelId, BlobId metadataBlobId) external;

    /// @notice Publishes a version of `modelId` whose file is the Walrus blob `blobId`. Only the owner.
    /// @param sha256Digest sha256 of the file bytes: the cheap check every reader makes.
    /// @param size The file size in bytes.
    /// @param endEpoch The Walrus epoch (exclusive) at which the blob's storage ends.
    /// @dev Reverts on zero values and with {ModelRegistryDuplicateBlobId} when `blobId` is already a version of this
    /// model. Emits {VersionPublished}.
    /// @return index The index of the new version (the first is 0).
    function publishVersion(
        ModelId modelId,
        BlobId blobId,
        bytes32 sha256Digest,
        uint64 size,
        uint32 endEpoch
    ) external returns (uint32 index);

    /// @notice Records that the storage of version `index` was renewed on Walrus up to `endEpoch`. Only the owner.
    /// @dev Reverts with {ModelRegistryEndEpochNotExtended} unless `endEpoch` is later than the current one.
    /// Emits {VersionExtended}.
    function extendVersion(ModelId modelId, uint32 index, uint32 endEpoch) external;

    /// @notice Deprecates version `index`. Only the owner. Emits {VersionDeprecated}.
    function deprecateVersion(ModelId modelId, uint32 index) external;

    /// @notice Offers `modelId` to `newOwner`, who must accept it; `address(0)` cancels a pending offer. Only the owner.
    /// @dev Emits {ModelTransferStarted}.
    function transferModel(ModelId modelId, address newOwner) external;

    /// @notice Accepts a pending offer of `modelId`. Only the pending owner. Emits {ModelTransferred}.
    function acceptModel(ModelId modelId) external;

    /// @notice The model `modelId`; reverts with {ModelRegistryUnknownModel} if there is none.
    function getModel(ModelId modelId) external view returns (Model memory);

    /// @notice The pending owner of `modelId`, or zero.
    function pendingOwner(ModelId modelId) external view returns (address);

    /// @notice Version `index` of `modelId`; reverts with {ModelRegistryUnknownVersion} if there is none.
    function getVersion(ModelId modelId, uint32 index) external view returns (Version memory);

    /// @notice The newest version of `modelId` that is not deprecated, and its index.
    /// @dev Reverts with {ModelRegistryNoActiveVersion} when there is none. O(1): two record reads, whatever the number
    /// of deprecated versions (the registry stores the latest active version; {deprecateVersion} of it walks down to
    /// the next one, amortised O(1)).
    function latestVersion(ModelId modelId) external view returns (uint32 index, Version memory version);

    /// @notice The number of versions of `modelId` (deprecated ones included).
    function versionCount(ModelId modelId) external view returns (uint32);

    /// @notice The index of `blobId` among the versions of `modelId`; reverts with {ModelRegistryUnknownBlobId}.
    function versionOf(ModelId modelId, BlobId blobId) external view returns (uint32 index);

    /// @notice The id that `createModel(name)` called by `creator` gives.
    function modelIdOf(address creator, string calldata name) external pure returns (ModelId);

    /// @notice The version of this registry's interface and behaviour, as a semantic version string (e.g. `"1.0.0"`):
    /// a pure constant of the bytecode, so clients can tell deployments apart. The major number changes with the ABI,
    /// the storage layout or the meaning of a call. Not a model version:
    /// see {getVersion} for those.
    function version() external pure returns (string memory);
}
