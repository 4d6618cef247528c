// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {BatchRoot} from "../types/BatchRoot.sol";
import {BlobId} from "../types/BlobId.sol";
import {Commitment} from "../types/Commitment.sol";

/// @title IProofRegistry
/// @notice Anchors inference proofs whose documents live on Walrus. Storage holds only what a contract must read
/// (when an anchor was made, a batch's size, and the Walrus epoch its storage ends); the Blob IDs where the documents
/// live are in the events.
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
/// Storage lifetime: every anchor and announcement carries `endEpoch`, the Walrus epoch at which the storage of its
/// blob ends (exclusive: the blob expires at the start of that epoch; for several blobs, the earliest of theirs). When
/// the anchoring node renews the storage on Walrus it records the new end epoch: {extendProofs} and {extendBatches}
/// raise the stored end epoch in place (no new slot) and emit {ProofStorageExtended} / {BatchStorageExtended};
/// {announceBatchesExtended} emits {BatchStorageExtended} only, for announced batches. A reader's end epoch of a
/// reference is the latest of the anchoring event's and the same node's extension events (for anchored ones, the
/// stored value).
///
/// Commitments and roots are typed ({Commitment}, {BatchRoot}, {BlobId}: user-defined value types over `bytes32`, so the
/// ABI and the gas are those of `bytes32`). The errors that name either a commitment or a root keep `bytes32`.
///
/// Batch trees follow the StandardMerkleTree of the npm package openzeppelin merkle-tree, with leaf encoding `["bytes32"]`:
/// `leaf = keccak256(bytes.concat(keccak256(abi.encode(commitment))))`, sorted pairs.
interface IProofRegistry {
    /// @notice A single anchored proof, stored under (node, commitment). Fits in one slot.
    /// @param anchoredAt Unix seconds of the anchoring block (zero: not anchored).
    /// @param endEpoch The Walrus epoch (exclusive) at which the proof document's storage ends, as last recorded.
    struct ProofAnchor {
        uint64 anchoredAt;
        uint32 endEpoch;
    }

    /// @notice An anchored batch, stored under (node, root). Fits in one slot.
    /// @param anchoredAt Unix seconds of the anchoring block (zero: not anchored).
    /// @param count The number of proofs in the batch.
    /// @param endEpoch The Walrus epoch (exclusive) at which the storage of the batch's blobs ends (the earliest of
    /// them), as last recorded.
    struct BatchAnchor {
        uint64 anchoredAt;
        uint32 count;
        uint32 endEpoch;
    }

    /// @notice Emitted when `node` anchors the proof `commitment`, whose document is the Walrus blob `blobId`, stored
    /// until `endEpoch` (exclusive).
    event ProofAnchored(Commitment indexed commitment, address indexed node, BlobId blobId, uint32 endEpoch);
    /// @notice Emitted when `node` anchors a batch of `count` proofs under `root`, stored in the Walrus blob `blobId`
    /// until `endEpoch` (exclusive).
    event BatchAnchored(BatchRoot indexed root, address indexed node, BlobId blobId, uint32 count, uint32 endEpoch);
    /// @notice Emitted when `node` announces, without storing, a batch of `count` proofs under `root`, stored in the
    /// Walrus blob `blobId` until `endEpoch` (exclusive).
    event BatchAnnounced(BatchRoot indexed root, address indexed node, BlobId blobId, uint32 count, uint32 endEpoch);
    /// @notice Emitted when `node` anchors a batch of `count` proofs under `root`, stored in the Walrus quilts `quilts`
    /// (Blob IDs, in the batch's quilt order: quilt `k` holds the proofs of subtree `k` of the root) until `endEpoch`
    /// (exclusive; the earliest end epoch of the quilts).
    event QuiltsAnchored(BatchRoot indexed root, address indexed node, BlobId[] quilts, uint32 count, uint32 endEpoch);
    /// @notice Emitted when `node` announces, without storing, a batch of `count` proofs under `root` in `quilts`,
    /// stored until `endEpoch` (exclusive; the earliest end epoch of the quilts).
    event QuiltsAnnounced(BatchRoot indexed root, address indexed node, BlobId[] quilts, uint32 count, uint32 endEpoch);
    /// @notice Emitted when `node` records that the Walrus storage of the batch `root` (every blob of it) was renewed
    /// up to `endEpoch` (exclusive): by {extendBatches} for a root it anchored, by {announceBatchesExtended} for one it
    /// announced.
    event BatchStorageExtended(BatchRoot indexed root, address indexed node, uint32 endEpoch);
    /// @notice Emitted when `node` records, by {extendProofs}, that the Walrus storage of the document of the proof
    /// `commitment` it anchored was renewed up to `endEpoch` (exclusive).
    event ProofStorageExtended(Commitment indexed commitment, address indexed node, uint32 endEpoch);
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
    /// @notice The end epoch given for `commitment` (a proof commitment or a batch root) is zero: no blob is stored
    /// until epoch zero.
    error ProofRegistryZeroEndEpoch(bytes32 commitment);
    /// @notice `node` did not anchor `commitment` (a proof commitment or a batch root), so it has no end epoch to extend.
    error ProofRegistryNotAnchored(bytes32 commitment, address node);
    /// @notice The end epoch `requested` for `commitment` (a proof commitment or a batch root) is not later than the
    /// one recorded, `current`.
    error ProofRegistryEndEpochNotExtended(bytes32 commitment, uint32 current, uint32 requested);
    /// @notice An extension names no proof commitment or batch root.
    error ProofRegistryNothingToExtend();

    /// @notice Lets `node` anchor proofs, or stops it. Only the node registry.
    /// @dev Emits {AnchorerSet}.
    function setAnchorer(address node, bool allowed) external;

    /// @notice Anchors the proof `commitment`, whose document is the Walrus blob `blobId` stored until `endEpoch`
    /// (exclusive), under the calling node. Only an active node.
    /// @dev Write-once per (node, commitment): reverts with {ProofRegistryAlreadyAnchored}. Reverts with
    /// {ProofRegistryZeroEndEpoch} for a zero `endEpoch`. Emits {ProofAnchored}.
    function anchorProof(Commitment commitment, BlobId blobId, uint32 endEpoch) external;

    /// @notice Anchors a batch of `count` proofs under the Merkle `root`, stored in the Walrus blob `blobId` until
    /// `endEpoch` (exclusive), under the calling node. Only an active node.
    /// @dev Write-once per (node, root): reverts with {ProofRegistryAlreadyAnchored}. Reverts with
    /// {ProofRegistryZeroEndEpoch} for a zero `endEpoch`. Emits {BatchAnchored}.
    function anchorBatch(BatchRoot root, BlobId blobId, uint32 count, uint32 endEpoch) external;

    /// @notice Announces a batch stored in the Walrus blob `blobId` until `endEpoch` (exclusive) in an event only, under
    /// the calling node (cheapest; no on-chain existence or inclusion check). Only an active node. Same checks as
    /// {anchorBatch}. Emits {BatchAnnounced}.
    function announceBatch(BatchRoot root, BlobId blobId, uint32 count, uint32 endEpoch) external;

    /// @notice Anchors a batch of `count` proofs under the Merkle `root`, stored in the Walrus quilts `quilts` (in the
    /// batch's quilt order) until `endEpoch` (exclusive; the earliest end epoch of the quilts), under the calling node.
    /// Only an active node. For a root in one blob use {anchorBatch} (cheaper by the array's encoding). The quilt Blob
    /// IDs go in the event only: storage is as for {anchorBatch}.
    /// @dev Write-once per (node, root), shared with {anchorBatch}: reverts with {ProofRegistryAlreadyAnchored}.
    /// Reverts with {ProofRegistryNoQuilts}, {ProofRegistryZeroQuiltId}, {ProofRegistryTooManyQuilts} or
    /// {ProofRegistryZeroEndEpoch}. Emits {QuiltsAnchored}.
    function anchorQuilts(BatchRoot root, BlobId[] calldata quilts, uint32 count, uint32 endEpoch) external;

    /// @notice Announces a batch stored in several quilts until `endEpoch` (exclusive) in an event only, under the
    /// calling node. Only an active node. Same checks as {anchorQuilts}. Emits {QuiltsAnnounced}.
    function announceQuilts(BatchRoot root, BlobId[] calldata quilts, uint32 count, uint32 endEpoch) external;

    /// @notice Records that the Walrus storage of the documents of the proofs `commitments`, which the calling node
    /// anchored singly, was renewed up to `endEpoch` (exclusive). Only the node that anchored them (a node removed
    /// since may still record renewals of what it anchored); the stored end epoch is raised in place.
    /// @dev Reverts with {ProofRegistryNothingToExtend} for an empty list, {ProofRegistryNotAnchored} for a commitment
    /// the caller did not anchor, {ProofRegistryEndEpochNotExtended} unless `endEpoch` is later than the recorded one
    /// (the whole call reverts). Emits {ProofStorageExtended} per commitment.
    function extendProofs(Commitment[] calldata commitments, uint32 endEpoch) external;

    /// @notice Records that the Walrus storage of the batches `roots` (every blob of each), which the calling node
    /// anchored ({anchorBatch} or {anchorQuilts}), was renewed up to `endEpoch` (exclusive). Only the node that anchored
    /// them (a node removed since may still record renewals of what it anchored); the stored end epoch is raised in
    /// place.
    /// @dev Reverts with {ProofRegistryNothingToExtend} for an empty list, {ProofRegistryNotAnchored} for a root the
    /// caller did not anchor, {ProofRegistryEndEpochNotExtended} unless `endEpoch` is later than the recorded one (the
    /// whole call reverts). Emits {BatchStorageExtended} per root.
    function extendBatches(BatchRoot[] calldata roots, uint32 endEpoch) external;

    /// @notice Announces, in events only, that the Walrus storage of the batches `roots` the calling node announced
    /// ({announceBatch} or {announceQuilts}) was renewed up to `endEpoch` (exclusive). Only an active node. Nothing is
    /// stored or checked against earlier events (as for announcements, readers filter on the indexed `node` topic and
    /// take the latest end epoch).
    /// @dev Reverts with {ProofRegistryNothingToExtend} for an empty list, {ProofRegistryZeroCommitment} for a zero
    /// root, {ProofRegistryZeroEndEpoch} for a zero `endEpoch`. Emits {BatchStorageExtended} per root.
    function announceBatchesExtended(BatchRoot[] calldata roots, uint32 endEpoch) external;

    /// @notice The anchor `node` made of `commitment` (with its latest recorded end epoch); all zero if that node did
    /// not anchor it singly.
    function getProof(address node, Commitment commitment) external view returns (ProofAnchor memory);

    /// @notice The anchor `node` made of the batch `root` (with its latest recorded end epoch); all zero if that node did
    /// not anchor it.
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
