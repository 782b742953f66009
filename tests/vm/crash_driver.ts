/**
 * Power cuts during container OCE on a real kernel, and the resume after them.
 *
 * One round = one boot with several lanes, each lane its own container on its own disks
 * (raid5 3->4, raid0 2->3, raid0 + raid5 3->4), grown by mdts or by the real mdadm 4.2, all
 * started together; one power cut (at a time, or when an event of one lane happens), a boot
 * on the same disks, assembly by mdts or mdadm (which continue the reshape in the
 * background), and for each lane: did it finish, and how many bytes of each volume differ
 * from the pattern written before the grow (cmp against the pattern file kept on the host).
 *
 * Cut rules: `time:MS` after the grows were launched; events of one lane: `ckpt:N` (mdts
 * only: right after its N-th migration-record write, MDTS_FAULT signal), `copy:N` (after its
 * N-th copy-area write), `pos:P` (md passed P % of the migrating volume: mid-window),
 * `reshape-end:I` (volume I's reshape finished, before the migration end / size change),
 * `size:I` (volume I's array_size changed), `takeover-back:I` (volume I back to raid0).
 *
 * Run the full matrix: `deno task test:crash-matrix` (writes tests/vm/crash_results.md).
 */
import { mdtsCommand, type RunResult, Vm } from "./harness/vm.ts";

export type Shape = "r5" | "r0" | "r05";
export type Tool = "mdts" | "mdadm";

export interface Lane {
  id: string;
  shape: Shape;
  grow: Tool;
  resume: Tool;
  /** How to assemble after the cut: explicit disks, --scan, or -I of each disk. */
  assemble?: "explicit" | "scan" | "incremental";
  /** Flip bytes in this lane's copy area after the cut (expects a refusal). */
  corruptCopyArea?: boolean;
  /** Start this lane's grow this many ms after the others. */
  delayMs?: number;
  /** mdts lanes: stop this lane's grow right after its event (`ckpt:N`/`copy:N`), then wait
   * for the cut another lane triggers: several lanes cut at chosen points in one boot. */
  holdAt?: string;
}

export interface Rule {
  /** time:MS | ckpt:N | copy:N | pos:P | reshape-end:I | size:I | takeover-back:I */
  kind: string;
  /** Lane whose event cuts (event rules). */
  lane?: string;
}

export interface LaneResult {
  round: string;
  lane: string;
  shape: Shape;
  grow: Tool;
  resume: Tool;
  rule: string;
  /** What the metadata said after the cut (mdadm -E on the first disk). */
  atCut: string;
  resumed: boolean;
  bytesDiffering: number | null;
  note: string;
  /** Where the cut fell for this lane: before its grow began, during it, after it ended. */
  phase: "before" | "during" | "after";
  assembleExit: number;
  /** Corrupted copy area: refused, nothing written, volume not started. */
  refusedClean?: boolean;
}

const SHAPES: Record<
  Shape,
  { members: number; spares: number; grow: number; vols: [0 | 5, number][] }
> = {
  r5: { members: 3, spares: 1, grow: 4, vols: [[5, 16]] },
  r0: { members: 2, spares: 1, grow: 3, vols: [[0, 16]] },
  r05: { members: 3, spares: 1, grow: 4, vols: [[0, 8], [5, 8]] },
};

export function disksFor(lanes: Lane[]): number {
  return lanes.reduce((n, l) => n + SHAPES[l.shape].members + SHAPES[l.shape].spares, 0);
}

function devName(i: number): string {
  return `vd${String.fromCharCode(97 + i)}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ok(r: RunResult): string {
  if (r.code !== 0) {
    throw new Error(`guest command failed (${r.code}): ${r.cmd}\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/**
 * Guest helper: md device of volume INDEX of the container holding DISK (names after an
 * assembly by -I or --scan are not the ones the lane was created with).
 */
const VOL_OF = `vol_of() { local c h f; for h in /sys/block/$1/holders/*; do ` +
  `[ "$(cat $h/md/metadata_version 2>/dev/null)" = external:imsm ] && c=$(basename $h); done; ` +
  `[ -n "$c" ] || return 0; ` +
  `for f in /sys/block/md*/md/metadata_version; do ` +
  `grep -qE "^external:[/-]$c/$2\$" "$f" 2>/dev/null && basename "$(dirname "$(dirname "$f")")"; ` +
  `done; }`;

interface Placed extends Lane {
  disks: string[];
  /** Volume names and the data each holds (KiB). */
  volumes: { name: string; level: 0 | 5; dataKiB: number; newKiB: number }[];
}

function place(lanes: Lane[]): Placed[] {
  let next = 0;
  return lanes.map((l) => {
    const s = SHAPES[l.shape];
    const disks = Array.from({ length: s.members + s.spares }, () => devName(next++));
    const volumes = s.vols.map(([level, mib], i) => {
      const dd = (n: number) => (level === 5 ? n - 1 : n);
      return {
        name: `${l.id}v${i}`,
        level,
        dataKiB: mib * 1024 * dd(s.members),
        newKiB: mib * 1024 * dd(s.grow),
      };
    });
    return { ...l, disks, volumes };
  });
}

async function createLane(vm: Vm, mdts: string, l: Placed): Promise<void> {
  const s = SHAPES[l.shape];
  const dev = l.disks.map((d) => `/dev/${d}`);
  ok(await vm.run(`mdadm -C /dev/md/${l.id} -e imsm -n ${dev.length} ${dev.join(" ")} -R`));
  for (const [i, v] of l.volumes.entries()) {
    const mib = s.vols[i][1];
    ok(
      await vm.run(
        `udevadm settle; mdadm -C /dev/md/${v.name} -l ${v.level} -n ${s.members} ` +
          `${dev.slice(0, s.members).join(" ")} -z ${mib}M --assume-clean -R; udevadm settle`,
      ),
    );
  }
  const container = ok(await vm.run(`basename $(readlink -f /dev/md/${l.id})`)).trim();
  if (l.grow === "mdts") {
    // our monitor replaces mdmon 4.2 for the grow (as tests/vm/grow_oce.test.ts)
    vm.start(`${mdts} mdmon --foreground --takeover ${container} 2>>/run/mdmon-${container}.log`);
  }
}

async function waitMonitors(vm: Vm, lanes: Placed[]): Promise<void> {
  for (const l of lanes.filter((x) => x.grow === "mdts")) {
    const container = ok(await vm.run(`basename $(readlink -f /dev/md/${l.id})`)).trim();
    for (let i = 0;; i++) {
      const r = await vm.run(`tr '\\0' ' ' < /proc/$(cat /run/mdadm/${container}.pid)/cmdline`);
      if (r.code === 0 && /mod\.ts|mdts/.test(r.stdout)) break;
      if (i > 90) throw new Error(`mdts monitor of ${l.id} did not take over`);
      await sleep(1000);
    }
  }
}

async function writePatterns(vm: Vm, l: Placed): Promise<void> {
  for (const [i, v] of l.volumes.entries()) {
    const pat = `${vm.workDir}/pat-${v.name}`;
    ok(
      await vm.run(
        `${VOL_OF}; V=$(vol_of ${
          l.disks[0]
        } ${i}); head -c ${v.dataKiB}K /dev/urandom > ${pat} && ` +
          `dd if=${pat} of=/dev/$V bs=1M oflag=direct status=none && sync`,
      ),
    );
  }
}

function growCommand(mdts: string, l: Placed, env: string): string {
  const n = SHAPES[l.shape].grow;
  const delay = l.delayMs ? `sleep ${l.delayMs / 1000}; ` : "";
  const tool = l.grow === "mdts" ? `${env} ${mdts}` : "mdadm";
  return `${delay}${tool} --grow /dev/md/${l.id} --raid-devices=${n} ` +
    `>>${"$MDTS_VM_SIGNALS"}/../grow-${l.id}.log 2>&1`;
}

/** A guest script that runs vm_signal cut when the rule's event happens. */
function watcher(rule: Rule, l: Placed): string | null {
  const [kind, arg] = rule.kind.split(":");
  const sys = (i: string) =>
    `${VOL_OF}; while [ -z "$V" ]; do V=$(vol_of ${l.disks[0]} ${i}); ` +
    `sleep 0.2; done; A=/sys/block/$V/md`;
  switch (kind) {
    case "pos": {
      const vol = l.volumes.find((v) => v.level === 5) ?? l.volumes[0];
      const idx = l.volumes.indexOf(vol);
      const max = Math.round(((vol.newKiB * 2) * Number(arg)) / 100);
      return `${sys(String(idx))}; while :; do p=$(cat $A/reshape_position 2>/dev/null); ` +
        `if [ -n "$p" ] && [ "$p" != none ] && [ "$p" -ge ${max} ]; then vm_signal cut; break; fi; ` +
        `sleep 0.02; done`;
    }
    case "reshape-end":
      return `${sys(arg)}; seen=0; while :; do p=$(cat $A/reshape_position 2>/dev/null); ` +
        `if [ -n "$p" ] && [ "$p" != none ]; then seen=1; elif [ $seen = 1 ]; then ` +
        `vm_signal cut; break; fi; sleep 0.02; done`;
    case "size":
      return `${sys(arg)}; s0=$(cat $A/array_size); while [ "$(cat $A/array_size)" = "$s0" ]; ` +
        `do sleep 0.02; done; vm_signal cut`;
    case "takeover-back":
      return `${sys(arg)}; seen=0; while :; do l=$(cat $A/level); [ "$l" = raid4 ] && seen=1; ` +
        `if [ $seen = 1 ] && [ "$l" = raid0 ]; then vm_signal cut; break; fi; sleep 0.02; done`;
    default:
      return null;
  }
}

function faultEnv(rule: Rule, l: Placed): string {
  const rule1 = (kind: string, action: string) => {
    const [k, arg] = kind.split(":");
    const purpose = k === "ckpt" ? "migration-record" : "copy-area";
    return `MDTS_FAULT=purpose=${purpose},after=${Number(arg) - 1},action=${action},when=after`;
  };
  const [kind] = rule.kind.split(":");
  if (rule.lane === l.id && (kind === "ckpt" || kind === "copy")) {
    return `${rule1(rule.kind, "signal")} MDTS_FAULT_MARKER=$MDTS_VM_SIGNALS/cut`;
  }
  // a lane held at its own event until another lane's event cuts the power
  if (l.holdAt) return rule1(l.holdAt, "hang");
  return "";
}

/** Flips 64 bytes in the copy area of the lane's first disk (host side, VM off). */
async function corruptCopyArea(vm: Vm, l: Placed): Promise<void> {
  // the image file is named for the Vm's disk (d0, d1...), the lane knows its guest device
  const disk = vm.disks.find((d) => d.guestDev === `/dev/${l.disks[0]}`);
  if (!disk) throw new Error(`lane ${l.id}: no disk image for /dev/${l.disks[0]}`);
  const img = disk.hostPath;
  const size = (await Deno.stat(img)).size;
  const pba = size / 512 - 2209;
  const f = await Deno.open(img, { read: true, write: true });
  try {
    const at = pba * 512 + 1024;
    await f.seek(at, Deno.SeekMode.Start);
    const buf = new Uint8Array(64);
    await f.read(buf);
    for (let i = 0; i < buf.length; i++) buf[i] ^= 0x5a;
    await f.seek(at, Deno.SeekMode.Start);
    await f.write(buf);
  } finally {
    f.close();
  }
}

async function assembleLane(vm: Vm, mdts: string, l: Placed): Promise<RunResult> {
  const dev = l.disks.map((d) => `/dev/${d}`).join(" ");
  const tool = l.resume === "mdts" ? mdts : "mdadm";
  switch (l.assemble ?? "explicit") {
    case "scan":
      return await vm.run(`${tool} -A --scan`, { timeoutMs: 240_000 });
    case "incremental":
      return await vm.run(
        l.disks.map((d) => `${tool} -I /dev/${d}`).join("; "),
        { timeoutMs: 240_000 },
      );
    default: {
      // mdadm 4.2 -A with a container's disks assembles the container only; its volumes
      // (and a grow in progress) start with -I of the container, as a user would run it
      const volumes = l.resume === "mdadm" ? ` && mdadm -I /dev/md/${l.id}` : "";
      return await vm.run(`${tool} -A /dev/md/${l.id} ${dev}${volumes}`, { timeoutMs: 240_000 });
    }
  }
}

/** Until no volume of the lane migrates, md is idle and raid0 volumes are raid0 again. */
async function waitFinished(
  vm: Vm,
  l: Placed,
  timeoutMs: number,
  n = SHAPES[l.shape].grow,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await vm.run(
      `${VOL_OF}; mdadm -E /dev/${l.disks[0]} | grep -c 'Migrate State : general' ; ` +
        l.volumes.map((_v, i) =>
          `V=$(vol_of ${l.disks[0]} ${i}); echo "$V $(cat /sys/block/$V/md/level 2>/dev/null) ` +
          `$(cat /sys/block/$V/md/reshape_position 2>/dev/null) ` +
          `$(cat /sys/block/$V/md/raid_disks 2>/dev/null)"`
        ).join("; "),
    );
    const lines = r.stdout.trim().split("\n");
    const migrating = Number(lines[0]);
    const vols = lines.slice(1).map((x) => x.split(" "));
    const done = migrating === 0 && vols.length === l.volumes.length &&
      vols.every((v, i) =>
        v[1] === `raid${l.volumes[i].level}` && v[2] === "none" && v[3] === String(n)
      );
    if (done) return true;
    await sleep(3000);
  }
  return false;
}

async function bytesDiffering(vm: Vm, l: Placed): Promise<number> {
  let total = 0;
  for (const [i, v] of l.volumes.entries()) {
    const pat = `${vm.workDir}/pat-${v.name}`;
    const r = ok(
      await vm.run(
        `${VOL_OF}; V=$(vol_of ${l.disks[0]} ${i}); dd if=/dev/$V bs=1M count=${
          v.dataKiB / 1024
        } ` +
          `iflag=direct status=none | cmp -l ${pat} - | wc -l`,
        { timeoutMs: 120_000 },
      ),
    );
    total += Number(r.trim());
  }
  return total;
}

export interface RoundOptions {
  name: string;
  lanes: Lane[];
  rule: Rule;
  /** md speed limit during the grow, KiB/s per device. */
  speedKiB?: number;
  finishTimeoutMs?: number;
  log?: (line: string) => void;
}

/** One boot, one cut, one resume. */
export async function runRound(o: RoundOptions): Promise<LaneResult[]> {
  const log = o.log ?? ((x: string) => console.log(x));
  const lanes = place(o.lanes);
  const names = Array.from({ length: disksFor(o.lanes) }, (_, i) => `d${i}`);
  await using vm = new Vm({
    disks: names.map((name) => ({ name, sizeMiB: 64 })),
    label: `crash-${o.name}`,
  });
  await vm.boot();
  const mdts = mdtsCommand(vm.repo);
  const t0 = Date.now();
  ok(await vm.run(`${mdts} --version`, { timeoutMs: 240_000 }));
  for (const l of lanes) await createLane(vm, mdts, l);
  await waitMonitors(vm, lanes);
  for (const l of lanes) await writePatterns(vm, l);
  // md only throttles a reshape going faster than speed_limit_min (default 1000), so the
  // minimum comes down with the maximum (the first real run went at 1 MiB/s)
  const speed = o.speedKiB ?? 500;
  ok(
    await vm.run(
      `echo ${speed} > /proc/sys/dev/raid/speed_limit_min; ` +
        `echo ${speed} > /proc/sys/dev/raid/speed_limit_max`,
    ),
  );
  log(`${o.name}: set up in ${(Date.now() - t0) / 1000} s; cut rule ${o.rule.kind}`);
  const ruleLane = lanes.find((l) => l.id === o.rule.lane) ?? lanes[0];
  const watch = watcher(o.rule, ruleLane);
  if (watch) vm.start(`bash -c '${watch.replaceAll("'", "'\\''")}'`);
  const [kind, arg] = o.rule.kind.split(":");
  const cut = kind === "time" ? null : vm.cutOnSignal("cut", { timeoutMs: 400_000 });
  for (const l of lanes) vm.start(growCommand(mdts, l, faultEnv(o.rule, l)));
  const info = kind === "time" ? await vm.cutAfter(Number(arg)) : await cut!;
  log(`${o.name}: cut ${JSON.stringify(info)}`);
  for (const l of lanes) if (l.corruptCopyArea) await corruptCopyArea(vm, l);
  await vm.boot();
  const results: LaneResult[] = [];
  for (const l of lanes) {
    const atCut = (await vm.run(
      `mdadm -E /dev/${l.disks[0]} | grep -E 'Members|Migrate State|Checkpoint|Map State' | ` +
        `sed 's/^ *//' | tr '\\n' ';'`,
    )).stdout.trim();
    const md5s = () =>
      vm.run(
        l.disks.map((d) => `dd if=/dev/${d} bs=1M count=2 iflag=direct status=none | md5sum`)
          .join("; "),
      );
    const before = l.corruptCopyArea ? (await md5s()).stdout : "";
    const a = await assembleLane(vm, mdts, l);
    const out = `${a.stdout}${a.stderr}`.trim().replaceAll("\n", " | ");
    log(`${o.name}/${l.id}: at cut [${atCut}]; assemble (${l.resume}) exit ${a.code}: ${out}`);
    const r: LaneResult = {
      round: o.name,
      lane: l.id,
      shape: l.shape,
      grow: l.grow,
      resume: l.resume,
      rule: l.holdAt ? `${l.holdAt} (held)` : o.rule.kind + (o.rule.lane ? `@${o.rule.lane}` : ""),
      atCut,
      resumed: false,
      bytesDiffering: null,
      note: out.slice(0, 400),
      phase: "during",
      assembleExit: a.code,
    };
    if (l.corruptCopyArea) {
      const after = (await md5s()).stdout;
      const running = (await vm.run(`${VOL_OF}; vol_of ${l.disks[0]} 0`)).stdout.trim();
      r.refusedClean = a.code !== 0 && /Failed to restore critical section/.test(out) &&
        before === after && running === "";
      r.note += ` | data region unchanged: ${before === after}; volume running: ${running || "no"}`;
    }
    results.push(r);
  }
  // one deadline for every lane: a stuck lane must not hold the VM for long
  const deadline = Date.now() + (o.finishTimeoutMs ?? 300_000);
  for (const [i, l] of lanes.entries()) {
    if (l.corruptCopyArea) continue;
    const r = results[i];
    // a cut before the grow's first metadata write leaves nothing to resume: the volume
    // must come back in its old shape with its data
    const s = SHAPES[l.shape];
    const before = !/general migration/.test(r.atCut) &&
      new RegExp(`Members : ${s.members}(;|$)`).test(r.atCut);
    if (before) r.phase = "before";
    else if (!/general migration/.test(r.atCut)) r.phase = "after";
    r.resumed = await waitFinished(
      vm,
      l,
      Math.max(10_000, deadline - Date.now()),
      before ? s.members : s.grow,
    );
    r.bytesDiffering = r.resumed ? await bytesDiffering(vm, l) : null;
    if (!r.resumed) {
      const d = await vm.run(
        `cat /proc/mdstat; tail -n 5 /run/mdadm/*.grow.log; mdadm -E /dev/${l.disks[0]} | ` +
          `grep -E 'Migrate|Checkpoint|Members'`,
      );
      r.note += ` | not finished: ${d.stdout.replaceAll("\n", " / ").slice(0, 600)}`;
    }
    log(`${o.name}/${l.id}: resumed=${r.resumed} bytes differing=${r.bytesDiffering}`);
  }
  return results;
}

export function resultsTable(rows: LaneResult[]): string {
  const head = "| round | lane | shape | grown by | resumed by | cut | cut fell | state at cut | " +
    "finished | bytes differing |\n|---|---|---|---|---|---|---|---|---|---|\n";
  return head +
    rows.map((r) =>
      `| ${r.round} | ${r.lane} | ${r.shape} | ${r.grow} | ${r.resume} | ${r.rule} | ${r.phase} | ` +
      `${r.atCut.replaceAll("|", "/")} | ` +
      `${
        r.refusedClean !== undefined ? `refused: ${r.refusedClean}` : r.resumed ? "yes" : "no"
      } | ` +
      `${r.bytesDiffering ?? "-"} |`
    ).join("\n") + "\n";
}

/** Per tool pair: cut points (lanes cut inside their grow), how many finished, bytes lost. */
export function summaryTable(rows: LaneResult[]): string {
  const groups = new Map<string, LaneResult[]>();
  for (const r of rows.filter((x) => x.refusedClean === undefined)) {
    const key = `${r.grow} -> ${r.resume}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const lines = [
    "| grown by -> resumed by | cut points (inside the grow) | also cut before/after | " +
    "resumed and finished | bytes differing (sum) | lanes with any byte lost |",
    "|---|---|---|---|---|---|",
  ];
  for (const [key, rs] of groups) {
    const inside = rs.filter((r) => r.phase === "during");
    const lost = rs.filter((r) => (r.bytesDiffering ?? 0) > 0 || !r.resumed);
    lines.push(
      `| ${key} | ${inside.length} | ${rs.length - inside.length} | ` +
        `${inside.filter((r) => r.resumed).length}/${inside.length} | ` +
        `${rs.reduce((n, r) => n + (r.bytesDiffering ?? 0), 0)} | ${lost.length} |`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * The full matrix. mdts rounds: six lanes (two of each shape), five held at chosen events of
 * their own grow and one cut by the round's rule, so one boot gives six cut points; 10 rounds
 * = 20 per shape. mdadm 4.2 rounds: its grows cannot be held, so six lanes start 0-20 s apart
 * and one cut by time falls at a different point of each; 5 rounds = 10 per shape.
 */
export function matrix(): RoundOptions[] {
  const holds: Record<Shape, string[]> = {
    r5: [
      "ckpt:2",
      "ckpt:3",
      "ckpt:4",
      "ckpt:5",
      "ckpt:8",
      "copy:6",
      "ckpt:12",
      "ckpt:16",
      "ckpt:20",
    ],
    r0: ["ckpt:2", "ckpt:4", "ckpt:5", "ckpt:8", "copy:4", "ckpt:11", "ckpt:14", "ckpt:18"],
    r05: ["ckpt:4", "ckpt:8", "ckpt:12", "ckpt:16", "ckpt:20", "ckpt:24", "ckpt:28", "ckpt:32"],
  };
  const cutters: { rule: Rule; shape: Shape }[] = [
    { rule: { kind: "pos:10" }, shape: "r5" },
    { rule: { kind: "pos:60" }, shape: "r05" },
    { rule: { kind: "reshape-end:0" }, shape: "r5" },
    { rule: { kind: "size:0" }, shape: "r5" },
    { rule: { kind: "takeover-back:0" }, shape: "r0" },
    { rule: { kind: "pos:35" }, shape: "r0" },
    { rule: { kind: "takeover-back:0" }, shape: "r05" },
    { rule: { kind: "reshape-end:0" }, shape: "r05" },
    { rule: { kind: "pos:85" }, shape: "r5" },
    { rule: { kind: "time:30000" }, shape: "r0" },
  ];
  const shapes: Shape[] = ["r5", "r0", "r05", "r5", "r0", "r05"];
  const rounds: RoundOptions[] = [];
  let turn: Record<Shape, number> = { r5: 0, r0: 0, r05: 0 };
  cutters.forEach((c, i) => {
    let cutterPlaced = false;
    const lanes: Lane[] = shapes.map((shape, j) => {
      const id = `${shape}${j < 3 ? "a" : "b"}`.replace("r", "");
      if (!cutterPlaced && shape === c.shape) {
        cutterPlaced = true;
        return { id, shape, grow: "mdts", resume: "mdts" };
      }
      const list = holds[shape];
      const holdAt = list[turn[shape]++ % list.length];
      return { id, shape, grow: "mdts", resume: "mdts", holdAt };
    });
    const cutter = lanes.find((l) => l.holdAt === undefined)!;
    rounds.push({
      name: `t${String(i + 1).padStart(2, "0")}`,
      lanes,
      rule: { ...c.rule, lane: c.rule.kind.startsWith("time") ? undefined : cutter.id },
    });
  });
  turn = { r5: 0, r0: 0, r05: 0 };
  for (let i = 0; i < 5; i++) {
    const lanes: Lane[] = shapes.map((shape, j) => ({
      id: `m${shape.slice(1)}${j < 3 ? "a" : "b"}`,
      shape,
      grow: "mdadm",
      resume: "mdadm",
      delayMs: ((j * 4000) + i * 2500) % 20000,
    }));
    rounds.push({ name: `d${i + 1}`, lanes, rule: { kind: `time:${25000 + i * 9000}` } });
  }
  return rounds;
}

if (import.meta.main) {
  const only = Deno.args.map(Number).filter((n) => n > 0);
  const rounds = matrix().filter((_, i) => only.length === 0 || only.includes(i + 1));
  const out = new URL("./crash_results.md", import.meta.url).pathname;
  const all: LaneResult[] = [];
  const failed: string[] = [];
  const text = () =>
    summaryTable(all) + "\n" + resultsTable(all) +
    (failed.length ? `\nRounds that failed before a result:\n\n${failed.join("\n")}\n` : "");
  for (const r of rounds) {
    try {
      all.push(...await runRound(r));
    } catch (e) {
      const msg = (e as Error).message.slice(0, 1500).replaceAll("\n", " / ");
      failed.push(`- ${r.name} (${r.rule.kind}): ${msg}`);
      console.log(`${r.name}: round failed: ${msg}`);
    }
    await Deno.writeTextFile(out, text());
  }
  console.log(text());
}
