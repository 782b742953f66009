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
import { INTEROP_ROUNDS, resultsTable, runRound, summaryTable } from "./crash_driver.ts";

for (const round of INTEROP_ROUNDS) {
  Deno.test(`vm crash interop ${round.name}: ${round.lanes.map((l) => `${l.id} ${l.shape} ${l.grow}->${l.resume}${l.holdAt ? ` at ${l.holdAt}` : ""}`).join(", ")}; data intact`, async () => {
    const rows = await runRound(round);
    console.log(summaryTable(rows) + "\n" + resultsTable(rows));
    for (const r of rows) {
      assert.ok(r.resumed, `${r.lane} did not finish: ${r.note}`);
      assert.equal(r.bytesDiffering, 0, `${r.lane}: bytes differ: ${r.note}`);
    }
    // volume 1's record went out with the metadata write that began it (the monitor's),
    // not only from the grow afterwards
    const e3 = rows.find((r) => r.lane === "e3");
    if (e3) {
      assert.ok(
        (e3.monitorRecordWrites ?? 0) >= 2,
        `monitor record writes: ${e3.monitorRecordWrites}`,
      );
    }
  });
}
