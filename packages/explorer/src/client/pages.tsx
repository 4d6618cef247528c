/** The explorer's pages. Every piece of data comes from the typed API (./api.ts); nothing here verifies on its own. */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type {
  BatchView,
  Expiry,
  ImageShape,
  ModelMetadataView,
  ProofResponse,
  TensorElement,
  TensorView,
  VerifyDoneEvent,
  VerifyErrorEvent,
  VerifyStepEvent,
  VerifyStreamEvents,
} from "../api-types";
import { TENSOR_VALUES_MAX } from "../api-types";
import { get, listen } from "./api";
import { fromBase64, openEnvelope, OpenError } from "./opener";
import { tensorHash } from "./tensor-hash";
import { decodeValues } from "./values";

// Helpers -------------------------------------------------------------------------------------------------------------

/** `0x1234abcd…89ef` for long hex; anything else unchanged. */
export function short(value: string): string {
  return /^0x[0-9a-fA-F]{40,}$/.test(value) ? `${value.slice(0, 10)}…${value.slice(-6)}` : value;
}

function time(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z").replace("T", " ");
}

function bytes(n: string | number): string {
  return `${Number(n).toLocaleString("en-US")} bytes`;
}

/** Loads `load()` once per `key`; the page shows a status line while it runs and the error if it fails. */
function useLoad<T>(load: () => Promise<T>, key: string): { value?: T; error?: string; reload: () => void } {
  const [state, setState] = useState<{ value?: T; error?: string }>({});
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState({});
    load().then(
      (value) => live && setState({ value }),
      (error: Error) => live && setState({ error: error.message }),
    );
    return () => {
      live = false;
    };
  }, [key, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

function Loading<T>({
  state,
  children,
}: {
  state: { value?: T; error?: string };
  children: (v: T) => ComponentChildren;
}) {
  if (state.error !== undefined) {
    return (
      <p class="error" role="alert">
        {state.error}
      </p>
    );
  }
  if (state.value === undefined) {
    return (
      <p class="muted" role="status">
        Loading…
      </p>
    );
  }
  return <>{children(state.value)}</>;
}

/** A long hex value or Blob ID, in full (it wraps), with a copy button. */
function Id({ value, href }: { value: string; href?: string }) {
  return href === undefined ? (
    <code class="id">{value}</code>
  ) : (
    <a class="id" href={href}>
      <code>{value}</code>
    </a>
  );
}

function ExpiryCell({ expiry }: { expiry: Expiry }) {
  if (expiry.endEpoch === null) return <span class="muted">not recorded</span>;
  const left =
    expiry.epochsLeft === null
      ? ""
      : expiry.epochsLeft <= 0
        ? ` — expired ${-expiry.epochsLeft === 0 ? "this epoch" : `${-expiry.epochsLeft} epochs ago`}`
        : ` — ${expiry.epochsLeft} epoch${expiry.epochsLeft === 1 ? "" : "s"} left`;
  const label = expiry.state === "expired" ? "Expired" : expiry.state === "soon" ? "Expires soon" : "";
  return (
    <span class={`expiry ${expiry.state}`} data-expiry={expiry.state}>
      {label !== "" ? <strong>{label}: </strong> : null}
      {expiry.until ?? `epoch ${expiry.endEpoch}`}
      {left}
    </span>
  );
}

/** A table that scrolls sideways inside its own box on narrow screens (the page itself never does). */
function Table({ caption, head, children }: { caption: string; head: string[]; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {head.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

// Overview ------------------------------------------------------------------------------------------------------------

export function HomePage({ live }: { live: BatchView[] }) {
  const overview = useLoad(() => get("/api/overview", {}), `overview-${live.length}`);
  return (
    <section>
      <h1>Overview</h1>
      <Loading state={overview}>
        {(o) => (
          <>
            <dl class="facts">
              <dt>Network</dt>
              <dd>
                {o.network} (chain {o.chainId}), block {o.latestBlock}
              </dd>
              <dt>Walrus epoch</dt>
              <dd>{o.currentEpoch === null ? "unknown" : o.currentEpoch}</dd>
              <dt>Models</dt>
              <dd>
                <a href="#/models">{o.counts.models}</a>
              </dd>
              <dt>Nodes</dt>
              <dd>
                <a href="#/nodes">{o.counts.nodes}</a>
              </dd>
              <dt>Batches</dt>
              <dd>
                <a href="#/batches">{o.counts.batches}</a>
              </dd>
            </dl>
            <h2>Registries</h2>
            <dl class="facts">
              {Object.entries(o.registries).map(([name, address]) => (
                <>
                  <dt>{name}</dt>
                  <dd>
                    <Id value={address} />
                  </dd>
                </>
              ))}
            </dl>
          </>
        )}
      </Loading>
      <h2>Anchored while this page is open</h2>
      {live.length === 0 ? (
        <p class="muted">No new batch yet: new ones appear here as they are anchored.</p>
      ) : (
        <BatchTable batches={live} caption="New batches" />
      )}
    </section>
  );
}

// Models --------------------------------------------------------------------------------------------------------------

export function ModelsPage({ id }: { id?: string }) {
  const models = useLoad(() => get("/api/models", {}), "models");
  return (
    <section>
      <h1>Models</h1>
      <Loading state={models}>
        {(m) => {
          const shown = id === undefined ? m.models : m.models.filter((x) => x.id === id);
          if (shown.length === 0) return <p>No model{id === undefined ? " is published yet" : ` ${id}`}.</p>;
          return shown.map((model) => (
            <article class="card" key={model.id} aria-labelledby={`model-${model.id}`}>
              <h2 id={`model-${model.id}`}>
                <a href={`#/models/${model.id}`}>{model.name}</a>
              </h2>
              <dl class="facts">
                <dt>Model id</dt>
                <dd>
                  <Id value={model.id} />
                </dd>
                <dt>Owner</dt>
                <dd>
                  <Id value={model.owner} />
                </dd>
                <dt>Metadata</dt>
                <dd>
                  <Id value={model.metadataBlobId} />
                  {model.metadata !== null ? (
                    <MetadataFacts metadata={model.metadata} />
                  ) : (
                    <p class="error">could not be read: {model.metadataError}</p>
                  )}
                </dd>
              </dl>
              <Table
                caption={`Versions of ${model.name}`}
                head={["Version", "Blob ID", "Size", "sha256", "Stored until", "State"]}
              >
                {model.versions.map((v) => (
                  <tr key={v.index} data-expiry={v.expiry.state}>
                    <td>{v.index}</td>
                    <td>
                      <Id value={v.blobId} />
                    </td>
                    <td class="num">{bytes(v.size)}</td>
                    <td>
                      <Id value={v.sha256} />
                    </td>
                    <td>
                      <ExpiryCell expiry={v.expiry} />
                    </td>
                    <td>{v.deprecated ? "deprecated" : "active"}</td>
                  </tr>
                ))}
              </Table>
            </article>
          ));
        }}
      </Loading>
    </section>
  );
}

function MetadataFacts({ metadata }: { metadata: ModelMetadataView }) {
  const signature = (items: { name: string; dtype: string; shape: (number | string)[] }[]) =>
    items.map((t) => `${t.name} ${t.dtype} [${t.shape.join(", ")}]`).join(", ");
  return (
    <ul class="meta">
      {metadata.description !== undefined ? <li>{metadata.description}</li> : null}
      {metadata.task !== undefined ? <li>task: {metadata.task}</li> : null}
      {metadata.license !== undefined ? <li>license: {metadata.license}</li> : null}
      {metadata.tags !== undefined && metadata.tags.length > 0 ? <li>tags: {metadata.tags.join(", ")}</li> : null}
      {metadata.signature !== undefined ? (
        <li>
          inputs {signature(metadata.signature.inputs)}; outputs {signature(metadata.signature.outputs)}
        </li>
      ) : null}
      <li>format: {metadata.format}</li>
    </ul>
  );
}

// Nodes ---------------------------------------------------------------------------------------------------------------

export function NodesPage({ address }: { address?: string }) {
  const nodes = useLoad(() => get("/api/nodes", {}), "nodes");
  return (
    <section>
      <h1>Nodes</h1>
      <Loading state={nodes}>
        {(n) => {
          const shown =
            address === undefined ? n.nodes : n.nodes.filter((x) => x.address.toLowerCase() === address.toLowerCase());
          return (
            <Table
              caption="Inference nodes"
              head={["Node", "Endpoint", "Active", "Active from / to", "Batches", "Health"]}
            >
              {shown.map((node) => (
                <tr key={node.address}>
                  <td>
                    <Id value={node.address} href={`#/nodes/${node.address}`} />
                  </td>
                  <td>
                    {node.endpoint === null ? <span class="muted">none</span> : <code class="id">{node.endpoint}</code>}
                  </td>
                  <td>{node.active ? "yes" : "no"}</td>
                  <td>
                    {node.intervals.map((i) => (
                      <div key={i.from}>
                        {time(i.from)} – {i.to === null ? "now" : time(i.to)}
                      </div>
                    ))}
                  </td>
                  <td class="num">{node.batches}</td>
                  <td>
                    {node.health.reachable ? (
                      <span class={node.health.status === 200 ? "ok" : "warn"}>
                        {node.health.status === 200 ? "healthy" : `HTTP ${node.health.status}`}
                        {healthNote(node.health.body)}
                      </span>
                    ) : (
                      <span class="muted">unreachable ({node.health.error})</span>
                    )}
                  </td>
                </tr>
              ))}
            </Table>
          );
        }}
      </Loading>
    </section>
  );
}

function healthNote(body: unknown): string {
  if (typeof body !== "object" || body === null) return "";
  const reason = (body as { reason?: unknown }).reason;
  return typeof reason === "string" ? ` (${reason})` : "";
}

// Batches -------------------------------------------------------------------------------------------------------------

function BatchTable({ batches, caption }: { batches: BatchView[]; caption: string }) {
  return (
    <Table caption={caption} head={["Root", "Node", "Proofs", "Quilts / blob", "Gas", "Transaction", "Stored until"]}>
      {batches.map((b) => (
        <tr key={`${b.node}-${b.root}`}>
          <td>
            <a href={`#/batches/${b.node}/${b.root}`}>
              <code>{short(b.root)}</code>
            </a>
          </td>
          <td>
            <a href={`#/nodes/${b.node}`}>
              <code>{short(b.node)}</code>
            </a>
          </td>
          <td class="num">{b.count}</td>
          <td>
            {b.blobIds.map((id) => (
              <div key={id}>
                <code class="id">{id}</code>
              </div>
            ))}
          </td>
          <td class="num">{b.gasUsed === null ? "?" : Number(b.gasUsed).toLocaleString("en-US")}</td>
          <td>
            <code>{short(b.txHash)}</code>
            <div class="muted">
              block {b.blockNumber}, {b.event}
            </div>
          </td>
          <td>
            <ExpiryCell expiry={b.expiry} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function BatchesPage({ live }: { live: BatchView[] }) {
  const batches = useLoad(() => get("/api/batches", {}), `batches-${live.length}`);
  return (
    <section>
      <h1>Batches and quilts</h1>
      <Loading state={batches}>
        {(b) =>
          b.batches.length === 0 ? (
            <p>No batch is anchored yet.</p>
          ) : (
            <BatchTable batches={b.batches} caption="Batches, newest first" />
          )
        }
      </Loading>
    </section>
  );
}

export function BatchPage({ node, root }: { node: string; root: string }) {
  const detail = useLoad(() => get("/api/batches/:node/:root", { node, root }), `${node}/${root}`);
  return (
    <section>
      <h1>Batch</h1>
      <Loading state={detail}>
        {(d) => (
          <>
            <dl class="facts">
              <dt>Root</dt>
              <dd>
                <Id value={d.batch.root} />
              </dd>
              <dt>Node</dt>
              <dd>
                <Id value={d.batch.node} href={`#/nodes/${d.batch.node}`} />
              </dd>
              <dt>{d.batch.blobIds.length === 1 ? "Quilt or blob" : `Quilts (${d.batch.blobIds.length})`}</dt>
              <dd>
                {d.batch.blobIds.map((id) => (
                  <div key={id}>
                    <Id value={id} />
                  </div>
                ))}
              </dd>
              <dt>Proofs</dt>
              <dd>{d.batch.count}</dd>
              <dt>Gas</dt>
              <dd>{d.batch.gasUsed === null ? "?" : Number(d.batch.gasUsed).toLocaleString("en-US")}</dd>
              <dt>Transaction</dt>
              <dd>
                <Id value={d.batch.txHash} /> (block {d.batch.blockNumber}, {time(d.batch.timestamp)}, {d.batch.event})
              </dd>
              <dt>Stored until</dt>
              <dd>
                <ExpiryCell expiry={d.batch.expiry} />
              </dd>
            </dl>
            <h2>Proofs in this batch</h2>
            {d.commitmentsError !== null ? (
              <p class="error">The proofs could not be listed: {d.commitmentsError}</p>
            ) : (
              <ol class="proofs">
                {d.commitments.map((c) => (
                  <li key={c}>
                    <a href={`#/proofs/${c}`}>
                      <code class="id">{c}</code>
                    </a>
                  </li>
                ))}
              </ol>
            )}
          </>
        )}
      </Loading>
    </section>
  );
}

// Proof ---------------------------------------------------------------------------------------------------------------

export function ProofPage({ commitment }: { commitment: string }) {
  const proof = useLoad(() => get("/api/proofs/:commitment", { commitment }), commitment);
  return (
    <section>
      <h1>Proof</h1>
      <p>
        <Id value={commitment} />
      </p>
      <Loading state={proof}>{(p) => <ProofBody proof={p} />}</Loading>
    </section>
  );
}

function ProofBody({ proof }: { proof: ProofResponse }) {
  const [opened, setOpened] = useState<Map<string, TensorElement[]> | null>(null);
  return (
    <>
      <p>
        <a class="button" href={`#/verify/${proof.commitment}`}>
          Verify this proof
        </a>{" "}
        <a class="button secondary" href={`#/verify/${proof.commitment}?reexecute=1`}>
          Verify and re-execute
        </a>
      </p>
      <dl class="facts">
        <dt>Privacy</dt>
        <dd data-testid="privacy">{proof.privacy}</dd>
        <dt>Model</dt>
        <dd>
          <a href={`#/models/${proof.model.id}`}>{proof.model.name ?? short(proof.model.id)}</a>@{proof.model.version} (
          <code class="id">{proof.model.blobId}</code>)
        </dd>
        <dt>Node</dt>
        <dd>
          <Id value={proof.node} href={`#/nodes/${proof.node}`} />
        </dd>
        <dt>Signed at</dt>
        <dd>{time(proof.timestamp)}</dd>
        <dt>Anchored</dt>
        <dd>
          {proof.root === null ? (
            "singly"
          ) : (
            <>
              #{proof.index} of batch{" "}
              <a href={`#/batches/${proof.anchor.node}/${proof.root}`}>
                <code>{short(proof.root)}</code>
              </a>
            </>
          )}{" "}
          in tx <code>{short(String(proof.anchor.txHash))}</code>
        </dd>
        <dt>On Walrus</dt>
        <dd>
          <code class="id">{String(proof.location.blobId ?? "")}</code>
          {proof.location.identifier !== undefined ? " (its patch in this quilt)" : ""}, {bytes(proof.blobSize)}
        </dd>
        <dt>Proof stored until</dt>
        <dd>
          <ExpiryCell expiry={proof.storage.proof} />
        </dd>
        <dt>Model stored until</dt>
        <dd>
          <ExpiryCell expiry={proof.storage.model} />
        </dd>
      </dl>
      {proof.envelope !== null ? <OpenForm proof={proof} onOpened={setOpened} /> : null}
      {proof.privacy === "hashed" ? (
        <p class="muted">A hashed proof holds only its tensors' hashes: whoever has the data can check it.</p>
      ) : null}
      <h2>Tensors</h2>
      {proof.tensors.map((t) => (
        <TensorBlock
          key={`${t.set}/${t.name}`}
          tensor={t}
          values={t.values ?? opened?.get(`${t.set}/${t.name}`) ?? null}
        />
      ))}
      <details>
        <summary>The document (JSON)</summary>
        <pre class="doc">{JSON.stringify(proof.document, null, 2)}</pre>
      </details>
    </>
  );
}

/** The key form of an encrypted proof: the key is used here, in the browser, and is never sent anywhere. */
function OpenForm({ proof, onOpened }: { proof: ProofResponse; onOpened: (m: Map<string, TensorElement[]>) => void }) {
  const [key, setKey] = useState("");
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setStatus(null);
    try {
      const envelope = proof.envelope!;
      const opened = await openEnvelope(fromBase64(envelope.bytes), fromBase64(envelope.context), key);
      const values = new Map<string, TensorElement[]>();
      for (const committed of proof.tensors) {
        const t = opened.find((o) => o.name === `${committed.set}/${committed.name}`);
        if (t === undefined) throw new OpenError(`The envelope holds no ${committed.set} ${committed.name}`);
        const hash = tensorHash(committed.name, committed.dtype, committed.dims, t.bytes);
        if (hash !== committed.hash) {
          throw new OpenError(
            `The opened ${committed.set} ${committed.name} hashes to ${hash}, the proof commits to ${committed.hash}: ` +
              "these are not the tensors the node hashed",
          );
        }
        values.set(t.name, decodeValues(committed.dtype, t.bytes, TENSOR_VALUES_MAX));
      }
      if (opened.length !== proof.tensors.length) {
        throw new OpenError(
          `The envelope holds ${opened.length} tensors, the proof commits to ${proof.tensors.length}`,
        );
      }
      onOpened(values);
      setKey("");
      setStatus({
        ok: true,
        text:
          `Opened in this browser: ${opened.length} tensors, each matching its committed hash. ` +
          "The key was not sent anywhere.",
      });
    } catch (error) {
      setStatus({
        ok: false,
        text: error instanceof OpenError ? error.message : `Could not open: ${(error as Error).message}`,
      });
    }
  };
  return (
    <form class="open card" onSubmit={submit} autocomplete="off">
      <h2>Encrypted data</h2>
      <p>
        This proof's tensors are sealed to the requester's key. Type the private key (<code>strata-sk2:…</code>) or the
        proof's disclosure key (<code>strata-dk1:…</code>): it is opened here, in your browser, and the key is never
        sent to the server.
      </p>
      <label for="privacy-key">Key</label>
      <input
        id="privacy-key"
        type="password"
        value={key}
        onInput={(e) => setKey((e.target as HTMLInputElement).value)}
        spellcheck={false}
        autocomplete="off"
      />
      <button type="submit">Open in this browser</button>
      {status !== null ? (
        <p class={status.ok ? "ok" : "error"} role={status.ok ? "status" : "alert"} data-testid="open-status">
          {status.text}
        </p>
      ) : null}
    </form>
  );
}

function TensorBlock({ tensor, values }: { tensor: TensorView; values: TensorElement[] | null }) {
  const title = `${tensor.set} ${tensor.name}: ${tensor.dtype} [${tensor.dims.join(", ")}]`;
  return (
    <div class="tensor" data-tensor={`${tensor.set}/${tensor.name}`}>
      <h3>{title}</h3>
      {tensor.hash !== null ? (
        <p class="muted">
          hash <code class="id">{tensor.hash}</code>
        </p>
      ) : null}
      {values === null ? (
        <p class="muted">
          No data in the proof{tensor.set === "input" || tensor.set === "output" ? " (private)" : ""}.
        </p>
      ) : (
        <>
          {tensor.image !== null ? <TensorImage image={tensor.image} values={values} label={title} /> : null}
          <TensorTable tensor={tensor} values={values} />
          {tensor.truncated ? (
            <p class="muted">
              The first {values.length} of {tensor.elements} values.
            </p>
          ) : null}
        </>
      )}
    </div>
  );
}

/** Rows of the last dimension (a [N, M] tensor: N rows of M); at most 64 rows and 32 columns are drawn. */
function TensorTable({ tensor, values }: { tensor: TensorView; values: TensorElement[] }) {
  const width = Math.max(1, tensor.dims.length === 0 ? 1 : tensor.dims[tensor.dims.length - 1]);
  const columns = Math.min(width, 32);
  const rows = Math.min(Math.ceil(values.length / width), 64);
  const head = ["row", ...Array.from({ length: columns }, (_, i) => String(i))];
  return (
    <Table caption={`Values of ${tensor.set} ${tensor.name}`} head={head}>
      {Array.from({ length: rows }, (_, r) => (
        <tr key={r}>
          <th scope="row">{r}</th>
          {Array.from({ length: columns }, (_, c) => (
            <td class="num" key={c}>
              {format(values[r * width + c])}
            </td>
          ))}
        </tr>
      ))}
    </Table>
  );
}

function format(value: TensorElement | undefined): string {
  if (value === undefined) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  return String(value);
}

/** The tensor drawn as an image: values scaled from their range to 0..255 (grey, or RGB from 3 channels). */
function TensorImage({ image, values, label }: { image: ImageShape; values: TensorElement[]; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = canvas.current?.getContext("2d");
    if (!ctx) return;
    const { width, height, channels } = image;
    const plane = width * height;
    const numbers = values.slice(0, plane * channels).map((v) => (typeof v === "number" ? v : Number(v)));
    const finite = numbers.filter((v) => Number.isFinite(v));
    const lo = Math.min(...finite);
    const hi = Math.max(...finite);
    const scale = (v: number) => (hi === lo ? 128 : Math.round(((v - lo) / (hi - lo)) * 255));
    const pixels = ctx.createImageData(width, height);
    for (let i = 0; i < plane; i++) {
      const [r, g, b] =
        channels === 3
          ? [scale(numbers[i]), scale(numbers[plane + i]), scale(numbers[2 * plane + i])]
          : [scale(numbers[i]), scale(numbers[i]), scale(numbers[i])];
      pixels.data.set([r, g, b, 255], i * 4);
    }
    ctx.putImageData(pixels, 0, 0);
  }, [image, values]);
  return (
    <figure class="tensor-image">
      <canvas ref={canvas} width={image.width} height={image.height} role="img" aria-label={`${label} as an image`} />
      <figcaption class="muted">
        {image.width}×{image.height}, {image.channels === 3 ? "RGB" : "grey"}, scaled to the values' range
      </figcaption>
    </figure>
  );
}

// Verify --------------------------------------------------------------------------------------------------------------

export function VerifyPage({ commitment, reexecute }: { commitment: string; reexecute: boolean }) {
  const [steps, setSteps] = useState<VerifyStepEvent[]>([]);
  const [done, setDone] = useState<VerifyDoneEvent | null>(null);
  const [error, setError] = useState<VerifyErrorEvent | null>(null);
  useEffect(() => {
    setSteps([]);
    setDone(null);
    setError(null);
    let finished = false;
    const close = listen<VerifyStreamEvents>(
      `/api/verify/${encodeURIComponent(commitment)}${reexecute ? "?reexecute=1" : ""}`,
      {
        step: (s) => setSteps((seen) => [...seen, s]),
        done: (d) => {
          finished = true;
          setDone(d);
          close();
        },
        error: (e) => {
          finished = true;
          setError(e);
          close();
        },
      },
      (source) => {
        // Never reconnect: that would run the verification again.
        source.close();
        if (!finished) setError({ code: "STREAM", message: "the connection to the explorer was cut" });
      },
    );
    return () => close();
  }, [commitment, reexecute]);
  return (
    <section>
      <h1>Verify</h1>
      <p>
        <Id value={commitment} href={`#/proofs/${commitment}`} />
        {reexecute ? " — with re-execution" : ""}
      </p>
      <p>
        Each step runs on the server in <code>@strata/verifier</code> and appears here as soon as it passes or fails.
      </p>
      <ol class="steps" aria-live="polite" data-testid="steps">
        {steps.map((s) => (
          <li key={s.step} class={`step ${s.status}`} data-step={s.step} data-status={s.status}>
            <span class="mark">{MARK[s.status]}</span> <strong>{s.step}</strong> <span class="detail">{s.detail}</span>
          </li>
        ))}
      </ol>
      {done === null && error === null ? (
        <p class="muted" role="status">
          Verifying…
        </p>
      ) : null}
      {done !== null ? (
        <p class={done.ok ? "verdict ok" : "verdict fail"} role="status" data-testid="verdict">
          {done.ok ? "VERIFIED" : `FAILED at ${done.failedStep}`} in {(done.totalMs / 1000).toFixed(2)} s.{" "}
          {done.fetched}
        </p>
      ) : null}
      {done !== null && done.storage.length > 0 ? (
        <ul class="storage" data-testid="verify-storage">
          {done.storage.map((text) => (
            <li key={text}>{text}</li>
          ))}
        </ul>
      ) : null}
      {error !== null ? (
        <p class="error" role="alert" data-testid="verify-error">
          Could not verify ({error.code}): {error.message}
        </p>
      ) : null}
    </section>
  );
}

const MARK: Record<VerifyStepEvent["status"], string> = {
  pass: "PASS",
  fail: "FAIL",
  skip: "skip",
  unavailable: "N/A",
};

// Search --------------------------------------------------------------------------------------------------------------

export function SearchPage({ query }: { query: string }) {
  const result = useLoad(() => get("/api/search", {}, { q: query }), query);
  return (
    <section>
      <h1>Search</h1>
      <p>
        Results for <code>{query}</code>
      </p>
      <Loading state={result}>
        {(r) =>
          r.hits.length === 0 ? (
            <p>
              Nothing matches. Search takes a proof commitment or batch root (0x + 64 hex digits), a Blob ID, a model
              name, or an address (a node or a model's creator).
            </p>
          ) : (
            <ul class="hits">
              {r.hits.map((hit) => (
                <li key={hit.href + hit.label}>
                  <a href={hit.href}>{hit.label}</a>{" "}
                  <span class="muted">
                    — {hit.kind}: {hit.detail}
                  </span>
                </li>
              ))}
            </ul>
          )
        }
      </Loading>
    </section>
  );
}
