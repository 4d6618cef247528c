// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {BlobId} from "../types/BlobId.sol";

/// @title IProofRegistry
/// @notice Anchors inference proofs whose documents live on Walrus. Storage holds only what a contract must read
/// (who anchored and when, and a batch's size); the Blob IDs where the documents live are in the events.
///
/// Three ways to anchor:
/// - {anchorProof}: one proof commitment, write-once.
/// - {anchorBatch}: a Merkle root over many proof commitments, write-once, with an on-chain inclusion check.
/// - {announceBatch}: the same root in an event only; no storage, so no on-chain existence or inclusion check.
///
/// Batch trees follow the StandardMerkleTree of the npm package openzeppelin merkle-tree, with leaf encoding `["bytes32"]`:
/// `leaf = keccak256(bytes.concat(keccak256(abi.encode(commitment))))`, sorted pairs.
interface IProofRegistry {
    /// @notice A single anchored proof. Fits in one slot.
    struct ProofAnchor {
        address node;
        uint64 anchoredAt;
    }

    /// @notice An anchored batch. Fits in one slot.
    struct BatchAnchor {
        address node;
        uint64 anchoredAt;
        uint32 count;
    }

    /// @notice Emitted when `node` anchors the proof `commitment`, whose document is the Walrus blob `blobId`.
    event ProofAnchored(bytes32 indexed commitment, address indexed node, BlobId blobId);
    /// @notice Emitted when `node` anchors a batch of `count` proofs under `root`, stored in the Walrus blob `blobId`.
    event BatchAnchored(bytes32 indexed root, address indexed node, BlobId blobId, uint32 count);
    /// @notice Emitted when `node` announces, without storing, a batch of `count` proofs under `root`.
    event BatchAnnounced(bytes32 indexed root, address indexed node, BlobId blobId, uint32 count);
    /// @notice Emitted when the node registry lets `node` anchor (`allowed`) or stops it.
    event AnchorerSet(address indexed node, bool allowed);

    /// @notice `account` is not the node registry.
    error ProofRegistryUnauthorizedAccount(address account);
    /// @notice `node` is not an active node.
    error ProofRegistryNotActiveNode(address node);
    /// @notice The node registry address given at deployment is zero.
    error ProofRegistryZeroNodeRegistry();
    /// @notice The proof commitment or batch root is zero.
    error ProofRegistryZeroCommitment();
    /// @notice The Blob ID for `commitment` is zero.
    error ProofRegistryZeroBlobId(bytes32 commitment);
    /// @notice The batch under `root` has no proofs.
    error ProofRegistryEmptyBatch(bytes32 root);
    /// @notice `commitment` was already anchored by `node` at `anchoredAt`.
    error ProofRegistryAlreadyAnchored(bytes32 commitment, address node, uint64 anchoredAt);

    /// @notice Lets `node` anchor proofs, or stops it. Only the node registry.
    /// @dev Emits {AnchorerSet}.
    function setAnchorer(address node, bool allowed) external;

    /// @notice Anchors the proof `commitment`, whose document is the Walrus blob `blobId`. Only an active node.
    /// @dev Write-once: reverts with {ProofRegistryAlreadyAnchored}. Emits {ProofAnchored}.
    function anchorProof(bytes32 commitment, BlobId blobId) external;

    /// @notice Anchors a batch of `count` proofs under the Merkle `root`, stored in the Walrus blob `blobId`.
    /// Only an active node.
    /// @dev Write-once: reverts with {ProofRegistryAlreadyAnchored}. Emits {BatchAnchored}.
    function anchorBatch(bytes32 root, BlobId blobId, uint32 count) external;

    /// @notice Announces a batch in an event only (cheapest; no on-chain existence or inclusion check). Only an active
    /// node. Emits {BatchAnnounced}.
    function announceBatch(bytes32 root, BlobId blobId, uint32 count) external;

    /// @notice The anchor of `commitment`; all zero if it was not anchored singly.
    function getProof(bytes32 commitment) external view returns (ProofAnchor memory);

    /// @notice The anchor of the batch `root`; all zero if it was not anchored.
    function getBatch(bytes32 root) external view returns (BatchAnchor memory);

    /// @notice Whether `commitment` is a leaf of the anchored batch `root`, by the Merkle `proof`. False for an
    /// unknown root.
    function isIncluded(bytes32 root, bytes32 commitment, bytes32[] calldata proof) external view returns (bool);

    /// @notice Whether `node` may anchor proofs.
    function isAnchorer(address node) external view returns (bool);

    /// @notice The Merkle leaf of `commitment` in a batch tree.
    function leafOf(bytes32 commitment) external pure returns (bytes32);

    /// @notice The node registry that controls who may anchor.
    function nodeRegistry() external view returns (address);
}
