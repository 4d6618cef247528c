/**
 * The EIP-712 digest of a proof, written directly (internal module: not exported from the package): `keccak256(0x1901 ||
 * domainSeparator || keccak256(typeHash || the struct's fields, each one 32-byte word))`. Every proof version signs
 * the same twelve fields under the same domain; version 3 (private proofs) appends its privacy mode and ciphertext
 * hash. Byte for byte `TypedDataEncoder.hash` of the version's types and message (parity-tested in proof and
 * private-proof tests), without ethers' generic encoder on the hot path.
 */
import { getBytes, TypedDataEncoder } from "ethers";
import type { Bytes32 } from "./ids";
import { keccak256Bytes, keccak256Hex, writeHex } from "./keccak";
import { writeUint } from "./tensor-abi";

export { writeUint };

/** The EIP-712 domain name and version of every Strata proof. */
export const PROOF_EIP712_NAME = "Strata";
export const PROOF_EIP712_VERSION = "1";

/** The twelve fields every proof version signs, checked by the caller (ranges, bytes32 hex, addresses). */
export interface ProofStructFields {
  version: number;
  modelId: string;
  modelVersion: number;
  modelBlobId: string;
  modelSha256: string;
  modelRegistry: string;
  inputHash: string;
  outputHash: string;
  runtimeHash: string;
  node: string;
  timestamp: number;
  requestId: string;
}

/** What version 3 appends to the struct. */
export interface PrivateStructTail {
  privacy: number;
  ciphertextHash: string;
}

/** EIP-712 domain separators by chain id and verifying contract (a handful per process). */
const DOMAIN_SEPARATORS = new Map<string, Uint8Array>();

/** The domain separator of proofs bound to chain `chainId` and the ProofRegistry `proofRegistry`. */
function domainSeparator(domain: { chainId: number; proofRegistry: string }): Uint8Array {
  const key = `${domain.chainId}/${domain.proofRegistry}`;
  let separator = DOMAIN_SEPARATORS.get(key);
  if (separator === undefined) {
    separator = getBytes(
      TypedDataEncoder.hashDomain({
        name: PROOF_EIP712_NAME,
        version: PROOF_EIP712_VERSION,
        chainId: domain.chainId,
        verifyingContract: domain.proofRegistry,
      }),
    );
    if (DOMAIN_SEPARATORS.size >= 64) DOMAIN_SEPARATORS.clear();
    DOMAIN_SEPARATORS.set(key, separator);
  }
  return separator;
}

/** The EIP-712 digest of a proof struct of type hash `typeHash` (and, for version 3, its `tail`). */
export function proofStructDigest(
  domain: { chainId: number; proofRegistry: string },
  typeHash: Uint8Array,
  f: ProofStructFields,
  tail?: PrivateStructTail,
): Bytes32 {
  const struct = new Uint8Array((tail === undefined ? 13 : 15) * 32);
  struct.set(typeHash, 0);
  writeUint(struct, 32, f.version);
  writeHex(f.modelId, struct, 64, 32);
  writeUint(struct, 96, f.modelVersion);
  writeHex(f.modelBlobId, struct, 128, 32);
  writeHex(f.modelSha256, struct, 160, 32);
  writeHex(f.modelRegistry, struct, 192 + 12, 20);
  writeHex(f.inputHash, struct, 224, 32);
  writeHex(f.outputHash, struct, 256, 32);
  writeHex(f.runtimeHash, struct, 288, 32);
  writeHex(f.node, struct, 320 + 12, 20);
  writeUint(struct, 352, f.timestamp);
  writeHex(f.requestId, struct, 384, 32);
  if (tail !== undefined) {
    writeUint(struct, 416, tail.privacy);
    writeHex(tail.ciphertextHash, struct, 448, 32);
  }
  const message = new Uint8Array(66);
  message[0] = 0x19;
  message[1] = 0x01;
  message.set(domainSeparator(domain), 2);
  message.set(keccak256Bytes(struct), 34);
  return keccak256Hex(message);
}
