/**
 * Chunk-size migration by mdts on a real kernel (issue 8), judged by the real mdadm 4.2:
 * containers and volumes created by mdadm, our monitor taking over from mdmon, a random
 * pattern written to each volume and md5'd, then `mdts --grow /dev/md/VOL --chunk=256`
 * (background child, as mdadm), and after it: the same md5, md's chunk_size and level as
 * expected, and mdadm's -E/-D agreeing with ours (chunk, level, members, size, map state).
 * One boot: raid0 3 disks 64k -> 256k, raid5 3 disks 4k -> 256k and 64k -> 256k, and a
 * raid5 + raid0 container whose two volumes are migrated one after the other.
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

interface VolumeSpec {
  level: 0 | 5;
  chunkKiB: number;
  sizeMiB: number;
}

interface Scenario {
  name: string;
  disks: string[];
  volumes: VolumeSpec[];
  newChunkKiB: number;
}

async function diagnostics(vm: Vm, container: string): Promise<string> {
  const r = await vm.run(
    `echo '--- grow log'; cat /run/mdadm/${container}.grow.log; echo '--- mdmon log'; ` +
      `tail -60 /run/mdmon-${container}.log; cat /proc/mdstat; ls -l /run/mdadm; ` +
      `dmesg | tail -30`,
  );
  return r.stdout + r.stderr;
}

async function scenario(vm: Vm, mdts: string, s: Scenario): Promise<void> {
  const t0 = Date.now();
  const dev = s.disks.map((d) => `/dev/${d}`);
  ok(await vm.run(`mdadm -C /dev/md/${s.name} -e imsm -n ${dev.length} ${dev.join(" ")} -R`));
  const vols: string[] = [];
  for (const [i, v] of s.volumes.entries()) {
    ok(
      await vm.run(
        `udevadm settle; mdadm -C /dev/md/${s.name}v${i} -l ${v.level} -n ${dev.length} ` +
          `-c ${v.chunkKiB} ${dev.join(" ")} -z ${v.sizeMiB}M -R; udevadm settle; ` +
          `mdadm --wait /dev/md/${s.name}v${i} || true`,
      ),
    );
    vols.push(ok(await vm.run(`basename $(readlink -f /dev/md/${s.name}v${i})`)).trim());
  }
  const container = ok(await vm.run(`basename $(readlink -f /dev/md/${s.name})`)).trim();
  // our monitor replaces mdmon 4.2
  vm.start(`${mdts} mdmon --foreground --takeover ${container} 2>/run/mdmon-${container}.log`);
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    const r = await vm.run(`tr '\\0' ' ' < /proc/$(cat /run/mdadm/${container}.pid)/cmdline`);
    if (r.code === 0 && /mod\.ts|mdts/.test(r.stdout) && !/^mdmon /.test(r.stdout)) break;
  }
  const want: string[] = [];
  const dataKiB = s.volumes.map((v) =>
    v.sizeMiB * 1024 * (v.level === 5 ? dev.length - 1 : dev.length)
  );
  for (const [i, vol] of vols.entries()) {
    want.push(
      ok(
        await vm.run(
          `head -c ${dataKiB[i]}K /dev/urandom > /run/pat-${vol} && ` +
            `dd if=/run/pat-${vol} of=/dev/${vol} bs=1M oflag=direct status=none && ` +
            `md5sum < /run/pat-${vol}`,
        ),
      ).split(" ")[0],
    );
  }

  for (const [i, vol] of vols.entries()) {
    const v = s.volumes[i];
    const t1 = Date.now();
    const grow = await vm.run(
      `${mdts} --grow /dev/md/${s.name}v${i} --chunk=${s.newChunkKiB}`,
      { timeoutMs: 240_000 },
    );
    assert.equal(
      grow.code,
      0,
      `migration refused: ${grow.stderr}\n${await diagnostics(vm, container)}`,
    );
    assert.match(grow.stderr, /reshape continues in background/);
    let done = false;
    for (let k = 0; k < 300 && !done; k++) {
      await sleep(2000);
      const r = await vm.run(`test -e /run/mdadm/${container}.grow.pid || echo gone`);
      done = r.stdout.includes("gone");
    }
    const log = ok(await vm.run(`cat /run/mdadm/${container}.grow.log`));
    assert.ok(done, `migration still running after 10 min\n${await diagnostics(vm, container)}`);
    assert.doesNotMatch(log, /error|failed|refused/i, await diagnostics(vm, container));
    const md = ok(
      await vm.run(
        `cd /sys/block/${vol}/md && cat level chunk_size raid_disks && ` +
          `(cat sync_action 2>/dev/null || echo "no sync_action")`,
      ),
    ).trim().split("\n");
    assert.deepEqual(md.slice(0, 3), [
      `raid${v.level}`,
      String(s.newChunkKiB * 1024),
      String(dev.length),
    ]);
    console.log(
      `${s.name}v${i}: raid${v.level} ${dev.length} disks ${v.chunkKiB}k -> ${s.newChunkKiB}k ` +
        `in ${(Date.now() - t1) / 1000} s; md: ${md.join(" ")}; log: ${
          log.trim().split("\n").slice(-1)[0]
        }`,
    );
  }

  // data: every pattern still there, byte for byte
  for (const [i, vol] of vols.entries()) {
    const got = ok(
      await vm.run(
        `dd if=/dev/${vol} bs=1M count=${dataKiB[i] / 1024} iflag=direct status=none | md5sum`,
      ),
    ).split(" ")[0];
    assert.equal(got, want[i], `data of ${vol} changed\n${await diagnostics(vm, container)}`);
  }

  // metadata: the real mdadm and mdts agree, and say what the migration should have made
  for (const d of dev) {
    const theirs = ok(await vm.run(`mdadm -E ${d}`));
    const ours = ok(await vm.run(`${mdts} -E ${d}`, { timeoutMs: 120_000 }));
    assert.deepEqual(ours.split("\n"), theirs.split("\n"), `-E differs on ${d}`);
    assert.deepEqual(
      field(theirs, "Chunk Size"),
      s.volumes.map(() => `${s.newChunkKiB} KiB`),
    );
    assert.deepEqual(field(theirs, "Migrate State"), s.volumes.map(() => "idle"));
    assert.deepEqual(field(theirs, "Map State"), s.volumes.map(() => "normal"));
    assert.deepEqual(field(theirs, "RAID Level"), s.volumes.map((v) => String(v.level)));
  }
  for (const [i, vol] of vols.entries()) {
    const dTheirs = ok(await vm.run(`mdadm -D /dev/${vol}`));
    const dOurs = ok(await vm.run(`${mdts} -D /dev/${vol}`, { timeoutMs: 120_000 }));
    for (const f of ["Raid Level", "Raid Devices", "Array Size", "Chunk Size", "State"]) {
      assert.deepEqual(field(dOurs, f), field(dTheirs, f), `-D ${f}`);
    }
    assert.deepEqual(field(dTheirs, "Chunk Size"), [`${s.newChunkKiB}K`]);
    assert.match(field(dTheirs, "Array Size")[0], new RegExp(`^${dataKiB[i]} `));
  }
  console.log(`${s.name}: ok in ${(Date.now() - t0) / 1000} s`);
}

Deno.test("vm: mdts migrates IMSM chunk sizes online (raid0 64k->256k, raid5 4k/64k->256k, raid5+raid0 one after the other), data intact, mdadm agrees", async () => {
  await using vm = new Vm({
    disks: "abcdefghijkl".split("").map((name) => ({ name, sizeMiB: 64 })),
    label: "migrate-chunk",
  });
  await vm.boot();
  const mdts = `deno run -A ${vm.repo}/mod.ts`;
  ok(await vm.run(`${mdts} --version`, { timeoutMs: 240_000 }));
  await scenario(vm, mdts, {
    name: "c0",
    disks: ["vda", "vdb", "vdc"],
    volumes: [{ level: 0, chunkKiB: 64, sizeMiB: 16 }],
    newChunkKiB: 256,
  });
  await scenario(vm, mdts, {
    name: "c5a",
    disks: ["vdd", "vde", "vdf"],
    volumes: [{ level: 5, chunkKiB: 4, sizeMiB: 16 }],
    newChunkKiB: 256,
  });
  await scenario(vm, mdts, {
    name: "c5b",
    disks: ["vdg", "vdh", "vdi"],
    volumes: [{ level: 5, chunkKiB: 64, sizeMiB: 16 }],
    newChunkKiB: 256,
  });
  await scenario(vm, mdts, {
    name: "c50",
    disks: ["vdj", "vdk", "vdl"],
    volumes: [{ level: 5, chunkKiB: 64, sizeMiB: 8 }, { level: 0, chunkKiB: 64, sizeMiB: 8 }],
    newChunkKiB: 256,
  });
});
