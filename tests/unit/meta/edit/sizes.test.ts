/** mdadm 4.2 size rules against the values the fixtures carry (spec §10 table). */
import assert from "node:assert/strict";
import {
  copyAreaPba,
  destDepthPerUnit,
  grownArraySize,
  largestFreeRegion,
  memberReservation,
  numMigrationUnits,
  spareReservation,
  usableSectors,
  volumeGeometry,
} from "../../../../meta/imsm/sizes.ts";
import { loadCase } from "./harness.ts";

Deno.test("volume geometry of every fixture volume", () => {
  const cases: [string, number, [0 | 1 | 5 | 10, number, number, number]][] = [
    ["a_raid0_2disk", 0, [0, 2, 128, 16384]],
    ["b_raid5_3disk", 0, [5, 3, 64, 16384]],
    ["c_raid0_raid5_3disk", 0, [0, 3, 128, 8192]],
    ["c_raid0_raid5_3disk", 1, [5, 3, 64, 12288]],
    ["d_raid10_4disk", 0, [10, 4, 64, 16384]],
    ["e_raid1_2disk", 0, [1, 2, 64, 16384]],
  ];
  for (const [name, v, args] of cases) {
    const vol = loadCase(name)[0].parsed.mpb.volumes[v];
    const g = volumeGeometry(...args);
    const map = vol.maps[0];
    assert.deepEqual(
      [g.arraySectors, g.blocksPerMember, g.numDataStripes, g.blocksPerStrip],
      [vol.sizeLow, map.blocksPerMemberLo, map.numDataStripesLo, map.blocksPerStrip],
      `${name} volume ${v}`,
    );
  }
});

Deno.test("raid0 with an odd MiB split still rounds per data disk", () => {
  // 3 members x 1000 KiB: 1000 KiB is not a whole MiB -> nothing per member
  assert.equal(volumeGeometry(0, 3, 64, 1000).arraySectors, 0);
  const g = volumeGeometry(0, 3, 64, 3000); // 2 MiB per member after rounding
  assert.equal(g.arraySectors, 3 * 4096);
  assert.equal(g.blocksPerMember, 4096 + 2048);
});

Deno.test("reservations: 10402 for members, capped by the real remainder; spares 4258", () => {
  const member = { totalSectors: 131072, volumeExtents: [{ start: 0, size: 32768 }], spare: false };
  assert.equal(memberReservation(member, 2), 10402);
  const tight = {
    totalSectors: 131072,
    volumeExtents: [{ start: 0, size: 131072 - 5001 }],
    spare: false,
  };
  assert.equal(memberReservation(tight, 2), 5000);
  assert.equal(spareReservation([member], 2), 4258);
  assert.equal(spareReservation([tight], 2), 4258);
  assert.equal(spareReservation([], 2), 10402);
  assert.equal(usableSectors(131072, false), 120670);
  assert.equal(usableSectors(131072, true), 128862);
});

Deno.test("free region: whole disk first, then after the first volume plus the gap", () => {
  const empty = { totalSectors: 131072, volumeExtents: [], spare: false };
  assert.deepEqual(largestFreeRegion([empty, empty], 2), { start: 0, sizeSectors: 120670 });
  const used = { totalSectors: 131072, volumeExtents: [{ start: 0, size: 16384 }], spare: false };
  assert.deepEqual(largestFreeRegion([used, used, used], 2), {
    start: 24576,
    sizeSectors: 120670 - 24576,
  });
  // a smaller disk bounds the region for all
  const small = { totalSectors: 65536, volumeExtents: [], spare: false };
  assert.deepEqual(largestFreeRegion([empty, small], 2), { start: 0, sizeSectors: 65536 - 10402 });
  const full = { totalSectors: 131072, volumeExtents: [{ start: 0, size: 120670 }], spare: false };
  assert.equal(largestFreeRegion([full], 2), undefined);
});

Deno.test("migration units of the OCE 3->4 fixture", () => {
  const rec = loadCase("f_raid5_grow_3to4_live")[0].parsed.migrationRecord!;
  assert.equal(destDepthPerUnit(128, 128), rec.destDepthPerUnit);
  assert.equal(destDepthPerUnit(128, 128) * 3, rec.blocksPerUnit);
  assert.equal(numMigrationUnits(32768, 3, 6144), rec.numMigrUnitsLo);
  assert.equal(copyAreaPba(131072), rec.ckptAreaPbaLo);
  assert.equal(grownArraySize(5, 4, 256, 128), rec.postMigrVolCapLo);
  assert.equal(destDepthPerUnit(1536, 128), 1536);
});
