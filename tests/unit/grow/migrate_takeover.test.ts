/**
 * raid10 -> raid0 and raid1 -> raid0 takeovers: the planner's choice of disks, the metadata
 * edit the monitor applies on the takeover update (mdmon's R10_TO_R0 rules: exactly one
 * failed disk per mirror pair, failed disks become spares with their own serial back, half
 * the members, raid0, one domain, stripes from the volume size), and its refusals.
 */
import { managerLink } from "./fake_grow.ts";
import assert from "node:assert/strict";
import {
  addSpare,
  addVolume,
  endRebuild,
  type ImsmContainer,
  markDiskFailed,
  markRebuildingSlots,
  newContainer,
} from "../../../meta/imsm/edit/mod.ts";
import { parseMpb, serializeMpb } from "../../../meta/imsm/mpb.ts";
import { takeoverToRaid0, takeoverToRaid10 } from "../../../meta/imsm/edit/takeover.ts";
import {
  diskSerial,
  isFailed,
  numDataStripes,
  perDevArraySize,
  raidLevel,
} from "../../../meta/imsm/accessors.ts";
import { MAP_STATE, MIGR_TYPE, ORD_REBUILD } from "../../../meta/imsm/constants.ts";
import { volumeSectors } from "../../../meta/imsm/edit/records.ts";
import { planMigration } from "../../../core/grow/migrate_plan.ts";
import { encodeTakeover, runTakeoverToRaid10 } from "../../../core/grow/migrate_takeover.ts";
import { decodeUpdate } from "../../../core/monitor/protocol.ts";
import { containerDisks } from "../../../core/monitor/container_model.ts";
import { loadContainer } from "../../../core/imsm/store.ts";
import { growFacts } from "../../../cli/grow.ts";
import { recordSysfs } from "../lifecycle/fake_host.ts";
import { applyUpdate } from "../../../core/monitor/updates.ts";
import { readMetadata } from "../../../core/examine.ts";
import { ENV, setup } from "../monitor/setup.ts";

const DISK = 131072;
const NAMES = ["/dev/vda", "/dev/vdb", "/dev/vdc", "/dev/vdd"];

function mirror(level: 1 | 10, members: number): ImsmContainer {
  const c = newContainer(NAMES.slice(0, members).map((serial) => ({ serial, sizeSectors: DISK })));
  return addVolume(c, {
    name: "vol0",
    level,
    members: NAMES.slice(0, members),
    chunkKiB: 64,
    sizeKiB: 16384,
    assumeClean: true,
    familyNum: 0x1234,
    creationTime: 1700000000n,
  });
}

const facts = (members: number) => ({
  container: "md127",
  volumeDevices: ["md126"],
  busy: [],
  spares: [],
  sectorSize: 512,
  members,
});

Deno.test("takeover plan: raid10 4 -> raid0 2 keeps slots 0 and 2, raid1 2 -> raid0 1 keeps slot 0", () => {
  const d10 = planMigration(mirror(10, 4), facts(4), {
    volumeIndex: 0,
    device: "/dev/md/vol0",
    level: 0,
  });
  assert.ok(d10.ok && d10.takeover?.kind === "takeover-to-raid0");
  assert.deepEqual(d10.takeover.keep, ["/dev/vda", "/dev/vdc"]);
  assert.deepEqual(d10.takeover.drop, ["/dev/vdb", "/dev/vdd"]);
  assert.deepEqual(d10.takeover.to, { level: 0, members: 2 });
  const d1 = planMigration(mirror(1, 2), facts(2), {
    volumeIndex: 0,
    device: "/dev/md/vol0",
    level: 0,
  });
  assert.ok(d1.ok && d1.takeover?.kind === "takeover-to-raid0");
  assert.deepEqual(d1.takeover.keep, ["/dev/vda"]);
  assert.deepEqual(d1.takeover.drop, ["/dev/vdb"]);
  assert.deepEqual(d1.takeover.to, { level: 0, members: 1 });
});

Deno.test("takeover edit: raid10 4 -> raid0 2 through the monitor's takeover update", () => {
  let c = mirror(10, 4);
  const before = c.mpb.volumes[0];
  c = markDiskFailed(c, "/dev/vdb");
  c = markDiskFailed(c, "/dev/vdd");
  const u = decodeUpdate(encodeTakeover(0, 0));
  assert.deepEqual({ ...u, blob: undefined }, {
    type: "takeover",
    blob: undefined,
    subarray: 0,
    direction: 0,
  });
  const out = applyUpdate(c, u, () => null, () => NAMES);
  const vol = out.mpb.volumes[0];
  const map = vol.maps[0];
  assert.equal(raidLevel(map), 0);
  assert.equal(map.numMembers, 2);
  assert.equal(map.numDomains, 1);
  assert.equal(map.mapState, 0);
  assert.equal(map.failedDiskNum, 0xff);
  assert.deepEqual(map.ord, [0, 1]);
  assert.deepEqual(out.mpb.disks.map(diskSerial), ["/dev/vda", "/dev/vdc"]);
  // the dropped disks are free spares again, under their own serials
  assert.deepEqual(out.spares.map(diskSerial), ["/dev/vdb", "/dev/vdd"]);
  assert.ok(out.spares.every((d) => d.status === 1));
  // no data moves: size and per-member data unchanged
  assert.equal(volumeSectors(vol), volumeSectors(before));
  assert.equal(perDevArraySize(out.mpb, map), 32768n);
  // the MPB version follows the new shape, as mdmon writes it (raid0 of 2: 1.0.00)
  assert.equal(new TextDecoder().decode(out.mpb.signature).slice(24, 30), "1.0.00");
  // and it serializes and parses back the same
  const back = parseMpb(serializeMpb(out.mpb), { device: "t", allowBadChecksum: true });
  assert.equal(raidLevel(back.mpb.volumes[0].maps[0]), 0);
  assert.equal(back.mpb.disks.length, 2);
});

Deno.test("takeover edit: raid1 2 -> raid0 1", () => {
  const c = markDiskFailed(mirror(1, 2), "/dev/vdb");
  const out = takeoverToRaid0(c, 0, (s) => (s === "/dev/vdb:0" ? "/dev/vdb" : null));
  const map = out.mpb.volumes[0].maps[0];
  assert.equal(raidLevel(map), 0);
  assert.equal(map.numMembers, 1);
  assert.deepEqual(out.mpb.disks.map(diskSerial), ["/dev/vda"]);
  assert.deepEqual(out.spares.map(diskSerial), ["/dev/vdb"]);
  assert.equal(perDevArraySize(out.mpb, map), 32768n);
});

Deno.test("takeover edit: refused unless exactly one disk of every mirror pair failed", () => {
  const c = mirror(10, 4);
  assert.throws(() => takeoverToRaid0(c, 0), /0 of 4 members are failed; exactly 2/);
  const sameSide = markDiskFailed(markDiskFailed(c, "/dev/vda"), "/dev/vdb");
  assert.throws(() => takeoverToRaid0(sameSide, 0), /slots 0 and 1 does not have exactly one/);
  assert.throws(
    () => takeoverToRaid0(markDiskFailed(c, "/dev/vdb"), 0),
    /1 of 4 members are failed/,
  );
});

Deno.test("takeover: the monitor writes spare records to the disks the takeover dropped", async () => {
  const s = await setup({ level: 10, members: 4, clean: true });
  let c = s.model.container;
  c = markDiskFailed(markDiskFailed(c, "/dev/vdb"), "/dev/vdd");
  s.model.container = c;
  await s.model.flush();
  s.model.container = applyUpdate(
    s.model.container,
    decodeUpdate(encodeTakeover(0, 0)),
    () => null,
    () => s.model.disks.map((d) => d.serial),
  );
  await s.model.flush();
  for (const d of ["/dev/vdb", "/dev/vdd"]) {
    const md = await readMetadata(s.kernel.blocks, d);
    assert.equal(md.mpb.volumes.length, 0, `${d} still names a volume`);
    assert.equal(diskSerial(md.mpb.disks[0]), d);
    assert.equal(md.mpb.disks[0].status & 0x07, 1, `${d} is not a spare`);
  }
  const kept = await readMetadata(s.kernel.blocks, "/dev/vda");
  assert.equal(raidLevel(kept.mpb.volumes[0].maps[0]), 0);
  assert.equal(kept.mpb.disks.length, 2);
});

// ------------------------------------------------------------------ raid0 -> raid10

function raid0(members: number, sparesGiven = 0): ImsmContainer {
  const c = newContainer(NAMES.slice(0, members).map((serial) => ({ serial, sizeSectors: DISK })));
  let out = addVolume(c, {
    name: "vol0",
    level: 0,
    members: NAMES.slice(0, members),
    chunkKiB: 64,
    sizeKiB: 16384,
    familyNum: 0x1234,
    creationTime: 1700000000n,
  });
  for (const serial of NAMES.slice(members, members + sparesGiven)) {
    out = addSpare(out, { serial, sizeSectors: DISK });
  }
  return out;
}

const spareFacts = (serials: string[]) => ({
  ...facts(2),
  spares: serials.map((serial, i) => ({
    serial,
    path: serial,
    majMin: `254:${16 * (i + 2)}`,
    sizeSectors: DISK,
    sectorSize: 512,
  })),
});

Deno.test("takeover plan: raid0 2 -> raid10 4 keeps both members and names two spares; refused with fewer spares, more members or a chunk change", () => {
  const d = planMigration(raid0(2, 2), spareFacts(["/dev/vdc", "/dev/vdd"]), {
    volumeIndex: 0,
    device: "/dev/md/vol0",
    level: 10,
  });
  assert.ok(d.ok && d.takeover?.kind === "takeover-to-raid10", JSON.stringify(d));
  assert.deepEqual(d.takeover.keep, ["/dev/vda", "/dev/vdb"]);
  assert.deepEqual(d.takeover.spares, ["/dev/vdc", "/dev/vdd"]);
  assert.deepEqual(d.takeover.to, { level: 10, members: 4 });

  const one = planMigration(raid0(2, 1), spareFacts(["/dev/vdc"]), {
    volumeIndex: 0,
    device: "/dev/md/vol0",
    level: 10,
  });
  assert.ok(!one.ok);
  assert.match(one.refusals[0].message, /^Need 2 spares to create working array, and only have 1/);
  const wide = planMigration(raid0(3, 0), spareFacts([]), {
    volumeIndex: 0,
    device: "/dev/md/vol0",
    level: 10,
  });
  assert.ok(!wide.ok);
  assert.match(wide.refusals[0].message, /raid0 with 3 disks -> raid10 would have 6 members/);
  const chunk = planMigration(raid0(2, 2), spareFacts(["/dev/vdc", "/dev/vdd"]), {
    volumeIndex: 0,
    device: "/dev/md/vol0",
    level: 10,
    chunkKiB: 128,
  });
  assert.ok(!chunk.ok);
  assert.match(chunk.refusals[0].message, /Cannot change array level in the same operation/);
});

Deno.test("takeover edit: raid0 2 -> raid10 4 through the monitor's update: members at 0 and 2, missing disks at 1 and 3", () => {
  const c = raid0(2);
  const before = c.mpb.volumes[0];
  const u = decodeUpdate(encodeTakeover(0, 1));
  assert.equal(u.type === "takeover" && u.direction, 1);
  const out = applyUpdate(c, u, () => null, () => NAMES);
  const vol = out.mpb.volumes[0];
  const map = vol.maps[0];
  assert.equal(raidLevel(map), 10);
  assert.equal(map.raidLevel, 1);
  assert.equal(map.numMembers, 4);
  assert.equal(map.numDomains, 2);
  assert.equal(map.mapState, MAP_STATE.DEGRADED);
  assert.equal(map.failedDiskNum, 1);
  assert.deepEqual(map.ord, [0, 1 | ORD_REBUILD, 2, 3 | ORD_REBUILD]);
  assert.deepEqual(out.mpb.disks.map(diskSerial), [
    "/dev/vda",
    "MISSING_1:0",
    "/dev/vdb",
    "MISSING_3:0",
  ]);
  for (const i of [1, 3]) {
    assert.ok(isFailed(out.mpb.disks[i]));
    assert.equal(out.mpb.disks[i].scsiId, 0xffffffff);
  }
  // no data moves: volume size and per-member data unchanged; stripes per copy
  assert.equal(volumeSectors(vol), volumeSectors(before));
  assert.equal(perDevArraySize(out.mpb, map), perDevArraySize(c.mpb, before.maps[0]));
  assert.equal(numDataStripes(out.mpb, map), numDataStripes(c.mpb, before.maps[0]) / 2n);
  // the MPB version follows (mdmon: 4 members -> 1.2.01; the raid0 had 1.0.00)
  assert.equal(new TextDecoder().decode(c.mpb.signature).slice(24, 30), "1.0.00");
  assert.equal(new TextDecoder().decode(out.mpb.signature).slice(24, 30), "1.2.01");
  const back = parseMpb(serializeMpb(out.mpb), { device: "t", allowBadChecksum: true });
  assert.equal(raidLevel(back.mpb.volumes[0].maps[0]), 10);
  assert.equal(back.mpb.disks.length, 4);
  assert.throws(() => takeoverToRaid10(out, 0), /only a raid0 volume/);
});

Deno.test("rebuild: two spares take both missing slots of the raid10 in one change (highest slot first, as mdmon 4.2: its table read vda, vdb, vdd, vdc), the rebuild ends normal", () => {
  let c = takeoverToRaid10(raid0(2, 2), 0);
  c = markRebuildingSlots(c, 0, [{ slot: 3, serial: "/dev/vdd" }, {
    slot: 1,
    serial: "/dev/vdc",
  }], () => 5);
  const vol = c.mpb.volumes[0];
  assert.equal(vol.migrType, MIGR_TYPE.REBUILD);
  assert.deepEqual(c.mpb.disks.map(diskSerial), ["/dev/vda", "/dev/vdb", "/dev/vdd", "/dev/vdc"]);
  assert.deepEqual(vol.maps[0].ord, [0, 3, 1, 2]);
  assert.deepEqual(vol.maps[1].ord, [0, 3 | ORD_REBUILD, 1, 2 | ORD_REBUILD]);
  assert.equal(vol.maps[0].mapState, MAP_STATE.NORMAL);
  assert.equal(vol.maps[1].mapState, MAP_STATE.DEGRADED);
  assert.equal(c.spares.length, 0);
  const done = endRebuild(c, 0);
  const map = done.mpb.volumes[0].maps[0];
  assert.equal(done.mpb.volumes[0].migrState, 0);
  assert.equal(map.mapState, MAP_STATE.NORMAL);
  assert.equal(raidLevel(map), 10);
  assert.deepEqual(map.ord, [0, 3, 1, 2]);
  assert.equal(map.failedDiskNum, 0xff);
});

Deno.test("takeover run: raid0 2 -> raid10 4 on the FakeKernel with the monitor in process: update before md's level, spares rebuilt into slots 1 and 3, raid10 normal at the end", async () => {
  const s = await setup({ level: 0, members: 2, spares: 2, clean: true });
  await s.kernel.array("md126").setArrayState("active");
  await s.manager.scan();
  const running = s.monitor.run(5);
  const disks = await containerDisks(s.kernel, "md127", ENV);
  const c = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
  const facts = await growFacts(s.kernel, "md127", c, disks);
  const d = planMigration(c, facts, { volumeIndex: 0, device: "/dev/md/vol0", level: 10 });
  assert.ok(d.ok && d.takeover?.kind === "takeover-to-raid10", JSON.stringify(d));
  const sysfs = recordSysfs(s.kernel);
  const sent: string[] = [];
  await runTakeoverToRaid10({
    kernel: s.kernel,
    monitor: managerLink(s, sent),
    plan: d.takeover,
    disks,
    load: () => loadContainer(s.kernel.blocks, disks.map((x) => x.path)),
  });
  assert.deepEqual(sent, ["takeover"]);
  const at = (w: string) => sysfs.findIndex((x) => x.startsWith(w));
  assert.ok(at("md126/metadata_version=external:-md127/0") >= 0, sysfs.join("\n"));
  assert.ok(at("md126/metadata_version=external:-md127/0") < at("md126/level=raid10"));
  assert.ok(at("md126/level=raid10") < at("md126/metadata_version=external:/md127/0"));
  const md = s.kernel.array("md126");
  assert.equal(await md.level(), "raid10");
  assert.equal((await md.raidDisks())?.value, 4);
  assert.equal(await md.syncAction(), "recover", s.logs.join("\n"));
  const slots = new Map<string, number | null>();
  for (const m of await md.members()) slots.set(m.name, await m.slot());
  assert.deepEqual(Object.fromEntries(slots), { vda: 0, vdb: 2, vdc: 1, vdd: 3 });
  let onDisk = await s.onDisk();
  assert.equal(onDisk.mpb.volumes[0].migrType, MIGR_TYPE.REBUILD);
  s.kernel.md.advanceSync("md126", 1n << 40n);
  await s.monitor.pass();
  s.monitor.stop();
  await running;
  onDisk = await loadContainer(s.kernel.blocks, disks.map((x) => x.path));
  const vol = onDisk.mpb.volumes[0];
  assert.equal(vol.migrState, 0);
  assert.equal(raidLevel(vol.maps[0]), 10);
  assert.equal(vol.maps[0].mapState, MAP_STATE.NORMAL);
  assert.deepEqual(
    vol.maps[0].ord.map((o) => diskSerial(onDisk.mpb.disks[o])),
    ["/dev/vda", "/dev/vdc", "/dev/vdb", "/dev/vdd"],
  );
  assert.deepEqual(onDisk.mpb.disks.map(diskSerial), [
    "/dev/vda",
    "/dev/vdb",
    "/dev/vdd",
    "/dev/vdc",
  ]);
});

Deno.test("takeover run: raid0 -> raid10 refused before any write when md does not hold the planned members", async () => {
  const s = await setup({ level: 0, members: 2, spares: 2, clean: true });
  await s.manager.scan();
  const disks = await containerDisks(s.kernel, "md127", ENV);
  const c = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
  const d = planMigration(c, await growFacts(s.kernel, "md127", c, disks), {
    volumeIndex: 0,
    device: "/dev/md/vol0",
    level: 10,
  });
  assert.ok(d.ok && d.takeover?.kind === "takeover-to-raid10");
  const sysfs = recordSysfs(s.kernel);
  const sent: string[] = [];
  // the plan names a member md does not hold (md changed since the plan was made)
  await assert.rejects(
    runTakeoverToRaid10({
      kernel: s.kernel,
      monitor: managerLink(s, sent),
      plan: { ...d.takeover, keep: ["/dev/vda", "/dev/vdc"] },
      disks,
      load: () => loadContainer(s.kernel.blocks, disks.map((x) => x.path)),
    }),
    /pre-check: member \/dev\/vdc is not an in-sync member \(state absent\); nothing was changed/,
  );
  assert.deepEqual(sent, []);
  assert.deepEqual(sysfs, []);
  assert.equal(await s.kernel.array("md126").level(), "raid0");
});
