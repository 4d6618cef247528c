import {
  isCallException,
  type BaseContract,
  type ContractRunner,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  type Log,
  type Provider,
  type Signer,
  type TransactionRequest,
} from "ethers";
import {
  ContractRevertError,
  decodeRevertData,
  rethrowDecoded,
  revertDataOf,
  StrataError,
  TransactionError,
  type RevertContext,
} from "./errors";
import { Memo } from "./memo";
import { BlockRange, scanBlockRanges, toInsufficientFundsError, type LogRangeRefusal } from "./rpc";

/** Where and at what cost a transaction was mined. */
export interface Mined {
  blockNumber: number;
  txHash: string;
  gasUsed: bigint;
}

/** Transaction overrides a write accepts (gas limit, fees, nonce, ...). */
export type TxOverrides = Omit<TransactionRequest, "to" | "data" | "value" | "blockTag" | "enableCcipRead">;

/** Options shared by the registry clients. */
export interface ClientOptions {
  /** The first block of event scans: the deployment block (`Deployment.block`). Default 0. */
  fromBlock?: number;
  /**
   * Split event scans into ranges of at most this many blocks, for RPCs that cap `eth_getLogs`. Default: one query per
   * scan until the RPC refuses one; scans then narrow to the limit the RPC states (or halve) on their own.
   */
  maxBlockRange?: number;
  /**
   * The learned block range, shared by clients of the same RPC (`StrataClient.connect` shares one between its three
   * clients). Default: a new one of `maxBlockRange` blocks.
   */
  blockRange?: BlockRange;
  /** Called when an RPC refuses a range and the scans narrow (to log it). */
  onBlockRangeNarrowed?: (refusal: LogRangeRefusal, attempted: number, next: number) => void;
}

/**
 * A sent transaction whose {@link Transaction.wait} turns the receipt into a domain value (the new model id, the version
 * index, the anchored batch, ...). A revert, at sending or once mined, becomes a {@link ContractRevertError}.
 */
export class Transaction<T> {
  /** The receipt, once {@link Transaction.wait} has returned. */
  receipt: ContractTransactionReceipt | undefined;

  constructor(
    readonly response: ContractTransactionResponse,
    private readonly finish: (receipt: ContractTransactionReceipt) => T | Promise<T>,
    private readonly context: RevertContext,
  ) {}

  /** The transaction hash. */
  get hash(): string {
    return this.response.hash;
  }

  /** Waits for `confirmations` blocks (default 1) and returns the domain value read from the receipt. */
  async wait(confirmations = 1): Promise<T> {
    let receipt: ContractTransactionReceipt | null;
    try {
      receipt = await this.response.wait(Math.max(1, confirmations));
    } catch (error) {
      if (isCallException(error) && error.receipt)
        throw await this.explainMinedRevert(error.receipt.blockNumber, error);
      rethrowDecoded(error, this.context);
    }
    if (!receipt) throw new TransactionError(this.hash, `Transaction ${this.hash} was not mined`);
    this.receipt = receipt;
    return this.finish(receipt);
  }

  /**
   * A mined transaction reverted (status 0): receipts carry no revert data, so replay the call on the state before its
   * block to learn the error. The replay is only as good as that state: the note in the message says so.
   */
  private async explainMinedRevert(blockNumber: number, cause: unknown): Promise<ContractRevertError> {
    const { response } = this;
    const provider = response.provider;
    const note = `mined in block ${blockNumber} with status 0; error found by replaying the call on block ${blockNumber - 1}`;
    try {
      await provider.call({
        from: response.from,
        to: response.to,
        data: response.data,
        value: response.value,
        blockTag: blockNumber - 1,
      });
    } catch (replayError) {
      const data = revertDataOf(replayError);
      if (data !== undefined) return decodeRevertData(data, this.context, { cause, note });
    }
    return decodeRevertData("0x", this.context, {
      cause,
      note:
        `mined in block ${blockNumber} with status 0, but a replay on block ${blockNumber - 1} succeeds: it likely ` +
        "ran out of gas or depended on an earlier transaction of the same block",
    });
  }
}

/**
 * The base of the registry clients (the EAS SDK's `Base<C>` shape): a typechain contract, revert decoding for calls and
 * transactions, receipt event parsing and chunked event scans.
 */
export abstract class Base<C extends BaseContract> {
  protected constructor(
    readonly contract: C,
    /** The contract name, for error messages and decoding. */
    readonly contractName: string,
    readonly options: ClientOptions = {},
  ) {
    this.blockRange = options.blockRange ?? new BlockRange(options.maxBlockRange);
  }

  /** The block range of this client's event scans (narrowed when the RPC refuses a range). */
  readonly blockRange: BlockRange;

  /** The contract address. */
  getAddress(): Promise<string> {
    return this.contract.getAddress();
  }

  /** The runner the client reads and writes with. */
  get runner(): ContractRunner | null {
    return this.contract.runner;
  }

  /** The chain id of the connected provider. */
  async getChainId(): Promise<bigint> {
    return (await this.provider().getNetwork()).chainId;
  }

  protected provider(): Provider {
    const provider = this.contract.runner?.provider;
    if (!provider) {
      throw new StrataError(
        "INVALID_ARGUMENT",
        `The ${this.contractName} client has no provider: connect it to a provider or a signer with one`,
      );
    }
    return provider;
  }

  /** Runs a view call, turning a revert into a {@link ContractRevertError}. */
  protected async call<T>(method: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      rethrowDecoded(error, { contract: this.contractName, method });
    }
  }

  /** Sends a transaction, turning a revert at sending into a {@link ContractRevertError}. */
  protected async send<T>(
    method: string,
    run: () => Promise<ContractTransactionResponse>,
    finish: (receipt: ContractTransactionReceipt) => T | Promise<T>,
  ): Promise<Transaction<T>> {
    const context = { contract: this.contractName, method };
    let response: ContractTransactionResponse;
    try {
      response = await run();
    } catch (error) {
      const runner = this.contract.runner as Partial<Signer> | null;
      const funds = await toInsufficientFundsError(error, {
        action: `${this.contractName}.${method}`,
        from: runner?.getAddress ? await runner.getAddress().catch(() => null) : null,
        provider: runner?.provider ?? null,
      });
      if (funds) throw funds;
      rethrowDecoded(error, context);
    }
    return new Transaction(response, finish, context);
  }

  /**
   * The arguments (by name) of every `eventName` event this contract emitted in `receipt`. Throws
   * {@link TransactionError} when there is none: the receipt cannot give the domain value.
   */
  protected async receiptEvents(
    receipt: ContractTransactionReceipt,
    eventName: string,
  ): Promise<Record<string, unknown>[]> {
    const address = (await this.getAddress()).toLowerCase();
    const found = receipt.logs
      .filter((log: Log) => log.address.toLowerCase() === address)
      .map((log) => this.contract.interface.parseLog(log))
      .filter((parsed) => parsed?.name === eventName)
      .map((parsed) => parsed!.args.toObject() as Record<string, unknown>);
    if (found.length === 0) {
      throw new TransactionError(
        receipt.hash,
        `Transaction ${receipt.hash} emitted no ${this.contractName}.${eventName} event: is ${address} the ` +
          `${this.contractName} the client expects?`,
      );
    }
    return found;
  }

  /** The arguments of the first `eventName` event in `receipt`, with the mining facts. */
  protected async receiptEvent(
    receipt: ContractTransactionReceipt,
    eventName: string,
  ): Promise<{ args: Record<string, unknown>; mined: Mined }> {
    const [args] = await this.receiptEvents(receipt, eventName);
    return { args, mined: minedOf(receipt) };
  }

  /**
   * Runs an event query over [fromBlock, latest] (in ranges of {@link blockRange} blocks when it has a size). A range
   * the RPC refuses ("block range too wide", "more than 10000 results", ...) is asked again in smaller ranges: the
   * limit the RPC states, else half (see `scanBlockRanges`).
   */
  protected async scan<L>(query: (fromBlock: number, toBlock: number | "latest") => Promise<L[]>): Promise<L[]> {
    return scanBlockRanges(query, {
      fromBlock: this.options.fromBlock ?? 0,
      blockRange: this.blockRange,
      latest: () => this.provider().getBlockNumber(),
      onNarrow: this.options.onBlockRangeNarrowed,
    });
  }

  /** The timestamp of block `blockNumber`, cached per client. */
  protected async blockTimestamp(blockNumber: number): Promise<number> {
    return this.timestamps.get(blockNumber);
  }

  private readonly timestamps = new Memo((blockNumber: number) =>
    this.provider()
      .getBlock(blockNumber)
      .then((block) => {
        if (!block) throw new StrataError("TRANSACTION_FAILED", `Block ${blockNumber} is not available`);
        return block.timestamp;
      }),
  );
}

/** The mining facts of `receipt`. */
export function minedOf(receipt: ContractTransactionReceipt): Mined {
  return { blockNumber: receipt.blockNumber, txHash: receipt.hash, gasUsed: receipt.gasUsed };
}

/** Reads an event or struct field that must be a string (an address, bytes32 hex or text). */
export function str(args: Record<string, unknown>, key: string): string {
  const value = args[key];
  if (typeof value !== "string") throw new TypeError(`Expected ${key} to be a string, got ${typeof value}`);
  return value;
}

/** Reads an event field that must be an integer (uint), as a number. */
export function num(args: Record<string, unknown>, key: string): number {
  return Number(big(args, key));
}

/** Reads an event field that must be an integer (uint), as a bigint. */
export function big(args: Record<string, unknown>, key: string): bigint {
  const value = args[key];
  if (typeof value !== "bigint") throw new TypeError(`Expected ${key} to be an integer, got ${typeof value}`);
  return value;
}
