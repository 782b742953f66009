/**
 * Bad input: every wrong command gets a clear error and a failure status from mdts, and no disk
 * changes by a single byte (each disk checksummed with direct I/O before and after each one).
 *
 * The monitor of the running volume is the real mdmon (MDTS_MDMON=mdmon) until mdts's own
 * `mdmon` mode is finished.
 */
import assert from "node:assert/strict";
import { mdtsCommand, type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const LONG = { timeoutMs: 240_000 };

Deno.test("vm: 25 wrong commands are refused with a clear error and leave every disk byte-identical", async () => {
  await using vm = new Vm({
    disks: [
      ...["a", "b", "c", "d"].map((name) => ({ name, sizeMiB: 32 })),
      { name: "e", sizeMiB: 4 },
      { name: "f", sizeMiB: 32 },
      { name: "g", sizeMiB: 32 },
      { name: "h", sizeMiB: 32 },
    ],
    label: "lifecycle-refusals",
  });
  await vm.boot();
  const mdts = `MDTS_MDMON=mdmon ${mdtsCommand(vm.repo)}`;
  const disks = ["a", "b", "c", "d", "e", "f", "g", "h"].map((x) => `/dev/vd${x}`);

  // The scene: a running container with a raid5 volume (vda-vdc), a blank disk (vdd), a disk
  // too small for IMSM (vde), a disk of foreign data (vdf), two stopped one-disk containers of
  // different families (vdg, vdh).
  ok(await vm.run(`${mdts} -C /dev/md/imsm0 -e imsm -n 3 /dev/vda /dev/vdb /dev/vdc --run`, LONG));
  ok(await vm.run(`${mdts} -C /dev/md/vol0 -l 5 -n 3 -z 4M /dev/md/imsm0 --run`, LONG));
  ok(await vm.run("head -c 32M /dev/urandom | dd of=/dev/vdf bs=1M oflag=direct status=none"));
  ok(await vm.run(`${mdts} -C /dev/md/g -e imsm -n 1 /dev/vdg --run --force`, LONG));
  ok(await vm.run(`${mdts} -C /dev/md/gv -l 0 -n 1 -z 2M /dev/md/g --run --force`, LONG));
  ok(await vm.run(`${mdts} -C /dev/md/h -e imsm -n 1 /dev/vdh --run --force`, LONG));
  ok(await vm.run(`${mdts} -C /dev/md/hv -l 0 -n 1 -z 2M /dev/md/h --run --force`, LONG));
  ok(await vm.run(`${mdts} -S /dev/md/gv /dev/md/hv /dev/md/g /dev/md/h`, LONG));
  ok(await vm.run("mdadm --wait /dev/md/vol0; udevadm settle; sleep 2; cat /proc/mdstat"));

  const sums = async () =>
    ok(
      await vm.run(
        disks.map((d) => `echo ${d} $(dd if=${d} bs=1M iflag=direct status=none | md5sum)`).join(
          "; ",
        ),
        LONG,
      ),
    );

  const bad: Array<[string, RegExp]> = [
    [`-C /dev/md/x -e imsm -n 2 /dev/vda /dev/vdd`, /busy/i],
    [`-C /dev/md/x -e imsm -n 2 /dev/vdd /dev/vde`, /too small/],
    [`-C /dev/md/x -e imsm -n 3 /dev/vdd /dev/vdg`, /enough devices/],
    [`-C /dev/md/x -e imsm -n 2 /dev/vdd /dev/vdg /dev/vdh`, /more devices/],
    [`-C /dev/md/x -e imsm -n 2 /dev/vdd /dev/vdz`, /No such file/],
    [`-C /dev/md/x -e imsm -n 2 /dev/vdd /dev/vdd`, /twice/],
    [`-C /dev/md/x -e imsm -n 2 /dev/vdd /dev/vdg`, /appears to be part of a raid array/],
    [`-C /dev/md/v -l 6 -n 3 /dev/md/imsm0`, /raid level 6/],
    [`-C /dev/md/v -l 5 -n 4 /dev/md/imsm0`, /raid-devices=4/],
    [`-C /dev/md/v -l 1 -n 3 /dev/md/imsm0`, /raid1 needs exactly 2/],
    [`-C /dev/md/v -l 10 -n 3 /dev/md/imsm0`, /raid10 needs exactly 4/],
    [`-C /dev/md/v -l 5 -n 3 -z 1G /dev/md/imsm0`, /not enough space/],
    [`-C /dev/md/vol0 -l 0 -n 3 -z 1M /dev/md/imsm0`, /already in use/],
    [`-C /dev/md/v -l 5 -n 3 /dev/vdd`, /create the container first/],
    [`-C /dev/md/v -e 1.2 -l 1 -n 2 /dev/vdd /dev/vdg`, /IMSM arrays only/],
    [`-C /dev/md/v -l 1 -n 2 /dev/vdd /dev/vdg`, /create the container first/],
    [`--zero-superblock /dev/vda`, /not zeroing/],
    [`--zero-superblock /dev/vdf`, /Unrecognised md component device/],
    [`-A /dev/md/z /dev/vdf`, /no superblock/],
    [`-A /dev/md/z /dev/vda`, /busy/],
    [`-A /dev/md/z /dev/vdg /dev/vdh`, /doesn't match others/],
    [`-I /dev/vdf`, /no RAID superblock/],
    [`-I /dev/vdd`, /no RAID superblock/],
    [`-S /dev/md/nothing`, /No such file/],
    [`-S /dev/md/imsm0`, /Cannot stop container/],
    [`-D /dev/vdf`, /No such file|does not exist/],
  ];
  let before = await sums();
  for (const [args, why] of bad) {
    const r = await vm.run(`${mdts} ${args}`, LONG);
    console.log(`$ mdts ${args}\n[${r.code}] ${r.stderr.trim()}`);
    assert.notEqual(r.code, 0, `mdts ${args} succeeded:\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, why, `mdts ${args}: unexpected error text`);
    assert.match(r.stderr, /^mdts: /m);
    const after = await sums();
    assert.equal(after, before, `mdts ${args} changed a disk`);
    before = after;
  }
  // The scene still works: the volume is intact and can be stopped.
  ok(await vm.run(`${mdts} -S /dev/md/vol0 /dev/md/imsm0`, LONG));
});
