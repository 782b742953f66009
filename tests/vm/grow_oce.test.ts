/**
 * Online Capacity Expansion by mdts on a real kernel, judged by the real mdadm 4.2: containers
 * created by mdadm, our monitor taking over from mdmon, a pattern written and md5'd, then
 * `mdts --grow CONTAINER --raid-devices=N` (background child, as mdadm), and after it: the
 * same md5, and mdadm's -E/-D agreeing with ours on level, members, sizes and map state.
 * One boot, several containers on separate disks: raid0 2->3, raid5 3->4.
 */
import assert from "node:assert/strict";
import { type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function field(text: string, name: string): string[] {
  const re = new RegExp(`^ *${name} : (.*)$`, "gm");
  return [...text.matchAll(re)].map((m) => m[1].trim());
}

interface Scenario {
  name: string;
  level: 0 | 5;
  /** Disks of the container; the first `members` carry the volume, the rest are spares. */
  disks: string[];
  members: number;
  grow: number;
}

async function diagnostics(vm: Vm, container: string): Promise<string> {
  const r = await vm.run(
    `echo '--- grow log'; cat /run/mdadm/${container}.grow.log; echo '--- mdmon log'; ` +
      `tail -50 /run/mdmon-${container}.log; cat /proc/mdstat; ls -l /run/mdadm`,
  );
  return r.stdout + r.stderr;
}

async function scenario(vm: Vm, mdts: string, s: Scenario): Promise<void> {
  const t0 = Date.now();
  const name = s.name;
  const dev = s.disks.map((d) => `/dev/${d}`);
  ok(await vm.run(`mdadm -C /dev/md/${name} -e imsm -n ${s.disks.length} ${dev.join(" ")} -R`));
  ok(
    await vm.run(
      `udevadm settle; mdadm -C /dev/md/${name}v -l ${s.level} -n ${s.members} ` +
        `${dev.slice(0, s.members).join(" ")} -z 16M -R; udevadm settle; ` +
        `mdadm --wait /dev/md/${name}v || true`,
    ),
  );
  const container = ok(await vm.run(`basename $(readlink -f /dev/md/${name})`)).trim();
  const volume = ok(await vm.run(`basename $(readlink -f /dev/md/${name}v)`)).trim();
  // our monitor replaces mdmon 4.2
  vm.start(`${mdts} mdmon --foreground --takeover ${container} 2>/run/mdmon-${container}.log`);
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    const r = await vm.run(`tr '\\0' ' ' < /proc/$(cat /run/mdadm/${container}.pid)/cmdline`);
    if (r.code === 0 && /mod\.ts|mdts/.test(r.stdout) && !/^mdmon /.test(r.stdout)) break;
  }
  const dataKiB = 16384 * (s.level === 5 ? s.members - 1 : s.members);
  ok(
    await vm.run(
      `head -c ${dataKiB}K /dev/urandom > /run/pat-${name} && ` +
        `dd if=/run/pat-${name} of=/dev/${volume} bs=1M oflag=direct status=none && ` +
        `md5sum < /run/pat-${name}`,
    ),
  );
  const want = ok(await vm.run(`md5sum < /run/pat-${name}`)).split(" ")[0];

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
  console.log(`${name}: grow log tail: ${log.trim().split("\n").slice(-1)[0]}`);
  assert.ok(done, `grow still running after 10 min\n${await diagnostics(vm, container)}`);
  assert.doesNotMatch(log, /error|failed|refused/i, await diagnostics(vm, container));

  // data: the pattern is still there, byte for byte
  const got = ok(
    await vm.run(
      `dd if=/dev/${volume} bs=1M count=${dataKiB / 1024} iflag=direct status=none | md5sum`,
    ),
  ).split(" ")[0];
  assert.equal(got, want, `data changed by the grow\n${await diagnostics(vm, container)}`);

  // metadata: the real mdadm and mdts agree, and say what the grow should have made
  for (const d of dev) {
    const theirs = ok(await vm.run(`mdadm -E ${d}`));
    const ours = ok(await vm.run(`${mdts} -E ${d}`, { timeoutMs: 120_000 }));
    assert.deepEqual(ours.split("\n"), theirs.split("\n"), `-E differs on ${d}`);
    assert.deepEqual(field(theirs, "Members"), [String(s.grow)]);
    assert.deepEqual(field(theirs, "Migrate State"), ["idle"]);
    assert.deepEqual(field(theirs, "Map State"), ["normal"]);
    assert.deepEqual(field(theirs, "RAID Level"), [String(s.level)]);
  }
  const dTheirs = ok(await vm.run(`mdadm -D /dev/${volume}`));
  const dOurs = ok(await vm.run(`${mdts} -D /dev/${volume}`, { timeoutMs: 120_000 }));
  const newKiB = 16384 * (s.level === 5 ? s.grow - 1 : s.grow);
  for (const f of ["Raid Level", "Raid Devices", "Array Size", "State"]) {
    assert.deepEqual(field(dOurs, f), field(dTheirs, f), `-D ${f}`);
  }
  assert.deepEqual(field(dTheirs, "Raid Level"), [`raid${s.level}`]);
  assert.deepEqual(field(dTheirs, "Raid Devices"), [String(s.grow)]);
  assert.match(field(dTheirs, "Array Size")[0], new RegExp(`^${newKiB} `));
  console.log(
    `${name}: raid${s.level} ${s.members}->${s.grow} ok in ${(Date.now() - t0) / 1000} s`,
  );
}

Deno.test("vm: mdts grows IMSM containers online (raid0 2->3, raid5 3->4), data intact, mdadm agrees", async () => {
  await using vm = new Vm({
    disks: ["a", "b", "c", "d", "e", "f", "g"].map((name) => ({ name, sizeMiB: 64 })),
    label: "grow-oce",
  });
  await vm.boot();
  const mdts = `deno run -A ${vm.repo}/mod.ts`;
  ok(await vm.run(`${mdts} --version`, { timeoutMs: 240_000 }));
  await scenario(vm, mdts, {
    name: "r0",
    level: 0,
    disks: ["vde", "vdf", "vdg"],
    members: 2,
    grow: 3,
  });
  await scenario(vm, mdts, {
    name: "r5",
    level: 5,
    disks: ["vda", "vdb", "vdc", "vdd"],
    members: 3,
    grow: 4,
  });
});
