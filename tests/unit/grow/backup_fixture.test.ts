/**
 * The copy area of the real mdadm 4.2 crash fixture f_raid5_grow_3to4_crashed: it holds
 * migration unit 2 (volume sectors 12288..18431) in the 4-disk left-asymmetric layout. Our
 * backup of that unit, computed from the test pattern laid out in the OLD 3-disk geometry,
 * must equal those bytes on every disk; restoring it must put the unit where md's new
 * layout wants it; damaged, stale or foreign copy areas must be refused.
 */
import assert from "node:assert/strict";
import { loadCase } from "../meta/edit/harness.ts";
import { containerFromDisks } from "../../../meta/imsm/edit/container.ts";
import { componentSectors } from "../../../meta/imsm/edit/migration.ts";
import { migrationGeometry } from "../../../core/grow/geometry.ts";
import {
  BackupError,
  buildBackup,
  copyAreaImage,
  planRestore,
  type RestoreInput,
} from "../../../core/grow/backup.ts";
import { criticalUnits } from "../../../core/grow/window.ts";
import { gatherArray, type MemberReader, SECTOR, stripeRows } from "../../../core/restripe/copy.ts";
import type { MigrationRecord } from "../../../meta/imsm/model.ts";
import { testPattern } from "./pattern.ts";

const PBA = 128863;
const DEPTH = 2048;

function crashed() {
  const disks = loadCase("f_raid5_grow_3to4_crashed");
  const c = containerFromDisks(disks.map((d) => d.parsed));
  const g = migrationGeometry(c.mpb, 0, componentSectors(c.mpb, c.mpb.volumes[0]));
  const copyArea = disks.map((d) => {
    const at = PBA * 512 - Number(d.fixture.tailOffset);
    return d.fixture.tail.slice(at, at + DEPTH * SECTOR);
  });
  const record = disks[0].parsed.migrationRecord!;
  return { c, g, copyArea, record };
}

function readerOf(members: Uint8Array[]): MemberReader {
  return (m, sector, sectors) =>
    Promise.resolve(members[m]?.slice(sector * SECTOR, (sector + sectors) * SECTOR) ?? null);
}

/** Members holding the 32 MiB pattern in the old 3-disk raid5 layout (4th disk blank). */
function oldMembers(g: ReturnType<typeof crashed>["g"]): Uint8Array[] {
  const m = stripeRows(g.source, testPattern(0, 65536), 0);
  return [...m, new Uint8Array(m[0].length)];
}

Deno.test("f_crashed: geometry is raid5 3->4, 64 KiB, units of 6144 sectors, units 0-2 critical", () => {
  const { g, record } = crashed();
  assert.deepEqual(
    [g.source.members, g.dest.members, g.source.chunkSectors, g.dest.layout],
    [3, 4, 128, 0],
  );
  assert.equal(g.unit.blocksPerUnit, record.blocksPerUnit);
  assert.equal(g.unit.destDepth, record.destDepthPerUnit);
  assert.equal(g.unit.numUnits, record.numMigrUnitsLo);
  assert.deepEqual(criticalUnits(g.unit), [0, 1, 2]);
});

Deno.test("f_crashed: mdadm's copy area is unit 2 in the destination layout, byte for byte", async () => {
  const { g, copyArea } = crashed();
  const fromPattern = copyAreaImage(g.dest, DEPTH, 2 * 6144, testPattern(12288, 6144));
  const fromOldLayout = await buildBackup(g, 2, readerOf(oldMembers(g)));
  for (let i = 0; i < 4; i++) {
    assert.ok(fromPattern[i].every((b, k) => b === copyArea[i][k]), `disk ${i} vs pattern image`);
    assert.ok(
      fromOldLayout[i].every((b, k) => b === copyArea[i][k]),
      `disk ${i} vs old-layout backup`,
    );
  }
  // spot checks the README states: disk0 starts with LBA 12288, disk3 has row 0's parity
  const head = (i: number) => new TextDecoder().decode(copyArea[i].subarray(0, 25));
  assert.equal(head(0), "IMSMTEST LBA=000000012288");
  assert.equal(head(2), "IMSMTEST LBA=000000012544");
  // parity of three pattern sectors: the common prefix survives the XOR, the digits do not
  assert.doesNotMatch(head(3), /^IMSMTEST LBA=\d{12}$/);
  // the other units' backups differ: the bytes pin unit 2
  const unit1 = await buildBackup(g, 1, readerOf(oldMembers(g)));
  assert.ok(!unit1[0].every((b, k) => b === copyArea[0][k]));
});

function asInCopyArea(r: MigrationRecord, unit: number): MigrationRecord {
  return {
    ...structuredClone(r),
    recStatus: 1,
    currMigrUnitLo: unit,
    dest1stMemberLbaLo: DEPTH * unit,
  };
}

function restoreInput(over: Partial<RestoreInput> = {}): RestoreInput {
  const { c, g, copyArea, record } = crashed();
  return {
    geometry: g,
    family: c.mpb.familyNum,
    volumeUnit: 2,
    expectedCopyAreaPba: PBA,
    record: asInCopyArea(record, 2),
    copyArea,
    ...over,
  };
}

Deno.test("f_crashed: restore of unit 2 writes the new-layout rows 32..47 of every slot", async () => {
  const plan = await planRestore(restoreInput());
  assert.equal(plan.kind, "restore");
  if (plan.kind !== "restore") return;
  assert.deepEqual(plan.verifiedBy, ["parity"]);
  assert.equal(plan.resumeAt, 18432);
  assert.equal(plan.nextUnit, 3);
  // after the writes, reading the new layout gives the pattern for the whole unit
  const { g } = crashed();
  const members = oldMembers(g);
  for (const w of plan.writes) {
    assert.equal(w.sector, 4096);
    assert.equal(w.diskIndex, w.slot);
    members[w.slot].set(w.data, w.sector * SECTOR);
  }
  const back = await gatherArray(g.dest, readerOf(members), 12288, 6144);
  assert.deepEqual(back, testPattern(12288, 6144));
  // rec_status 0 (the fixture as it is): nothing to do
  const { record } = crashed();
  assert.equal((await planRestore(restoreInput({ record }))).kind, "nothing");
});

async function refusedWith(inp: RestoreInput, code: string): Promise<void> {
  await assert.rejects(planRestore(inp), (e: unknown) => {
    assert.ok(e instanceof BackupError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

Deno.test("f_crashed: flipped bytes in any disk's copy area are refused (parity)", async () => {
  for (const [disk, offset] of [[0, 0], [1, 700_000], [2, 512 * 2047 + 511], [3, 65536]]) {
    const inp = restoreInput();
    inp.copyArea[disk]![offset] ^= 0x20;
    await refusedWith(inp, "parity-mismatch");
  }
});

Deno.test("f_crashed: one unreadable copy area is rebuilt from parity, two are refused", async () => {
  const inp = restoreInput();
  const lost = inp.copyArea[1]!;
  inp.copyArea[1] = null;
  const plan = await planRestore(inp);
  assert.ok(plan.kind === "restore");
  assert.deepEqual(plan.writes[1].data, lost);
  const two = restoreInput();
  two.copyArea[0] = null;
  two.copyArea[3] = null;
  await refusedWith(two, "too-many-missing");
});

Deno.test("f_crashed: a record that does not fit the metadata is refused", async () => {
  const { record } = crashed();
  await refusedWith(restoreInput({ family: 0x12345678 }), "family-mismatch");
  await refusedWith(restoreInput({ volumeUnit: 3 }), "unit-mismatch");
  await refusedWith(restoreInput({ expectedCopyAreaPba: PBA - 1 }), "record-geometry");
  const lba = asInCopyArea(record, 2);
  lba.dest1stMemberLbaLo = 0;
  await refusedWith(restoreInput({ record: lba }), "record-geometry");
  await refusedWith(
    restoreInput({ record: asInCopyArea(record, 16), volumeUnit: 16 }),
    "unit-out-of-range",
  );
});

Deno.test("f_crashed: the unit-2 copy area claimed for unit 3 is stale against the array", async () => {
  const { g, copyArea } = crashed();
  // array state at unit 3 not yet started: units 0..2 in the new layout, the rest old
  const members = oldMembers(g);
  const done = stripeRows(g.dest, testPattern(0, 18432), 0);
  for (let m = 0; m < 4; m++) members[m].set(done[m], 0);
  const { record } = crashed();
  const inp = restoreInput({
    record: asInCopyArea(record, 3),
    volumeUnit: 3,
    copyArea,
    readMembers: readerOf(members),
  });
  await refusedWith(inp, "stale-copy-area");
  // the true unit-3 backup of that state passes the same check
  const good = await buildBackup(g, 3, readerOf(members));
  const plan = await planRestore({ ...inp, copyArea: good });
  assert.ok(plan.kind === "restore");
  assert.deepEqual(plan.verifiedBy, ["parity", "array"]);
});
