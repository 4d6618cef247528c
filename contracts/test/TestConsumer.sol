// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";
import {IInferenceRequests} from "../interfaces/IInferenceRequests.sol";
import {ProofDigest} from "../libraries/ProofDigest.sol";
import {BlobId} from "../types/BlobId.sol";
import {Commitment} from "../types/Commitment.sol";
import {ModelId} from "../types/ModelId.sol";
import {RequestId} from "../types/RequestId.sol";

/// @title TestConsumer
/// @notice Test-only consumer of {IInferenceRequests}: records what it is called back with, or misbehaves on demand
/// (reverts, burns all its gas, re-enters the requests contract, refuses ETH). Not deployed.
contract TestConsumer is IInferenceConsumer {
    enum Mode {
        Record,
        Revert,
        BurnGas,
        Reenter,
        Noop,
        RevertHuge
    }

    error TestConsumerRefused();

    IInferenceRequests public immutable REQUESTS;
    Mode public mode;
    bool public acceptsEth = true;
    uint256 public calls;
    uint256 public gasAtEntry;
    RequestId public lastRequestId;
    Commitment public lastCommitment;
    bytes32 public lastOutputHash;
    /// @dev The revert data of each re-entry attempt: refund, fulfil, claimFees, withdrawBond, slashEquivocation,
    /// slashWrongModel.
    bytes[] public reentryErrors;

    constructor(IInferenceRequests requests) {
        REQUESTS = requests;
    }

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function setAcceptsEth(bool accepts) external {
        acceptsEth = accepts;
    }

    function request(
        ModelId modelId,
        uint32 modelVersion,
        BlobId inputBlobId,
        bytes32 inputHash,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external payable returns (RequestId) {
        return
            REQUESTS.requestInference{value: msg.value}(
                modelId,
                modelVersion,
                inputBlobId,
                inputHash,
                callbackGasLimit,
                deadline
            );
    }

    function requestInline(
        ModelId modelId,
        uint32 modelVersion,
        bytes calldata input,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external payable returns (RequestId) {
        return
            REQUESTS.requestInferenceInline{value: msg.value}(modelId, modelVersion, input, callbackGasLimit, deadline);
    }

    function refund(RequestId requestId) external {
        REQUESTS.refund(requestId);
    }

    function onInferenceResult(RequestId requestId, Commitment commitment, bytes calldata output) external {
        uint256 entry = gasleft();
        Mode current = mode;
        if (current == Mode.Noop) return;
        if (current == Mode.Revert) revert TestConsumerRefused();
        if (current == Mode.RevertHuge) {
            // 200,000 bytes of revert data: about 95,000 gas of memory here, as much again if the caller copied it.
            // solhint-disable-next-line no-inline-assembly
            assembly {
                revert(0, 200000)
            }
        }
        if (current == Mode.BurnGas) {
            uint256 spin;
            while (true) ++spin;
        }
        if (current == Mode.Reenter) _reenter(requestId);
        gasAtEntry = entry;
        ++calls;
        lastRequestId = requestId;
        lastCommitment = commitment;
        lastOutputHash = keccak256(output);
    }

    function reentryErrorCount() external view returns (uint256) {
        return reentryErrors.length;
    }

    /// @dev Tries every guarded function of the requests contract from inside the callback.
    function _reenter(RequestId requestId) private {
        ProofDigest.Proof memory proof;
        IInferenceRequests.RequestKey memory key;
        try REQUESTS.refund(requestId) {
            reentryErrors.push("");
        } catch (bytes memory reason) {
            reentryErrors.push(reason);
        }
        try REQUESTS.fulfil(0, 0, proof, "", "") {
            reentryErrors.push("");
        } catch (bytes memory reason) {
            reentryErrors.push(reason);
        }
        try REQUESTS.claimFees(new RequestId[](0)) {
            reentryErrors.push("");
        } catch (bytes memory reason) {
            reentryErrors.push(reason);
        }
        try REQUESTS.withdrawBond() {
            reentryErrors.push("");
        } catch (bytes memory reason) {
            reentryErrors.push(reason);
        }
        try REQUESTS.slashEquivocation(proof, "", proof, "") {
            reentryErrors.push("");
        } catch (bytes memory reason) {
            reentryErrors.push(reason);
        }
        try REQUESTS.slashWrongModel(key, proof, "") {
            reentryErrors.push("");
        } catch (bytes memory reason) {
            reentryErrors.push(reason);
        }
    }

    receive() external payable {
        if (!acceptsEth) revert TestConsumerRefused();
    }
}
