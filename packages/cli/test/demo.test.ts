import { expect } from "chai";
import { runDemo } from "../src/commands/demo";

describe("strata demo", function () {
  this.timeout(180_000);

  it("tells the whole story: publish, infer, anchor a quilt, verify one proof from its patch alone with re-execution, and a caught tamper", async function () {
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
  });
});
