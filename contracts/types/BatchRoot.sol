// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

/// @notice The Merkle root of a proof batch: an OpenZeppelin StandardMerkleTree over the batch's commitments (leaf
/// encoding `["bytes32"]`; TypeScript: `BatchTree` in `@strata/core`, typed `BatchRoot` there too). Zero is never a valid
/// root. In the ABI it is a `bytes32`.
type BatchRoot is bytes32;
