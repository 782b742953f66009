/**
 * Power cuts during container OCE on a real kernel, and the resume after them.
 *
 * One round = one boot with several lanes, each lane its own container on its own disks
 * (raid5 3->4, raid0 2->3, raid0 + raid5 3->4), grown by mdts or by the real mdadm 4.2; one
 * power cut (at a time, or when an event of one lane happens), a boot on the same disks,
 * assembly by mdts or mdadm (which continue the reshape in the background), and for each
 * lane: did it finish, and how many bytes of each volume differ from the pattern written
 * before the grow (cmp against the pattern file kept on the host).
 *
 * Cut rules and hold points (events of one lane; ckpt/copy/unit/end are mdts only, through
 * MDTS_FAULT): `ckpt:N` right after its N-th migration-record write (one record = a write on
 * each of two disks), `copy:N` after its N-th copy-area write, `unit:I:U` right after the
 * first record at or past unit U of volume I is on both disks (the checkpoint of a window
 * ending there), `end:I` right after volume I's record was cleared; `pos:P[:I]` md passed P %
 * of volume I (default: the raid5 one): the middle of a window, `reshape-end:I` volume I's
 * reshape finished (before the migration end / size change), `size:I` volume I's array_size
 * changed, `takeover-back:I` volume I back to raid0; `time:MS` after the grows were launched.
 *
 * Lanes held at a point (`holdAt`) start first; the lane that cuts starts when every held
 * lane is at its point (a marker in the signal dir), so each held lane is cut exactly there.
 *
 * Run: `deno task test:crash-matrix [N...]` (rounds N of matrix(); one per run is kinder to
 * the shared VM): stores the rounds' rows in tests/vm/crash_results.json (replacing only
 * those rounds) and writes tests/vm/crash_results.md from every stored round.
 */
import { mdtsCommand, type RunResult, Vm } from "./harness/vm.ts";
import {
  type LaneResult,
  mergeRounds,
  parseStore,
  renderResults,
  type Shape,
  type StoredRound,
  type Tool,
} from "./crash_results.ts";

export type { LaneResult, Shape, Tool };
export { resultsTable, summaryTable } from "./crash_results.ts";

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
  /** mdts lanes: stop this lane's grow right after its event (`ckpt:N`, `copy:N`,
   * `unit:I:U`, `end:I`), then wait for the cut another lane triggers: several lanes cut at
   * chosen points in one boot. */
  holdAt?: string;
}

export interface Rule {
  /** time:MS | ckpt:N | copy:N | unit:I:U | end:I | pos:P[:I] | reshape-end:I | size:I |
   * takeover-back:I */
  kind: string;
  /** Lane whose event cuts (event rules). */
  lane?: string;
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
        // settle is only a wait: once udevd dropped its connection ("Failed to wait for
        // daemon to reply: Broken pipe", seen once in CI after the array had started)
        `udevadm settle; mdadm -C /dev/md/${v.name} -l ${v.level} -n ${s.members} ` +
          `${dev.slice(0, s.members).join(" ")} -z ${mib}M --assume-clean -R && ` +
          `{ udevadm settle || { sleep 2; udevadm settle; } || true; }`,
      ),
    );
  }
  const container = ok(await vm.run(`basename $(readlink -f /dev/md/${l.id})`)).trim();
  if (l.grow === "mdts") {
    // our monitor replaces mdmon 4.2 for the grow (as tests/vm/grow_oce.test.ts)
    // its writes logged next to the signal dir (kept by the host across the cut)
    vm.start(
      `MDTS_WRITE_LOG=$MDTS_VM_SIGNALS/../monitor-writes-${l.id}.log ${mdts} mdmon ` +
        `--foreground --takeover ${container} 2>>/run/mdmon-${container}.log`,
    );
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

/** How long the lane that cuts waits for the held lanes to reach their points. */
const HOLD_WAIT_S = 420;

/**
 * `waitHolds`: held lanes to wait for (their markers held-<id>) before this lane starts.
 * mdts lanes log their writes next to the signal dir (kept by the host across the cut).
 */
function growCommand(mdts: string, l: Placed, env: string, waitHolds: string[] = []): string {
  const n = SHAPES[l.shape].grow;
  const delay = l.delayMs ? `sleep ${l.delayMs / 1000}; ` : "";
  const wait = waitHolds.length === 0 ? "" : `for i in $(seq ${HOLD_WAIT_S * 5}); do ` +
    waitHolds.map((id) => `[ -e $MDTS_VM_SIGNALS/held-${id} ]`).join(" && ") +
    ` && break; sleep 0.2; done; `;
  const tool = l.grow === "mdts"
    ? `MDTS_WRITE_LOG=$MDTS_VM_SIGNALS/../writes-${l.id}.log ${env} ${mdts}`
    : "mdadm";
  // both tools leave the grow to a detached child (its command line ends like the parent's):
  // the end marker says the whole grow ended before the cut (where the cut fell, runRound)
  const child = `grow /dev/md/${l.id} --raid-devices=${n}$`;
  return `${wait}${delay}${tool} --grow /dev/md/${l.id} --raid-devices=${n} ` +
    `>>${"$MDTS_VM_SIGNALS"}/../grow-${l.id}.log 2>&1; rc=$?; ` +
    `while pgrep -f '${child}' >/dev/null; do sleep 1; done; ` +
    `echo $rc > ${"$MDTS_VM_SIGNALS"}/../grow-ended-${l.id}`;
}

/** A guest script that runs vm_signal cut when the rule's event happens. */
function watcher(rule: Rule, l: Placed): string | null {
  const [kind, arg] = rule.kind.split(":");
  const sys = (i: string) =>
    `${VOL_OF}; while [ -z "$V" ]; do V=$(vol_of ${l.disks[0]} ${i}); ` +
    `sleep 0.2; done; A=/sys/block/$V/md`;
  switch (kind) {
    case "pos": {
      const which = rule.kind.split(":")[2];
      const vol = which !== undefined
        ? l.volumes[Number(which)]
        : l.volumes.find((v) => v.level === 5) ?? l.volumes[0];
      if (!vol) throw new Error(`rule ${rule.kind}: lane ${l.id} has no volume ${which}`);
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

/** Migration units of volume `index` of a shape (1 MiB of each member per unit). */
export function unitsOf(shape: Shape, index: number): number {
  const v = SHAPES[shape].vols[index];
  if (!v) throw new Error(`shape ${shape} has no volume ${index}`);
  return v[1];
}

const WRITE_EVENTS = ["ckpt", "copy", "unit", "end"];

/** The MDTS_FAULT rule (without action) that stops an mdts grow at event `kind` of lane `l`. */
export function faultPoint(kind: string, l: { id: string; shape: Shape }): string {
  const [k, a, b] = kind.split(":");
  const volume = (i: string) => `${l.id}v${Number(i)}`;
  switch (k) {
    case "ckpt":
    case "copy": {
      const purpose = k === "ckpt" ? "migration-record" : "copy-area";
      return `purpose=${purpose},after=${Number(a) - 1}`;
    }
    case "unit": // both disks of the first record at or past the unit
      return `purpose=migration-record,volume=${volume(a)},unit=${Number(b)},after=1`;
    case "end": // the record cleared on both disks (the end itself is not recorded)
      return `purpose=migration-record,volume=${volume(a)},unit=${
        unitsOf(l.shape, Number(a))
      },after=1`;
    default:
      throw new Error(`${kind} is not a write event (${WRITE_EVENTS.join(", ")})`);
  }
}

function faultEnv(rule: Rule, l: Placed): string {
  const [kind] = rule.kind.split(":");
  if (rule.lane === l.id && WRITE_EVENTS.includes(kind)) {
    return `MDTS_FAULT=${faultPoint(rule.kind, l)},action=signal,when=after ` +
      `MDTS_FAULT_MARKER=$MDTS_VM_SIGNALS/cut`;
  }
  // a lane held at its own event until another lane's event cuts the power; its marker
  // tells the lane that cuts to start
  if (l.holdAt) {
    return `MDTS_FAULT=${faultPoint(l.holdAt, l)},action=signal,when=after ` +
      `MDTS_FAULT_MARKER=$MDTS_VM_SIGNALS/held-${l.id}`;
  }
  return "";
}

/** The last reshape write of an MDTS_WRITE_LOG (tab-separated lines of kernel/writes.ts). */
export function lastReshapeWrite(log: string): string | undefined {
  const counts: Record<string, number> = {};
  let last: string | undefined;
  for (const line of log.split("\n")) {
    const f = line.split("\t");
    if (f[1] !== "write" || (f[5] !== "migration-record" && f[5] !== "copy-area")) continue;
    counts[f[5]] = (counts[f[5]] ?? 0) + 1;
    const what = f[7] ? JSON.parse(f[7]) as string : "";
    last = `${f[5]} write #${counts[f[5]]}: ${what}`;
  }
  return last;
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
  // the monitor and the background grow-continue started by the assembly log for diag()
  const tool = l.resume === "mdts"
    ? `MDTS_MDMON_LOG=/run/mdts-mon-${l.id}.log MDTS_GROW_DEBUG=1 ${mdts}`
    : "mdadm";
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

/** Guest commands that say why a lane's reshape did not finish (kept in the work dir). */
function diag(l: Placed): string {
  const attrs = "level array_state sync_action reshape_position reshape_direction sync_max " +
    "sync_min sync_completed suspend_lo suspend_hi raid_disks degraded chunk_size layout " +
    "array_size metadata_version";
  return [
    VOL_OF,
    "date",
    "cat /proc/mdstat",
    ...l.volumes.map((_v, i) =>
      `V=$(vol_of ${l.disks[0]} ${i}); echo "== volume ${i}: $V"; ` +
      `for f in ${attrs}; do echo "$f=$(cat /sys/block/$V/md/$f 2>&1)"; done`
    ),
    `mdadm -E /dev/${l.disks[0]}`,
    "ps -eo pid,ppid,etimes,stat,args | grep -E 'mdmon|mod.ts|mdadm|mdts' | grep -v grep",
    "for f in /run/mdadm/*.grow.log /run/mdts-mon-*.log /run/mdmon-*.log; do " +
    'echo "== $f"; tail -n 60 "$f"; done',
    "ls -la /run/mdadm",
    "dmesg | tail -n 60",
  ].join("; ");
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
  /** Called once the round has the VM (after waiting for the lock): when it really ran. */
  onVm?: () => void;
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
  o.onVm?.();
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
  const cut = kind === "time" ? null : vm.cutOnSignal("cut", { timeoutMs: 900_000 });
  // the host's view of the guest's signal dir and of the dir next to it (the write logs)
  const signals = vm.signalPath("x").slice(0, -2);
  const chanDir = signals.replace(/\/signals\/?$/, "");
  const held = lanes.filter((l) => l.holdAt).map((l) => l.id);
  for (const l of lanes) {
    vm.start(growCommand(mdts, l, faultEnv(o.rule, l), l.holdAt ? [] : held));
  }
  const info = kind === "time" ? await vm.cutAfter(Number(arg)) : await cut!;
  log(`${o.name}: cut ${JSON.stringify(info)}`);
  const exists = (path: string) => {
    try {
      Deno.statSync(path);
      return true;
    } catch {
      return false;
    }
  };
  const heldThere = new Map(held.map((id) => [id, exists(`${signals}/held-${id}`)]));
  const ended = new Map(lanes.map((l) => [l.id, exists(`${chanDir}/grow-ended-${l.id}`)]));
  const lastWrites = new Map<string, string | undefined>();
  const monitorRecords = new Map<string, number>();
  for (const l of lanes.filter((x) => x.grow === "mdts")) {
    const text = await Deno.readTextFile(`${chanDir}/writes-${l.id}.log`).catch(() => "");
    lastWrites.set(l.id, lastReshapeWrite(text) ?? "none");
    const mon = await Deno.readTextFile(`${chanDir}/monitor-writes-${l.id}.log`).catch(() => "");
    monitorRecords.set(
      l.id,
      mon.split("\n").filter((x) => x.split("\t")[5] === "migration-record" && !/cleared/.test(x))
        .length,
    );
  }
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
      held: heldThere.get(l.id),
      lastWrite: lastWrites.get(l.id),
      monitorRecordWrites: monitorRecords.get(l.id),
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
    // a cut before the grow's metadata update leaves nothing to resume: the volume must
    // come back in its old shape with its data
    const s = SHAPES[l.shape];
    const oldShape = !/general migration/.test(r.atCut) &&
      new RegExp(`Members : ${s.members}(;|$)`).test(r.atCut);
    r.phase = cutPhase(
      r.atCut,
      oldShape,
      ended.get(l.id)!,
      l.grow === "mdts" && !!r.lastWrite && r.lastWrite !== "none",
    );
    r.resumed = await waitFinished(
      vm,
      l,
      Math.max(10_000, deadline - Date.now()),
      oldShape ? s.members : s.grow,
    );
    r.bytesDiffering = r.resumed ? await bytesDiffering(vm, l) : null;
    if (!r.resumed) {
      const file = `${vm.workDir}/diag-${o.name}-${l.id}.txt`;
      await vm.run(`{ ${diag(l)}; } > ${file} 2>&1`, { timeoutMs: 60_000 });
      const grow = await vm.run(`tail -n 3 /run/mdadm/*.grow.log 2>/dev/null`);
      r.note += ` | not finished (all in ${file.slice(file.lastIndexOf("/") + 1)} of the work ` +
        `dir): ${grow.stdout.replaceAll("\n", " / ").slice(0, 800)}`;
    }
    log(`${o.name}/${l.id}: resumed=${r.resumed} bytes differing=${r.bytesDiffering}`);
  }
  return results;
}

/**
 * Where a cut fell in a lane's grow. The grow's child had ended: after. The metadata in the old
 * shape, not migrating: before, unless mdts had written its first unit's backup and record
 * (prepared: nothing to resume, the old shape comes back). Migrating: during. The migration
 * ended but the grow still running (size change, takeover back, the next volume's start):
 * finishing.
 */
export function cutPhase(
  atCut: string,
  oldShape: boolean,
  growEnded: boolean,
  mdtsWroteBackup: boolean,
): LaneResult["phase"] {
  if (growEnded) return "after";
  if (/general migration/.test(atCut)) return "during";
  if (oldShape) return mdtsWroteBackup ? "prepared" : "before";
  return "finishing";
}

/**
 * Hold points of each shape (`holdAt`), spread over the whole grow. Units are 1 MiB of each
 * member: r5 and r0 have 16 (units 0-2 go through the copy area), r05 8 per volume (raid0
 * 3->4: units 0-3 through the copy area; raid5 3->4: 0-2). A record is two writes (slot 0 and
 * 1 disks); a critical unit is a record (status 1, after its copy area) and one after its
 * window (status 0, the next unit); the copy area is one write per disk of the container.
 * Unit 0 of the first volume is backed up and recorded before the metadata update (records
 * #1-#2, copy-area writes of unit 0: nothing migrates yet, a cut there is "prepared") and
 * recorded again once the volume migrates (#3-#4). Rounds stored before 2026-11-25 ran the
 * older order (#1-#2 unit 0 in place, #3-#4 unit 0 in the copy area).
 */
export const HOLDS: Record<Shape, string[]> = {
  r5: [
    "ckpt:2", // unit 0 backed up and recorded on both disks, no migration yet (prepared)
    "copy:2", // unit 0's backup on 2 of the 4 disks, no record yet (prepared)
    "ckpt:3", // migrating; unit 0's record rewritten on one disk only
    "ckpt:4", // unit 0 in the copy area, recorded on both disks (restore at assembly)
    "ckpt:6", // window 0 done: unit 1 recorded
    "copy:6", // unit 1's backup torn
    "ckpt:8", // unit 1 in the copy area
    "ckpt:12", // unit 2 in the copy area
    "ckpt:14", // the last critical window done: unit 3 recorded
    "unit:0:5",
    "unit:0:7",
    "unit:0:9",
    "unit:0:11",
    "unit:0:13",
    "unit:0:15",
    "end:0", // the last record cleared: reshape done, migration not yet ended
  ],
  r0: [
    "ckpt:1", // unit 0's early record on one disk only (prepared)
    "ckpt:2", // on both (prepared)
    "copy:2", // unit 0's backup on 2 of the 3 disks (prepared)
    "ckpt:4",
    "copy:5", // unit 1's backup torn
    "ckpt:6",
    "ckpt:8",
    "ckpt:10",
    "ckpt:12",
    "ckpt:14",
    "unit:0:4",
    "unit:0:6",
    "unit:0:8",
    "unit:0:10",
    "unit:0:12",
    "unit:0:14",
    "end:0", // reshape done, still raid4, before the size change and the takeover back
  ],
  r05: [
    // volume 0 (raid0 3->4, run as raid4): units 0-3 through the copy area
    "ckpt:2", // unit 0 backed up and recorded, no migration yet (prepared)
    "copy:3", // unit 0's backup on 3 of the 4 disks (prepared)
    "ckpt:4", // migrating, unit 0 in the copy area
    "unit:0:2", // unit 2 recorded (both disks), before its backup
    "ckpt:12", // unit 2 in the copy area
    "copy:14", // unit 3's backup torn
    "ckpt:16", // unit 3 in the copy area
    "unit:0:4", // unit 4 recorded: past the critical section
    "unit:0:6",
    // volume 0 done, volume 1 not begun: before session 7 "end:0" (volume 0's record cleared);
    // since, mdts hands volume 1's record to the monitor and volume 0's is not cleared, so
    // this point is volume 1's unit 0 backed up during volume 0's last windows
    "copy:17",
    // volume 1 (raid5 3->4): units 0-2 through the copy area
    "unit:1:0", // volume 1's first record
    "unit:1:1",
    "unit:1:2",
    "unit:1:3",
    "unit:1:5",
    "unit:1:7",
    "end:1",
  ],
};

/**
 * Rules of the lane that cuts the power in each mdts round: the middle of a window (early,
 * in the critical section, and late), the end of the reshape before the migration ends, the
 * final size change, the backward takeover to raid0.
 */
export const CUTTERS: { rule: string; shape: Shape }[] = [
  { rule: "pos:10", shape: "r5" }, // inside unit 1's window (a copy-area unit)
  { rule: "pos:40", shape: "r0" },
  { rule: "pos:40:0", shape: "r05" }, // the raid0 volume, run as raid4
  { rule: "size:0", shape: "r5" },
  { rule: "takeover-back:0", shape: "r0" },
  { rule: "pos:60:1", shape: "r05" }, // the raid5 volume, the raid0 one done
  { rule: "pos:75", shape: "r5" },
  { rule: "size:0", shape: "r0" },
  { rule: "takeover-back:0", shape: "r05" }, // between the two volumes
  { rule: "reshape-end:0", shape: "r5" },
];

/**
 * The full matrix. mdts rounds: six lanes (two of each shape), five held at points of their
 * own grow (HOLDS, each used once) and one cutting by the round's rule (CUTTERS), so one boot
 * gives six cut points; 10 rounds = 20 per shape. mdadm 4.2 rounds: its grows cannot be
 * held, so six lanes start 0-20 s apart and the cut (by time, or at an event of one lane)
 * falls at a different point of each; 5 rounds = 10 per shape. Round 16 (x1): grows by mdadm
 * 4.2 resumed by mdts, and grows by mdts resumed by mdadm 4.2, one lane of each shape each;
 * round 19 (x2) the same, cut later. Rounds 17-18: INTEROP_ROUNDS. Round 20: T11.
 */
export function matrix(): RoundOptions[] {
  const shapes: Shape[] = ["r5", "r0", "r05", "r5", "r0", "r05"];
  const rounds: RoundOptions[] = [];
  const turn: Record<Shape, number> = { r5: 0, r0: 0, r05: 0 };
  CUTTERS.forEach((c, i) => {
    let cutterPlaced = false;
    const lanes: Lane[] = shapes.map((shape, j) => {
      const id = `${shape}${j < 3 ? "a" : "b"}`.replace("r", "");
      if (!cutterPlaced && shape === c.shape) {
        cutterPlaced = true;
        return { id, shape, grow: "mdts", resume: "mdts" };
      }
      const holdAt = HOLDS[shape][turn[shape]++];
      if (holdAt === undefined) throw new Error(`HOLDS.${shape}: too few hold points`);
      return { id, shape, grow: "mdts", resume: "mdts", holdAt };
    });
    const cutter = lanes.find((l) => l.holdAt === undefined)!;
    rounds.push({
      name: `t${String(i + 1).padStart(2, "0")}`,
      lanes,
      rule: { kind: c.rule, lane: cutter.id },
    });
  });
  const mdadmRules: Rule[] = [
    { kind: "time:25000" },
    { kind: "pos:40", lane: "m0a" },
    { kind: "size:0", lane: "m5a" },
    { kind: "takeover-back:0", lane: "m05a" },
    { kind: "time:52000" },
  ];
  mdadmRules.forEach((rule, i) => {
    const lanes: Lane[] = shapes.map((shape, j) => ({
      id: `m${shape.slice(1)}${j < 3 ? "a" : "b"}`,
      shape,
      grow: "mdadm",
      resume: "mdadm",
      delayMs: ((j * 4000) + i * 2500) % 20000,
    }));
    rounds.push({ name: `d${i + 1}`, lanes, rule });
  });
  // interop: each tool resumes the other's grows, cut wherever staggered starts put them
  const interop = (delays: number[]): Lane[] =>
    shapes.map((shape, j) => {
      const byMdadm = j < 3;
      return {
        id: `${byMdadm ? "x" : "y"}${shape.slice(1)}`,
        shape,
        grow: byMdadm ? "mdadm" : "mdts",
        resume: byMdadm ? "mdts" : "mdadm",
        delayMs: delays[j],
      };
    });
  // mdadm 4.2's grows take ~30 s here; mdts's, three at once on the VM's one CPU, reach
  // their first record write only after ~40 s (at 62ffa22 y5/y0 started at 8 s/5 s were cut
  // before it): all mid-grow at 45 s
  rounds.push({
    name: "x1",
    lanes: interop([25000, 30000, 20000, 0, 0, 0]),
    rule: { kind: "time:45000" },
  });
  rounds.push(...INTEROP_ROUNDS);
  // round 19: later in each grow: mdadm's 20-35 s in, mdts's well into their reshapes
  rounds.push({
    name: "x2",
    lanes: interop([45000, 50000, 35000, 0, 0, 0]),
    rule: { kind: "time:70000" },
  });
  rounds.push(T11);
  return rounds;
}

/**
 * Rounds 17-18 (i1, i2; also tests/vm/crash_interop.test.ts): mdts grows held around the start
 * of each volume's migration and resumed by mdadm 4.2, which starts a volume recorded as
 * migrating with its record at unit 0 in place in its new shape (core/grow/run.ts
 * prepareFirstUnit, prepareNextUnit); and mdadm 4.2's raid0 + raid5 grow cut at its backward
 * takeover, resumed by mdts (mdmon 4.2 may have applied volume 0's last checkpoint to volume 1).
 */
export const INTEROP_ROUNDS: RoundOptions[] = [
  {
    name: "i1",
    lanes: [
      // before the metadata update (nothing migrates yet: the old shape comes back), and
      // just after it (the record rewritten on the first disk: unit 0 restored, then on)
      { id: "p1", shape: "r0", grow: "mdts", resume: "mdadm", holdAt: "ckpt:2" },
      { id: "p2", shape: "r0", grow: "mdts", resume: "mdadm", holdAt: "ckpt:3" },
      { id: "q1", shape: "r5", grow: "mdts", resume: "mdadm", holdAt: "ckpt:2" },
      { id: "q2", shape: "r5", grow: "mdts", resume: "mdadm", holdAt: "ckpt:3" },
      { id: "c", shape: "r0", grow: "mdts", resume: "mdadm" },
    ],
    rule: { kind: "pos:20", lane: "c" },
  },
  {
    name: "i2",
    lanes: [
      // volume 0 has 4 critical units on 4 disks: copy-area write 18 is volume 1's unit 0,
      // backed up during volume 0's last windows
      { id: "e2", shape: "r05", grow: "mdts", resume: "mdadm", holdAt: "copy:18" },
      { id: "e3", shape: "r05", grow: "mdts", resume: "mdadm", holdAt: "unit:1:0" },
      { id: "g", shape: "r05", grow: "mdadm", resume: "mdts" },
    ],
    rule: { kind: "takeover-back:0", lane: "g" },
  },
];

/**
 * Round 20 (t11): more mdts cut points inside the migrations, past the critical sections
 * (t01 holds five lanes at their first unit's early backup, before the metadata migrates).
 */
export const T11: RoundOptions = {
  name: "t11",
  lanes: [
    { id: "5a", shape: "r5", grow: "mdts", resume: "mdts", holdAt: "unit:0:6" },
    { id: "0a", shape: "r0", grow: "mdts", resume: "mdts", holdAt: "unit:0:5" },
    { id: "05a", shape: "r05", grow: "mdts", resume: "mdts", holdAt: "unit:0:5" },
    { id: "5b", shape: "r5", grow: "mdts", resume: "mdts", holdAt: "unit:0:10" },
    { id: "0b", shape: "r0", grow: "mdts", resume: "mdts", holdAt: "unit:0:9" },
    { id: "05b", shape: "r05", grow: "mdts", resume: "mdts" },
  ],
  rule: { kind: "pos:30:1", lane: "05b" },
};

function commitId(): string {
  const git = (...args: string[]) =>
    new TextDecoder().decode(
      new Deno.Command("git", { args, cwd: new URL(".", import.meta.url).pathname }).outputSync()
        .stdout,
    ).trim();
  // the results files this driver writes between rounds do not make the code dirty
  const dirty = git(
      "status",
      "--porcelain",
      "--untracked-files=no",
      "--",
      ":(top,exclude)tests/vm/crash_results.json",
      ":(top,exclude)tests/vm/crash_results.md",
    ) !== ""
    ? "+dirty"
    : "";
  return git("rev-parse", "--short", "HEAD") + dirty;
}

if (import.meta.main) {
  const all = matrix();
  const only = Deno.args.map(Number);
  if (only.some((n) => !Number.isInteger(n) || n < 1 || n > all.length)) {
    console.error(`rounds are numbers 1..${all.length}: ${Deno.args.join(" ")}`);
    Deno.exit(2);
  }
  const json = new URL("./crash_results.json", import.meta.url).pathname;
  const md = new URL("./crash_results.md", import.meta.url).pathname;
  for (const [i, r] of all.entries()) {
    if (only.length && !only.includes(i + 1)) continue;
    // a round may wait long for the VM: its date and commit are taken when it gets it
    let date = new Date().toISOString();
    let commit = commitId();
    r.onVm = () => {
      date = new Date().toISOString();
      commit = commitId();
    };
    const rule = r.rule.kind + (r.rule.lane ? `@${r.rule.lane}` : "");
    let stored: StoredRound;
    try {
      stored = { number: i + 1, name: r.name, rule, date, commit, rows: await runRound(r) };
    } catch (e) {
      const msg = (e as Error).message.slice(0, 1500).replaceAll("\n", " / ");
      console.log(`${r.name}: round failed: ${msg}`);
      stored = { number: i + 1, name: r.name, rule, date, commit, rows: [], failed: msg };
    }
    const text = await Deno.readTextFile(json).catch(() => null);
    const store = mergeRounds(parseStore(text), [stored]);
    await Deno.writeTextFile(json, JSON.stringify(store, null, 1) + "\n");
    await Deno.writeTextFile(md, renderResults(store, all.length));
    // committed files: in the project's format (deno fmt aligns the tables)
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", json, md] }).output();
    console.log(renderResults({ rounds: [stored] }, all.length));
  }
}
