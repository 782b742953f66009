/**
 * The reverse direction with our monitor: a raid5 the real mdadm 4.2 created is stopped, then
 * assembled by mdts, which starts its own monitor (`mdts mdmon CONTAINER`, not mdmon 4.2).
 * Judged by the real `mdadm -E`: our -E identical to it, dirty during a write burst and clean
 * after idle; a member failed while a writer runs recorded failed and the volume degraded
 * (our -D as mdadm's); a spare added to the container rebuilt with the checkpoint recorded as
 * it moves; at the end a normal volume, our -E equal to mdadm's, both patterns intact.
 */
import assert from "node:assert/strict";
import { mdtsCommand, type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const LONG = { timeoutMs: 240_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const md5 = (s: string) => s.split(/\s/)[0];

function field(examine: string, name: string): string[] {
  const re = new RegExp(`^ *${name} : (.*)$`, "gm");
  return [...examine.matchAll(re)].map((m) => m[1].trim());
}

/** Runs `probe` every second until it returns a value (bounded); the last value or null. */
async function until<T>(tries: number, probe: () => Promise<T | null>): Promise<T | null> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== null) return v;
    await sleep(1000);
  }
  return null;
}

Deno.test("vm: mdts assembles mdadm's raid5 and its own monitor keeps it: clean, failure during writes, spare rebuild", async () => {
  await using vm = new Vm({
    disks: ["a", "b", "c", "d"].map((name) => ({ name, sizeMiB: 64 })),
    label: "monitor-assembled",
  });
  await vm.boot();
  // no MDTS_MDMON: mdts starts its own monitor, as it does for users
  const mdts = mdtsCommand(vm.repo);
  ok(await vm.run(`${mdts} --version`, LONG));
  const disks = ["/dev/vda", "/dev/vdb", "/dev/vdc"];

  // --- the real mdadm creates and stops the arrays (its mdmon runs meanwhile)
  ok(await vm.run(`mdadm -C /dev/md/imsm0 -e imsm -n 3 ${disks.join(" ")} -R`, LONG));
  ok(
    await vm.run(
      "udevadm settle; c=$(grep -B1 'super external:imsm' /proc/mdstat | awk '/^md/{print $1}' | head -1); " +
        "mdadm -C /dev/md/vol0 -l 5 -n 3 /dev/$c -z 16M -R",
      LONG,
    ),
  );
  ok(await vm.run("udevadm settle; timeout 120 mdadm --wait /dev/md/vol0 || true", LONG));
  ok(
    await vm.run(
      "head -c 8M /dev/urandom > /run/pat1 && head -c 8M /dev/urandom > /run/pat2 && " +
        "dd if=/run/pat1 of=/dev/md/vol0 bs=1M oflag=direct status=none",
      LONG,
    ),
  );
  ok(await vm.run("mdadm -S /dev/md/vol0; sleep 1; mdadm -S /dev/md/imsm0; udevadm settle", LONG));
  assert.doesNotMatch(ok(await vm.run("cat /proc/mdstat")), /^md\d+ :/m);
  // mdmon 4.2 leaves with its container
  const realGone = await until(30, async () => (await vm.run("pgrep -x mdmon")).code !== 0 || null);
  assert.ok(realGone, "mdmon 4.2 still running after its container stopped");

  // --- mdts assembles; the monitor it starts is ours
  const asm = await vm.run(`${mdts} -A /dev/md/imsm0 ${disks.join(" ")}`, LONG);
  console.log(`$ mdts -A /dev/md/imsm0 ${disks.join(" ")}\n[${asm.code}] ${asm.stderr.trim()}`);
  assert.equal(asm.code, 0, asm.stderr);
  ok(await vm.run("udevadm settle"));
  const container = ok(await vm.run("basename $(readlink -f /dev/md/imsm0)")).trim();
  const volume = ok(await vm.run("basename $(readlink -f /dev/md/vol0)")).trim();
  const pid = ok(await vm.run(`cat /run/mdadm/${container}.pid`)).trim();
  const who = ok(
    await vm.run(
      `echo "argv0=$(tr '\\0' '\\n' < /proc/${pid}/cmdline | head -1) ` +
        `exe=$(readlink /proc/${pid}/exe) args=$(tr '\\0' ' ' < /proc/${pid}/cmdline)"`,
    ),
  ).trim();
  console.log(`container ${container}, volume ${volume}, monitor ${pid}: ${who}`);
  assert.match(who, /^argv0=mdmon /);
  assert.match(who, / exe=\S*\/(deno|mdts) /, "the monitor is mdts's, not mdmon 4.2");
  assert.equal(ok(await vm.run(`stat -c %a /run/mdadm/${container}.sock`)).trim(), "600");

  /**
   * Our -E of `d` against mdadm's, taken while the metadata stands still: mdadm's before and
   * after ours must agree (the monitor may write between two looks), else look again.
   */
  const sameExamine = async (d: string) => {
    for (let i = 0; i < 5; i++) {
      const before = ok(await vm.run(`mdadm -E ${d}`));
      const ours = ok(await vm.run(`${mdts} -E ${d}`, LONG));
      const after = ok(await vm.run(`mdadm -E ${d}`));
      if (before !== after) continue;
      assert.equal(ours, after, `mdts -E ${d} differs from mdadm -E`);
      return;
    }
    assert.fail(`the metadata on ${d} kept changing; no stable -E to compare`);
  };

  const diag = async () =>
    (await vm.run(
      `cat /proc/mdstat; ls -l /run/mdadm; ps -eo pid,stat,args | grep -E 'md[m]on|d[e]no'; ` +
        `for f in array_state sync_action; do echo "$f: $(cat /sys/block/${volume}/md/$f)"; done`,
    )).stdout;

  try {
    // --- examined identically
    for (const d of disks) await sameExamine(d);
    console.log(`mdts -E == mdadm -E on ${disks.join(" ")}`);

    // --- dirty during a write burst, clean after idle
    const burst = vm.start(
      `dd if=/dev/urandom of=/dev/${volume} bs=64k seek=128 count=200 oflag=direct status=none`,
    );
    const dirtySeen: string[] = [];
    for (let i = 0; i < 20 && burst.poll() === null; i++) {
      dirtySeen.push(field(ok(await vm.run("mdadm -E /dev/vda")), "Dirty State").join(","));
      if (dirtySeen.at(-1) === "dirty") break;
    }
    ok(await burst.wait(LONG));
    console.log(`during the burst: Dirty State samples : ${dirtySeen.join(" ")}`);
    assert.ok(dirtySeen.includes("dirty"), "the metadata never said dirty during writes");
    const clean = await until(90, async () => {
      const e = ok(await vm.run("mdadm -E /dev/vda"));
      return field(e, "Dirty State").join(",") === "clean" ? e : null;
    });
    assert.ok(clean !== null, `never clean after idle\n${await diag()}`);
    console.log(`after idle: Dirty State : ${field(clean, "Dirty State").join(",")}`);
    assert.equal(ok(await vm.run(`cat /sys/block/${volume}/md/array_state`)).trim(), "clean");

    // --- a member fails while a writer runs: pattern 2 at 21 MiB in 256 KiB chunks, written
    // round and round (same bytes at the same place) until --fail has returned, then 4 more
    const writer = vm.start(
      `i=0; after=0; while :; do c=$((i % 32)); ` +
        `dd if=/run/pat2 of=/dev/${volume} bs=256k skip=$c seek=$((84 + c)) count=1 ` +
        `oflag=direct conv=notrunc status=none || exit 1; i=$((i + 1)); touch /run/writer-started; ` +
        `if [ -e /run/fail-returned ]; then after=$((after + 1)); ` +
        `[ $i -ge 32 ] && [ $after -ge 4 ] && break; fi; done; ` +
        `echo "chunks written: $i, after --fail returned: $after"`,
    );
    await until(60, async () => (await vm.run("test -e /run/writer-started")).code === 0 || null);
    const failed = await vm.run(`${mdts} --fail /dev/${volume} /dev/vdb`, LONG);
    const writing = writer.poll() === null;
    ok(await vm.run("touch /run/fail-returned"));
    console.log(
      `mdts --fail: ${failed.stderr.trim()} (exit ${failed.code}); writer still running: ${writing}`,
    );
    assert.equal(failed.code, 0, failed.stderr);
    assert.ok(writing, "the writer had stopped before the failure: not a failure during writes");
    const degraded = await until(60, async () => {
      const e = ok(await vm.run("mdadm -E /dev/vda"));
      return field(e, "Map State").includes("degraded") && /Failed disk : \d+$/m.test(e) ? e : null;
    });
    assert.ok(degraded !== null, `the failure was never recorded\n${await diag()}`);
    console.log(
      `after --fail: Map State : ${field(degraded, "Map State").join(",")}; ` +
        `Failed disk : ${field(degraded, "Failed disk").join(",")}`,
    );
    console.log(ok(await writer.wait(LONG)).trim());
    // the monitor takes the failed disk out of the volume (md then shows it removed)
    const gone = await until(
      60,
      async () => (await vm.run(`test -e /sys/block/${volume}/md/dev-vdb`)).code !== 0 || null,
    );
    assert.ok(gone, `vdb still in ${volume}\n${await diag()}`);
    // -D shows array_state: compare once md has gone back to clean after the writer
    await until(
      60,
      async () =>
        ok(await vm.run(`cat /sys/block/${volume}/md/array_state`)).trim() === "clean" || null,
    );
    const theirsD = ok(await vm.run(`mdadm -D /dev/${volume}`));
    const oursD = ok(await vm.run(`${mdts} -D /dev/${volume}`, LONG));
    console.log(`degraded -D state: ${/State : (.*)$/m.exec(theirsD)?.[1]}`);
    assert.equal(oursD, theirsD, "mdts -D of the degraded volume");

    // --- a spare added to the container: rebuilt, checkpoint recorded as it moves
    // slow enough (about 16 s for 16 MiB) that the checkpoint is seen moving more than once
    ok(
      await vm.run(
        "echo 500 > /proc/sys/dev/raid/speed_limit_min; echo 1000 > /proc/sys/dev/raid/speed_limit_max",
      ),
    );
    const added = await vm.run(`${mdts} --add /dev/${container} /dev/vdd`, LONG);
    console.log(`mdts --add: ${added.stderr.trim()} (exit ${added.code})`);
    assert.equal(added.code, 0, added.stderr);
    const samples: string[] = [];
    for (let i = 0; i < 90; i++) {
      const e = ok(await vm.run("mdadm -E /dev/vda"));
      if (field(e, "Migrate State").includes("rebuild")) samples.push(field(e, "Checkpoint")[0]);
      const action = ok(await vm.run(`cat /sys/block/${volume}/md/sync_action`)).trim();
      if (samples.length > 0 && action === "idle") break;
      await sleep(1000);
    }
    console.log(`rebuild checkpoints sampled from mdadm -E: ${samples.join(" | ")}`);
    assert.ok(new Set(samples).size >= 2, `rebuild progress not recorded: ${samples.join(" | ")}`);
    ok(
      await vm.run(
        "echo 1000 > /proc/sys/dev/raid/speed_limit_min; echo 200000 > /proc/sys/dev/raid/speed_limit_max",
      ),
    );
    ok(await vm.run(`timeout 120 mdadm --wait /dev/${volume} || true`, LONG));
    const normal = await until(60, async () => {
      const e = ok(await vm.run("mdadm -E /dev/vda; mdadm -E /dev/vdd"));
      const maps = field(e, "Map State"), migr = field(e, "Migrate State");
      return maps.length === 2 && maps.every((m) => m === "normal") &&
          migr.every((m) => m === "idle")
        ? e
        : null;
    });
    assert.ok(normal !== null, `the rebuild's end was never recorded\n${await diag()}`);
    console.log(`after the rebuild: Map State : ${field(normal, "Map State").join(",")}`);
    for (const d of [...disks, "/dev/vdd"]) await sameExamine(d);
    console.log("mdts -E == mdadm -E on /dev/vda /dev/vdb /dev/vdc /dev/vdd");
    assert.match(ok(await vm.run(`mdadm -D /dev/${volume}`)), /Active Devices : 3$/m);

    const sums = ok(
      await vm.run(
        `md5sum < /run/pat1; dd if=/dev/${volume} bs=1M count=8 iflag=direct status=none | md5sum; ` +
          `md5sum < /run/pat2; dd if=/dev/${volume} bs=1M skip=21 count=8 iflag=direct status=none | md5sum`,
      ),
    ).split("\n").filter(Boolean).map(md5);
    console.log(`md5: pattern 1 ${sums[0]} read ${sums[1]}; pattern 2 ${sums[2]} read ${sums[3]}`);
    assert.equal(sums[1], sums[0], "pattern written before the assembly");
    assert.equal(sums[3], sums[2], "pattern written across the failure");

    // --- stop: our monitor leaves the metadata clean and exits with the last volume
    ok(await vm.run(`${mdts} -S /dev/${volume}`, LONG));
    const exited = await until(
      60,
      async () => (await vm.run(`test -e /proc/${pid}`)).code !== 0 || null,
    );
    assert.ok(exited, `monitor ${pid} still running after the volume stopped\n${await diag()}`);
    ok(await vm.run(`test ! -e /run/mdadm/${container}.pid`));
    const stopped = ok(await vm.run("mdadm -E /dev/vda"));
    assert.deepEqual(field(stopped, "Dirty State"), ["clean"]);
    console.log(`stopped: monitor ${pid} exited, Dirty State : clean`);
  } catch (e) {
    console.log(await diag());
    throw e;
  }
  ok(await vm.run(`${mdts} -S /dev/${container}`, LONG));
});
