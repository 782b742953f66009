/**
 * raid0 OCE copy areas carry no parity: mdts's digest in the record filler (mdadm leaves it
 * zero and keeps it) makes a torn or corrupted one detectable; without a digest the array
 * cross-check catches a stale one.
 */
import assert from "node:assert/strict";
import {
  addSpare,
  addVolume,
  beginMigration,
  componentSectors,
  initMigrationRecord,
  newContainer,
} from "../../../meta/imsm/edit/mod.ts";
import { migrationGeometry } from "../../../core/grow/geometry.ts";
import { BackupError, backupRecord, buildBackup, planRestore } from "../../../core/grow/backup.ts";
import { type MemberReader, SECTOR, stripeRows } from "../../../core/restripe/copy.ts";
import { testPattern } from "./pattern.ts";

function raid0Grow() {
  const disk = (n: string) => ({ serial: `/dev/${n}`, sizeSectors: 131072 });
  let c = newContainer([disk("vda"), disk("vdb")]);
  c = addVolume(c, {
    name: "vol0",
    level: 0,
    members: ["/dev/vda", "/dev/vdb"],
    chunkKiB: 128,
    sizeKiB: 16384,
    familyNum: 0x77,
    creationTime: 1n,
  });
  c = addSpare(c, disk("vdc"));
  c = beginMigration(c, 0, { kind: "grow-disks", newDisks: ["/dev/vdc"] });
  const g = migrationGeometry(c.mpb, 0, componentSectors(c.mpb, c.mpb.volumes[0]));
  const old = stripeRows(g.source, testPattern(0, 65536), 0).slice(0, 2);
  const members = [...old, new Uint8Array(old[0].length)];
  const read: MemberReader = (m, s, n) =>
    Promise.resolve(members[m]?.slice(s * SECTOR, (s + n) * SECTOR) ?? null);
  return { c, g, read, record: initMigrationRecord(c) };
}

Deno.test("raid0 2->3: digest-verified restore, flipped byte refused", async () => {
  const { c, g, read, record } = raid0Grow();
  assert.deepEqual([g.dest.level, g.dest.members, g.unit.destDepth, g.unit.blocksPerUnit], [
    0,
    3,
    2048,
    6144,
  ]);
  const images = await buildBackup(g, 0, read);
  const rec = backupRecord(record, 0, images);
  const inp = {
    geometry: g,
    family: c.mpb.familyNum,
    volumeUnit: 0,
    expectedCopyAreaPba: 131072 - 2209,
    record: rec,
    copyArea: images.map((x) => x.slice()),
  };
  const plan = await planRestore(inp);
  assert.ok(plan.kind === "restore");
  assert.deepEqual(plan.verifiedBy, ["digest"]);
  inp.copyArea[2][4096] ^= 1;
  await assert.rejects(
    planRestore(inp),
    (e: unknown) => e instanceof BackupError && e.code === "digest-mismatch",
  );
});

Deno.test("raid0 2->3: without a digest a wrong unit's copy area is stale against the array", async () => {
  const { c, g, read, record } = raid0Grow();
  const unit1 = await buildBackup(g, 1, read);
  const rec = { ...record, recStatus: 1 };
  const inp = {
    geometry: g,
    family: c.mpb.familyNum,
    volumeUnit: 0,
    expectedCopyAreaPba: 131072 - 2209,
    record: rec,
    copyArea: unit1,
    readMembers: read,
  };
  await assert.rejects(
    planRestore(inp),
    (e: unknown) => e instanceof BackupError && e.code === "stale-copy-area",
  );
  const unit0 = await buildBackup(g, 0, read);
  const plan = await planRestore({ ...inp, copyArea: unit0 });
  assert.ok(plan.kind === "restore");
  assert.deepEqual(plan.verifiedBy, ["array"]);
});
