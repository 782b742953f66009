/**
 * Mirrors made from less on a real kernel (issue 8), mdts and the real mdadm 4.2 side by side,
 * one boot:
 *
 * - raid0 (2 disks) -> raid10 (4 disks, 2 spares added): containers and volumes made by mdadm
 *   4.2, our monitor taking over; first refused while the container has no spare (every disk
 *   byte-identical after, md still raid0: mdadm 4.2 itself writes raid10 into the metadata
 *   before it refuses, see core/grow/migrate_plan.ts), then the spares added and
 *   `mdts --grow /dev/md/VOL --level=10`; the monitor rebuilds the two missing mirrors.
 * - raid1 created from one disk + `missing` (mdadm's own test 18imsm-1d-takeover-r1_2d: a
 *   container of one disk made with --force, the volume named by its disk), made by mdts, then
 *   a disk added with mdts --add and rebuilt into the missing slot.
 *
 * Checked each time: md's level, raid_disks, layout, chunk_size, component and array sizes,
 * degraded; the pattern written before read back identical; the real mdadm -E equal to ours on
 * every disk; the volume fields (and the disk-table order) equal to those mdadm 4.2 and its
 * mdmon leave on a twin built the same way.
 */
import assert from "node:assert/strict";
import { mdtsCommand, type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The MPB version and the volume's part of mdadm -E (from "[vol]:" to the blank line), minus
 * identity fields.
 */
function volumeFields(examine: string): string[] {
  const version = examine.match(/^ *Version : .*$/m)?.[0].trim() ?? "no Version line";
  return [version, ...volumePart(examine)];
}

function volumePart(examine: string): string[] {
  const start = examine.indexOf("\n[");
  const end = examine.indexOf("\n\n", start + 1);
  const part = examine.slice(start, end < 0 ? undefined : end).split("\n").filter((l) =>
    / : /.test(l)
  );
  return part.filter((l) => !/UUID|Dirty State|RWH Policy|This Slot|Checkpoint/.test(l))
    .map((l) => l.trim());
}

/** The disk table as positions in the scenario's own disk list ("missing:0" kept as is). */
function tableOrder(examine: string, disks: string[]): string[] {
  const rows = [...examine.matchAll(/Disk(\d\d) Serial : (\S+)/g)]
    .map((m) => [Number(m[1]), m[2]] as const)
    .sort((a, b) => a[0] - b[0]);
  return rows.map(([, serial]) => {
    const i = disks.findIndex((d) => `/dev/${d}` === serial);
    return i < 0 ? serial : `disk${i}`;
  });
}

function brief(fields: string[]): string {
  return fields.filter((f) =>
    /Version|RAID Level|Members|Slots|Map State|Array Size|Per Dev|Stripes/.test(f)
  )
    .join("; ");
}

async function devnm(vm: Vm, link: string): Promise<string> {
  return ok(await vm.run(`basename $(readlink -f ${link})`)).trim();
}

/** md's view: level raid_disks layout chunk_size component_size(KiB) array KiB degraded. */
async function mdShape(vm: Vm, v: string): Promise<string> {
  return ok(
    await vm.run(
      `cd /sys/block/${v}/md && echo $(cat level raid_disks layout chunk_size component_size) ` +
        `$(( $(blockdev --getsz /dev/${v}) / 2 )) $(cat degraded)`,
    ),
  ).trim();
}

/** Until md is idle, not degraded, and the metadata shows no migration. */
async function settle(vm: Vm, v: string, disk: string, label: string): Promise<void> {
  ok(await vm.run(`mdadm --wait /dev/${v} || true`, { timeoutMs: 600_000 }));
  for (let i = 0;; i++) {
    const r = await vm.run(
      `echo "$(cat /sys/block/${v}/md/sync_action) $(cat /sys/block/${v}/md/degraded) ` +
        `$(mdadm -E /dev/${disk} | grep -c 'Migrate State : idle')"`,
    );
    if (r.stdout.trim() === "idle 0 1") return;
    if (i > 120) {
      const d = await vm.run(`cat /proc/mdstat; mdadm -E /dev/${disk}; tail -40 /run/mdmon*.log`);
      throw new Error(`${label}: not settled: [${r.stdout.trim()}]\n${d.stdout}`);
    }
    await sleep(2000);
  }
}

async function takeOver(vm: Vm, mdts: string, container: string): Promise<void> {
  vm.start(`${mdts} mdmon --foreground --takeover ${container} 2>>/run/mdmon-${container}.log`);
  for (let i = 0;; i++) {
    await sleep(1000);
    const r = await vm.run(`tr '\\0' ' ' < /proc/$(cat /run/mdadm/${container}.pid)/cmdline`);
    if (r.code === 0 && /mod\.ts|mdts/.test(r.stdout) && !/^mdmon /.test(r.stdout)) return;
    if (i > 90) throw new Error(`our monitor did not take ${container} over`);
  }
}

async function md5s(vm: Vm, disks: string[]): Promise<string> {
  return ok(await vm.run(disks.map((d) => `md5sum < /dev/${d}`).join("; ")));
}

async function raid0ToRaid10(vm: Vm, mdts: string, ours: string[], twin: string[]) {
  const t0 = Date.now();
  const build = async (name: string, d: string[]) => {
    ok(await vm.run(`mdadm -C /dev/md/${name} -e imsm -n 2 /dev/${d[0]} /dev/${d[1]} -R`));
    ok(
      await vm.run(
        `udevadm settle; mdadm -C /dev/md/${name}v -l 0 -n 2 /dev/${d[0]} /dev/${d[1]} ` +
          `-z 16M -R; udevadm settle`,
      ),
    );
    return [await devnm(vm, `/dev/md/${name}`), await devnm(vm, `/dev/md/${name}v`)];
  };
  const [container, v] = await build("r10", ours);
  await takeOver(vm, mdts, container);
  const want = ok(
    await vm.run(
      `head -c 32M /dev/urandom > /run/pat-r10 && dd if=/run/pat-r10 of=/dev/${v} bs=1M ` +
        `oflag=direct status=none && md5sum < /run/pat-r10`,
    ),
  ).split(" ")[0];
  const before = (await mdShape(vm, v)).split(" ");

  // no spare yet: refused before anything is written
  const disksBefore = await md5s(vm, ours.slice(0, 2));
  const no = await vm.run(`${mdts} --grow /dev/md/r10v --level=10`, { timeoutMs: 240_000 });
  console.log(`r10 without spares: exit ${no.code}: ${no.stderr.trim()}`);
  assert.equal(no.code, 1);
  assert.match(no.stderr, /Need 2 spares to create working array, and only have 0/);
  assert.equal(await md5s(vm, ours.slice(0, 2)), disksBefore, "a refused grow changed a disk");
  assert.equal(ok(await vm.run(`cat /sys/block/${v}/md/level`)).trim(), "raid0");

  ok(await vm.run(`mdadm --add /dev/md/r10 /dev/${ours[2]} /dev/${ours[3]}; udevadm settle`));
  await sleep(3000);
  const r = await vm.run(`${mdts} --grow /dev/md/r10v --level=10`, { timeoutMs: 240_000 });
  console.log(`mdts --grow --level=10: exit ${r.code}: ${r.stderr.trim()}`);
  assert.equal(r.code, 0, r.stderr + ok(await vm.run(`tail -40 /run/mdmon-${container}.log`)));
  assert.match(r.stderr, /level of \/dev\/md\/r10v changed to raid10/);
  await settle(vm, v, ours[0], "r10");
  const after = (await mdShape(vm, v)).split(" ");
  // raid10 near-2 over 4: same chunk, same per-disk size, same array size, nothing missing
  console.log(`r10: md before ${before.join(" ")}`);
  assert.deepEqual(before.slice(0, 2), ["raid0", "2"]);
  assert.deepEqual(after, ["raid10", "4", "258", before[3], "16384", "32768", "0"]);
  const got = ok(
    await vm.run(`dd if=/dev/${v} bs=1M count=32 iflag=direct status=none | md5sum`),
  ).split(" ")[0];
  assert.equal(got, want, "data changed by raid0 -> raid10");
  let mine: string[] = [];
  for (const d of ours) {
    const theirs = ok(await vm.run(`mdadm -E /dev/${d}`));
    const e = ok(await vm.run(`${mdts} -E /dev/${d}`, { timeoutMs: 120_000 }));
    assert.deepEqual(e.split("\n"), theirs.split("\n"), `-E differs on ${d}`);
    assert.match(theirs, /RAID Level : 10\n/);
    assert.match(theirs, /Members : 4\n/);
    assert.match(theirs, /Map State : normal/);
    assert.match(theirs, /Migrate State : idle/);
    mine = volumeFields(theirs);
  }
  const myTable = tableOrder(ok(await vm.run(`mdadm -E /dev/${ours[0]}`)), ours);
  console.log(`r10 (mdts): md ${after.join(" ")}; -E ${brief(mine)}; table ${myTable}`);

  // mdadm 4.2 and its mdmon on the twin
  const [, tv] = await build("r10t", twin);
  ok(await vm.run(`mdadm --add /dev/md/r10t /dev/${twin[2]} /dev/${twin[3]}; udevadm settle`));
  await sleep(3000);
  const m = await vm.run(`mdadm --grow /dev/md/r10tv --level=10`, { timeoutMs: 240_000 });
  console.log(`mdadm 4.2 --grow --level=10: exit ${m.code}: ${m.stderr.trim()}`);
  assert.equal(m.code, 0);
  await settle(vm, tv, twin[0], "r10t");
  const theirs = ok(await vm.run(`mdadm -E /dev/${twin[0]}`));
  const theirTable = tableOrder(theirs, twin);
  console.log(`r10t (mdadm): md ${await mdShape(vm, tv)}; table ${theirTable}`);
  assert.deepEqual(mine, volumeFields(theirs), "volume fields differ from mdadm's raid0 -> raid10");
  assert.deepEqual(myTable, theirTable, "disk table order differs from mdmon's");
  console.log(`raid0 -> raid10 done in ${(Date.now() - t0) / 1000} s`);
}

async function raid1FromOne(vm: Vm, mdts: string, ours: string[], twin: string[]) {
  const t0 = Date.now();
  const make = async (tool: string, name: string, d: string[]) => {
    ok(await vm.run(`${tool} -C /dev/md/${name} -e imsm -n 1 --force /dev/${d[0]} -R`));
    const r = ok(
      await vm.run(
        `udevadm settle; ${tool} -C /dev/md/${name}v -l 1 -n 2 /dev/${d[0]} missing -z 16M ` +
          `-R 2>&1; udevadm settle`,
        { timeoutMs: 240_000 },
      ),
    );
    console.log(`${name}: ${r.trim().replaceAll("\n", " | ")}`);
    return [await devnm(vm, `/dev/md/${name}`), await devnm(vm, `/dev/md/${name}v`)];
  };
  const [, v] = await make(mdts, "m1", ours);
  const [, tv] = await make("mdadm", "m1t", twin);
  // both monitors have had their look (mdmon records the degraded state)
  await sleep(8000);
  const shape = await mdShape(vm, v);
  assert.equal(shape, "raid1 2 0 65536 16384 16384 1", "md of raid1 + missing");
  assert.equal(await mdShape(vm, tv), shape, "md differs from mdadm's raid1 + missing");
  const want = ok(
    await vm.run(
      `head -c 16M /dev/urandom > /run/pat-m1 && dd if=/run/pat-m1 of=/dev/${v} bs=1M ` +
        `oflag=direct status=none && md5sum < /run/pat-m1`,
    ),
  ).split(" ")[0];
  const readBack = async () =>
    ok(await vm.run(`dd if=/dev/${v} bs=1M count=16 iflag=direct status=none | md5sum`))
      .split(" ")[0];
  assert.equal(await readBack(), want, "data read back differs (degraded raid1)");
  // the same writes on the twin: both monitors go through dirty and back to clean
  ok(await vm.run(`dd if=/run/pat-m1 of=/dev/${tv} bs=1M oflag=direct status=none`));
  await sleep(6000);
  const compare = async (stage: string, mine: string[], theirs: string[]) => {
    let fields: string[] = [];
    for (const d of mine) {
      const e = ok(await vm.run(`mdadm -E /dev/${d}`));
      const o = ok(await vm.run(`${mdts} -E /dev/${d}`, { timeoutMs: 120_000 }));
      assert.deepEqual(o.split("\n"), e.split("\n"), `${stage}: -E differs on ${d}`);
      fields = volumeFields(e);
    }
    const t = ok(await vm.run(`mdadm -E /dev/${theirs[0]}`));
    const mineTable = tableOrder(ok(await vm.run(`mdadm -E /dev/${mine[0]}`)), ours);
    console.log(`${stage}: ours -E ${brief(fields)}; table ${mineTable}`);
    assert.deepEqual(fields, volumeFields(t), `${stage}: volume fields differ from mdadm's`);
    assert.deepEqual(mineTable, tableOrder(t, twin), `${stage}: disk table differs from mdadm's`);
    return fields;
  };
  const degraded = await compare("raid1 + missing", [ours[0]], [twin[0]]);
  assert.ok(degraded.includes("Map State : degraded"), degraded.join("\n"));
  assert.ok(degraded.includes("Slots : [U_]"), degraded.join("\n"));

  // a disk added to the container is rebuilt into the missing slot
  const add = await vm.run(`${mdts} --add /dev/md/m1 /dev/${ours[1]}`, { timeoutMs: 120_000 });
  assert.equal(add.code, 0, add.stderr);
  ok(await vm.run(`mdadm --add /dev/md/m1t /dev/${twin[1]}`));
  await settle(vm, v, ours[0], "m1");
  await settle(vm, tv, twin[0], "m1t");
  assert.equal(await mdShape(vm, v), "raid1 2 0 65536 16384 16384 0", "md after the rebuild");
  assert.equal(await readBack(), want, "data read back differs after the rebuild");
  const rebuilt = await compare("after the rebuild", ours, twin);
  assert.ok(rebuilt.includes("Map State : normal"), rebuilt.join("\n"));
  // the added disk holds the mirror: its copy alone reads as the pattern
  const copy = ok(
    await vm.run(
      `dd if=/dev/${ours[1]} bs=1M count=16 iflag=direct status=none | md5sum`,
    ),
  ).split(" ")[0];
  assert.equal(copy, want, "the rebuilt disk does not hold the data");
  console.log(`raid1 from one disk + missing done in ${(Date.now() - t0) / 1000} s`);
}

Deno.test("vm: raid0 (2) -> raid10 (4) with two spares, and raid1 from one disk + missing then rebuilt; data intact, mdadm 4.2 agrees", async () => {
  await using vm = new Vm({
    disks: "abcdefghijkl".split("").map((name) => ({ name, sizeMiB: 64 })),
    label: "migrate-mirror",
  });
  await vm.boot();
  const mdts = mdtsCommand(vm.repo);
  ok(await vm.run(`${mdts} --version`, { timeoutMs: 240_000 }));
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
    "raid0 2 -> raid10 4",
    () => raid0ToRaid10(vm, mdts, ["vda", "vdb", "vdc", "vdd"], ["vde", "vdf", "vdg", "vdh"]),
  );
  await each(
    "raid1 from one disk + missing",
    () => raid1FromOne(vm, mdts, ["vdi", "vdj"], ["vdk", "vdl"]),
  );
  assert.deepEqual(failures, [], failures.join("\n\n"));
});
