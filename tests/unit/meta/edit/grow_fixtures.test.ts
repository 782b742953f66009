/**
 * The f/g fixture chain: b's raid5 with a spare added (f0), OCE 3->4 running (f_live),
 * interrupted (f_crashed) and completed (g). Each state is reached from the previous one with
 * the editor; injected inputs are mdadm's random family number and creation time, the
 * generation (how many writes mdmon made) and the checkpoint unit mdadm had reached. The
 * copy area holds volume data written by the grow process, so it is taken from the fixture.
 */
import assert from "node:assert/strict";
import type { ImsmContainer } from "../../../../meta/imsm/edit/container.ts";
import { addSpare, newContainer } from "../../../../meta/imsm/edit/container.ts";
import { addVolume } from "../../../../meta/imsm/edit/volume.ts";
import {
  advanceCheckpoint,
  beginMigration,
  beginResync,
  endMigration,
  initMigrationRecord,
} from "../../../../meta/imsm/edit/migration.ts";
import { markClean, markDirty } from "../../../../meta/imsm/edit/state.ts";
import type { MigrationRecord } from "../../../../meta/imsm/mod.ts";
import { caseMpb, DiskTails, loadCase, type LoadedDisk, newDisks } from "./harness.ts";

const MEMBERS = ["/dev/vda", "/dev/vdb", "/dev/vdc"];
const ALL = [...MEMBERS, "/dev/vdd"];
/** Copy area: sectors 128863 .. 128863+2048 of each disk, as tail byte offsets. */
const TAIL_FIRST_SECTOR = 122880;
const COPY_AREA: [number, number] = [
  (128863 - TAIL_FIRST_SECTOR) * 512,
  (128863 + 2048 - TAIL_FIRST_SECTOR) * 512,
];

function withGeneration(c: ImsmContainer, generation: number): ImsmContainer {
  return { ...c, mpb: { ...c.mpb, generationNum: generation - 1 } };
}

/** f0: like b, the volume dirty after the pattern was written, /dev/vdd added as a spare. */
function buildF0(disks: LoadedDisk[], tails: DiskTails): ImsmContainer {
  const ref = caseMpb(disks);
  let c = tails.write(newContainer(newDisks(disks.slice(0, 3))));
  c = tails.write(addVolume(c, {
    name: "vol0",
    level: 5,
    members: MEMBERS,
    chunkKiB: 64,
    sizeKiB: 16384,
    familyNum: ref.familyNum,
    creationTime: ref.creationTime,
  }));
  c = tails.write(beginResync(c, 0));
  c = markDirty(markClean(endMigration(c, 0), 0), 0);
  const vdd = newDisks(disks)[3];
  return tails.write(withGeneration(addSpare(c, vdd), ref.generationNum));
}

Deno.test("f0: raid5 + free spare: members byte-exact, spare record with its own family", () => {
  const disks = loadCase("f0_raid5_3disk_plus_spare");
  const tails = new DiskTails(disks);
  const c = buildF0(disks, tails);
  assert.equal(c.spares.length, 1);
  tails.assertMatches("f0");
});

/** The grow chain from f0 up to checkpoint `unit`, the record written to slots 0 and 1. */
function growTo(
  c: ImsmContainer,
  tails: DiskTails,
  units: { unit: number; generation: number }[],
): { c: ImsmContainer; record: MigrationRecord } {
  c = tails.write(beginMigration(c, 0, { kind: "grow-disks", newDisks: ["/dev/vdd"] }));
  let record = initMigrationRecord(c);
  for (const s of ["/dev/vda", "/dev/vdb"]) tails.writeRecord(s, record);
  c = markClean(c, 0);
  for (const u of units) {
    const step = advanceCheckpoint(c, record, u.unit);
    record = step.record;
    for (const s of ["/dev/vda", "/dev/vdb"]) tails.writeRecord(s, record);
    c = tails.write(withGeneration(step.container, u.generation));
  }
  for (const s of ALL) tails.copyFromFixture(s, COPY_AREA[0], COPY_AREA[1]);
  return { c, record };
}

Deno.test("f_live: OCE 3->4 at unit 4 (vdd read a write later, unit 5): byte-exact", () => {
  const f0 = loadCase("f0_raid5_3disk_plus_spare");
  const disks = loadCase("f_raid5_grow_3to4_live");
  const tails = new DiskTails(disks);
  const start = buildF0(f0, new DiskTails(f0));
  // the f0 state carries over: start the f chain on fresh tails holding f0's bytes
  for (const d of f0) tails.tails.set(d.fixture.device, d.fixture.tail.slice());
  const gen = caseMpb(disks, "/dev/vda").generationNum;
  const { record } = growTo(start, tails, [{ unit: 4, generation: gen }]);
  assert.equal(record.numMigrUnitsLo, 16);
  tails.assertMatches("f_live", MEMBERS);
  // vdd was read after one more checkpoint write
  growTo(start, tails, [{ unit: 4, generation: gen }, { unit: 5, generation: gen + 1 }]);
  tails.assertMatches("f_live", ["/dev/vdd"]);
});

Deno.test("f_crashed then g: checkpoint 11, then the migration ends: byte-exact", () => {
  const f0 = loadCase("f0_raid5_3disk_plus_spare");
  const crashed = loadCase("f_raid5_grow_3to4_crashed");
  const tails = new DiskTails(crashed);
  for (const d of f0) tails.tails.set(d.fixture.device, d.fixture.tail.slice());
  const start = buildF0(f0, new DiskTails(f0));
  const gen = caseMpb(crashed).generationNum;
  const { c } = growTo(start, tails, [{ unit: 11, generation: gen }]);
  tails.assertMatches("f_crashed");

  const g = loadCase("g_raid5_after_grow_4disk");
  const gTails = new DiskTails(g);
  for (const d of crashed) gTails.tails.set(d.fixture.device, tails.tails.get(d.fixture.device)!);
  const done = endMigration(c, 0);
  assert.equal(done.mpb.volumes[0].maps.length, 1);
  gTails.write(withGeneration(done, caseMpb(g).generationNum));
  gTails.assertMatches("g");
});
