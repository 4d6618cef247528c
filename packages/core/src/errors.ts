import { ErrorDescription, Interface, isCallException, isHexString } from "ethers";
import { StrataError } from "@strata/errors";
import { ModelRegistry__factory, NodeRegistry__factory, ProofRegistry__factory } from "@strata/contracts";

/** The stable machine-readable code of every error `@strata/core` throws. */
export type StrataErrorCode =
  | "INVALID_ARGUMENT"
  | "CONTRACT_REVERT"
  | "TRANSACTION_FAILED"
  | "UNKNOWN_MODEL"
  | "UNKNOWN_VERSION"
  | "NO_ACTIVE_VERSION"
  | "PROOF_FORMAT"
  | "UNSUPPORTED_VERSION"
  | "TENSOR"
  | "SIGNATURE"
  | "BATCH_FORMAT"
  | "NOT_IN_BATCH"
  | "LOG_RANGE"
  | "INSUFFICIENT_FUNDS"
  | "INVALID_BLOB_ID"
  | "METADATA_FORMAT"
  | "PRIVATE_DATA";

/**
 * The root of every error of every Strata package (defined once, in `@strata/errors`); every error `@strata/core`
 * throws is one, with a {@link StrataErrorCode}. Catch it, then switch on `code`.
 */
export { StrataError, isStrataError, type StrataErrorOptions } from "@strata/errors";

/** An argument is malformed (not a bytes32 hex, not an address, not a model reference, ...). */
export class InvalidArgumentError extends StrataError {
  constructor(
    readonly argument: string,
    readonly value: unknown,
    reason: string,
  ) {
    super("INVALID_ARGUMENT", `Invalid ${argument} ${describe(value)}: ${reason}`);
  }
}

/** Where a revert happened: the contract the client talked to and the method it called. */
export interface RevertContext {
  contract: string;
  method: string;
}

/**
 * A registry call or transaction reverted. The revert data is decoded against the typechain interfaces of the three
 * registries (a registry may bubble up another's error, as the node registry does with the proof registry's), plus
 * the built-in `Error(string)` and `Panic(uint256)`.
 */
export class ContractRevertError extends StrataError {
  /** The contract whose ABI declares the error (`null` when no ABI knows the selector or there is no data). */
  readonly declaredBy: string | null;
  /** The decoded error name, e.g. `ModelRegistryDuplicateBlobId`; `null` when it could not be decoded. */
  readonly errorName: string | null;
  /** The full error signature, e.g. `ModelRegistryDuplicateBlobId(bytes32,bytes32,uint32)`. */
  readonly signature: string | null;
  /** The decoded arguments, in order. */
  readonly args: readonly unknown[];
  /** The decoded arguments by parameter name. */
  readonly namedArgs: Readonly<Record<string, unknown>>;
  /** What the caller can do about it. */
  readonly hint: string;

  constructor(
    readonly context: RevertContext,
    /** The raw revert data (`0x` when the revert carried none). */
    readonly data: string,
    decoded: { declaredBy: string; description: ErrorDescription } | null,
    options: { cause?: unknown; note?: string } = {},
  ) {
    const where = `${context.contract}.${context.method}`;
    let message: string;
    let hint: string;
    let named: Record<string, unknown> = {};
    if (decoded) {
      const { description } = decoded;
      named = namedArgsOf(description);
      const values = description.fragment.inputs
        .map((input, i) => `${input.name || `arg${i}`}: ${formatValue(description.args[i])}`)
        .join(", ");
      hint = hintFor(description.name, named);
      message = `${where} reverted with ${description.name}(${values}): ${hint}`;
    } else if (data === "0x") {
      hint = "the call reverted without a reason (out of gas, a failed require without message, or not a contract)";
      message = `${where} reverted without revert data: ${hint}`;
    } else {
      hint = "upgrade @strata/contracts and @strata/core to the version of the deployed registries";
      message = `${where} reverted with the unknown error selector ${data.slice(0, 10)} (data ${data}): ${hint}`;
    }
    if (options.note) message += ` (${options.note})`;
    super("CONTRACT_REVERT", message, { cause: options.cause });
    this.declaredBy = decoded?.declaredBy ?? null;
    this.errorName = decoded?.description.name ?? null;
    this.signature = decoded?.description.signature ?? null;
    this.args = decoded ? [...decoded.description.args] : [];
    this.namedArgs = Object.freeze(named);
    this.hint = hint;
  }
}

/** A transaction was sent but could not be confirmed, or its receipt lacks the event the client reads. */
export class TransactionError extends StrataError {
  constructor(
    readonly txHash: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("TRANSACTION_FAILED", message, options);
  }
}

/** No model has this id (or reference). */
export class UnknownModelError extends StrataError {
  constructor(
    readonly modelId: string,
    readonly ref: string = modelId,
    options?: { cause?: unknown },
  ) {
    super(
      "UNKNOWN_MODEL",
      `No model ${ref === modelId ? modelId : `${ref} (id ${modelId})`} in the model registry: ` +
        "check the reference (a model id, creator/name, or a name with the default creator) and the network",
      options,
    );
  }
}

/** The model has no such version (by index or by Blob ID). */
export class UnknownVersionError extends StrataError {
  constructor(
    readonly modelId: string,
    readonly version: { index: number; count: number } | { blobId: string },
    options?: { cause?: unknown },
  ) {
    const what =
      "index" in version
        ? `version ${version.index} (it has ${version.count} version${version.count === 1 ? "" : "s"})`
        : `a version with Blob ID ${version.blobId}`;
    super("UNKNOWN_VERSION", `Model ${modelId} has no ${what}: list its versions and pick one`, options);
  }
}

/** Every version of the model is deprecated, or it has none. */
export class NoActiveVersionError extends StrataError {
  constructor(
    readonly modelId: string,
    options?: { cause?: unknown },
  ) {
    super(
      "NO_ACTIVE_VERSION",
      `Model ${modelId} has no active version (none published, or all deprecated): publish one or name a version`,
      options,
    );
  }
}

/** An inference proof document is malformed or inconsistent; `field` is the JSON path of the offending value. */
export class ProofFormatError extends StrataError {
  constructor(
    readonly field: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super("PROOF_FORMAT", `Invalid proof: ${field} ${reason}`, options);
  }
}

/**
 * Tensors given (or opened from an envelope) for a private proof are not the ones it commits to: a tensor is missing,
 * extra, or its name, dtype, dims or bytes hash to another value than the committed hash. Raised before anything is
 * re-executed. `set` is "input" or "output", `tensor` the tensor's name; no message holds tensor data.
 */
export class PrivateDataError extends StrataError {
  constructor(
    readonly set: "input" | "output",
    readonly tensor: string,
    reason: string,
  ) {
    super("PRIVATE_DATA", `The ${set} tensor ${JSON.stringify(tensor)} does not match the proof: ${reason}`);
  }
}

/** A proof or batch document declares a format version this library does not know. */
export class UnsupportedVersionError extends StrataError {
  constructor(
    readonly kind: "proof" | "batch",
    readonly version: unknown,
    readonly supported: readonly number[],
  ) {
    super(
      "UNSUPPORTED_VERSION",
      `Unsupported ${kind} format version ${describe(version)}: this @strata/core reads version ` +
        `${supported.join(", ")}; upgrade @strata/core to read newer ${kind}s`,
    );
  }
}

/** A tensor's dtype, dims and data disagree, or its data is not valid base64. */
export class TensorError extends StrataError {
  constructor(
    readonly tensor: string,
    reason: string,
  ) {
    super("TENSOR", `Tensor "${tensor}": ${reason}`);
  }
}

/** A proof signature is missing, malformed, or not by the proof's node. */
export class SignatureError extends StrataError {
  constructor(
    message: string,
    readonly expected: string | null = null,
    readonly recovered: string | null = null,
    options?: { cause?: unknown },
  ) {
    super("SIGNATURE", message, options);
  }
}

/**
 * A proof signature that is not in the one canonical form Strata accepts: 65 bytes `r || s || v` with
 * `1 <= r < n`, `1 <= s <= n/2` (low s) and `v` 27 or 28. Any other encoding of a valid signature (the high-s twin,
 * v 0/1 or an EIP-155 v) recovers the same signer, so accepting it would let anyone change a proof's bytes, and so its
 * Blob ID, without changing its commitment. `part` is what is wrong, `value` its value as found.
 */
export class NonCanonicalSignatureError extends SignatureError {
  constructor(
    readonly part: "length" | "r" | "s" | "v",
    readonly value: string,
    reason: string,
  ) {
    super(`The proof signature is not canonical: ${reason}`);
  }
}

/** A proof batch document is malformed or its tree does not match its proofs; `field` is the JSON path. */
export class BatchFormatError extends StrataError {
  constructor(
    readonly field: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super("BATCH_FORMAT", `Invalid proof batch: ${field} ${reason}`, options);
  }
}

/** The commitment is not one of the batch's proofs. */
export class NotInBatchError extends StrataError {
  constructor(
    readonly commitment: string,
    readonly root: string,
  ) {
    super("NOT_IN_BATCH", `Proof ${commitment} is not in the batch ${root}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Revert decoding

/** The typechain interfaces the decoder knows, in the order it tries them. */
const REGISTRY_INTERFACES: readonly { name: string; iface: Interface }[] = [
  { name: "ModelRegistry", iface: ModelRegistry__factory.createInterface() },
  { name: "NodeRegistry", iface: NodeRegistry__factory.createInterface() },
  { name: "ProofRegistry", iface: ProofRegistry__factory.createInterface() },
];

/**
 * The revert data carried by `error`, or `undefined` when `error` is not a revert. Understands ethers v6
 * `CALL_EXCEPTION` errors (`error.data`), Hardhat's in-process errors (`SolidityError` with `data`) and JSON-RPC errors
 * nested in `error.error` / `error.info.error` / `error.cause`.
 */
export function revertDataOf(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; isRecord(current) && depth < 5; depth++) {
    const data = current.data;
    const message = typeof current.message === "string" ? current.message : "";
    const isRevert = isCallException(current) || /revert/i.test(message);
    if (isRevert && typeof data === "string" && isHexString(data) && (data.length === 2 || data.length >= 10)) {
      return data;
    }
    if (isCallException(current) && (data === null || data === undefined || data === "")) {
      // ethers: a revert without data, unless a nested JSON-RPC error below carries it.
      const nested = revertDataOf(current.info ?? current.error);
      return nested ?? "0x";
    }
    const info = current.info;
    current = current.error ?? (isRecord(info) ? info.error : undefined) ?? current.cause;
  }
  return undefined;
}

/**
 * Decodes revert `data` into a {@link ContractRevertError}, trying the interface of `context.contract` first, then the
 * other registries'. Unknown selectors and empty data still give a `ContractRevertError` (with `errorName` null).
 */
export function decodeRevertData(
  data: string,
  context: RevertContext,
  options: { cause?: unknown; note?: string } = {},
): ContractRevertError {
  const ordered = [...REGISTRY_INTERFACES].sort(
    (a, b) => Number(b.name === context.contract) - Number(a.name === context.contract),
  );
  if (data.length >= 10) {
    for (const { name, iface } of ordered) {
      let description: ErrorDescription | null;
      try {
        description = iface.parseError(data);
      } catch (error) {
        // The selector matched but the arguments do not decode: report it rather than guess.
        return new ContractRevertError(context, data, null, {
          cause: error,
          note: `the data matches a ${name} error selector but its arguments do not decode`,
        });
      }
      if (description) {
        const builtin = description.name === "Error" || description.name === "Panic";
        return new ContractRevertError(
          context,
          data,
          { declaredBy: builtin ? "Solidity" : name, description },
          options,
        );
      }
    }
  }
  return new ContractRevertError(context, data, null, options);
}

/**
 * Turns `error` into a {@link ContractRevertError} when it is a revert (ethers `CALL_EXCEPTION` or a node's revert error
 * with data); returns `undefined` for anything else (network errors, bad arguments, ...), which callers rethrow as is.
 */
export function toContractRevertError(error: unknown, context: RevertContext): ContractRevertError | undefined {
  if (error instanceof ContractRevertError) return error;
  const data = revertDataOf(error);
  return data === undefined ? undefined : decodeRevertData(data, context, { cause: error });
}

/** Throws the decoded {@link ContractRevertError} for a revert, and `error` itself otherwise. Never swallows. */
export function rethrowDecoded(error: unknown, context: RevertContext): never {
  throw toContractRevertError(error, context) ?? error;
}

// ---------------------------------------------------------------------------------------------------------------------
// What to do about each registry error

type Hint = (a: Readonly<Record<string, unknown>>) => string;

/**
 * One line of advice per custom error of the registries (a test checks that every error in their ABIs has one).
 * Keyed by error name; the argument is the decoded arguments by name.
 */
export const REVERT_HINTS: Readonly<Record<string, Hint>> = {
  // ModelRegistry
  ModelRegistryEmptyName: () => "give the model a non-empty name",
  ModelRegistryNameTooLong: (a) => `shorten the model name to at most ${fmt(a.maxLength)} bytes (UTF-8)`,
  ModelRegistryZeroBlobId: () => "pass the Walrus Blob ID of the uploaded blob; zero is never a valid Blob ID",
  ModelRegistryZeroSha256: () => "pass the sha256 of the model file bytes",
  ModelRegistryZeroSize: () => "pass the model file size in bytes; an empty file is not a model",
  ModelRegistryZeroEndEpoch: () => "pass the Walrus epoch at which the blob's storage ends (from the upload result)",
  ModelRegistryModelExists: (a) =>
    `${fmt(a.creator)} already created a model with this name; publish a new version of ${fmt(a.modelId)} instead`,
  ModelRegistryUnknownModel: () => "create the model first, or check the model id and the network",
  ModelRegistryUnauthorizedAccount: (a) =>
    `${fmt(a.account)} does not own the model; send from the owner's account (see getModel)`,
  ModelRegistryNotPendingOwner: (a) =>
    `${fmt(a.account)} has no pending offer for this model; the owner must call transferModel to it first`,
  ModelRegistryDuplicateBlobId: (a) =>
    `this Blob ID is already version ${fmt(a.index)} of the model; publish a different file, or use that version`,
  ModelRegistryUnknownVersion: (a) =>
    `the model has ${fmt(a.count)} version(s); use an index below ${fmt(a.count)} (the first is 0)`,
  ModelRegistryUnknownBlobId: () => "no version of this model has that Blob ID; check the Blob ID or publish it",
  ModelRegistryVersionDeprecated: (a) => `version ${fmt(a.index)} is already deprecated; nothing to do`,
  ModelRegistryEndEpochNotExtended: (a) =>
    `the new end epoch must be later than the current one (${fmt(a.current)}); extend the blob on Walrus first`,
  ModelRegistryNoActiveVersion: () => "publish a version, or name a deprecated one by index",
  // NodeRegistry
  NodeRegistryZeroAddress: () => "pass a non-zero node address",
  NodeRegistryAlreadyActive: (a) => `${fmt(a.node)} is already an active node; use updateEndpoint to move it`,
  NodeRegistryNotActive: (a) => `${fmt(a.node)} is not an active node; an admin must admit it first`,
  NodeRegistryEmptyEndpoint: () => "give the node's HTTP endpoint URL",
  NodeRegistryEndpointTooLong: (a) => `shorten the endpoint to at most ${fmt(a.maxLength)} bytes`,
  NodeRegistryNotWired: () => "the default admin must call wireProofRegistry before nodes can be admitted",
  NodeRegistryAlreadyWired: (a) => `the node registry is already wired to ${fmt(a.proofRegistry)}`,
  NodeRegistryWrongProofRegistry: (a) =>
    `that proof registry names ${fmt(a.nodeRegistry)} as its node registry; deploy one that names this registry`,
  AccessControlUnauthorizedAccount: (a) =>
    `${fmt(a.account)} lacks the role ${fmt(a.neededRole)}; send from an admin account or have an admin grant it`,
  AccessControlBadConfirmation: () => "renounceRole must be called by the account itself, naming itself",
  AccessControlEnforcedDefaultAdminRules: () =>
    "the default admin role changes hands only in two steps: beginDefaultAdminTransfer, then acceptDefaultAdminTransfer",
  AccessControlEnforcedDefaultAdminDelay: (a) =>
    `the transfer (or renouncing) is scheduled: wait until ${fmt(a.schedule)} (unix seconds), then send it again`,
  AccessControlInvalidDefaultAdmin: (a) =>
    `${fmt(a.defaultAdmin)} is not the pending default admin: only the account named by beginDefaultAdminTransfer ` +
    "accepts, and the admin is never zero",
  SafeCastOverflowedUintDowncast: (a) => `a value does not fit in ${fmt(a.bits)} bits: choose a shorter admin delay`,
  // ProofRegistry
  ProofRegistryUnauthorizedAccount: (a) =>
    `${fmt(a.account)} is not the node registry; admit or remove nodes through the node registry`,
  ProofRegistryNotActiveNode: (a) =>
    `${fmt(a.node)} is not an active node; anchor from an admitted node's account (see NodeRegistry.isActive)`,
  ProofRegistryZeroNodeRegistry: () => "deploy the proof registry with the node registry's address",
  ProofRegistryZeroCommitment: () => "pass a non-zero proof commitment or batch root",
  ProofRegistryZeroBlobId: () => "pass the Walrus Blob ID of the uploaded proof or batch blob",
  ProofRegistryEmptyBatch: () => "a batch holds at least one proof; pass its proof count",
  ProofRegistryNoQuilts: () =>
    "pass the Blob ID of every quilt of the batch (for a batch in one blob, use anchorBatch)",
  ProofRegistryZeroQuiltId: (a) =>
    `the quilt at position ${fmt(a.index)} has a zero Blob ID; pass the Walrus Blob ID of every stored quilt`,
  ProofRegistryTooManyQuilts: (a) =>
    `${fmt(a.quilts)} quilts for ${fmt(a.count)} proofs: each quilt holds at least one proof; check the count`,
  ProofRegistryAlreadyAnchored: (a) =>
    `it was already anchored by ${fmt(a.node)} at ${fmt(a.anchoredAt)}; nothing to do (anchors are write-once)`,
  ProofRegistryZeroEndEpoch: () =>
    "pass the Walrus epoch at which the storage ends (the store answer's endEpoch; for several blobs, the earliest)",
  ProofRegistryNotAnchored: (a) =>
    `${fmt(a.node)} did not anchor ${fmt(a.commitment)}: only the node that anchored it records its renewal (for a ` +
    "batch it only announced, use announceBatchesExtended)",
  ProofRegistryEndEpochNotExtended: (a) =>
    `the new end epoch ${fmt(a.requested)} must be later than the recorded ${fmt(a.current)}; extend the blob on ` +
    "Walrus first, then record its new end epoch",
  ProofRegistryNothingToExtend: () => "pass at least one proof commitment or batch root to extend",
  // Solidity built-ins
  Error: (a) => `the contract reverted with the reason ${JSON.stringify(a.message)}`,
  Panic: (a) => `the contract panicked with code ${fmt(a.code)} (an assertion, overflow or bad index: a contract bug)`,
};

function hintFor(name: string, args: Readonly<Record<string, unknown>>): string {
  const hint = REVERT_HINTS[name];
  return hint ? hint(args) : "see the contract's NatSpec for this error";
}

function namedArgsOf(description: ErrorDescription): Record<string, unknown> {
  const named: Record<string, unknown> = {};
  description.fragment.inputs.forEach((input, i) => {
    // The built-ins have unnamed parameters; name them after what they carry.
    const name = input.name || (description.name === "Error" ? "message" : description.name === "Panic" ? "code" : "");
    named[name || `arg${i}`] = description.args[i];
  });
  return named;
}

function formatValue(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return isHexString(value) ? value : JSON.stringify(value);
  return String(value);
}

const fmt = formatValue;

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === "bigint") return `${value}n`;
  return String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
