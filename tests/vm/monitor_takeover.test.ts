/**
 * Our monitor replaces the real mdmon (--takeover) on arrays the real mdadm 4.2 created, and
 * keeps their IMSM metadata true, judged by the real `mdadm -E`: dirty during writes and clean
 * after idle; a member failed during writes recorded failed and the volume degraded; a spare
 * added to the container rebuilt by the kernel while the metadata records progress; at the
 * end a normal volume with the data intact.
 */
import assert from "node:assert/strict";
import { type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What to look at when the monitor misbehaves: its log, processes, md state. */
async function diagnostics(vm: Vm, volume: string): Promise<string> {
  const r = await vm.run(
    `echo '--- mdmon log'; cat /run/mdmon.log; echo '--- ps'; ps -eo pid,stat,etime,args | grep -E 'md[m]on|d[e]no'; ` +
      `echo '--- /run/mdadm'; ls -l /run/mdadm; cat /proc/mdstat; ` +
      `for p in $(cat /run/mdadm/md*.pid 2>/dev/null); do for t in /proc/$p/task/*; do ` +
      `echo "== $t $(cat $t/comm) wchan=$(cat $t/wchan) syscall=$(cut -d' ' -f1 $t/syscall)"; ` +
      `cat $t/stack; done; done; ` +
      `for f in array_state sync_action safe_mode_delay metadata_version; do ` +
      `echo "$f: $(cat /sys/block/${volume}/md/$f)"; done`,
  );
  return r.stdout + r.stderr;
}

/** Runs `probe` every second until it returns a value (bounded); that value or null. */
async function until<T>(tries: number, probe: () => Promise<T | null>): Promise<T | null> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== null) return v;
    await sleep(1000);
  }
  return null;
}

function field(examine: string, name: string): string[] {
  const re = new RegExp(`^ *${name} : (.*)$`, "gm");
  return [...examine.matchAll(re)].map((m) => m[1].trim());
}

Deno.test("vm: our monitor takes over from mdmon 4.2: clean/dirty, failure, spare rebuild, data intact", async () => {
  await using vm = new Vm({
    disks: ["a", "b", "c", "d"].map((name) => ({ name, sizeMiB: 64 })),
    label: "monitor-takeover",
  });
  await vm.boot();
  const mdts = `deno run -A ${vm.repo}/mod.ts`;
  // warm Deno's module cache so that the takeover itself is not slowed by compilation
  ok(await vm.run(`${mdts} --version`, { timeoutMs: 240_000 }));

  ok(await vm.run("mdadm -C /dev/md/imsm0 -e imsm -n 3 /dev/vda /dev/vdb /dev/vdc -R"));
  // the container is named by its kernel device: /dev/md/imsm0 may not be linked yet under load
  ok(
    await vm.run(
      "udevadm settle; c=$(grep -B1 'super external:imsm' /proc/mdstat | awk '/^md/{print $1}' | head -1); " +
        "mdadm -C /dev/md/vol0 -l 5 -n 3 /dev/$c -z 16M -R || { cat /proc/mdstat; ls -l /dev/md; exit 1; }",
    ),
  );
  ok(await vm.run("udevadm settle; mdadm --wait /dev/md/vol0 || true"));
  const container = ok(await vm.run("basename $(readlink -f /dev/md/imsm0)")).trim();
  const volume = ok(await vm.run("basename $(readlink -f /dev/md/vol0)")).trim();
  const oldPid = ok(await vm.run(`cat /run/mdadm/${container}.pid`)).trim();
  console.log(`real mdadm: container ${container}, volume ${volume}, mdmon pid ${oldPid}`);
  assert.match(ok(await vm.run(`cat /proc/${oldPid}/cmdline | tr '\\0' ' '`)), /mdmon/);

  // a pattern written while the real mdmon still runs
  ok(
    await vm.run(
      `head -c 8M /dev/urandom > /run/pat && dd if=/run/pat of=/dev/${volume} bs=1M oflag=direct status=none`,
    ),
  );

  // --- takeover
  const mon = vm.start(
    `MDTS_MDMON_DEBUG=1 ${mdts} mdmon --foreground --takeover ${container} 2>/run/mdmon.log`,
  );
  let newPid = "";
  for (let i = 0; i < 90 && newPid === ""; i++) {
    await sleep(2000);
    const r = await vm.run(
      `p=$(cat /run/mdadm/${container}.pid 2>/dev/null); ` +
        `if [ -n "$p" ] && [ "$p" != "${oldPid}" ] && ! grep -q . /proc/${oldPid}/cmdline 2>/dev/null; then echo $p; fi`,
    );
    newPid = r.stdout.trim();
  }
  if (newPid === "") {
    console.log(await diagnostics(vm, volume));
    assert.fail("our monitor did not take over within 180 s");
  }

  const argv0 = ok(await vm.run(`cat /proc/${newPid}/cmdline | tr '\\0' '\\n' | head -1`)).trim();
  console.log(`takeover: real mdmon ${oldPid} gone, ours is ${newPid} (argv0 ${argv0})`);
  assert.equal(argv0, "mdmon");
  const sockMode = ok(await vm.run(`stat -c %a /run/mdadm/${container}.sock`)).trim();
  assert.equal(sockMode, "600");
  // the real mdadm talks to our monitor: --wait pings it
  ok(await vm.run(`mdadm --wait /dev/${volume}; echo rc=$?`));

  try {
    // --- dirty during writes, clean after idle
    const writer = vm.start(
      `dd if=/dev/urandom of=/dev/${volume} bs=64k seek=128 count=200 oflag=direct status=none`,
    );
    // sample while the writer runs: the metadata must say dirty while writes are in flight
    const dirtySeen: string[] = [];
    for (let i = 0; i < 20; i++) {
      const e = ok(await vm.run("mdadm -E /dev/vda"));
      dirtySeen.push(field(e, "Dirty State").join(","));
      if (dirtySeen.at(-1) === "dirty") break;
    }
    ok(await writer.wait({ timeoutMs: 120_000 }));
    console.log(`during writes: Dirty State samples : ${dirtySeen.join(" ")}`);
    assert.ok(dirtySeen.includes("dirty"), "never dirty during writes");
    // md marks the array clean after safe_mode_delay (4 s) idle; the monitor then records it
    const idle = await until(90, async () => {
      const e = ok(await vm.run("mdadm -E /dev/vda"));
      return field(e, "Dirty State").join(",") === "clean" ? e : null;
    });
    assert.ok(idle !== null, "the metadata never said clean after idle");
    console.log(`after idle: Dirty State : ${field(idle, "Dirty State").join(",")}`);
    assert.equal(ok(await vm.run(`cat /sys/block/${volume}/md/array_state`)).trim(), "clean");

    // --- a member fails during writes
    const writer2 = vm.start(
      `dd if=/dev/urandom of=/dev/${volume} bs=64k seek=352 count=150 oflag=direct status=none`,
    );
    await sleep(200);
    ok(await vm.run(`mdadm --fail /dev/${volume} /dev/vdb`));
    ok(await writer2.wait({ timeoutMs: 120_000 }));
    const failed = await until(60, async () => {
      const e = ok(await vm.run("mdadm -E /dev/vda"));
      return field(e, "Map State").includes("degraded") && /Failed disk : \d+$/m.test(e) ? e : null;
    });
    assert.ok(failed !== null, "the failure was never recorded");
    console.log(
      `after --fail: Map State : ${field(failed, "Map State").join(",")}; ` +
        `Failed disk : ${field(failed, "Failed disk").join(",")}`,
    );
    const removed = await until(
      60,
      async () => (await vm.run(`test -e /sys/block/${volume}/md/dev-vdb`)).code !== 0 || null,
    );
    assert.ok(removed, "the failed member was never removed from the volume");

    // --- a spare added to the container is rebuilt, progress recorded
    // slow enough (about 16 s for 16 MiB) that the checkpoint is seen moving more than once
    ok(
      await vm.run(
        "echo 500 > /proc/sys/dev/raid/speed_limit_min; echo 1000 > /proc/sys/dev/raid/speed_limit_max",
      ),
    );
    ok(await vm.run(`mdadm --add /dev/md/imsm0 /dev/vdd`));
    const samples: string[] = [];
    let rebuildSeen = false;
    for (let i = 0; i < 60; i++) {
      const e = ok(await vm.run("mdadm -E /dev/vda"));
      const migrate = field(e, "Migrate State");
      const ckpt = field(e, "Checkpoint");
      if (migrate.includes("rebuild")) {
        rebuildSeen = true;
        samples.push(ckpt.join(","));
      }
      const action = ok(await vm.run(`cat /sys/block/${volume}/md/sync_action`)).trim();
      if (rebuildSeen && action === "idle") break;
      await sleep(1000);
    }
    console.log(`rebuild checkpoints sampled from mdadm -E: ${samples.join(" | ")}`);
    assert.ok(rebuildSeen, "mdadm -E never showed the rebuild");
    assert.ok(new Set(samples).size >= 2, `progress did not move: ${samples.join(" | ")}`);
    ok(
      await vm.run(
        "echo 1000 > /proc/sys/dev/raid/speed_limit_min; echo 200000 > /proc/sys/dev/raid/speed_limit_max",
      ),
    );
    ok(await vm.run(`mdadm --wait /dev/${volume} || true`));
    const end = await until(60, async () => {
      const e = ok(await vm.run("mdadm -E /dev/vda"));
      return field(e, "Map State").join(",") === "normal" &&
          field(e, "Migrate State").join(",") === "idle"
        ? e
        : null;
    });
    assert.ok(end !== null, "the rebuild's end was never recorded");
    console.log(
      `after rebuild: Map State : ${field(end, "Map State").join(",")}; ` +
        `Migrate State : ${field(end, "Migrate State").join(",")}`,
    );
    const endD = ok(await vm.run("mdadm -E /dev/vdd"));
    assert.deepEqual(
      field(endD, "Map State"),
      ["normal"],
      "the new member carries the same metadata",
    );
    const detail = ok(await vm.run(`mdadm -D /dev/${volume}`));
    assert.match(detail, /Active Devices : 3$/m);
    assert.match(detail, /\/dev\/vdd$/m);

    const sums = ok(
      await vm.run(
        `md5sum < /run/pat; dd if=/dev/${volume} bs=1M count=8 iflag=direct status=none | md5sum`,
      ),
    ).split("\n").map((l) => l.split(/\s/)[0]).filter(Boolean);
    assert.equal(sums[1], sums[0], "pattern written before the takeover reads back");

    // --- stop: our monitor leaves the volume clean and goes away with it. (Only poll() the
    // job here: a job's wait() deadline counts from the job's start, minutes ago; an earlier
    // version's `mon.wait({ timeoutMs: 60_000 })` killed the monitor the moment the volume
    // stopped, which looked like a monitor hang.)
    ok(await vm.run(`mdadm -S /dev/${volume}`));
    for (let i = 0; i < 60 && mon.poll() === null; i++) await sleep(1000);
    const monResult = mon.poll();
    if (monResult === null) {
      // still there: where each of its threads waits, before the harness kills it
      const where = await vm.run(
        `for t in /proc/${newPid}/task/*; do echo "== $t $(cat $t/comm) ` +
          `$(cut -d' ' -f3 $t/stat) wchan=$(cat $t/wchan) syscall=$(cut -d' ' -f1 $t/syscall)"; ` +
          `cat $t/stack; done; timeout 5 strace -f -tt -p ${newPid} 2>&1 | tail -40`,
        { timeoutMs: 60_000 },
      );
      console.log(`monitor ${newPid} did not exit; its threads:\n${where.stdout}${where.stderr}`);
      assert.fail(`monitor ${newPid} did not exit within 60 s of the last volume stopping`);
    }
    const exited = monResult;
    const log = ok(await vm.run("cat /run/mdmon.log"));
    console.log(`monitor exit ${exited.code}; log tail:\n${log.split("\n").slice(-12).join("\n")}`);
    assert.equal(exited.code, 0);
    const stopped = ok(await vm.run("mdadm -E /dev/vda"));
    assert.deepEqual(field(stopped, "Dirty State"), ["clean"]);
    ok(await vm.run(`test ! -e /run/mdadm/${container}.pid`));
  } catch (e) {
    console.log(await diagnostics(vm, volume));
    throw e;
  }
  ok(await vm.run(`mdadm -S /dev/${container}`));
});
