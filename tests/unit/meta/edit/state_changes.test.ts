/**
 * State changes without a fixture: failure, rebuild, level/chunk migrations and second-OCE
 * volume hand-over, checked against mdadm 4.2's rules (spec §5.2, §6, §13) on top of the
 * real fixture b. Every intermediate container must write and re-parse cleanly.
 */
import assert from "node:assert/strict";
import { diskSerial, MAP_STATE, MIGR_TYPE, ORD_REBUILD } from "../../../../meta/imsm/mod.ts";
import {
  addSpare,
  containerFromDisks,
  type ImsmContainer,
  newContainer,
} from "../../../../meta/imsm/edit/container.ts";
import {
  endRebuild,
  failedSerial,
  markDiskFailed,
  markRebuilding,
} from "../../../../meta/imsm/edit/failure.ts";
import {
  advanceCheckpoint,
  beginMigration,
  endMigration,
  initMigrationRecord,
} from "../../../../meta/imsm/edit/migration.ts";
import { addVolume } from "../../../../meta/imsm/edit/volume.ts";
import { prepareWrite } from "../../../../meta/imsm/edit/write.ts";
import { assertWritesSound, loadCase } from "./harness.ts";

const SPARE = { serial: "/dev/vdd", sizeSectors: 131072 };

function fixtureB(): ImsmContainer {
  return containerFromDisks(loadCase("b_raid5_3disk").map((d) => d.parsed));
}

/** Writes, checks the write, and checks the generation went up by one. */
function written(c: ImsmContainer): ImsmContainer {
  const p = prepareWrite(c);
  assertWritesSound(p.writes);
  assert.equal(p.container.mpb.generationNum, (c.mpb.generationNum + 1) >>> 0);
  return p.container;
}

Deno.test("containerFromDisks on b rewrites b byte for byte at generation + 1 only", () => {
  const disks = loadCase("b_raid5_3disk");
  const c = fixtureB();
  c.mpb.generationNum -= 1;
  const w = prepareWrite(c).writes[0];
  const orig = disks[0].parsed;
  assert.deepEqual(w.padding, orig.mpbSectorPadding);
  assert.deepEqual(w.mpb, orig.mpb);
});

Deno.test("failed serial keeps 15 characters at most", () => {
  assert.equal(failedSerial("/dev/vdb"), "/dev/vdb:0");
  assert.equal(failedSerial("ABCDEFGHIJKLMNOP"), "DEFGHIJKLMNOP:0");
  assert.equal(failedSerial("ABCDEFGHIJKLMN").length, 15);
});

Deno.test("raid5 member fails, a spare rebuilds it, the old disk leaves the table", () => {
  let c = written(markDiskFailed(fixtureB(), "/dev/vdb"));
  let vol = c.mpb.volumes[0];
  assert.equal(diskSerial(c.mpb.disks[1]), "/dev/vdb:0");
  assert.equal(c.mpb.disks[1].status, 0x06);
  assert.deepEqual(vol.maps[0].ord, [0, 1 | ORD_REBUILD, 2]);
  assert.equal(vol.maps[0].mapState, MAP_STATE.DEGRADED);
  assert.equal(vol.maps[0].failedDiskNum, 1);
  // failing it again changes nothing
  assert.equal(markDiskFailed(c, "/dev/vdb:0"), c);

  const family = c.mpb.familyNum;
  c = written(markRebuilding(addSpare(c, SPARE), 0, 1, "/dev/vdd", 0x1000));
  vol = c.mpb.volumes[0];
  assert.deepEqual(c.mpb.disks.map(diskSerial), ["/dev/vda", "/dev/vdc", "/dev/vdd"]);
  assert.equal(c.spares.length, 0);
  assert.equal(vol.migrState, 1);
  assert.equal(vol.migrType, MIGR_TYPE.REBUILD);
  assert.deepEqual(vol.maps[0].ord, [0, 2, 1]);
  assert.deepEqual(vol.maps[1].ord, [0, 2 | ORD_REBUILD, 1]);
  assert.equal(vol.maps[0].mapState, MAP_STATE.NORMAL);
  assert.equal(vol.maps[1].mapState, MAP_STATE.DEGRADED);
  assert.equal(c.mpb.familyNum, (family + 0x1000) >>> 0);
  assert.equal(c.mpb.origFamilyNum, family);

  c = written(endRebuild(c, 0));
  vol = c.mpb.volumes[0];
  assert.equal(vol.migrState, 0);
  assert.deepEqual(vol.maps.length, 1);
  assert.deepEqual(vol.maps[0].ord, [0, 2, 1]);
  assert.equal(vol.maps[0].mapState, MAP_STATE.NORMAL);
  assert.equal(vol.maps[0].failedDiskNum, 0xff);
});

Deno.test("two raid5 members failing fail the volume; a raid0 member failing fails it", () => {
  const c = markDiskFailed(markDiskFailed(fixtureB(), "/dev/vda"), "/dev/vdc");
  assert.equal(c.mpb.volumes[0].maps[0].mapState, MAP_STATE.FAILED);
  assert.equal(c.mpb.volumes[0].maps[0].failedDiskNum, 0);
  const a = containerFromDisks(loadCase("a_raid0_2disk").map((d) => d.parsed));
  assert.equal(markDiskFailed(a, "/dev/vda").mpb.volumes[0].maps[0].mapState, MAP_STATE.FAILED);
});

Deno.test("raid10: one disk per mirror pair keeps it degraded, a whole pair fails it", () => {
  const d = containerFromDisks(loadCase("d_raid10_4disk").map((x) => x.parsed));
  // slots: vda vdd | vdb vdc
  const one = markDiskFailed(markDiskFailed(d, "/dev/vda"), "/dev/vdb");
  assert.equal(one.mpb.volumes[0].maps[0].mapState, MAP_STATE.DEGRADED);
  const pair = markDiskFailed(markDiskFailed(d, "/dev/vda"), "/dev/vdd");
  assert.equal(pair.mpb.volumes[0].maps[0].mapState, MAP_STATE.FAILED);
});

Deno.test("chunk migration 64 -> 128 KiB: map[0] new strip, stripes halved, size kept", () => {
  let c = written(beginMigration(fixtureB(), 0, { kind: "chunk", newChunkKiB: 128 }));
  const vol = c.mpb.volumes[0];
  assert.equal(vol.migrType, MIGR_TYPE.GEN_MIGR);
  assert.equal(vol.maps[0].blocksPerStrip, 256);
  assert.equal(vol.maps[1].blocksPerStrip, 128);
  assert.equal(vol.maps[0].numDataStripesLo, 128);
  assert.equal(vol.maps[0].blocksPerMemberLo, 32768 + 2048);
  assert.equal(vol.sizeLow, 65536);
  const rec = initMigrationRecord(c);
  assert.equal(rec.destDepthPerUnit, 2048);
  assert.equal(rec.blocksPerUnit, 4096);
  assert.equal(rec.numMigrUnitsLo, 16);
  c = written(advanceCheckpoint(c, rec, 16).container);
  c = written(endMigration(c, 0));
  assert.equal(c.mpb.volumes[0].maps.length, 1);
  assert.equal(c.mpb.volumes[0].maps[0].blocksPerStrip, 256);
});

Deno.test("raid0 -> raid5 adds the spare at the last slot, capacity unchanged", () => {
  const a = containerFromDisks(loadCase("a_raid0_2disk").map((d) => d.parsed));
  const c = written(
    beginMigration(addSpare(a, { serial: "/dev/vdc", sizeSectors: 131072 }), 0, {
      kind: "level",
      newLevel: 5,
      newDisk: "/dev/vdc",
    }),
  );
  const vol = c.mpb.volumes[0];
  assert.equal(vol.maps[0].raidLevel, 5);
  assert.equal(vol.maps[0].numMembers, 3);
  assert.deepEqual(vol.maps[0].ord, [0, 1, 2]);
  assert.equal(vol.maps[1].raidLevel, 0);
  assert.equal(vol.maps[1].numMembers, 2);
  assert.equal(vol.sizeLow, 65536);
  assert.equal(c.mpb.disks[2].status, 0x02);
});

Deno.test("OCE of a two-volume container: vol1 follows when vol0 ends", () => {
  const cDisks = loadCase("c_raid0_raid5_3disk");
  let c = addSpare(containerFromDisks(cDisks.map((d) => d.parsed)), SPARE);
  c = written(beginMigration(c, 0, { kind: "grow-disks", newDisks: ["/dev/vdd"] }));
  assert.equal(c.mpb.volumes[0].migrState, 1);
  assert.equal(c.mpb.volumes[1].migrState, 0);
  assert.equal(c.mpb.volumes[0].sizeLow, 65536); // 4 x 8 MiB raid0
  c = written(endMigration(c, 0));
  const v1 = c.mpb.volumes[1];
  assert.equal(v1.migrState, 1);
  assert.equal(v1.migrType, MIGR_TYPE.GEN_MIGR);
  assert.deepEqual(v1.maps[0].ord, [0, 1, 2, 3]);
  assert.equal(v1.maps[1].numMembers, 3);
  assert.equal(v1.sizeLow, 3 * 24576); // raid5 over 4: 3 data disks x 12 MiB
  c = written(endMigration(c, 1));
  assert.ok(c.mpb.volumes.every((v) => v.migrState === 0 && v.maps[0].numMembers === 4));
});

Deno.test("default size fills the free region; a second volume takes the rest after the gap", () => {
  const disks = [
    { serial: "A", sizeSectors: 131072 },
    { serial: "B", sizeSectors: 131072 },
  ];
  let c = addVolume(newContainer(disks), {
    name: "v0",
    level: 0,
    members: ["A", "B"],
    sizeKiB: 16384,
    familyNum: 1,
    creationTime: 1n,
  });
  c = written(c);
  c = written(addVolume(c, { name: "v1", level: 1, members: ["A", "B"] }));
  const m = c.mpb.volumes[1].maps[0];
  // v0 holds 16 MiB (32768 sectors) per member, then the 8192-sector gap
  assert.equal(m.pbaOfLba0Lo, 32768 + 8192);
  // free: 120670 - 40960 = 79710 sectors; 128 KiB chunks -> 79616; whole MiB -> 77824
  assert.equal(c.mpb.volumes[1].sizeLow, 77824);
  assert.ok(m.pbaOfLba0Lo + m.blocksPerMemberLo <= 131072 - 2210);
  assert.equal(new TextDecoder().decode(c.mpb.signature.subarray(24, 30)), "1.3.00");
  assert.equal(c.mpb.attributes, 0x80000003);
});
