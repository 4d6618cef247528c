import {
  AbstractSigner,
  type Provider,
  type Signer,
  type TransactionRequest,
  type TransactionResponse,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";

/** The queue of one key's transactions: each send starts once the one before it was broadcast (or failed). */
interface SendQueue {
  tail: Promise<unknown>;
}

/**
 * A signer whose transactions are sent one at a time, in call order: each is populated (its nonce read from the
 * chain's pending count, its gas estimated), signed and broadcast only after the previous one was broadcast or failed.
 * Two writers of one key (the outbox anchoring batches, the request watcher fulfilling requests) then never read the
 * same pending nonce, and a send that fails before broadcast (a revert at estimation) leaves no nonce gap, as a
 * counting nonce manager would. Everything else (the address, signatures) is the wrapped signer's.
 *
 * Get it with {@link serialSigner}: one per wrapped signer, so every writer of the node's key shares one queue.
 */
export class SerialSigner extends AbstractSigner {
  /** @internal use {@link serialSigner} */
  constructor(
    readonly signer: Signer,
    private readonly queue: SendQueue = { tail: Promise.resolve() },
  ) {
    super(signer.provider);
  }

  override connect(provider: Provider | null): SerialSigner {
    // Another provider for the same key keeps the same queue: the nonces are the key's, not the provider's.
    return new SerialSigner(this.signer.connect(provider), this.queue);
  }

  override getAddress(): Promise<string> {
    return this.signer.getAddress();
  }

  override signTransaction(tx: TransactionRequest): Promise<string> {
    return this.signer.signTransaction(tx);
  }

  override signMessage(message: string | Uint8Array): Promise<string> {
    return this.signer.signMessage(message);
  }

  override signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.signer.signTypedData(domain, types, value);
  }

  /** Sends `tx` after every send queued before it has been broadcast (or has failed). */
  override sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    return this.serialized(() => this.signer.sendTransaction(tx));
  }

  /** Runs `send` once every send queued before it has settled; the next one waits for it in turn. */
  serialized<T>(send: () => Promise<T>): Promise<T> {
    const run = this.queue.tail.then(send, send);
    this.queue.tail = run.catch(() => undefined);
    return run;
  }
}

const SERIAL = new WeakMap<Signer, SerialSigner>();

/**
 * The {@link SerialSigner} of `signer`: the same one for the same signer object (a SerialSigner is its own), so that
 * every part of the node that sends with its key goes through one queue.
 */
export function serialSigner(signer: Signer): SerialSigner {
  if (signer instanceof SerialSigner) return signer;
  let serial = SERIAL.get(signer);
  if (!serial) {
    serial = new SerialSigner(signer);
    SERIAL.set(signer, serial);
  }
  return serial;
}
