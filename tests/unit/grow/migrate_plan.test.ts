/**
 * planMigration on containers built with the metadata editor: the chunk migrations of issue 8
 * planned with mdadm's sizes, and every refusal of issue 8 with mdadm 4.2's reason.
 */
import assert from "node:assert/strict";
import {
  addSpare,
  addVolume,
  beginMigration,
  type ImsmContainer,
  markDiskFailed,
  newContainer,
} from "../../../meta/imsm/edit/mod.ts";
import type { MdLevel } from "../../../meta/imsm/sizes.ts";
import type { GrowFacts } from "../../../core/grow/plan.ts";
import {
  type MigrationPlan,
  type MigrationRequest,
  planMigration,
} from "../../../core/grow/migrate_plan.ts";
import { encodeReshapeMigration } from "../../../core/grow/monitor_link.ts";
import { decodeUpdate } from "../../../core/monitor/protocol.ts";
import { applyUpdate } from "../../../core/monitor/updates.ts";
import { resumePlan } from "../../../core/grow/resume.ts";

const DISK = 131072; // 64 MiB
const NAMES = ["vda", "vdb", "vdc", "vdd", "vde", "vdf", "vdg"];

interface Vol {
  level: MdLevel;
  sizeKiB: number;
  chunkKiB?: number;
  members?: number;
}

function build(members: number, spares: number, vols: Vol[]) {
  const disk = (n: string) => ({ serial: `/dev/${n}`, sizeSectors: DISK });
  let c = newContainer(NAMES.slice(0, members).map((n) => disk(n)));
  vols.forEach((v, i) => {
    c = addVolume(c, {
      name: `vol${i}`,
      level: v.level,
      members: NAMES.slice(0, v.members ?? members).map((n) => `/dev/${n}`),
      chunkKiB: v.chunkKiB ?? 64,
      sizeKiB: v.sizeKiB,
      assumeClean: true,
      familyNum: 0x1234,
      creationTime: 1700000000n,
    });
  });
  const spareFacts = [];
  for (let i = 0; i < spares; i++) {
    const name = NAMES[members + i];
    c = addSpare(c, disk(name));
    spareFacts.push({
      serial: `/dev/${name}`,
      path: `/dev/${name}`,
      majMin: `254:${(members + i) * 16}`,
      sizeSectors: DISK,
      sectorSize: 512,
    });
  }
  const facts: GrowFacts = {
    container: "md127",
    volumeDevices: vols.map((_, i) => `md${126 - i}`),
    busy: [],
    spares: spareFacts,
    sectorSize: 512,
  };
  return { c, facts };
}

function req(r: Partial<MigrationRequest>): MigrationRequest {
  return { volumeIndex: 0, device: "/dev/md/vol0", ...r };
}

function ok(c: ImsmContainer, facts: GrowFacts, r: Partial<MigrationRequest>): MigrationPlan {
  const d = planMigration(c, facts, req(r));
  if (!d.ok) assert.fail(d.refusals.map((x) => x.message).join("\n"));
  if (!d.plan) assert.fail(`a takeover, not a migration: ${JSON.stringify(d.takeover)}`);
  return d.plan;
}

function refused(
  c: ImsmContainer,
  facts: GrowFacts,
  r: Partial<MigrationRequest>,
  code: string,
  text: RegExp,
): string {
  const d = planMigration(c, facts, req(r));
  assert.ok(!d.ok, `not refused: ${JSON.stringify(r)}`);
  assert.ok(
    d.refusals.some((x) => x.code === code && text.test(x.message)),
    d.refusals.map((x) => `${x.code}: ${x.message}`).join("\n"),
  );
  return d.refusals.map((x) => x.message).join("\n");
}

Deno.test("migrate plan: raid0 3 disks 64k -> 256k runs as raid4 parity-last, same size, every unit critical", () => {
  const { c, facts } = build(3, 0, [{ level: 0, sizeKiB: 16384 }]);
  const p = ok(c, facts, { chunkKiB: 256 });
  const v = p.volumes[0];
  assert.deepEqual(p.change, {
    kind: "reshape-migration",
    subarray: 0,
    oldRaidDisks: 3,
    newRaidDisks: 3,
    newLevel: 0,
    newLayout: 0,
    newChunkKiB: 256,
    newDisk: null,
  });
  assert.equal(v.old.chunkKiB, 64);
  assert.equal(v.new.chunkKiB, 256);
  assert.deepEqual(v.during, { mdLevel: "raid4", oldRaidDisks: 4, newRaidDisks: 4, layout: 5 });
  assert.equal(v.componentSectors, 32768);
  assert.equal(v.oldArraySectors, 98304);
  assert.equal(v.newArraySectors, 98304);
  // units: the 1 MiB copy area rounded down to the larger strip (2048 sectors) x 3 data disks
  assert.equal(v.units.destDepth, 2048);
  assert.equal(v.units.blocksPerUnit, 6144);
  assert.equal(v.units.numUnits, 16);
  // a same-size reshape overwrites the data it reads: every unit goes through the copy area
  assert.equal(v.units.critical.length, 16);
  assert.equal(v.windows, 16);
  assert.deepEqual(v.newDisks, []);
  assert.deepEqual(p.steps.map((s) => s.kind), [
    "freeze",
    "metadata-update",
    "takeover",
    "impose-shape",
    "start-reshape",
    "migration-record",
    "windows",
    "wait-idle",
    "array-size",
    "takeover-back",
    "unfreeze",
  ]);
});

for (const from of [4, 64]) {
  Deno.test(`migrate plan: raid5 3 disks ${from}k -> 256k stays raid5 left-asymmetric`, () => {
    const { c, facts } = build(3, 0, [{ level: 5, sizeKiB: 16384, chunkKiB: from }]);
    const p = ok(c, facts, { chunkKiB: 256 });
    const v = p.volumes[0];
    assert.equal(v.takeover, null);
    assert.deepEqual(v.during, { mdLevel: "raid5", oldRaidDisks: 3, newRaidDisks: 3, layout: 0 });
    assert.equal(v.newArraySectors, v.oldArraySectors);
    assert.equal(v.units.blocksPerUnit, 4096);
    assert.equal(v.units.numUnits, 16);
    assert.equal(v.units.critical.length, 16);
    assert.ok(!p.steps.some((s) => s.kind === "takeover"));
  });
}

Deno.test("migrate plan: a chunk migration of one volume of a raid5 + raid0 container is allowed", () => {
  const { c, facts } = build(3, 0, [{ level: 5, sizeKiB: 8192 }, { level: 0, sizeKiB: 8192 }]);
  const p = ok(c, { ...facts }, { volumeIndex: 1, device: "/dev/md/vol1", chunkKiB: 128 });
  assert.equal(p.volumes[0].name, "vol1");
  assert.equal(p.volumes[0].device, "md125");
  assert.equal(p.change.subarray, 1);
});

Deno.test("migrate plan: mdadm 4.2's level refusals", () => {
  for (const n of [3, 5]) {
    const { c, facts } = build(n, 1, [{ level: 5, sizeKiB: 16384 }]);
    refused(c, facts, { level: 0 }, "level-change", /Level Migration from 5 to 0 not supported/);
  }
  const r5 = build(3, 1, [{ level: 5, sizeKiB: 16384 }]);
  refused(r5.c, r5.facts, { level: 4 }, "level-change", /Level Migration from 5 to 4/);
  const r0 = build(3, 0, [{ level: 0, sizeKiB: 16384 }]);
  refused(r0.c, r0.facts, { level: 5 }, "too-few-spares", /cannot get spare device.*raid5/);
  refused(r0.c, r0.facts, { level: 5, raidDevices: 3 }, "level-change", /gives 4 disks/);
  const r1 = build(2, 0, [{ level: 1, sizeKiB: 16384 }]);
  refused(r1.c, r1.facts, { level: 0, raidDevices: 2 }, "level-change", /1-disk raid0, not 2/);
  const two = build(2, 2, [{ level: 0, sizeKiB: 8192 }, { level: 0, sizeKiB: 8192 }]);
  refused(two.c, two.facts, { level: 10 }, "single-volume", /MUST be single array/);
  refused(
    r5.c,
    r5.facts,
    { raidDevices: 5 },
    "level",
    /--raid-devices operation can be performed on a container only/,
  );
  refused(r5.c, r5.facts, { level: 0, chunkKiB: 128 }, "several-changes", /same operation/);
});

Deno.test("migrate plan: chunk refusals (raid10, raid1, not dividing, bad size)", () => {
  const r10 = build(4, 0, [{ level: 10, sizeKiB: 16384 }]);
  refused(r10.c, r10.facts, { chunkKiB: 128 }, "chunk-change", /RAID 10 is not supported/);
  const r1 = build(2, 0, [{ level: 1, sizeKiB: 16384 }]);
  refused(r1.c, r1.facts, { chunkKiB: 128 }, "chunk-change", /raid1, which has no chunk/);
  const r5 = build(3, 0, [{ level: 5, sizeKiB: 16384 }]);
  refused(r5.c, r5.facts, { chunkKiB: 48 }, "chunk-change", /power of two/);
  refused(r5.c, r5.facts, { chunkKiB: 64 }, "no-change", /no change requested/);
  const odd = build(3, 0, [{ level: 5, sizeKiB: 16384 + 128, chunkKiB: 64 }]);
  refused(odd.c, odd.facts, { chunkKiB: 16384 }, "chunk-change", /power of two|evenly divide/);
});

Deno.test("migrate plan: nothing starts while a migration runs, on a degraded volume or a busy array", () => {
  const grow = build(3, 1, [{ level: 5, sizeKiB: 16384 }]);
  const growing = beginMigration(grow.c, 0, { kind: "grow-disks", newDisks: ["/dev/vdd"] });
  refused(growing, grow.facts, { chunkKiB: 256 }, "migration-running", /already migrating/);
  const two = build(3, 0, [{ level: 5, sizeKiB: 8192 }, { level: 0, sizeKiB: 8192 }]);
  const first = beginMigration(two.c, 0, { kind: "chunk", newChunkKiB: 128 });
  refused(
    first,
    two.facts,
    { volumeIndex: 1, device: "/dev/md/vol1", chunkKiB: 128 },
    "migration-running",
    /volume vol0 is already migrating/,
  );
  const deg = build(3, 0, [{ level: 5, sizeKiB: 16384 }]);
  const failed = markDiskFailed(deg.c, "/dev/vdc");
  refused(failed, deg.facts, { chunkKiB: 256 }, "degraded", /not in a normal state/);
  refused(
    deg.c,
    { ...deg.facts, busy: ["md126"] },
    { chunkKiB: 256 },
    "busy",
    /\/dev\/md126 is busy/,
  );
  const r0 = build(3, 1, [{ level: 0, sizeKiB: 16384 }]);
  refused(
    r0.c,
    { ...r0.facts, busy: ["md126"] },
    { level: 5 },
    "busy",
    /md126 is busy/,
  );
});

Deno.test("migrate plan: the reshape_migration update is mdadm's layout and the monitor applies it", () => {
  const { c, facts } = build(3, 0, [{ level: 5, sizeKiB: 16384 }]);
  const p = ok(c, facts, { chunkKiB: 256 });
  const blob = encodeReshapeMigration(p.change);
  assert.deepEqual(
    [...new Int32Array(blob.buffer)],
    [6, 3, 3, 0, 5, 0, 256, -1],
  );
  const u = decodeUpdate(blob);
  assert.equal(u.type, "reshape_migration");
  const after = applyUpdate(c, u, () => null);
  const vol = after.mpb.volumes[0];
  assert.equal(vol.migrState, 1);
  assert.equal(vol.maps[0].blocksPerStrip, 512);
  assert.equal(vol.maps[1].blocksPerStrip, 128);
  // what the planner expected the metadata to become
  assert.equal(
    Number(BigInt(vol.sizeLow) + (BigInt(vol.sizeHigh) << 32n)),
    p.volumes[0].newArraySectors,
  );
});

Deno.test("migrate plan: raid0 3 disks -> raid5 4 disks takes the spare as parity, same data disks", () => {
  const { c, facts } = build(3, 1, [{ level: 0, sizeKiB: 16384 }]);
  const p = ok(c, facts, { level: 5 });
  const v = p.volumes[0];
  assert.deepEqual(p.change, {
    kind: "reshape-migration",
    subarray: 0,
    oldRaidDisks: 3,
    newRaidDisks: 4,
    newLevel: 5,
    newLayout: 0,
    newChunkKiB: -1,
    newDisk: "254:48",
  });
  assert.deepEqual(v.takeover, { to: "raid5", layout: 5, back: null });
  assert.deepEqual(v.during, { mdLevel: "raid5", oldRaidDisks: 4, newRaidDisks: 4, layout: 0 });
  assert.deepEqual(v.newDisks, [{ serial: "/dev/vdd", slot: 3 }]);
  assert.equal(v.new.level, 5);
  assert.equal(v.new.members, 4);
  assert.equal(v.newArraySectors, v.oldArraySectors);
  assert.equal(v.units.blocksPerUnit, 2048 * 3);
  assert.equal(v.units.critical.length, v.units.numUnits);
  assert.ok(p.steps.some((s) => s.kind === "add-disk"));
  assert.ok(!p.steps.some((s) => s.kind === "takeover-back"));
  // the monitor records it as mdmon does: map[0] raid5 with the spare in the last slot
  const after = applyUpdate(
    c,
    decodeUpdate(encodeReshapeMigration(p.change)),
    (mm) => mm === "254:48" ? "/dev/vdd" : null,
  );
  const vol = after.mpb.volumes[0];
  assert.equal(vol.maps[0].raidLevel, 5);
  assert.equal(vol.maps[0].numMembers, 4);
  assert.equal(vol.maps[1].raidLevel, 0);
  assert.equal(vol.maps[1].numMembers, 3);
  assert.equal(after.spares.length, 0);
  // mdadm 4.2 sends no disk (-1): the monitor picks the container's spare itself
  const blob = encodeReshapeMigration({ ...p.change, newDisk: null });
  const picked = applyUpdate(c, decodeUpdate(blob), () => null);
  assert.equal(picked.mpb.disks.length, 4);
});

Deno.test("migrate plan: raid0 -> raid5 takes --layout=left-asymmetric (mdadm 4.2 needs it) or none; other layouts refused", () => {
  const { c, facts } = build(3, 1, [{ level: 0, sizeKiB: 16384 }]);
  const bare = ok(c, facts, { level: 5 });
  for (const layout of ["left-asymmetric", "la"]) {
    assert.deepEqual(ok(c, facts, { level: 5, layout }), bare, layout);
  }
  for (const layout of ["left-symmetric", "rs", "parity-last"]) {
    refused(
      c,
      facts,
      { level: 5, layout },
      "layout-change",
      /Requested Layout not supported \(left-asymmetric layout is supported only\)/,
    );
  }
  const r10 = build(4, 0, [{ level: 10, sizeKiB: 16384 }]);
  refused(r10.c, r10.facts, { level: 0, layout: "la" }, "layout-change", /not meaningful/);
});

Deno.test("resume plan: raid0 3 -> raid5 4 cut mid-way is planned again as the grow planned it, parity disk as its spare", () => {
  const { c, facts } = build(3, 1, [{ level: 0, sizeKiB: 16384 }]);
  const forward = ok(c, facts, { level: 5 });
  const migrating = applyUpdate(
    c,
    decodeUpdate(encodeReshapeMigration(forward.change)),
    (mm) => mm === "254:48" ? "/dev/vdd" : null,
  );
  const disks = NAMES.slice(0, 4).map((n, i) => ({
    serial: `/dev/${n}`,
    path: `/dev/${n}`,
    majMin: `254:${i * 16}`,
    sizeBytes: BigInt(DISK) * 512n,
    sectorSize: 512,
  }));
  const { spares: _, ...rest } = facts;
  const again = resumePlan(migrating, rest, disks);
  assert.deepEqual(again, forward);
  // without its parity disk the migration cannot go on: refused, naming the disk
  assert.throws(
    () => resumePlan(migrating, rest, disks.slice(0, 3)),
    /disk \/dev\/vdd: parity disk=\/dev\/vdd: .*not in the container/,
  );
});

Deno.test("resume plan: a raid5 64k -> 256k chunk migration is planned again as the grow planned it", () => {
  const { c, facts } = build(3, 0, [{ level: 5, sizeKiB: 16384 }]);
  const forward = ok(c, facts, { chunkKiB: 256 });
  const migrating = applyUpdate(
    c,
    decodeUpdate(encodeReshapeMigration(forward.change)),
    () => null,
  );
  const { spares: _, ...rest } = facts;
  assert.deepEqual(resumePlan(migrating, rest, []), forward);
});
