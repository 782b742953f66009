import assert from "node:assert/strict";
import { externalMemberOf, parseMdstat } from "../../../kernel/md/mdstat.ts";

const FIX = new URL("../../fixtures/kernel/", import.meta.url);
const read = (p: string) => Deno.readTextFileSync(new URL(p, FIX));

/** sysfs.txt lines "md125/level: raid0" -> { md125: { level: "raid0" } }. */
function parseSysfsDump(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const line of text.split("\n")) {
    const m = /^(md\d+)\/([a-z_]+):\s?(.*)$/.exec(line);
    if (!m) continue;
    if (!out.has(m[1])) out.set(m[1], new Map());
    out.get(m[1])!.set(m[2], m[3]);
  }
  return out;
}

const CASES = [...Deno.readDirSync(FIX)].filter((e) => e.isDirectory).map((e) => e.name).sort();

Deno.test("every fixture case has an mdstat to check", () => {
  const withMdstat = CASES.filter((c) => {
    try {
      read(`${c}/mdstat.txt`);
      return true;
    } catch {
      return false;
    }
  });
  assert.ok(withMdstat.length >= 7, `only ${withMdstat}`);
});

for (const c of CASES) {
  let mdstat: string, sysfs: string;
  try {
    mdstat = read(`${c}/mdstat.txt`);
    sysfs = read(`${c}/sysfs.txt`);
  } catch {
    continue;
  }
  Deno.test(`mdstat of ${c} agrees with its sysfs dump`, () => {
    const parsed = parseMdstat(mdstat);
    const attrs = parseSysfsDump(sysfs);
    assert.deepEqual(parsed.personalities, ["raid0", "raid1", "raid10", "raid6", "raid5", "raid4"]);
    assert.deepEqual(parsed.unusedDevices, []);
    // a stopped md device stays in sysfs as "clear" but is not listed in /proc/mdstat
    const listed = [...attrs].filter(([, a]) => a.get("array_state") !== "clear").map(([n]) => n);
    assert.deepEqual(parsed.arrays.map((a) => a.devnm).sort(), listed.sort());
    for (const a of parsed.arrays) {
      const s = attrs.get(a.devnm)!;
      assert.equal(a.superVersion, s.get("metadata_version"), `${a.devnm} super`);
      if (s.get("array_state") === "inactive") {
        // container: inactive, every member a spare, no level
        assert.equal(a.active, false);
        assert.equal(a.level, null);
        assert.ok(a.members.length > 0 && a.members.every((m) => m.spare));
        continue;
      }
      assert.equal(a.active, true);
      assert.equal(a.level, s.get("level"), `${a.devnm} level`);
      assert.equal(
        a.members.length,
        Number(s.get("raid_disks")!.split(" ")[0]),
        `${a.devnm} members`,
      );
      if (s.get("sync_action") === "reshape") {
        // sync_completed is "done / total" in sectors, mdstat prints KiB
        const [done, total] = s.get("sync_completed")!.split(" / ").map(BigInt);
        assert.equal(a.progress?.action, "reshape");
        assert.equal(a.progress?.total, total / 2n);
        assert.ok(a.progress!.done! * 2n <= done, "mdstat was read before sysfs");
      }
      // raid1 has a chunk_size in sysfs (mdadm writes one) but mdstat prints none
      if (a.level === "raid1") assert.equal(a.chunkKiB, null);
      else assert.equal(a.chunkKiB! * 1024, Number(s.get("chunk_size")), `${a.devnm} chunk`);
      const size = s.get("array_size");
      if (size !== undefined && size !== "default") assert.equal(a.blocks, BigInt(size));
      if (a.level !== "raid0") {
        // during a reshape sysfs says "4 (3)" (new, old) and mdstat [4/4] (new)
        assert.equal(a.raidDisks, Number(s.get("raid_disks")!.split(" ")[0]));
        assert.equal(a.status, "U".repeat(a.raidDisks!));
      }
      if (a.level === "raid5") assert.equal(a.algorithm, Number(s.get("layout")));
      const ext = externalMemberOf(a.superVersion);
      assert.ok(ext, `${a.devnm} is an external member`);
      assert.equal(attrs.get(ext.container)?.get("metadata_version"), "external:imsm");
    }
  });
}

Deno.test("raid10 fixture: near-copies and chunk in K", () => {
  const p = parseMdstat(read("d_raid10_4disk/mdstat.txt"));
  const r10 = p.arrays.find((a) => a.level === "raid10")!;
  assert.deepEqual(r10.copies, { count: 2, kind: "near" });
  assert.equal(r10.workingDisks, 4);
});

Deno.test("reshape progress of a blocked raid5 member (real capture)", () => {
  const p = parseMdstat(read("console_reshape_raid5.mdstat.txt"));
  assert.equal(p.arrays.length, 3);
  const r5 = p.arrays.find((a) => a.devnm === "md126")!;
  assert.deepEqual(externalMemberOf(r5.superVersion), {
    container: "md127",
    subarray: "0",
    blocked: true,
  });
  assert.deepEqual(r5.progress, {
    action: "reshape",
    state: "running",
    percent: 42.4,
    done: 7168n,
    total: 16384n,
    finishMinutes: 0.9,
    speed: 155,
  });
  assert.equal(r5.members.length, 4);
  assert.equal(p.arrays.find((a) => a.devnm === "md125")!.progress, null);
  const container = p.arrays.find((a) => a.devnm === "md127")!;
  assert.equal(container.blocks, 4420n);
  assert.deepEqual(container.members.map((m) => [m.name, m.descriptor]), [
    ["vdd", 3],
    ["vdc", 2],
    ["vdb", 1],
    ["vda", 0],
  ]);
});

Deno.test("raid4 migration of a raid0 volume (real capture): degraded [5/4]", () => {
  const r4 = parseMdstat(read("console_reshape_raid4.mdstat.txt")).arrays[0];
  assert.equal(r4.level, "raid4");
  assert.equal(r4.levelNumber, 4);
  assert.equal(r4.algorithm, 5);
  assert.equal(r4.raidDisks, 5);
  assert.equal(r4.workingDisks, 4);
  assert.equal(r4.status, "UUU__");
  assert.equal(r4.progress?.percent, 48.4);
  assert.equal(r4.members.find((m) => m.name === "vdd")?.descriptor, 4);
});

Deno.test("auto-read-only after assembly (real capture)", () => {
  const p = parseMdstat(read("console_assembled_autoro.mdstat.txt"));
  const md122 = p.arrays.find((a) => a.devnm === "md122")!;
  assert.equal(md122.readOnly, "auto-read-only");
  assert.equal(md122.level, "raid5");
  assert.equal(p.arrays.find((a) => a.devnm === "md123")!.readOnly, "no");
});

const HAND = `Personalities : [raid1] [raid6] [raid5] [raid4] [linear]
md0 : active raid1 sdb1[1] sda1[0]
      976630464 blocks super 1.2 [2/2] [UU]
      bitmap: 0/8 pages [0KB], 65536KB chunk

md1 : active raid1 sdd1[1](F) sdc1[0]
      976630464 blocks super 1.2 [2/1] [U_]

md2 : active raid5 sdh[3] sdg[1] sdf[0]
      1953260544 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/2] [UU_]
      [==>..................]  recovery = 12.6% (123297280/976630272) finish=74.2min speed=191652K/sec

md3 : active (auto-read-only) raid1 sdj[1] sdi[0]
      1000 blocks [2/2] [UU]
      \tresync=PENDING

md4 : active (read-only) raid1 sdl[1] sdk[0](W)
      1000 blocks super external:-md127/1 [2/2] [UU]
      \tresync=DELAYED

md5 : inactive sdm[0](S)
      1000 blocks

md6 : active raid6 sdo[3](R) sdn[0] sdp[1] sdq[2]
      2000 blocks level 6, 64k chunk, algorithm 2 [3/3] [UUU]
      [=>...................]  check =  7.5% (75/1000) finish=1.0min speed=1K/sec

unused devices: sdz sdy
`;

Deno.test("hand-written cases from the kernel format", () => {
  const p = parseMdstat(HAND);
  assert.deepEqual(p.personalities, ["raid1", "raid6", "raid5", "raid4", "linear"]);
  assert.deepEqual(p.unusedDevices, ["sdz", "sdy"]);
  const by = new Map(p.arrays.map((a) => [a.devnm, a]));
  assert.equal(by.get("md0")!.bitmap, "0/8 pages [0KB], 65536KB chunk");
  assert.equal(by.get("md1")!.members[0].faulty, true);
  assert.equal(by.get("md1")!.status, "U_");
  const rec = by.get("md2")!.progress!;
  assert.equal(rec.action, "recovery");
  assert.equal(rec.done, 123297280n);
  assert.equal(rec.speed, 191652);
  assert.equal(rec.finishMinutes, 74.2);
  assert.equal(by.get("md2")!.chunkKiB, 512);
  assert.deepEqual(by.get("md3")!.progress?.state, "pending");
  assert.equal(by.get("md3")!.superVersion, null);
  assert.equal(by.get("md4")!.readOnly, "read-only");
  assert.equal(by.get("md4")!.progress?.state, "delayed");
  assert.equal(by.get("md4")!.members.find((m) => m.name === "sdk")!.writeMostly, true);
  assert.equal(by.get("md5")!.active, false);
  assert.equal(by.get("md5")!.blocks, 1000n);
  assert.equal(by.get("md6")!.members[0].replacement, true);
  assert.equal(by.get("md6")!.progress?.action, "check");
  assert.equal(by.get("md6")!.progress?.percent, 7.5);
});

Deno.test("empty mdstat and no md at all", () => {
  const p = parseMdstat("Personalities : \nunused devices: <none>\n");
  assert.deepEqual(p, { personalities: [], arrays: [], unusedDevices: [] });
  assert.deepEqual(parseMdstat(""), { personalities: [], arrays: [], unusedDevices: [] });
});

Deno.test("fuzz: the parser never throws on junk or mutated captures", () => {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const base = [HAND, read("console_reshape_raid5.mdstat.txt"), read("b_raid5_3disk/mdstat.txt")];
  const alphabet = " \t\n[]()/:=%._-0123456789UusSFRWmdraidblocksuperexternal";
  for (let i = 0; i < 2000; i++) {
    let text: string;
    if (i % 2 === 0) {
      text = Array.from(
        { length: Math.floor(rnd() * 300) },
        () => alphabet[Math.floor(rnd() * alphabet.length)],
      ).join("");
    } else {
      const chars = [...base[i % base.length]];
      for (let k = 0; k < 10; k++) {
        const at = Math.floor(rnd() * chars.length);
        if (rnd() < 0.5) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[Math.floor(rnd() * alphabet.length)]);
      }
      text = chars.join("");
    }
    const p = parseMdstat(text);
    assert.ok(Array.isArray(p.arrays));
  }
});
