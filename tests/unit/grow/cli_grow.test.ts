/**
 * `mdadm --grow /dev/md/imsm0 --raid-devices=N --dry-run|--json` on the FakeKernel: the plan
 * from the metadata on the (fake) disks, refusals in mdadm's words, and not one byte or
 * sysfs attribute written.
 */
import assert from "node:assert/strict";
import { setup } from "../monitor/setup.ts";
import { FakeHost, recordSysfs } from "../lifecycle/fake_host.ts";
import { parseMdadm } from "../../../cli/parse.ts";
import { runCommand, type System } from "../../../cli/run.ts";
import type { GrowPlan } from "../../../core/grow/plan.ts";

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

async function fixture(spares: number) {
  const s = await setup({ level: 5, members: 3, spares, clean: true });
  const host = new FakeHost(s.kernel);
  host.links.set("imsm0", "/dev/md127");
  host.links.set("vol0", "/dev/md126");
  return { s, host };
}

async function tails(s: Awaited<ReturnType<typeof setup>>): Promise<Uint8Array[]> {
  const out = [];
  for (const d of ["vda", "vdb", "vdc", "vdd"]) {
    out.push(await s.kernel.blocks.read(`/dev/${d}`, BigInt(60 * 1024 * 1024), 4 * 1024 * 1024));
  }
  return out;
}

Deno.test("cli grow: --dry-run prints the raid5 3->4 plan and writes nothing", async () => {
  const { s, host } = await fixture(1);
  const before = await tails(s);
  const sysfs = recordSysfs(s.kernel);
  const r = await mdadm(s, host, ["--grow", "/dev/md/imsm0", "--raid-devices=4", "--dry-run"]);
  assert.equal(r.err, "");
  assert.equal(r.code, 0);
  assert.match(r.out, /grow \/dev\/md\/imsm0 \(\/dev\/md127\) from 3 to 4 disks/);
  assert.match(r.out, /raid5 3 disks -> raid5 4 disks, chunk 64 KiB/);
  assert.match(r.out, /size: 32768 KiB -> 49152 KiB \(16384 KiB per member, unchanged\)/);
  assert.match(r.out, /16 units of 6144 sectors \(2048 per member\), critical units 0,1,2/);
  assert.match(r.out, /copy area at sector 128863/);
  assert.match(
    r.out,
    /\[add-disk\] \/dev\/md126: add \/dev\/vdd: new_dev, offset=0, size=16384 KiB, slot=3/,
  );
  assert.deepEqual(sysfs, []);
  assert.deepEqual(await tails(s), before);
});

Deno.test("cli grow: --json is the plan object", async () => {
  const { s, host } = await fixture(2);
  const r = await mdadm(s, host, ["--grow", "/dev/md/imsm0", "--raid-devices=5", "--json"]);
  assert.equal(r.code, 0, r.err);
  const plan = JSON.parse(r.out) as GrowPlan;
  assert.equal(plan.newRaidDisks, 5);
  assert.deepEqual(plan.spares.map((x) => x.serial), ["/dev/vdd", "/dev/vde"]);
  assert.equal(plan.volumes[0].newArraySectors, 65536 * 2);
  assert.equal(plan.volumes[0].device, "md126");
});

Deno.test("cli grow: refusals (too few spares, on a volume, execution) write nothing", async () => {
  const { s, host } = await fixture(1);
  const before = await tails(s);
  const sysfs = recordSysfs(s.kernel);
  let r = await mdadm(s, host, ["--grow", "/dev/md/imsm0", "--raid-devices=5", "--dry-run"]);
  assert.equal(r.code, 1);
  assert.equal(
    r.err,
    "mdadm: Need 2 spares to avoid degraded array, and only have 1.\n" +
      "       Use --force to over-ride this check.\n",
  );
  r = await mdadm(s, host, ["--grow", "/dev/md/vol0", "--raid-devices=4"]);
  assert.equal(r.code, 1);
  assert.equal(r.err, "mdadm: --raid-devices operation can be performed on a container only\n");
  r = await mdadm(s, host, ["--grow", "/dev/md/imsm0", "--raid-devices=4"]);
  assert.equal(r.code, 1);
  // executing needs a monitor that answers: none here, so nothing is frozen or written
  assert.match(r.err, /monitor of \/dev\/md127: no control socket.*nothing was changed/);
  assert.deepEqual(sysfs, []);
  assert.deepEqual(await tails(s), before);
});
