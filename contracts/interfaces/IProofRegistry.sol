// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {BatchRoot} from "../types/BatchRoot.sol";
import {BlobId} from "../types/BlobId.sol";
import {Commitment} from "../types/Commitment.sol";

/// @title IProofRegistry
/// @notice Anchors inference proofs whose documents live on Walrus. Storage holds only what a contract must read
/// (when an anchor was made, and a batch's size); the Blob IDs where the documents live are in the events.
///
/// Every anchor is keyed by the node that made it, together with the commitment or root: a node anchors only under
/// its own address (`msg.sender`), so another node anchoring the same commitment or root first, or with another Blob
/// ID, never touches it. Readers look anchors up by the node that signed the proof (the `node` of the document) and
/// filter the events on their indexed `node` topic.
///
/// Ways to anchor:
/// - {anchorProof}: one proof commitment, write-once per node.
/// - {anchorBatch}: a Merkle root over many proof commitments stored in one Walrus blob (a batch blob or one quilt),
///   write-once per node, with an on-chain inclusion check.
/// - {anchorQuilts}: the same for a root that covers several Walrus quilts (their Blob IDs in the event, in order).
/// - {announceBatch} / {announceQuilts}: the same roots in an event only (scoped to their announcer by the indexed
///   `node` topic); no storage, so no on-chain existence or inclusion check: readers check inclusion off-chain.
///
/// Commitments and roots are typed ({Commitment}, {BatchRoot}, {BlobId}: user-defined value types over `bytes32`, so the
/// ABI and the gas are those of `bytes32`). The errors that name either a commitment or a root keep `bytes32`.
///
/// Batch trees follow the StandardMerkleTree of the npm package openzeppelin merkle-tree, with leaf encoding `["bytes32"]`:
/// `leaf = keccak256(bytes.concat(keccak256(abi.encode(commitment))))`, sorted pairs.
interface IProofRegistry {
    /// @notice A single anchored proof, stored under (node, commitment). Fits in one slot.
    struct ProofAnchor {
        uint64 anchoredAt;
    }

    /// @notice An anchored batch, stored under (node, root). Fits in one slot.
    struct BatchAnchor {
        uint64 anchoredAt;
        uint32 count;
    }

    /// @notice Emitted when `node` anchors the proof `commitment`, whose document is the Walrus blob `blobId`.
    event ProofAnchored(Commitment indexed commitment, address indexed node, BlobId blobId);
    /// @notice Emitted when `node` anchors a batch of `count` proofs under `root`, stored in the Walrus blob `blobId`.
    event BatchAnchored(BatchRoot indexed root, address indexed node, BlobId blobId, uint32 count);
    /// @notice Emitted when `node` announces, without storing, a batch of `count` proofs under `root`.
    event BatchAnnounced(BatchRoot indexed root, address indexed node, BlobId blobId, uint32 count);
    /// @notice Emitted when `node` anchors a batch of `count` proofs under `root`, stored in the Walrus quilts `quilts`
    /// (Blob IDs, in the batch's quilt order: quilt `k` holds the proofs of subtree `k` of the root).
    event QuiltsAnchored(BatchRoot indexed root, address indexed node, BlobId[] quilts, uint32 count);
    /// @notice Emitted when `node` announces, without storing, a batch of `count` proofs under `root` in `quilts`.
    event QuiltsAnnounced(BatchRoot indexed root, address indexed node, BlobId[] quilts, uint32 count);
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
    error ProofRegistryEmptyBatch(BatchRoot root);
    /// @notice The batch under `root` names no quilt.
    error ProofRegistryNoQuilts(BatchRoot root);
    /// @notice The quilt at `index` of the batch under `root` has a zero Blob ID.
    error ProofRegistryZeroQuiltId(BatchRoot root, uint256 index);
    /// @notice The batch under `root` names `quilts` quilts for only `count` proofs (each quilt holds at least one).
    error ProofRegistryTooManyQuilts(BatchRoot root, uint256 quilts, uint32 count);
    /// @notice `node` already anchored `commitment` (a proof commitment or a batch root) at `anchoredAt`.
    error ProofRegistryAlreadyAnchored(bytes32 commitment, address node, uint64 anchoredAt);

    /// @notice Lets `node` anchor proofs, or stops it. Only the node registry.
    /// @dev Emits {AnchorerSet}.
    function setAnchorer(address node, bool allowed) external;

    /// @notice Anchors the proof `commitment`, whose document is the Walrus blob `blobId`, under the calling node.
    /// Only an active node.
    /// @dev Write-once per (node, commitment): reverts with {ProofRegistryAlreadyAnchored}. Emits {ProofAnchored}.
    function anchorProof(Commitment commitment, BlobId blobId) external;

    /// @notice Anchors a batch of `count` proofs under the Merkle `root`, stored in the Walrus blob `blobId`, under the
    /// calling node. Only an active node.
    /// @dev Write-once per (node, root): reverts with {ProofRegistryAlreadyAnchored}. Emits {BatchAnchored}.
    function anchorBatch(BatchRoot root, BlobId blobId, uint32 count) external;

    /// @notice Announces a batch in an event only, under the calling node (cheapest; no on-chain existence or inclusion
    /// check). Only an active node. Emits {BatchAnnounced}.
    function announceBatch(BatchRoot root, BlobId blobId, uint32 count) external;

    /// @notice Anchors a batch of `count` proofs under the Merkle `root`, stored in the Walrus quilts `quilts` (in the
    /// batch's quilt order), under the calling node. Only an active node. For a root in one blob use {anchorBatch}
    /// (cheaper by the array's encoding). The quilt Blob IDs go in the event only: storage is as for {anchorBatch}.
    /// @dev Write-once per (node, root), shared with {anchorBatch}: reverts with {ProofRegistryAlreadyAnchored}.
    /// Reverts with {ProofRegistryNoQuilts}, {ProofRegistryZeroQuiltId} or {ProofRegistryTooManyQuilts}.
    /// Emits {QuiltsAnchored}.
    function anchorQuilts(BatchRoot root, BlobId[] calldata quilts, uint32 count) external;

    /// @notice Announces a batch stored in several quilts in an event only, under the calling node. Only an active
    /// node. Same checks as {anchorQuilts}. Emits {QuiltsAnnounced}.
    function announceQuilts(BatchRoot root, BlobId[] calldata quilts, uint32 count) external;

    /// @notice The anchor `node` made of `commitment`; all zero if that node did not anchor it singly.
    function getProof(address node, Commitment commitment) external view returns (ProofAnchor memory);

    /// @notice The anchor `node` made of the batch `root`; all zero if that node did not anchor it.
    function getBatch(address node, BatchRoot root) external view returns (BatchAnchor memory);

    /// @notice Whether `commitment` is a leaf of the batch `root` that `node` anchored, by the Merkle `proof`. False
    /// for a root that `node` did not anchor (announced batches included).
    function isIncluded(
        address node,
        BatchRoot root,
        Commitment commitment,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice Whether `node` may anchor proofs.
    function isAnchorer(address node) external view returns (bool);

    /// @notice The Merkle leaf of `commitment` in a batch tree.
    function leafOf(Commitment commitment) external pure returns (bytes32);

    /// @notice The node registry that controls who may anchor.
    function nodeRegistry() external view returns (address);

    /// @notice The version of this registry's interface and behaviour, as a semantic version string (e.g. `"1.0.0"`):
    /// a pure constant of the bytecode, so clients can tell deployments apart. The major number changes with the ABI,
    /// the storage layout or the meaning of a call.
    function version() external pure returns (string memory);
}
