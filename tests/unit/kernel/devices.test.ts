import assert from "node:assert/strict";
import {
  findByDevNumber,
  listBlockDevices,
  readBlockDevice,
  serialForImsm,
} from "../../../kernel/devices.ts";

/** A /sys with a virtio disk, a SCSI disk with one partition, an NVMe disk and an md array. */
async function fakeSys(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "mdts-devs-" });
  const dev = `${root}/devices`;
  const put = async (p: string, text: string | Uint8Array) => {
    await Deno.mkdir(p.slice(0, p.lastIndexOf("/")), { recursive: true });
    if (typeof text === "string") await Deno.writeTextFile(p, text);
    else await Deno.writeFile(p, text);
  };
  const disk = async (path: string, name: string, majMin: string, sectors: number, lbs = 512) => {
    await put(`${dev}/${path}/${name}/dev`, `${majMin}\n`);
    await put(`${dev}/${path}/${name}/size`, `${sectors}\n`);
    await put(`${dev}/${path}/${name}/ro`, "0\n");
    await put(`${dev}/${path}/${name}/removable`, "0\n");
    await put(`${dev}/${path}/${name}/queue/logical_block_size`, `${lbs}\n`);
    await put(`${dev}/${path}/${name}/queue/physical_block_size`, "4096\n");
    await Deno.mkdir(`${dev}/${path}/${name}/holders`, { recursive: true });
  };
  await disk("virtio1/block", "vda", "254:0", 131072);
  await put(`${dev}/virtio1/block/vda/serial`, "QEMU-SERIAL\n"); // virtio's own, not used
  await disk("scsi/block", "sdb", "8:16", 2097152, 4096);
  const vpd = new Uint8Array([0, 0x80, 0, 13, ...new TextEncoder().encode("  WD-ABC:1234")]);
  await put(`${dev}/scsi/block/sdb/device/vpd_pg80`, vpd);
  await put(`${dev}/scsi/block/sdb/sdb1/dev`, "8:17\n");
  await put(`${dev}/scsi/block/sdb/sdb1/size`, "2048\n");
  await put(`${dev}/scsi/block/sdb/sdb1/partition`, "1\n");
  await disk("nvme/block", "nvme0n1", "259:0", 4096);
  await put(`${dev}/nvme/block/nvme0n1/device/serial`, "S4EVNX0N123456      \n");
  await disk("virtual/block", "md127", "9:127", 0);
  await Deno.mkdir(`${dev}/virtio1/block/vda/holders/md127`, { recursive: true });
  await Deno.mkdir(`${root}/class/block`, { recursive: true });
  for (
    const [n, p] of [
      ["vda", "virtio1/block/vda"],
      ["sdb", "scsi/block/sdb"],
      ["sdb1", "scsi/block/sdb/sdb1"],
      ["nvme0n1", "nvme/block/nvme0n1"],
      ["md127", "virtual/block/md127"],
    ]
  ) await Deno.symlink(`${dev}/${p}`, `${root}/class/block/${n}`);
  return root;
}

Deno.test("discovery reads numbers, sizes, sector sizes, holders and partitions", async () => {
  const root = await fakeSys();
  try {
    const all = await listBlockDevices(root);
    assert.deepEqual(all.map((d) => d.name), ["md127", "nvme0n1", "sdb", "sdb1", "vda"]);
    const vda = (await readBlockDevice("vda", root))!;
    assert.equal(vda.path, "/dev/vda");
    assert.equal(vda.sizeBytes, 131072n * 512n);
    assert.equal(vda.major, 254);
    assert.equal(vda.minor, 0);
    assert.equal(vda.logicalSectorSize, 512);
    assert.deepEqual(vda.holders, ["md127"]);
    assert.equal(vda.hardwareSerial, null, "virtio has no INQUIRY serial for mdadm 4.2");
    const sdb = (await readBlockDevice("sdb", root))!;
    assert.equal(sdb.logicalSectorSize, 4096);
    assert.deepEqual(sdb.partitions, ["sdb1"]);
    assert.equal(sdb.hardwareSerial, "  WD-ABC:1234");
    const sdb1 = (await readBlockDevice("sdb1", root))!;
    assert.equal(sdb1.parent, "sdb");
    assert.equal(sdb1.logicalSectorSize, 4096, "a partition takes its disk's queue");
    assert.equal(sdb1.sizeBytes, 2048n * 512n);
    assert.equal((await readBlockDevice("nvme0n1", root))!.hardwareSerial, "S4EVNX0N123456");
    assert.equal((await findByDevNumber("9:127", root))?.name, "md127");
    assert.equal(await findByDevNumber("1:1", root), null);
    assert.equal(await readBlockDevice("nope", root), null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("IMSM serial like mdadm 4.2: hardware first, the device name only as fallback", () => {
  const env = (on: boolean) => (k: string) =>
    on && k === "IMSM_DEVNAME_AS_SERIAL" ? "1" : undefined;
  assert.deepEqual(serialForImsm({ name: "vda", hardwareSerial: null }, env(true)), {
    serial: "/dev/vda",
    source: "devname",
  });
  assert.equal(serialForImsm({ name: "vda", hardwareSerial: null }, env(false)), null);
  assert.deepEqual(serialForImsm({ name: "sdb", hardwareSerial: "WD-1" }, env(true)), {
    serial: "WD-1",
    source: "hardware",
  });
  // "/dev/" + name is cut to 15 characters
  assert.equal(
    serialForImsm({ name: "nvme10n1p12345", hardwareSerial: null }, env(true))!.serial,
    "/dev/nvme10n1p1",
  );
});
