import { expect } from "chai";
import { runDemo } from "../src/commands/demo";

describe("strata demo", function () {
  this.timeout(180_000);

  it("tells the whole story: publish, infer, anchor a quilt, verify one proof from its patch alone with re-execution, a caught tamper, a contract that receives a verified inference, an encrypted inference and the keeper renewing every lease before it expires", async function () {
    let text = "";
    const ok = await runDemo({ out: (chunk) => (text += chunk) });
    expect(ok, text).to.equal(true);
    expect(text).to.match(/Walrus Blob ID [A-Za-z0-9_-]{43}/);
    expect(text).to.match(/VERIFIED/);
    expect(text).to.match(/PASS {2}reexecution +4 output elements of 1 tensor\(s\) re-executed bit-identical/);
    expect(text).to.match(/FAILED at reexecution/);
    expect(text).to.match(/gas \d+ for 8 proofs/);
    // One proof verified from its patch alone: one read, the patch's bytes, beside the quilt's size.
    expect(text).to.match(/proof #0: patch [A-Za-z0-9_-]{50} \(identifier = its commitment\)/);
    expect(text).to.match(
      /fetched [\d,]+ bytes from Walrus in 1 read: patch [A-Za-z0-9_-]{50} \(the proof: [\d,]+ bytes\) of quilt [A-Za-z0-9_-]{43}, Merkle proof from the node/,
    );
    const match = /read from Walrus: ([\d,]+) bytes \(the proof's patch alone.*beside the quilt's ([\d,]+) bytes/.exec(
      text,
    );
    expect(match, text).to.not.equal(null);
    const [fetched, quilt] = [match![1], match![2]].map((n) => Number(n.replace(/,/g, "")));
    expect(fetched).to.be.lessThan(quilt / 10);
    expect(text).to.match(/--full audited the whole quilt: its Blob ID matches/);

    // A consumer contract requests an inference on-chain; the devnet node's watcher fulfils it and the callback admits.
    expect(text).to.match(/== 7\. A contract consumes inference/);
    expect(text).to.match(
      /ClassifierGate 0x[0-9a-fA-F]{40} \(gas \d+\): admits an account when the argmax of the model's y is class [0-3]/,
    );
    const request = /request (0x[0-9a-f]{64})\n {5}requestAccess tx 0x[0-9a-f]{64}: gas (\d+) /.exec(text);
    expect(request, text).to.not.equal(null);
    const fulfil =
      /fulfil tx 0x[0-9a-f]{64} by node 0x[0-9a-fA-F]{40}: gas (\d+) with the callback .*callback delivered\)/.exec(
        text,
      );
    expect(fulfil, text).to.not.equal(null);
    expect(Number(fulfil![1])).to.be.greaterThan(0);
    expect(text).to.match(/callback: AccessDecided class [0-3], admitted true/);
    expect(text).to.match(/effect: isAdmitted\(0x[0-9a-fA-F]{40}\) = true; enter\(\) let through/);
    expect(text).to.match(/a contract received a verified inference through its callback/);

    // An encrypted inference: the proof's bytes hold none of the tensors; without the key re-execution is N/A.
    expect(text).to.match(/== 8\. Private inference/);
    expect(text).to.match(/the input's 64 bytes and the output's 16 appear nowhere/);
    expect(text).to.match(/VERIFIED except reexecution \(not possible without the data\)/);
    expect(text).to.match(/N\/A\s+reexecution\s+not possible without the data: an encrypted proof/);
    expect(text).to.match(/encrypted inference was unreadable to an outsider and re-executed by its owner/);

    // Storage lifetime: renewals fall due, the keeper renews them and records them; the proof is stored for longer.
    expect(text).to.match(/== 9\. Nothing silently expires/);
    expect(text).to.match(
      /epoch\(s\) later \(store and chain clocks moved together\): epoch \d+, [1-9]\d* lease\(s\) at risk/,
    );
    expect(text).to.match(/keeper: renewed model demo-mlp\/0 .* recorded on-chain in 0x[0-9a-f]{64}/);
    expect(text).to.match(/keeper: renewed batch 0x[0-9a-f]{64} .* recorded on-chain in 0x[0-9a-f]{64}/);
    expect(text).to.match(/verify: proof stored until epoch \d+ \(about \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);
    expect(text).to.match(/the keeper renewed every lease before it expired/);
  });
});
