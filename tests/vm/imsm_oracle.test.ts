/**
 * The real mdadm 4.2 as the oracle for metadata mdts writes: a container + raid5 volume written by
 * mdts alone must be examined by mdadm without complaint and with the same text mdts prints,
 * assembled and run by mdadm, and hold data.
 */
import assert from "node:assert/strict";
import { mdtsCommand, type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

Deno.test("vm: mdts-written IMSM raid5 is examined identically and assembled by the real mdadm", async () => {
  await using vm = new Vm({
    disks: ["a", "b", "c"].map((name) => ({ name, sizeMiB: 64 })),
    label: "imsm-oracle",
  });
  await vm.boot();
  const mdts = mdtsCommand(vm.repo);
  const disks = ["/dev/vda", "/dev/vdb", "/dev/vdc"];

  const wrote = ok(
    await vm.run(
      `deno run -A ${vm.repo}/tests/vm/guest/imsm_write_new.ts 5 64 16384 vol0 ${disks.join(" ")}`,
      { timeoutMs: 180_000 },
    ),
  );
  console.log(`mdts wrote: ${wrote.trim()}`);

  for (const d of disks) {
    const theirs = await vm.run(`mdadm -E ${d}`);
    assert.equal(theirs.code, 0, `mdadm -E ${d} failed: ${theirs.stderr}`);
    assert.equal(theirs.stderr, "", `mdadm -E ${d} complained: ${theirs.stderr}`);
    assert.match(theirs.stdout, /^ +Checksum : [0-9a-f]+ correct$/m);
    assert.doesNotMatch(theirs.stdout, /incorrect|mismatch|error/i);
    const ours = ok(await vm.run(`${mdts} -E ${d}`, { timeoutMs: 120_000 }));
    assert.deepEqual(ours.split("\n"), theirs.stdout.split("\n"), `-E text differs on ${d}`);
  }
  const exam = ok(await vm.run("mdadm -E /dev/vda"));
  assert.match(exam, /RAID Level : 5$/m);
  assert.match(exam, /Members : 3$/m);
  assert.match(exam, /Chunk Size : 64 KiB$/m);
  // 16 MiB of data per member; mdadm 4.2 counts 1 MiB more per member here (as in fixture b)
  assert.match(exam, /Per Dev Size : 34816 /m);
  const briefTheirs = ok(await vm.run("mdadm -Eb /dev/vda"));
  const briefOurs = ok(await vm.run(`${mdts} -Eb /dev/vda`, { timeoutMs: 120_000 }));
  assert.equal(briefOurs, briefTheirs);

  // The real mdadm assembles the container and starts the volume (it starts its mdmon too).
  ok(await vm.run(`mdadm -A /dev/md/imsm0 ${disks.join(" ")} && mdadm -I /dev/md/imsm0`));
  ok(await vm.run("udevadm settle"));
  const mdstat = ok(await vm.run("cat /proc/mdstat"));
  const m = mdstat.match(/^(md\d+) : active(?: \([a-z-]+\))? raid5 (.*)$/m);
  assert.ok(m, `no active raid5 after assembly:\n${mdstat}`);
  const vol = `/dev/${m[1]}`;
  const detail = ok(await vm.run(`mdadm -D ${vol}`));
  assert.match(detail, /Raid Level : raid5$/m);
  assert.match(detail, /Array Size : 32768 /m); // 2 data members x 16 MiB, in KiB
  assert.match(detail, /Raid Devices : 3$/m);

  // Data through the array: a pattern written then read back with direct I/O.
  ok(
    await vm.run(
      `head -c 8M /dev/urandom > /run/pat && dd if=/run/pat of=${vol} bs=1M oflag=direct status=none`,
    ),
  );
  const sums = ok(
    await vm.run(
      `md5sum < /run/pat; dd if=${vol} bs=1M count=8 iflag=direct status=none | md5sum`,
    ),
  ).split("\n").map((l) => l.split(/\s/)[0]).filter(Boolean);
  assert.equal(sums.length, 2);
  assert.equal(sums[1], sums[0]);
  ok(await vm.run("mdadm -S --scan || (sleep 1; mdadm -S --scan)"));
});
