/** The page's frame: skip link, header with navigation and search, the routed page, live batch announcements. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { BatchView } from "../api-types";
import { listen } from "./api";
import type { LiveStreamEvents } from "../api-types";
import {
  BatchPage,
  BatchesPage,
  HomePage,
  ModelsPage,
  NodesPage,
  ProofPage,
  SearchPage,
  VerifyPage,
  short,
} from "./pages";

/** The current hash route: `#/proofs/0x…` -> ["proofs", "0x…"], and its query. */
function route(): { parts: string[]; query: URLSearchParams } {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, search] = hash.split("?");
  return {
    parts: path
      .split("/")
      .filter((p) => p !== "")
      .map(decodeURIComponent),
    query: new URLSearchParams(search),
  };
}

const NAV = [
  ["#/", "Overview"],
  ["#/models", "Models"],
  ["#/nodes", "Nodes"],
  ["#/batches", "Batches"],
] as const;

export function App() {
  const [current, setCurrent] = useState(route());
  const [live, setLive] = useState<BatchView[]>([]);
  const [liveState, setLiveState] = useState("connecting");
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    const onHash = () => {
      setCurrent(route());
      // A new page: move focus to its content, as a full page load would (screen readers announce it).
      requestAnimationFrame(() => main.current?.focus());
    };
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);

  useEffect(
    () =>
      listen<LiveStreamEvents>(
        "/api/live",
        {
          hello: () => setLiveState("live"),
          batch: (batch) => setLive((seen) => [batch, ...seen].slice(0, 20)),
        },
        () => setLiveState("reconnecting"),
      ),
    [],
  );

  const [section, ...rest] = current.parts;
  let page;
  switch (section) {
    case undefined:
      page = <HomePage live={live} />;
      break;
    case "models":
      page = <ModelsPage id={rest[0]} />;
      break;
    case "nodes":
      page = <NodesPage address={rest[0]} />;
      break;
    case "batches":
      page = rest.length >= 2 ? <BatchPage node={rest[0]} root={rest[1]} /> : <BatchesPage live={live} />;
      break;
    case "proofs":
      page = <ProofPage commitment={rest[0] ?? ""} />;
      break;
    case "verify":
      page = <VerifyPage commitment={rest[0] ?? ""} reexecute={current.query.get("reexecute") === "1"} />;
      break;
    case "search":
      page = <SearchPage query={current.query.get("q") ?? ""} />;
      break;
    default:
      page = (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page <code>{location.hash}</code>. Go to the <a href="#/">overview</a>.
          </p>
        </section>
      );
  }
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          Strata explorer
        </a>
        <nav aria-label="Sections">
          <ul>
            {NAV.map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={isCurrent(href, section) ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <SearchForm initial={section === "search" ? (current.query.get("q") ?? "") : ""} />
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {page}
      </main>
      <footer>
        <p class="muted">
          Live updates: <span data-testid="live-state">{liveState}</span>
          {live.length > 0 ? ` · newest batch ${short(live[0].root)} (${live[0].count} proofs)` : ""}
        </p>
        <div class="sr-only" aria-live="polite">
          {live.length > 0 ? `New batch ${live[0].root} with ${live[0].count} proofs` : ""}
        </div>
      </footer>
    </>
  );
}

function isCurrent(href: string, section: string | undefined): boolean {
  return href === "#/" ? section === undefined : href === `#/${section}`;
}

function SearchForm({ initial }: { initial: string }) {
  const [value, setValue] = useState(initial);
  useEffect(() => setValue(initial), [initial]);
  return (
    <form
      role="search"
      class="search"
      onSubmit={(e) => {
        e.preventDefault();
        location.hash = `#/search?q=${encodeURIComponent(value.trim())}`;
      }}
    >
      <label for="q">Search</label>
      <input
        id="q"
        name="q"
        type="search"
        value={value}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        placeholder="commitment, Blob ID, model, address"
        autocomplete="off"
        spellcheck={false}
      />
      <button type="submit">Search</button>
    </form>
  );
}
