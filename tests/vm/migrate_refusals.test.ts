/**
 * Volume migrations mdts must refuse on a real kernel (issue 8), with every disk of the
 * container byte-identical afterwards (md5 of each whole disk) and md's level, raid_disks,
 * chunk and sync_action unchanged; where mdadm 4.2 refuses the same request the real mdadm
 * is asked too and must refuse it. Containers and volumes by mdadm 4.2 with its own mdmon.
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
      `sync; for d in ${disks.join(" ")}; do echo "$d $(dd if=$d bs=1M iflag=direct ` +
        `status=none | md5sum)"; done; for f in /sys/block/md*/md/{metadata_version,` +
        `sync_action,raid_disks,level,chunk_size,array_state}; do ` +
        `[ -e $f ] && echo "$f $(cat $f)"; done`,
    ),
  );
}

async function refused(
  vm: Vm,
  mdts: string,
  cmd: string,
  disks: string[],
  why: RegExp,
  mdadmToo = false,
) {
  const before = await state(vm, disks);
  const r = await vm.run(`${mdts} ${cmd}`, { timeoutMs: 120_000 });
  assert.equal(r.code, 1, `not refused: ${cmd}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, why);
  assert.equal(await state(vm, disks), before, `${cmd} changed a disk or md`);
  console.log(`mdts refused: ${cmd}: ${r.stderr.trim().split("\n").join(" | ")}`);
  if (mdadmToo) {
    const m = await vm.run(`mdadm ${cmd}`, { timeoutMs: 120_000 });
    assert.notEqual(m.code, 0, `mdadm 4.2 accepted ${cmd}:\n${m.stdout}\n${m.stderr}`);
    console.log(`mdadm 4.2 refused too (${m.code}): ${m.stderr.trim().split("\n").join(" | ")}`);
    // mdadm's freeze/unfreeze may move a read-auto array to clean: only the disks count here
    const disksOnly = (t: string) => t.split("\n").filter((l) => l.startsWith("/dev/")).join("\n");
    assert.equal(
      disksOnly(await state(vm, disks)),
      disksOnly(before),
      `mdadm ${cmd} changed a disk`,
    );
  }
}

const settle = "udevadm settle; sleep 2";

Deno.test("vm: refused migrations write nothing (raid5->raid0/raid4, raid0->raid5 without spare, raid1->raid0 x2, two volumes->raid10, no spares, busy, degraded)", async () => {
  const names = "abcdefghijklmno".split("");
  await using vm = new Vm({
    disks: names.map((n) => ({ name: n, sizeMiB: 64 })),
    label: "migrate-refusals",
  });
  await vm.boot();
  const mdts = `deno run -A ${vm.repo}/mod.ts`;
  ok(await vm.run(`${mdts} --version`, { timeoutMs: 240_000 }));
  const dev = (s: string) => s.split("").map((c) => `/dev/vd${c}`);
  const A = dev("abc"), B = dev("defgh"), C = dev("ijk"), D = dev("lm"), E = dev("no");
  const create = async (ct: string, disks: string[], vols: string[]) => {
    ok(await vm.run(`mdadm -C /dev/md/${ct} -e imsm -n ${disks.length} ${disks.join(" ")} -R`));
    for (const v of vols) ok(await vm.run(`${settle}; mdadm -C ${v} -R; ${settle}`));
  };

  // A: raid5 3 disks whose initial resync is held (frozen) half-way: a migration runs
  ok(await vm.run("echo 200 > /proc/sys/dev/raid/speed_limit_max"));
  await create("ca", A, [`/dev/md/r5a -l5 -n3 ${A.join(" ")} -z 16M`]);
  ok(
    await vm.run(
      "sleep 4; d=$(basename $(readlink -f /dev/md/r5a)); echo frozen > /sys/block/$d/md/sync_action; " +
        "sleep 2; cat /sys/block/$d/md/sync_action /proc/mdstat",
    ),
  );
  await refused(vm, mdts, "--grow /dev/md/r5a --chunk=256", A, /already migrating|busy/);
  ok(
    await vm.run(
      "echo 200000 > /proc/sys/dev/raid/speed_limit_max; d=$(basename $(readlink -f " +
        "/dev/md/r5a)); echo idle > /sys/block/$d/md/sync_action; mdadm --wait /dev/md/r5a; " +
        "sleep 3; cat /proc/mdstat",
    ),
  );
  await refused(
    vm,
    mdts,
    "--grow /dev/md/r5a --level=0",
    A,
    /Level Migration from 5 to 0 not supported/,
    true,
  );
  await refused(
    vm,
    mdts,
    "--grow /dev/md/r5a --level=4",
    A,
    /Level Migration from 5 to 4 not supported/,
    true,
  );
  await refused(
    vm,
    mdts,
    "--grow /dev/md/r5a --raid-devices=5",
    A,
    /--raid-devices operation can be performed on a container only/,
  );
  await refused(
    vm,
    mdts,
    "--grow /dev/md/ca --raid-devices=5",
    A,
    /Need 2 spares to avoid degraded array, and only have 0/,
    true,
  );

  // B: raid5 5 disks -> raid0
  await create("cb", B, [`/dev/md/r5b -l5 -n5 ${B.join(" ")} -z 16M --assume-clean`]);
  await refused(
    vm,
    mdts,
    "--grow /dev/md/r5b --level=0",
    B,
    /Level Migration from 5 to 0 not supported/,
    true,
  );
  // a plan is only printed
  const before = await state(vm, B);
  const dry = ok(await vm.run(`${mdts} --grow /dev/md/r5b --chunk=256 --dry-run`));
  assert.match(dry, /raid5 chunk \d+K -> raid5 chunk 256K/);
  assert.equal(await state(vm, B), before, "--dry-run changed a disk");
  console.log(dry.trim().split("\n").slice(0, 3).join(" | "));

  // C: raid0 3 disks -> raid5 3 disks with no spare in the container
  await create("cc", C, [`/dev/md/r0c -l0 -n3 ${C.join(" ")} -z 16M`]);
  await refused(
    vm,
    mdts,
    "--grow /dev/md/r0c --level=5",
    C,
    /cannot get spare device for requested migration/,
    true,
  );
  await refused(vm, mdts, "--grow /dev/md/r0c --level=5 --raid-devices=3", C, /gives 4 disks/);

  // D: raid1 2 disks -> raid0 2 disks
  await create("cd", D, [`/dev/md/m1 -l1 -n2 ${D.join(" ")} -z 16M --assume-clean`]);
  await refused(
    vm,
    mdts,
    "--grow /dev/md/m1 --level=0 --raid-devices=2",
    D,
    /1-disk raid0, not 2 disks/,
  );

  // E: a container of two raid0 volumes -> raid10
  await create("ce", E, [
    `/dev/md/z0 -l0 -n2 ${E.join(" ")} -z 8M`,
    `/dev/md/z1 -l0 -n2 ${E.join(" ")} -z 8M`,
  ]);
  await refused(
    vm,
    mdts,
    "--grow /dev/md/z0 --level=10",
    E,
    /MUST be single array in container/,
    true,
  );

  // A again, degraded: a member failed (the real mdmon records it)
  ok(await vm.run(`mdadm --fail /dev/md/r5a /dev/vdc; sleep 5; ${settle}`));
  await refused(vm, mdts, "--grow /dev/md/r5a --chunk=256", A, /not in a normal state/);
});
