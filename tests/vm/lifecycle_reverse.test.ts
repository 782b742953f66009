/**
 * The reverse direction: arrays created by the real mdadm 4.2 are assembled by mdts (named
 * disks, then --scan), examined and detailed identically, and their data reads back intact.
 */
import assert from "node:assert/strict";
import { mdtsCommand, type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const LONG = { timeoutMs: 240_000 };
const md5 = (s: string) => s.split(/\s/)[0];

Deno.test("vm: mdts assembles what the real mdadm created; -E/-D identical, data intact", async () => {
  await using vm = new Vm({
    disks: ["a", "b", "c"].map((name) => ({ name, sizeMiB: 64 })),
    label: "lifecycle-reverse",
  });
  await vm.boot();
  const mdts = `MDTS_MDMON=mdmon ${mdtsCommand(vm.repo)}`;
  const disks = ["/dev/vda", "/dev/vdb", "/dev/vdc"];
  ok(await vm.run(`mdadm -C /dev/md/imsm0 -e imsm -n 3 ${disks.join(" ")} --run`, LONG));
  ok(await vm.run("mdadm -C /dev/md/vol0 -l 5 -n 3 -c 64 -z 12M /dev/md/imsm0 --run", LONG));
  ok(await vm.run("mdadm -C /dev/md/vol1 -l 0 -n 3 -z 8M /dev/md/imsm0 --run", LONG));
  ok(await vm.run("timeout 120 mdadm --wait /dev/md/vol0; udevadm settle", LONG));
  const sums = new Map<string, string>();
  for (const v of ["vol0", "vol1"]) {
    ok(await vm.run(`head -c 6M /dev/urandom > /run/${v}.pat`));
    ok(await vm.run(`dd if=/run/${v}.pat of=/dev/md/${v} bs=1M oflag=direct status=none`, LONG));
    sums.set(v, md5(ok(await vm.run(`md5sum < /run/${v}.pat`))));
  }
  ok(await vm.run("mdadm -S /dev/md/vol0 /dev/md/vol1; sleep 1; mdadm -S /dev/md/imsm0", LONG));
  const examined = new Map<string, string>();
  for (const d of disks) examined.set(d, ok(await vm.run(`mdadm -E ${d}`)));

  for (const how of ["named", "scan"]) {
    const cmd = how === "named"
      ? `${mdts} -A /dev/md/imsm0 ${disks.join(" ")}`
      : `${mdts} -A --scan`;
    const r = await vm.run(cmd, LONG);
    console.log(`$ ${cmd}\n[${r.code}] ${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
    ok(await vm.run("udevadm settle"));
    console.log(ok(await vm.run("cat /proc/mdstat; ls -l /dev/md; cat /run/mdadm/map")));
    for (const d of disks) {
      const ours = ok(await vm.run(`${mdts} -E ${d}`, LONG));
      assert.equal(ours, ok(await vm.run(`mdadm -E ${d}`)), `-E ${d} (${how})`);
      // same family and volumes as before the stop (only generation/state may move)
      const stable = (t: string) =>
        t.split("\n").filter((l) => /UUID|Volume|RAID Level|Array Size/.test(l));
      assert.deepEqual(stable(ours), stable(examined.get(d)!), `-E ${d} identity (${how})`);
    }
    for (const v of ["vol0", "vol1"]) {
      const got = md5(
        ok(
          await vm.run(`dd if=/dev/md/${v} bs=1M count=6 iflag=direct status=none | md5sum`, LONG),
        ),
      );
      assert.equal(got, sums.get(v), `${v} data after mdts assembly (${how})`);
    }
    for (const a of ["imsm0", "vol0", "vol1"]) {
      const theirs = ok(await vm.run(`mdadm -D /dev/md/${a}`));
      const ours = ok(await vm.run(`${mdts} -D /dev/md/${a}`, LONG));
      assert.equal(ours, theirs, `-D /dev/md/${a} (${how})`);
    }
    const stop = await vm.run(`${mdts} -S --scan`, LONG);
    console.log(`$ mdts -S --scan\n[${stop.code}] ${stop.stderr}`);
    assert.equal(stop.code, 0, `mdts -S --scan (${how}): ${stop.stderr}`);
    assert.doesNotMatch(ok(await vm.run("cat /proc/mdstat")), /^md\d+ :/m);
  }
});
