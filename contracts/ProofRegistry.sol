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
    string private constant _VERSION = "1.1.0";

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
    function anchorProof(Commitment commitment, BlobId blobId) external onlyAnchorer {
        _checkReference(Commitment.unwrap(commitment), blobId);
        ProofAnchor storage anchor = _proofs[msg.sender][commitment];
        if (anchor.anchoredAt != 0) {
            revert ProofRegistryAlreadyAnchored(Commitment.unwrap(commitment), msg.sender, anchor.anchoredAt);
        }
        anchor.anchoredAt = uint64(block.timestamp);
        emit ProofAnchored(commitment, msg.sender, blobId);
    }

    /// @inheritdoc IProofRegistry
    function anchorBatch(BatchRoot root, BlobId blobId, uint32 count) external onlyAnchorer {
        _checkBatch(root, blobId, count);
        BatchAnchor storage anchor = _batches[msg.sender][root];
        if (anchor.anchoredAt != 0) {
            revert ProofRegistryAlreadyAnchored(BatchRoot.unwrap(root), msg.sender, anchor.anchoredAt);
        }
        anchor.anchoredAt = uint64(block.timestamp);
        anchor.count = count;
        emit BatchAnchored(root, msg.sender, blobId, count);
    }

    /// @inheritdoc IProofRegistry
    function announceBatch(BatchRoot root, BlobId blobId, uint32 count) external onlyAnchorer {
        _checkBatch(root, blobId, count);
        emit BatchAnnounced(root, msg.sender, blobId, count);
    }

    /// @inheritdoc IProofRegistry
    function anchorQuilts(BatchRoot root, BlobId[] calldata quilts, uint32 count) external onlyAnchorer {
        _checkQuilts(root, quilts, count);
        BatchAnchor storage anchor = _batches[msg.sender][root];
        if (anchor.anchoredAt != 0) {
            revert ProofRegistryAlreadyAnchored(BatchRoot.unwrap(root), msg.sender, anchor.anchoredAt);
        }
        anchor.anchoredAt = uint64(block.timestamp);
        anchor.count = count;
        emit QuiltsAnchored(root, msg.sender, quilts, count);
    }

    /// @inheritdoc IProofRegistry
    function announceQuilts(BatchRoot root, BlobId[] calldata quilts, uint32 count) external onlyAnchorer {
        _checkQuilts(root, quilts, count);
        emit QuiltsAnnounced(root, msg.sender, quilts, count);
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

    /// @dev `commitment` is a proof commitment or a batch root (the errors name either).
    function _checkReference(bytes32 commitment, BlobId blobId) private pure {
        if (commitment == bytes32(0)) revert ProofRegistryZeroCommitment();
        if (blobId.isZero()) revert ProofRegistryZeroBlobId(commitment);
    }

    function _checkBatch(BatchRoot root, BlobId blobId, uint32 count) private pure {
        _checkReference(BatchRoot.unwrap(root), blobId);
        if (count == 0) revert ProofRegistryEmptyBatch(root);
    }

    function _checkQuilts(BatchRoot root, BlobId[] calldata quilts, uint32 count) private pure {
        if (BatchRoot.unwrap(root) == bytes32(0)) revert ProofRegistryZeroCommitment();
        if (count == 0) revert ProofRegistryEmptyBatch(root);
        uint256 n = quilts.length;
        if (n == 0) revert ProofRegistryNoQuilts(root);
        if (n > count) revert ProofRegistryTooManyQuilts(root, n, count);
        for (uint256 i; i < n; ++i) {
            if (quilts[i].isZero()) revert ProofRegistryZeroQuiltId(root, i);
        }
    }
}
