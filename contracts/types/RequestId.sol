// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

/// @notice The id of an on-chain inference request ({IInferenceRequests}): `keccak256(abi.encode(block.chainid,
/// requestsContract, key))` where `key` is the request's {IInferenceRequests.RequestKey} (nonce, model version, input
/// hash, callback gas limit). A proof fulfils the request when its `requestId` field is this id. Zero is never an id.
/// In the ABI it is a `bytes32`.
type RequestId is bytes32;
