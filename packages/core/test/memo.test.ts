import { expect } from "chai";
import { Memo, StrataError } from "../src";

/** A load that counts its calls and settles when told. */
function loader() {
  const calls: string[] = [];
  const pending: { resolve: (v: string) => void; reject: (e: Error) => void }[] = [];
  const load = (key: string) =>
    new Promise<string>((resolve, reject) => {
      calls.push(key);
      pending.push({ resolve, reject });
    });
  return { calls, pending, load };
}

describe("Memo", function () {
  it("shares one pending load between concurrent callers of a key", async function () {
    const { calls, pending, load } = loader();
    const memo = new Memo(load);
    const a = memo.get("k");
    const b = memo.get("k");
    expect(a).to.equal(b);
    pending[0].resolve("v");
    expect(await Promise.all([a, b])).to.deep.equal(["v", "v"]);
    expect(await memo.get("k")).to.equal("v");
    expect(calls).to.deep.equal(["k"]);
  });

  it("does not keep a failed load: the next caller loads again", async function () {
    const { calls, pending, load } = loader();
    const memo = new Memo(load);
    const first = memo.get("k");
    pending[0].reject(new Error("down"));
    await first.catch(() => undefined);
    expect(memo.has("k")).to.equal(false);
    const second = memo.get("k");
    pending[1].resolve("v");
    expect(await second).to.equal("v");
    expect(calls).to.deep.equal(["k", "k"]);
  });

  it("reuses a value for ttlMs from the start of its load, then loads again", async function () {
    let now = 1_000;
    let n = 0;
    const memo = new Memo(async (key: string) => `${key}${++n}`, { ttlMs: 5_000, now: () => now });
    expect(await memo.get("k")).to.equal("k1");
    now += 4_999;
    expect(await memo.get("k")).to.equal("k1");
    now += 1;
    expect(await memo.get("k")).to.equal("k2");
  });

  it("keeps at most maxEntries, dropping the oldest first", async function () {
    let n = 0;
    const memo = new Memo(async (key: string) => `${key}${++n}`, { maxEntries: 2 });
    await memo.get("a");
    await memo.get("b");
    await memo.get("c");
    expect(memo.size).to.equal(2);
    expect(memo.has("a")).to.equal(false);
    expect(await memo.get("b")).to.equal("b2");
    expect(await memo.get("a")).to.equal("a4");
  });

  it("keeps an object input under its key: inputs with the same key share one value", async function () {
    const loads: string[] = [];
    const memo = new Memo(
      async (v: { blobId: string; size: number }) => {
        loads.push(`${v.blobId}/${v.size}`);
        return v.size;
      },
      { keyOf: (v) => v.blobId },
    );
    expect(await memo.get({ blobId: "x", size: 1 })).to.equal(1);
    expect(await memo.get({ blobId: "x", size: 2 })).to.equal(1);
    expect(memo.has({ blobId: "x", size: 3 })).to.equal(true);
    expect(await memo.get({ blobId: "y", size: 2 })).to.equal(2);
    expect(loads).to.deep.equal(["x/1", "y/2"]);
  });

  it("clears and hands back what it kept, to release it", async function () {
    const memo = new Memo(async (key: string) => key.toUpperCase());
    await memo.get("a");
    await memo.get("b");
    expect(await Promise.all(memo.clear())).to.deep.equal(["A", "B"]);
    expect(memo.size).to.equal(0);
  });

  it("refuses a maxEntries that is not a positive integer", function () {
    expect(() => new Memo(async () => 1, { maxEntries: 0 })).to.throw(StrataError, /maxEntries must be a positive/);
  });
});
