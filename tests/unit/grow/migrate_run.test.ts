/**
 * A chunk-size migration through the OCE window driver on the FakeKernel with mdts's real
 * monitor in process: raid5 3 disks 64k -> 256k (raid0 needs md's raid0 -> raid4 takeover,
 * which the fake does not model: tests/vm/migrate_chunk.test.ts covers it). The
 * reshape_migration update starts it, every unit goes through the copy area (a same-size
 * reshape rewrites what it reads), the copy area holds the unit's bytes as the new layout
 * places them, and the monitor ends the migration with the new chunk in map[0].
 */
import assert from "node:assert/strict";
import { setup } from "../monitor/setup.ts";
import { fakeGrowContext, managerLink } from "./fake_grow.ts";
import { recordSysfs } from "../lifecycle/fake_host.ts";
import { containerDisks } from "../../../core/monitor/container_model.ts";
import { loadContainer } from "../../../core/imsm/store.ts";
import { planMigration } from "../../../core/grow/migrate_plan.ts";
import { runGrowPlan } from "../../../core/grow/run.ts";
import { parseMigrationRecord } from "../../../meta/imsm/migration_record.ts";
import { migrationGeometry } from "../../../core/grow/geometry.ts";
import { buildBackup } from "../../../core/grow/backup.ts";
import { ENV } from "../monitor/setup.ts";
import { applyUpdate } from "../../../core/monitor/updates.ts";
import { decodeUpdate } from "../../../core/monitor/protocol.ts";
import { encodeReshapeMigration } from "../../../core/grow/monitor_link.ts";
import type { MdLevel } from "../../../meta/imsm/sizes.ts";

async function migrateChunk(level: MdLevel) {
  const s = await setup({ level, members: 3, spares: 0, clean: true });
  await s.manager.scan();
  const running = s.monitor.run(5);
  const disks = await containerDisks(s.kernel, "md127", ENV);
  for (const d of ["vda", "vdb", "vdc"]) {
    const data = new Uint8Array(2 * 1024 * 1024).map((_, i) => (i * 13 + d.charCodeAt(2)) & 0xff);
    await s.kernel.disks.write({
      device: `/dev/${d}`,
      offset: 0n,
      data,
      purpose: "data",
      what: "t",
    });
  }
  const c = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
  const decision = planMigration(c, {
    container: "md127",
    volumeDevices: ["md126"],
    busy: [],
    spares: [],
    sectorSize: 512,
  }, { volumeIndex: 0, device: "/dev/md/vol0", chunkKiB: 256 });
  if (!decision.ok) assert.fail(decision.refusals.map((r) => r.message).join("\n"));
  const plan = decision.plan!;
  const sysfs = recordSysfs(s.kernel);
  const sent: string[] = [];
  const records: { unit: number; status: number }[] = [];
  let unit0: Uint8Array[] | null = null;
  const origWrite = s.kernel.writer.write.bind(s.kernel.writer);
  s.kernel.writer.write = async (req) => {
    if (req.purpose === "migration-record" && req.device === "/dev/vda") {
      const r = parseMigrationRecord(req.data, req.device);
      if (r) records.push({ unit: r.currMigrUnitLo, status: r.recStatus });
    }
    if (req.purpose === "copy-area" && unit0 === null) {
      // unit 0 computed independently from the old layout on the disks, new layout applied
      // backed up before the update: the migration as the monitor will record it
      const now = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
      assert.equal(now.mpb.volumes[0].migrState, 0);
      assert.deepEqual(sent, []);
      const planned = applyUpdate(
        now,
        decodeUpdate(encodeReshapeMigration(plan.change!)),
        (mm) => disks.find((d) => d.majMin === mm)?.serial ?? null,
      );
      const g = migrationGeometry(planned.mpb, 0, plan.volumes[0].componentSectors);
      assert.equal(g.source.chunkSectors, 128);
      assert.equal(g.dest.chunkSectors, 512);
      unit0 = await buildBackup(g, 0, async (m, sector, n) => {
        const name = ["vda", "vdb", "vdc"][m];
        return name
          ? await s.kernel.blocks.read(`/dev/${name}`, BigInt(sector) * 512n, n * 512)
          : null;
      });
      const slot = ["/dev/vda", "/dev/vdb", "/dev/vdc"].indexOf(req.device);
      assert.deepEqual(req.data, unit0[slot]);
    }
    return await origWrite(req);
  };
  const report = await runGrowPlan(fakeGrowContext(s, plan, disks, managerLink(s, sent)));
  s.monitor.stop();
  await running;
  return { s, disks, sysfs, sent, records, report, plan, unit0 };
}

Deno.test("migrate run: raid5 3 disks 64k -> 256k, every unit backed up, migration ended", async () => {
  const { s, disks, sysfs, sent, records, report, unit0 } = await migrateChunk(5);
  assert.equal(sent[0], "reshape_migration");
  assert.ok(sent.slice(1).every((x) => x === "general_migration_checkpoint"));
  const first = (w: string) => sysfs.findIndex((x) => x.startsWith(w));
  assert.ok(first("md126/metadata_version=external:-md127/0") < first("md126/chunk_size=262144"));
  assert.ok(first("md126/chunk_size=262144") < first("md126/sync_action=reshape"));
  assert.equal(first("md126/level="), -1);
  // 16 units, each recorded in the copy area (status 1) before md may move into it
  // (unit 0 twice: before the update and again once the volume migrates)
  const critical = records.filter((r) => r.status === 1).map((r) => r.unit);
  assert.deepEqual(critical, [0, ...Array(16).keys()]);
  assert.equal(report.volumes[0].criticalWindows, 16);
  assert.ok(unit0 !== null);
  const after = await loadContainer(s.kernel.blocks, disks.map((d) => d.path));
  const vol = after.mpb.volumes[0];
  assert.equal(vol.migrState, 0);
  assert.equal(vol.maps.length, 1);
  assert.equal(vol.maps[0].blocksPerStrip, 512);
  assert.equal(vol.maps[0].numMembers, 3);
  assert.equal(await s.kernel.md.read("md126", "chunk_size"), "262144");
  assert.equal(sysfs.at(-1), "md126/sync_action=idle");
});
