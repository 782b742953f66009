/**
 * decideResume on the real mdadm 4.2 crash fixture f_raid5_grow_3to4_crashed (power cut at
 * unit 11 of 16, rec_status 0, the copy area still holding unit 2): where the reshape goes
 * on, what the records and copy area are allowed to say, and what is refused.
 */
import assert from "node:assert/strict";
import { loadCase } from "../meta/edit/harness.ts";
import { containerFromDisks } from "../../../meta/imsm/edit/container.ts";
import { setCurrMigrUnit } from "../../../meta/imsm/edit/records.ts";
import type { MigrationRecord } from "../../../meta/imsm/model.ts";
import { BackupError } from "../../../core/grow/backup.ts";
import { type DecideInput, decideResume, ResumeError } from "../../../core/grow/resume.ts";

const PBA = 128863;
const DEPTH = 2048;

function input(over: { mpbUnit?: number; records?: (MigrationRecord | null)[] } = {}) {
  const disks = loadCase("f_raid5_grow_3to4_crashed");
  const c = containerFromDisks(disks.map((d) => d.parsed));
  if (over.mpbUnit !== undefined) setCurrMigrUnit(c.mpb.volumes[0], over.mpbUnit);
  const record = disks[0].parsed.migrationRecord!;
  const records = (over.records ?? [record, disks[1].parsed.migrationRecord]).map((r, i) => ({
    path: `/dev/vd${"ab"[i]}`,
    record: r,
  }));
  const inp: DecideInput = {
    container: c,
    records,
    readCopyArea: (i, pba, sectors) => {
      assert.equal(pba, PBA);
      const d = disks[i];
      const at = pba * 512 - Number(d.fixture.tailOffset);
      return Promise.resolve(d.fixture.tail.slice(at, at + sectors * 512));
    },
  };
  return { inp, record };
}

function withUnit(r: MigrationRecord, unit: number, status: number): MigrationRecord {
  return {
    ...structuredClone(r),
    recStatus: status,
    currMigrUnitLo: unit,
    dest1stMemberLbaLo: DEPTH * unit,
  };
}

Deno.test("f_crashed resume: unit 11 of 16 (record and MPB agree), nothing to restore", async () => {
  const { inp } = input();
  const d = (await decideResume(inp))!;
  assert.equal(d.volumeName, "vol0");
  assert.equal(d.metadataUnit, 11);
  assert.equal(d.unit, 11);
  assert.equal(d.position, 11 * 6144);
  assert.equal(d.restore.kind, "nothing");
  assert.equal(d.fresh, false);
  assert.deepEqual(d.ignored, []);
});

Deno.test("f_crashed resume: a record one checkpoint ahead of the MPB wins; the older copy loses", async () => {
  const { inp, record } = input({ mpbUnit: 10 });
  inp.records[1].record = withUnit(record, 10, 0);
  const d = (await decideResume(inp))!;
  assert.equal(d.metadataUnit, 10);
  assert.equal(d.unit, 11);
});

Deno.test("f_crashed resume: a metadata checkpoint past the record (another volume's, applied by mdmon) yields to the record", async () => {
  // mdadm 4.2 + mdmon, raid0 + raid5: volume 1 at "Checkpoint : 8" with its record at unit 0
  const { inp, record } = input({ mpbUnit: 11 });
  inp.records[0].record = withUnit(record, 0, 0);
  inp.records[1].record = withUnit(record, 0, 0);
  const d = (await decideResume(inp))!;
  assert.equal(d.metadataUnit, 11);
  assert.equal(d.unit, 0);
  assert.equal(d.restore.kind, "nothing");
  assert.match(
    d.ignored.join("\n"),
    /curr_migr_unit 11 of the metadata: past this migration's record/,
  );
});

Deno.test("f_crashed resume: the metadata at the end with no record of this migration restarts from unit 0", async () => {
  // mdadm 4.2 + mdmon, raid0 + raid5 cut at volume 0's backward takeover: volume 1 at
  // "Checkpoint : 8" (8 units, like volume 0) with an empty record
  const { inp } = input({ mpbUnit: 16 });
  inp.records[0].record = null;
  inp.records[1].record = null;
  const d = (await decideResume(inp))!;
  assert.equal(d.geometry.unit.numUnits, 16);
  assert.equal(d.unit, 0);
  assert.match(d.ignored.join("\n"), /the end, with no record of this migration/);
  // with the record cleared at the end of mdts's own volume, the metadata's last checkpoint
  // (never the end) stands
  const own = input({ mpbUnit: 15 });
  own.inp.records[0].record = null;
  own.inp.records[1].record = null;
  assert.equal((await decideResume(own.inp))!.unit, 15);
});

Deno.test("f_crashed resume: the metadata at the end while the record has a unit in the copy area: restored from it", async () => {
  // mdadm 4.2 + mdmon, raid0 + raid5 cut at volume 0's backward takeover after mdadm backed
  // up volume 1's unit 0: volume 1 at the end by the metadata (volume 0's last checkpoint)
  const { inp, record } = input({ mpbUnit: 16 });
  inp.records[0].record = withUnit(record, 2, 1);
  inp.records[1].record = withUnit(record, 2, 1);
  const d = (await decideResume(inp))!;
  assert.equal(d.restore.kind, "restore");
  assert.equal(d.unit, 3);
  assert.match(d.ignored.join("\n"), /the end, while this migration's record has unit 2/);
});

Deno.test("f_crashed resume: rec_status 1 at unit 2 restores unit 2 from mdadm's copy area (parity)", async () => {
  const { inp, record } = input({ mpbUnit: 2 });
  inp.records[0].record = withUnit(record, 2, 1);
  inp.records[1].record = withUnit(record, 2, 0);
  const d = (await decideResume(inp))!;
  assert.equal(d.restore.kind, "restore");
  if (d.restore.kind !== "restore") return;
  assert.equal(d.restore.unit, 2);
  assert.deepEqual(d.restore.verifiedBy, ["parity"]);
  assert.equal(d.unit, 3);
  assert.equal(d.position, 18432);
});

Deno.test("f_crashed resume: a copy-area record older than the MPB, or damaged, is refused", async () => {
  const { inp, record } = input();
  inp.records[0].record = withUnit(record, 2, 1);
  inp.records[1].record = withUnit(record, 2, 1);
  await assert.rejects(decideResume(inp), (e: unknown) => {
    assert.ok(e instanceof BackupError && e.code === "unit-mismatch", String(e));
    assert.match(e.message, /already unit 11: the copy area is stale; nothing was restored/);
    return true;
  });
  const flipped = input({ mpbUnit: 2 });
  flipped.inp.records[0].record = withUnit(flipped.record, 2, 1);
  flipped.inp.records[1].record = withUnit(flipped.record, 2, 0);
  const read = flipped.inp.readCopyArea;
  flipped.inp.readCopyArea = async (i, pba, sectors) => {
    const b = (await read(i, pba, sectors))!;
    if (i === 2) b[4096] ^= 0x40;
    return b;
  };
  await assert.rejects(decideResume(flipped.inp), (e: unknown) => {
    assert.ok(e instanceof BackupError && e.code === "parity-mismatch", String(e));
    return true;
  });
});

Deno.test("f_crashed resume: another migration's record is ignored when idle, refused when it claims the copy area", async () => {
  const { inp, record } = input();
  const foreign = { ...withUnit(record, 4, 0), blocksPerUnit: 8192 };
  inp.records[0].record = foreign;
  const d = (await decideResume(inp))!;
  assert.equal(d.unit, 11);
  assert.match(d.ignored[0], /\/dev\/vda: blocks_per_unit 8192, this migration has 6144/);
  inp.records[0].record = { ...foreign, recStatus: 1 };
  await assert.rejects(decideResume(inp), (e: unknown) => {
    assert.ok(e instanceof BackupError && e.code === "record-geometry", String(e));
    return true;
  });
});

Deno.test("f_crashed resume: an MPB unit past the end is refused", async () => {
  const { inp } = input({ mpbUnit: 17 });
  await assert.rejects(decideResume(inp), (e: unknown) => {
    assert.ok(e instanceof ResumeError, String(e));
    assert.match(e.message, /volume vol0: curr_migr_unit=17: the migration has 16 units/);
    return true;
  });
});
