/**
 * Level changes by mdts on a real kernel (issue 8): raid10 (4 disks) -> raid0 (2 disks) and
 * raid1 (2 disks) -> raid0 (1 disk) (takeovers), raid0 (3 disks) -> raid5 (4 disks, the
 * container's spare becoming the parity disk: a checkpointed same-size reshape). Containers and volumes created by mdadm 4.2, our monitor
 * taking over from mdmon, a random pattern written and md5'd, then
 * `mdts --grow /dev/md/VOL --level=0`; after it: the same md5, md's level and raid_disks, our
 * -E equal to mdadm's, the dropped disks free spares. The real mdadm 4.2 (with its mdmon)
 * does the same takeover on a twin container: the volume fields of its -E must equal ours.
 */
import assert from "node:assert/strict";
import { type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The volume's part of mdadm -E (from "[vol]:" to the blank line), minus identity fields. */
function volumeFields(examine: string): string[] {
  const start = examine.indexOf("\n[");
  const end = examine.indexOf("\n\n", start + 1);
  const part = examine.slice(start, end < 0 ? undefined : end).split("\n").filter((l) =>
    / : /.test(l)
  );
  return part.filter((l) => !/UUID|Dirty State|RWH Policy|This Slot/.test(l)).map((l) => l.trim());
}

interface Scenario {
  name: string;
  level: 1 | 10;
  disks: string[];
  twin: string[];
}

async function diagnostics(vm: Vm, container: string): Promise<string> {
  const r = await vm.run(
    `echo '--- mdmon log'; tail -60 /run/mdmon-${container}.log; cat /proc/mdstat; ` +
      `dmesg | tail -30`,
  );
  return r.stdout + r.stderr;
}

async function build(vm: Vm, name: string, level: number, dev: string[]): Promise<string[]> {
  ok(await vm.run(`mdadm -C /dev/md/${name} -e imsm -n ${dev.length} ${dev.join(" ")} -R`));
  ok(
    await vm.run(
      `udevadm settle; mdadm -C /dev/md/${name}v -l ${level} -n ${dev.length} ` +
        `${dev.join(" ")} -z 16M --assume-clean -R; udevadm settle; sleep 2`,
    ),
  );
  return [
    ok(await vm.run(`basename $(readlink -f /dev/md/${name})`)).trim(),
    ok(await vm.run(`basename $(readlink -f /dev/md/${name}v)`)).trim(),
  ];
}

async function scenario(vm: Vm, mdts: string, s: Scenario): Promise<void> {
  const t0 = Date.now();
  const dev = s.disks.map((d) => `/dev/${d}`);
  const [container, volume] = await build(vm, s.name, s.level, dev);
  vm.start(`${mdts} mdmon --foreground --takeover ${container} 2>/run/mdmon-${container}.log`);
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    const r = await vm.run(`tr '\\0' ' ' < /proc/$(cat /run/mdadm/${container}.pid)/cmdline`);
    if (r.code === 0 && /mod\.ts|mdts/.test(r.stdout) && !/^mdmon /.test(r.stdout)) break;
  }
  const dataKiB = 16384 * (s.level === 10 ? dev.length / 2 : 1);
  const want = ok(
    await vm.run(
      `head -c ${dataKiB}K /dev/urandom > /run/pat-${s.name} && ` +
        `dd if=/run/pat-${s.name} of=/dev/${volume} bs=1M oflag=direct status=none && ` +
        `md5sum < /run/pat-${s.name}`,
    ),
  ).split(" ")[0];

  const r = await vm.run(`${mdts} --grow /dev/md/${s.name}v --level=0`, { timeoutMs: 240_000 });
  assert.equal(r.code, 0, `takeover failed: ${r.stderr}\n${await diagnostics(vm, container)}`);
  await sleep(2000);
  const md = ok(
    await vm.run(`cat /sys/block/${volume}/md/level /sys/block/${volume}/md/raid_disks`),
  ).trim().split("\n");
  const members = s.level === 10 ? dev.length / 2 : 1;
  assert.deepEqual(md, ["raid0", String(members)], await diagnostics(vm, container));
  const got = ok(
    await vm.run(
      `dd if=/dev/${volume} bs=1M count=${dataKiB / 1024} iflag=direct status=none | md5sum`,
    ),
  ).split(" ")[0];
  assert.equal(got, want, `data changed by the takeover\n${await diagnostics(vm, container)}`);
  // mdadm reads what we wrote as we do; kept disks say raid0, dropped ones are spares
  const kept = dev.filter((_, i) => i % 2 === 0);
  const dropped = dev.filter((_, i) => i % 2 === 1);
  let oursVolume: string[] = [];
  for (const d of dev) {
    const theirs = ok(await vm.run(`mdadm -E ${d}`));
    const ours = ok(await vm.run(`${mdts} -E ${d}`, { timeoutMs: 120_000 }));
    assert.deepEqual(ours.split("\n"), theirs.split("\n"), `-E differs on ${d}`);
    if (kept.includes(d)) {
      assert.match(theirs, /RAID Level : 0\n/);
      assert.match(theirs, new RegExp(`Members : ${members}\\n`));
      assert.match(theirs, /Map State : normal/);
      oursVolume = volumeFields(theirs);
    } else {
      assert.match(theirs, /State : spare/, `${d} is not a spare:\n${theirs}`);
    }
  }
  console.log(`${s.name}: ours -E ${d0(oursVolume)}; dropped ${dropped.join(",")} spares`);

  // the real mdadm does the same takeover on a twin container with its own mdmon
  const tdev = s.twin.map((d) => `/dev/${d}`);
  const [tc, tv] = await build(vm, `${s.name}t`, s.level, tdev);
  const m = await vm.run(`mdadm --grow /dev/md/${s.name}tv --level=0`, { timeoutMs: 240_000 });
  console.log(`mdadm 4.2 --grow --level=0 (${m.code}): ${m.stderr.trim().split("\n").join(" | ")}`);
  await sleep(3000);
  const tmd = ok(await vm.run(`cat /sys/block/${tv}/md/level /sys/block/${tv}/md/raid_disks`))
    .trim().split("\n");
  assert.deepEqual(tmd, ["raid0", String(members)], `mdadm's own takeover of ${tc}`);
  // mdadm keeps the first in-sync disk of each mirror pair in its sysfs listing order (kernfs
  // order, not slot order): which twin disk stays is its choice, so compare a kept one
  let theirsVolume: string[] = [];
  let twinSpares = 0;
  for (const d of tdev) {
    const e = ok(await vm.run(`mdadm -E ${d}`));
    if (/\n\[/.test(e)) theirsVolume = volumeFields(e);
    else if (/State : spare/.test(e)) twinSpares++;
  }
  assert.equal(twinSpares, dropped.length, `mdadm's twin has ${twinSpares} spares`);
  assert.deepEqual(oursVolume, theirsVolume, "volume fields differ from mdadm's own takeover");
  console.log(
    `${s.name}: raid${s.level} ${dev.length} -> raid0 ${members} ok in ${
      (Date.now() - t0) / 1000
    } s`,
  );
}

async function toRaid5(vm: Vm, mdts: string, disks: string[], twin: string[]): Promise<void> {
  const t0 = Date.now();
  const dev = disks.map((d) => `/dev/${d}`);
  const name = "r05";
  ok(await vm.run(`mdadm -C /dev/md/${name} -e imsm -n 3 ${dev.slice(0, 3).join(" ")} -R`));
  ok(
    await vm.run(
      `udevadm settle; mdadm -C /dev/md/${name}v -l 0 -n 3 ${dev.slice(0, 3).join(" ")} ` +
        `-z 16M -R; udevadm settle; mdadm --add /dev/md/${name} ${dev[3]}; udevadm settle; sleep 2`,
    ),
  );
  const container = ok(await vm.run(`basename $(readlink -f /dev/md/${name})`)).trim();
  const volume = ok(await vm.run(`basename $(readlink -f /dev/md/${name}v)`)).trim();
  vm.start(`${mdts} mdmon --foreground --takeover ${container} 2>/run/mdmon-${container}.log`);
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    const r = await vm.run(`tr '\\0' ' ' < /proc/$(cat /run/mdadm/${container}.pid)/cmdline`);
    if (r.code === 0 && /mod\.ts|mdts/.test(r.stdout) && !/^mdmon /.test(r.stdout)) break;
  }
  const dataKiB = 16384 * 3;
  const want = ok(
    await vm.run(
      `head -c ${dataKiB}K /dev/urandom > /run/pat-${name} && ` +
        `dd if=/run/pat-${name} of=/dev/${volume} bs=1M oflag=direct status=none && ` +
        `md5sum < /run/pat-${name}`,
    ),
  ).split(" ")[0];
  const chunk = ok(await vm.run(`cat /sys/block/${volume}/md/chunk_size`)).trim();
  // mdadm 4.2's form (it refuses --level=5 without the layout; mdts takes either)
  const grow = await vm.run(`${mdts} --grow /dev/md/${name}v --level=5 --layout=left-asymmetric`, {
    timeoutMs: 240_000,
  });
  assert.equal(
    grow.code,
    0,
    `migration refused: ${grow.stderr}\n${await diagnostics(vm, container)}`,
  );
  let done = false;
  for (let k = 0; k < 300 && !done; k++) {
    await sleep(2000);
    const r = await vm.run(`test -e /run/mdadm/${container}.grow.pid || echo gone`);
    done = r.stdout.includes("gone");
  }
  const log = ok(await vm.run(`cat /run/mdadm/${container}.grow.log`));
  assert.ok(done, `migration still running after 10 min\n${await diagnostics(vm, container)}`);
  assert.doesNotMatch(log, /error|failed|refused/i, log + (await diagnostics(vm, container)));
  // md rebuilds the parity disk once the layout is left-asymmetric
  ok(await vm.run(`mdadm --wait /dev/${volume}; sleep 3`, { timeoutMs: 600_000 }));
  const md = ok(
    await vm.run(
      `cd /sys/block/${volume}/md && cat level raid_disks layout chunk_size degraded`,
    ),
  ).trim().split("\n");
  assert.deepEqual(md, ["raid5", "4", "0", chunk, "0"], await diagnostics(vm, container));
  const got = ok(
    await vm.run(
      `dd if=/dev/${volume} bs=1M count=${dataKiB / 1024} iflag=direct status=none | md5sum`,
    ),
  ).split(" ")[0];
  assert.equal(got, want, `data changed by the migration\n${await diagnostics(vm, container)}`);
  let ours: string[] = [];
  for (const d of dev) {
    const theirs = ok(await vm.run(`mdadm -E ${d}`));
    const mine = ok(await vm.run(`${mdts} -E ${d}`, { timeoutMs: 120_000 }));
    assert.deepEqual(mine.split("\n"), theirs.split("\n"), `-E differs on ${d}`);
    assert.match(theirs, /RAID Level : 5\n/);
    assert.match(theirs, /Members : 4\n/);
    assert.match(theirs, /Map State : normal/);
    assert.match(theirs, /Migrate State : idle/);
    ours = volumeFields(theirs);
  }
  console.log(`${name}: ours -E ${d0(ours)}; md ${md.join(" ")}; ${(Date.now() - t0) / 1000} s`);

  // the real mdadm 4.2 on a twin (its mdmon, its grow child)
  const tdev = twin.map((d) => `/dev/${d}`);
  ok(await vm.run(`mdadm -C /dev/md/${name}t -e imsm -n 3 ${tdev.slice(0, 3).join(" ")} -R`));
  ok(
    await vm.run(
      `udevadm settle; mdadm -C /dev/md/${name}tv -l 0 -n 3 ${tdev.slice(0, 3).join(" ")} ` +
        `-z 16M -R; udevadm settle; mdadm --add /dev/md/${name}t ${
          tdev[3]
        }; udevadm settle; sleep 2`,
    ),
  );
  const m = await vm.run(`mdadm --grow /dev/md/${name}tv --level=5 --layout=left-asymmetric`, {
    timeoutMs: 240_000,
  });
  console.log(`mdadm 4.2 --grow --level=5 (${m.code}): ${m.stderr.trim().split("\n").join(" | ")}`);
  assert.equal(m.code, 0, `mdadm 4.2 refused its own raid0 -> raid5: ${m.stderr}`);
  for (let k = 0; k < 150; k++) {
    await sleep(2000);
    const e = ok(await vm.run(`mdadm -E ${tdev[0]}`));
    if (
      /Migrate State : idle/.test(e) && !/resync|recovery|reshape/.test(
        ok(await vm.run("cat /proc/mdstat")),
      )
    ) break;
  }
  const theirs = volumeFields(ok(await vm.run(`mdadm -E ${tdev[0]}`)));
  console.log(`${name}t (mdadm): -E ${d0(theirs)}`);
  assert.deepEqual(ours, theirs, "volume fields differ from mdadm's own raid0 -> raid5");
}

/**
 * A single-disk raid0 (mdadm's 18imsm-1d-takeover-r0_1d): container and volume of one disk
 * made by mdts (--force, as mdadm asks), data written and read back, the real mdadm's -E equal
 * to ours and its volume fields equal to those of the same volume made by mdadm 4.2.
 */
async function singleDisk(vm: Vm, mdts: string, disk: string, twin: string): Promise<void> {
  const name = "s1";
  ok(await vm.run(`${mdts} -C /dev/md/${name} -e imsm -n 1 --force /dev/${disk} -R`));
  ok(
    await vm.run(
      `udevadm settle; ${mdts} -C /dev/md/${name}v -l 0 -n 1 --force -c 64 /dev/md/${name} ` +
        `-z 16M -R; udevadm settle`,
    ),
  );
  const volume = ok(await vm.run(`basename $(readlink -f /dev/md/${name}v)`)).trim();
  const md = ok(await vm.run(`cd /sys/block/${volume}/md && cat level raid_disks chunk_size`))
    .trim().split("\n");
  assert.deepEqual(md, ["raid0", "1", "65536"]);
  const want = ok(
    await vm.run(
      `head -c 16M /dev/urandom > /run/pat-${name} && dd if=/run/pat-${name} ` +
        `of=/dev/${volume} bs=1M oflag=direct status=none && md5sum < /run/pat-${name}`,
    ),
  ).split(" ")[0];
  const got = ok(
    await vm.run(`dd if=/dev/${volume} bs=1M count=16 iflag=direct status=none | md5sum`),
  ).split(" ")[0];
  assert.equal(got, want, "data read back differs");
  const theirs = ok(await vm.run(`mdadm -E /dev/${disk}`));
  const ours = ok(await vm.run(`${mdts} -E /dev/${disk}`, { timeoutMs: 120_000 }));
  assert.deepEqual(ours.split("\n"), theirs.split("\n"), `-E differs on /dev/${disk}`);
  ok(await vm.run(`mdadm -C /dev/md/${name}t -e imsm -n 1 --force /dev/${twin} -R`));
  ok(
    await vm.run(
      `udevadm settle; mdadm -C /dev/md/${name}tv -l 0 -n 1 --force -c 64 /dev/md/${name}t ` +
        `-z 16M -R; udevadm settle`,
    ),
  );
  const mine = volumeFields(theirs);
  const made = volumeFields(ok(await vm.run(`mdadm -E /dev/${twin}`)));
  console.log(`${name}: ours -E ${d0(mine)}`);
  assert.deepEqual(mine, made, "volume fields differ from mdadm's own single-disk raid0");
}

function d0(fields: string[]): string {
  return fields.filter((f) => /RAID Level|Members|Map State|Array Size|Per Dev/.test(f)).join(
    "; ",
  );
}

Deno.test("vm: mdts changes levels: raid10 (4) and raid1 (2) to raid0 (2, 1), raid0 (3) to raid5 (4) with a spare; a single-disk raid0; data intact, mdadm agrees", async () => {
  await using vm = new Vm({
    disks: "abcdefghijklmnopqrstuv".split("").map((name) => ({ name, sizeMiB: 64 })),
    label: "migrate-level",
  });
  await vm.boot();
  const mdts = `deno run -A ${vm.repo}/mod.ts`;
  ok(await vm.run(`${mdts} --version`, { timeoutMs: 240_000 }));
  // every scenario runs on its own disks: one failing does not hide what the others show
  const failures: string[] = [];
  const each = async (label: string, f: () => Promise<void>) => {
    const t0 = Date.now();
    try {
      await f();
      console.log(`${label}: passed in ${(Date.now() - t0) / 1000} s`);
    } catch (e) {
      console.log(`${label}: FAILED in ${(Date.now() - t0) / 1000} s`);
      failures.push(`${label}: ${(e as Error).stack ?? e}`);
    }
  };
  await each(
    "raid0 3 -> raid5 4",
    () => toRaid5(vm, mdts, ["vdm", "vdn", "vdo", "vdp"], ["vdq", "vdr", "vds", "vdt"]),
  );
  await each("raid10 4 -> raid0 2", () =>
    scenario(vm, mdts, {
      name: "t10",
      level: 10,
      disks: ["vda", "vdb", "vdc", "vdd"],
      twin: ["vde", "vdf", "vdg", "vdh"],
    }));
  await each(
    "raid1 2 -> raid0 1",
    () => scenario(vm, mdts, { name: "t1", level: 1, disks: ["vdi", "vdj"], twin: ["vdk", "vdl"] }),
  );
  await each("single-disk raid0", () => singleDisk(vm, mdts, "vdu", "vdv"));
  assert.deepEqual(failures, [], failures.join("\n\n"));
});
