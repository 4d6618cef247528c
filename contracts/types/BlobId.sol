// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

/// @notice A Walrus Blob ID: the raw 32 bytes behind the unpadded base64url string that Walrus shows
/// (never the UTF-8 of that string). Zero is never a valid Blob ID.
type BlobId is bytes32;

using BlobIdLib for BlobId global;

/// @notice Helpers for {BlobId}.
library BlobIdLib {
    /// @notice Whether `id` is the zero Blob ID, which the registries reject.
    function isZero(BlobId id) internal pure returns (bool) {
        return BlobId.unwrap(id) == bytes32(0);
    }
}
