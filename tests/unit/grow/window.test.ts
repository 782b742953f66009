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
  mdadmWindow,
  nextWindow,
  type Window,
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
