// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {ProofDigest} from "../libraries/ProofDigest.sol";
import {BlobId} from "../types/BlobId.sol";
import {Commitment} from "../types/Commitment.sol";
import {ModelId} from "../types/ModelId.sol";
import {RequestId} from "../types/RequestId.sol";
import {IModelRegistry} from "./IModelRegistry.sol";
import {IProofRegistry} from "./IProofRegistry.sol";

/// @title IInferenceRequests
/// @notice On-chain inference requests fulfilled with verified, signed Strata proofs; node bonds; slashing on faults
/// the chain can check from signatures alone.
///
/// **Requests.** A requester (usually a contract implementing {IInferenceConsumer}) asks for an inference of a model
/// version ({LATEST} resolves, at request time, to the newest version that is not deprecated), on an input given either
/// as a Walrus Blob ID plus the input's tensor-set hash (the proof's `inputHash`), or inline as
/// `abi.encode(ProofDigest.Tensor[])` (the contract computes the hash), with a callback gas limit, a deadline and a fee
/// (`msg.value`) held in escrow. The request id commits to the model version, the input hash and the callback gas limit
/// ({RequestKey}, {requestIdOf}); the proof that fulfils a request carries that id as its `requestId`.
///
/// **Fulfilment.** Anyone may submit a fulfilment (a node or a relayer); what authorises it is the signature. The
/// contract checks that the proof's EIP-712 signature recovers to its `node`, an active node
/// ({IProofRegistry.isAnchorer}) with at least {Config.minBond} bonded and no withdrawal pending; that the proof's model
/// (id, version, Blob ID, sha256, registry) and input hash are the request's (through the request id); that the output
/// bytes hash to the proof's `outputHash` (the twin, {ProofDigest}); and that the deadline has not passed. It then
/// calls the requester back ({IInferenceConsumer.onInferenceResult}) with exactly the callback gas limit, isolated: a
/// callback that reverts or runs out of gas leaves the request fulfilled and its output stored here
/// ({undeliveredOutput}). **The node is paid either way**: it did the work, and the failure was the consumer's. A
/// callback gas limit of zero asks for no callback (the output is then in the {fulfil} calldata only, its hash in the
/// {InferenceFulfilled} event).
///
/// **Fees** are claimed by the node ({claimFees}) once the challenge window after the fulfilment has passed. An expired
/// request (pending after its deadline) is refunded to its requester ({refund}).
///
/// **Bonds and faults.** Nodes post bonds ({postBond}); withdrawing one takes {Config.withdrawalDelay} (at least the
/// challenge window) after {requestBondWithdrawal}, and a node with a withdrawal pending cannot fulfil, so no fee of
/// a node withdrawing its bond is still in its challenge window. Anyone can slash a node with evidence checked here:
/// - {slashEquivocation}: two proofs signed by the node for the same model version, input hash and runtime hash but with
///   different output hashes (Strata inference is deterministic: one of them is false);
/// - {slashWrongModel}: a proof signed by the node whose `requestId` is a request's id but whose model is not the
///   request's.
/// A slash takes the whole bond: {Config.challengerShareBps} of it goes to the challenger and the rest stays locked in
/// this contract for good (no function moves it: it is burnt in effect). Fees of the slashed node whose challenge
/// window had not ended at the slash are forfeited: their requesters take them back with {refund}. A slashed address
/// can never bond again here.
///
/// Events carry everything an indexer needs to rebuild every record (the storage holds only what the calls read).
interface IInferenceRequests {
    /// @notice The life of a request.
    enum Status {
        None,
        Pending,
        Fulfilled,
        Refunded,
        Claimed
    }

    /// @notice How the callback of a fulfilment went.
    enum Callback {
        /// The request's callback gas limit is zero: no callback was made.
        None,
        /// The requester's callback returned.
        Delivered,
        /// The requester's callback reverted or ran out of gas; the output is stored ({undeliveredOutput}).
        Failed
    }

    /// @notice The kinds of provable fault.
    enum Fault {
        Equivocation,
        WrongModel
    }

    /// @notice The parameters fixed at deployment.
    struct Config {
        /// The registry whose model versions are requested (and which proofs must name).
        IModelRegistry modelRegistry;
        /// The EIP-712 verifying contract of proofs, and the registry of active nodes.
        IProofRegistry proofRegistry;
        /// The bond a node must hold to fulfil, in wei.
        uint96 minBond;
        /// Seconds after a fulfilment before its fee can be claimed (and during which a slash forfeits it).
        uint32 challengeWindow;
        /// Seconds between {requestBondWithdrawal} and {withdrawBond}; at least `challengeWindow`.
        uint32 withdrawalDelay;
        /// The challenger's share of a slashed bond, in basis points (at most 10,000).
        uint16 challengerShareBps;
        /// The largest callback gas limit a request may ask for.
        uint32 maxCallbackGasLimit;
        /// The largest inline input, in bytes of `abi.encode(ProofDigest.Tensor[])`.
        uint32 maxInputBytes;
        /// The largest output of a fulfilment, in bytes of `abi.encode(ProofDigest.Tensor[])`.
        uint32 maxOutputBytes;
    }

    /// @notice What the id of a request commits to: {requestIdOf} is `keccak256(abi.encode(block.chainid, this, key))`.
    /// The model fields and the input hash are those a fulfilling proof must carry.
    // solhint-disable-next-line gas-struct-packing
    struct RequestKey {
        /// The request's sequence number in this contract (from 1).
        uint64 nonce;
        ModelId modelId;
        uint32 modelVersion;
        BlobId modelBlobId;
        bytes32 modelSha256;
        /// The input's tensor-set hash: the proof's `inputHash`.
        bytes32 inputHash;
        uint32 callbackGasLimit;
    }

    /// @notice A request as stored. Fits in two slots: (requester, fee) and (node, deadline, fulfilledAt, status).
    struct Request {
        address requester;
        uint96 fee;
        /// The node that fulfilled it, or zero.
        address node;
        uint40 deadline;
        /// When it was fulfilled, or zero.
        uint40 fulfilledAt;
        Status status;
    }

    /// @notice A node's bond. Fits in one slot.
    struct Bond {
        uint96 amount;
        /// When a pending withdrawal can complete, or zero when none is pending.
        uint40 unlockAt;
        /// When the node was slashed, or zero.
        uint40 slashedAt;
    }

    /// @notice Emitted when `requester` requests an inference. `input` is the inline input (empty when the input is the
    /// Walrus blob `inputBlobId`, which is then non-zero). `key` holds the resolved model version, the input hash and
    /// the callback gas limit.
    event InferenceRequested(
        RequestId indexed requestId,
        address indexed requester,
        ModelId indexed modelId,
        RequestKey key,
        BlobId inputBlobId,
        bytes input,
        uint64 deadline,
        uint256 fee
    );

    /// @notice Emitted when `node` fulfils `requestId` with the proof `commitment`, whose output hashes to `outputHash`;
    /// `callback` says how the callback went. The output itself is the `output` argument of the {fulfil} call (checked
    /// against `outputHash`), and is stored when the callback failed ({undeliveredOutput}); it is not repeated here,
    /// which would cost 8 gas a byte on every fulfilment.
    event InferenceFulfilled(
        RequestId indexed requestId,
        address indexed node,
        Commitment commitment,
        bytes32 outputHash,
        Callback callback
    );

    /// @notice Emitted, before {InferenceFulfilled}, when the callback of `requestId` failed and `output` was stored
    /// ({undeliveredOutput}).
    event OutputUndelivered(RequestId indexed requestId, bytes output);

    /// @notice Emitted when the fee of `requestId` returns to `requester` (expired, or forfeited by a slashed node).
    event InferenceRefunded(RequestId indexed requestId, address indexed requester, uint256 fee);

    /// @notice Emitted when `node` claims the fees of `requestIds`, `amount` in all.
    event FeesClaimed(address indexed node, RequestId[] requestIds, uint256 amount);

    /// @notice Emitted when `node` adds `amount` to its bond, which is then `bond` (any pending withdrawal cancelled).
    event BondPosted(address indexed node, uint256 amount, uint256 bond);

    /// @notice Emitted when `node` starts withdrawing its bond, which it can complete at `unlockAt`.
    event BondWithdrawalRequested(address indexed node, uint64 unlockAt);

    /// @notice Emitted when `node` withdraws its whole bond, `amount`.
    event BondWithdrawn(address indexed node, uint256 amount);

    /// @notice Emitted when `challenger` slashes `node` for `fault`, taking its bond `bond`, of which `reward` went to
    /// the challenger (the rest stays locked here). For an equivocation the evidence is the two proof commitments; for
    /// a wrong model, the proof commitment and the request id.
    event NodeSlashed(
        address indexed node,
        address indexed challenger,
        Fault fault,
        bytes32 evidenceA,
        bytes32 evidenceB,
        uint256 bond,
        uint256 reward
    );

    /// @notice A registry given at deployment is the zero address.
    error InferenceRequestsZeroAddress();
    /// @notice The withdrawal delay `delay` is shorter than the challenge window `window`.
    error InferenceRequestsWithdrawalDelayTooShort(uint32 delay, uint32 window);
    /// @notice The challenger share `bps` is above 10,000 basis points.
    error InferenceRequestsChallengerShareTooHigh(uint16 bps);
    /// @notice Version `modelVersion` of `modelId` is deprecated: request it no more.
    error InferenceRequestsVersionDeprecated(ModelId modelId, uint32 modelVersion);
    /// @notice The deadline `deadline` is not after the block time `blockTime`, or is later than any stored time.
    error InferenceRequestsBadDeadline(uint64 deadline, uint256 blockTime);
    /// @notice The callback gas limit `limit` is above `max`.
    error InferenceRequestsCallbackGasLimitTooHigh(uint32 limit, uint32 max);
    /// @notice A callback is asked for, but `requester` has no code to call back.
    error InferenceRequestsNoCallbackCode(address requester);
    /// @notice The input Blob ID is zero.
    error InferenceRequestsZeroInputBlobId();
    /// @notice The input hash is zero.
    error InferenceRequestsZeroInputHash();
    /// @notice The inline input is `length` bytes, above `max`.
    error InferenceRequestsInputTooLarge(uint256 length, uint256 max);
    /// @notice The output is `length` bytes, above `max`.
    error InferenceRequestsOutputTooLarge(uint256 length, uint256 max);
    /// @notice `requestId` is `status`, not pending.
    error InferenceRequestsNotPending(RequestId requestId, Status status);
    /// @notice `requestId` expired at `deadline`.
    error InferenceRequestsExpired(RequestId requestId, uint40 deadline);
    /// @notice The proof names `requestId`, but its model, input and the given nonce and gas limit give `derived`.
    error InferenceRequestsRequestMismatch(RequestId requestId, RequestId derived);
    /// @notice The proof names the model registry `modelRegistry`, not this contract's, `expected`.
    error InferenceRequestsWrongModelRegistry(address modelRegistry, address expected);
    /// @notice The proof format version `version` is not one this contract reads (1 or 2).
    error InferenceRequestsUnsupportedProofVersion(uint16 version);
    /// @notice The output hashes to `computed`, but the proof says `outputHash`.
    error InferenceRequestsOutputHashMismatch(bytes32 outputHash, bytes32 computed);
    /// @notice The signature over `commitment` is malformed (ECDSA recover error `recoverError`).
    error InferenceRequestsInvalidSignature(Commitment commitment, uint8 recoverError);
    /// @notice The signature over `commitment` is by `signer`, not by the proof's node `node`.
    error InferenceRequestsSignerNotNode(Commitment commitment, address signer, address node);
    /// @notice `node` is not an active node of the ProofRegistry.
    error InferenceRequestsNotActiveNode(address node);
    /// @notice `node` holds a bond of `bond`, below `minBond`.
    error InferenceRequestsInsufficientBond(address node, uint256 bond, uint256 minBond);
    /// @notice `node` is withdrawing its bond (from `unlockAt`) and cannot fulfil.
    error InferenceRequestsBondUnlocking(address node, uint40 unlockAt);
    /// @notice `gasLeft` is less than `needed` to give the callback of `requestId` its whole gas limit.
    error InferenceRequestsInsufficientGas(RequestId requestId, uint256 gasLeft, uint256 needed);
    /// @notice `account` is not the requester of `requestId`.
    error InferenceRequestsNotRequester(RequestId requestId, address account);
    /// @notice `requestId` is pending until its deadline `deadline`.
    error InferenceRequestsNotExpired(RequestId requestId, uint40 deadline);
    /// @notice `requestId` is `status`, and its fee can neither be refunded nor claimed now.
    error InferenceRequestsNotRefundable(RequestId requestId, Status status);
    /// @notice `requestId` is `status`, not fulfilled.
    error InferenceRequestsNotFulfilled(RequestId requestId, Status status);
    /// @notice `account` did not fulfil `requestId`.
    error InferenceRequestsNotFulfiller(RequestId requestId, address account);
    /// @notice The challenge window of `requestId` ends at `endsAt`.
    error InferenceRequestsChallengeWindow(RequestId requestId, uint256 endsAt);
    /// @notice The fee of `requestId` was forfeited: its node was slashed at `slashedAt`, within the challenge window.
    error InferenceRequestsFeeForfeited(RequestId requestId, uint40 slashedAt);
    /// @notice No value was sent to post a bond.
    error InferenceRequestsZeroBond();
    /// @notice `node` was slashed at `slashedAt` and cannot bond again.
    error InferenceRequestsNodeSlashed(address node, uint40 slashedAt);
    /// @notice `node` holds no bond.
    error InferenceRequestsNoBond(address node);
    /// @notice `node` is already withdrawing its bond (from `unlockAt`).
    error InferenceRequestsAlreadyUnlocking(address node, uint40 unlockAt);
    /// @notice `node` has no bond withdrawal pending.
    error InferenceRequestsNotUnlocking(address node);
    /// @notice The bond of `node` is locked until `unlockAt`.
    error InferenceRequestsBondLocked(address node, uint40 unlockAt);
    /// @notice The proofs `a` and `b` are not an equivocation: different model, input or runtime, or the same output.
    error InferenceRequestsNotEquivocation(Commitment a, Commitment b);
    /// @notice The proofs `a` and `b` are signed by different nodes, `nodeA` and `nodeB`.
    error InferenceRequestsDifferentNodes(address nodeA, address nodeB);
    /// @notice No request has the id `requestId`.
    error InferenceRequestsUnknownRequest(RequestId requestId);
    /// @notice The proof `commitment` names the model of the request `requestId`: it is not a wrong-model fault.
    error InferenceRequestsSameModel(RequestId requestId, Commitment commitment);

    /// @notice Requests an inference of version `modelVersion` ({LATEST}: the newest active one) of `modelId` on the
    /// input stored as the Walrus blob `inputBlobId`, whose tensor-set hash is `inputHash`. The fee is `msg.value`.
    /// @param callbackGasLimit The gas for {IInferenceConsumer.onInferenceResult} (zero: no callback).
    /// @param deadline The last block time (Unix seconds) at which the request can be fulfilled.
    /// @dev Reverts with {InferenceRequestsZeroInputBlobId}, {InferenceRequestsZeroInputHash},
    /// {InferenceRequestsVersionDeprecated}, {InferenceRequestsBadDeadline},
    /// {InferenceRequestsCallbackGasLimitTooHigh}, {InferenceRequestsNoCallbackCode}, or the ModelRegistry's
    /// error for an unknown model or version. Emits {InferenceRequested}.
    function requestInference(
        ModelId modelId,
        uint32 modelVersion,
        BlobId inputBlobId,
        bytes32 inputHash,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external payable returns (RequestId requestId);

    /// @notice Requests an inference as {requestInference}, on the inline input `input`
    /// (`abi.encode(ProofDigest.Tensor[])`, sorted by name, at most {Config.maxInputBytes}); the contract computes its
    /// tensor-set hash.
    /// @dev Reverts as {requestInference}, and with {InferenceRequestsInputTooLarge} or
    /// {ProofDigest.ProofDigestUnsortedTensors}. Emits {InferenceRequested}.
    function requestInferenceInline(
        ModelId modelId,
        uint32 modelVersion,
        bytes calldata input,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external payable returns (RequestId requestId);

    /// @notice Fulfils the request `proof.requestId` with `output` (`abi.encode(ProofDigest.Tensor[])`, sorted by
    /// name, at most {Config.maxOutputBytes}), proven by `proof` and its node's `signature` (65 bytes), then calls the
    /// requester back. `nonce` and `callbackGasLimit` are the request's (from {InferenceRequested}).
    /// @dev Reverts with {InferenceRequestsNotPending}, {InferenceRequestsExpired},
    /// {InferenceRequestsRequestMismatch}, {InferenceRequestsWrongModelRegistry},
    /// {InferenceRequestsUnsupportedProofVersion}, {InferenceRequestsOutputTooLarge},
    /// {InferenceRequestsOutputHashMismatch}, {InferenceRequestsInvalidSignature}, {InferenceRequestsSignerNotNode},
    /// {InferenceRequestsNotActiveNode}, {InferenceRequestsInsufficientBond}, {InferenceRequestsBondUnlocking} or
    /// {InferenceRequestsInsufficientGas} (the transaction's gas cannot give the callback its whole limit: a fulfiller
    /// cannot starve a callback). Never reverts because of the callback. Emits {InferenceFulfilled}.
    function fulfil(
        uint64 nonce,
        uint32 callbackGasLimit,
        ProofDigest.Proof calldata proof,
        bytes calldata output,
        bytes calldata signature
    ) external;

    /// @notice Returns the fee of `requestId` to its requester: when it is pending after its deadline, or when it was
    /// fulfilled by a node slashed within its challenge window and not claimed. Only the requester.
    /// @dev Reverts with {InferenceRequestsNotRequester}, {InferenceRequestsNotExpired} or
    /// {InferenceRequestsNotRefundable}. Emits {InferenceRefunded}.
    function refund(RequestId requestId) external;

    /// @notice Pays the caller the fees of `requestIds`, which it fulfilled and whose challenge windows have passed.
    /// @dev Reverts with {InferenceRequestsNotFulfilled}, {InferenceRequestsNotFulfiller},
    /// {InferenceRequestsChallengeWindow} or {InferenceRequestsFeeForfeited}. Emits {FeesClaimed}.
    function claimFees(RequestId[] calldata requestIds) external;

    /// @notice Adds `msg.value` to the caller's bond and cancels a pending withdrawal.
    /// @dev Reverts with {InferenceRequestsZeroBond} or {InferenceRequestsNodeSlashed}. Emits {BondPosted}.
    function postBond() external payable;

    /// @notice Starts withdrawing the caller's bond; from now on it cannot fulfil (until it posts again).
    /// @dev Reverts with {InferenceRequestsNoBond} or {InferenceRequestsAlreadyUnlocking}.
    /// Emits {BondWithdrawalRequested}.
    function requestBondWithdrawal() external;

    /// @notice Pays the caller its whole bond, {Config.withdrawalDelay} after {requestBondWithdrawal}.
    /// @dev Reverts with {InferenceRequestsNotUnlocking} or {InferenceRequestsBondLocked}. Emits {BondWithdrawn}.
    function withdrawBond() external;

    /// @notice Slashes the node that signed both `a` and `b`: the same model (id, version, Blob ID, sha256, registry),
    /// input hash and runtime hash, different output hashes. Pays the caller its share of the bond.
    /// @dev Reverts with {InferenceRequestsNotEquivocation}, {InferenceRequestsInvalidSignature},
    /// {InferenceRequestsSignerNotNode}, {InferenceRequestsDifferentNodes} or {InferenceRequestsNoBond}.
    /// Emits {NodeSlashed}.
    function slashEquivocation(
        ProofDigest.Proof calldata a,
        bytes calldata signatureA,
        ProofDigest.Proof calldata b,
        bytes calldata signatureB
    ) external;

    /// @notice Slashes the node that signed `proof` for the request whose key is `key` (so `proof.requestId` is that
    /// request's id) with a model (id, version, Blob ID, sha256 or model registry) other than the request's. Pays the
    /// caller its share.
    /// @dev Reverts with {InferenceRequestsRequestMismatch}, {InferenceRequestsUnknownRequest},
    /// {InferenceRequestsSameModel}, {InferenceRequestsInvalidSignature}, {InferenceRequestsSignerNotNode} or
    /// {InferenceRequestsNoBond}. Emits {NodeSlashed}.
    function slashWrongModel(
        RequestKey calldata key,
        ProofDigest.Proof calldata proof,
        bytes calldata signature
    ) external;

    /// @notice The request `requestId` (all zero if there is none).
    function getRequest(RequestId requestId) external view returns (Request memory);

    /// @notice The output of `requestId` whose callback failed (empty otherwise).
    function undeliveredOutput(RequestId requestId) external view returns (bytes memory);

    /// @notice The bond of `node`.
    function getBond(address node) external view returns (Bond memory);

    /// @notice The id of the request whose key is `key` in this contract on this chain.
    function requestIdOf(RequestKey calldata key) external view returns (RequestId);

    /// @notice The commitment of `proof` on this chain (its EIP-712 digest, the ProofRegistry as verifying contract).
    function commitmentOf(ProofDigest.Proof calldata proof) external view returns (Commitment);

    /// @notice The nonce the next request will get.
    function nextNonce() external view returns (uint64);

    /// @notice The parameters fixed at deployment.
    function config() external view returns (Config memory);

    /// @notice The model version that means "the newest version that is not deprecated", resolved at request time:
    /// `type(uint32).max`.
    // solhint-disable-next-line func-name-mixedcase
    function LATEST() external view returns (uint32);

    /// @notice The version of this contract's interface and behaviour, as a semantic version string.
    function version() external pure returns (string memory);
}
