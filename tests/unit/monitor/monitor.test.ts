/** The monitor's decisions on the FakeKernel: what md is told, what the metadata says, in order. */
import assert from "node:assert/strict";
import { type Setup, setup } from "./setup.ts";
import { diskSerial, isFailed, volumeCurrMigrUnit } from "../../../meta/imsm/accessors.ts";
import { MAP_STATE, MIGR_TYPE } from "../../../meta/imsm/constants.ts";
import type { ImsmContainer } from "../../../meta/imsm/edit/mod.ts";

/** Records, for chosen sysfs writes, what the metadata on disk said at that moment. */
function spyWrites(s: Setup, watch: (path: string, value: string) => boolean) {
  const seen: { path: string; value: string; onDisk: ImsmContainer }[] = [];
  const md = s.kernel.md;
  const original = md.write.bind(md);
  md.write = async (devnm: string, path: string, value: string) => {
    if (watch(path, value)) seen.push({ path, value, onDisk: await s.onDisk() });
    return await original(devnm, path, value);
  };
  return seen;
}

async function state(s: Setup, devnm = "md126"): Promise<string> {
  return await s.kernel.array(devnm).arrayState();
}

Deno.test("monitor: a clean volume started read-only goes read-auto and nothing is written", async () => {
  const s = await setup({ clean: true });
  await s.manager.scan();
  const gen = (await s.onDisk()).mpb.generationNum;
  await s.monitor.pass();
  assert.equal(await state(s), "read-auto");
  assert.equal((await s.onDisk()).mpb.generationNum, gen);
  assert.equal(s.model.writes, 0);
});

Deno.test("monitor: a write is let through only after the metadata on disk says dirty", async () => {
  const s = await setup({ clean: true });
  await s.manager.scan();
  await s.monitor.pass();
  const seen = spyWrites(s, (p, v) => p === "array_state" && v === "active");
  s.kernel.md.writeArrives("md126");
  assert.equal(await state(s), "write-pending");
  await s.monitor.pass();
  assert.equal(await state(s), "active");
  assert.equal(seen.length, 1);
  assert.equal(seen[0].onDisk.mpb.volumes[0].dirty, 1, "dirty on disk before active");
});

Deno.test("monitor: idle after writes -> md told clean first, then the metadata says clean", async () => {
  const s = await setup({ clean: true });
  await s.manager.scan();
  await s.monitor.pass();
  s.kernel.md.writeArrives("md126");
  await s.monitor.pass();
  const seen = spyWrites(s, (p, v) => p === "array_state" && v === "clean");
  s.kernel.md.goIdle("md126");
  assert.equal(await state(s), "active-idle");
  await s.monitor.pass();
  assert.equal(await state(s), "clean");
  assert.equal(seen.length, 1);
  assert.equal(seen[0].onDisk.mpb.volumes[0].dirty, 1, "still dirty on disk when md goes clean");
  assert.equal((await s.onDisk()).mpb.volumes[0].dirty, 0);
  // a second pass with nothing new writes nothing
  const writes = s.model.writes;
  await s.monitor.pass();
  assert.equal(s.model.writes, writes);
});

Deno.test("monitor: a new volume is made writable, its initial resync recorded, checkpointed and ended", async () => {
  const s = await setup();
  assert.equal((await s.onDisk()).mpb.volumes[0].maps[0].mapState, MAP_STATE.UNINITIALIZED);
  await s.manager.scan();
  await s.monitor.pass();
  assert.equal(await s.kernel.array("md126").syncAction(), "resync");
  let vol = (await s.onDisk()).mpb.volumes[0];
  assert.equal(vol.migrState, 1);
  assert.equal(vol.migrType, MIGR_TYPE.INIT);
  assert.equal(vol.dirty, 1);
  s.kernel.md.advanceSync("md126", 12288n);
  await s.monitor.pass();
  vol = (await s.onDisk()).mpb.volumes[0];
  const unit = volumeCurrMigrUnit(vol);
  assert.ok(unit > 0n, `checkpoint recorded (unit ${unit})`);
  s.kernel.md.advanceSync("md126", 1n << 40n);
  await s.monitor.pass();
  vol = (await s.onDisk()).mpb.volumes[0];
  assert.equal(vol.migrState, 0);
  assert.equal(vol.maps.length, 1);
  assert.equal(vol.maps[0].mapState, MAP_STATE.NORMAL);
  s.kernel.md.goIdle("md126");
  await s.monitor.pass();
  assert.equal((await s.onDisk()).mpb.volumes[0].dirty, 0);
});

Deno.test("monitor: a failed member is recorded failed before md may drop it; the volume degraded", async () => {
  const s = await setup({ clean: true });
  await s.manager.scan();
  await s.monitor.pass();
  s.kernel.md.writeArrives("md126");
  await s.monitor.pass();
  const seen = spyWrites(s, (p, v) => p === "dev-vdb/state" && v === "-blocked");
  await s.kernel.array("md126").member("vdb").setState("faulty");
  await s.monitor.pass();
  assert.equal(seen.length, 1, "the member was unblocked");
  const atUnblock = seen[0].onDisk;
  const rec = atUnblock.mpb.disks.find((d) => diskSerial(d).startsWith("/dev/vdb"));
  assert.ok(rec && isFailed(rec), "failed on disk before -blocked");
  assert.equal(atUnblock.mpb.volumes[0].maps[0].mapState, MAP_STATE.DEGRADED);
  const names = (await s.kernel.array("md126").members()).map((m) => m.name);
  assert.deepEqual(names.sort(), ["vda", "vdc"], "the failed member left the array");
  assert.equal(await s.kernel.array("md126").degraded(), 1);
});

Deno.test("monitor: a spare added to the container is rebuilt into the degraded volume, recorded to the end", async () => {
  const s = await setup({ clean: true, spares: 0 });
  await s.manager.scan();
  await s.monitor.pass();
  s.kernel.md.writeArrives("md126");
  await s.monitor.pass();
  await s.kernel.array("md126").member("vdb").setState("faulty");
  await s.monitor.pass();
  // nothing to rebuild onto yet
  await s.manager.scan();
  assert.equal(await s.kernel.array("md126").syncAction(), "idle");

  // mdadm --add: a disk with a spare record joins the container
  s.kernel.addDisk({ name: "vdd", sizeBytes: 64 * 1024 * 1024 });
  await writeSpareRecord(s, "vdd");
  await s.kernel.array("md127").addMember("vdd", { offset: 128862n, sizeKiB: 1105n });
  await s.manager.scan();
  const md = s.kernel.array("md126");
  assert.equal(await md.syncAction(), "recover");
  assert.equal(await md.member("vdd").slot(), 1);
  let c = await s.onDisk();
  let vol = c.mpb.volumes[0];
  assert.equal(vol.migrState, 1);
  assert.equal(vol.migrType, MIGR_TYPE.REBUILD);
  assert.ok(c.mpb.disks.some((d) => diskSerial(d) === "/dev/vdd"), "spare is a member now");

  s.kernel.md.advanceSync("md126", 16384n);
  await s.monitor.pass();
  c = await s.onDisk();
  const unit = volumeCurrMigrUnit(c.mpb.volumes[0]);
  assert.ok(unit > 0n, `rebuild progress recorded (unit ${unit})`);

  s.kernel.md.advanceSync("md126", 1n << 40n);
  await s.monitor.pass();
  c = await s.onDisk();
  vol = c.mpb.volumes[0];
  assert.equal(vol.migrState, 0);
  assert.equal(vol.maps[0].mapState, MAP_STATE.NORMAL);
  const slot1 = c.mpb.disks[vol.maps[0].ord[1] & 0xffffff];
  assert.equal(diskSerial(slot1), "/dev/vdd");
  assert.ok(s.model.writes >= 4);
});

Deno.test("monitor: a stopped array is left clean and forgotten", async () => {
  const s = await setup({ clean: true });
  await s.manager.scan();
  await s.monitor.pass();
  s.kernel.md.writeArrives("md126");
  await s.monitor.pass();
  assert.equal((await s.onDisk()).mpb.volumes[0].dirty, 1);
  await s.kernel.array("md126").setArrayState("inactive");
  await s.monitor.pass();
  assert.equal((await s.onDisk()).mpb.volumes[0].dirty, 0);
  assert.equal(s.monitor.arrays.size, 0);
});

Deno.test("monitor: a blocked (frozen) read-only array is left alone", async () => {
  const s = await setup();
  await s.kernel.array("md126").setBlocked(true);
  await s.manager.scan();
  await s.monitor.pass();
  assert.equal(await state(s), "readonly");
  assert.equal(s.model.writes, 0);
});

Deno.test("monitor: raid0 volumes are not monitored", async () => {
  const s = await setup({ level: 0, members: 2, clean: true });
  assert.deepEqual(await s.manager.scan(), []);
});

async function writeSpareRecord(s: Setup, name: string): Promise<void> {
  const { addSpare, newContainer, prepareWrite } = await import("../../../meta/imsm/edit/mod.ts");
  const { storeContainer } = await import("../../../core/imsm/store.ts");
  const disk = { serial: `/dev/${name}`, sizeSectors: 64 * 2048 };
  const lone = addSpare(newContainer([{ serial: "/dev/zzz", sizeSectors: 64 * 2048 }]), disk);
  const p = prepareWrite(lone);
  await storeContainer(s.kernel.writer, [{
    serial: `/dev/${name}`,
    device: `/dev/${name}`,
    size: 64n * 1024n * 1024n,
    sectorSize: 512,
  }], { container: p.container, writes: p.writes.filter((w) => w.serial === `/dev/${name}`) });
}

Deno.test("monitor: timer passes read 3 files of a steady array; writes, failures and kicks get a full look", async () => {
  const s = await setup({ clean: true });
  await s.manager.scan();
  await s.monitor.pass(); // full: read-only -> read-auto
  await s.monitor.pass(true); // the last look decided something: full again, nothing to do
  assert.equal(s.monitor.quickSkips, 0);
  const md = s.kernel.md;
  const read = md.read.bind(md);
  let reads = 0;
  md.read = (devnm: string, path: string) => {
    reads++;
    return read(devnm, path);
  };
  await s.monitor.pass(true);
  assert.equal(s.monitor.quickSkips, 1, "steady and unchanged: skipped");
  assert.equal(reads, 3, "array_state, sync_action, sync_completed");
  // a write waits (write-pending): the quick look differs, the monitor lets it through
  md.writeArrives("md126");
  await s.monitor.pass(true);
  assert.equal(await state(s), "active");
  assert.equal((await s.onDisk()).mpb.volumes[0].dirty, 1);
  assert.equal(s.monitor.quickSkips, 1);
  await s.monitor.pass(true);
  await s.monitor.pass(true);
  assert.equal(s.monitor.quickSkips, 2, "steady again once active");
  // a member fails: md raises write-pending, the failure is recorded and the member unblocked
  const seen = spyWrites(s, (p, v) => p === "dev-vdb/state" && v === "-blocked");
  await s.kernel.array("md126").member("vdb").setState("faulty");
  await s.monitor.pass(true);
  assert.equal(seen.length, 1, "the failed member was handled by a timer pass");
  assert.equal(await s.kernel.array("md126").degraded(), 1);
  // a kick (a ping, an update) always gets a full look
  await s.monitor.pass(true);
  await s.monitor.pass(true);
  const skips = s.monitor.quickSkips;
  s.monitor.kick();
  await s.monitor.pass(true);
  assert.equal(s.monitor.quickSkips, skips);
});
