// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {BlobId} from "../types/BlobId.sol";
import {Commitment} from "../types/Commitment.sol";
import {ModelId} from "../types/ModelId.sol";

/// @title ProofDigest
/// @notice The Solidity twin of the proof commitment and of the tensor hashes of the core package (`proof.ts`:
/// `proofCommitment`, `hashTensor`, `hashTensorSet`; parity-tested against them in test/ProofDigest.test.ts).
///
/// - **commitment** = the EIP-712 digest of {Proof} (type {PROOF_TYPEHASH}) under the domain
///   `{ name: "Strata", version: "1", chainId, verifyingContract: the ProofRegistry }`. Proof format versions 1 and 2
///   share this type; the version is the first field.
/// - **tensor hash** = `keccak256(abi.encode(string name, string dtype, uint256[] dims, bytes32 keccak256(data)))`,
///   `data` the raw little-endian element bytes (length-prefixed UTF-8 for `string` tensors).
/// - **tensor-set hash** = `keccak256(abi.encode(bytes32[] hashes))`, the hashes ordered by tensor name (byte-wise on
///   the UTF-8 names, names unique).
///
/// On-chain tensors travel as `abi.encode(Tensor[])` ({hashEncodedTensors}), sorted by name: the twin checks the order
/// and uniqueness rather than sorting. It hashes what it is given and does not check that `data` agrees with `dtype`
/// and `dims` (core's validator does, off-chain): a set that core would reject still gets a hash, just never the hash
/// of a valid proof.
library ProofDigest {
    /// @notice The EIP-712 message of an inference proof: the fields of `InferenceProof`, in order. Every field is a
    /// static type, so the struct is 12 words in the ABI. (The order is the EIP-712 type's, not a packing.)
    // solhint-disable-next-line gas-struct-packing
    struct Proof {
        uint16 version;
        ModelId modelId;
        uint32 modelVersion;
        BlobId modelBlobId;
        bytes32 modelSha256;
        address modelRegistry;
        bytes32 inputHash;
        bytes32 outputHash;
        bytes32 runtimeHash;
        address node;
        uint64 timestamp;
        bytes32 requestId;
    }

    /// @notice A tensor as a proof holds it: `data` is the raw element bytes (core's `tensorBytes`, not base64).
    struct Tensor {
        string name;
        string dtype;
        uint256[] dims;
        bytes data;
    }

    /// @notice keccak256 of the EIP-712 struct type of a proof.
    // solhint-disable gas-small-strings
    bytes32 internal constant PROOF_TYPEHASH = keccak256(
        "InferenceProof(uint16 version,bytes32 modelId,uint32 modelVersion,bytes32 modelBlobId,bytes32 modelSha256,"
        "address modelRegistry,bytes32 inputHash,bytes32 outputHash,bytes32 runtimeHash,address node,"
        "uint64 timestamp,bytes32 requestId)"
    );

    /// @notice keccak256 of the EIP-712 domain type.
    bytes32 internal constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    // solhint-enable gas-small-strings

    /// @notice keccak256 of the domain name, `"Strata"`.
    bytes32 internal constant NAME_HASH = keccak256("Strata");

    /// @notice keccak256 of the domain version, `"1"` (the domain's version, not the proof format's).
    bytes32 internal constant DOMAIN_VERSION_HASH = keccak256("1");

    /// @notice The tensor at `index` of an encoded set does not sort strictly after the one before it (by UTF-8 name):
    /// the set is out of order or names a tensor twice.
    error ProofDigestUnsortedTensors(uint256 index);

    /// @notice The EIP-712 domain separator of proofs on chain `chainId` anchored in the ProofRegistry `proofRegistry`.
    function domainSeparator(uint256 chainId, address proofRegistry) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, DOMAIN_VERSION_HASH, chainId, proofRegistry));
    }

    /// @notice The EIP-712 `hashStruct` of `proof`.
    function hashStruct(Proof calldata proof) internal pure returns (bytes32) {
        return keccak256(abi.encode(PROOF_TYPEHASH, proof));
    }

    /// @notice The commitment of `proof` (its EIP-712 digest) under the domain separator `separator`.
    function commitment(bytes32 separator, Proof calldata proof) internal pure returns (Commitment) {
        return Commitment.wrap(MessageHashUtils.toTypedDataHash(separator, hashStruct(proof)));
    }

    /// @notice The hash of one tensor.
    function hashTensor(Tensor memory tensor) internal pure returns (bytes32) {
        return keccak256(abi.encode(tensor.name, tensor.dtype, tensor.dims, keccak256(tensor.data)));
    }

    /// @notice The hash of a tensor set whose tensor hashes, ordered by name, are `hashes`.
    function hashTensorSet(bytes32[] memory hashes) internal pure returns (bytes32) {
        return keccak256(abi.encode(hashes));
    }

    /// @notice The tensor-set hash of `abi.encode(Tensor[])`, the tensors sorted by name.
    /// @dev Reverts with {ProofDigestUnsortedTensors} when a name does not sort strictly after the previous one, and
    /// (a Solidity decoding revert) when `encoded` is not an ABI-encoded `Tensor[]`.
    function hashEncodedTensors(bytes calldata encoded) internal pure returns (bytes32) {
        Tensor[] memory tensors = abi.decode(encoded, (Tensor[]));
        uint256 n = tensors.length;
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            if (i != 0) {
                if (!_sortsBefore(bytes(tensors[i - 1].name), bytes(tensors[i].name))) {
                    revert ProofDigestUnsortedTensors(i);
                }
            }
            hashes[i] = hashTensor(tensors[i]);
        }
        return hashTensorSet(hashes);
    }

    /// @dev Whether `a` sorts strictly before `b`, byte-wise (as `Buffer.compare`): word by word over the common
    /// length, then the shorter first.
    function _sortsBefore(bytes memory a, bytes memory b) private pure returns (bool) {
        uint256 common = a.length < b.length ? a.length : b.length;
        for (uint256 i; i < common; i += 32) {
            uint256 wordA;
            uint256 wordB;
            // Whole words of both strings (the bytes past a string's end are masked off below).
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                wordA := mload(add(add(a, 0x20), i))
                wordB := mload(add(add(b, 0x20), i))
            }
            uint256 left = common - i;
            if (left < 32) {
                // Only the first `left` bytes of these words belong to both strings.
                uint256 mask = ~(type(uint256).max >> (left * 8));
                wordA &= mask;
                wordB &= mask;
            }
            if (wordA != wordB) return wordA < wordB;
        }
        return a.length < b.length;
    }
}
