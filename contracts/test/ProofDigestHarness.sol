// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {ProofDigest} from "../libraries/ProofDigest.sol";
import {Commitment} from "../types/Commitment.sol";

/// @title ProofDigestHarness
/// @notice Test-only: exposes the {ProofDigest} library so its parity with `@strata/core` can be tested. Not deployed.
contract ProofDigestHarness {
    function domainSeparator(uint256 chainId, address proofRegistry) external pure returns (bytes32) {
        return ProofDigest.domainSeparator(chainId, proofRegistry);
    }

    function hashStruct(ProofDigest.Proof calldata proof) external pure returns (bytes32) {
        return ProofDigest.hashStruct(proof);
    }

    function commitment(
        uint256 chainId,
        address proofRegistry,
        ProofDigest.Proof calldata proof
    ) external pure returns (Commitment) {
        return ProofDigest.commitment(ProofDigest.domainSeparator(chainId, proofRegistry), proof);
    }

    function hashTensor(ProofDigest.Tensor calldata tensor) external pure returns (bytes32) {
        return ProofDigest.hashTensor(tensor);
    }

    function hashTensorSet(bytes32[] calldata hashes) external pure returns (bytes32) {
        return ProofDigest.hashTensorSet(hashes);
    }

    function hashEncodedTensors(bytes calldata encoded) external pure returns (bytes32) {
        return ProofDigest.hashEncodedTensors(encoded);
    }

    function typeHash() external pure returns (bytes32) {
        return ProofDigest.PROOF_TYPEHASH;
    }
}
