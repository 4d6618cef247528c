// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {Commitment} from "../types/Commitment.sol";
import {RequestId} from "../types/RequestId.sol";

/// @title IInferenceConsumer
/// @notice What a contract implements to receive the verified results of the inference requests it made through
/// {IInferenceRequests}.
interface IInferenceConsumer {
    /// @notice Called by the requests contract when request `requestId` of this contract was fulfilled, with at most
    /// the request's callback gas limit. By then the contract has checked the node's signature over the proof whose
    /// commitment is `commitment`, the model version, the input and that `output` hashes to the proof's output hash.
    /// @dev Check that the caller is the requests contract. A revert (or running out of gas) does not undo the
    /// fulfilment: the node is paid, and the requests contract keeps `output` readable
    /// ({IInferenceRequests.undeliveredOutput}).
    /// @param output The output tensors, `abi.encode(ProofDigest.Tensor[])`, sorted by name.
    function onInferenceResult(RequestId requestId, Commitment commitment, bytes calldata output) external;
}
