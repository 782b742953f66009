/**
 * Manage mode through our monitor on a raid1 the real mdadm 4.2 created: our monitor started in
 * the background (as mdadm starts mdmon) taking over; `mdts --fail` a member, `mdts --remove`
 * it from the container, `mdts --add` a new disk; the rebuild recorded to the end, the real
 * `mdadm -E` agreeing, data intact; refusals leave the disks alone.
 */
import assert from "node:assert/strict";
import { type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

Deno.test("vm: mdts --fail/--remove/--add with our monitor: rebuild recorded, mdadm -E agrees", async () => {
  await using vm = new Vm({
    disks: ["a", "b", "c", "d"].map((name) => ({ name, sizeMiB: 64 })),
    label: "monitor-manage",
  });
  await vm.boot();
  const mdts = `deno run -A ${vm.repo}/mod.ts`;
  ok(await vm.run(`${mdts} --version`, { timeoutMs: 240_000 }));
  ok(await vm.run("mdadm -C /dev/md/imsm0 -e imsm -n 2 /dev/vda /dev/vdb -R"));
  ok(
    await vm.run(
      "udevadm settle; c=$(grep -B1 'super external:imsm' /proc/mdstat | awk '/^md/{print $1}' | head -1); " +
        "mdadm -C /dev/md/mirror -l 1 -n 2 /dev/$c -z 16M -R",
    ),
  );
  ok(await vm.run("udevadm settle; mdadm --wait /dev/md/mirror || true"));
  const container = ok(await vm.run("basename $(readlink -f /dev/md/imsm0)")).trim();
  const volume = ok(await vm.run("basename $(readlink -f /dev/md/mirror)")).trim();
  ok(
    await vm.run(
      `head -c 8M /dev/urandom > /run/pat && dd if=/run/pat of=/dev/${volume} bs=1M oflag=direct status=none`,
    ),
  );

  // our monitor in the background, as mdadm starts mdmon: returns once it is in place
  const started = await vm.run(
    `MDTS_MDMON_LOG=/run/mdmon.log ${mdts} mdmon --takeover ${container}`,
    { timeoutMs: 240_000 },
  );
  assert.equal(started.code, 0, started.stderr);
  const pid = ok(await vm.run(`cat /run/mdadm/${container}.pid`)).trim();
  const argv0 = ok(await vm.run(`cat /proc/${pid}/cmdline | tr '\\0' '\\n' | head -1`)).trim();
  console.log(`background monitor ${pid} (argv0 ${argv0})`);
  assert.equal(argv0, "mdmon");

  try {
    // refusals first: nothing written
    const before = ok(await vm.run("md5sum /dev/vdd"));
    const r1 = await vm.run(`${mdts} --add /dev/${volume} /dev/vdd`);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, /Cannot add disks to a 'member' array/);
    const r2 = await vm.run(`${mdts} --remove /dev/${container} /dev/vda`);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /Device or resource busy/);
    assert.equal(ok(await vm.run("md5sum /dev/vdd")), before);

    const failed = await vm.run(`${mdts} --fail /dev/${volume} /dev/vdb`);
    console.log(`mdts --fail: ${failed.stderr.trim()} (exit ${failed.code})`);
    assert.equal(failed.code, 0);
    assert.equal(failed.stderr, `mdts: set /dev/vdb faulty in /dev/${volume}\n`);
    // the monitor records the failure on its next pass, after --fail returned
    const e1 = await until(60, async () => {
      const e = ok(await vm.run("mdadm -E /dev/vda"));
      return field(e, "Map State").join(",") === "degraded" ? e : null;
    });
    assert.ok(e1 !== null, "the metadata never said degraded after --fail");
    console.log(`after --fail: Map State : ${field(e1, "Map State").join(",")}`);

    // wait until md has let go of vdb, then take it out of the container
    for (let i = 0; i < 30; i++) {
      if ((await vm.run(`test -e /sys/block/${volume}/md/dev-vdb`)).code !== 0) break;
      await sleep(1000);
    }
    const removed = await vm.run(`${mdts} --remove /dev/${container} /dev/vdb`);
    console.log(`mdts --remove: ${removed.stderr.trim()} (exit ${removed.code})`);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stderr, `mdts: hot removed /dev/vdb from /dev/${container}\n`);

    // slow enough (about 16 s for 16 MiB) that the checkpoint is seen moving more than once
    ok(
      await vm.run(
        "echo 500 > /proc/sys/dev/raid/speed_limit_min; echo 1000 > /proc/sys/dev/raid/speed_limit_max",
      ),
    );
    const added = await vm.run(`${mdts} --add /dev/${container} /dev/vdd`);
    console.log(`mdts --add: ${added.stderr.trim()} (exit ${added.code})`);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stderr, "mdts: added /dev/vdd\n");
    const samples: string[] = [];
    for (let i = 0; i < 60; i++) {
      const e = ok(await vm.run("mdadm -E /dev/vda"));
      if (field(e, "Migrate State").includes("rebuild")) samples.push(field(e, "Checkpoint")[0]);
      const action = ok(await vm.run(`cat /sys/block/${volume}/md/sync_action`)).trim();
      if (samples.length > 0 && action === "idle") break;
      await sleep(1000);
    }
    console.log(`rebuild checkpoints: ${samples.join(" | ")}`);
    assert.ok(new Set(samples).size >= 2, `rebuild progress not recorded: ${samples.join(" | ")}`);
    ok(
      await vm.run(
        "echo 1000 > /proc/sys/dev/raid/speed_limit_min; echo 200000 > /proc/sys/dev/raid/speed_limit_max",
      ),
    );
    const end = await until(60, async () => {
      const e = ok(await vm.run("mdadm -E /dev/vda; mdadm -E /dev/vdd"));
      const maps = field(e, "Map State"), migr = field(e, "Migrate State");
      return maps.length === 2 && maps.every((m) => m === "normal") &&
          migr.every((m) => m === "idle")
        ? e
        : null;
    });
    assert.ok(end !== null, "the rebuild's end was never recorded on vda and vdd");
    console.log(`after the rebuild: Map State : ${field(end, "Map State").join(",")}`);
    const sums = ok(
      await vm.run(
        `md5sum < /run/pat; dd if=/dev/${volume} bs=1M count=8 iflag=direct status=none | md5sum`,
      ),
    ).split("\n").map((l) => l.split(/\s/)[0]).filter(Boolean);
    assert.equal(sums[1], sums[0]);
    ok(await vm.run(`mdadm -S /dev/${volume}`));
    const exited = await until(
      60,
      async () => (await vm.run(`test -e /proc/${pid}`)).code !== 0 || null,
    );
    assert.ok(exited, `monitor ${pid} did not exit after the volume stopped`);
    ok(await vm.run(`test ! -e /run/mdadm/${container}.pid`));
    console.log(`monitor ${pid} exited with the volume`);
  } catch (e) {
    console.log(ok(await vm.run("cat /run/mdmon.log; cat /proc/mdstat")));
    throw e;
  }
});
