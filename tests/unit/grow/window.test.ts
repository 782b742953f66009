/**
 * Windows: mdadm 4.2's sequence reproduced exactly (suspend_hi values of 05_grow_child.trace
 * for vol0 raid5 3->4 and vol1 raid0 3->4), and mdts's wider windows never exceed the safe
 * bound: md's write front stays at or below the old data of the window start.
 */
import assert from "node:assert/strict";
import { unitGeometry } from "../../../core/grow/geometry.ts";
import {
  borderAt,
  checkpointUnit,
  criticalUnits,
  DEFAULT_TUNING,
  holdPoint,
  holdWindow,
  isTrapFree,
  mdadmWindow,
  nextWindow,
  type Window,
  windowChain,
} from "../../../core/grow/window.ts";
import { imsmGeometry, takeoverGeometry } from "../../../core/restripe/layout.ts";

const R5_3TO4 = unitGeometry(imsmGeometry(5, 3, 128), imsmGeometry(5, 4, 128), 2, 3, 32768);
const R0_3TO4 = unitGeometry(takeoverGeometry(3, 128), imsmGeometry(0, 4, 128), 3, 4, 32768);

function run(u: typeof R5_3TO4, next: (unit: number) => Window): Window[] {
  const out: Window[] = [];
  for (let unit = 0; unit < u.numUnits;) {
    const w = next(unit);
    out.push(w);
    unit = checkpointUnit(u, w.end);
  }
  return out;
}

Deno.test("window: mdadm's suspend_hi sequence for raid5 3->4 and raid0 3->4 (trace 05)", () => {
  const r5 = run(R5_3TO4, (k) => mdadmWindow(R5_3TO4, k)).map((w) => w.end);
  const want5 = [];
  for (let k = 1; k <= 12; k++) want5.push(6144 * k);
  want5.push(86016, 98304);
  assert.deepEqual(r5, want5);
  const r0 = run(R0_3TO4, (k) => mdadmWindow(R0_3TO4, k)).map((w) => w.end);
  assert.deepEqual(r0, Array.from({ length: 16 }, (_, k) => 8192 * (k + 1)));
  assert.deepEqual(criticalUnits(R5_3TO4), [0, 1, 2]);
  assert.deepEqual(criticalUnits(R0_3TO4), [0, 1, 2, 3]);
  assert.deepEqual([0, 1, 2, 3, 12].map((k) => borderAt(R5_3TO4, k * 6144)), [
    0,
    1024,
    2048,
    3072,
    12288,
  ]);
});

Deno.test("window: critical units run alone; wider windows respect the safe bound everywhere", () => {
  const cases = [
    R5_3TO4,
    R0_3TO4,
    unitGeometry(imsmGeometry(5, 3, 128), imsmGeometry(5, 5, 128), 2, 4, 32768),
    unitGeometry(takeoverGeometry(2, 256), imsmGeometry(0, 4, 256), 2, 4, 65536),
    unitGeometry(takeoverGeometry(2, 8), imsmGeometry(0, 3, 8), 2, 3, 4096),
  ];
  for (const u of cases) {
    for (const speed of [undefined, 1e4, 1e6, 1e9]) {
      const ws = run(
        u,
        (k) => nextWindow(u, k, { ...DEFAULT_TUNING, speedSectorsPerSecond: speed }),
      );
      assert.equal(ws.at(-1)!.end, u.maxPosition);
      for (const w of ws) {
        if (w.critical) assert.equal(w.units, 1);
        // md writes new member sectors up to end/newData; old data of start begins at
        // alignDown(start, old stripe)/oldData: the first must not pass the second
        if (!w.critical) {
          const oldStart = (w.start - (w.start % u.oldStripeSectors)) / u.oldDataDisks;
          assert.ok(Math.ceil(w.end / u.newDataDisks) <= oldStart, `${w.start}..${w.end}`);
        }
      }
    }
  }
});

Deno.test("window: the measured speed sets the width (about targetSeconds per window), capped", () => {
  const slow = nextWindow(R5_3TO4, 12, { targetSeconds: 2, speedSectorsPerSecond: 3072 });
  assert.equal(slow.units, 1);
  const fast = nextWindow(R5_3TO4, 12, { targetSeconds: 2, speedSectorsPerSecond: 1e6 });
  assert.equal(fast.units, 4); // safe bound 12288 / 2048 = 6 units, but only 4 are left
  const mid = nextWindow(R5_3TO4, 8, { targetSeconds: 2, speedSectorsPerSecond: 12288 });
  assert.equal(mid.units, 4);
  assert.equal(mid.safeUnits, 4);
  const capped = nextWindow(R5_3TO4, 8, {
    targetSeconds: 2,
    speedSectorsPerSecond: 1e9,
    maxUnits: 2,
  });
  assert.equal(capped.units, 2);
  assert.throws(() => nextWindow(R5_3TO4, 16, DEFAULT_TUNING), /outside 0..15/);
});

// raid0 3 -> 4 at 128 KiB as md runs it (raid4 4 -> 5): old row 768, md step 1024 sectors
const R0_3TO4_128K = unitGeometry(takeoverGeometry(3, 256), imsmGeometry(0, 4, 256), 3, 4, 16384);

Deno.test("holdPoint: md is held past a unit border inside an old stripe row only where safe", () => {
  const u = R0_3TO4_128K;
  assert.equal(u.oldStripeSectors, 768);
  assert.equal(u.reshapeStepSectors, 1024);
  assert.equal(u.blocksPerUnit, 8192);
  // unit 1 starts inside old row [7680, 8448): md goes on to 9216 (a multiple of 768 and 1024)
  assert.equal(holdPoint(u, 8192, 8192), 9216);
  // ...which keeps md's write front (9216 / 4 = 2304) below the old data of 8192 (7680 / 3)
  assert.ok(9216 / 4 <= 7680 / 3);
  // a non-critical window from 0 is checked from 0: md may not pass 8192 there
  assert.equal(holdPoint(u, 0, 8192), 8192);
  // a border on a row: nothing to do
  assert.equal(holdPoint(u, 24576, 24576), 24576);
  // the last window ends the reshape; one before it is never extended to the end
  assert.equal(holdPoint(u, 65536, 65536), 65536);
  assert.equal(holdPoint(u, 57344, 57344), 57344 + 1024);
  const short = unitGeometry(takeoverGeometry(3, 256), imsmGeometry(0, 4, 256), 3, 4, 14592);
  assert.equal(short.maxPosition, 58368);
  assert.equal(holdPoint(short, 57344, 57344), 57344, "58368 is the end: md would finish");
  // raid5 3 -> 4 at 64 KiB: unit borders are rows already
  for (let k = 0; k <= R5_3TO4.numUnits; k++) {
    const at = k * R5_3TO4.blocksPerUnit;
    assert.equal(holdPoint(R5_3TO4, at, at), at);
  }
});

Deno.test("holdPoint: refuses to go past what a redo from the checkpoint still reads", () => {
  // raid0 5 -> 6 at 128 KiB: unit 1 (12288) is in old row [11520, 12800); the next point
  // that is both a row and an md step is 15360, whose write front 2560 passes the old data
  // of 12288 (11520 / 5 = 2304): md stays at 12288
  const u = unitGeometry(takeoverGeometry(5, 256), imsmGeometry(0, 6, 256), 5, 6, 16384);
  assert.equal(holdPoint(u, 12288, 12288), 12288);
  // a non-critical window is checked from its start: from 73728 md may not pass 86016's
  // row end, but from 86016 itself it may
  assert.equal(holdPoint(u, 73728, 86016), 86016);
  assert.equal(holdPoint(u, 86016, 86016), 92160);
  // every point returned is a row and an md step, or the asked end
  for (const redo of [0, 8192, 12288, 24576, 36864, 49152]) {
    for (let end = redo; end <= u.maxPosition; end += u.blocksPerUnit) {
      const h = holdPoint(u, redo, end);
      const aligned = h % u.oldStripeSectors === 0 && h % u.reshapeStepSectors === 0;
      assert.ok(h === end || aligned, `${redo}/${end} -> ${h}`);
      if (h > end) assert.ok(Math.ceil(h / 6) <= (redo - (redo % 1280)) / 5);
    }
  }
});

Deno.test("holdWindow: raid0 3->4 windows of any width are held trap-free, within the safe bound", () => {
  const u = R0_3TO4_128K;
  for (const speed of [undefined, 5_000, 50_000, 500_000]) {
    const holds: number[] = [];
    for (let unit = 0; unit < u.numUnits;) {
      const w = holdWindow(
        u,
        nextWindow(u, unit, { ...DEFAULT_TUNING, speedSectorsPerSecond: speed }),
      );
      assert.ok(
        isTrapFree(u, w.hold),
        `speed ${speed}: md held at ${w.hold} (window ${w.start}-${w.end})`,
      );
      assert.ok(w.hold >= w.end && w.end > w.start);
      const redo = w.critical ? w.end : w.start;
      if (w.hold > w.end) assert.ok(w.hold / 4 <= (redo - (redo % 768)) / 3);
      holds.push(w.hold);
      unit = checkpointUnit(u, w.end);
    }
    assert.equal(holds.at(-1), u.maxPosition);
  }
});

Deno.test("windowChain: one window where every hold is trap-free; wide grows chain up to the next trap-free hold", () => {
  const chains = (u: typeof R5_3TO4, speed?: number) => {
    const out: (Window & { hold: number })[][] = [];
    for (let unit = 0; unit < u.numUnits;) {
      const c = windowChain(u, unit, { ...DEFAULT_TUNING, speedSectorsPerSecond: speed });
      out.push(c);
      unit = checkpointUnit(u, c[c.length - 1].end);
    }
    return out;
  };
  // the matrix shapes: a chain is the window holdWindow gives, as before chains existed
  for (const u of [R5_3TO4, R0_3TO4, R0_3TO4_128K]) {
    for (const speed of [undefined, 50_000]) {
      for (const c of chains(u, speed)) {
        assert.equal(c.length, 1);
        const tuning = { ...DEFAULT_TUNING, speedSectorsPerSecond: speed };
        assert.deepEqual(c[0], holdWindow(u, nextWindow(u, c[0].unit, tuning)));
      }
    }
  }
  // raid5 6->7, 64 KiB chunks: md cannot leave unit 0's window on a row border (a redo of
  // unit 1 still reads the old data there), so unit 1's window runs under the same range
  const wide = unitGeometry(imsmGeometry(5, 6, 128), imsmGeometry(5, 7, 128), 5, 6, 32768);
  const all = chains(wide);
  const first = all[0];
  assert.deepEqual(first.map((w) => [w.unit, w.end, w.hold]), [[0, 12288, 12288], [
    1,
    24576,
    26880,
  ]]);
  assert.ok(!isTrapFree(wide, first[0].hold) && isTrapFree(wide, first[1].hold));
  for (const c of all) {
    // every chain ends trap-free, every window before its end is held inside a row, and the
    // chain's windows follow each other without a gap
    assert.ok(isTrapFree(wide, c[c.length - 1].hold));
    c.slice(0, -1).forEach((w) => assert.ok(!isTrapFree(wide, w.hold)));
    c.slice(1).forEach((w, i) => assert.equal(w.start, c[i].end));
  }
  assert.equal(all.at(-1)!.at(-1)!.hold, wide.maxPosition);
});
