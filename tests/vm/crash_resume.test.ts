/**
 * The CI sample of the crash matrix (tests/vm/crash_driver.ts; the full run is
 * `deno task test:crash-matrix`): three boots, each growing raid5 3->4, raid0 2->3 and
 * raid0 + raid5 3->4 with mdts and cutting the power once (right after the backup of unit 0
 * is recorded; in the middle of a window of the second volume; right after a raid0 volume
 * went back to raid0), assembled by `-A`, `-I` of each disk and `-A --scan`; then interop
 * (a grow by mdadm 4.2 resumed by mdts, a grow by mdts resumed by mdadm 4.2) and a copy area
 * corrupted after the cut, which assembly must refuse with nothing written.
 */
import assert from "node:assert/strict";
import { type LaneResult, resultsTable, runRound } from "./crash_driver.ts";

function intact(rows: LaneResult[]): void {
  console.log(resultsTable(rows));
  for (const r of rows.filter((x) => x.refusedClean === undefined)) {
    assert.ok(r.resumed, `${r.round}/${r.lane} did not finish: ${r.note}`);
    assert.equal(r.bytesDiffering, 0, `${r.round}/${r.lane}: bytes differ: ${r.note}`);
  }
}

Deno.test("vm crash: cut after the unit-0 backup record; -A, -I, -A --scan resume all three shapes", async () => {
  intact(
    await runRound({
      name: "ci1",
      lanes: [
        { id: "a", shape: "r5", grow: "mdts", resume: "mdts", assemble: "explicit" },
        { id: "b", shape: "r0", grow: "mdts", resume: "mdts", assemble: "incremental" },
        { id: "c", shape: "r05", grow: "mdts", resume: "mdts", assemble: "scan" },
      ],
      rule: { kind: "ckpt:4", lane: "a" },
    }),
  );
});

Deno.test("vm crash: cut mid-window of the second volume (raid0 + raid5)", async () => {
  intact(
    await runRound({
      name: "ci2",
      lanes: [
        { id: "a", shape: "r5", grow: "mdts", resume: "mdts" },
        { id: "b", shape: "r0", grow: "mdts", resume: "mdts" },
        { id: "c", shape: "r05", grow: "mdts", resume: "mdts" },
      ],
      rule: { kind: "pos:50", lane: "c" },
    }),
  );
});

Deno.test("vm crash: cut right after the backward takeover of raid0", async () => {
  intact(
    await runRound({
      name: "ci3",
      lanes: [
        { id: "a", shape: "r5", grow: "mdts", resume: "mdts" },
        { id: "b", shape: "r0", grow: "mdts", resume: "mdts" },
        { id: "c", shape: "r05", grow: "mdts", resume: "mdts" },
      ],
      rule: { kind: "takeover-back:0", lane: "b" },
    }),
  );
});

Deno.test("vm crash: interop both ways with mdadm 4.2; a corrupted copy area is refused", async () => {
  const rows = await runRound({
    name: "interop",
    lanes: [
      { id: "i", shape: "r5", grow: "mdadm", resume: "mdts" },
      { id: "j", shape: "r5", grow: "mdts", resume: "mdadm" },
      { id: "k", shape: "r5", grow: "mdts", resume: "mdts", corruptCopyArea: true, delayMs: 8000 },
    ],
    rule: { kind: "ckpt:4", lane: "k" },
  });
  intact(rows);
  const k = rows.find((r) => r.lane === "k")!;
  assert.equal(k.refusedClean, true, k.note);
  assert.match(k.note, /copy area/);
});
