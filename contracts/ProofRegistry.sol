// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IProofRegistry} from "./interfaces/IProofRegistry.sol";
import {BatchRoot} from "./types/BatchRoot.sol";
import {BlobId} from "./types/BlobId.sol";
import {Commitment} from "./types/Commitment.sol";

/// @title ProofRegistry
/// @notice Anchors inference proofs; see {IProofRegistry}.
/// @dev Who may anchor is mirrored here by the node registry ({setAnchorer}) so that the hot path reads one local slot
/// rather than calling another contract (about 3,000 gas less per anchor).
contract ProofRegistry is IProofRegistry {
    /// @notice See {IProofRegistry.version}.
    string private constant _VERSION = "2.0.0";

    address private immutable _NODE_REGISTRY;

    mapping(address node => bool allowed) private _anchorers;
    mapping(address node => mapping(Commitment commitment => ProofAnchor anchor)) private _proofs;
    mapping(address node => mapping(BatchRoot root => BatchAnchor anchor)) private _batches;

    modifier onlyAnchorer() {
        if (!_anchorers[msg.sender]) revert ProofRegistryNotActiveNode(msg.sender);
        _;
    }

    /// @param nodeRegistry_ The {INodeRegistry} that admits and removes anchoring nodes.
    constructor(address nodeRegistry_) {
        if (nodeRegistry_ == address(0)) revert ProofRegistryZeroNodeRegistry();
        _NODE_REGISTRY = nodeRegistry_;
    }

    /// @inheritdoc IProofRegistry
    function setAnchorer(address node, bool allowed) external {
        if (msg.sender != _NODE_REGISTRY) revert ProofRegistryUnauthorizedAccount(msg.sender);
        _anchorers[node] = allowed;
        emit AnchorerSet(node, allowed);
    }

    /// @inheritdoc IProofRegistry
    function anchorProof(Commitment commitment, BlobId blobId, uint32 endEpoch) external onlyAnchorer {
        _checkReference(Commitment.unwrap(commitment), blobId, endEpoch);
        ProofAnchor storage anchor = _proofs[msg.sender][commitment];
        if (anchor.anchoredAt != 0) {
            revert ProofRegistryAlreadyAnchored(Commitment.unwrap(commitment), msg.sender, anchor.anchoredAt);
        }
        // One SSTORE of the whole slot, which is zero here: anchoredAt in bits 0-63, endEpoch in 64-95 (see _storeBatch).
        uint256 packed = uint256(uint64(block.timestamp)) | (uint256(endEpoch) << 64);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(anchor.slot, packed)
        }
        emit ProofAnchored(commitment, msg.sender, blobId, endEpoch);
    }

    /// @inheritdoc IProofRegistry
    function anchorBatch(BatchRoot root, BlobId blobId, uint32 count, uint32 endEpoch) external onlyAnchorer {
        _checkBatch(root, blobId, count, endEpoch);
        _storeBatch(root, count, endEpoch);
        emit BatchAnchored(root, msg.sender, blobId, count, endEpoch);
    }

    /// @inheritdoc IProofRegistry
    function announceBatch(BatchRoot root, BlobId blobId, uint32 count, uint32 endEpoch) external onlyAnchorer {
        _checkBatch(root, blobId, count, endEpoch);
        emit BatchAnnounced(root, msg.sender, blobId, count, endEpoch);
    }

    /// @inheritdoc IProofRegistry
    function anchorQuilts(
        BatchRoot root,
        BlobId[] calldata quilts,
        uint32 count,
        uint32 endEpoch
    ) external onlyAnchorer {
        _checkQuilts(root, quilts, count, endEpoch);
        _storeBatch(root, count, endEpoch);
        emit QuiltsAnchored(root, msg.sender, quilts, count, endEpoch);
    }

    /// @inheritdoc IProofRegistry
    function announceQuilts(
        BatchRoot root,
        BlobId[] calldata quilts,
        uint32 count,
        uint32 endEpoch
    ) external onlyAnchorer {
        _checkQuilts(root, quilts, count, endEpoch);
        emit QuiltsAnnounced(root, msg.sender, quilts, count, endEpoch);
    }

    /// @inheritdoc IProofRegistry
    function extendProofs(Commitment[] calldata commitments, uint32 endEpoch) external {
        uint256 n = commitments.length;
        if (n == 0) revert ProofRegistryNothingToExtend();
        mapping(Commitment commitment => ProofAnchor anchor) storage mine = _proofs[msg.sender];
        for (uint256 i; i < n; ++i) {
            Commitment commitment = commitments[i];
            ProofAnchor storage anchor = mine[commitment];
            _checkExtension(Commitment.unwrap(commitment), anchor.anchoredAt, anchor.endEpoch, endEpoch);
            anchor.endEpoch = endEpoch;
            emit ProofStorageExtended(commitment, msg.sender, endEpoch);
        }
    }

    /// @inheritdoc IProofRegistry
    function extendBatches(BatchRoot[] calldata roots, uint32 endEpoch) external {
        uint256 n = roots.length;
        if (n == 0) revert ProofRegistryNothingToExtend();
        mapping(BatchRoot root => BatchAnchor anchor) storage mine = _batches[msg.sender];
        for (uint256 i; i < n; ++i) {
            BatchRoot root = roots[i];
            BatchAnchor storage anchor = mine[root];
            _checkExtension(BatchRoot.unwrap(root), anchor.anchoredAt, anchor.endEpoch, endEpoch);
            anchor.endEpoch = endEpoch;
            emit BatchStorageExtended(root, msg.sender, endEpoch);
        }
    }

    /// @inheritdoc IProofRegistry
    function announceBatchesExtended(BatchRoot[] calldata roots, uint32 endEpoch) external onlyAnchorer {
        uint256 n = roots.length;
        if (n == 0) revert ProofRegistryNothingToExtend();
        if (endEpoch == 0) revert ProofRegistryZeroEndEpoch(BatchRoot.unwrap(roots[0]));
        for (uint256 i; i < n; ++i) {
            BatchRoot root = roots[i];
            if (BatchRoot.unwrap(root) == bytes32(0)) revert ProofRegistryZeroCommitment();
            emit BatchStorageExtended(root, msg.sender, endEpoch);
        }
    }

    /// @inheritdoc IProofRegistry
    function getProof(address node, Commitment commitment) external view returns (ProofAnchor memory) {
        return _proofs[node][commitment];
    }

    /// @inheritdoc IProofRegistry
    function getBatch(address node, BatchRoot root) external view returns (BatchAnchor memory) {
        return _batches[node][root];
    }

    /// @inheritdoc IProofRegistry
    function isIncluded(
        address node,
        BatchRoot root,
        Commitment commitment,
        bytes32[] calldata proof
    ) external view returns (bool) {
        if (_batches[node][root].anchoredAt == 0) return false;
        return MerkleProof.verifyCalldata(proof, BatchRoot.unwrap(root), leafOf(commitment));
    }

    /// @inheritdoc IProofRegistry
    function isAnchorer(address node) external view returns (bool) {
        return _anchorers[node];
    }

    /// @inheritdoc IProofRegistry
    function nodeRegistry() external view returns (address) {
        return _NODE_REGISTRY;
    }

    /// @inheritdoc IProofRegistry
    function version() external pure returns (string memory) {
        return _VERSION;
    }

    /// @inheritdoc IProofRegistry
    function leafOf(Commitment commitment) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(commitment))));
    }

    /// @dev Stores the batch `root` under the calling node, write-once (shared by {anchorBatch} and {anchorQuilts}).
    function _storeBatch(BatchRoot root, uint32 count, uint32 endEpoch) private {
        BatchAnchor storage anchor = _batches[msg.sender][root];
        if (anchor.anchoredAt != 0) {
            revert ProofRegistryAlreadyAnchored(BatchRoot.unwrap(root), msg.sender, anchor.anchoredAt);
        }
        // One SSTORE of the whole slot, which is zero here (only an anchor writes a slot, and always a non-zero time):
        // anchoredAt in bits 0-63, count in 64-95, endEpoch in 96-127 (test/Storage.test.ts guards the layout).
        // Three field assignments would read and mask the slot again for each field (about 400 gas more).
        uint256 packed = uint256(uint64(block.timestamp)) | (uint256(count) << 64) | (uint256(endEpoch) << 96);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(anchor.slot, packed)
        }
    }

    /// @dev `commitment` is a proof commitment or a batch root (the errors name either).
    function _checkReference(bytes32 commitment, BlobId blobId, uint32 endEpoch) private pure {
        if (commitment == bytes32(0)) revert ProofRegistryZeroCommitment();
        if (blobId.isZero()) revert ProofRegistryZeroBlobId(commitment);
        if (endEpoch == 0) revert ProofRegistryZeroEndEpoch(commitment);
    }

    function _checkBatch(BatchRoot root, BlobId blobId, uint32 count, uint32 endEpoch) private pure {
        _checkReference(BatchRoot.unwrap(root), blobId, endEpoch);
        if (count == 0) revert ProofRegistryEmptyBatch(root);
    }

    function _checkQuilts(BatchRoot root, BlobId[] calldata quilts, uint32 count, uint32 endEpoch) private pure {
        bytes32 id = BatchRoot.unwrap(root);
        if (id == bytes32(0)) revert ProofRegistryZeroCommitment();
        if (count == 0) revert ProofRegistryEmptyBatch(root);
        if (endEpoch == 0) revert ProofRegistryZeroEndEpoch(id);
        uint256 n = quilts.length;
        if (n == 0) revert ProofRegistryNoQuilts(root);
        if (n > count) revert ProofRegistryTooManyQuilts(root, n, count);
        for (uint256 i; i < n; ++i) {
            if (quilts[i].isZero()) revert ProofRegistryZeroQuiltId(root, i);
        }
    }

    /// @dev An extension of `commitment` (a proof commitment or a batch root) from `current` to `requested`, of an
    /// anchor made at `anchoredAt` (zero: not anchored by the caller).
    function _checkExtension(bytes32 commitment, uint64 anchoredAt, uint32 current, uint32 requested) private view {
        if (anchoredAt == 0) revert ProofRegistryNotAnchored(commitment, msg.sender);
        if (requested <= current) revert ProofRegistryEndEpochNotExtended(commitment, current, requested);
    }
}
