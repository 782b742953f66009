/**
 * --create over the FakeKernel: the sysfs writes come in mdadm 4.2's order (traces 01/02), the
 * metadata written is what the real mdadm wrote in the fixtures, and refusals write nothing.
 */
import assert from "node:assert/strict";
import { FakeKernel } from "../../../kernel/fake/fake_kernel.ts";
import { create } from "../../../core/lifecycle/create.ts";
import { LifecycleError } from "../../../core/lifecycle/errors.ts";
import { examineDevices } from "../../../core/examine.ts";
import { volumeSlotOrder } from "../../../core/lifecycle/names.ts";
import { FakeHost, recordSysfs } from "./fake_host.ts";
import { diskSerial, totalBlocks } from "../../../meta/imsm/accessors.ts";
import { DISK_STATUS, MAP_STATE, ORD_REBUILD } from "../../../meta/imsm/constants.ts";
import { MAX_SECTOR } from "../../../kernel/md/sysfs.ts";
import { ContainerModel } from "../../../core/monitor/container_model.ts";
import { Monitor } from "../../../core/monitor/monitor.ts";
import { Manager } from "../../../core/monitor/manager.ts";
import { addSpare, newContainer, prepareWrite } from "../../../meta/imsm/edit/mod.ts";
import { storeContainer } from "../../../core/imsm/store.ts";

const MiB = 1024 * 1024;

function setup(n = 3, sizeMiB = 64) {
  const names = ["vda", "vdb", "vdc", "vdd"].slice(0, n);
  const kernel = new FakeKernel(names.map((name) => ({ name, sizeBytes: sizeMiB * MiB })));
  const host = new FakeHost(kernel);
  return { kernel, host, names, disks: names.map((x) => `/dev/${x}`) };
}

const base = { run: true, force: false, assumeClean: false };

Deno.test("create container: sysfs sequence of trace 01 and a map entry with zero UUID", async () => {
  const { kernel, host, disks } = setup();
  const log = recordSysfs(kernel);
  const out = await create(kernel, host, {
    ...base,
    device: "/dev/md/imsm0",
    members: disks,
    metadata: "imsm",
    raidDevices: 3,
  });
  assert.deepEqual(out.messages, ["container /dev/md/imsm0 prepared."]);
  assert.deepEqual(log, [
    "md127/metadata_version=external:imsm",
    "md127/new_dev=254:0",
    "md127/dev-vda/offset=128862",
    "md127/dev-vda/size=1105",
    "md127/dev-vda/state=external_bbl",
    "md127/new_dev=254:16",
    "md127/dev-vdb/offset=128862",
    "md127/dev-vdb/size=1105",
    "md127/dev-vdb/state=external_bbl",
    "md127/new_dev=254:32",
    "md127/dev-vdc/offset=128862",
    "md127/dev-vdc/size=1105",
    "md127/dev-vdc/state=external_bbl",
  ]);
  assert.equal(host.map, "md127 imsm 00000000:00000000:00000000:00000000 /dev/md/imsm0\n");
  assert.equal(host.links.get("imsm0"), "/dev/md127");
  const ex = await examineDevices(kernel.blocks, disks);
  for (const e of ex) {
    assert.ok(e.metadata, `no metadata on ${e.device}: ${e.error}`);
    assert.equal(e.metadata.mpb.volumes.length, 0);
  }
});

Deno.test("create raid5 volume: trace 02 order, metadata readable, monitor started", async () => {
  const { kernel, host, disks } = setup();
  await create(kernel, host, {
    ...base,
    device: "/dev/md/imsm0",
    members: disks,
    metadata: "imsm",
  });
  const log = recordSysfs(kernel);
  const out = await create(kernel, host, {
    ...base,
    device: "/dev/md/vol0",
    members: ["/dev/md/imsm0"],
    level: 5,
    raidDevices: 3,
    chunkKiB: 64,
    sizeKiB: 16384,
    familyNum: 0x12345678,
    now: () => 1700000000n,
  });
  assert.deepEqual(out.messages, ["array /dev/md/vol0 started."]);
  const slots = volumeSlotOrder(["vda", "vdb", "vdc"], 3);
  assert.deepEqual(slots, ["vda", "vdb", "vdc"]); // fixture b/c slot order
  assert.deepEqual(log.slice(0, 8), [
    "md126/metadata_version=external:/md127/0",
    "md126/level=raid5",
    "md126/raid_disks=3",
    "md126/chunk_size=65536",
    "md126/layout=0",
    "md126/component_size=16384",
    "md126/array_size=32768",
    "md126/resync_start=0",
  ]);
  assert.deepEqual(log.slice(8, 13), [
    "md126/new_dev=254:0",
    "md126/dev-vda/offset=0",
    "md126/dev-vda/size=16384",
    "md126/dev-vda/slot=0",
    "md126/dev-vda/state=external_bbl",
  ]);
  assert.ok(log.includes("md126/array_state=readonly"));
  assert.deepEqual(host.monitorStarts, ["md127"]);
  const ex = await examineDevices(kernel.blocks, disks);
  assert.equal(ex[0].metadata!.mpb.volumes.length, 1);
  assert.equal(ex[0].metadata!.mpb.familyNum, 0x12345678);
  assert.match(host.map!, /^md126 \/md127\/0 [0-9a-f:]{35} \/dev\/md\/vol0\n/);
  assert.doesNotMatch(host.map!, /md127 imsm 00000000/); // the container UUID is known now
});

Deno.test("two-disk containers give slots in mdadm's order (vdb, vda) as in fixtures a and e", () => {
  assert.deepEqual(volumeSlotOrder(["vda", "vdb"], 2), ["vdb", "vda"]);
  assert.deepEqual(volumeSlotOrder(["vda", "vdb", "vdc", "vdd"], 4), ["vda", "vdd", "vdb", "vdc"]);
});

Deno.test("refusals write nothing: busy, too small, count mismatch, third volume, level 6", async () => {
  const { kernel, host, disks } = setup(4, 16);
  const snapshot = () => disks.map((d) => kernel.disks.bytes(d).slice());
  const same = (a: Uint8Array[], b: Uint8Array[]) =>
    a.every((x, i) => x.length === b[i].length && x.every((v, j) => v === b[i][j]));
  const refusals: Array<[string, () => Promise<unknown>]> = [];
  host.busy.add("/dev/vdd");
  refusals.push([
    "busy",
    () => create(kernel, host, { ...base, device: "/dev/md/c", members: disks, metadata: "imsm" }),
  ]);
  refusals.push(["count", () =>
    create(kernel, host, {
      ...base,
      device: "/dev/md/c",
      members: disks.slice(0, 2),
      metadata: "imsm",
      raidDevices: 3,
    })]);
  refusals.push([
    "no -e",
    () => create(kernel, host, { ...base, device: "/dev/md/c", members: disks }),
  ]);
  refusals.push([
    "missing disk",
    () =>
      create(kernel, host, {
        ...base,
        device: "/dev/md/c",
        members: ["/dev/vdz"],
        metadata: "imsm",
      }),
  ]);
  const before = snapshot();
  for (const [what, f] of refusals) {
    await assert.rejects(f, LifecycleError, what);
    assert.ok(same(before, snapshot()), `${what} changed a disk`);
  }
  host.busy.clear();
  await create(kernel, host, {
    ...base,
    device: "/dev/md/c",
    members: disks.slice(0, 3),
    metadata: "imsm",
  });
  const mk = (name: string, level: number, sizeKiB?: number) => () =>
    create(kernel, host, {
      ...base,
      device: `/dev/md/${name}`,
      members: ["/dev/md/c"],
      level,
      raidDevices: 3,
      sizeKiB,
    });
  const afterContainer = snapshot();
  await assert.rejects(mk("v6", 6), /does not support raid level 6/);
  await assert.rejects(mk("big", 5, 1 << 30), /not enough space/);
  assert.ok(same(afterContainer, snapshot()));
  await mk("v1", 0, 2048)();
  await mk("v2", 5, 2048)();
  const full = snapshot();
  await assert.rejects(mk("v3", 5, 1024), /already has 2 volumes/);
  assert.ok(same(full, snapshot()));
});

Deno.test("create raid1 from one disk + missing (mdadm's 18imsm-1d-takeover-r1_2d): a one-disk container, the volume named by its disk; placeholder 'missing:0' first in the table, md degraded with the disk in slot 0", async () => {
  const { kernel, host, disks } = setup(2);
  await create(kernel, host, {
    ...base,
    force: true,
    device: "/dev/md/c1",
    members: [disks[0]],
    metadata: "imsm",
    raidDevices: 1,
  });
  const log = recordSysfs(kernel);
  const out = await create(kernel, host, {
    ...base,
    device: "/dev/md/m1",
    members: [disks[0], "missing"],
    level: 1,
    raidDevices: 2,
    sizeKiB: 16384,
    familyNum: 0x1234,
    now: () => 1700000000n,
  });
  assert.deepEqual(out.messages, [
    "Creating array inside imsm container md127",
    "array /dev/md/m1 started.",
  ]);
  // md: raid1 of 2 slots, the one disk in slot 0, nothing to resync
  assert.ok(log.includes("md126/level=raid1"), log.join("\n"));
  assert.ok(log.includes("md126/raid_disks=2"));
  assert.ok(log.includes(`md126/resync_start=${MAX_SECTOR}`));
  assert.ok(log.includes("md126/dev-vda/slot=0"));
  assert.ok(!log.some((x) => x.includes("dev-vdb")));
  assert.equal(await kernel.array("md126").degraded(), 1);
  assert.deepEqual(host.monitorStarts, ["md127"]);
  const md = (await examineDevices(kernel.blocks, [disks[0]]))[0].metadata!;
  const vol = md.mpb.volumes[0];
  const map = vol.maps[0];
  assert.deepEqual(md.mpb.disks.map((d) => diskSerial(d)), ["missing:0", "/dev/vda"]);
  assert.equal(md.mpb.disks[0].status, DISK_STATUS.CONFIGURED | DISK_STATUS.FAILED);
  assert.equal(md.mpb.disks[0].scsiId, 0xffffffff);
  assert.equal(totalBlocks(md.mpb, md.mpb.disks[0]), totalBlocks(md.mpb, md.mpb.disks[1]));
  assert.deepEqual(map.ord, [1, 0 | ORD_REBUILD]);
  assert.equal(map.mapState, MAP_STATE.DEGRADED);
  assert.equal(map.failedDiskNum, 0xff);
  assert.equal(vol.dirty, 0);
  assert.equal(vol.migrState, 0);
});

Deno.test("create with missing members: refused as mdadm does (raid0, all missing, a second volume), nothing written", async () => {
  const { kernel, host, disks } = setup(2);
  await create(kernel, host, {
    ...base,
    device: "/dev/md/c",
    members: disks,
    metadata: "imsm",
  });
  const snapshot = () => disks.map((d) => kernel.disks.bytes(d).slice());
  const before = snapshot();
  const vol = (name: string, level: number, members: string[]) =>
    create(kernel, host, {
      ...base,
      device: `/dev/md/${name}`,
      members,
      level,
      raidDevices: 2,
      sizeKiB: 4096,
      familyNum: 7,
      now: () => 1700000000n,
    });
  await assert.rejects(vol("r0", 0, [disks[0], "missing"]), /This level does not support missing/);
  await assert.rejects(vol("none", 1, ["missing", "missing"]), /Subdevs can't be all missing/);
  assert.deepEqual(snapshot(), before);
  await vol("first", 1, disks);
  const after = snapshot();
  await assert.rejects(vol("second", 1, [disks[0], "missing"]), /unable to add 'missing' disk/);
  assert.deepEqual(snapshot(), after);
});

Deno.test("raid1 from one disk + missing: a disk added to the container is rebuilt into slot 1 by the monitor; the placeholder leaves the table", async () => {
  const { kernel, host, disks } = setup(2);
  await create(kernel, host, {
    ...base,
    force: true,
    device: "/dev/md/c1",
    members: [disks[0]],
    metadata: "imsm",
    raidDevices: 1,
  });
  await create(kernel, host, {
    ...base,
    device: "/dev/md/m1",
    members: [disks[0], "missing"],
    level: 1,
    raidDevices: 2,
    sizeKiB: 16384,
    familyNum: 0x1234,
    now: () => 1700000000n,
  });
  const env = (k: string) => (k === "IMSM_DEVNAME_AS_SERIAL" ? "1" : undefined);
  const model = await ContainerModel.load(kernel, "md127", env);
  const logs: string[] = [];
  const monitor = new Monitor(kernel, model, (m) => logs.push(m));
  const manager = new Manager(kernel, monitor, env, (m) => logs.push(m), () => 3);
  await manager.scan();
  await monitor.pass();
  assert.equal(await kernel.array("md126").syncAction(), "idle", "nothing to rebuild onto yet");
  // mdadm --add: vdb gets a spare record and joins the container
  const lone = addSpare(newContainer([{ serial: "/dev/zzz", sizeSectors: 131072 }]), {
    serial: "/dev/vdb",
    sizeSectors: 131072,
  });
  const p = prepareWrite(lone);
  await storeContainer(kernel.writer, [{
    serial: "/dev/vdb",
    device: "/dev/vdb",
    size: BigInt(64 * MiB),
    sectorSize: 512,
  }], { container: p.container, writes: p.writes.filter((w) => w.serial === "/dev/vdb") });
  await kernel.array("md127").addMember("vdb", { offset: 128862n, sizeKiB: 1105n });
  await manager.scan();
  const md = kernel.array("md126");
  assert.equal(await md.syncAction(), "recover", logs.join("\n"));
  assert.equal(await md.member("vdb").slot(), 1);
  kernel.md.advanceSync("md126", 1n << 40n);
  await monitor.pass();
  const c = (await examineDevices(kernel.blocks, ["/dev/vda"]))[0].metadata!;
  const vol = c.mpb.volumes[0];
  assert.deepEqual(c.mpb.disks.map((d) => diskSerial(d)), ["/dev/vda", "/dev/vdb"]);
  assert.deepEqual(vol.maps[0].ord, [0, 1]);
  assert.equal(vol.migrState, 0);
  assert.equal(vol.maps[0].mapState, MAP_STATE.NORMAL);
  assert.equal(await md.degraded(), 0);
});
