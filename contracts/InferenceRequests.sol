// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IInferenceConsumer} from "./interfaces/IInferenceConsumer.sol";
import {IInferenceRequests} from "./interfaces/IInferenceRequests.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IProofRegistry} from "./interfaces/IProofRegistry.sol";
import {ProofDigest} from "./libraries/ProofDigest.sol";
import {BlobId} from "./types/BlobId.sol";
import {Commitment} from "./types/Commitment.sol";
import {ModelId} from "./types/ModelId.sol";
import {RequestId} from "./types/RequestId.sol";

/// @title InferenceRequests
/// @notice On-chain inference requests, verified fulfilment with callbacks, node bonds and slashing; see
/// {IInferenceRequests}.
/// @dev Every state change is guarded: requests by `msg.sender`, fulfilment by the node's signature, refunds by the
/// requester, claims by the fulfilling node, bonds by their node, slashes by evidence. Every function that sends ETH
/// or calls out is `nonReentrant` (a transient-storage guard) and updates its records first.
contract InferenceRequests is IInferenceRequests, ReentrancyGuardTransient {
    /// @notice See {IInferenceRequests.version}.
    string private constant _VERSION = "1.0.0";

    /// @inheritdoc IInferenceRequests
    uint32 public constant LATEST = type(uint32).max;

    /// @notice The newest proof format version read (versions 1 and 2 share the EIP-712 type).
    uint16 private constant _MAX_PROOF_VERSION = 2;

    /// @notice Gas needed beyond `callbackGasLimit * 64 / 63` at the callback's CALL: what the CALL itself charges (the
    /// requester's account, cold: 2,600) and the few opcodes between the check and it, with a margin.
    uint256 private constant _CALLBACK_RESERVE = 5_000;

    uint256 private constant _BPS = 10_000;

    IModelRegistry private immutable _MODEL_REGISTRY;
    IProofRegistry private immutable _PROOF_REGISTRY;
    uint96 private immutable _MIN_BOND;
    uint32 private immutable _CHALLENGE_WINDOW;
    uint32 private immutable _WITHDRAWAL_DELAY;
    uint16 private immutable _CHALLENGER_SHARE_BPS;
    uint32 private immutable _MAX_CALLBACK_GAS_LIMIT;
    uint32 private immutable _MAX_INPUT_BYTES;
    uint32 private immutable _MAX_OUTPUT_BYTES;

    uint64 private _nonce;
    mapping(RequestId requestId => Request request) private _requests;
    mapping(RequestId requestId => bytes output) private _undelivered;
    mapping(address node => Bond bond) private _bonds;

    /// @param config_ See {IInferenceRequests.Config}.
    constructor(Config memory config_) {
        if (address(config_.modelRegistry) == address(0) || address(config_.proofRegistry) == address(0)) {
            revert InferenceRequestsZeroAddress();
        }
        if (config_.withdrawalDelay < config_.challengeWindow) {
            revert InferenceRequestsWithdrawalDelayTooShort(config_.withdrawalDelay, config_.challengeWindow);
        }
        if (config_.challengerShareBps > _BPS)
            revert InferenceRequestsChallengerShareTooHigh(config_.challengerShareBps);
        _MODEL_REGISTRY = config_.modelRegistry;
        _PROOF_REGISTRY = config_.proofRegistry;
        _MIN_BOND = config_.minBond;
        _CHALLENGE_WINDOW = config_.challengeWindow;
        _WITHDRAWAL_DELAY = config_.withdrawalDelay;
        _CHALLENGER_SHARE_BPS = config_.challengerShareBps;
        _MAX_CALLBACK_GAS_LIMIT = config_.maxCallbackGasLimit;
        _MAX_INPUT_BYTES = config_.maxInputBytes;
        _MAX_OUTPUT_BYTES = config_.maxOutputBytes;
        // Nonces start at 1, so that no request pays for turning the nonce's slot from zero to non-zero.
        _nonce = 1;
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Requests

    /// @inheritdoc IInferenceRequests
    function requestInference(
        ModelId modelId,
        uint32 modelVersion,
        BlobId inputBlobId,
        bytes32 inputHash,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external payable returns (RequestId) {
        if (inputBlobId.isZero()) revert InferenceRequestsZeroInputBlobId();
        if (inputHash == bytes32(0)) revert InferenceRequestsZeroInputHash();
        return _request(modelId, modelVersion, inputBlobId, inputHash, "", callbackGasLimit, deadline);
    }

    /// @inheritdoc IInferenceRequests
    function requestInferenceInline(
        ModelId modelId,
        uint32 modelVersion,
        bytes calldata input,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external payable returns (RequestId) {
        if (input.length > _MAX_INPUT_BYTES) revert InferenceRequestsInputTooLarge(input.length, _MAX_INPUT_BYTES);
        bytes32 inputHash = ProofDigest.hashEncodedTensors(input);
        return _request(modelId, modelVersion, BlobId.wrap(0), inputHash, input, callbackGasLimit, deadline);
    }

    function _request(
        ModelId modelId,
        uint32 modelVersion,
        BlobId inputBlobId,
        bytes32 inputHash,
        bytes memory input,
        uint32 callbackGasLimit,
        uint64 deadline
    ) private returns (RequestId requestId) {
        if (deadline <= block.timestamp || deadline > type(uint40).max) {
            revert InferenceRequestsBadDeadline(deadline, block.timestamp);
        }
        if (callbackGasLimit > _MAX_CALLBACK_GAS_LIMIT) {
            revert InferenceRequestsCallbackGasLimitTooHigh(callbackGasLimit, _MAX_CALLBACK_GAS_LIMIT);
        }
        // A call to an account without code would revert the fulfilment itself (Solidity checks the code before an
        // external call): refuse the request instead. (Code cannot disappear later, since Cancun.)
        if (callbackGasLimit != 0 && msg.sender.code.length == 0) revert InferenceRequestsNoCallbackCode(msg.sender);
        RequestKey memory key = _resolve(modelId, modelVersion);
        uint64 nonce = _nonce;
        _nonce = nonce + 1;
        key.nonce = nonce;
        key.inputHash = inputHash;
        key.callbackGasLimit = callbackGasLimit;
        requestId = _idOf(key);
        // The whole supply of ETH fits in 96 bits, so msg.value does.
        _requests[requestId] = Request({
            requester: msg.sender,
            fee: uint96(msg.value),
            node: address(0),
            deadline: uint40(deadline),
            fulfilledAt: 0,
            status: Status.Pending
        });
        emit InferenceRequested(requestId, msg.sender, modelId, key, inputBlobId, input, deadline, msg.value);
    }

    /// @dev The key of a request for `modelVersion` of `modelId`, its model fields filled from the ModelRegistry.
    function _resolve(ModelId modelId, uint32 modelVersion) private view returns (RequestKey memory key) {
        IModelRegistry.Version memory version_;
        if (modelVersion == LATEST) {
            (modelVersion, version_) = _MODEL_REGISTRY.latestVersion(modelId);
        } else {
            version_ = _MODEL_REGISTRY.getVersion(modelId, modelVersion);
            if (version_.deprecated) revert InferenceRequestsVersionDeprecated(modelId, modelVersion);
        }
        key.modelId = modelId;
        key.modelVersion = modelVersion;
        key.modelBlobId = version_.blobId;
        key.modelSha256 = version_.sha256;
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Fulfilment

    /// @inheritdoc IInferenceRequests
    function fulfil(
        uint64 nonce,
        uint32 callbackGasLimit,
        ProofDigest.Proof calldata proof,
        bytes calldata output,
        bytes calldata signature
    ) external nonReentrant {
        _checkFulfilment(nonce, callbackGasLimit, proof, output);
        Commitment commitment = _commitmentOf(proof);
        address node = _signerOf(commitment, proof, signature);
        _checkNode(node);
        _complete(proof, commitment, node, output, callbackGasLimit);
    }

    /// @dev Records the fulfilment, then calls back (checks, effects, interactions).
    function _complete(
        ProofDigest.Proof calldata proof,
        Commitment commitment,
        address node,
        bytes calldata output,
        uint32 callbackGasLimit
    ) private {
        RequestId requestId = RequestId.wrap(proof.requestId);
        Request storage request = _requests[requestId];
        request.node = node;
        request.fulfilledAt = uint40(block.timestamp);
        request.status = Status.Fulfilled;

        Callback callback = Callback.None;
        if (callbackGasLimit != 0) {
            callback = _callBack(request.requester, requestId, commitment, output, callbackGasLimit);
        }
        emit InferenceFulfilled(requestId, node, commitment, proof.outputHash, callback);
    }

    function _checkFulfilment(
        uint64 nonce,
        uint32 callbackGasLimit,
        ProofDigest.Proof calldata proof,
        bytes calldata output
    ) private view {
        RequestId requestId = RequestId.wrap(proof.requestId);
        Request storage request = _requests[requestId];
        Status status = request.status;
        if (status != Status.Pending) revert InferenceRequestsNotPending(requestId, status);
        uint40 deadline = request.deadline;
        if (block.timestamp > deadline) revert InferenceRequestsExpired(requestId, deadline);
        RequestId derived = _idOf(
            RequestKey({
                nonce: nonce,
                modelId: proof.modelId,
                modelVersion: proof.modelVersion,
                modelBlobId: proof.modelBlobId,
                modelSha256: proof.modelSha256,
                inputHash: proof.inputHash,
                callbackGasLimit: callbackGasLimit
            })
        );
        if (RequestId.unwrap(derived) != RequestId.unwrap(requestId)) {
            revert InferenceRequestsRequestMismatch(requestId, derived);
        }
        if (proof.modelRegistry != address(_MODEL_REGISTRY)) {
            revert InferenceRequestsWrongModelRegistry(proof.modelRegistry, address(_MODEL_REGISTRY));
        }
        uint16 proofVersion = proof.version;
        if (proofVersion == 0 || proofVersion > _MAX_PROOF_VERSION) {
            revert InferenceRequestsUnsupportedProofVersion(proofVersion);
        }
        if (output.length > _MAX_OUTPUT_BYTES) revert InferenceRequestsOutputTooLarge(output.length, _MAX_OUTPUT_BYTES);
        bytes32 outputHash = ProofDigest.hashEncodedTensors(output);
        if (outputHash != proof.outputHash) revert InferenceRequestsOutputHashMismatch(proof.outputHash, outputHash);
    }

    /// @dev Reverts unless `node` may fulfil: active in the ProofRegistry, bonded at least the minimum, not withdrawing.
    function _checkNode(address node) private view {
        if (!_PROOF_REGISTRY.isAnchorer(node)) revert InferenceRequestsNotActiveNode(node);
        Bond memory bond = _bonds[node];
        if (bond.amount < _MIN_BOND) revert InferenceRequestsInsufficientBond(node, bond.amount, _MIN_BOND);
        if (bond.unlockAt != 0) revert InferenceRequestsBondUnlocking(node, bond.unlockAt);
    }

    /// @dev Calls `requester` back with exactly `gasLimit` gas, isolated: a revert or an out-of-gas in the callback is a
    /// `Failed` callback, and the output is stored. The transaction must hold enough gas at the CALL to give the callback
    /// its whole limit, or the fulfilment reverts: under the 63/64 rule a fulfiller could otherwise send just too little
    /// gas and starve the callback into a failure. The check is made in assembly right before the CALL, once the
    /// arguments are encoded (a Solidity `try` would encode them, and expand memory, after any check written before
    /// it), and the callback's return or revert data is never copied (no return-data bomb).
    function _callBack(
        address requester,
        RequestId requestId,
        Commitment commitment,
        bytes calldata output,
        uint32 gasLimit
    ) private returns (Callback) {
        bytes memory payload = abi.encodeCall(IInferenceConsumer.onInferenceResult, (requestId, commitment, output));
        if (_callWithExactGas(requester, gasLimit, payload, requestId)) return Callback.Delivered;
        _undelivered[requestId] = output;
        emit OutputUndelivered(requestId, output);
        return Callback.Failed;
    }

    /// @dev Calls `target` with `payload` and exactly `gasLimit` gas, or reverts when less than that would reach it;
    /// whether the call returned (its return or revert data is not copied).
    function _callWithExactGas(
        address target,
        uint32 gasLimit,
        bytes memory payload,
        RequestId requestId
    ) private returns (bool delivered) {
        uint256 needed = (uint256(gasLimit) * 64) / 63 + _CALLBACK_RESERVE;
        uint256 gasLeft;
        bool enough;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            gasLeft := gas()
            enough := iszero(lt(gasLeft, needed))
            if enough {
                delivered := call(gasLimit, target, 0, add(payload, 0x20), mload(payload), 0, 0)
            }
        }
        if (!enough) revert InferenceRequestsInsufficientGas(requestId, gasLeft, needed);
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Fees

    /// @inheritdoc IInferenceRequests
    function refund(RequestId requestId) external nonReentrant {
        Request storage request = _requests[requestId];
        address requester = request.requester;
        if (msg.sender != requester) revert InferenceRequestsNotRequester(requestId, msg.sender);
        Status status = request.status;
        if (status == Status.Pending) {
            if (block.timestamp <= request.deadline) revert InferenceRequestsNotExpired(requestId, request.deadline);
        } else if (status == Status.Fulfilled) {
            uint40 slashedAt = _bonds[request.node].slashedAt;
            // Forfeited: the node was slashed before the fee's challenge window ended.
            if (slashedAt == 0 || uint256(request.fulfilledAt) + _CHALLENGE_WINDOW <= slashedAt) {
                revert InferenceRequestsNotRefundable(requestId, status);
            }
        } else {
            revert InferenceRequestsNotRefundable(requestId, status);
        }
        request.status = Status.Refunded;
        uint256 fee = request.fee;
        emit InferenceRefunded(requestId, requester, fee);
        Address.sendValue(payable(requester), fee);
    }

    /// @inheritdoc IInferenceRequests
    function claimFees(RequestId[] calldata requestIds) external nonReentrant {
        uint40 slashedAt = _bonds[msg.sender].slashedAt;
        uint256 total;
        for (uint256 i; i < requestIds.length; ++i) {
            RequestId requestId = requestIds[i];
            Request storage request = _requests[requestId];
            Status status = request.status;
            if (status != Status.Fulfilled) revert InferenceRequestsNotFulfilled(requestId, status);
            if (request.node != msg.sender) revert InferenceRequestsNotFulfiller(requestId, msg.sender);
            uint256 endsAt = uint256(request.fulfilledAt) + _CHALLENGE_WINDOW;
            if (block.timestamp < endsAt) revert InferenceRequestsChallengeWindow(requestId, endsAt);
            if (slashedAt != 0 && endsAt > slashedAt) revert InferenceRequestsFeeForfeited(requestId, slashedAt);
            request.status = Status.Claimed;
            total += request.fee;
        }
        emit FeesClaimed(msg.sender, requestIds, total);
        Address.sendValue(payable(msg.sender), total);
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Bonds

    /// @inheritdoc IInferenceRequests
    function postBond() external payable {
        if (msg.value == 0) revert InferenceRequestsZeroBond();
        Bond storage bond = _bonds[msg.sender];
        if (bond.slashedAt != 0) revert InferenceRequestsNodeSlashed(msg.sender, bond.slashedAt);
        // The whole supply of ETH fits in 96 bits, so a bond does.
        uint96 amount = bond.amount + uint96(msg.value);
        bond.amount = amount;
        bond.unlockAt = 0;
        emit BondPosted(msg.sender, msg.value, amount);
    }

    /// @inheritdoc IInferenceRequests
    function requestBondWithdrawal() external {
        Bond storage bond = _bonds[msg.sender];
        if (bond.amount == 0) revert InferenceRequestsNoBond(msg.sender);
        if (bond.unlockAt != 0) revert InferenceRequestsAlreadyUnlocking(msg.sender, bond.unlockAt);
        uint40 unlockAt = uint40(block.timestamp + _WITHDRAWAL_DELAY);
        bond.unlockAt = unlockAt;
        emit BondWithdrawalRequested(msg.sender, unlockAt);
    }

    /// @inheritdoc IInferenceRequests
    function withdrawBond() external nonReentrant {
        Bond storage bond = _bonds[msg.sender];
        uint40 unlockAt = bond.unlockAt;
        if (unlockAt == 0) revert InferenceRequestsNotUnlocking(msg.sender);
        if (block.timestamp < unlockAt) revert InferenceRequestsBondLocked(msg.sender, unlockAt);
        uint256 amount = bond.amount;
        bond.amount = 0;
        bond.unlockAt = 0;
        emit BondWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Faults

    /// @inheritdoc IInferenceRequests
    function slashEquivocation(
        ProofDigest.Proof calldata a,
        bytes calldata signatureA,
        ProofDigest.Proof calldata b,
        bytes calldata signatureB
    ) external nonReentrant {
        Commitment commitmentA = _commitmentOf(a);
        Commitment commitmentB = _commitmentOf(b);
        if (_subjectOf(a) != _subjectOf(b) || a.outputHash == b.outputHash) {
            revert InferenceRequestsNotEquivocation(commitmentA, commitmentB);
        }
        address node = _signerOf(commitmentA, a, signatureA);
        address nodeB = _signerOf(commitmentB, b, signatureB);
        if (node != nodeB) revert InferenceRequestsDifferentNodes(node, nodeB);
        _slash(node, Fault.Equivocation, Commitment.unwrap(commitmentA), Commitment.unwrap(commitmentB));
    }

    /// @inheritdoc IInferenceRequests
    function slashWrongModel(
        RequestKey calldata key,
        ProofDigest.Proof calldata proof,
        bytes calldata signature
    ) external nonReentrant {
        RequestId requestId = _idOf(key);
        if (RequestId.unwrap(requestId) != proof.requestId) {
            revert InferenceRequestsRequestMismatch(RequestId.wrap(proof.requestId), requestId);
        }
        if (_requests[requestId].status == Status.None) revert InferenceRequestsUnknownRequest(requestId);
        Commitment commitment = _commitmentOf(proof);
        bytes32 requested = keccak256(
            abi.encode(key.modelId, key.modelVersion, key.modelBlobId, key.modelSha256, address(_MODEL_REGISTRY))
        );
        bytes32 proven = keccak256(
            abi.encode(proof.modelId, proof.modelVersion, proof.modelBlobId, proof.modelSha256, proof.modelRegistry)
        );
        if (requested == proven) revert InferenceRequestsSameModel(requestId, commitment);
        address node = _signerOf(commitment, proof, signature);
        _slash(node, Fault.WrongModel, Commitment.unwrap(commitment), RequestId.unwrap(requestId));
    }

    /// @dev Takes the whole bond of `node`, pays the challenger its share; the rest stays here, owned by no one.
    function _slash(address node, Fault fault, bytes32 evidenceA, bytes32 evidenceB) private {
        Bond storage bond = _bonds[node];
        uint256 amount = bond.amount;
        if (amount == 0) revert InferenceRequestsNoBond(node);
        bond.amount = 0;
        bond.unlockAt = 0;
        bond.slashedAt = uint40(block.timestamp);
        uint256 reward = (amount * _CHALLENGER_SHARE_BPS) / _BPS;
        emit NodeSlashed(node, msg.sender, fault, evidenceA, evidenceB, amount, reward);
        Address.sendValue(payable(msg.sender), reward);
    }

    /// @dev What a proof says was run: the model (id, version, Blob ID, sha256, registry), the input and the runtime.
    function _subjectOf(ProofDigest.Proof calldata proof) private pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    proof.modelId,
                    proof.modelVersion,
                    proof.modelBlobId,
                    proof.modelSha256,
                    proof.modelRegistry,
                    proof.inputHash,
                    proof.runtimeHash
                )
            );
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Signatures and ids

    /// @dev The signer of `commitment` by `signature`, which must be the proof's node.
    function _signerOf(
        Commitment commitment,
        ProofDigest.Proof calldata proof,
        bytes calldata signature
    ) private pure returns (address signer) {
        ECDSA.RecoverError recoverError;
        (signer, recoverError, ) = ECDSA.tryRecoverCalldata(Commitment.unwrap(commitment), signature);
        if (recoverError != ECDSA.RecoverError.NoError) {
            revert InferenceRequestsInvalidSignature(commitment, uint8(recoverError));
        }
        if (signer != proof.node) revert InferenceRequestsSignerNotNode(commitment, signer, proof.node);
    }

    function _commitmentOf(ProofDigest.Proof calldata proof) private view returns (Commitment) {
        return ProofDigest.commitment(ProofDigest.domainSeparator(block.chainid, address(_PROOF_REGISTRY)), proof);
    }

    function _idOf(RequestKey memory key) private view returns (RequestId) {
        return RequestId.wrap(keccak256(abi.encode(block.chainid, address(this), key)));
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Reads

    /// @inheritdoc IInferenceRequests
    function getRequest(RequestId requestId) external view returns (Request memory) {
        return _requests[requestId];
    }

    /// @inheritdoc IInferenceRequests
    function undeliveredOutput(RequestId requestId) external view returns (bytes memory) {
        return _undelivered[requestId];
    }

    /// @inheritdoc IInferenceRequests
    function getBond(address node) external view returns (Bond memory) {
        return _bonds[node];
    }

    /// @inheritdoc IInferenceRequests
    function requestIdOf(RequestKey calldata key) external view returns (RequestId) {
        return _idOf(key);
    }

    /// @inheritdoc IInferenceRequests
    function commitmentOf(ProofDigest.Proof calldata proof) external view returns (Commitment) {
        return _commitmentOf(proof);
    }

    /// @inheritdoc IInferenceRequests
    function nextNonce() external view returns (uint64) {
        return _nonce;
    }

    /// @inheritdoc IInferenceRequests
    function config() external view returns (Config memory) {
        return
            Config({
                modelRegistry: _MODEL_REGISTRY,
                proofRegistry: _PROOF_REGISTRY,
                minBond: _MIN_BOND,
                challengeWindow: _CHALLENGE_WINDOW,
                withdrawalDelay: _WITHDRAWAL_DELAY,
                challengerShareBps: _CHALLENGER_SHARE_BPS,
                maxCallbackGasLimit: _MAX_CALLBACK_GAS_LIMIT,
                maxInputBytes: _MAX_INPUT_BYTES,
                maxOutputBytes: _MAX_OUTPUT_BYTES
            });
    }

    /// @inheritdoc IInferenceRequests
    function version() external pure returns (string memory) {
        return _VERSION;
    }
}
