/** 4K-sector containers: the editor works in 512-byte sectors, disks store 4K units (§9). */
import assert from "node:assert/strict";
import { parseMetadata, placeMpb } from "../../../../meta/imsm/mod.ts";
import { containerFromDisks, newContainer } from "../../../../meta/imsm/edit/container.ts";
import { addVolume } from "../../../../meta/imsm/edit/volume.ts";
import { type DiskWrite, prepareWrite } from "../../../../meta/imsm/edit/write.ts";
import { recordFromDiskUnits, recordToDiskUnits } from "../../../../meta/imsm/edit/units.ts";
import { assertWritesSound, loadCase } from "./harness.ts";

const SECTORS_512 = 1 << 20; // 512 MiB disks
const DISK_BYTES = BigInt(SECTORS_512) * 512n;

function tailOf(w: DiskWrite): Uint8Array {
  const tail = new Uint8Array(64 * 4096);
  const base = DISK_BYTES - BigInt(tail.length);
  for (const p of placeMpb(w.bytes, DISK_BYTES, 4096, w.padding)) {
    tail.set(p.data, Number(p.offset - base));
  }
  return tail;
}

Deno.test("4K disks: stored values in 4K units, read back to the same 512-byte model", () => {
  const disks = ["K0", "K1", "K2"].map((serial) => ({
    serial,
    sizeSectors: SECTORS_512,
    sectorSize: 4096,
  }));
  const spares = prepareWrite(newContainer(disks)).writes;
  assert.equal(spares[0].mpb.disks[0].totalBlocksLo, SECTORS_512 / 8);
  const c = addVolume(newContainer(disks), {
    name: "v",
    level: 5,
    members: ["K0", "K1", "K2"],
    chunkKiB: 64,
    sizeKiB: 65536,
    familyNum: 9,
    creationTime: 9n,
  });
  const { container, writes } = prepareWrite(c);
  assertWritesSound(writes);
  const stored = writes[0].mpb;
  const mem = container.mpb;
  assert.equal(stored.disks[0].totalBlocksLo, SECTORS_512 / 8);
  assert.equal(stored.volumes[0].sizeLow, mem.volumes[0].sizeLow / 8);
  assert.equal(stored.volumes[0].maps[0].blocksPerStrip, 16);
  assert.equal(
    stored.volumes[0].maps[0].blocksPerMemberLo,
    mem.volumes[0].maps[0].blocksPerMemberLo / 8,
  );
  assert.equal(stored.volumes[0].maps[0].numDataStripesLo, mem.volumes[0].maps[0].numDataStripesLo);

  const parsed = writes.map((w) =>
    parseMetadata(tailOf(w), { diskSize: DISK_BYTES, sectorSize: 4096, device: w.serial })
  );
  assert.ok(parsed.every((p) => p.checksumValid));
  const back = containerFromDisks(parsed);
  assert.deepEqual(back.mpb, container.mpb);
  assert.equal(back.sectorSize, 4096);
});

Deno.test("migration record units convert both ways", () => {
  const rec = loadCase("f_raid5_grow_3to4_live")[0].parsed.migrationRecord!;
  const disk = recordToDiskUnits(rec, 4096);
  assert.equal(disk.blocksPerUnit, 6144 / 8);
  assert.equal(disk.ckptAreaPbaLo, Math.floor(128863 / 8));
  assert.equal(disk.currMigrUnitLo, rec.currMigrUnitLo);
  assert.deepEqual(recordFromDiskUnits(recordToDiskUnits(rec, 512), 512), rec);
  assert.equal(recordFromDiskUnits(disk, 4096).blocksPerUnit, 6144);
});
