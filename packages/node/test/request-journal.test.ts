import { expect } from "chai";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RequestJournal, RequestJournalError, type SeenRequest } from "@strata/node";

const seen = (requestId: string): SeenRequest => ({
  requestId,
  nonce: "1",
  modelId: `0x${"11".repeat(32)}`,
  modelVersion: 0,
  modelBlobId: `0x${"22".repeat(32)}`,
  modelSha256: `0x${"33".repeat(32)}`,
  inputHash: `0x${"44".repeat(32)}`,
  callbackGasLimit: 0,
  inputBlobId: `0x${"00".repeat(32)}`,
  input: "0x",
  deadline: 2_000_000_000,
  fee: "0",
  block: 7,
});

describe("Request journal", function () {
  it("replays requests, sends and outcomes, and cuts off a torn last line before appending", async function () {
    const dir = await mkdtemp(join(tmpdir(), "strata-request-journal-"));
    const a = `0x${"aa".repeat(32)}`;
    const b = `0x${"bb".repeat(32)}`;
    const journal = await RequestJournal.open(dir);
    await journal.append({ t: "seen", request: seen(a) });
    await journal.append({ t: "seen", request: seen(b) });
    await journal.append({ t: "sent", requestId: a, hash: `0x${"cc".repeat(32)}` });
    await journal.append({ t: "done", requestId: b, outcome: "refused", reason: "bad input" });
    await journal.append({ t: "cursor", block: 9, hash: `0x${"dd".repeat(32)}` });
    await journal.close();
    await appendFile(join(dir, "requests.jsonl"), '{"t":"done","requestId":"0xaa'); // a crash mid-append

    const reopened = await RequestJournal.open(dir);
    expect(reopened.cursor).to.equal(9);
    expect(reopened.checkpoints).to.deep.equal([{ block: 9, hash: `0x${"dd".repeat(32)}` }]);
    expect(reopened.open().map((s) => s.request.requestId)).to.deep.equal([a]);
    expect(reopened.states.get(a)!.sent).to.deep.equal([`0x${"cc".repeat(32)}`]);
    expect(reopened.states.get(b)!.done).to.deep.equal({ outcome: "refused", reason: "bad input" });
    await reopened.append({ t: "done", requestId: a, outcome: "fulfilled" });
    await reopened.close();
    const lines = (await readFile(join(dir, "requests.jsonl"), "utf8")).trimEnd().split("\n");
    expect(lines).to.have.length(6);
    expect(JSON.parse(lines[5])).to.deep.equal({ t: "done", requestId: a, outcome: "fulfilled" });
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a journal with a line that is not JSON, or a record of a request never seen", async function () {
    for (const text of ['{"t":"cursor","block":1}\nnot json\n', '{"t":"sent","requestId":"0x01","hash":"0x02"}\n']) {
      const dir = await mkdtemp(join(tmpdir(), "strata-request-journal-"));
      await writeFile(join(dir, "requests.jsonl"), text);
      const error = await RequestJournal.open(dir).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(RequestJournalError);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
