import { expect } from "chai";
import { runDemo } from "../src/commands/demo";

describe("strata demo", function () {
  this.timeout(180_000);

  it("tells the whole story: publish, infer, anchor, verify with re-execution, and a caught tamper", async function () {
    let text = "";
    const ok = await runDemo({ out: (chunk) => (text += chunk) });
    expect(ok, text).to.equal(true);
    expect(text).to.match(/Walrus Blob ID [A-Za-z0-9_-]{43}/);
    expect(text).to.match(/VERIFIED/);
    expect(text).to.match(/PASS {2}reexecution +4 output elements of 1 tensor\(s\) re-executed bit-identical/);
    expect(text).to.match(/FAILED at reexecution/);
    expect(text).to.match(/gas \d+ for 8 proofs/);
  });
});
