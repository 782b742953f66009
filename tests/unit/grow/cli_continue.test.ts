/**
 * `mdadm --grow --continue` refusals on the FakeKernel: nothing to continue, and a copy area
 * still holding a unit (only assembly may restore it, as mdadm 4.2 says). Nothing written.
 */
import assert from "node:assert/strict";
import { setup } from "../monitor/setup.ts";
import { FakeHost, recordSysfs } from "../lifecycle/fake_host.ts";
import { parseMdadm } from "../../../cli/parse.ts";
import { runCommand, type System } from "../../../cli/run.ts";
import { loadContainer, storeContainer } from "../../../core/imsm/store.ts";
import { beginMigration, prepareWrite } from "../../../meta/imsm/edit/mod.ts";
import { advanceCheckpoint, initMigrationRecord } from "../../../meta/imsm/edit/migration.ts";
import { serializeMigrationSector } from "../../../meta/imsm/migration_record.ts";
import { MIGR_REC_STATUS } from "../../../meta/imsm/constants.ts";

async function mdadm(s: Awaited<ReturnType<typeof setup>>, host: FakeHost, args: string[]) {
  const parsed = parseMdadm(args);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed));
  const system: System = { kernel: () => s.kernel, env: (k) => host.env(k), host: () => host };
  let out = "";
  let err = "";
  const code = await runCommand(parsed.command, "mdadm", system, {
    out: (t) => (out += t),
    err: (t) => (err += t),
  });
  return { code, out, err };
}

const NAMES = ["vda", "vdb", "vdc", "vdd"];

async function fixture() {
  const s = await setup({ level: 5, members: 3, spares: 1, clean: true });
  const host = new FakeHost(s.kernel);
  host.links.set("imsm0", "/dev/md127");
  host.links.set("vol0", "/dev/md126");
  return { s, host };
}

Deno.test("cli continue: no migration in the metadata: refused, nothing written", async () => {
  const { s, host } = await fixture();
  const writes = s.kernel.disks.writes.length;
  const sysfs = recordSysfs(s.kernel);
  const r = await mdadm(s, host, ["--grow", "--continue", "/dev/md/imsm0"]);
  assert.equal(r.code, 1);
  assert.match(r.err, /no reshape in progress on \/dev\/md127 \(no volume is migrating\)/);
  assert.deepEqual(sysfs, []);
  assert.equal(s.kernel.disks.writes.length, writes);
});

Deno.test("cli continue: a grow stopped before its metadata update (frozen, writes suspended): released, exit 0, nothing written", async () => {
  const { s, host } = await fixture();
  const array = s.kernel.array("md126");
  await array.setSyncAction("frozen");
  await array.setBlocked(true);
  await array.setSuspendWindow(0n, 6144n);
  const writes = s.kernel.disks.writes.length;
  const r = await mdadm(s, host, ["--grow", "--continue", "/dev/md/imsm0"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /\/dev\/md126: user writes below sector 6144 were suspended; released/);
  assert.match(r.err, /\/dev\/md126: unfrozen/);
  assert.match(r.err, /no reshape was recorded on \/dev\/md127/);
  assert.equal(await array.suspendHi(), 0n);
  const mv = await array.metadataVersion();
  assert.ok(mv.kind === "external-member" && !mv.blocked);
  assert.equal(s.kernel.disks.writes.length, writes);
});

Deno.test("cli continue: the record says the copy area holds unit 1: refused until assembly restores it", async () => {
  const { s, host } = await fixture();
  // the metadata of a grow stopped while unit 1 was being moved (status 1)
  const disks = NAMES.map((n) => `/dev/${n}`);
  let c = await loadContainer(s.kernel.blocks, disks);
  c = beginMigration(c, 0, { kind: "grow-disks", newDisks: ["/dev/vdd"] });
  const { container, record } = advanceCheckpoint(
    c,
    initMigrationRecord(c),
    1,
    MIGR_REC_STATUS.UNIT_SRC_IN_CP_AREA,
  );
  const prepared = prepareWrite(container);
  await storeContainer(
    s.kernel.writer,
    NAMES.map((n) => ({
      serial: `/dev/${n}`,
      device: `/dev/${n}`,
      size: 64n * 1024n * 1024n,
      sectorSize: 512,
    })),
    prepared,
  );
  for (const d of ["/dev/vda", "/dev/vdb"]) {
    await s.kernel.writer.write({
      device: d,
      offset: 64n * 1024n * 1024n - 512n,
      data: serializeMigrationSector(record, 512),
      purpose: "migration-record",
      what: "test",
    });
  }
  const writes = s.kernel.disks.writes.length;
  const sysfs = recordSysfs(s.kernel);
  const r = await mdadm(s, host, ["--grow", "--continue", "/dev/md/imsm0"]);
  assert.equal(r.code, 1, r.err);
  assert.match(
    r.err,
    /cannot continue the reshape of vol0: unit 1 is in the copy area; stop the volume and assemble/,
  );
  assert.deepEqual(sysfs, []);
  assert.equal(s.kernel.disks.writes.length, writes);
});
