import { expect } from "chai";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { input, serveChain, setup, teardown, type Env } from "../../verifier/test/fixture";
import { runStrata } from "./in-process";

describe("strata key new, verify with private data, proof disclose", function () {
  let env: Env;
  let chain: { url: string; close: () => Promise<void> };
  let dir: string;
  let network: string[];
  let inferNetwork: string[];
  let keyFile: string;
  let publicKey: string;
  const rows = [[1.5, -0.5, 2, 4]];
  let hashed: string;
  let encrypted: string;

  before(async function () {
    env = await setup();
    chain = await serveChain();
    dir = await mkdtemp(path.join(tmpdir(), "strata-privacy-cli-"));
    const deploymentFile = path.join(dir, "deployment.json");
    await writeFile(deploymentFile, JSON.stringify(env.deployment));
    network = [
      "--rpc",
      chain.url,
      "--deployment",
      deploymentFile,
      "--shards",
      String(env.shards),
      "--clock-skew",
      String(env.clockSkewSeconds),
      "--aggregator",
      env.walrus.url,
      "--node-url",
      env.nodeUrl,
      "--model-cache",
      path.join(dir, "models"),
    ];
    inferNetwork = ["--rpc", chain.url, "--deployment", deploymentFile, "--node-url", env.nodeUrl];
    keyFile = path.join(dir, "requester.key");
    const made = await runStrata(["key", "new", "--out", keyFile, "--json"]);
    expect(made.exitCode, made.out).to.equal(0);
    publicKey = JSON.parse(made.out).publicKey;
    const h = await env.node.infer({ model: "tiny-mlp", inputs: input(rows), privacy: "hashed" });
    const e = await env.node.infer({
      model: "tiny-mlp",
      inputs: input(rows),
      privacy: "encrypted",
      recipient: publicKey,
    });
    await env.node.outbox.flush();
    hashed = h.proof.commitment;
    encrypted = e.proof.commitment;
    await writeFile(path.join(dir, "x.json"), JSON.stringify(input(rows)));
    await writeFile(path.join(dir, "y.json"), JSON.stringify(h.outputs));
  });

  after(async function () {
    await chain?.close();
    await teardown(env);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("infer --privacy encrypted --recipient seals the proof to the key; --outputs keeps the outputs", async function () {
    const outputs = path.join(dir, "out.json");
    const answer = await runStrata([
      "infer",
      env.model.modelId,
      ...inferNetwork,
      "--input",
      JSON.stringify(input(rows)),
      "--privacy",
      "encrypted",
      "--recipient",
      publicKey,
      "--outputs",
      outputs,
      "--json",
    ]);
    expect(answer.exitCode, answer.out).to.equal(0);
    const body = JSON.parse(answer.out);
    expect(body.proof.privacy).to.equal("encrypted");
    expect(Object.keys(JSON.parse(await readFile(outputs, "utf8")))).to.deep.equal(Object.keys(body.outputs));
    await env.node.outbox.flush();
    const verified = await runStrata(["verify", body.proof.commitment, ...network, "--privacy-key", `@${keyFile}`]);
    expect(verified.exitCode, verified.out).to.equal(0);
    const refused = await runStrata(
      ["infer", env.model.modelId, ...inferNetwork, "--input", "{}", "--privacy", "encrypted"],
      { silenceStderr: true },
    ).catch((error: unknown) => error);
    expect(String(refused)).to.match(/--privacy encrypted needs --recipient/);
  });

  it("key new writes the private key to a 0600 file and prints only the public key", async function () {
    expect(publicKey).to.match(/^strata-pk2:[0-9a-f]{64}$/);
    const secret = (await readFile(keyFile, "utf8")).trim();
    expect(secret).to.match(/^strata-sk2:[0-9a-f]{64}$/);
    expect((await stat(keyFile)).mode & 0o777).to.equal(0o600);
  });

  it("verify without the data: VERIFIED except reexecution, N/A; with the tensors: re-executed", async function () {
    const without = await runStrata(["verify", hashed, ...network]);
    expect(without.exitCode, without.out).to.equal(0);
    expect(without.out).to.match(/VERIFIED except reexecution \(not possible without the data\)/);
    expect(without.out).to.match(/N\/A\s+reexecution\s+not possible without the data/);
    const x = path.join(dir, "x.json");
    const y = path.join(dir, "y.json");
    const withData = await runStrata(["verify", hashed, ...network, "--inputs", x, "--outputs", y, "--json"]);
    expect(withData.exitCode, withData.out).to.equal(0);
    const step = JSON.parse(withData.out).steps.find((s: { step: string }) => s.step === "reexecution");
    expect(step.status).to.equal("pass");
  });

  it("verify --privacy-key re-executes an encrypted proof; proof disclose gives a key that does too; a wrong key fails", async function () {
    const shown = await runStrata(["proof", "show", encrypted, ...network.slice(0, -2)]);
    expect(shown.exitCode, shown.out).to.equal(0);
    expect(shown.out).to.match(/input\s+x float32\[1,4\] hash 0x[0-9a-f]{64} \(no data in the proof\)/);
    expect(shown.out).to.match(/privacy\s+encrypted: the tensors sealed to the requester \(envelope \d+ bytes/);
    const withKey = await runStrata(["verify", encrypted, ...network, "--privacy-key", `@${keyFile}`]);
    expect(withKey.exitCode, withKey.out).to.equal(0);
    expect(withKey.out).to.match(/: VERIFIED$/m);

    const disclosed = await runStrata([
      "proof",
      "disclose",
      encrypted,
      ...network.slice(0, -2),
      "--privacy-key",
      `@${keyFile}`,
    ]);
    expect(disclosed.exitCode, disclosed.out).to.equal(0);
    const disclosure = disclosed.out.trim();
    expect(disclosure).to.match(/^strata-dk1:[0-9a-f]{64}$/);
    expect(disclosed.out).to.not.contain((await readFile(keyFile, "utf8")).trim().slice(11));
    const audited = await runStrata(["verify", encrypted, ...network, "--disclosure-key", disclosure]);
    expect(audited.exitCode, audited.out).to.equal(0);

    const other = await runStrata(["key", "new", "--json"]);
    const wrong = await runStrata(
      ["verify", encrypted, ...network, "--privacy-key", JSON.parse(other.out).privateKey],
      {
        silenceStderr: true,
      },
    );
    expect(wrong.exitCode).to.equal(1);
    expect(wrong.out).to.match(
      /FAIL\s+reexecution\s+the data given cannot re-execute this proof.*not sealed to this key/,
    );
  });
});
