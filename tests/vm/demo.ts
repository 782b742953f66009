/**
 * Demo (`./task demo`): in a VM with the real md driver, the real mdadm builds an IMSM container
 * and a raid5 volume, a pattern is written, and mdts is shown next to mdadm on the same disks.
 * Prints a transcript of every guest command with its output and exit status.
 */
import { mdtsCommand, Vm } from "./harness/vm.ts";

const out = (s: string) => console.log(s);

async function show(vm: Vm, title: string, cmd: string, timeoutMs = 300_000): Promise<number> {
  out(`\n## ${title}\n$ ${cmd}`);
  const r = await vm.run(cmd, { timeoutMs });
  const text = (r.stdout + r.stderr).replace(/\n$/, "");
  if (text) out(text);
  out(`[exit ${r.code}, ${(r.ms / 1000).toFixed(1)} s]`);
  return r.code;
}

async function demo() {
  const disks = ["d0", "d1", "d2"].map((name) => ({ name, sizeMiB: 256 }));
  await using vm = new Vm({ disks, label: "demo" });
  out(`# mdts demo: real Linux md in qemu (work dir ${vm.workDir})`);
  const b = await vm.boot();
  out(`booted in ${(b.ms / 1000).toFixed(1)} s; console log: ${b.consoleLog}`);
  const mdts = mdtsCommand(vm.repo);

  await show(vm, "kernel and md personalities", "uname -r; cat /proc/mdstat");
  await show(
    vm,
    "real mdadm: IMSM container on three disks",
    "mdadm -C /dev/md/imsm0 -e imsm -n 3 /dev/vda /dev/vdb /dev/vdc -R",
  );
  await show(
    vm,
    "real mdadm: raid5 volume in the container",
    "mdadm -C /dev/md/vol0 -l 5 -n 3 /dev/md/imsm0 -z 32M -R",
  );
  await show(
    vm,
    "write a 16 MiB pattern to the volume and note its md5",
    "head -c 16M /dev/urandom >/tmp/pattern && " +
      "dd if=/tmp/pattern of=/dev/md/vol0 bs=1M oflag=direct conv=fsync status=none && " +
      "md5sum </tmp/pattern && dd if=/dev/md/vol0 bs=1M count=16 iflag=direct status=none | md5sum",
  );
  await show(vm, "/proc/mdstat", "cat /proc/mdstat");
  await show(vm, "mdadm -D of the volume", "mdadm -D /dev/md/vol0");
  await show(vm, "mdts --version", `${mdts} --version`);
  await show(vm, "mdadm -E /dev/vda (Debian mdadm 4.2)", "mdadm -E /dev/vda");
  await show(vm, "mdts --examine /dev/vda (same disk)", `${mdts} --examine /dev/vda`);
  await show(
    vm,
    "difference between the two (empty when mdts matches mdadm)",
    `diff <(mdadm -E /dev/vda 2>&1) <(${mdts} --examine /dev/vda 2>&1) && echo identical`,
  );
  await vm.shutdown();
  out("\n# demo done");
}

if (import.meta.main) {
  try {
    await demo();
  } catch (e) {
    console.error(`demo failed: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
