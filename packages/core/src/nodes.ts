import type { ContractRunner } from "ethers";
import { NodeRegistry__factory, type NodeRegistry } from "@strata/contracts";
import { toAddress } from "./ids";
import { Base, str, type ClientOptions, type Mined, type Transaction, type TxOverrides } from "./transaction";

/** A node operator as the registry stores it (all zero if it was never admitted). */
export interface NodeRecord {
  address: string;
  active: boolean;
  /** Unix seconds of the latest admission, 0 if never admitted. */
  admittedAt: number;
  /** Unix seconds of the latest removal, 0 if not removed since the latest admission. */
  removedAt: number;
}

/** One entry of a node's history, from the registry's events. */
export interface NodeEvent {
  kind: "admitted" | "removed" | "endpointUpdated";
  node: string;
  /** The endpoint, for `admitted` and `endpointUpdated`. */
  endpoint?: string;
  /** Unix seconds of the block. */
  timestamp: number;
  blockNumber: number;
  logIndex: number;
  txHash: string;
}

/**
 * A span in which a node was active: from its admission to its removal (`null`: still active). The chain orders it by
 * (block, log index): many blocks share a timestamp on L2s, so the timestamps are for people and for the proof's own
 * (node-clock) time, and {@link NodeRegistryClient.wasActiveAtLog} decides what happened first.
 */
export interface ActiveInterval {
  /** Unix seconds of the admission block (inclusive). */
  from: number;
  /** Unix seconds of the removal block (exclusive), or `null` while active. */
  to: number | null;
  admittedBlock: number;
  /** The log index of the `NodeAdmitted` event in its block. */
  admittedLogIndex: number;
  removedBlock: number | null;
  /** The log index of the `NodeRemoved` event in its block, or `null` while active. */
  removedLogIndex: number | null;
}

/** A position on the chain: a block and a log index in it (an event's place in the chain's order). */
export interface ChainPosition {
  blockNumber: number;
  logIndex: number;
}

/** Whether `a` comes before `b` in the chain's order. */
export function isBefore(a: ChainPosition, b: ChainPosition): boolean {
  return a.blockNumber < b.blockNumber || (a.blockNumber === b.blockNumber && a.logIndex < b.logIndex);
}

/**
 * Whether an event at `at` falls in one of `intervals`: after an admission and before the removal that closes it,
 * by (block, log index).
 */
export function activeAtPosition(intervals: readonly ActiveInterval[], at: ChainPosition): boolean {
  return intervals.some(
    (i) =>
      isBefore({ blockNumber: i.admittedBlock, logIndex: i.admittedLogIndex }, at) &&
      (i.removedBlock === null || isBefore(at, { blockNumber: i.removedBlock, logIndex: i.removedLogIndex ?? 0 })),
  );
}

/** The typed client of the NodeRegistry. */
export class NodeRegistryClient extends Base<NodeRegistry> {
  constructor(contract: NodeRegistry, options: ClientOptions = {}) {
    super(contract, "NodeRegistry", options);
  }

  /** The client of the NodeRegistry at `address`, through `runner`. */
  static at(address: string, runner: ContractRunner, options?: ClientOptions): NodeRegistryClient {
    return new NodeRegistryClient(NodeRegistry__factory.connect(address, runner), options);
  }

  /** The same client through another runner. */
  connect(runner: ContractRunner): NodeRegistryClient {
    return new NodeRegistryClient(this.contract.connect(runner), this.options);
  }

  // Writes ------------------------------------------------------------------------------------------------------------

  /** Admits `node`, serving at `endpoint`, and lets it anchor proofs. Only the node admin role. */
  async admitNode(
    node: string,
    endpoint: string,
    overrides: TxOverrides = {},
  ): Promise<Transaction<Mined & { node: string; endpoint: string }>> {
    const address = toAddress(node, "node");
    return this.send(
      "admitNode",
      () => this.contract.admitNode(address, endpoint, overrides),
      async (receipt) => {
        const { args, mined } = await this.receiptEvent(receipt, "NodeAdmitted");
        return { ...mined, node: str(args, "node"), endpoint: str(args, "endpoint") };
      },
    );
  }

  /** Removes `node` and stops it anchoring. Only the node admin role. */
  async removeNode(node: string, overrides: TxOverrides = {}): Promise<Transaction<Mined & { node: string }>> {
    const address = toAddress(node, "node");
    return this.send(
      "removeNode",
      () => this.contract.removeNode(address, overrides),
      async (receipt) => {
        const { args, mined } = await this.receiptEvent(receipt, "NodeRemoved");
        return { ...mined, node: str(args, "node") };
      },
    );
  }

  /** Moves the sending node to `endpoint`. Only an active node, for itself. */
  async updateEndpoint(
    endpoint: string,
    overrides: TxOverrides = {},
  ): Promise<Transaction<Mined & { node: string; endpoint: string }>> {
    return this.send(
      "updateEndpoint",
      () => this.contract.updateEndpoint(endpoint, overrides),
      async (receipt) => {
        const { args, mined } = await this.receiptEvent(receipt, "NodeEndpointUpdated");
        return { ...mined, node: str(args, "node"), endpoint: str(args, "endpoint") };
      },
    );
  }

  // Reads -------------------------------------------------------------------------------------------------------------

  /** The registry's `version()`: the semantic version of its interface and behaviour, to tell deployments apart. */
  async version(): Promise<string> {
    return this.call("version", () => this.contract.version());
  }

  /** Whether `node` is active now. */
  async isActive(node: string): Promise<boolean> {
    const address = toAddress(node, "node");
    return this.call("isActive", () => this.contract.isActive(address));
  }

  /** The record of `node` (all zero if it was never admitted). */
  async getNode(node: string): Promise<NodeRecord> {
    const address = toAddress(node, "node");
    const record = await this.call("getNode", () => this.contract.getNode(address));
    return {
      address,
      active: record.active,
      admittedAt: Number(record.admittedAt),
      removedAt: Number(record.removedAt),
    };
  }

  /** The proof registry this registry controls, or `null` before wiring. */
  async proofRegistry(): Promise<string | null> {
    const address = await this.call("proofRegistry", () => this.contract.proofRegistry());
    return /^0x0{40}$/.test(address) ? null : address;
  }

  /** Whether `account` holds the node admin role (may admit and remove nodes). */
  async isNodeAdmin(account: string): Promise<boolean> {
    const address = toAddress(account, "account");
    const role = await this.call("NODE_ADMIN_ROLE", () => this.contract.NODE_ADMIN_ROLE());
    return this.call("hasRole", () => this.contract.hasRole(role, address));
  }

  /** The admissions, removals and endpoint moves of `node`, oldest first, with block timestamps. */
  async history(node: string): Promise<NodeEvent[]> {
    const address = toAddress(node, "node");
    const { filters } = this.contract;
    const [admitted, removed, moved] = await Promise.all([
      this.scan((from, to) => this.contract.queryFilter(filters.NodeAdmitted(address), from, to)),
      this.scan((from, to) => this.contract.queryFilter(filters.NodeRemoved(address), from, to)),
      this.scan((from, to) => this.contract.queryFilter(filters.NodeEndpointUpdated(address), from, to)),
    ]);
    const events = [
      ...admitted.map((log) => ({ log, kind: "admitted" as const, endpoint: log.args.endpoint })),
      ...removed.map((log) => ({ log, kind: "removed" as const, endpoint: undefined })),
      ...moved.map((log) => ({ log, kind: "endpointUpdated" as const, endpoint: log.args.endpoint })),
    ].sort((a, b) => a.log.blockNumber - b.log.blockNumber || a.log.index - b.log.index);
    return Promise.all(
      events.map(async ({ log, kind, endpoint }) => ({
        kind,
        node: address,
        ...(endpoint === undefined ? {} : { endpoint }),
        timestamp: await this.blockTimestamp(log.blockNumber),
        blockNumber: log.blockNumber,
        logIndex: log.index,
        txHash: log.transactionHash,
      })),
    );
  }

  /** The endpoint `node` serves at (its latest admission or move), or `null` if it was never admitted. */
  async endpoint(node: string): Promise<string | null> {
    const withEndpoint = (await this.history(node)).filter((e) => e.endpoint !== undefined);
    return withEndpoint.length === 0 ? null : withEndpoint[withEndpoint.length - 1].endpoint!;
  }

  /** The spans in which `node` was active, oldest first, from its admission and removal events. */
  async activeIntervals(node: string): Promise<ActiveInterval[]> {
    const intervals: ActiveInterval[] = [];
    for (const event of await this.history(node)) {
      const open = intervals.length > 0 && intervals[intervals.length - 1].to === null;
      if (event.kind === "admitted" && !open) {
        intervals.push({
          from: event.timestamp,
          to: null,
          admittedBlock: event.blockNumber,
          admittedLogIndex: event.logIndex,
          removedBlock: null,
          removedLogIndex: null,
        });
      } else if (event.kind === "removed" && open) {
        const last = intervals[intervals.length - 1];
        last.to = event.timestamp;
        last.removedBlock = event.blockNumber;
        last.removedLogIndex = event.logIndex;
      }
    }
    return intervals;
  }

  /**
   * Whether `node` was active at the chain position `at` (an event's block and log index, e.g. its anchoring): admitted
   * before it and not removed before it, in the chain's (block, log index) order. Use this for anything that happened
   * on the chain; timestamps cannot order blocks that share one.
   */
  async wasActiveAtLog(node: string, at: ChainPosition): Promise<boolean> {
    return activeAtPosition(await this.activeIntervals(node), at);
  }

  /**
   * Whether `node` was active at `timestamp` (unix seconds): admitted at or before it and not removed at or before it.
   * A node is active from its admission block's timestamp up to, not including, its removal block's timestamp. For an
   * off-chain time (a proof's own timestamp); for an on-chain event use {@link wasActiveAtLog}.
   */
  async wasActiveAt(node: string, timestamp: number): Promise<boolean> {
    return (await this.activeIntervals(node)).some(
      (interval) => interval.from <= timestamp && (interval.to === null || timestamp < interval.to),
    );
  }
}
