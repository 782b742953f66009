/** Manage mode on the FakeKernel: spares into and out of the container, members failed, refusals. */
import assert from "node:assert/strict";
import { setup } from "./setup.ts";
import { FakeHost, recordSysfs } from "../lifecycle/fake_host.ts";
import { manage } from "../../../core/monitor/manage.ts";
import { LifecycleError } from "../../../core/lifecycle/errors.ts";
import { readMetadata } from "../../../core/examine.ts";
import { diskSerial } from "../../../meta/imsm/accessors.ts";
import { DISK_STATUS } from "../../../meta/imsm/constants.ts";

const MiB = 1024 * 1024;

async function tail(s: Awaited<ReturnType<typeof setup>>, dev: string): Promise<Uint8Array> {
  return await s.kernel.blocks.read(dev, BigInt(64 * MiB - MiB), MiB);
}

async function refused(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof LifecycleError, `not a refusal: ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("manage: --add to the container writes a spare record, then new_dev/offset/size/external_bbl", async () => {
  const s = await setup({ clean: true });
  s.kernel.addDisk({ name: "vdd", sizeBytes: 64 * MiB });
  const host = new FakeHost(s.kernel);
  host.links.set("imsm0", "/dev/md127");
  const generation = (await s.onDisk()).mpb.generationNum;
  const sysfs = recordSysfs(s.kernel);
  const said: string[] = [];
  await manage(s.kernel, host, {
    device: "/dev/md/imsm0",
    ops: [{ action: "add", target: { kind: "device", path: "/dev/vdd" } }],
    say: (m) => said.push(m),
  });
  assert.deepEqual(said, ["added /dev/vdd"]);
  const md = await readMetadata(s.kernel.blocks, "/dev/vdd");
  assert.equal(md.mpb.volumes.length, 0);
  assert.equal(md.mpb.disks.length, 1);
  assert.equal(diskSerial(md.mpb.disks[0]), "/dev/vdd");
  assert.equal(md.mpb.disks[0].status, DISK_STATUS.SPARE);
  assert.deepEqual(sysfs, [
    "md127/new_dev=254:48",
    `md127/dev-vdd/offset=${64 * 2048 - 2210}`,
    "md127/dev-vdd/size=1105",
    "md127/dev-vdd/state=external_bbl",
  ]);
  // the volume members' metadata is untouched
  assert.equal((await s.onDisk()).mpb.generationNum, generation);
});

Deno.test("manage: refusals name the problem and write nothing", async () => {
  const s = await setup({ clean: true });
  s.kernel.addDisk({ name: "vdd", sizeBytes: 64 * MiB });
  const host = new FakeHost(s.kernel);
  host.links.set("imsm0", "/dev/md127");
  host.links.set("vol0", "/dev/md126");
  const before = await tail(s, "/dev/vdd");
  const sysfs = recordSysfs(s.kernel);
  const op = (action: "add" | "remove" | "fail", path: string) => [{
    action,
    target: { kind: "device" as const, path },
  }];
  await refused(
    manage(s.kernel, host, { device: "/dev/md/vol0", ops: op("add", "/dev/vdd") }),
    /Cannot add disks to a 'member' array/,
  );
  await refused(
    manage(s.kernel, host, { device: "/dev/md/vol0", ops: op("remove", "/dev/vda") }),
    /Cannot remove disks from a 'member' array/,
  );
  await refused(
    manage(s.kernel, host, { device: "/dev/md/imsm0", ops: op("add", "/dev/vda") }),
    /already in/,
  );
  await refused(
    manage(s.kernel, host, { device: "/dev/md/imsm0", ops: op("remove", "/dev/vda") }),
    /Device or resource busy/,
  );
  await refused(
    manage(s.kernel, host, { device: "/dev/md/imsm0", ops: op("fail", "/dev/vda") }),
    /fail it in its volume/,
  );
  host.busy.add("/dev/vdd");
  await refused(
    manage(s.kernel, host, { device: "/dev/md/imsm0", ops: op("add", "/dev/vdd") }),
    /busy/,
  );
  await refused(
    manage(s.kernel, host, { device: "/dev/md/nosuch", ops: op("add", "/dev/vdd") }),
    /does not appear to be an md device/,
  );
  assert.deepEqual(sysfs, []);
  assert.deepEqual(await tail(s, "/dev/vdd"), before);
});

Deno.test("manage: --fail sets the member faulty; the monitor then records it; --remove of a free spare", async () => {
  const s = await setup({ clean: true, spares: 1 });
  const host = new FakeHost(s.kernel);
  host.links.set("imsm0", "/dev/md127");
  host.links.set("vol0", "/dev/md126");
  await s.manager.scan();
  await s.monitor.pass();
  const said: string[] = [];
  await manage(s.kernel, host, {
    device: "/dev/md/vol0",
    ops: [{ action: "fail", target: { kind: "device", path: "/dev/vdc" } }],
    say: (m) => said.push(m),
  });
  assert.deepEqual(said, ["set /dev/vdc faulty in /dev/md/vol0"]);
  assert.ok((await s.kernel.array("md126").member("vdc").state()).includes("faulty"));
  await s.monitor.pass();
  const c = await s.onDisk();
  const rec = c.mpb.disks.find((d) => diskSerial(d).startsWith("/dev/vdc"));
  assert.ok(rec && (rec.status & DISK_STATUS.FAILED) !== 0);

  // vdd is a free spare of the container (setup put it there): it may leave
  await manage(s.kernel, host, {
    device: "/dev/md/imsm0",
    ops: [{ action: "remove", target: { kind: "device", path: "/dev/vdd" } }],
    say: (m) => said.push(m),
  });
  assert.equal(said[1], "hot removed /dev/vdd from /dev/md/imsm0");
  assert.ok(!(await s.kernel.md.memberNames("md127")).includes("vdd"));
});
