// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

/// @notice The id of a model repository: `keccak256(abi.encode(creator, name))`, derived from content so anyone can
/// compute it off-chain (TypeScript twin: `modelIdOf` in `@strata/core`). It does not change when the model changes
/// hands.
type ModelId is bytes32;

using ModelIdLib for ModelId global;

/// @notice Derivation of {ModelId}.
library ModelIdLib {
    /// @notice The id of the model named `name` created by `creator`.
    function derive(address creator, string calldata name) internal pure returns (ModelId) {
        return ModelId.wrap(keccak256(abi.encode(creator, name)));
    }
}
