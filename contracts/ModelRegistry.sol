// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {BlobId} from "./types/BlobId.sol";
import {ModelId, ModelIdLib} from "./types/ModelId.sol";

/// @title ModelRegistry
/// @notice Model repositories whose files live on Walrus; see {IModelRegistry}.
contract ModelRegistry is IModelRegistry {
    /// @notice The longest model name, in bytes.
    uint256 public constant MAX_NAME_LENGTH = 64;
    /// @notice See {IModelRegistry.version}.
    string private constant _VERSION = "1.0.0";

    /// @dev A version's stored part. Fits in two slots: sha256, then (size, endEpoch, index, publishedAt, deprecated,
    /// below). The Blob ID is the key (with the model id), so a duplicate Blob ID is found by the same read that guards
    /// the write.
    ///
    /// `below` makes {latestVersion} O(1): it is `i + 1` for a version `i` at or below this one such that every version
    /// above `i`, up to this one, is deprecated (0: none is left). An active version points at itself. The newest
    /// version's `below` is kept exact: it names the latest active version, so {latestVersion} reads two records and
    /// never walks. {deprecateVersion} of the latest active version walks down these pointers to the next active one
    /// and stores it (in the deprecated version and in the newest); a walk jumps over every range an earlier walk
    /// crossed, so each version is stepped over at most once in all walks: amortised O(1) per deprecation.
    struct VersionRecord {
        bytes32 sha256;
        uint64 size;
        uint32 endEpoch;
        uint32 index;
        uint64 publishedAt;
        bool deprecated;
        uint32 below;
    }

    mapping(ModelId modelId => Model model) private _models;
    mapping(ModelId modelId => address pendingOwner) private _pendingOwners;
    mapping(ModelId modelId => mapping(uint256 index => BlobId blobId)) private _versionBlobIds;
    mapping(bytes32 versionKey => VersionRecord version) private _versions;

    modifier onlyModelOwner(ModelId modelId) {
        _checkOwner(modelId);
        _;
    }

    /// @inheritdoc IModelRegistry
    function createModel(string calldata name, BlobId metadataBlobId) external returns (ModelId modelId) {
        uint256 length = bytes(name).length;
        if (length == 0) revert ModelRegistryEmptyName();
        if (length > MAX_NAME_LENGTH) revert ModelRegistryNameTooLong(length, MAX_NAME_LENGTH);
        modelId = ModelIdLib.derive(msg.sender, name);
        if (metadataBlobId.isZero()) revert ModelRegistryZeroBlobId(modelId);
        Model storage model = _models[modelId];
        if (model.createdAt != 0) revert ModelRegistryModelExists(modelId, msg.sender);
        model.owner = msg.sender;
        model.createdAt = uint64(block.timestamp);
        model.metadataBlobId = metadataBlobId;
        emit ModelCreated(modelId, msg.sender, name, metadataBlobId);
    }

    /// @inheritdoc IModelRegistry
    function setMetadata(ModelId modelId, BlobId metadataBlobId) external onlyModelOwner(modelId) {
        if (metadataBlobId.isZero()) revert ModelRegistryZeroBlobId(modelId);
        _models[modelId].metadataBlobId = metadataBlobId;
        emit ModelMetadataUpdated(modelId, metadataBlobId);
    }

    /// @inheritdoc IModelRegistry
    function publishVersion(
        ModelId modelId,
        BlobId blobId,
        bytes32 sha256Digest,
        uint64 size,
        uint32 endEpoch
    ) external returns (uint32 index) {
        Model storage model = _models[modelId];
        if (model.owner != msg.sender) _revertUnauthorized(modelId, model);
        if (blobId.isZero()) revert ModelRegistryZeroBlobId(modelId);
        if (sha256Digest == bytes32(0)) revert ModelRegistryZeroSha256(modelId, blobId);
        if (size == 0) revert ModelRegistryZeroSize(modelId, blobId);
        if (endEpoch == 0) revert ModelRegistryZeroEndEpoch(modelId, blobId);
        VersionRecord storage record = _versions[_versionKey(modelId, blobId)];
        if (record.publishedAt != 0) revert ModelRegistryDuplicateBlobId(modelId, blobId, record.index);

        index = model.versionCount;
        model.versionCount = index + 1;
        _versionBlobIds[modelId][index] = blobId;
        record.sha256 = sha256Digest;
        record.size = size;
        record.endEpoch = endEpoch;
        record.index = index;
        record.publishedAt = uint64(block.timestamp);
        record.below = index + 1;
        emit VersionPublished(modelId, index, blobId, sha256Digest, size, endEpoch);
    }

    /// @inheritdoc IModelRegistry
    function extendVersion(ModelId modelId, uint32 index, uint32 endEpoch) external onlyModelOwner(modelId) {
        VersionRecord storage record = _versionAt(modelId, index);
        uint32 current = record.endEpoch;
        if (endEpoch <= current) revert ModelRegistryEndEpochNotExtended(modelId, index, current, endEpoch);
        record.endEpoch = endEpoch;
        emit VersionExtended(modelId, index, endEpoch);
    }

    /// @inheritdoc IModelRegistry
    function deprecateVersion(ModelId modelId, uint32 index) external onlyModelOwner(modelId) {
        VersionRecord storage record = _versionAt(modelId, index);
        if (record.deprecated) revert ModelRegistryVersionDeprecated(modelId, index);
        record.deprecated = true;
        VersionRecord storage newest = _record(modelId, _models[modelId].versionCount - 1);
        if (newest.below == index + 1) {
            // The latest active version goes: walk down to the next active one (see VersionRecord.below).
            uint32 next = index;
            while (next != 0) {
                VersionRecord storage candidate = _record(modelId, next - 1);
                if (!candidate.deprecated) break;
                next = candidate.below;
            }
            record.below = next;
            newest.below = next;
        } else {
            // A newer version is active: only mark the way down.
            record.below = index;
        }
        emit VersionDeprecated(modelId, index);
    }

    /// @inheritdoc IModelRegistry
    function transferModel(ModelId modelId, address newOwner) external onlyModelOwner(modelId) {
        _pendingOwners[modelId] = newOwner;
        emit ModelTransferStarted(modelId, msg.sender, newOwner);
    }

    /// @inheritdoc IModelRegistry
    function acceptModel(ModelId modelId) external {
        if (_pendingOwners[modelId] != msg.sender || msg.sender == address(0)) {
            revert ModelRegistryNotPendingOwner(modelId, msg.sender);
        }
        Model storage model = _models[modelId];
        address previousOwner = model.owner;
        model.owner = msg.sender;
        delete _pendingOwners[modelId];
        emit ModelTransferred(modelId, previousOwner, msg.sender);
    }

    /// @inheritdoc IModelRegistry
    function getModel(ModelId modelId) external view returns (Model memory) {
        Model memory model = _models[modelId];
        if (model.createdAt == 0) revert ModelRegistryUnknownModel(modelId);
        return model;
    }

    /// @inheritdoc IModelRegistry
    function pendingOwner(ModelId modelId) external view returns (address) {
        return _pendingOwners[modelId];
    }

    /// @inheritdoc IModelRegistry
    function getVersion(ModelId modelId, uint32 index) external view returns (Version memory) {
        return _toVersion(modelId, index);
    }

    /// @inheritdoc IModelRegistry
    function latestVersion(ModelId modelId) external view returns (uint32 index, Version memory version) {
        uint32 count = _models[modelId].versionCount;
        uint32 latest = count == 0 ? 0 : _record(modelId, count - 1).below;
        if (latest == 0) revert ModelRegistryNoActiveVersion(modelId);
        index = latest - 1;
        version = _toVersion(modelId, index);
    }

    /// @inheritdoc IModelRegistry
    function versionCount(ModelId modelId) external view returns (uint32) {
        return _models[modelId].versionCount;
    }

    /// @inheritdoc IModelRegistry
    function versionOf(ModelId modelId, BlobId blobId) external view returns (uint32 index) {
        VersionRecord storage record = _versions[_versionKey(modelId, blobId)];
        if (record.publishedAt == 0) revert ModelRegistryUnknownBlobId(modelId, blobId);
        return record.index;
    }

    /// @inheritdoc IModelRegistry
    function modelIdOf(address creator, string calldata name) external pure returns (ModelId) {
        return ModelIdLib.derive(creator, name);
    }

    /// @inheritdoc IModelRegistry
    function version() external pure returns (string memory) {
        return _VERSION;
    }

    function _checkOwner(ModelId modelId) private view {
        Model storage model = _models[modelId];
        if (model.owner != msg.sender) _revertUnauthorized(modelId, model);
    }

    /// @dev An unknown model reads as owner zero; say which of the two went wrong.
    function _revertUnauthorized(ModelId modelId, Model storage model) private view {
        if (model.createdAt == 0) revert ModelRegistryUnknownModel(modelId);
        revert ModelRegistryUnauthorizedAccount(modelId, msg.sender);
    }

    function _versionAt(ModelId modelId, uint32 index) private view returns (VersionRecord storage) {
        uint32 count = _models[modelId].versionCount;
        if (index >= count) revert ModelRegistryUnknownVersion(modelId, index, count);
        return _record(modelId, index);
    }

    /// @dev The record of version `index`, which must exist.
    function _record(ModelId modelId, uint32 index) private view returns (VersionRecord storage) {
        return _versions[_versionKey(modelId, _versionBlobIds[modelId][index])];
    }

    function _toVersion(ModelId modelId, uint32 index) private view returns (Version memory) {
        VersionRecord storage record = _versionAt(modelId, index);
        return
            Version({
                blobId: _versionBlobIds[modelId][index],
                sha256: record.sha256,
                size: record.size,
                endEpoch: record.endEpoch,
                publishedAt: record.publishedAt,
                deprecated: record.deprecated
            });
    }

    function _versionKey(ModelId modelId, BlobId blobId) private pure returns (bytes32) {
        return keccak256(abi.encode(modelId, blobId));
    }
}
