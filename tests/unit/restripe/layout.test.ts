/**
 * Address maps: every array sector has exactly one place (two for raid10), every member
 * sector holds exactly one thing, the inverse map agrees, and parity positions follow md.
 */
import assert from "node:assert/strict";
import {
  ALGORITHM,
  checkGeometry,
  contentAt,
  dataDisks,
  imsmGeometry,
  locate,
  parityMember,
  placesOf,
  RAID10_NEAR2,
  type StripeGeometry,
  takeoverGeometry,
} from "../../../core/restripe/layout.ts";

const CHUNK = 8;

function geometries(): StripeGeometry[] {
  const out: StripeGeometry[] = [];
  for (let n = 1; n <= 6; n++) out.push({ level: 0, members: n, chunkSectors: CHUNK, layout: 0 });
  for (let n = 2; n <= 6; n++) {
    out.push({ level: 4, members: n, chunkSectors: CHUNK, layout: 0 });
    for (let a = 0; a <= 5; a++) out.push({ level: 5, members: n, chunkSectors: CHUNK, layout: a });
  }
  for (const n of [2, 4, 6]) {
    out.push({ level: 10, members: n, chunkSectors: CHUNK, layout: RAID10_NEAR2 });
  }
  return out;
}

function name(g: StripeGeometry): string {
  return `raid${g.level}/${g.members}/layout ${g.layout}`;
}

Deno.test("layout: every member sector holds one array sector or parity; the maps are inverse", () => {
  for (const g of geometries()) {
    const rows = g.members * 3; // whole parity rotations
    const seen = new Map<number, number>();
    for (let m = 0; m < g.members; m++) {
      for (let s = 0; s < rows * CHUNK; s++) {
        const c = contentAt(g, m, s);
        if (c.kind === "parity") {
          assert.equal(parityMember(g, c.row), m, name(g));
          continue;
        }
        seen.set(c.arraySector, (seen.get(c.arraySector) ?? 0) + 1);
        const places = placesOf(g, c.arraySector);
        assert.ok(places.some((p) => p.member === m && p.sector === s), `${name(g)} m${m} s${s}`);
      }
    }
    const copies = g.level === 10 ? 2 : 1;
    const arraySectors = rows * CHUNK * dataDisks(g);
    assert.equal(seen.size, arraySectors, name(g));
    for (let a = 0; a < arraySectors; a++) assert.equal(seen.get(a), copies, `${name(g)} a${a}`);
  }
});

Deno.test("layout: parity rotates over every member for raid5 rotating layouts, one parity per row", () => {
  for (const g of geometries()) {
    for (let row = 0; row < g.members * 2; row++) {
      const pd = parityMember(g, row);
      if (g.level === 0 || g.level === 10) {
        assert.equal(pd, null);
        continue;
      }
      let parities = 0;
      for (let m = 0; m < g.members; m++) {
        if (contentAt(g, m, row * CHUNK).kind === "parity") parities++;
      }
      assert.equal(parities, 1, name(g));
    }
  }
});

Deno.test("layout: md's left-asymmetric and parity-last placements (IMSM raid5, takeover)", () => {
  // left-asymmetric, 4 members: row 0 parity on 3, row 1 on 2, row 2 on 1, row 3 on 0
  const g = imsmGeometry(5, 4, 128);
  assert.deepEqual([0, 1, 2, 3, 4].map((r) => parityMember(g, r)), [3, 2, 1, 0, 3]);
  // row 1: chunks 3,4,5 on members 0,1,3 (data skips the parity member, no rotation)
  assert.deepEqual([3, 4, 5].map((c) => locate(g, c * 128).member), [0, 1, 3]);
  assert.deepEqual(locate(g, 12288), { member: 0, sector: 4096 });
  // README of f_crashed: second stripe row of unit 2: 12672 on 0, 12800 on 1, 12928 on 3
  assert.deepEqual(locate(g, 12800), { member: 1, sector: 4224 });
  assert.deepEqual(locate(g, 12928), { member: 3, sector: 4224 });
  // raid0 K members and its raid4/5 parity-last takeover put data in the same places
  const r0 = imsmGeometry(0, 3, 128);
  const t = takeoverGeometry(3, 128);
  assert.equal(t.layout, ALGORITHM.PARITY_N);
  for (let a = 0; a < 128 * 3 * 7; a += 37) assert.deepEqual(locate(t, a), locate(r0, a));
  assert.equal(parityMember(t, 5), 3);
});

Deno.test("layout: raid10 near-2 keeps the copies of a chunk on neighbouring members", () => {
  const g = imsmGeometry(10, 4, 128);
  assert.deepEqual(placesOf(g, 0), [{ member: 0, sector: 0 }, { member: 1, sector: 0 }]);
  assert.deepEqual(placesOf(g, 128 + 5), [{ member: 2, sector: 5 }, { member: 3, sector: 5 }]);
  assert.deepEqual(placesOf(g, 256), [{ member: 0, sector: 128 }, { member: 1, sector: 128 }]);
});

Deno.test("layout: bad geometries are refused with the field named", () => {
  assert.throws(
    () => checkGeometry({ level: 5, members: 3, chunkSectors: 0, layout: 0 }),
    /chunkSectors=0/,
  );
  assert.throws(
    () => checkGeometry({ level: 5, members: 1, chunkSectors: 8, layout: 0 }),
    /members=1/,
  );
  assert.throws(
    () => checkGeometry({ level: 5, members: 3, chunkSectors: 8, layout: 9 }),
    /layout=9/,
  );
  assert.throws(
    () => checkGeometry({ level: 10, members: 4, chunkSectors: 8, layout: 0 }),
    /layout=0/,
  );
  assert.throws(() => contentAt(imsmGeometry(5, 3, 8), 3, 0), /member=3/);
});
