/**
 * `mdadm --grow /dev/md/VOL --chunk=K|--level=L` on the FakeKernel: the command finds the
 * volume's container, prints the plan with --dry-run, refuses in mdadm's words, and writes
 * not one byte or sysfs attribute in either case.
 */
import assert from "node:assert/strict";
import { setup } from "../monitor/setup.ts";
import { FakeHost, recordSysfs } from "../lifecycle/fake_host.ts";
import { parseMdadm } from "../../../cli/parse.ts";
import { runCommand, type System } from "../../../cli/run.ts";
import type { MdLevel } from "../../../meta/imsm/sizes.ts";

async function mdadm(s: Awaited<ReturnType<typeof setup>>, host: FakeHost, args: string[]) {
  const parsed = parseMdadm(args);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  if (!parsed.ok) throw new Error("parse");
  const system: System = { kernel: () => s.kernel, env: (k) => host.env(k), host: () => host };
  let out = "";
  let err = "";
  const code = await runCommand(parsed.command, "mdadm", system, {
    out: (t) => (out += t),
    err: (t) => (err += t),
  });
  return { code, out, err };
}

async function fixture(level: MdLevel, members: number, spares = 0) {
  const s = await setup({ level, members, spares, clean: true });
  const host = new FakeHost(s.kernel);
  host.links.set("imsm0", "/dev/md127");
  host.links.set("vol0", "/dev/md126");
  return { s, host };
}

async function disks(s: Awaited<ReturnType<typeof setup>>, n: number): Promise<Uint8Array[]> {
  const out = [];
  for (const d of ["vda", "vdb", "vdc", "vdd"].slice(0, n)) {
    // the volume's data (16 MiB from the start) and the metadata/copy area at the end
    out.push(await s.kernel.blocks.read(`/dev/${d}`, 0n, 17 * 1024 * 1024));
    out.push(await s.kernel.blocks.read(`/dev/${d}`, 60n * 1024n * 1024n, 4 * 1024 * 1024));
  }
  return out;
}

Deno.test("cli migrate: --chunk --dry-run prints the raid5 64k -> 256k plan, writes nothing", async () => {
  const { s, host } = await fixture(5, 3);
  const before = await disks(s, 3);
  const sysfs = recordSysfs(s.kernel);
  const r = await mdadm(s, host, ["--grow", "/dev/md/vol0", "--chunk=256", "--dry-run"]);
  assert.equal(r.err, "");
  assert.equal(r.code, 0);
  assert.match(r.out, /migrate \/dev\/md\/vol0 \(volume vol0 of \/dev\/md127\): raid5 chunk 64K/);
  assert.match(r.out, /-> raid5 chunk 256K/);
  assert.match(r.out, /16 units of 4096 sectors \(2048 per member\)/);
  assert.match(r.out, /\[metadata-update\] \/dev\/md127: send reshape_migration/);
  assert.match(r.out, /\[impose-shape\] \/dev\/md126: chunk_size=262144/);
  assert.deepEqual(sysfs, []);
  assert.deepEqual(await disks(s, 3), before);
});

Deno.test("cli migrate: refusals name the volume and write nothing", async () => {
  const cases: [MdLevel, number, string[], RegExp][] = [
    [5, 3, ["--level=0"], /Level Migration from 5 to 0 not supported!.*vol0/],
    [5, 3, ["--level=4"], /Level Migration from 5 to 4 not supported!/],
    [0, 3, ["--level=5"], /cannot get spare device for requested migration/],
    [0, 3, ["--level=5", "-p", "ls"], /Requested Layout not supported \(left-asymmetric/],
    [1, 2, ["--level=0", "--raid-devices=2"], /1-disk raid0, not 2 disks/],
    [10, 4, ["--chunk=128"], /Chunk size change for RAID 10 is not supported/],
    [5, 3, ["--raid-devices=5"], /--raid-devices operation can be performed on a container only/],
  ];
  for (const [level, members, args, why] of cases) {
    const { s, host } = await fixture(level, members);
    const before = await disks(s, members);
    const sysfs = recordSysfs(s.kernel);
    const r = await mdadm(s, host, ["--grow", "/dev/md/vol0", ...args]);
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, why);
    assert.deepEqual(sysfs, [], args.join(" "));
    assert.deepEqual(await disks(s, members), before, args.join(" "));
  }
});

Deno.test("cli migrate: --level=5 --layout=left-asymmetric (mdadm 4.2's form) plans raid0 -> raid5", async () => {
  const { s, host } = await fixture(0, 3, 1);
  const sysfs = recordSysfs(s.kernel);
  const r = await mdadm(s, host, [
    "--grow",
    "/dev/md/vol0",
    "--level=5",
    "--layout=left-asymmetric",
    "--dry-run",
  ]);
  assert.equal(r.err, "");
  assert.equal(r.code, 0);
  assert.match(r.out, /-> raid5/);
  assert.match(r.out, /\[add-disk\]/);
  assert.deepEqual(sysfs, []);
});
