/**
 * Grows mdts must refuse on a real kernel, with every disk byte-identical afterwards (md5 of
 * each whole disk before and after) and no md attribute changed: too few spares, a spare too
 * small, a volume that cannot gain disks (raid1), a degraded volume; and `--grow --dry-run`
 * / `--json`, which print the plan and write nothing either. Containers by mdadm 4.2 with its
 * own mdmon (refusals and plans come before mdts talks to any monitor). The second grow while
 * one runs is in grow_live.test.ts.
 */
import assert from "node:assert/strict";
import { type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function state(vm: Vm, disks: string[]): Promise<string> {
  return ok(
    await vm.run(
      `sync; for d in ${disks.join(" ")}; do dd if=$d bs=1M iflag=direct status=none | md5sum; ` +
        `done; for f in /sys/block/md*/md/{metadata_version,sync_action,raid_disks,level}; do ` +
        `[ -e $f ] && echo "$f $(cat $f)"; done`,
    ),
  );
}

async function refused(vm: Vm, mdts: string, cmd: string, disks: string[], why: RegExp) {
  const before = await state(vm, disks);
  const r = await vm.run(`${mdts} ${cmd}`, { timeoutMs: 120_000 });
  assert.equal(r.code, 1, `not refused: ${cmd}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, why);
  assert.equal(await state(vm, disks), before, `${cmd} changed a disk or md`);
  console.log(`refused as expected: ${cmd}: ${r.stderr.trim().split("\n")[0]}`);
}

Deno.test("vm: refused grows and --dry-run/--json write nothing (few spares, small spare, raid1, degraded)", async () => {
  await using vm = new Vm({
    disks: [
      ...["a", "b", "c"].map((name) => ({ name, sizeMiB: 64 })),
      { name: "d", sizeMiB: 16 },
      ...["e", "f", "g", "h", "i", "j"].map((name) => ({ name, sizeMiB: 64 })),
    ],
    label: "grow-refusals",
  });
  await vm.boot();
  const mdts = `deno run -A ${vm.repo}/mod.ts`;
  ok(await vm.run(`${mdts} --version`, { timeoutMs: 240_000 }));
  const a = ["/dev/vda", "/dev/vdb", "/dev/vdc"];
  ok(await vm.run(`mdadm -C /dev/md/imsm0 -e imsm -n 3 ${a.join(" ")} -R`));
  ok(
    await vm.run(
      `udevadm settle; mdadm -C /dev/md/vol0 -l 5 -n 3 ${a.join(" ")} -z 16M -R; ` +
        `udevadm settle; mdadm --wait /dev/md/vol0 || true; sleep 5`,
    ),
  );
  await refused(
    vm,
    mdts,
    "--grow /dev/md/imsm0 --raid-devices=4",
    [...a, "/dev/vdd"],
    /Need 1 spare to avoid degraded array, and only have 0/,
  );
  ok(await vm.run("mdadm --add /dev/md/imsm0 /dev/vdd; udevadm settle; sleep 3"));
  await refused(
    vm,
    mdts,
    "--grow /dev/md/imsm0 --raid-devices=4",
    [...a, "/dev/vdd"],
    /Cannot get spare devices.*\/dev\/vdd has \d+ sectors/,
  );

  const b = ["/dev/vde", "/dev/vdf", "/dev/vdg"];
  ok(await vm.run(`mdadm -C /dev/md/imsm1 -e imsm -n 3 ${b.join(" ")} -R`));
  ok(
    await vm.run(
      `udevadm settle; mdadm -C /dev/md/mirror -l 1 -n 2 ${b.slice(0, 2).join(" ")} -z 16M -R; ` +
        `udevadm settle; mdadm --wait /dev/md/mirror || true; sleep 5`,
    ),
  );
  await refused(vm, mdts, "--grow /dev/md/imsm1 --raid-devices=3", b, /raid1/);

  // a plan: raid0 2->3 with a good spare, as text and as JSON, and not one byte written
  const c = ["/dev/vdh", "/dev/vdi", "/dev/vdj"];
  ok(await vm.run(`mdadm -C /dev/md/imsm2 -e imsm -n 3 ${c.join(" ")} -R`));
  ok(
    await vm.run(
      `udevadm settle; mdadm -C /dev/md/stripe -l 0 -n 2 ${c.slice(0, 2).join(" ")} -z 16M -R; ` +
        `udevadm settle; sleep 3`,
    ),
  );
  const planBefore = await state(vm, c);
  const dry = await vm.run(`${mdts} --grow /dev/md/imsm2 --raid-devices=3 --dry-run`, {
    timeoutMs: 120_000,
  });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /from 2 to 3 disks \(dry run, nothing written\)/);
  assert.match(dry.stdout, /raid0 2 disks -> raid0 3 disks, chunk \d+ KiB/);
  assert.match(dry.stdout, /takeover: raid0 -> raid4/);
  assert.match(dry.stdout, /size: 32768 KiB -> 49152 KiB \(16384 KiB per member, unchanged\)/);
  assert.match(dry.stdout, /\[add-disk\] \/dev\/md\d+: add \/dev\/vdj/);
  const json = await vm.run(`${mdts} --grow /dev/md/imsm2 --raid-devices=3 --json`, {
    timeoutMs: 120_000,
  });
  assert.equal(json.code, 0, json.stderr);
  const plan = JSON.parse(json.stdout);
  assert.equal(plan.oldRaidDisks, 2);
  assert.equal(plan.newRaidDisks, 3);
  assert.deepEqual(plan.spares.map((x: { path: string }) => x.path), ["/dev/vdj"]);
  assert.equal(plan.volumes[0].newArraySectors, 98304);
  assert.equal(await state(vm, c), planBefore, "--dry-run/--json changed a disk or md");
  console.log(`--dry-run and --json wrote nothing: ${dry.stdout.split("\n")[0]}`);

  // degraded: a member of vol0 failed (the real mdmon records it)
  ok(await vm.run("mdadm --fail /dev/md/vol0 /dev/vdc; sleep 5; udevadm settle"));
  await refused(
    vm,
    mdts,
    "--grow /dev/md/imsm0 --raid-devices=4",
    [...a, "/dev/vdd"],
    /not in a normal state|degraded|failed/,
  );
});
