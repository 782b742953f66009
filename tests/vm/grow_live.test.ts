/**
 * A grow under use, on a real kernel: raid5 3->4 by mdts (container by mdadm 4.2, our
 * monitor) with md's speed held down, while a writer keeps rewriting part of the volume.
 * During the grow: the migration record on disk is sampled twice and has advanced; a second
 * grow is refused with nothing written (whole disks and md attributes compared, the first
 * grow stopped meanwhile). After it: the writer's data and the untouched rest
 * of the pattern read back exactly, and the real mdadm sees 4 members, not migrating.
 */
import assert from "node:assert/strict";
import { type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** rec_status and curr_migr_unit_lo of the migration record in the last sector of `disk`. */
async function record(vm: Vm, disk: string): Promise<{ status: number; unit: number }> {
  const out = ok(
    await vm.run(
      `dd if=${disk} bs=512 skip=$(( $(blockdev --getsz ${disk}) - 1 )) count=1 ` +
        `iflag=direct status=none | od -An -tu4 -N8`,
    ),
  ).trim().split(/\s+/).map(Number);
  return { status: out[0], unit: out[1] };
}

Deno.test("vm: grow under a writer: record advances on disk, second grow refused, data intact", async () => {
  await using vm = new Vm({
    disks: ["a", "b", "c", "d"].map((name) => ({ name, sizeMiB: 64 })),
    label: "grow-live",
  });
  await vm.boot();
  const mdts = `deno run -A ${vm.repo}/mod.ts`;
  ok(await vm.run(`${mdts} --version`, { timeoutMs: 240_000 }));
  const dev = ["/dev/vda", "/dev/vdb", "/dev/vdc", "/dev/vdd"];
  ok(await vm.run(`mdadm -C /dev/md/imsm0 -e imsm -n 4 ${dev.join(" ")} -R`));
  ok(
    await vm.run(
      `udevadm settle; mdadm -C /dev/md/vol0 -l 5 -n 3 ${dev.slice(0, 3).join(" ")} -z 16M -R; ` +
        `udevadm settle; mdadm --wait /dev/md/vol0 || true`,
    ),
  );
  const container = ok(await vm.run("basename $(readlink -f /dev/md/imsm0)")).trim();
  const volume = ok(await vm.run("basename $(readlink -f /dev/md/vol0)")).trim();
  vm.start(`${mdts} mdmon --foreground --takeover ${container} 2>/run/mdmon.log`);
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    const r = await vm.run(`tr '\\0' ' ' < /proc/$(cat /run/mdadm/${container}.pid)/cmdline`);
    if (r.code === 0 && /mod\.ts/.test(r.stdout)) break;
  }
  // 32 MiB pattern; the writer rewrites the first 4 MiB with a second pattern, over and over
  ok(
    await vm.run(
      `head -c 32M /dev/urandom > /run/pat && head -c 4M /dev/urandom > /run/w && ` +
        `dd if=/run/pat of=/dev/${volume} bs=1M oflag=direct status=none && ` +
        `{ cat /run/w; tail -c +$((4*1048576+1)) /run/pat; } | md5sum > /run/want`,
    ),
  );
  // md held to a steady 300 KiB/s per member (about a minute for 16 MiB) so the grow is
  // still running when it is sampled and interrupted below
  ok(
    await vm.run(
      "echo 300 > /proc/sys/dev/raid/speed_limit_min; " +
        "echo 300 > /proc/sys/dev/raid/speed_limit_max",
    ),
  );
  const writer = vm.start(
    `while [ ! -e /run/stop-writer ]; do ` +
      `if [ -e /run/pause-writer ]; then touch /run/writer-paused; sleep 0.2; continue; fi; ` +
      `rm -f /run/writer-paused; ` +
      `dd if=/run/w of=/dev/${volume} bs=256K oflag=direct status=none || exit 1; done; echo writer-ok`,
  );

  const grow = await vm.run(`${mdts} --grow /dev/md/imsm0 --raid-devices=4`, {
    timeoutMs: 240_000,
  });
  assert.equal(grow.code, 0, grow.stderr);

  // the record on disk: sampled twice while md works, the unit moves on
  const samples: { status: number; unit: number }[] = [];
  for (let i = 0; i < 60 && samples.length < 2; i++) {
    await sleep(1000);
    const r = await record(vm, "/dev/vda");
    const last = samples.at(-1);
    if (r.unit > 0 && (!last || r.unit !== last.unit)) samples.push(r);
  }
  console.log(`migration record samples on /dev/vda: ${JSON.stringify(samples)}`);
  assert.equal(samples.length, 2, "the migration record did not advance twice");
  assert.ok(samples[1].unit > samples[0].unit);

  // a second grow while this one runs: refused, and not one byte of any disk nor one md
  // attribute changed. To have still disks to compare, the grow child is stopped (md halts
  // at its sync_max), the writer paused, and the monitor given time to mark the volume clean.
  const growPid = ok(await vm.run(`cat /run/mdadm/${container}.grow.pid`)).trim();
  ok(await vm.run(`kill -STOP ${growPid} && touch /run/pause-writer`));
  for (let i = 0; i < 60; i++) {
    if ((await vm.run("test -e /run/writer-paused")).code === 0) break;
    await sleep(1000);
  }
  ok(await vm.run("test -e /run/writer-paused"));
  await sleep(8000);
  const disksAndMd = async () =>
    ok(
      await vm.run(
        `sync; for d in ${dev.join(" ")}; do dd if=$d bs=1M iflag=direct status=none | md5sum; ` +
          `done; for f in /sys/block/md*/md/{metadata_version,sync_action,sync_completed,` +
          `raid_disks,level,array_state,suspend_lo,suspend_hi,sync_max}; do ` +
          `[ -e $f ] && echo "$f $(cat $f)"; done`,
      ),
    );
  const still = await disksAndMd();
  await sleep(3000);
  const before = await disksAndMd();
  assert.equal(before, still, "the disks changed with the grow stopped and the writer paused");
  const second = await vm.run(`${mdts} --grow /dev/md/imsm0 --raid-devices=4`, {
    timeoutMs: 120_000,
  });
  assert.equal(second.code, 1, second.stdout + second.stderr);
  assert.match(second.stderr, /busy|frozen|migrating/);
  assert.equal(await disksAndMd(), before, "the refused second grow changed a disk or md");
  console.log(`second grow refused: ${second.stderr.trim().split("\n")[0]}`);
  ok(await vm.run(`kill -CONT ${growPid}; rm -f /run/pause-writer`));

  ok(await vm.run("echo 200000 > /proc/sys/dev/raid/speed_limit_max"));
  let done = false;
  for (let i = 0; i < 300 && !done; i++) {
    await sleep(2000);
    done = (await vm.run(`test -e /run/mdadm/${container}.grow.pid || echo gone`)).stdout
      .includes("gone");
  }
  const log = ok(await vm.run(`cat /run/mdadm/${container}.grow.log; tail -20 /run/mdmon.log`));
  console.log(`grow and monitor logs:\n${log}`);
  assert.ok(done, `grow did not end\n${log}`);
  ok(await vm.run("touch /run/stop-writer"));
  const w = await writer.wait();
  assert.match(w.stdout, /writer-ok/, w.stderr);

  const got = ok(
    await vm.run(`dd if=/dev/${volume} bs=1M count=32 iflag=direct status=none | md5sum`),
  );
  const want = ok(await vm.run("cat /run/want"));
  assert.equal(got.split(" ")[0], want.split(" ")[0], `data differs after the grow\n${log}`);
  const exam = ok(await vm.run("mdadm -E /dev/vdd"));
  assert.match(exam, /^ +Members : 4$/m, `${exam}\n${log}`);
  assert.match(exam, /^ +Migrate State : idle$/m, `${exam}\n${log}`);
  assert.doesNotMatch(log, /update refused/, log);
  const detail = ok(await vm.run(`mdadm -D /dev/${volume}`));
  assert.match(detail, /Array Size : 49152 /);
});
