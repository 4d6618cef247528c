// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";
import {IInferenceRequests} from "../interfaces/IInferenceRequests.sol";
import {ProofDigest} from "../libraries/ProofDigest.sol";
import {Commitment} from "../types/Commitment.sol";
import {ModelId} from "../types/ModelId.sol";
import {RequestId} from "../types/RequestId.sol";

/// @title ClassifierGate
/// @notice An example consumer of {IInferenceRequests}: a gate that admits an account when a classifier, run by a Strata
/// node and verified on-chain, puts the account's input in the accepted class. An applicant calls {requestAccess} with
/// its input tensors (inline) and a fee; the callback takes the argmax of the classifier's float32 output tensor (the
/// scores, e.g. the `y` of the seeded MLPs of the runtime package) and admits the applicant when it is `acceptedClass`.
/// Admitted accounts may call {enter}. An expired request's fee goes back to its applicant ({reclaim}).
contract ClassifierGate is IInferenceConsumer {
    IInferenceRequests private immutable _REQUESTS;
    ModelId private immutable _MODEL_ID;
    uint32 private immutable _MODEL_VERSION;
    bytes32 private immutable _OUTPUT_NAME_HASH;
    uint256 private immutable _ACCEPTED_CLASS;
    uint32 private immutable _CALLBACK_GAS_LIMIT;

    bytes32 private constant _FLOAT32 = keccak256("float32");

    mapping(RequestId requestId => address applicant) private _applicants;
    mapping(address account => bool admitted) private _admitted;
    /// @dev Set only while {reclaim} takes a refund, so that ETH from anywhere else is refused.
    bool private _reclaiming;

    /// @notice Emitted when `applicant` asks to be admitted through the inference request `requestId`.
    event AccessRequested(RequestId indexed requestId, address indexed applicant);
    /// @notice Emitted when the classifier's result for `requestId` arrived: class `class_` (the argmax), `admitted`.
    event AccessDecided(RequestId indexed requestId, address indexed applicant, uint256 class_, bool admitted);
    /// @notice Emitted when an admitted `account` enters.
    event Entered(address indexed account);

    /// @notice `caller` is not the requests contract.
    error ClassifierGateUnauthorizedCaller(address caller);
    /// @notice `requestId` is not a pending request of this gate (`account` asked about it).
    error ClassifierGateUnknownRequest(RequestId requestId, address account);
    /// @notice The output of `requestId` has no non-empty float32 tensor named as the gate's output.
    error ClassifierGateNoScores(RequestId requestId);
    /// @notice `account` has not been admitted.
    error ClassifierGateNotAdmitted(address account);
    /// @notice ETH came from `sender` outside a refund.
    error ClassifierGateUnexpectedEth(address sender);

    /// @param requests The requests contract.
    /// @param modelId The classifier.
    /// @param modelVersion Its version, or `requests.LATEST()`.
    /// @param outputName The name of the classifier's float32 scores tensor (e.g. `"y"`).
    /// @param acceptedClass The index of the class admitted.
    /// @param callbackGasLimit The gas of the callback (the argmax grows with the number of scores).
    constructor(
        IInferenceRequests requests,
        ModelId modelId,
        uint32 modelVersion,
        string memory outputName,
        uint256 acceptedClass,
        uint32 callbackGasLimit
    ) {
        _REQUESTS = requests;
        _MODEL_ID = modelId;
        _MODEL_VERSION = modelVersion;
        _OUTPUT_NAME_HASH = keccak256(bytes(outputName));
        _ACCEPTED_CLASS = acceptedClass;
        _CALLBACK_GAS_LIMIT = callbackGasLimit;
    }

    /// @notice Asks to admit the caller on `input` (`abi.encode(ProofDigest.Tensor[])`, the classifier's inputs sorted
    /// by name), answered by `deadline`; `msg.value` is the node's fee.
    function requestAccess(bytes calldata input, uint64 deadline) external payable returns (RequestId requestId) {
        requestId = _REQUESTS.requestInferenceInline{value: msg.value}(
            _MODEL_ID,
            _MODEL_VERSION,
            input,
            _CALLBACK_GAS_LIMIT,
            deadline
        );
        _applicants[requestId] = msg.sender;
        emit AccessRequested(requestId, msg.sender);
    }

    /// @inheritdoc IInferenceConsumer
    function onInferenceResult(RequestId requestId, Commitment, bytes calldata output) external {
        if (msg.sender != address(_REQUESTS)) revert ClassifierGateUnauthorizedCaller(msg.sender);
        address applicant = _applicants[requestId];
        if (applicant == address(0)) revert ClassifierGateUnknownRequest(requestId, msg.sender);
        delete _applicants[requestId];
        uint256 class_ = _argmax(requestId, abi.decode(output, (ProofDigest.Tensor[])));
        bool admitted = class_ == _ACCEPTED_CLASS;
        if (admitted) _admitted[applicant] = true;
        emit AccessDecided(requestId, applicant, class_, admitted);
    }

    /// @notice Takes back the fee of the caller's request `requestId`, expired unanswered.
    function reclaim(RequestId requestId) external {
        if (_applicants[requestId] != msg.sender) revert ClassifierGateUnknownRequest(requestId, msg.sender);
        delete _applicants[requestId];
        uint256 fee = _REQUESTS.getRequest(requestId).fee;
        _reclaiming = true;
        _REQUESTS.refund(requestId);
        _reclaiming = false;
        Address.sendValue(payable(msg.sender), fee);
    }

    /// @notice The gated action: only admitted accounts.
    function enter() external {
        if (!_admitted[msg.sender]) revert ClassifierGateNotAdmitted(msg.sender);
        emit Entered(msg.sender);
    }

    /// @notice Whether `account` was admitted.
    function isAdmitted(address account) external view returns (bool) {
        return _admitted[account];
    }

    /// @notice The applicant of the pending request `requestId`, or zero.
    function applicantOf(RequestId requestId) external view returns (address) {
        return _applicants[requestId];
    }

    /// @dev Refunds arrive here from the requests contract, during {reclaim} only.
    receive() external payable {
        if (!_reclaiming) revert ClassifierGateUnexpectedEth(msg.sender);
    }

    /// @dev The index of the largest float32 of the scores tensor (the first of equals), comparing IEEE 754 bits as
    /// integers ordered like the floats (NaNs sort beyond the infinities).
    function _argmax(RequestId requestId, ProofDigest.Tensor[] memory tensors) private view returns (uint256 best) {
        bytes memory data;
        for (uint256 i; i < tensors.length; ++i) {
            if (keccak256(bytes(tensors[i].name)) == _OUTPUT_NAME_HASH) {
                if (keccak256(bytes(tensors[i].dtype)) == _FLOAT32) data = tensors[i].data;
            }
        }
        uint256 count = data.length / 4;
        if (count == 0) revert ClassifierGateNoScores(requestId);
        uint256 bestKey = _orderKey(data, 0);
        for (uint256 k = 1; k < count; ++k) {
            uint256 key = _orderKey(data, k);
            if (key > bestKey) {
                best = k;
                bestKey = key;
            }
        }
    }

    /// @dev The little-endian float32 at index `k` of `data`, as an unsigned key in the order of the floats.
    function _orderKey(bytes memory data, uint256 k) private pure returns (uint256) {
        uint32 bits =
            uint32(uint8(data[4 * k])) |
                (uint32(uint8(data[4 * k + 1])) << 8) |
                (uint32(uint8(data[4 * k + 2])) << 16) |
                (uint32(uint8(data[4 * k + 3])) << 24);
        return bits & 0x80000000 != 0 ? uint256(~bits) : uint256(bits | 0x80000000);
    }
}
