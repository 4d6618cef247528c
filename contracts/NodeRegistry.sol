// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {IProofRegistry} from "./interfaces/IProofRegistry.sol";

/// @title NodeRegistry
/// @notice Inference node operators; see {INodeRegistry}.
/// @dev The default admin (who wires the proof registry and grants the node admin role) follows OpenZeppelin's
/// {AccessControlDefaultAdminRules}: there is exactly one, it cannot be granted in one step, and handing it over is two
/// steps (`beginDefaultAdminTransfer`, then `acceptDefaultAdminTransfer` by the new admin once {INITIAL_ADMIN_DELAY} has
/// passed; cancellable meanwhile). The delay itself changes only through `changeDefaultAdminDelay`, which is delayed
/// too. The node admin role stays an ordinary role the default admin grants and revokes.
contract NodeRegistry is INodeRegistry, AccessControlDefaultAdminRules {
    /// @notice The role that admits and removes nodes.
    bytes32 public constant NODE_ADMIN_ROLE = keccak256("NODE_ADMIN_ROLE");
    /// @notice The longest endpoint, in bytes.
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    /// @notice The delay of a default admin transfer at deployment: 3 days, time for operators to see a scheduled
    /// handover on-chain and react (cancel it, or move their nodes) before it can be accepted.
    uint48 public constant INITIAL_ADMIN_DELAY = 3 days;
    /// @notice See {INodeRegistry.version}.
    string private constant _VERSION = "1.0.0";

    IProofRegistry private _proofRegistry;
    mapping(address node => Node record) private _nodes;

    /// @param admin Holds the default admin role (transferred in two steps, {INITIAL_ADMIN_DELAY} apart) and the node
    /// admin role. A zero admin reverts with `AccessControlInvalidDefaultAdmin`.
    constructor(address admin) AccessControlDefaultAdminRules(INITIAL_ADMIN_DELAY, admin) {
        _grantRole(NODE_ADMIN_ROLE, admin);
    }

    /// @inheritdoc INodeRegistry
    function wireProofRegistry(IProofRegistry proofRegistry_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(_proofRegistry) != address(0)) revert NodeRegistryAlreadyWired(_proofRegistry);
        address controller = proofRegistry_.nodeRegistry();
        if (controller != address(this)) revert NodeRegistryWrongProofRegistry(proofRegistry_, controller);
        _proofRegistry = proofRegistry_;
        emit ProofRegistryWired(proofRegistry_);
    }

    /// @inheritdoc INodeRegistry
    function admitNode(address node, string calldata endpoint) external onlyRole(NODE_ADMIN_ROLE) {
        if (node == address(0)) revert NodeRegistryZeroAddress();
        IProofRegistry proofs = _wired();
        Node storage record = _nodes[node];
        if (record.active) revert NodeRegistryAlreadyActive(node);
        _checkEndpoint(node, endpoint);
        record.active = true;
        record.admittedAt = uint64(block.timestamp);
        record.removedAt = 0;
        emit NodeAdmitted(node, endpoint);
        proofs.setAnchorer(node, true);
    }

    /// @inheritdoc INodeRegistry
    function removeNode(address node) external onlyRole(NODE_ADMIN_ROLE) {
        Node storage record = _nodes[node];
        if (!record.active) revert NodeRegistryNotActive(node);
        record.active = false;
        record.removedAt = uint64(block.timestamp);
        emit NodeRemoved(node);
        _wired().setAnchorer(node, false);
    }

    /// @inheritdoc INodeRegistry
    function updateEndpoint(string calldata endpoint) external {
        if (!_nodes[msg.sender].active) revert NodeRegistryNotActive(msg.sender);
        _checkEndpoint(msg.sender, endpoint);
        emit NodeEndpointUpdated(msg.sender, endpoint);
    }

    /// @inheritdoc INodeRegistry
    function isActive(address node) external view returns (bool) {
        return _nodes[node].active;
    }

    /// @inheritdoc INodeRegistry
    function getNode(address node) external view returns (Node memory) {
        return _nodes[node];
    }

    /// @inheritdoc INodeRegistry
    function proofRegistry() external view returns (IProofRegistry) {
        return _proofRegistry;
    }

    /// @inheritdoc INodeRegistry
    function version() external pure returns (string memory) {
        return _VERSION;
    }

    function _wired() private view returns (IProofRegistry proofs) {
        proofs = _proofRegistry;
        if (address(proofs) == address(0)) revert NodeRegistryNotWired();
    }

    function _checkEndpoint(address node, string calldata endpoint) private pure {
        uint256 length = bytes(endpoint).length;
        // One comparison on the accepted path: for an empty endpoint `length - 1` wraps to the largest uint256.
        unchecked {
            if (length - 1 >= MAX_ENDPOINT_LENGTH) _revertEndpoint(node, length);
        }
    }

    /// @dev The revert of an endpoint {_checkEndpoint} refused: empty, or longer than {MAX_ENDPOINT_LENGTH}.
    function _revertEndpoint(address node, uint256 length) private pure {
        if (length == 0) revert NodeRegistryEmptyEndpoint(node);
        revert NodeRegistryEndpointTooLong(node, length, MAX_ENDPOINT_LENGTH);
    }
}
