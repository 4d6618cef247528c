import { expect } from "chai";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeeperJournal, KeeperJournalError } from "../src";

describe("keeper journal", () => {
  const path = () => join(mkdtempSync(join(tmpdir(), "strata-keeper-journal-")), "keeper-journal.jsonl");

  it("replays what was pending, and ignores a line torn by a crash mid-append", async () => {
    const file = path();
    const journal = await KeeperJournal.open(file);
    const id = journal.intend("model:0xabc/0", "model", 20);
    journal.append({ op: "stored", id, endEpoch: 21 });
    appendFileSync(file, '{"op":"recording","ids":["');
    const replayed = await KeeperJournal.open(file);
    expect(replayed.pending().map((r) => [r.id, r.storedEndEpoch, r.recordingEndEpoch])).to.deep.equal([
      [id, 21, undefined],
    ]);
    // Ids keep counting after a replay: no two renewals share one.
    expect(replayed.intend("model:0xabc/1", "model", 20)).to.not.equal(id);
  });

  it("keeps working after a torn line: what is appended next is read back on the next start", async () => {
    const file = path();
    const journal = await KeeperJournal.open(file);
    const id = journal.intend("model:0xabc/0", "model", 20);
    appendFileSync(file, '{"op":"stored","id":"');
    const replayed = await KeeperJournal.open(file);
    replayed.append({ op: "stored", id, endEpoch: 22 });
    const again = await KeeperJournal.open(file);
    expect(again.pending().map((r) => r.storedEndEpoch)).to.deep.equal([22]);
  });

  it("refuses a journal damaged before its last line, naming the file and what to do", async () => {
    const file = path();
    writeFileSync(file, 'garbage\n{"op":"intent","id":"r-1","key":"k","kind":"model","target":3,"at":0}\n');
    try {
      await KeeperJournal.open(file);
      expect.fail("opened a damaged journal");
    } catch (error) {
      expect(error).to.be.instanceOf(KeeperJournalError);
      expect((error as Error).message)
        .to.contain(file)
        .and.contain("line 1 is not JSON");
    }
  });

  it("compacts a journal with nothing pending to the renewals its signer could not record", async () => {
    const file = path();
    const journal = await KeeperJournal.open(file);
    const a = journal.intend("batch:0xnode/0xroot", "batch", 30);
    journal.append({ op: "done", id: a, outcome: "recorded", endEpoch: 30 });
    const b = journal.intend("model:0xother/0", "model", 12);
    journal.append({ op: "done", id: b, outcome: "unrecorded", endEpoch: 12, reason: "not the owner" });
    const reopened = await KeeperJournal.open(file);
    expect([...reopened.unrecorded()]).to.deep.equal([["model:0xother/0", 12]]);
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { op: string }).op)).to.deep.equal(["intent", "done"]);
  });
});
