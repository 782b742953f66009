/**
 * The grow's record for the next volume (mdts_next_record): the monitor writes it with the
 * metadata write that ends one volume's migration and begins the next, on the record disks
 * right after their MPB; kept through checkpoint writes, refused when the volume it names as
 * migrating is not, dropped by a write that leaves that migration another way.
 */
import assert from "node:assert/strict";
import { FakeKernel } from "../../../kernel/fake/fake_kernel.ts";
import { endMigration, prepareWrite } from "../../../meta/imsm/edit/mod.ts";
import { raid0Raid5Growing } from "../grow/two_volumes.ts";
import { setCurrMigrUnit } from "../../../meta/imsm/edit/records.ts";
import { cloneContainer } from "../../../meta/imsm/edit/container.ts";
import { storeContainer } from "../../../core/imsm/store.ts";
import { ContainerModel } from "../../../core/monitor/container_model.ts";
import { decodeUpdate, encodeNextRecordUpdate } from "../../../core/monitor/protocol.ts";
import { DISK_BYTES, ENV } from "./setup.ts";

const NAMES = ["vda", "vdb", "vdc", "vdd"];
const RECORD_AT = BigInt(DISK_BYTES - 512);

async function twoVolumesGrowing() {
  const kernel = new FakeKernel(NAMES.map((name) => ({ name, sizeBytes: DISK_BYTES })));
  const c = raid0Raid5Growing(NAMES, DISK_BYTES / 512);
  const targets = NAMES.map((x) => ({
    serial: `/dev/${x}`,
    device: `/dev/${x}`,
    size: BigInt(DISK_BYTES),
    sectorSize: 512,
  }));
  await storeContainer(kernel.writer, targets, prepareWrite(c));
  const container = await kernel.createArray("md127");
  await container.setMetadataVersion("external:imsm");
  for (const x of NAMES) {
    await container.addMember(x, { offset: BigInt(DISK_BYTES / 512 - 2210), sizeKiB: 1105n });
  }
  const model = await ContainerModel.load(kernel, "md127", ENV);
  return { kernel, model };
}

const SECTOR = new Uint8Array(512).map((_, i) => (i * 13 + 1) & 0xff);

Deno.test("monitor next record: written right after the MPB that begins the next volume, on its record disks", async () => {
  const { kernel, model } = await twoVolumesGrowing();
  const u = decodeUpdate(encodeNextRecordUpdate(0, 1, SECTOR));
  assert.ok(u.type === "mdts_next_record");
  assert.ok(model.setNextRecord(u.from, u.to, u.sector));
  // a checkpoint of volume 0 keeps it and writes no record
  const ckpt = cloneContainer(model.container);
  setCurrMigrUnit(ckpt.mpb.volumes[0], 3);
  model.container = ckpt;
  kernel.disks.writes.length = 0;
  assert.ok(await model.flush());
  assert.deepEqual(kernel.disks.writes.filter((w) => w.purpose === "migration-record"), []);
  assert.ok(model.nextRecord !== null);
  // volume 0 ends, volume 1 begins: the record disks (slots 0, 1: vda, vdb) go first
  model.container = endMigration(model.container, 0);
  kernel.disks.writes.length = 0;
  assert.ok(await model.flush());
  const w = kernel.disks.writes.map((x) => `${x.device} ${x.purpose}`);
  assert.deepEqual(w.slice(0, 4), [
    "/dev/vda metadata",
    "/dev/vda migration-record",
    "/dev/vdb metadata",
    "/dev/vdb migration-record",
  ]);
  for (const d of ["/dev/vda", "/dev/vdb"]) {
    assert.deepEqual(await kernel.blocks.read(d, RECORD_AT, 512), SECTOR, d);
  }
  assert.equal(model.nextRecord, null);
});

Deno.test("monitor next record: refused unless the volume it follows is migrating", async () => {
  const { model } = await twoVolumesGrowing();
  assert.equal(model.setNextRecord(1, 0, SECTOR), false);
  assert.equal(model.setNextRecord(0, 0, SECTOR), false);
  assert.equal(model.nextRecord, null);
});
