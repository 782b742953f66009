/**
 * raid10 -> raid0 and raid1 -> raid0 takeovers: the planner's choice of disks, the metadata
 * edit the monitor applies on the takeover update (mdmon's R10_TO_R0 rules: exactly one
 * failed disk per mirror pair, failed disks become spares with their own serial back, half
 * the members, raid0, one domain, stripes from the volume size), and its refusals.
 */
import assert from "node:assert/strict";
import {
  addVolume,
  type ImsmContainer,
  markDiskFailed,
  newContainer,
} from "../../../meta/imsm/edit/mod.ts";
import { parseMpb, serializeMpb } from "../../../meta/imsm/mpb.ts";
import { takeoverToRaid0 } from "../../../meta/imsm/edit/takeover.ts";
import { diskSerial, perDevArraySize, raidLevel } from "../../../meta/imsm/accessors.ts";
import { volumeSectors } from "../../../meta/imsm/edit/records.ts";
import { planMigration } from "../../../core/grow/migrate_plan.ts";
import { encodeTakeover } from "../../../core/grow/migrate_takeover.ts";
import { decodeUpdate } from "../../../core/monitor/protocol.ts";
import { applyUpdate } from "../../../core/monitor/updates.ts";
import { readMetadata } from "../../../core/examine.ts";
import { setup } from "../monitor/setup.ts";

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
  assert.ok(d10.ok && d10.takeover);
  assert.deepEqual(d10.takeover.keep, ["/dev/vda", "/dev/vdc"]);
  assert.deepEqual(d10.takeover.drop, ["/dev/vdb", "/dev/vdd"]);
  assert.deepEqual(d10.takeover.to, { level: 0, members: 2 });
  const d1 = planMigration(mirror(1, 2), facts(2), {
    volumeIndex: 0,
    device: "/dev/md/vol0",
    level: 0,
  });
  assert.ok(d1.ok && d1.takeover);
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
