/**
 * One container OCE scenario on a real kernel, shared by the grow_oce* VM files: a container
 * and its volumes created by the real mdadm 4.2 (two volumes sized with -z so both fit), our
 * monitor taking over from mdmon, a random pattern written to every volume and md5'd, then
 * `mdts --grow CONTAINER --raid-devices=N` (background child, as mdadm), and after it: the
 * same md5s, and mdadm's -E/-D agreeing with ours on level, members, sizes and map state, with
 * the sizes mdadm's rules give (per-member size kept, the array grown by whole members).
 */
import assert from "node:assert/strict";
import { type RunResult, Vm } from "./harness/vm.ts";

export function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every value of `name : value` lines in mdadm's -E/-D text, in order. */
export function field(text: string, name: string): string[] {
  const re = new RegExp(`^ *${name} : (.*)$`, "gm");
  return [...text.matchAll(re)].map((m) => m[1].trim());
}

export interface OceScenario {
  /** Container name under /dev/md/; volumes are NAMEv0, NAMEv1. */
  name: string;
  /** Disks of the container: the first `members` carry the volumes, the rest are spares. */
  disks: number;
  members: number;
  grow: number;
  /** Level of each volume, in creation (metadata) order. */
  levels: (0 | 5)[];
  /**
   * MiB offsets of volume 0 read (128 KiB, O_DIRECT) over and over during the grow: where md
   * pauses inside an old stripe row, such reads wait for it to move on.
   */
  readAtMiB?: number[];
}

/** Per-member size of every volume (mdadm -z), KiB. */
const PER_MEMBER_KIB = 16384;

function dataDisks(level: 0 | 5, members: number): number {
  return level === 5 ? members - 1 : members;
}

function scenarioLabel(s: OceScenario): string {
  return `${s.levels.map((l) => `raid${l}`).join(" + ")} ${s.members}->${s.grow}`;
}

/** Creates the container and its volumes with mdadm 4.2 (resyncs run on in the background). */
export async function createWithMdadm(vm: Vm, s: OceScenario, dev: string[]): Promise<void> {
  ok(await vm.run(`mdadm -C /dev/md/${s.name} -e imsm -n ${dev.length} ${dev.join(" ")} -R`));
  for (const [i, level] of s.levels.entries()) {
    ok(
      await vm.run(
        `udevadm settle; mdadm -C /dev/md/${s.name}v${i} -l ${level} -n ${s.members} ` +
          `${dev.slice(0, s.members).join(" ")} -z ${PER_MEMBER_KIB}K -R; udevadm settle`,
      ),
    );
  }
}

async function devnm(vm: Vm, link: string): Promise<string> {
  return ok(await vm.run(`basename $(readlink -f /dev/md/${link})`)).trim();
}

async function diagnostics(vm: Vm, container: string): Promise<string> {
  const r = await vm.run(
    `echo '--- grow log'; cat /run/mdadm/${container}.grow.log; echo '--- mdmon log'; ` +
      `tail -50 /run/mdmon-${container}.log; cat /proc/mdstat; ls -l /run/mdadm`,
  );
  return r.stdout + r.stderr;
}

/** Our monitor replaces mdmon 4.2 on the container; waits until its pid file names it. */
export async function takeOverMonitor(vm: Vm, mdts: string, container: string): Promise<void> {
  vm.start(`${mdts} mdmon --foreground --takeover ${container} 2>/run/mdmon-${container}.log`);
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    const r = await vm.run(`tr '\\0' ' ' < /proc/$(cat /run/mdadm/${container}.pid)/cmdline`);
    // ours runs as "mdmon" (argv0) too, so it is told apart by its script or binary
    if (r.code === 0 && /mod\.ts|\/mdts /.test(r.stdout)) return;
  }
  const why = await vm.run(
    `cat /run/mdadm/${container}.pid; ps -eo pid,args | grep -E 'mdmon|mod.ts' | grep -v grep; ` +
      `cat /run/mdmon-${container}.log`,
  );
  throw new Error(`our monitor did not take ${container} over within 60 s\n${why.stdout}`);
}

/** Runs the grow of a container made by createWithMdadm and checks everything after it. */
export async function growAndVerify(
  vm: Vm,
  mdts: string,
  s: OceScenario,
  dev: string[],
): Promise<void> {
  const t0 = Date.now();
  const name = s.name;
  const container = await devnm(vm, name);
  const volumes: string[] = [];
  for (let i = 0; i < s.levels.length; i++) volumes.push(await devnm(vm, `${name}v${i}`));
  ok(
    await vm.run(`for v in ${volumes.join(" ")}; do mdadm --wait /dev/$v || true; done`, {
      timeoutMs: 300_000,
    }),
  );
  await takeOverMonitor(vm, mdts, container);

  const dataKiB = s.levels.map((l) => PER_MEMBER_KIB * dataDisks(l, s.members));
  const want: string[] = [];
  for (const [i, v] of volumes.entries()) {
    want.push(
      ok(
        await vm.run(
          `head -c ${dataKiB[i]}K /dev/urandom > /run/pat-${v} && ` +
            `dd if=/run/pat-${v} of=/dev/${v} bs=1M oflag=direct status=none && ` +
            `md5sum < /run/pat-${v}`,
        ),
      ).split(" ")[0],
    );
  }

  const perDevBefore = field(ok(await vm.run(`mdadm -E ${dev[0]}`)), "Per Dev Size");
  assert.equal(perDevBefore.length, s.levels.length);
  const stopReader = `/run/stop-reader-${name}`;
  if (s.readAtMiB) {
    const reads = s.readAtMiB.map((m) =>
      `dd if=/dev/${volumes[0]} of=/dev/null bs=64K count=2 skip=${m * 16} iflag=direct ` +
      `status=none`
    ).join("; ");
    vm.start(
      `rm -f ${stopReader}; n=0; while [ ! -e ${stopReader} ]; do ${reads}; ` +
        `n=$((n+1)); echo $n > /run/reads-${name}; done`,
    );
  }
  const grow = await vm.run(
    `${mdts} --grow /dev/md/${name} --raid-devices=${s.grow} --backup-file=/run/unused`,
    { timeoutMs: 240_000 },
  );
  assert.equal(grow.code, 0, `grow refused: ${grow.stderr}\n${await diagnostics(vm, container)}`);
  assert.match(grow.stderr, /multi-array reshape continues in background/);
  let done = false;
  for (let i = 0; i < 300 && !done; i++) {
    await sleep(2000);
    const r = await vm.run(`test -e /run/mdadm/${container}.grow.pid || echo gone`);
    done = r.stdout.includes("gone");
  }
  const log = ok(await vm.run(`cat /run/mdadm/${container}.grow.log`));
  assert.ok(done, `grow still running after 10 min\n${await diagnostics(vm, container)}`);
  if (s.readAtMiB) {
    const rounds = ok(await vm.run(`touch ${stopReader}; sleep 1; cat /run/reads-${name}`));
    console.log(`${name}: ${rounds.trim()} rounds of reads at ${s.readAtMiB} MiB during the grow`);
  }
  assert.doesNotMatch(log, /error|failed|refused/i, await diagnostics(vm, container));
  for (const line of log.trim().split("\n").filter((l) => /100\.0%/.test(l))) {
    console.log(`${name}: grow log: ${line.trim()}`);
  }

  // data: each pattern is still there, byte for byte
  for (const [i, v] of volumes.entries()) {
    const got = ok(
      await vm.run(
        `dd if=/dev/${v} bs=1M count=${dataKiB[i] / 1024} iflag=direct status=none | md5sum`,
      ),
    ).split(" ")[0];
    assert.equal(got, want[i], `data of /dev/${v} changed\n${await diagnostics(vm, container)}`);
  }

  // the monitor marks the volumes clean once they are idle (safe mode)
  let theirs = "";
  for (let i = 0; i < 20; i++) {
    theirs = ok(await vm.run(`mdadm -E ${dev.join(" ")}`));
    if (field(theirs, "Dirty State").every((x) => x === "clean")) break;
    await sleep(1000);
  }
  // metadata: the real mdadm and mdts agree, and say what the grow should have made
  const ours = ok(await vm.run(`${mdts} -E ${dev.join(" ")}`, { timeoutMs: 120_000 }));
  assert.deepEqual(ours.split("\n"), theirs.split("\n"), "-E differs");
  const perDisk = (xs: string[]) => dev.flatMap(() => xs);
  assert.deepEqual(field(theirs, "Members"), perDisk(s.levels.map(() => String(s.grow))));
  assert.deepEqual(field(theirs, "RAID Level"), perDisk(s.levels.map(String)));
  assert.deepEqual(field(theirs, "Migrate State"), perDisk(s.levels.map(() => "idle")));
  assert.deepEqual(field(theirs, "Map State"), perDisk(s.levels.map(() => "normal")));
  assert.deepEqual(
    field(theirs, "Dirty State"),
    perDisk(s.levels.map(() => "clean")),
    await diagnostics(vm, container),
  );
  // mdadm's rule: the per-member size stays (what -z gave plus IMSM's reserve), the arrays
  // grow by whole members (-D below)
  assert.deepEqual(field(theirs, "Per Dev Size"), perDisk(perDevBefore));
  const devs = volumes.map((v) => `/dev/${v}`).join(" ");
  const dTheirs = ok(await vm.run(`mdadm -D ${devs}`));
  const dOurs = ok(await vm.run(`${mdts} -D ${devs}`, { timeoutMs: 120_000 }));
  for (const f of ["Raid Level", "Raid Devices", "Array Size", "Used Dev Size", "State"]) {
    assert.deepEqual(field(dOurs, f), field(dTheirs, f), `-D ${f}`);
  }
  assert.deepEqual(field(dTheirs, "Raid Level"), s.levels.map((l) => `raid${l}`));
  assert.deepEqual(field(dTheirs, "Raid Devices"), s.levels.map(() => String(s.grow)));
  assert.deepEqual(
    field(dTheirs, "Array Size").map((x) => x.split(" ")[0]),
    s.levels.map((l) => String(PER_MEMBER_KIB * dataDisks(l, s.grow))),
  );
  // mdadm -D prints the per-member size for redundant levels only
  assert.deepEqual(
    field(dTheirs, "Used Dev Size").map((x) => x.split(" ")[0]),
    s.levels.filter((l) => l !== 0).map(() => String(PER_MEMBER_KIB)),
  );
  console.log(`${name}: ${scenarioLabel(s)} ok in ${(Date.now() - t0) / 1000} s`);
}

/** One boot: every container created first (their resyncs overlap), then grown one by one. */
export async function runScenarios(label: string, scenarios: OceScenario[]): Promise<void> {
  const total = scenarios.reduce((n, s) => n + s.disks, 0);
  await using vm = new Vm({
    disks: Array.from({ length: total }, (_, i) => ({ name: `d${i}`, sizeMiB: 64 })),
    label,
  });
  await vm.boot();
  const mdts = `deno run -A ${vm.repo}/mod.ts`;
  ok(await vm.run(`${mdts} --version`, { timeoutMs: 240_000 }));
  let next = 0;
  const devs = scenarios.map((s) => {
    const d = Array.from({ length: s.disks }, (_, i) => vm.dev(`d${next + i}`));
    next += s.disks;
    return d;
  });
  for (const [i, s] of scenarios.entries()) await createWithMdadm(vm, s, devs[i]);
  for (const [i, s] of scenarios.entries()) await growAndVerify(vm, mdts, s, devs[i]);
}
