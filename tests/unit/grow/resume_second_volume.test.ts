/**
 * A container OCE of two volumes cut after the first volume was grown, while the second
 * migrates (the real-kernel crash round ci1 cut its raid0 + raid5 lane there): the continue
 * walks the plan from volume 0, which is done and must be skipped, not waited on until the
 * monitor "puts it into migration" (it never will: the second volume holds the migration).
 */
import assert from "node:assert/strict";
import { endMigration } from "../../../meta/imsm/edit/mod.ts";
import { raid0Raid5Growing } from "./two_volumes.ts";
import { volumeInGeneralMigration } from "../../../meta/imsm/accessors.ts";
import { resumePlan } from "../../../core/grow/resume.ts";
import { Runner } from "../../../core/grow/run.ts";
import { FakeKernel } from "../../../kernel/fake/fake_kernel.ts";
import type { ContainerDisk } from "../../../core/monitor/container_model.ts";

const DISK = 131072; // 64 MiB
const NAMES = ["vda", "vdb", "vdc", "vdd"];

function secondVolumeMigrating() {
  // volume 0's reshape done: the monitor ends its migration and starts volume 1's
  return endMigration(raid0Raid5Growing(NAMES, DISK), 0);
}

Deno.test("resume: volume 0 grown, volume 1 migrating: the continue skips volume 0 at once", async () => {
  const c = secondVolumeMigrating();
  assert.equal(volumeInGeneralMigration(c.mpb)?.index, 1);
  assert.equal(c.mpb.volumes[0].migrState, 0);
  assert.equal(c.mpb.volumes[0].maps[0].numMembers, 4);
  const disks: ContainerDisk[] = NAMES.map((name, i) => ({
    name,
    path: `/dev/${name}`,
    majMin: `254:${i * 16}`,
    serial: `/dev/${name}`,
    sizeBytes: BigInt(DISK * 512),
    sectorSize: 512,
  }));
  const plan = resumePlan(
    c,
    { container: "md127", volumeDevices: ["md126", "md125"], busy: [], sectorSize: 512 },
    disks,
  );
  assert.deepEqual(plan.volumes.map((v) => v.index), [0, 1]);
  let clock = 0;
  const pings: string[] = [];
  const r = new Runner({
    kernel: new FakeKernel(NAMES.map((name) => ({ name, sizeBytes: DISK * 512 }))),
    monitor: {
      ping: () => Promise.resolve(void pings.push("ping")),
      pingManager: () => Promise.resolve(void pings.push("manager")),
      update: () => Promise.reject(new Error("no update expected")),
    },
    plan,
    disks,
    load: () => Promise.resolve(c),
    sleep: (ms) => Promise.resolve(void (clock += ms)),
    now: () => clock,
    pollMs: 100,
    monitorTimeoutMs: 5_000,
  });
  const report = await r.volume(plan.volumes[0], 1);
  assert.deepEqual(report, { device: "md126", windows: 0, criticalWindows: 0, seconds: 0 });
  assert.equal(clock, 0, "the runner waited for a volume that is done");
});
