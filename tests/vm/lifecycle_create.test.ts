/**
 * mdts creates IMSM containers and volumes on a real kernel; the real mdadm 4.2 is the oracle:
 * its -E and -D agree with ours, it stops and re-assembles what mdts made, and data written
 * through the arrays reads back identical. Then mdts assembles again (and by --incremental).
 *
 * The monitor: until mdts's own `mdmon` mode is finished, MDTS_MDMON=mdmon makes mdts start the
 * real mdmon for the arrays it creates (the way mdadm 4.2 starts it), so writes can proceed.
 */
import assert from "node:assert/strict";
import { mdtsCommand, type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const LONG = { timeoutMs: 240_000 };

Deno.test("vm: mdts creates raid0/1/5/10 volumes (two per container); mdadm agrees and keeps the data", async () => {
  await using vm = new Vm({
    disks: ["a", "b", "c", "d", "e", "f"].map((name) => ({ name, sizeMiB: 64 })),
    label: "lifecycle-create",
  });
  await vm.boot();
  const mdts = `MDTS_MDMON=mdmon ${mdtsCommand(vm.repo)}`;
  const big = ["/dev/vda", "/dev/vdb", "/dev/vdc", "/dev/vdd"];
  const small = ["/dev/vde", "/dev/vdf"];
  const all = [...big, ...small];
  const run = async (cmd: string) => {
    const r = await vm.run(cmd, LONG);
    console.log(`$ ${cmd}\n[${r.code}] ${r.stdout}${r.stderr}`);
    return r;
  };

  ok(await run(`${mdts} -C /dev/md/imsm0 -e imsm -n 4 ${big.join(" ")} --run`));
  ok(await run(`${mdts} -C /dev/md/r10 -l 10 -n 4 -c 64 -z 8M /dev/md/imsm0 --run`));
  ok(await run(`${mdts} -C /dev/md/r5 -l 5 -n 4 -c 128 -z 8M /dev/md/imsm0 --run`));
  ok(await run(`${mdts} -C /dev/md/imsm1 -e imsm -n 2 ${small.join(" ")} --run`));
  ok(await run(`${mdts} -C /dev/md/r1 -l 1 -n 2 -z 12M /dev/md/imsm1 --run`));
  ok(await run(`${mdts} -C /dev/md/r0 -l 0 -n 2 -c 64 -z 8M /dev/md/imsm1 --run`));
  await run("udevadm settle; cat /proc/mdstat; ls -l /dev/md; cat /run/mdadm/map");
  await run(
    "timeout 120 mdadm --wait /dev/md/r10 /dev/md/r5 /dev/md/r1; sleep 1; cat /proc/mdstat",
  );

  // The real mdadm's -E and -D agree with ours, byte for byte.
  for (const d of all) {
    const theirs = ok(await vm.run(`mdadm -E ${d}`));
    const ours = ok(await vm.run(`${mdts} -E ${d}`, LONG));
    assert.equal(ours, theirs, `-E differs on ${d}`);
  }
  const arrays = [
    "/dev/md/imsm0",
    "/dev/md/r10",
    "/dev/md/r5",
    "/dev/md/imsm1",
    "/dev/md/r1",
    "/dev/md/r0",
  ];
  for (const a of arrays) {
    const theirs = ok(await run(`mdadm -D ${a}`));
    const ours = ok(await run(`${mdts} -D ${a}`));
    assert.equal(ours, theirs, `-D differs on ${a}`);
    const theirsB = ok(await vm.run(`mdadm -Db ${a}`));
    const oursB = ok(await vm.run(`${mdts} -Db ${a}`, LONG));
    assert.equal(oursB, theirsB, `-Db differs on ${a}`);
    const theirsE = ok(await vm.run(`mdadm -D --export ${a}`));
    const oursE = ok(await vm.run(`${mdts} -D --export ${a}`, LONG));
    assert.equal(oursE, theirsE, `-D --export differs on ${a}`);
  }

  // Data through every volume, read back after the real mdadm stops and re-assembles them.
  const vols = ["r10", "r5", "r1", "r0"];
  const sums = new Map<string, string>();
  for (const v of vols) {
    ok(await vm.run(`head -c 4M /dev/urandom > /run/${v}.pat`));
    ok(await vm.run(`dd if=/run/${v}.pat of=/dev/md/${v} bs=1M oflag=direct status=none`, LONG));
    sums.set(v, ok(await vm.run(`md5sum < /run/${v}.pat`)).split(" ")[0]);
  }
  const readBack = async (v: string) =>
    ok(await vm.run(`dd if=/dev/md/${v} bs=1M count=4 iflag=direct status=none | md5sum`, LONG))
      .split(" ")[0];
  for (const v of vols) assert.equal(await readBack(v), sums.get(v), `${v} data before stop`);

  ok(await run("mdadm -S --scan; sleep 1; mdadm -S --scan; cat /proc/mdstat"));
  ok(await run("mdadm -A --scan; udevadm settle; cat /proc/mdstat; ls -l /dev/md"));
  const mdstat = ok(await vm.run("cat /proc/mdstat"));
  assert.equal((mdstat.match(/^md\d+ : active/gm) ?? []).length, 4, mdstat);
  // mdadm names re-assembled volumes from the metadata (with a _0 suffix: spec 7)
  const link = async (v: string) =>
    ok(await vm.run(`ls /dev/md/ | grep -x '${v}\\(_0\\)\\?' | head -1`)).trim();
  for (const v of vols) {
    const name = await link(v);
    const got = ok(
      await vm.run(`dd if=/dev/md/${name} bs=1M count=4 iflag=direct status=none | md5sum`, LONG),
    ).split(" ")[0];
    assert.equal(got, sums.get(v), `${v} data after mdadm re-assembly`);
  }

  // mdts stops them and assembles them again itself (scan, no mdadm.conf).
  ok(await run(`${mdts} -S --scan`));
  assert.doesNotMatch(ok(await vm.run("cat /proc/mdstat")), /^md\d+ :/m);
  ok(await run(`${mdts} -A --scan; udevadm settle; cat /proc/mdstat; ls -l /dev/md`));
  for (const v of vols) {
    const name = await link(v);
    const got = ok(
      await vm.run(`dd if=/dev/md/${name} bs=1M count=4 iflag=direct status=none | md5sum`, LONG),
    ).split(" ")[0];
    assert.equal(got, sums.get(v), `${v} data after mdts assembly`);
    const theirs = ok(await vm.run(`mdadm -D /dev/md/${name}`));
    const ours = ok(await vm.run(`${mdts} -D /dev/md/${name}`, LONG));
    assert.equal(ours, theirs, `-D differs on ${name} after mdts assembly`);
  }

  // --incremental, one disk at a time as udev would.
  ok(await run(`${mdts} -S --scan`));
  for (const d of all) {
    const r = await run(`${mdts} -I --export ${d}`);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^MD_DEVNAME=imsm\d$/m);
  }
  await run("udevadm settle; cat /proc/mdstat; ls -l /dev/md");
  for (const v of vols) {
    const name = await link(v);
    const got = ok(
      await vm.run(`dd if=/dev/md/${name} bs=1M count=4 iflag=direct status=none | md5sum`, LONG),
    ).split(" ")[0];
    assert.equal(got, sums.get(v), `${v} data after --incremental`);
  }
  ok(await run(`${mdts} -S --scan`));
});
