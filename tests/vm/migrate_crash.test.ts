/**
 * Power cut in the middle of chunk-size migrations (issue 8), on a real kernel: a raid5 and
 * a raid0 volume (3 disks each, 64k chunk, separate containers, our monitors) migrate to 256k
 * at 500 KiB/s; the power is cut when the raid5's reshape has passed 40%; after the boot
 * `mdts -A` assembles each container, which continues the migration in the background; it
 * must end with the data byte-identical (cmp against the pattern written before), md's chunk
 * 256k, and mdadm's -E equal to ours with "Chunk Size : 256 KiB" and no migration.
 */
import assert from "node:assert/strict";
import { mdtsCommand, type RunResult, Vm } from "./harness/vm.ts";

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The md volume `$2` of the container holding disk `$1` (names change across boots). */
const VOL_OF = `vol_of() { local c h f; for h in /sys/block/$1/holders/*; do ` +
  `[ "$(cat $h/md/metadata_version 2>/dev/null)" = external:imsm ] && c=$(basename $h); done; ` +
  `[ -n "$c" ] || return 0; ` +
  `for f in /sys/block/md*/md/metadata_version; do ` +
  `grep -qE "^external:[/-]$c/$2\\$" "$f" 2>/dev/null && basename "$(dirname "$(dirname "$f")")"; ` +
  `done; }`;

interface Lane {
  name: string;
  level: 0 | 5;
  disks: string[];
  dataKiB: number;
}

Deno.test("vm: a power cut during raid5 and raid0 chunk migrations; assembly continues them, data intact", async () => {
  const lanes: Lane[] = [
    { name: "k5", level: 5, disks: ["vda", "vdb", "vdc"], dataKiB: 16384 * 2 },
    { name: "k0", level: 0, disks: ["vdd", "vde", "vdf"], dataKiB: 16384 * 3 },
  ];
  await using vm = new Vm({
    disks: "abcdef".split("").map((name) => ({ name, sizeMiB: 64 })),
    label: "migrate-crash",
  });
  await vm.boot();
  const mdts = mdtsCommand(vm.repo);
  ok(await vm.run(`${mdts} --version`, { timeoutMs: 240_000 }));
  for (const l of lanes) {
    const dev = l.disks.map((d) => `/dev/${d}`).join(" ");
    ok(await vm.run(`mdadm -C /dev/md/${l.name} -e imsm -n 3 ${dev} -R`));
    ok(
      await vm.run(
        `udevadm settle; mdadm -C /dev/md/${l.name}v -l ${l.level} -n 3 -c 64 ${dev} -z 16M ` +
          `--assume-clean -R; udevadm settle`,
      ),
    );
    const ct = ok(await vm.run(`basename $(readlink -f /dev/md/${l.name})`)).trim();
    vm.start(`${mdts} mdmon --foreground --takeover ${ct} 2>>/run/mdmon-${ct}.log`);
    for (let i = 0;; i++) {
      const r = await vm.run(`tr '\\0' ' ' < /proc/$(cat /run/mdadm/${ct}.pid)/cmdline`);
      if (r.code === 0 && /mod\.ts|mdts/.test(r.stdout)) break;
      if (i > 90) throw new Error(`our monitor did not take ${ct} over`);
      await sleep(1000);
    }
    ok(
      await vm.run(
        `${VOL_OF}; V=$(vol_of ${l.disks[0]} 0); head -c ${l.dataKiB}K /dev/urandom > ` +
          `${vm.workDir}/pat-${l.name} && dd if=${vm.workDir}/pat-${l.name} of=/dev/$V bs=1M ` +
          `oflag=direct status=none && sync`,
      ),
    );
  }
  ok(await vm.run("echo 500 > /proc/sys/dev/raid/speed_limit_max"));
  // cut once the raid5's reshape passed 40% of its 65536 array sectors
  const watch = `${VOL_OF}; V=; while [ -z "$V" ]; do V=$(vol_of vda 0); sleep 0.2; done; ` +
    `while :; do p=$(cat /sys/block/$V/md/reshape_position 2>/dev/null); ` +
    `if [ -n "$p" ] && [ "$p" != none ] && [ "$p" -ge 26214 ]; then vm_signal cut; break; fi; ` +
    `sleep 0.02; done`;
  vm.start(`bash -c '${watch.replaceAll("'", "'\\''")}'`);
  const cut = vm.cutOnSignal("cut", { timeoutMs: 400_000 });
  for (const l of lanes) {
    vm.start(
      `${mdts} --grow /dev/md/${l.name}v --chunk=256 >>${vm.workDir}/grow-${l.name}.log 2>&1`,
    );
  }
  console.log(`cut: ${JSON.stringify(await cut)}`);
  await vm.boot();
  for (const l of lanes) {
    const dev = l.disks.map((d) => `/dev/${d}`).join(" ");
    const atCut = ok(
      await vm.run(
        `mdadm -E /dev/${l.disks[0]} | grep -E 'Chunk Size|Migrate State|Checkpoint|Map State' | ` +
          `sed 's/^ *//' | tr '\\n' ';'`,
      ),
    ).trim();
    const a = await vm.run(`${mdts} -A /dev/md/${l.name} ${dev}`, { timeoutMs: 240_000 });
    console.log(
      `${l.name}: at cut [${atCut}]; mdts -A exit ${a.code}: ` +
        `${(a.stdout + a.stderr).trim().replaceAll("\n", " | ")}`,
    );
    assert.equal(a.code, 0, a.stderr);
  }
  ok(await vm.run("echo 200000 > /proc/sys/dev/raid/speed_limit_max"));
  for (const l of lanes) {
    let state = "";
    let done = false;
    for (let i = 0; i < 100 && !done; i++) {
      state = ok(
        await vm.run(
          `${VOL_OF}; V=$(vol_of ${l.disks[0]} 0); ` +
            `echo "$(mdadm -E /dev/${l.disks[0]} | grep -c 'Migrate State : general') ` +
            `$(cat /sys/block/$V/md/level) $(cat /sys/block/$V/md/reshape_position) ` +
            `$(cat /sys/block/$V/md/chunk_size)"`,
        ),
      ).trim();
      done = state === `0 raid${l.level} none 262144`;
      if (!done) await sleep(3000);
    }
    const diag = done ? "" : ok(
      await vm.run(
        `cat /run/mdadm/*.grow.log 2>/dev/null | tail -20; cat /proc/mdstat; dmesg | tail -20`,
      ),
    );
    assert.ok(done, `${l.name} did not finish: ${state}\n${diag}`);
    const differ = ok(
      await vm.run(
        `${VOL_OF}; V=$(vol_of ${l.disks[0]} 0); dd if=/dev/$V bs=1M count=${l.dataKiB / 1024} ` +
          `iflag=direct status=none | cmp -l ${vm.workDir}/pat-${l.name} - | wc -l`,
        { timeoutMs: 120_000 },
      ),
    ).trim();
    assert.equal(differ, "0", `${l.name}: ${differ} bytes differ after the resumed migration`);
    for (const d of l.disks) {
      const theirs = ok(await vm.run(`mdadm -E /dev/${d}`));
      const ours = ok(await vm.run(`${mdts} -E /dev/${d}`, { timeoutMs: 120_000 }));
      assert.deepEqual(ours.split("\n"), theirs.split("\n"), `-E differs on ${d}`);
      assert.match(theirs, /Chunk Size : 256 KiB/);
      assert.match(theirs, /Migrate State : idle/);
    }
    console.log(`${l.name}: resumed to the end, ${differ} bytes differ; md ${state}`);
  }
});
