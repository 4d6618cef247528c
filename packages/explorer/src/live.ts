/**
 * Live updates: watches the chain for newly anchored or announced batches (polling the block number, then reading the
 * batch events of the new blocks) and hands each to the subscribers, which the server streams to pages as SSE.
 */
import type { BatchView } from "./api-types";
import type { ExplorerData } from "./data";

export type BatchListener = (batch: BatchView) => void;

export class BatchWatcher {
  private readonly listeners = new Set<BatchListener>();
  private timer: NodeJS.Timeout | undefined;
  private lastBlock: number | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly data: ExplorerData,
    private readonly intervalMs: number,
  ) {}

  /** The newest block looked at (undefined before the first look). */
  get latestBlock(): number | undefined {
    return this.lastBlock;
  }

  /** Starts watching from the current block (batches already anchored are not announced). */
  async start(): Promise<void> {
    const provider = this.data.client.proofs.runner?.provider;
    this.lastBlock = provider ? await provider.getBlockNumber() : 0;
    this.schedule();
  }

  subscribe(listener: BatchListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Looks for new batches now (and resolves when done). */
  poll(): Promise<void> {
    this.running ??= this.look().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.poll().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  private async look(): Promise<void> {
    const provider = this.data.client.proofs.runner?.provider;
    if (!provider) return;
    try {
      const latest = await provider.getBlockNumber();
      if (this.lastBlock !== undefined && latest <= this.lastBlock) return;
      const since = this.lastBlock ?? latest;
      const batches = await this.data.batches({ sinceBlock: since });
      this.lastBlock = latest;
      for (const batch of batches.reverse()) for (const listener of this.listeners) listener(batch);
    } catch {
      // The chain did not answer: the next look tries again.
    }
  }
}
