/**
 * Self-tests of the VM harness against the real kernel: md is there, mdts runs in the guest, the
 * real mdadm builds IMSM arrays on the virtio disks, and disks outlive reboots and power cuts with
 * exactly the data that reached them.
 */
import assert from "node:assert/strict";
import { mdtsCommand, type RunResult, Vm } from "./harness/vm.ts";

const DISKS = ["a", "b", "c", "d"].map((name) => ({ name, sizeMiB: 128 }));

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Real mdadm: IMSM container on vda..vdc and a 16 MiB-per-disk raid5 volume in it. */
async function createImsmRaid5(vm: Vm) {
  ok(await vm.run("mdadm -C /dev/md/imsm0 -e imsm -n 3 /dev/vda /dev/vdb /dev/vdc -R"));
  ok(await vm.run("mdadm -C /dev/md/vol0 -l 5 -n 3 /dev/md/imsm0 -z 16M -R"));
}

/** Assembles whatever is on the disks and prints the raid5 volume's device (e.g. /dev/md126). */
async function assembleVolume(vm: Vm): Promise<string> {
  // Under a loaded emulator mdadm may give up waiting for udev's /dev/md/imsm0 link after
  // assembling the container; a second scan then starts the volume inside it.
  const r = await vm.run(
    "mdadm -A --scan; udevadm settle; grep -q raid5 /proc/mdstat || mdadm -A --scan; " +
      "udevadm settle; cat /proc/mdstat",
  );
  const m = r.stdout.match(/^(md\d+) : active(?: \([a-z-]+\))? raid5 /m);
  assert.ok(m, `no raid5 volume after mdadm -A --scan:\n${r.stdout}\n${r.stderr}`);
  return `/dev/${m[1]}`;
}

/** md5 of the first `mib` MiB of a guest block device (direct I/O: bypasses the page cache). */
async function md5Of(vm: Vm, dev: string, mib: number, skipMiB = 0): Promise<string> {
  const out = ok(
    await vm.run(
      `dd if=${dev} bs=1M skip=${skipMiB} count=${mib} iflag=direct status=none | md5sum`,
    ),
  );
  return out.split(/\s/)[0];
}

Deno.test("vm: kernel md personalities, mdts in the guest, real mdadm creates IMSM raid5", async () => {
  await using vm = new Vm({ disks: DISKS.slice(0, 3), label: "selftest-md" });
  const b = await vm.boot();
  console.log(`boot: ${b.ms} ms host wall, agent ready at ${b.guestUptimeS} s guest uptime`);

  const mdstat = ok(await vm.run("cat /proc/mdstat"));
  const personalities = mdstat.match(/^Personalities : (.*)$/m)?.[1] ?? "";
  for (const p of ["raid0", "raid1", "raid10", "raid6", "raid5", "raid4"]) {
    assert.ok(personalities.includes(`[${p}]`), `${p} missing from: ${personalities}`);
  }

  const ver = await vm.run(`${mdtsCommand(vm.repo)} --version`, { timeoutMs: 180_000 });
  assert.equal(ver.code, 0, ver.stderr);
  assert.match(ver.stdout, /^mdts - v/m);

  await createImsmRaid5(vm);
  const exam = ok(await vm.run("mdadm -E /dev/vda"));
  assert.match(exam, /Magic : Intel Raid ISM Cfg Sig\./);
  assert.match(exam, /^\[vol0\]:$/m);
  assert.match(exam, /RAID Level : 5$/m);
  assert.match(exam, /Members : 3$/m);
  const after = ok(await vm.run("cat /proc/mdstat"));
  assert.match(after, /^md\d+ : active(?: \([a-z-]+\))? raid5 .*vd[abc]\[\d\].*$/m);
  assert.match(after, /super external:imsm/);
  // udev is running: the /dev/md/ names point at the md devices.
  assert.match(ok(await vm.run("readlink -f /dev/md/vol0")), /^\/dev\/md\d+$/m);
});

Deno.test("vm: a clean reboot keeps the IMSM container and the volume's data", async () => {
  await using vm = new Vm({ disks: DISKS.slice(0, 3), label: "selftest-reboot" });
  await vm.boot();
  await createImsmRaid5(vm);
  ok(
    await vm.run(
      "head -c 4M /dev/urandom >/tmp/pattern && dd if=/tmp/pattern of=/dev/md/vol0 bs=1M oflag=direct conv=fsync status=none",
    ),
  );
  const want = await md5Of(vm, "/dev/md/vol0", 4);
  const uuid = ok(await vm.run("mdadm -E /dev/vda")).match(/^ +UUID : (\S+)$/m)?.[1];
  assert.ok(uuid, "no container UUID in mdadm -E before the reboot");

  const b = await vm.reboot();
  assert.equal(b.bootNo, 2);
  // The guest's /tmp is a fresh tmpfs each boot: the pattern file must be gone.
  assert.notEqual((await vm.run("test -e /tmp/pattern")).code, 0);
  const exam = ok(await vm.run("mdadm -E /dev/vda"));
  assert.match(exam, new RegExp(`^ +UUID : ${uuid}$`, "m"));
  assert.match(exam, /^\[vol0\]:$/m);
  const vol = await assembleVolume(vm);
  assert.equal(await md5Of(vm, vol, 4), want);
});

Deno.test("vm: a power cut (after a delay) keeps synced data on the raid5 volume", async () => {
  await using vm = new Vm({ disks: DISKS.slice(0, 3), label: "selftest-cut" });
  await vm.boot();
  await createImsmRaid5(vm);
  ok(
    await vm.run(
      "head -c 8M /dev/urandom >/tmp/p && dd if=/tmp/p of=/dev/md/vol0 bs=1M oflag=direct conv=fsync status=none",
    ),
  );
  const want = await md5Of(vm, "/dev/md/vol0", 8);
  // A writer keeps going while the power goes: the cut lands mid-I/O, as a real one would.
  vm.start(
    "while :; do dd if=/dev/urandom of=/dev/md/vol0 bs=1M seek=12 count=4 oflag=direct status=none; done",
  );
  const cut = await vm.cutAfter(1500);
  assert.equal(cut.fired, true, cut.reason);
  assert.equal(vm.running, false);
  const log = await Deno.readTextFile(vm.consoleLogPath);
  assert.doesNotMatch(
    log,
    /reboot: Power down/,
    "the guest shut down cleanly: that was no power cut",
  );

  const b = await vm.boot();
  assert.equal(b.bootNo, 2);
  const vol = await assembleVolume(vm);
  assert.equal(await md5Of(vm, vol, 8), want);
});

Deno.test("vm: a guest signal cuts the power at once; unsynced writes are lost, synced kept", async () => {
  await using vm = new Vm({ disks: DISKS, label: "selftest-signal" });
  await vm.boot();
  const synced = "SYNCED-".repeat(1000);
  const unsynced = "UNSYNCED-".repeat(1000);
  const cut = vm.cutOnSignal("written", { timeoutMs: 120_000 });
  // The unsynced write goes through fd 3, which stays open (sleep inherits it): closing a block
  // device written to makes udev rescan it, which flushes it (as on a real system).
  vm.start(
    `printf '${synced}' | dd of=/dev/vdd bs=1M oflag=direct conv=fsync status=none && ` +
      `exec 3<>/dev/vdc && printf '${unsynced}' >&3 && vm_signal written && sleep 600`,
  );
  const info = await cut;
  assert.equal(info.fired, true, info.reason);
  console.log(
    `signal cut: marker->kill ${info.markerToKillMs} ms, marker->qemu gone ${info.markerToDeadMs} ms`,
  );
  assert.equal(vm.running, false);

  const b = await vm.boot();
  assert.equal(b.bootNo, 2);
  const head = ok(
    await vm.run(
      `dd if=/dev/vdd bs=1M count=1 iflag=direct status=none | head -c ${synced.length}`,
    ),
  );
  assert.equal(head, synced);
  const lost = ok(
    await vm.run(`dd if=/dev/vdc bs=1M count=1 iflag=direct status=none | tr -d '\\0' | wc -c`),
  );
  assert.equal(lost.trim(), "0", "the unsynced write survived the power cut");
});

Deno.test("vm: a guest that dies during boot is booted once more, then the panic is reported", async () => {
  // rdinit pointing nowhere: the kernel finds no init and panics (panic=-1 powers it off at once).
  await using vm = new Vm({ label: "selftest-boot-death", kernelArgs: ["rdinit=/no/such/init"] });
  const err = await vm.boot().then(() => null, (e: Error) => e);
  assert.ok(err, "boot() succeeded with no init");
  assert.match(err.message, /VM boot 1 failed: qemu exited on its own/);
  // The pipes were drained before the error was built: the panic line is in it.
  assert.match(err.message, /Kernel panic/);
  const kept = [...Deno.readDirSync(vm.workDir)].map((e) => e.name);
  assert.ok(kept.includes("boot-1-attempt-1.console.log"), `first attempt's console: ${kept}`);
  assert.equal(vm.bootNo, 1);
});
