/**
 * Grows by mdts cut at their very start, resumed by mdadm 4.2 (issue 7, matrix round x1 lane
 * y0). mdadm 4.2 takes "migrating, record at unit 0 in place" for a reshape not yet begun:
 * it starts the volume in its new shape over data still in the old one and "reshapes" from
 * there (mdadm 4.2's own grows lose a volume cut there: round d4). mdts therefore backs up
 * unit 0 and records "unit 0 in the copy area" before the metadata says the volume migrates
 * (core/grow/run.ts prepareFirstUnit). Before that, raid0 2->3 held right after mdts's first
 * or second record write, and raid5 3->4 held after its first, came back with ~33 of their
 * 33.5 MB differing. The lanes: held after the early record (nothing migrates yet: the old
 * shape must come back intact) and after the record rewritten on the first disk once the
 * volume migrates (the resume restores unit 0 and goes on); a control lane resumed by mdts.
 * The second round does the same for the second volume of raid0 + raid5 (the monitor begins
 * its migration when the first one ends; mdts backs its unit 0 up before and writes its
 * record right after): held with the second volume's unit 0 half backed up (during the first
 * volume's last windows) and with its first record on both disks; and mdadm
 * 4.2's own grow of the same shape cut at its first volume's backward takeover, resumed by mdts
 * (matrix x1 lane x05: mdmon 4.2 had applied the first volume's last checkpoint to the second).
 */
import assert from "node:assert/strict";
import { resultsTable, runRound, summaryTable } from "./crash_driver.ts";

Deno.test("vm crash interop: mdts grows held around the start of the migration, resumed by mdadm 4.2, data intact", async () => {
  const rows = await runRound({
    name: "rp1",
    lanes: [
      { id: "p1", shape: "r0", grow: "mdts", resume: "mdadm", holdAt: "ckpt:2" },
      { id: "p2", shape: "r0", grow: "mdts", resume: "mdadm", holdAt: "ckpt:3" },
      { id: "q1", shape: "r5", grow: "mdts", resume: "mdadm", holdAt: "ckpt:2" },
      { id: "q2", shape: "r5", grow: "mdts", resume: "mdadm", holdAt: "ckpt:3" },
      { id: "c", shape: "r0", grow: "mdts", resume: "mdts" },
    ],
    rule: { kind: "pos:20", lane: "c" },
  });
  console.log(summaryTable(rows) + "\n" + resultsTable(rows));
  for (const r of rows) {
    assert.ok(r.resumed, `${r.lane} did not finish: ${r.note}`);
    assert.equal(r.bytesDiffering, 0, `${r.lane}: bytes differ: ${r.note}`);
  }
});

Deno.test("vm crash interop: raid0 + raid5 held around the second volume's start, resumed by mdadm 4.2, data intact", async () => {
  const rows = await runRound({
    name: "rp2",
    lanes: [
      // volume 0 (raid0 3->4) backs up units 0-3 on 4 disks: write 18 is volume 1's unit 0
      { id: "e2", shape: "r05", grow: "mdts", resume: "mdadm", holdAt: "copy:18" },
      { id: "e3", shape: "r05", grow: "mdts", resume: "mdadm", holdAt: "unit:1:0" },
      // mdadm 4.2's own grow cut as its first volume goes back to raid0 (the second volume
      // migrating, its record just begun or not yet, maybe with mdmon's stale checkpoint of
      // the first volume), resumed by mdts
      { id: "g", shape: "r05", grow: "mdadm", resume: "mdts" },
    ],
    rule: { kind: "takeover-back:0", lane: "g" },
  });
  console.log(summaryTable(rows) + "\n" + resultsTable(rows));
  // volume 1's record went out with the metadata write that began it (the monitor's), not
  // only from the grow afterwards
  const e3 = rows.find((r) => r.lane === "e3")!;
  assert.ok((e3.monitorRecordWrites ?? 0) >= 2, `monitor record writes: ${e3.monitorRecordWrites}`);
  for (const r of rows) {
    assert.ok(r.resumed, `${r.lane} did not finish: ${r.note}`);
    assert.equal(r.bytesDiffering, 0, `${r.lane}: bytes differ: ${r.note}`);
  }
});
