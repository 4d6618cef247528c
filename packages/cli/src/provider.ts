/**
 * The JSON-RPC provider of every `strata` command: `eth_getLogs` queries are split into the configured block range
 * and adapt when the RPC states a smaller limit (see `scanBlockRanges` in @strata/core). Every event scan goes through
 * it, also the ones that do not use the registry clients' scans (the verifier's search for a proof's batch).
 */
import {
  JsonRpcProvider,
  type FetchRequest,
  type Filter,
  type FilterByBlockHash,
  type JsonRpcApiProviderOptions,
  type Log,
  type Networkish,
} from "ethers";
import { BlockRange, scanBlockRanges, type LogRangeRefusal } from "@strata/core";

export class RangeAdaptiveProvider extends JsonRpcProvider {
  constructor(
    url: string | FetchRequest,
    /** Shared with the registry clients of the same command. */
    readonly blockRange: BlockRange,
    network?: Networkish,
    options?: JsonRpcApiProviderOptions,
    private readonly onNarrow?: (refusal: LogRangeRefusal, attempted: number, next: number) => void,
  ) {
    super(url, network, options);
  }

  override async getLogs(filter: Filter | FilterByBlockHash): Promise<Log[]> {
    if ("blockHash" in filter && filter.blockHash !== undefined) return super.getLogs(filter);
    const { fromBlock, toBlock } = filter as Filter;
    const from = await this.blockNumberOf(fromBlock);
    const to = toBlock === undefined || toBlock === "latest" ? "latest" : await this.blockNumberOf(toBlock);
    // A tag this provider does not split ("pending", "safe", "finalized"): ask as is.
    if (from === undefined || to === undefined) return super.getLogs(filter);
    return scanBlockRanges((a, b) => super.getLogs({ ...filter, fromBlock: a, toBlock: b }), {
      fromBlock: from,
      toBlock: to,
      blockRange: this.blockRange,
      latest: () => this.getBlockNumber(),
      onNarrow: this.onNarrow,
    });
  }

  private async blockNumberOf(tag: Filter["fromBlock"]): Promise<number | undefined> {
    if (typeof tag === "number") return tag;
    if (typeof tag === "bigint") return Number(tag);
    if (tag === "earliest") return 0;
    if (tag === undefined || tag === "latest") return this.getBlockNumber();
    if (/^0x[0-9a-f]+$/i.test(tag)) return Number.parseInt(tag, 16);
    return undefined;
  }
}
