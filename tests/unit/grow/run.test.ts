/**
 * The OCE state machine on the FakeKernel with mdts's real monitor (Manager + Monitor in
 * process, reached through a MonitorLink that hands frames to Manager.handle): raid5 3->4
 * from freeze to unfreeze. The fake md moves its reshape only when the runner sleeps, so the
 * windows, checkpoints and copy-area writes are deterministic.
 */
import assert from "node:assert/strict";
import { setup } from "../monitor/setup.ts";
import { fakeGrowContext, managerLink } from "./fake_grow.ts";
import { recordSysfs } from "../lifecycle/fake_host.ts";
import { containerDisks } from "../../../core/monitor/container_model.ts";
import { loadContainer } from "../../../core/imsm/store.ts";
import { type GrowPlan, planGrow } from "../../../core/grow/plan.ts";
import { GrowError, runGrowPlan, Runner } from "../../../core/grow/run.ts";
import { encodeContainerReshape, packDev } from "../../../core/grow/monitor_link.ts";
import { decodeUpdate } from "../../../core/monitor/protocol.ts";
import { parseMigrationRecord } from "../../../meta/imsm/migration_record.ts";
import { migrationGeometry } from "../../../core/grow/geometry.ts";
import { buildBackup } from "../../../core/grow/backup.ts";
import { ENV } from "../monitor/setup.ts";
import type { GrowProgress } from "../../../core/grow/progress.ts";
import {
  addSpare,
  addVolume,
  beginMigration,
  endMigration,
  newContainer,
} from "../../../meta/imsm/edit/mod.ts";
import { volumeCurrMigrUnit, volumeInGeneralMigration } from "../../../meta/imsm/accessors.ts";
import { applyUpdate } from "../../../core/monitor/updates.ts";
import { encodeCheckpointUpdate } from "../../../core/monitor/protocol.ts";
import { ImsmFormatError } from "../../../meta/imsm/errors.ts";

async function fixture() {
  const s = await setup({ level: 5, members: 3, spares: 1, clean: true });
  await s.manager.scan();
  const running = s.monitor.run(5);
  const disks = await containerDisks(s.kernel, "md127", ENV);
  const c = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
  const spare = disks.find((d) => d.name === "vdd")!;
  const decision = planGrow(c, {
    container: "md127",
    volumeDevices: ["md126"],
    busy: [],
    spares: [{
      serial: spare.serial,
      path: spare.path,
      majMin: spare.majMin,
      sizeSectors: Number(spare.sizeBytes / 512n),
      sectorSize: 512,
    }],
    sectorSize: 512,
  }, { raidDevices: 4 });
  assert.ok(decision.ok);
  const plan = (decision as { plan: GrowPlan }).plan;
  return { s, running, disks, plan };
}

Deno.test("grow run: raid5 3->4 from freeze to unfreeze, checkpoints and copy area in order", async () => {
  const { s, running, disks, plan } = await fixture();
  // some recognisable old data in the first units of every member
  for (const d of ["vda", "vdb", "vdc"]) {
    const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7 + d.charCodeAt(2)) & 0xff);
    await s.kernel.disks.write({
      device: `/dev/${d}`,
      offset: 0n,
      data,
      purpose: "data",
      what: "t",
    });
  }
  const before = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
  const sysfs = recordSysfs(s.kernel);
  const sent: string[] = [];
  const progress: GrowProgress[] = [];
  const records: { unit: number; status: number }[] = [];
  const origWrite = s.kernel.writer.write.bind(s.kernel.writer);
  let expectedUnit0: Uint8Array[] | null = null;
  s.kernel.writer.write = async (req) => {
    if (req.purpose === "migration-record" && req.device === "/dev/vda") {
      const r = parseMigrationRecord(req.data, req.device);
      if (r) records.push({ unit: r.currMigrUnitLo, status: r.recStatus });
    }
    if (req.purpose === "copy-area" && expectedUnit0 === null) {
      // the unit 0 image, computed independently from the old layout on the disks
      // written before the metadata update: nothing migrates on disk yet, and the monitor
      // has not been told
      const c = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
      assert.equal(c.mpb.volumes[0].migrState, 0);
      assert.deepEqual(sent, []);
      assert.ok(sysfs.includes("md126/suspend_hi=6144"), "unit 0 not suspended before its backup");
      const planned = applyUpdate(
        c,
        decodeUpdate(encodeContainerReshape(3, 4, plan.spares.map((x) => x.majMin))),
        (mm) => disks.find((d) => d.majMin === mm)?.serial ?? null,
      );
      const g = migrationGeometry(planned.mpb, 0, plan.volumes[0].componentSectors);
      expectedUnit0 = await buildBackup(g, 0, (m, sector, n) => {
        const name = ["vda", "vdb", "vdc"][m];
        return s.kernel.blocks.read(`/dev/${name}`, BigInt(sector) * 512n, n * 512);
      });
      const slot = ["/dev/vda", "/dev/vdb", "/dev/vdc", "/dev/vdd"].indexOf(req.device);
      assert.deepEqual(req.data, expectedUnit0[slot]);
    }
    return await origWrite(req);
  };
  const ml = managerLink(s, sent);
  const report = await runGrowPlan(
    fakeGrowContext(s, plan, disks, ml, { progress: (p) => progress.push(p) }),
  );
  s.monitor.stop();
  await running;

  // the order of the container-level steps, as mdadm 4.2 + mdmon do them
  const first = (w: string) => sysfs.findIndex((x) => x.startsWith(w));
  assert.ok(first("md126/sync_action=frozen") < first("md126/metadata_version=external:-md127/0"));
  assert.ok(first("md126/metadata_version=external:-") < first("md126/raid_disks=4"));
  assert.ok(first("md126/raid_disks=4") < first("md126/new_dev="));
  assert.ok(first("md126/new_dev=") < first("md126/dev-vdd/offset=0"));
  assert.ok(first("md126/dev-vdd/slot=3") < first("md126/chunk_size=65536"));
  assert.ok(first("md126/sync_max=0") < first("md126/sync_action=reshape"));
  assert.equal(sysfs.at(-2), "md126/metadata_version=external:/md127/0");
  assert.equal(sysfs.at(-1), "md126/sync_action=idle");
  assert.equal(sent[0], "reshape_container_disks");
  assert.ok(sent.slice(1).every((x) => x === "general_migration_checkpoint"));

  // units 0,1,2 go through the copy area (status 1 before md may move), the rest do not;
  // unit 0's record is written before the update and again once the volume migrates (a
  // metadata write while nothing migrates zeroes it): the metadata never shows the volume
  // migrating with unit 0 in place
  const critical = records.filter((r) => r.status === 1).map((r) => r.unit);
  assert.deepEqual(critical, [0, 0, 1, 2]);
  assert.deepEqual(records[0], { unit: 0, status: 1 });
  const units = records.filter((r) => r.status === 0).map((r) => r.unit);
  assert.deepEqual(units, [...units].sort((a, b) => a - b));
  // the end is not checkpointed: the monitor ends the migration (see the test below)
  assert.ok(units.at(-1)! < 16 && units.at(-1)! >= 8, `${units}`);
  assert.ok(expectedUnit0 !== null);
  // each critical window: suspended, then backed up + recorded, then sync_max
  const unit1Suspend = first("md126/suspend_hi=12288");
  const syncMax1 = first("md126/sync_max=4096");
  assert.ok(unit1Suspend > 0 && unit1Suspend < syncMax1);

  // the end: 4 members, not migrating, array size grown, record cleared, suspend cleared
  const after = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
  assert.equal(before.mpb.volumes[0].maps[0].numMembers, 3);
  assert.equal(after.mpb.volumes[0].maps[0].numMembers, 4);
  assert.equal(after.mpb.volumes[0].migrState, 0);
  assert.equal(await s.kernel.array("md126").arraySize(), 49152n);
  assert.equal(await s.kernel.array("md126").suspendHi(), 0n);
  const last = await s.kernel.blocks.read("/dev/vda", BigInt(64 * 1024 * 1024 - 512), 512);
  assert.equal(parseMigrationRecord(last, "vda"), null);
  assert.equal(report.volumes[0].criticalWindows, 3);
  assert.ok(report.volumes[0].windows < 16, `${report.volumes[0].windows} windows`);
  assert.equal(progress.at(-1)!.done, progress.at(-1)!.total);
});

Deno.test("grow run: a copy-area write failure stops md at its checkpoint, frozen and resumable", async () => {
  const { s, running, disks, plan } = await fixture();
  const sysfs = recordSysfs(s.kernel);
  const orig = s.kernel.writer.write.bind(s.kernel.writer);
  let copies = 0;
  s.kernel.writer.write = (req) => {
    if (req.purpose === "copy-area" && ++copies === 5) {
      return Promise.reject(new Error("EIO on /dev/vda"));
    }
    return orig(req);
  };
  const err = await runGrowPlan(
    fakeGrowContext(s, plan, disks, managerLink(s, []), { monitorTimeoutMs: 2_000 }),
  ).then(() => null, (e) => e);
  s.monitor.stop();
  await running;
  assert.ok(err instanceof GrowError, String(err));
  assert.equal(err.stage, "window");
  assert.equal(err.leftResumable, true);
  assert.match(err.message, /EIO on \/dev\/vda/);
  // md may not go past unit 1 (sync_max stays at the end of unit 0), I/O unblocked, still frozen
  assert.equal(await s.kernel.array("md126").syncMax(), 2048n);
  assert.equal(await s.kernel.array("md126").suspendHi(), 0n);
  assert.equal(
    (await s.kernel.array("md126").metadataVersion()).kind === "external-member" &&
      ((await s.kernel.array("md126").metadataVersion()) as { blocked: boolean }).blocked,
    true,
  );
  assert.ok(!sysfs.includes("md126/metadata_version=external:/md127/0"));
  // the metadata says: migrating, checkpoint at unit 1 (unit 0 done)
  const c = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
  assert.equal(c.mpb.volumes[0].migrState, 1);
  const rec = parseMigrationRecord(
    await s.kernel.blocks.read("/dev/vda", BigInt(64 * 1024 * 1024 - 512), 512),
    "vda",
  )!;
  assert.equal(rec.currMigrUnitLo, 1);
  assert.equal(rec.recStatus, 0);
});

Deno.test("grow run: reshape_container_disks blob is mdadm's (observed bytes)", () => {
  // spec imsm-reshape.md §2.1 step 7: 05 00 00 00 03 00 00 00 04 00 00 00 30 fe 00 00
  assert.deepEqual(
    [...encodeContainerReshape(3, 4, ["254:48"])],
    [5, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0x30, 0xfe, 0, 0],
  );
  assert.equal(packDev("259:300"), (300 & 0xff) | (259 << 8) | ((300 & ~0xff) << 12));
});

Deno.test("grow run: reshape writes name their volume and unit (MDTS_FAULT volume=, unit= pick them)", async () => {
  const { s, running, disks, plan } = await fixture();
  const seen: { purpose: string; unit: number | null; volume?: string; at?: number }[] = [];
  const origWrite = s.kernel.writer.write.bind(s.kernel.writer);
  s.kernel.writer.write = async (req) => {
    // the monitor's own record clear (when it ends the migration) is not the grow's
    if (req.device === "/dev/vda" && req.reshapeAt !== undefined) {
      const r = req.purpose === "migration-record"
        ? parseMigrationRecord(req.data, req.device)
        : null;
      seen.push({
        purpose: req.purpose,
        unit: r ? r.currMigrUnitLo : null,
        volume: req.reshapeAt?.volume,
        at: req.reshapeAt?.unit,
      });
    }
    return await origWrite(req);
  };
  await runGrowPlan(fakeGrowContext(s, plan, disks, managerLink(s, [])));
  s.monitor.stop();
  await running;
  const name = plan.volumes[0].name;
  assert.ok(seen.length >= 10 && seen.every((w) => w.volume === name), JSON.stringify(seen));
  // a record names the unit it records; the copy area the unit it backs up (the record after
  // it says so with status 1); the cleared record the end (unit 16 of 16)
  const records = seen.filter((w) => w.purpose === "migration-record");
  for (const w of records.slice(0, -1)) assert.equal(w.at, w.unit);
  assert.ok(records.every((w) => w.unit !== 16), "the end is never recorded as a unit");
  assert.deepEqual(records.at(-1), {
    purpose: "migration-record",
    unit: null,
    volume: name,
    at: 16,
  });
  const copies = seen.filter((w) => w.purpose === "copy-area").map((w) => w.at);
  assert.deepEqual(copies, [0, 1, 2]);
});

Deno.test("grow run: the end of a volume is not checkpointed, so no update lands on the next volume", async () => {
  // why: the monitor applies a checkpoint to whichever volume migrates (mdmon's rule); once
  // it ended volume 0's migration it has begun volume 1's, which a late "unit 8" would show
  // at its end with its reshape not begun (the crash matrix saw this: raid0 + raid5)
  const disk = (n: string) => ({ serial: `/dev/${n}`, sizeSectors: 131072 });
  let c = newContainer(["vda", "vdb", "vdc"].map(disk));
  for (const [i, level] of [0, 5].entries()) {
    c = addVolume(c, {
      name: `vol${i}`,
      level: level as 0 | 5,
      members: ["/dev/vda", "/dev/vdb", "/dev/vdc"],
      chunkKiB: 128,
      sizeKiB: 8192 * (level === 5 ? 2 : 3),
      assumeClean: true,
      familyNum: 0x1234,
      creationTime: 1700000000n,
    });
  }
  c = addSpare(c, disk("vdd"));
  c = beginMigration(c, 0, { kind: "grow-disks", newDisks: ["/dev/vdd"] });
  c = endMigration(c, 0); // the monitor: volume 0 done, volume 1 begins at unit 0
  assert.equal(volumeInGeneralMigration(c.mpb)?.index, 1);
  const late = applyUpdate(c, decodeUpdate(encodeCheckpointUpdate(8n)), () => null);
  assert.equal(Number(volumeCurrMigrUnit(late.mpb.volumes[1])), 8);

  // and the grow never sends one for the end: a raid5 3->4 of 16 units on the fake kernel
  const { s, running, disks, plan } = await fixture();
  const updates: bigint[] = [];
  const inner = managerLink(s, []);
  await runGrowPlan(fakeGrowContext(s, plan, disks, {
    ...inner,
    update: async (blob) => {
      const u = decodeUpdate(blob);
      if (u.type === "general_migration_checkpoint") updates.push(u.unit);
      await inner.update(blob);
    },
  }));
  s.monitor.stop();
  await running;
  assert.ok(updates.length > 5 && updates.every((u) => u < 16n), `${updates}`);
  const after = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
  assert.equal(after.mpb.volumes[0].migrState, 0); // the monitor ended it
});

Deno.test("grow run: a torn metadata read (the monitor writing) is read again, not an error", async () => {
  const { s, running, disks, plan } = await fixture();
  let torn = 3;
  const load = async () => {
    const c = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
    if (torn-- > 0) {
      // what a read between the monitor's two MPB writes returns
      throw new ImsmFormatError({
        code: "bad-checksum",
        device: "/dev/vdd",
        structure: "imsm_super",
        field: "checkSum",
        value: 1,
        problem: "computed 0x2",
        hint: "",
      });
    }
    return c;
  };
  await runGrowPlan(fakeGrowContext(s, plan, disks, managerLink(s, []), { load }));
  s.monitor.stop();
  await running;
  const after = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
  assert.equal(after.mpb.volumes[0].maps[0].numMembers, 4);
  assert.equal(after.mpb.volumes[0].migrState, 0);
});

Deno.test("grow run: a metadata update the monitor refuses withdraws the early backup: record cleared, writes unsuspended, unfrozen", async () => {
  const { s, running, disks, plan } = await fixture();
  const ml = managerLink(s, []);
  const link = {
    ...ml,
    update: () => Promise.reject(new Error("the monitor did not acknowledge the update")),
  };
  const err = await runGrowPlan(fakeGrowContext(s, plan, disks, link)).then(() => null, (e) => e);
  s.monitor.stop();
  await running;
  assert.ok(err instanceof GrowError, String(err));
  assert.equal(err.stage, "metadata-update");
  assert.equal(err.leftResumable, false);
  for (const d of ["/dev/vda", "/dev/vdb"]) {
    const sector = await s.kernel.blocks.read(d, BigInt(64 * 1024 * 1024 - 512), 512);
    assert.equal(parseMigrationRecord(sector, d), null, `${d}: record left behind`);
  }
  assert.equal(await s.kernel.array("md126").suspendHi(), 0n);
  const c = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
  assert.equal(c.mpb.volumes[0].migrState, 0);
  const mv = await s.kernel.array("md126").metadataVersion();
  assert.ok(mv.kind === "external-member" && !(mv as { blocked: boolean }).blocked, "still frozen");
});

Deno.test("grow run: a prepared unit 0 the metadata does not match is dropped: record back to unit 0 in place, writes unsuspended", async () => {
  const { s, running, disks, plan } = await fixture();
  const r = new Runner(fakeGrowContext(s, plan, disks, managerLink(s, [])));
  await r.freeze();
  await r.prepareFirstUnit();
  assert.ok(r.prepared !== null);
  assert.equal(await s.kernel.array("md126").suspendHi(), 6144n);
  // a prediction that is not what the monitor records (another chunk size)
  const other = structuredClone(r.prepared.container);
  other.mpb.volumes[0].maps[0].blocksPerStrip *= 2;
  r.prepared = { ...r.prepared, container: other };
  await r.sendReshape();
  const c = await r.migratingVolume(plan.volumes[0]);
  assert.ok(c !== null);
  assert.equal(await r.takePrepared(plan.volumes[0], c), null);
  assert.equal(r.prepared, null);
  for (const d of ["/dev/vda", "/dev/vdb"]) {
    const rec = parseMigrationRecord(
      await s.kernel.blocks.read(d, BigInt(64 * 1024 * 1024 - 512), 512),
      d,
    );
    assert.equal(rec?.recStatus, 0, d);
    assert.equal(rec?.currMigrUnitLo, 0, d);
  }
  assert.equal(await s.kernel.array("md126").suspendHi(), 0n);
  s.monitor.stop();
  await running;
});
