/**
 * `--grow`: container OCE (`--raid-devices=N` on an IMSM container). `--dry-run` / `--json`
 * print the plan and write nothing. Otherwise the plan runs (core/grow/run.ts): in the
 * foreground with a progress line on a terminal (or with MDTS_GROW_FOREGROUND=1), else as
 * mdadm does: "multi-array reshape continues in background" and a detached child of this
 * program runs it (MDTS_GROW_CHILD=1), logging to /run/mdadm/CONTAINER.grow.log, its pid in
 * /run/mdadm/CONTAINER.grow.pid while it runs. `--backup-file` is accepted and ignored (IMSM
 * keeps its backup in the copy area on the disks).
 */
import type { GrowCommand } from "./command.ts";
import type { Io, System } from "./run.ts";
import { guarded, hostOf } from "./lifecycle_common.ts";
import { refuse } from "../core/lifecycle/errors.ts";
import { mdDevnmOf } from "../core/lifecycle/devices.ts";
import { containerDisks } from "../core/monitor/container_model.ts";
import { loadContainer } from "../core/imsm/store.ts";
import { externalMemberOf } from "../kernel/md/mdstat.ts";
import { diskSerial } from "../meta/imsm/accessors.ts";
import type { Kernel } from "../kernel/interface.ts";
import type { ImsmContainer } from "../meta/imsm/edit/container.ts";
import { type GrowFacts, type GrowPlan, planGrow } from "../core/grow/plan.ts";
import { GrowError, runGrowPlan } from "../core/grow/run.ts";
import { planMigration } from "../core/grow/migrate_plan.ts";
import {
  runTakeoverToRaid0,
  runTakeoverToRaid10,
  TakeoverRunError,
} from "../core/grow/migrate_takeover.ts";
import { SocketMonitorLink } from "../core/grow/monitor_link.ts";
import { progressLine } from "../core/grow/progress.ts";
import { ensureMonitor } from "../core/lifecycle/monitor_start.ts";
import { selfCommand } from "../core/monitor/launch.ts";
import { runGrowContinue } from "./grow_continue.ts";

export function runGrow(cmd: GrowCommand, prog: string, system: System, io: Io) {
  if (cmd.action === "continue") return runGrowContinue(cmd, prog, system, io);
  return guarded(io, prog, async () => {
    const volumeChange = cmd.level !== undefined || cmd.chunkKiB !== undefined ||
      cmd.layout !== undefined;
    if (cmd.action !== "reshape" || (cmd.raidDevices === undefined && !volumeChange)) {
      refuse(
        `--grow ${cmd.action} is not implemented in mdts yet; only --raid-devices on an ` +
          `IMSM container and --level/--chunk on an IMSM volume are`,
      );
    }
    const kernel = system.kernel();
    const host = hostOf(system);
    const devnm = await mdDevnmOf(kernel, host, cmd.device);
    if (devnm === null) refuse(`${cmd.device} does not appear to be an md device`);
    const v = await kernel.array(devnm).metadataVersion();
    if (v.kind === "external-member") {
      if (!volumeChange) {
        refuse("--raid-devices operation can be performed on a container only");
      }
      return await migrateVolume(cmd, prog, system, io, devnm, v.container, Number(v.subarray));
    }
    if (v.kind !== "external-container") {
      refuse(`${cmd.device} is not an IMSM container; mdts grows IMSM containers only`);
    }
    if (volumeChange) {
      refuse(
        `${cmd.device} is a container: --level, --chunk and --layout apply to one of its ` +
          `volumes (e.g. --grow /dev/md/VOLUME --chunk=256)`,
      );
    }
    const disks = await containerDisks(kernel, devnm, (k) => host.env(k));
    if (disks.length === 0) refuse(`${cmd.device} has no disks with IMSM metadata`);
    const c = await loadContainer(kernel.blocks, disks.map((d) => d.path));
    const facts = await growFacts(kernel, devnm, c, disks);
    const decision = planGrow(c, facts, { raidDevices: cmd.raidDevices!, force: cmd.force });
    if (!decision.ok) {
      for (const r of decision.refusals) io.err(`${prog}: ${r.message}\n`);
      return 1;
    }
    if (cmd.json) {
      io.out(JSON.stringify(decision.plan, null, 2) + "\n");
      return 0;
    }
    if (cmd.dryRun) {
      io.out(renderPlan(cmd.device, decision.plan));
      return 0;
    }
    return await execute(prog, system, io, devnm, disks, decision.plan);
  });
}

/**
 * `--grow /dev/md/VOLUME --level=L | --chunk=K`: the volume's container is loaded, the
 * change planned (core/grow/migrate_plan.ts) and run by the same window driver as an OCE.
 */
async function migrateVolume(
  cmd: GrowCommand,
  prog: string,
  system: System,
  io: Io,
  volumeDevnm: string,
  container: string,
  index: number,
): Promise<number> {
  const kernel = system.kernel();
  const host = hostOf(system);
  const disks = await containerDisks(kernel, container, (k) => host.env(k));
  if (disks.length === 0) refuse(`/dev/${container} has no disks with IMSM metadata`);
  const c = await loadContainer(kernel.blocks, disks.map((d) => d.path));
  const facts = await growFacts(kernel, container, c, disks);
  if (!Number.isInteger(index) || facts.volumeDevices[index] !== volumeDevnm) {
    refuse(
      `${cmd.device} (/dev/${volumeDevnm}) is not volume ${index} of /dev/${container} as ` +
        `its metadata says; re-assemble the container`,
    );
  }
  const decision = planMigration(c, facts, {
    volumeIndex: index,
    device: cmd.device,
    level: typeof cmd.level === "number" ? cmd.level : undefined,
    chunkKiB: cmd.chunkKiB,
    layout: cmd.layout,
    raidDevices: cmd.raidDevices,
    sizeGiven: cmd.sizeKiB !== undefined || cmd.arraySizeKiB !== undefined,
  });
  if (typeof cmd.level === "string") {
    refuse(`${cmd.device}: IMSM volumes cannot become ${cmd.level}`);
  }
  if (!decision.ok) {
    for (const r of decision.refusals) io.err(`${prog}: ${r.message}\n`);
    return 1;
  }
  if (decision.takeover) {
    const t = decision.takeover;
    if (cmd.json) {
      io.out(JSON.stringify(t, null, 2) + "\n");
      return 0;
    }
    if (cmd.dryRun) {
      const change = t.kind === "takeover-to-raid0"
        ? `drop (become spares): ${t.drop.join(", ")}`
        : `rebuilt onto (spares): ${t.spares.join(", ")}`;
      io.out(
        `Plan: takeover ${cmd.device} (volume ${t.name} of /dev/${container}): raid${t.from.level} ` +
          `${t.from.members} disks -> raid${t.to.level} ${t.to.members} ` +
          `disk${t.to.members === 1 ? "" : "s"} (dry run, nothing written)\n  keep: ` +
          `${t.keep.join(", ")}\n  ${change}\n  size: ${t.arraySectors / 2} KiB (unchanged, ` +
          `no data moves)\n`,
      );
      return 0;
    }
    const link = await monitorLink(host, container);
    const ctx = {
      kernel,
      monitor: link,
      disks,
      load: () => loadContainer(kernel.blocks, disks.map((d) => d.path)),
      log: host.env("MDTS_GROW_DEBUG") ? (m: string) => io.err(`${prog}: ${m}\n`) : undefined,
    };
    try {
      if (t.kind === "takeover-to-raid10") {
        await runTakeoverToRaid10({ ...ctx, plan: t });
      } else {
        await runTakeoverToRaid0({ ...ctx, plan: t });
      }
      // mdadm 4.2 says so after writing md's level
      io.err(`${prog}: level of ${cmd.device} changed to raid${t.to.level}\n`);
    } catch (e) {
      if (e instanceof TakeoverRunError) {
        io.err(`${prog}: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    return 0;
  }
  const plan = decision.plan;
  if (cmd.json) {
    io.out(JSON.stringify(plan, null, 2) + "\n");
    return 0;
  }
  if (cmd.dryRun) {
    io.out(renderPlan(cmd.device, plan));
    return 0;
  }
  return await execute(prog, system, io, container, disks, plan);
}

/**
 * As mdadm's check_mdmon_version: the monitor must answer before anything is frozen; asked
 * first over its socket (its pid file may name a process this host cannot see).
 */
async function monitorLink(host: ReturnType<typeof hostOf>, devnm: string) {
  const link = new SocketMonitorLink(devnm, (ct) => host.monitorSocket(ct));
  try {
    await link.ping();
  } catch {
    const monitorProblem = await ensureMonitor(host, devnm);
    if (monitorProblem !== null) {
      refuse(
        `cannot start the monitor for /dev/${devnm}: ${monitorProblem}; nothing was changed`,
      );
    }
    try {
      await link.ping();
    } catch (e) {
      refuse(`${(e as Error).message}; nothing was changed`);
    }
  }
  return link;
}

/** Runs a plan: the monitor must answer first; then in the foreground or a detached child. */
async function execute(
  prog: string,
  system: System,
  io: Io,
  devnm: string,
  disks: Awaited<ReturnType<typeof containerDisks>>,
  plan: GrowPlan,
): Promise<number> {
  const kernel = system.kernel();
  const host = hostOf(system);
  const link = await monitorLink(host, devnm);
  const child = host.env("MDTS_GROW_CHILD") === "1";
  const foreground = child || host.env("MDTS_GROW_FOREGROUND") === "1" || isTerminal();
  if (!foreground) {
    const problem = await startChild(devnm);
    if (problem !== null) refuse(`cannot start the grow in the background: ${problem}`);
    io.err(`${prog}: multi-array reshape continues in background\n`);
    return 0;
  }
  const tty = !child && isTerminal();
  const pidFile = child ? growPidPath(devnm) : null;
  if (pidFile) await Deno.writeTextFile(pidFile, `${Deno.pid}\n`).catch(() => {});
  try {
    await runGrowPlan({
      kernel,
      monitor: link,
      plan,
      disks,
      load: () => loadContainer(kernel.blocks, disks.map((d) => d.path)),
      log: host.env("MDTS_GROW_DEBUG") ? (m) => io.err(`${prog}: ${m}\n`) : undefined,
      progress: (p) => {
        if (tty) io.err(`\r${progressLine(p)}\x1b[K`);
        else if (child) io.err(`${progressLine(p)}\n`);
      },
    });
    if (tty) io.err("\n");
    return 0;
  } catch (e) {
    if (tty) io.err("\n");
    if (e instanceof GrowError) {
      io.err(`${prog}: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    if (pidFile) await Deno.remove(pidFile).catch(() => {});
  }
}

function isTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

export function growPidPath(devnm: string): string {
  return `/run/mdadm/${devnm}.grow.pid`;
}

/**
 * How long a live grow child may take to say it runs. Only a guard against a child stuck
 * before its first line: a slow start is waited for (seen over 120 s in a TCG guest running
 * six monitors), since it leaves nothing half done either way.
 */
const CHILD_START_LIMIT_MS = 600_000;
/** After this, the wait is said on stderr once. */
const CHILD_START_NOTICE_MS = 15_000;

/** Re-runs this very command detached, as the grow child; error text or null. */
async function startChild(devnm: string): Promise<string | null> {
  try {
    await Deno.mkdir("/run/mdadm", { recursive: true });
    const env = Deno.env.toObject();
    env.MDTS_GROW_CHILD = "1";
    env.MDTS_GROW_LOG = `/run/mdadm/${devnm}.grow.log`;
    // the shell points the child's output at the log file, so it outlives this process
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", 'exec "$0" "$@" >>"$MDTS_GROW_LOG" 2>&1', ...selfCommand(), ...Deno.args],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
    let exited: Deno.CommandStatus | null = null;
    child.status.then((st) => (exited = st));
    const pidFile = growPidPath(devnm);
    // the child is a new runtime that loads this program again: on a loaded or slow machine
    // (seen: a TCG guest running other monitors) that alone took over 15 s. While it lives
    // and has not said it runs (pid file), it is still starting.
    const started = Date.now();
    const deadline = started + CHILD_START_LIMIT_MS;
    let told = false;
    while (Date.now() < deadline && exited === null) {
      if (!told && Date.now() - started > CHILD_START_NOTICE_MS) {
        told = true;
        console.error(`mdts: waiting for the grow child of /dev/${devnm} to start (slow machine)`);
      }
      const pid = Number((await Deno.readTextFile(pidFile).catch(() => "")).trim());
      if (pid > 0) {
        child.unref();
        return null;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (exited === null) {
      // it writes its pid file before it changes anything: stopped now, it leaves no trace
      try {
        child.kill("SIGKILL");
      } catch { /* gone meanwhile */ }
    }
    return exited !== null
      ? `the grow child exited with status ${
        (exited as Deno.CommandStatus).code
      } (see /run/mdadm/${devnm}.grow.log)`
      : `the grow child did not start within ${CHILD_START_LIMIT_MS / 1000} s (stopped; ` +
        `nothing was changed)`;
  } catch (e) {
    return (e as Error).message;
  }
}

export async function growFacts(
  kernel: Kernel,
  devnm: string,
  c: ImsmContainer,
  disks: Awaited<ReturnType<typeof containerDisks>>,
): Promise<GrowFacts> {
  const volumeDevices: (string | null)[] = c.mpb.volumes.map(() => null);
  const busy: string[] = [];
  for (const a of (await kernel.mdstat()).arrays) {
    if (a.devnm === devnm && a.progress !== null) busy.push(devnm);
    const m = externalMemberOf(a.superVersion);
    if (m === null || m.container !== devnm) continue;
    const index = Number(m.subarray);
    if (Number.isInteger(index) && index < volumeDevices.length) volumeDevices[index] = a.devnm;
    if (m.blocked || a.progress !== null) busy.push(a.devnm);
  }
  const spareSerials = new Set(c.spares.map(diskSerial));
  return {
    container: devnm,
    volumeDevices,
    busy,
    spares: disks.filter((d) => spareSerials.has(d.serial)).map((d) => ({
      serial: d.serial,
      path: d.path,
      majMin: d.majMin,
      sizeSectors: Number(d.sizeBytes / 512n),
      sectorSize: d.sectorSize,
    })),
    sectorSize: c.sectorSize,
  };
}

function kib(sectors: number): string {
  return `${sectors / 2} KiB`;
}

/** The plan as text for people. */
export function renderPlan(device: string, p: GrowPlan): string {
  const lines: string[] = [];
  if (p.change) {
    const v = p.volumes[0];
    lines.push(
      `Plan: migrate ${device} (volume ${v.name} of /dev/${p.container}): raid${v.old.level} ` +
        `chunk ${v.old.chunkKiB}K -> raid${v.new.level} chunk ${v.new.chunkKiB}K ` +
        `(dry run, nothing written)`,
    );
  } else {
    lines.push(
      `Plan: grow ${device} (/dev/${p.container}) from ${p.oldRaidDisks} to ${p.newRaidDisks} ` +
        `disks (dry run, nothing written)`,
    );
    lines.push(`  new members: ${p.spares.map((s) => `${s.path} (${s.majMin})`).join(", ")}`);
  }
  for (const v of p.volumes) {
    lines.push(`  volume ${v.name} (/dev/${v.device}):`);
    lines.push(
      `    raid${v.old.level} ${v.old.members} disks -> raid${v.new.level} ${v.new.members} disks, ` +
        `chunk ${v.new.chunkKiB} KiB, layout ${v.new.layout}`,
    );
    if (v.takeover) {
      lines.push(
        `    takeover: raid0 -> raid4 (layout 5, parity slot missing) for the reshape, ` +
          `back to raid0 after`,
      );
    }
    lines.push(
      `    size: ${kib(v.oldArraySectors)} -> ${kib(v.newArraySectors)} ` +
        `(${kib(v.componentSectors)} per member, unchanged)`,
    );
    lines.push(
      `    migration: ${v.units.numUnits} units of ${v.units.blocksPerUnit} sectors ` +
        `(${v.units.destDepth} per member), critical units ${
          v.units.critical.join(",") || "none"
        }, about ${v.windows} windows`,
    );
    lines.push(
      `    copy area at sector ${v.copyAreaPba} of every member (${v.backupBytes} bytes ` +
        `backed up in all); migration record on ${v.recordDisks.join(", ")}`,
    );
  }
  lines.push("  steps:");
  p.steps.forEach((s, i) => lines.push(`    ${i + 1}. [${s.kind}] /dev/${s.device}: ${s.text}`));
  return lines.join("\n") + "\n";
}
