/**
 * kernel/ against the real Linux md driver in the VM: the guest probes (tests/vm/guest/kernel_*.ts)
 * run as root and print JSON, compared here with what the kernel's own tools say.
 * One VM for all steps: booting and starting Deno under TCG are the slow parts.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type RunResult, Vm } from "./harness/vm.ts";
import { pattern } from "./guest/kernel_guest_util.ts";

// vda: block probe; vdb, vdc: arrays built by mdts from nothing; vdd..vdf: real mdadm IMSM.
const DISKS = ["a", "b", "c", "d", "e", "f"].map((name) => ({ name, sizeMiB: 64 }));

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs a guest probe and parses the JSON it prints. */
async function probe(vm: Vm, script: string, args: string): Promise<Record<string, unknown>> {
  const out = ok(
    await vm.run(`deno run -A ${vm.repo}/tests/vm/guest/${script} ${args}`, {
      timeoutMs: 600_000,
    }),
  );
  return JSON.parse(out.slice(out.indexOf("{")));
}

/** "Key : value" lines of mdadm -D. */
function detailFields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const kv = /^\s*([A-Za-z][A-Za-z ]*?) : (.*)$/.exec(line);
    if (kv) m.set(kv[1], kv[2].trim());
  }
  return m;
}

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("vm kernel: FFI block I/O, md from nothing, poll, fake vs real, mdadm's arrays read back", async (t) => {
  await using vm = new Vm({ disks: DISKS, label: "kernel-probe" });
  await vm.boot();

  await t.step("virtio disk sizes and sector sizes by ioctl; O_DIRECT round trip", async () => {
    const r: Json = await probe(vm, "kernel_probe.ts", "blocks /dev/vda");
    const b = r.blocks[0];
    const [size, ss, pbsz] = ok(await vm.run("blockdev --getsize64 --getss --getpbsz /dev/vda"))
      .trim().split(/\s+/);
    assert.equal(b.sizeBytes, size);
    assert.equal(String(b.logicalSectorSize), ss);
    assert.equal(String(b.physicalSectorSize), pbsz);
    assert.equal(b.sysfs.sizeBytes, size);
    assert.equal(b.sysfs.majMin, ok(await vm.run("cat /sys/class/block/vda/dev")).trim());
    assert.equal(b.sysfs.hardwareSerial, null, "virtio: no INQUIRY serial");
    assert.equal(b.roundTrip, true);
    assert.equal(b.bufferedSeesIt, true);
    assert.match(b.unalignedRead.error, /not aligned to its 512-byte sectors/);
    // the pattern is on the disk where the probe put it: 1 MiB before the end
    const off = BigInt(size) - 1048576n;
    const sum = ok(
      await vm.run(
        `dd if=/dev/vda bs=65536 skip=${off / 65536n} count=1 iflag=direct status=none | md5sum`,
      ),
    );
    const want = createHash("md5").update(pattern(65536, Number(BigInt(size) % 100000n) + 7))
      .digest("hex");
    assert.equal(sum.split(" ")[0], want);
  });

  await t.step(
    "mdts builds a raid0 from nothing via sysfs, the layout is right, it stops",
    async () => {
      const r: Json = await probe(vm, "kernel_bringup.ts", "raid0 vdb vdc");
      assert.equal(r.before.arrayState, "inactive");
      assert.deepEqual(r.before.members.map((m: Json) => [m.name, m.slot, m.state]), [
        ["vdb", 0, ["in_sync"]],
        ["vdc", 1, ["in_sync"]],
      ]);
      assert.equal(r.running.arrayState, "clean", "raid0 reads clean once started");
      assert.equal(r.sizeBytes, String(2 * 16384 * 1024));
      assert.equal(r.roundTrip, true);
      assert.deepEqual(r.layoutOk, Array(8).fill(true));
      assert.equal(r.mdstat.level, "raid0");
      assert.equal(r.mdstat.chunkKiB, 64);
      assert.equal(r.mdstat.superVersion, "external:mdts-probe");
      assert.equal(r.busyStop.code, "EBUSY", "STOP_ARRAY refuses while the node is open");
      assert.equal(r.sysfsDirAfterStop.code, "ENOENT", "a stopped new_array device goes away");
      assert.doesNotMatch(ok(await vm.run("cat /proc/mdstat")), new RegExp(`^${r.devnm} `, "m"));
    },
  );

  await t.step("poll on array_state wakes when the array changes state", async () => {
    const ready = vm.signalPath("kernel-poll-ready");
    const job = vm.start(
      `deno run -A ${vm.repo}/tests/vm/guest/kernel_bringup.ts poll vdb vdc "$MDTS_VM_SIGNALS/kernel-poll-ready"`,
    );
    let devnm = "";
    for (let i = 0; i < 3000 && !devnm; i++) {
      try {
        devnm = (await Deno.readTextFile(ready)).trim();
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
      const done = job.poll();
      if (done) assert.fail(`poll probe ended early: ${done.stdout}\n${done.stderr}`);
    }
    assert.match(devnm, /^md\d+$/);
    await new Promise((r) => setTimeout(r, 1500)); // the probe is inside poll() by now
    assert.equal(job.poll(), null, "the probe must still be waiting");
    ok(await vm.run(`echo active > /sys/block/${devnm}/md/array_state`));
    const res = await job.wait({ timeoutMs: 120_000 });
    const r: Json = JSON.parse(ok(res).slice(res.stdout.indexOf("{")));
    assert.equal(r.timedOut, false);
    assert.ok(r.changed.includes("array_state"), JSON.stringify(r));
    assert.equal(r.values.array_state, "clean", "active on an in-sync idle array reads clean");
    assert.ok(r.ms >= 1000, `woke after ${r.ms} ms, before the change`);
    assert.ok(r.ticks > 10, `event loop ticks during poll: ${r.ticks}`);
  });

  for (const [scenario, disks] of [["raid1", "vdb vdc"], ["reshape", "vdb vdc vdd vda"]]) {
    await t.step(`FakeKernel and the real kernel agree at every step: ${scenario}`, async () => {
      const r: Json = await probe(vm, "kernel_fake_compare.ts", `${scenario} ${disks}`);
      const diffs = r.steps.filter((s: Json) => s.diffs.length > 0);
      assert.deepEqual(diffs, [], JSON.stringify(diffs, null, 1));
      assert.ok(r.steps.length > 20);
      if (scenario === "reshape") {
        // the checkpoint: the reshape stopped at sync_max, reshape_position in array sectors
        const cp = r.steps.find((s: Json) => s.step.startsWith("(settle: reshape reaches"));
        assert.equal(cp.real.sync_completed, "2048 / 32768");
        assert.equal(cp.real.reshape_position, "6144");
        assert.equal(cp.real.raid_disks, "4 (3)");
        const end = r.steps.find((s: Json) => s.step === "(settle: reshape done)");
        assert.equal(end.real.raid_disks, "4");
        // the reshape's end raised a superblock update the settle (as mdmon) had to answer
        assert.equal(end.result, "ok: write-pending answered 1x");
        assert.equal(end.real.array_state, "active-idle");
      }
    });
  }

  await t.step(
    "an IMSM container + raid5 made by mdadm reads back like mdadm -D says",
    async () => {
      ok(await vm.run("mdadm -C /dev/md/imsm0 -e imsm -n 3 /dev/vdd /dev/vde /dev/vdf -R"));
      ok(await vm.run("mdadm -C /dev/md/vol0 -l 5 -n 3 /dev/md/imsm0 -z 16M -R"));
      ok(await vm.run("mdadm --wait /dev/md/vol0 || true; udevadm settle"));
      const volNode = ok(await vm.run("readlink -f /dev/md/vol0")).trim();
      const conNode = ok(await vm.run("readlink -f /dev/md/imsm0")).trim();
      const vol = detailFields(ok(await vm.run("mdadm -D /dev/md/vol0")));
      const con = detailFields(ok(await vm.run("mdadm -D /dev/md/imsm0")));
      const devTable = ok(await vm.run("mdadm -D /dev/md/vol0")).split("\n")
        .filter((l) => /^\s+\d+\s+\d+\s+\d+\s+\d+\s+/.test(l))
        .map((l) => l.trim().split(/\s+/));
      const r: Json = await probe(vm, "kernel_probe.ts", "md-read");
      const v = r.arrays.find((a: Json) => `/dev/${a.devnm}` === volNode);
      const c = r.arrays.find((a: Json) => `/dev/${a.devnm}` === conNode);
      assert.ok(v && c, `arrays ${r.arrays.map((a: Json) => a.devnm)} vs ${volNode} ${conNode}`);

      assert.equal(v.level, vol.get("Raid Level"));
      assert.equal(v.arraySize, vol.get("Array Size")!.split(" ")[0]);
      assert.equal(v.componentSize, vol.get("Used Dev Size")!.split(" ")[0]);
      assert.equal(String(v.raidDisks.value), vol.get("Raid Devices"));
      assert.equal(`${v.chunkSize.value / 1024}K`, vol.get("Chunk Size"));
      assert.equal(vol.get("Layout"), v.layout.value === 0 ? "left-asymmetric" : "?");
      assert.ok(
        vol.get("State")!.startsWith(v.arrayState),
        `${vol.get("State")} / ${v.arrayState}`,
      );
      const [, cdev, sub] = /^(\/dev\/md\/imsm0), member (\d+)$/.exec(vol.get("Container")!)!;
      assert.equal(cdev, "/dev/md/imsm0");
      assert.deepEqual(v.metadataVersion, {
        kind: "external-member",
        container: c.devnm,
        subarray: sub,
        blocked: false,
      });
      assert.equal(v.degraded, Number(vol.get("Failed Devices")));
      // the device table: slot, major, minor per member
      for (const [num, major, minor, raidDevice] of devTable) {
        const m = v.members.find((x: Json) => x.blockDev === `${major}:${minor}`);
        assert.ok(m, `no member ${major}:${minor}`);
        assert.equal(String(m.slot), raidDevice);
        assert.equal(num, raidDevice);
        assert.deepEqual(m.state.filter((s: string) => s === "in_sync"), ["in_sync"]);
      }
      assert.equal(v.arrayInfo.level, 5);
      assert.equal(v.arrayInfo.raidDisks, 3);
      assert.equal(v.arrayInfo.chunkSize, v.chunkSize.value);
      assert.equal(String(v.arrayInfo.size), v.componentSize);
      assert.equal(v.sizeBytes, String(BigInt(v.arraySize) * 1024n));
      // the container: external:imsm, no level, all members spares. GET_ARRAY_INFO succeeds on it
      // (6.1): level LEVEL_NONE (-1000000), no raid disks, every device a spare
      assert.equal(con.get("Raid Level"), "container");
      assert.deepEqual(c.metadataVersion, { kind: "external-container", name: "imsm" });
      assert.equal(c.level, "");
      assert.equal(c.raidDisks, null);
      assert.equal(String(c.members.length), con.get("Total Devices"));
      assert.ok(c.members.every((m: Json) => m.slot === null && m.state.includes("spare")));
      assert.equal(c.arrayInfo.level, -1000000);
      assert.equal(c.arrayInfo.raidDisks, 0);
      assert.equal(c.arrayInfo.nrDisks, c.members.length);
      assert.equal(c.arrayInfo.spareDisks, c.members.length);
      assert.deepEqual(c.raidVersion.slice(0, 2), [0, 90], "md driver version 0.90.x");
      // /proc/mdstat as parsed agrees with sysfs
      const mv = r.mdstat.arrays.find((a: Json) => a.devnm === v.devnm);
      assert.equal(mv.level, v.level);
      assert.equal(mv.blocks, v.arraySize);
      assert.equal(mv.superVersion, `external:/${c.devnm}/${sub}`);
      assert.equal(mv.status, "UUU");
      const mc = r.mdstat.arrays.find((a: Json) => a.devnm === c.devnm);
      assert.equal(mc.active, false);
      assert.ok(mc.members.every((m: Json) => m.spare));
    },
  );
});
