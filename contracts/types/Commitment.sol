// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

/// @notice An inference proof commitment: the EIP-712 digest of a proof document (TypeScript twin: `proofCommitment`
/// in `@strata/core`, typed `Commitment` there too). Zero is never a valid commitment. In the ABI it is a `bytes32`.
type Commitment is bytes32;
