/**
 * The CI sample of the crash matrix (tests/vm/crash_driver.ts; the full run is
 * `deno task test:crash-matrix`), in two boots (VM time is scarce, and every boot waits for
 * the VM lock):
 *
 * 1. raid5 3->4 held right after the backup of unit 0 is recorded (restore at assembly),
 *    raid0 2->3 held right after the backup of unit 1 is recorded, raid0 + raid5 3->4 cut in
 *    the middle of a window of its second volume (that cut is the power cut of the boot),
 *    a grow by mdadm 4.2 resumed by mdts, a grow by mdts held just after its volume began
 *    migrating (unit 0 recorded in the copy area on one disk) resumed by mdadm 4.2 (which
 *    lost such volumes while mdts recorded unit 0 in place first), and a raid5
 *    held at its unit-0 backup whose copy area is corrupted after the cut: assembly must
 *    refuse it with nothing written. Assembled by -A, -I of each disk, -A --scan.
 *    A raid0 2->3 held late in its grow (unit 10) makes three raid0 lanes with boot 2.
 * 2. the three shapes by mdts and by mdadm 4.2, cut right after a raid0 volume went back to
 *    raid0 (the backward takeover): the comparison lanes; and a raid0 + raid5 held at its
 *    second volume's unit 1 (three raid0 + raid5 lanes with boot 1).
 */
import assert from "node:assert/strict";
import { type LaneResult, resultsTable, runRound, summaryTable } from "./crash_driver.ts";

function intact(rows: LaneResult[]): void {
  console.log(summaryTable(rows) + "\n" + resultsTable(rows));
  for (const r of rows.filter((x) => x.refusedClean === undefined)) {
    assert.ok(r.resumed, `${r.round}/${r.lane} did not finish: ${r.note}`);
    assert.equal(r.bytesDiffering, 0, `${r.round}/${r.lane}: bytes differ: ${r.note}`);
  }
}

Deno.test("vm crash: held at backups, cut mid-window; -A, -I, --scan; interop with mdadm 4.2; corrupted copy area refused", async () => {
  const rows = await runRound({
    name: "ci1",
    lanes: [
      { id: "a", shape: "r5", grow: "mdts", resume: "mdts", holdAt: "ckpt:4" },
      {
        id: "b",
        shape: "r0",
        grow: "mdts",
        resume: "mdts",
        holdAt: "ckpt:8",
        assemble: "incremental",
      },
      {
        id: "k",
        shape: "r5",
        grow: "mdts",
        resume: "mdts",
        holdAt: "ckpt:4",
        corruptCopyArea: true,
      },
      { id: "i", shape: "r5", grow: "mdadm", resume: "mdts" },
      { id: "j", shape: "r5", grow: "mdts", resume: "mdadm", holdAt: "ckpt:3" },
      { id: "c", shape: "r05", grow: "mdts", resume: "mdts", assemble: "scan" },
      { id: "e", shape: "r0", grow: "mdts", resume: "mdts", holdAt: "unit:0:10" },
    ],
    rule: { kind: "pos:50", lane: "c" },
  });
  intact(rows);
  // mdadm's own grow (lane i) cannot be held: where the cut fell for it is in the table
  for (const id of ["a", "b", "j", "c", "e"]) {
    const r = rows.find((x) => x.lane === id)!;
    assert.equal(r.phase, "during", `${id}: the cut fell ${r.phase} its grow`);
  }
  assert.match(rows.find((r) => r.lane === "a")!.note, /critical section of unit 0 restored/);
  const k = rows.find((r) => r.lane === "k")!;
  assert.equal(k.refusedClean, true, k.note);
  assert.match(k.note, /copy area digest=0: the copy area differs/);
});

Deno.test("vm crash: cut right after the backward takeover of raid0; the same grows by mdadm 4.2", async () => {
  intact(
    await runRound({
      name: "ci2",
      lanes: [
        { id: "a", shape: "r5", grow: "mdts", resume: "mdts" },
        { id: "b", shape: "r0", grow: "mdts", resume: "mdts" },
        { id: "c", shape: "r05", grow: "mdts", resume: "mdts" },
        { id: "d", shape: "r05", grow: "mdts", resume: "mdts", holdAt: "unit:1:1" },
        { id: "x", shape: "r5", grow: "mdadm", resume: "mdadm" },
        { id: "y", shape: "r0", grow: "mdadm", resume: "mdadm" },
        { id: "z", shape: "r05", grow: "mdadm", resume: "mdadm" },
      ],
      rule: { kind: "takeover-back:0", lane: "b" },
    }),
  );
});
