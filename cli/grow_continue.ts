/**
 * `--grow --continue /dev/md/CONTAINER` (or a volume of it): continues a container OCE that
 * stopped, in the foreground as mdadm 4.2 does (assembly starts it detached, through the
 * mdts-grow-continue@ unit or a background child, MDTS_GROW_CHILD=1, logging to
 * /run/mdadm/CONTAINER.grow.log). md must already be held at the checkpoint (assembly does
 * that, restoring the critical section when needed); a copy area still in use is refused
 * here, as mdadm refuses it: only assembly restores it.
 */
import type { GrowCommand } from "./command.ts";
import type { Io, System } from "./run.ts";
import { guarded, hostOf } from "./lifecycle_common.ts";
import { refuse } from "../core/lifecycle/errors.ts";
import { mdDevnmOf } from "../core/lifecycle/devices.ts";
import { containerDisks } from "../core/monitor/container_model.ts";
import { loadContainer } from "../core/imsm/store.ts";
import { volumeInGeneralMigration, volumeName } from "../meta/imsm/accessors.ts";
import { parseMigrationRecord } from "../meta/imsm/migration_record.ts";
import { GrowError } from "../core/grow/run.ts";
import { SocketMonitorLink } from "../core/grow/monitor_link.ts";
import { progressLine } from "../core/grow/progress.ts";
import { ensureMonitor } from "../core/lifecycle/monitor_start.ts";
import { BackupError } from "../core/grow/backup.ts";
import {
  decideResume,
  readResumeInput,
  ResumeError,
  resumeGrow,
  resumePlan,
} from "../core/grow/resume.ts";
import { growFacts, growPidPath } from "./grow.ts";
import { releaseUnstartedGrow } from "../core/grow/release.ts";

async function liveGrowPid(devnm: string): Promise<number | null> {
  const pid = Number((await Deno.readTextFile(growPidPath(devnm)).catch(() => "")).trim());
  if (!(pid > 0) || pid === Deno.pid) return null;
  try {
    await Deno.stat(`/proc/${pid}`);
    return pid;
  } catch {
    return null;
  }
}

export function runGrowContinue(cmd: GrowCommand, prog: string, system: System, io: Io) {
  return guarded(io, prog, async () => {
    const kernel = system.kernel();
    const host = hostOf(system);
    let devnm = await mdDevnmOf(kernel, host, cmd.device);
    if (devnm === null) refuse(`${cmd.device} does not appear to be an md device`);
    const v = await kernel.array(devnm).metadataVersion();
    if (v.kind === "external-member") devnm = v.container;
    else if (v.kind !== "external-container") {
      refuse(`${cmd.device} is not an IMSM container or volume; mdts continues IMSM grows only`);
    }
    const child = host.env("MDTS_GROW_CHILD") === "1";
    const other = await liveGrowPid(devnm);
    if (other !== null) {
      refuse(`a grow of /dev/${devnm} is already running (pid ${other}); nothing to continue`);
    }
    const disks = await containerDisks(kernel, devnm, (k) => host.env(k));
    if (disks.length === 0) refuse(`/dev/${devnm} has no disks with IMSM metadata`);
    const load = () => loadContainer(kernel.blocks, disks.map((d) => d.path));
    const c = await load();
    const m = volumeInGeneralMigration(c.mpb);
    if (m === null) {
      // a grow stopped before the monitor recorded its migration: put md back as the
      // metadata describes it
      const facts = await growFacts(kernel, devnm, c, disks);
      const released = await releaseUnstartedGrow(kernel, c, facts.volumeDevices);
      if (released.length > 0) {
        for (const line of released) io.err(`${prog}: ${line}\n`);
        io.err(
          `${prog}: no reshape was recorded on /dev/${devnm}: the volumes keep their shape; ` +
            `run --grow again to grow them\n`,
        );
        return 0;
      }
      refuse(
        `no reshape in progress on /dev/${devnm} (no volume is migrating); nothing to continue`,
      );
    }
    const facts = await growFacts(kernel, devnm, c, disks);
    const volumeDev = facts.volumeDevices[m.index];
    if (volumeDev === null) {
      refuse(
        `volume ${volumeName(m.volume)} of /dev/${devnm} is migrating but not assembled; ` +
          `assemble the container (mdts -A) and the reshape continues`,
      );
    }
    const input = await readResumeInput(kernel.blocks, c, disks, parseMigrationRecord);
    let unit: number;
    try {
      const d = (await decideResume(input!))!;
      if (d.restore.kind === "restore") {
        refuse(
          `cannot continue the reshape of ${volumeName(m.volume)}: unit ${d.restore.unit} is ` +
            `in the copy area; stop the volume and assemble the container again to restore ` +
            `the critical section`,
        );
      }
      const md = await kernel.array(volumeDev).reshapePosition();
      if (md === "none" && !d.fresh) {
        refuse(
          `/dev/${volumeDev} is not reshaping but the metadata says unit ${d.unit}: stop it ` +
            `and assemble the container again so md resumes at the checkpoint`,
        );
      }
      unit = md === "none" ? 0 : d.unit;
    } catch (e) {
      if (e instanceof BackupError || e instanceof ResumeError) refuse(e.message);
      throw e;
    }
    const link = new SocketMonitorLink(devnm, (ct) => host.monitorSocket(ct));
    try {
      await link.ping();
    } catch {
      const problem = await ensureMonitor(host, devnm);
      if (problem !== null) refuse(`No mdmon found. Grow cannot continue (${problem})`);
      await link.ping().catch((e) => refuse(`${(e as Error).message}; nothing was changed`));
    }
    let plan;
    try {
      plan = resumePlan(c, facts, disks);
    } catch (e) {
      if (e instanceof ResumeError) refuse(e.message);
      throw e;
    }
    const pidFile = child ? growPidPath(devnm) : null;
    if (pidFile) await Deno.writeTextFile(pidFile, `${Deno.pid}\n`).catch(() => {});
    const debug = host.env("MDTS_GROW_DEBUG") !== undefined;
    io.err(
      `${prog}: continuing the reshape of /dev/${devnm} from volume ${volumeName(m.volume)} ` +
        `unit ${unit}\n`,
    );
    try {
      await resumeGrow({
        kernel,
        monitor: link,
        plan,
        disks,
        load,
        log: debug ? (msg) => io.err(`${prog}: ${msg}\n`) : undefined,
        progress: (p) => {
          if (child || debug) io.err(`${progressLine(p)}\n`);
        },
      }, { volumeIndex: m.index, unit });
      return 0;
    } catch (e) {
      if (e instanceof GrowError) {
        io.err(`${prog}: ${e.message}\n`);
        return 1;
      }
      throw e;
    } finally {
      if (pidFile) await Deno.remove(pidFile).catch(() => {});
    }
  });
}
