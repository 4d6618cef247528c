// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {IProofRegistry} from "./IProofRegistry.sol";

/// @title INodeRegistry
/// @notice Inference node operators admitted by an admin role (whose own admin, the default admin, changes hands in
/// two delayed steps). Only active nodes may anchor proofs: the registry mirrors
/// every admission and removal into the {IProofRegistry} it is wired to, so anchoring checks one local slot instead of
/// calling this contract. Endpoints live in events only.
interface INodeRegistry {
    /// @notice A node operator. Fits in one slot.
    struct Node {
        bool active;
        uint64 admittedAt;
        uint64 removedAt;
    }

    /// @notice Emitted when the registry is wired to the proof registry whose anchorers it controls.
    event ProofRegistryWired(IProofRegistry indexed proofRegistry);
    /// @notice Emitted when `node` is admitted, serving at `endpoint`.
    event NodeAdmitted(address indexed node, string endpoint);
    /// @notice Emitted when `node` is removed.
    event NodeRemoved(address indexed node);
    /// @notice Emitted when `node` moved to `endpoint`.
    event NodeEndpointUpdated(address indexed node, string endpoint);

    /// @notice The node address is zero.
    error NodeRegistryZeroAddress();
    /// @notice `node` is already active.
    error NodeRegistryAlreadyActive(address node);
    /// @notice `node` is not an active node.
    error NodeRegistryNotActive(address node);
    /// @notice The endpoint of `node` is empty.
    error NodeRegistryEmptyEndpoint(address node);
    /// @notice The endpoint of `node` is `length` bytes, over `maxLength`.
    error NodeRegistryEndpointTooLong(address node, uint256 length, uint256 maxLength);
    /// @notice The registry is not wired to a proof registry yet.
    error NodeRegistryNotWired();
    /// @notice The registry is already wired to `proofRegistry`.
    error NodeRegistryAlreadyWired(IProofRegistry proofRegistry);
    /// @notice `proofRegistry` does not name this registry as its node registry.
    error NodeRegistryWrongProofRegistry(IProofRegistry proofRegistry, address nodeRegistry);

    /// @notice Wires the registry to `proofRegistry`, once. Only the default admin.
    /// @dev Reverts with {NodeRegistryAlreadyWired} or {NodeRegistryWrongProofRegistry}. Emits {ProofRegistryWired}.
    function wireProofRegistry(IProofRegistry proofRegistry) external;

    /// @notice Admits `node`, serving at `endpoint`, and lets it anchor proofs. Only the node admin role.
    /// @dev Emits {NodeAdmitted}.
    function admitNode(address node, string calldata endpoint) external;

    /// @notice Removes `node` and stops it anchoring proofs. Only the node admin role.
    /// @dev Emits {NodeRemoved}.
    function removeNode(address node) external;

    /// @notice Moves the calling node to `endpoint`. Only an active node, for itself.
    /// @dev Emits {NodeEndpointUpdated}.
    function updateEndpoint(string calldata endpoint) external;

    /// @notice Whether `node` is active now.
    function isActive(address node) external view returns (bool);

    /// @notice The record of `node` (all zero if it was never admitted).
    function getNode(address node) external view returns (Node memory);

    /// @notice The proof registry this registry controls, or zero before wiring.
    function proofRegistry() external view returns (IProofRegistry);

    /// @notice The version of this registry's interface and behaviour, as a semantic version string (e.g. `"1.0.0"`):
    /// a pure constant of the bytecode, so clients can tell deployments apart. The major number changes with the ABI,
    /// the storage layout or the meaning of a call.
    function version() external pure returns (string memory);
}
