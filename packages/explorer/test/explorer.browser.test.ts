/**
 * The explorer in a real browser: Debian's Chromium (STRATA_CHROMIUM, default /usr/bin/chromium), headless, driven by
 * playwright-core (which never downloads a browser), against a real in-process devnet (the verifier's fixture: the
 * Hardhat chain, registries, the local Walrus store, two models, an inference node with anchored quilts). Screenshots
 * go to test-artifacts/explorer/.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { chromium, type Browser, type Page } from "playwright-core";
import {
  decodeTensor,
  encodeTensor,
  formatDisclosureKey,
  formatPrivacyPrivateKey,
  formatPrivacyPublicKey,
  generatePrivacyKey,
  makeTensorSet,
  openPrivateProof,
  privateProofDisclosureKey,
  signProof,
  toCommitment,
  proofCommitment,
  type PrivateInferenceProof,
} from "@strata/core";
import { advanceLocalEpochs, localNetworkClock, WalrusClient } from "@strata/walrus";
import { startExplorer, type Explorer } from "@strata/explorer";
import {
  alteringAggregator,
  anchorSingle,
  input,
  setup,
  teardown,
  variant,
  type Env,
} from "../../verifier/test/fixture";

const CHROMIUM = process.env.STRATA_CHROMIUM ?? "/usr/bin/chromium";
// The page's globals, as far as the checks below (functions run in the page) use them: the Node program has no DOM lib.
interface PageElement {
  id: string;
  textContent: string | null;
  blur(): void;
  getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
declare const document: {
  activeElement: PageElement | null;
  querySelector(selector: string): PageElement | null;
  body: PageElement;
  documentElement: { scrollWidth: number; clientWidth: number };
};
declare function getComputedStyle(element: PageElement): {
  top: string;
  outlineStyle: string;
  color: string;
  backgroundColor: string;
};
const ARTIFACTS = join(__dirname, "..", "..", "..", "test-artifacts", "explorer");

describe("explorer (in Chromium, against a devnet)", function () {
  this.timeout(120_000);
  let env: Env | undefined;
  let explorer: Explorer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let aggregator: { url: string; close: () => Promise<void> } | undefined;
  /** The commitment whose patch the aggregator alters (none: it serves the store's bytes). */
  let tampered: string | undefined;
  const requests: { url: string; body: string | null }[] = [];

  before(async function () {
    env = await setup();
    aggregator = await alteringAggregator(env, (path, body) => {
      if (tampered === undefined || !path.endsWith(`/${tampered}`)) return undefined;
      const altered = Buffer.from(body);
      altered[altered.length - 1] ^= 0x01; // the last byte of its last output tensor
      return altered;
    });
    explorer = await startExplorer({
      port: 0,
      client: env.client,
      walrus: new WalrusClient({ aggregatorUrls: [aggregator.url], shards: env.shards, retries: 0 }),
      clock: localNetworkClock(env.walrus.url),
      verifier: { clockSkewSeconds: env.clockSkewSeconds, modelCacheDir: join(env.walrusDir, "explorer-models") },
      pollIntervalMs: 250,
    });
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("request", (request) => requests.push({ url: request.url(), body: request.postData() }));
  });

  after(async function () {
    await browser?.close();
    await explorer?.close();
    await aggregator?.close();
    await teardown(env);
  });

  const open = async (hash: string) => {
    await page.goto(`${explorer!.url}/${hash}`);
    await page.waitForSelector("main h1");
  };
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  it("clicks through the overview, models, nodes and batches pages, each showing the chain's records", async function () {
    await open("#/");
    await page.waitForSelector(".facts dd >> text=/chain 31337/");
    expect(await page.textContent("[data-testid=live-state]")).to.equal("live");
    await shot("overview");

    await page.click("nav >> text=Models");
    await page.waitForSelector("h2 >> text=tiny-mlp");
    const models = await page.textContent("main");
    expect(models).to.include(env!.model.blobId);
    expect(models).to.include("other-mlp");
    expect(models).to.match(/inputs x float32 \[/);
    expect(models).to.match(/epoch \d+ \(about \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);
    await shot("models");

    await page.click("nav >> text=Nodes");
    await page.waitForSelector(`main >> text=${env!.nodeA.address}`);
    const nodes = await page.textContent("main");
    expect(nodes).to.include("http://127.0.0.1:31501");
    expect(nodes).to.match(/unreachable/);
    await shot("nodes");

    await page.click("nav >> text=Batches");
    const [first] = env!.nodeBatches;
    await page.waitForSelector(`a[href="#/batches/${env!.nodeA.address}/${first.root}"]`);
    await shot("batches");
    await page.click(`a[href="#/batches/${env!.nodeA.address}/${first.root}"]`);
    await page.waitForSelector(".proofs li");
    const listed = await page.$$eval(".proofs li code", (els) => els.map((e) => e.textContent));
    expect(listed).to.deep.equal(first.commitments);
    const batch = await page.textContent("main");
    expect(batch).to.include(first.blobId);
    expect(batch).to.match(/Gas\s*\d{2},\d{3}/);
    expect(batch).to.match(/Stored until\s*epoch \d+ \(about \d{4}-\d\d-\d\d \d\d:\d\d UTC\) — \d+ epochs? left/);
    await shot("batch");
  });

  it("finds a proof by its commitment through the search box and shows its tensors as tables", async function () {
    const c = env!.nodeBatches[0].commitments[2];
    await open("#/");
    await page.fill("#q", c);
    await page.press("#q", "Enter");
    await page.waitForSelector(`.hits a[href="#/proofs/${c}"]`);
    await page.click(`.hits a[href="#/proofs/${c}"]`);
    await page.waitForSelector("[data-testid=privacy]");
    expect(await page.textContent("[data-testid=privacy]")).to.equal("public");
    const proof = env!.nodeBatches[0].proofs[2];
    const x = Array.from(decodeTensor({ ...proof.input.tensors[0], dtype: "float32" }).values);
    const cells = await page.$$eval("[data-tensor='input/x'] tbody td", (els) => els.map((e) => Number(e.textContent)));
    expect(cells).to.deep.equal(x.map((v) => Number(v.toPrecision(6))));
    expect(await page.textContent("main")).to.match(
      /Proof stored until\s*epoch \d+ \(about [^)]+\) — \d+ epochs? left/,
    );
    await shot("proof");

    // Search by model name and by Blob ID.
    await page.fill("#q", "other");
    await page.press("#q", "Enter");
    await page.waitForSelector(".hits >> text=model other-mlp");
    await page.fill("#q", env!.model.blobId);
    await page.press("#q", "Enter");
    await page.waitForSelector(".hits >> text=tiny-mlp@0");
    // ... and by address: a node, and a model's creator.
    await page.fill("#q", env!.nodeA.address.toLowerCase());
    await page.press("#q", "Enter");
    await page.waitForSelector(`.hits a[href="#/nodes/${env!.nodeA.address}"]`);
    await page.fill("#q", env!.owner.address);
    await page.press("#q", "Enter");
    await page.waitForSelector(".hits >> text=model other-mlp");
  });

  it("verifies a proof with re-execution, every step streamed as it passes", async function () {
    const c = env!.nodeBatches[0].commitments[1];
    await open(`#/proofs/${c}`);
    await page.click("text=Verify and re-execute");
    await page.waitForSelector("[data-testid=verdict]", { timeout: 60_000 });
    expect(await page.textContent("[data-testid=verdict]")).to.match(/^VERIFIED/);
    const steps = await page.$$eval("[data-step]", (els) =>
      els.map((e) => [e.getAttribute("data-step"), e.getAttribute("data-status")]),
    );
    expect(steps.map(([s]) => s)).to.deep.equal([
      "locate",
      "chain-record",
      "blob",
      "document",
      "inclusion",
      "commitment",
      "signature",
      "node-active",
      "domain",
      "model",
      "runtime",
      "reexecution",
    ]);
    expect(
      steps.every(([, status]) => status === "pass"),
      JSON.stringify(steps),
    ).to.equal(true);
    // The report says until when the proof and its model are stored, with dates from the store's clock.
    const storage = await page.textContent("[data-testid=verify-storage]");
    expect(storage).to.match(/proof stored until epoch \d+ \(about \d{4}-\d\d-\d\d \d\d:\d\d UTC\): \d+ epochs? left/);
    expect(storage).to.match(/model 0x[0-9a-f]+…[0-9a-f]+ version 0 stored until epoch \d+ \(about /);
    await shot("verify-pass");
  });

  it("a proof whose patch bytes were altered fails at the commitment step, with the reason", async function () {
    const c = env!.nodeBatches[0].commitments[3];
    tampered = c;
    try {
      await open(`#/verify/${c}`);
      await page.waitForSelector("[data-testid=verdict]", { timeout: 60_000 });
      expect(await page.textContent("[data-testid=verdict]")).to.match(/^FAILED at commitment/);
      const failed = await page.$$eval("[data-status=fail]", (els) => els.map((e) => e.getAttribute("data-step")));
      expect(failed).to.deep.equal(["commitment"]);
      expect(await page.textContent("[data-step=commitment] .detail")).to.match(/altered/);
      await shot("verify-tampered");
    } finally {
      tampered = undefined;
    }
  });

  it("a proof anchored under a commitment that is not its own fails at the commitment step", async function () {
    const base = env!.batches[0].proofs[0]; // a v1 document: JSON, as a single anchor holds it
    const doc = await signProof(variant(base), env!.nodeA);
    const wrong = toCommitment(`0x${"5a".repeat(32)}`);
    expect(proofCommitment(doc)).to.not.equal(wrong);
    await anchorSingle(env!, wrong, doc, env!.nodeA);
    await open(`#/verify/${wrong}`);
    await page.waitForSelector("[data-testid=verdict]", { timeout: 60_000 });
    expect(await page.textContent("[data-testid=verdict]")).to.match(/^FAILED at commitment/);
    expect(await page.textContent("[data-step=commitment] .detail")).to.match(/\S/);
  });

  it("shows an image-shaped tensor as an image", async function () {
    const base = env!.batches[0].proofs[0];
    const pixels = Float32Array.from({ length: 16 }, (_, i) => i);
    const doc = await signProof(
      variant(base, (u) => ({ ...u, input: makeTensorSet([encodeTensor("x", "float32", [1, 1, 4, 4], pixels)]) })),
      env!.nodeA,
    );
    const c = proofCommitment(doc);
    await anchorSingle(env!, c, doc, env!.nodeA);
    await open(`#/proofs/${c}`);
    await page.waitForSelector("[data-tensor='input/x'] canvas");
    const grey = await page.$eval("[data-tensor='input/x'] canvas", (canvas) => {
      const data = (canvas as unknown as PageElement).getContext("2d").getImageData(0, 0, 4, 4).data;
      return [data[0], data[4 * 15]];
    });
    expect(grey).to.deep.equal([0, 255]);
    await shot("proof-image");
  });

  it("opens an encrypted proof in the browser with the key typed in the page, and never sends the key", async function () {
    const x25519 = generatePrivacyKey();
    const secp = generatePrivacyKey({ suite: 1 });
    const rows = [[0.5, -1, 2, 0.25]];
    const made = [];
    for (const key of [x25519, secp]) {
      made.push(
        await env!.node.infer({
          model: "tiny-mlp",
          inputs: input(rows),
          privacy: "encrypted",
          recipient: formatPrivacyPublicKey(key.publicKey),
        }),
      );
    }
    await env!.node.outbox.flush();
    const secrets = [
      formatPrivacyPrivateKey(x25519),
      formatPrivacyPrivateKey(secp),
      formatDisclosureKey(new Uint8Array(32).fill(7)),
    ];
    for (const [i, keyText] of [secrets[0], secrets[1]].entries()) {
      const c = made[i].proof.commitment;
      await open(`#/proofs/${c}`);
      await page.waitForSelector("[data-testid=privacy]");
      expect(await page.textContent("[data-testid=privacy]")).to.equal("encrypted");
      expect(await page.$$("[data-tensor='input/x'] tbody td")).to.have.length(0);
      await page.fill("#privacy-key", keyText);
      await page.click("text=Open in this browser");
      await page.waitForSelector("[data-testid=open-status].ok");
      expect(await page.textContent("[data-testid=open-status]")).to.match(
        /2 tensors, each matching its committed hash/,
      );
      const cells = await page.$$eval("[data-tensor='input/x'] tbody td", (els) =>
        els.map((e) => Number(e.textContent)),
      );
      expect(cells).to.deep.equal(rows[0]);
      // Parity with core: what core's openPrivateProof opens in Node is what the page shows.
      const verifier = explorer!.data.verifier();
      const record = await verifier.showProof(c, { nodeUrl: false });
      await verifier.close();
      const opened = await openPrivateProof(record.document as PrivateInferenceProof, { privateKey: keyText });
      const y = Array.from(decodeTensor({ ...opened.outputs[0], dtype: "float32" }).values);
      const outputs = await page.$$eval("[data-tensor='output/y'] tbody td", (els) =>
        els.map((e) => Number(e.textContent)),
      );
      expect(outputs).to.deep.equal(y.map((v) => Number(v.toPrecision(6))));
      if (i === 0) await shot("proof-encrypted-opened");
    }
    // A disclosure key opens the one proof; another proof's key is refused with the reason.
    const first = made[0].proof.commitment;
    const verifier = explorer!.data.verifier();
    const record = await verifier.showProof(first, { nodeUrl: false });
    await verifier.close();
    const disclosure = privateProofDisclosureKey(record.document as PrivateInferenceProof, secrets[0]);
    await open(`#/proofs/${first}`);
    await page.waitForSelector("#privacy-key");
    await page.fill("#privacy-key", secrets[1]);
    await page.click("text=Open in this browser");
    await page.waitForSelector("[data-testid=open-status].error");
    expect(await page.textContent("[data-testid=open-status]")).to.match(/suite 2 .* suite 1 key: not the recipient's/);
    await page.fill("#privacy-key", secrets[2]); // a disclosure key of no envelope
    await page.click("text=Open in this browser");
    await page.waitForFunction(() =>
      /disclosure key does not open/.test(document.querySelector("[data-testid=open-status]")?.textContent ?? ""),
    );
    await page.fill("#privacy-key", disclosure);
    await page.click("text=Open in this browser");
    await page.waitForSelector("[data-testid=open-status].ok");
    // ... and only that proof: on the other encrypted proof's page it is refused.
    await open(`#/proofs/${made[1].proof.commitment}`);
    await page.waitForSelector("#privacy-key");
    await page.fill("#privacy-key", disclosure);
    await page.click("text=Open in this browser");
    await page.waitForSelector("[data-testid=open-status].error");
    expect(await page.textContent("[data-testid=open-status]")).to.match(/disclosure key does not open this envelope/);
    // Verified without the data: every step but re-execution, which is N/A (not possible without the data).
    await open(`#/verify/${first}?reexecute=1`);
    await page.waitForSelector("[data-testid=verdict]", { timeout: 60_000 });
    expect(await page.textContent("[data-testid=verdict]")).to.match(/^VERIFIED/);
    expect(await page.getAttribute("[data-step=reexecution]", "data-status")).to.equal("unavailable");
    for (const secret of [...secrets, disclosure]) {
      const hex = secret.split(":")[1];
      const leaked = requests.filter((r) => r.url.includes(hex) || (r.body ?? "").includes(hex));
      expect(leaked, "a request carried the key").to.deep.equal([]);
    }
  });

  it("shows a hashed proof's tensors by their hashes, with no data", async function () {
    const hashed = await env!.node.infer({ model: "tiny-mlp", inputs: input([[1, 2, 3, 4]]), privacy: "hashed" });
    await env!.node.outbox.flush();
    await open(`#/proofs/${hashed.proof.commitment}`);
    await page.waitForSelector("[data-testid=privacy]");
    expect(await page.textContent("[data-testid=privacy]")).to.equal("hashed");
    expect(await page.$$("#privacy-key")).to.have.length(0);
    expect(await page.textContent("[data-tensor='input/x']")).to.match(/hash 0x[0-9a-f]{64}.*No data in the proof/);
  });

  it("shows a batch anchored while the page is open, without a reload", async function () {
    await open("#/");
    await page.waitForSelector("[data-testid=live-state] >> text=live");
    await env!.node.infer({ model: "tiny-mlp", inputs: input([[9, 9, 9, 9]]) });
    await env!.node.outbox.flush();
    const [sealed] = (await env!.node.outbox.listBatches()).slice(-1);
    await page.waitForSelector(`a[href="#/batches/${env!.nodeA.address}/${sealed.root}"]`, { timeout: 20_000 });
  });

  it("works from the keyboard alone: skip link, navigation, search, visible focus", async function () {
    await open("#/");
    await page.reload();
    await page.waitForSelector("main h1");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).to.equal("Skip to content");
    const ring = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement!);
      return { top: style.top, outline: style.outlineStyle };
    });
    expect(ring.top).to.not.match(/^-/); // the skip link shows when focused
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal("main");
    // From the top again: brand, then the section links.
    await page.evaluate(() => document.activeElement?.blur());
    await page.focus(".brand");
    const visited: string[] = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press("Tab");
      visited.push((await page.evaluate(() => document.activeElement?.textContent)) ?? "");
    }
    expect(visited).to.deep.equal(["Overview", "Models", "Nodes"]);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).to.equal("solid");
    await page.keyboard.press("Enter");
    await page.waitForSelector("main h1 >> text=Nodes");
    // The search box, from the keyboard.
    await page.focus("#q");
    await page.keyboard.type("tiny");
    await page.keyboard.press("Enter");
    await page.waitForSelector(".hits a >> text=model tiny-mlp");
    await page.focus(".hits a");
    await page.keyboard.press("Enter");
    await page.waitForSelector("h2 >> text=tiny-mlp");
    await shot("keyboard");
  });

  it("fits 390 px wide without sideways scrolling, on every page", async function () {
    const narrow = await browser!.newPage({ viewport: { width: 390, height: 844 } });
    try {
      const c = env!.nodeBatches[0].commitments[0];
      const pages = [
        "#/",
        "#/models",
        "#/nodes",
        "#/batches",
        `#/batches/${env!.nodeA.address}/${env!.nodeBatches[0].root}`,
        `#/proofs/${c}`,
        `#/verify/${c}`,
      ];
      for (const hash of pages) {
        await narrow.goto(`${explorer!.url}/${hash}`);
        await narrow.waitForSelector("main h1");
        await narrow.waitForFunction(() => document.querySelector("[role=status]")?.textContent !== "Loading…");
        await narrow.waitForTimeout(200);
        const { scroll, client } = await narrow.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          client: document.documentElement.clientWidth,
        }));
        expect(scroll, `${hash} scrolls sideways at 390 px`).to.be.at.most(client);
      }
      await narrow.goto(`${explorer!.url}/#/proofs/${c}`);
      await narrow.waitForSelector("[data-testid=privacy]");
      await narrow.screenshot({ path: join(ARTIFACTS, "proof-390.png"), fullPage: true });
    } finally {
      await narrow.close();
    }
  });

  it("has readable contrast: the main text, muted text and links against the background, computed in the page (WCAG AA)", async function () {
    await open("#/models");
    await page.waitForSelector("h2 >> text=tiny-mlp");
    const ratios = await page.evaluate(() => {
      const rgb = (css: string) => (css.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
      const lum = ([r, g, b]: number[]) => {
        const c = [r, g, b].map((v) => {
          const s = v / 255;
          return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
      };
      const ratio = (a: string, b: string) => {
        const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => q - p);
        return (x + 0.05) / (y + 0.05);
      };
      const bg = getComputedStyle(document.body).backgroundColor;
      const of = (selector: string) => getComputedStyle(document.querySelector(selector)!).color;
      return {
        text: ratio(of("main h1"), bg),
        body: ratio(getComputedStyle(document.body).color, bg),
        muted: ratio(of(".muted"), bg),
        link: ratio(of("main a"), bg),
      };
    });
    for (const [what, ratio] of Object.entries(ratios)) expect(ratio, what).to.be.at.least(4.5);
  });

  // Last: it moves the store's clock forward.
  it("warns of model versions whose end epoch is near, with the epoch's date", async function () {
    const [version] = await env!.client.models.listVersions(env!.model.modelId);
    const now = await localNetworkClock(env!.walrus.url).now();
    const ahead = version.endEpoch - now.epoch - 2; // two epochs left: within the warning window (3)
    expect(ahead).to.be.greaterThan(0);
    await advanceLocalEpochs(env!.walrus.url, ahead);
    await open("#/models");
    await page.reload();
    await page.waitForSelector("h2 >> text=tiny-mlp");
    const warning = await page.textContent(
      `[id="model-${env!.model.modelId}"] ~ .table-wrap span.expiry[data-expiry=soon]`,
    );
    expect(warning).to.match(/^Expires soon: epoch \d+ \(about \d{4}-\d\d-\d\d \d\d:\d\d UTC\) — 2 epochs left$/);
    await shot("models-expiring");
  });
});
