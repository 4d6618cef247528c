import { mkdir, open, readFile, truncate, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ProofStruct } from "@strata/core";
import { JournalWriteError, NodeError } from "./errors";

/** The request journal holds a record it cannot apply (code `REQUEST_JOURNAL`): it was written by another program. */
export class RequestJournalError extends NodeError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(
      "REQUEST_JOURNAL",
      `the request journal ${path} ${reason}: move it aside to rescan from the deployment block`,
    );
  }
}

/** How many scan ends the journal remembers to find where a reorg began. */
export const CHECKPOINTS = 128;

/** A request the watcher saw confirmed, as its `InferenceRequested` event gives it. */
export interface SeenRequest {
  requestId: string;
  /** The request key's fields (the proof must carry the model fields and the input hash). */
  nonce: string;
  modelId: string;
  modelVersion: number;
  modelBlobId: string;
  modelSha256: string;
  inputHash: string;
  callbackGasLimit: number;
  /** The Walrus Blob ID of the input (bytes32 hex), or zero for an inline input. */
  inputBlobId: string;
  /** The inline input (`abi.encode(ProofDigest.Tensor[])` hex), or `0x`. */
  input: string;
  deadline: number;
  fee: string;
  block: number;
}

/** The arguments of one `fulfil` call, kept so that a restart re-sends the same fulfilment rather than re-running. */
export interface FulfilArgs {
  nonce: string;
  callbackGasLimit: number;
  proof: ProofStruct;
  output: string;
  signature: string;
  /** The proof's commitment. */
  commitment: string;
}

/** How a request ended for this node. */
export type RequestOutcome =
  /** Fulfilled by this node's transaction `hash`. */
  | "fulfilled"
  /** No longer pending on-chain (fulfilled by another node, refunded, expired, or gone in a reorg). */
  | "skipped"
  /** Refused for good (an input that does not match its hash, an output over the cap, a model mismatch). */
  | "refused";

/** One line of the request journal. */
export type RequestRecord =
  /** Blocks below `block` are scanned; `hash` is the hash of block `block - 1` when they were. */
  | { t: "cursor"; block: number; hash?: string }
  | { t: "seen"; request: SeenRequest }
  | { t: "fulfil"; requestId: string; args: FulfilArgs }
  | { t: "sent"; requestId: string; hash: string }
  | { t: "done"; requestId: string; outcome: RequestOutcome; reason?: string; hash?: string };

/** What the journal knows of one request. */
export interface RequestState {
  request: SeenRequest;
  /** The fulfilment journalled before it was sent. */
  args?: FulfilArgs;
  /** The hashes of the fulfilment transactions sent, oldest first. */
  sent: string[];
  done?: { outcome: RequestOutcome; reason?: string; hash?: string };
}

/**
 * The request watcher's journal: JSON lines appended to `requests.jsonl` and synced (fdatasync) before each append
 * returns. It holds the scan cursor, the requests seen, each fulfilment before it is sent, its transaction hashes and
 * each request's outcome; replayed on open. A torn last line (a crash mid-append) is cut off on open.
 */
export class RequestJournal {
  readonly states = new Map<string, RequestState>();
  /** The first block not scanned yet, or undefined before the first scan. */
  cursor: number | undefined;
  /** The last scans' ends (the newest last, at most {@link CHECKPOINTS}): a reorg shows as a hash that changed. */
  readonly checkpoints: { block: number; hash: string }[] = [];

  private constructor(
    readonly path: string,
    private file: FileHandle,
  ) {}

  static async open(dir: string): Promise<RequestJournal> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, "requests.jsonl");
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const end = text.lastIndexOf("\n") + 1;
    if (end < text.length) await truncate(path, Buffer.byteLength(text.slice(0, end)));
    const records: RequestRecord[] = [];
    for (const line of text.slice(0, end).split("\n")) {
      if (line.trim() === "") continue;
      try {
        records.push(JSON.parse(line) as RequestRecord);
      } catch {
        throw new RequestJournalError(path, `has a line that is not JSON (${line.slice(0, 80)})`);
      }
    }
    const journal = new RequestJournal(path, await open(path, "a"));
    try {
      for (const record of records) journal.apply(record);
    } catch (error) {
      await journal.close();
      throw error;
    }
    return journal;
  }

  /** Appends `record` and syncs it to disk, then applies it. */
  async append(record: RequestRecord): Promise<void> {
    try {
      await this.file.write(JSON.stringify(record) + "\n");
      await this.file.datasync();
    } catch (error) {
      throw new JournalWriteError(
        dirname(this.path),
        "append a request journal record",
        error as NodeJS.ErrnoException,
      );
    }
    this.apply(record);
  }

  private apply(record: RequestRecord): void {
    switch (record.t) {
      case "cursor":
        this.cursor = record.block;
        // A rewind (a lower cursor) drops the checkpoints at and above it.
        while ((this.checkpoints.at(-1)?.block ?? -1) >= record.block) this.checkpoints.pop();
        if (record.hash !== undefined) this.checkpoints.push({ block: record.block, hash: record.hash });
        if (this.checkpoints.length > CHECKPOINTS) this.checkpoints.shift();
        return;
      case "seen": {
        // Seen again after it was skipped (it vanished in a reorg and was mined again): it starts over.
        const known = this.states.get(record.request.requestId);
        if (!known || known.done?.outcome === "skipped") {
          this.states.set(record.request.requestId, { request: record.request, sent: [] });
        }
        return;
      }
      case "fulfil":
        this.state(record.requestId).args = record.args;
        return;
      case "sent":
        this.state(record.requestId).sent.push(record.hash);
        return;
      case "done": {
        const { outcome, reason, hash } = record;
        this.state(record.requestId).done = {
          outcome,
          ...(reason !== undefined ? { reason } : {}),
          ...(hash !== undefined ? { hash } : {}),
        };
        return;
      }
    }
  }

  private state(requestId: string): RequestState {
    const state = this.states.get(requestId);
    if (!state) throw new RequestJournalError(this.path, `has a record of request ${requestId} before it was seen`);
    return state;
  }

  /** The requests seen and not done, in the order they were seen. */
  open(): RequestState[] {
    return [...this.states.values()].filter((s) => !s.done);
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
