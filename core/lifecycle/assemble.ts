/**
 * `--assemble` and the shared "start what the metadata describes" steps used by
 * `--incremental`: a container from its disks (newest generation wins, one family only),
 * then each of its volumes that is not running yet.
 */
import type { Kernel } from "../../kernel/interface.ts";
import type { ImsmSuper, ParsedMetadata } from "../../meta/imsm/model.ts";
import { DISK_STATUS } from "../../meta/imsm/constants.ts";
import {
  diskSerial,
  identityFamily,
  ordIndex,
  pbaOfLba0,
  perDevArraySize,
  volumeName,
} from "../../meta/imsm/accessors.ts";
import { type DiskSpace, metadataStart } from "../../meta/imsm/sizes.ts";
import { containerUuid, volumeUuid } from "../../meta/imsm/uuid.ts";
import { containerFromDisks } from "../../meta/imsm/edit/container.ts";
import { diskSectors } from "../../meta/imsm/edit/records.ts";
import { readMapEntries } from "../mapfile.ts";
import { runningArrays } from "../model.ts";
import type { Host } from "./host.ts";
import { refuse } from "./errors.ts";
import { type Disk, imsmMetadataOf, resolveDisk } from "./disks.ts";
import { checkNewName, createMdDevice, underMapLock } from "./devices.ts";
import {
  type ContainerComponent,
  startContainer,
  startVolume,
  type VolumeComponent,
  volumeGeometry,
} from "./bringup.ts";
import { parseRequestedName, type RequestedName, uniqueLinkName } from "./names.ts";
import { ensureMonitor } from "./monitor_start.ts";
import { MIGR_TYPE } from "../../meta/imsm/constants.ts";
import { isGeneralMigration } from "../../meta/imsm/accessors.ts";
import { loadContainer } from "../imsm/store.ts";
import { containerDisks } from "../monitor/container_model.ts";
import { BackupError } from "../grow/backup.ts";
import { ResumeError } from "../grow/resume.ts";
import { prepareMigratingVolume, startMigratingVolume } from "./assemble_reshape.ts";

export interface FoundDisk {
  disk: Disk;
  metadata: ParsedMetadata;
}

/** Where each disk's metadata region starts, as mdadm tells md when assembling. */
export function assembledComponent(mpb: ImsmSuper, found: FoundDisk): ContainerComponent {
  const spaces = (serial: string): DiskSpace => {
    const index = mpb.disks.findIndex((d) => diskSerial(d) === serial);
    const total = index >= 0
      ? diskSectors(mpb, mpb.disks[index])
      : Number(found.disk.sizeBytes / 512n);
    if (index < 0) return { totalSectors: total, volumeExtents: [], spare: true };
    const volumeExtents = mpb.volumes
      .filter((v) => v.maps[0].ord.some((o) => ordIndex(o) === index))
      .map((v) => ({
        start: Number(pbaOfLba0(mpb, v.maps[0])),
        size: Number(perDevArraySize(mpb, v.maps[0])),
      }));
    return { totalSectors: total, volumeExtents, spare: false };
  };
  const all = mpb.disks.map((d) => spaces(diskSerial(d)));
  const mine = spaces(found.disk.serial ?? "");
  const mpbSectors = Math.ceil(Math.max(mpb.mpbSize, 512) / 512);
  const start = BigInt(metadataStart(mine, all, mpbSectors));
  const sectors = found.disk.sizeBytes / 512n;
  return { name: found.disk.name, offset: start, sizeKiB: (sectors - start) / 2n };
}

/** Groups disks into one container: refuses a second family among populated records. */
export function chooseContainer(found: FoundDisk[]): { mpb: ImsmSuper; members: FoundDisk[] } {
  const populated = found.filter((f) => f.metadata.mpb.volumes.length > 0);
  if (populated.length > 0) {
    const family = identityFamily(populated[0].metadata.mpb);
    for (const f of populated) {
      if (identityFamily(f.metadata.mpb) !== family) {
        refuse(`superblock on ${f.disk.path} doesn't match others - assembly aborted`);
      }
    }
  }
  const c = containerFromDisks(found.map((f) => f.metadata));
  return { mpb: c.mpb, members: found };
}

export interface AssembleOutcome {
  messages: string[];
  /** Names of the md devices started (container first). */
  started: string[];
  /** A volume could not be started safely (a refused restore): exit status 1. */
  failed?: boolean;
}

/** Starts a container on `found` disks under `name` (or a fresh "imsmN" name). */
export async function assembleContainer(
  kernel: Kernel,
  host: Host,
  found: FoundDisk[],
  name: RequestedName | null,
): Promise<{ devnm: string; path: string; mpb: ImsmSuper; messages: string[] }> {
  const { mpb } = chooseContainer(found);
  const req = name ?? await freshContainerName(kernel, host);
  const components = found.map((f) => assembledComponent(mpb, f));
  const made = await underMapLock(host, async () => {
    const made = await createMdDevice(kernel, host, req, "imsm", containerUuid(mpb));
    await startContainer(kernel, made.devnm, components);
    return made;
  });
  await host.uevent(made.devnm, "change");
  return {
    devnm: made.devnm,
    path: made.path,
    mpb,
    messages: [
      `Container ${made.path} has been assembled with ${found.length} ` +
      `drive${found.length === 1 ? "" : "s"}`,
    ],
  };
}

async function freshContainerName(kernel: Kernel, host: Host): Promise<RequestedName> {
  const taken = await takenLinks(kernel, host);
  for (let i = 0;; i++) {
    if (!taken.has(`imsm${i}`)) return parseRequestedName(`/dev/md/imsm${i}`);
  }
}

/** Link names that name a running array (a stale link is free to reuse). */
async function takenLinks(kernel: Kernel, host: Host): Promise<Set<string>> {
  const running = new Set((await runningArrays(kernel)).map((a) => a.devnm));
  const taken = new Set<string>();
  for (const e of await readMapEntries(host)) {
    if (running.has(e.devnm) && e.path.startsWith("/dev/md/")) taken.add(e.path.slice(8));
  }
  return taken;
}

/**
 * The md name a volume is started under: the configured name when there is one, else its metadata
 * name made unique among running arrays; a name already in use falls back to a unique link.
 */
async function volumeDeviceName(
  kernel: Kernel,
  host: Host,
  wanted: string | undefined,
  metadataName: string,
): Promise<RequestedName> {
  const taken = await takenLinks(kernel, host);
  const req = wanted !== undefined
    ? parseRequestedName(wanted)
    : parseRequestedName(`/dev/md/${uniqueLinkName(metadataName, taken)}`);
  return await checkNewName(kernel, host, req.display).catch(() =>
    parseRequestedName(`/dev/md/${uniqueLinkName(req.link ?? metadataName, taken)}`)
  );
}

/**
 * Starts every volume of a running container that is not running yet. `names` maps a
 * volume index to a configured name; otherwise the metadata name is used (made unique).
 * `force` starts volumes even when members are missing (--run).
 */
export async function startVolumes(
  kernel: Kernel,
  host: Host,
  containerDevnm: string,
  mpb: ImsmSuper,
  names: Map<number, string> = new Map(),
  _force = false,
): Promise<AssembleOutcome> {
  const messages: string[] = [];
  const started: string[] = [];
  const arrays = await runningArrays(kernel);
  const container = arrays.find((a) => a.devnm === containerDevnm);
  if (container === undefined) refuse(`container ${containerDevnm} is not running`);
  const bySerial = new Map<string, string>();
  for (const m of container.members) {
    const disk = await resolveDisk(kernel, host, kernel.devPath(m.name));
    if (disk.serial !== null) bySerial.set(disk.serial, m.name);
  }
  let needMonitor = false;
  let growContinues = false;
  let failed = false;
  for (let index = 0; index < mpb.volumes.length; index++) {
    const running = arrays.some((a) =>
      a.kind === "volume" && a.container === containerDevnm && a.subarray === String(index)
    );
    if (running) continue;
    const vol = mpb.volumes[index];
    const label = names.get(index) ?? volumeName(vol);
    if (isGeneralMigration(vol)) {
      const r = await startReshapingVolume(kernel, host, containerDevnm, index, names, bySerial);
      messages.push(...r.messages);
      if (r.started !== null) {
        started.push(r.started);
        needMonitor = true;
        growContinues = true;
      } else {
        failed = true;
      }
      continue;
    }
    if (
      vol.migrState !== 0 && vol.migrType !== MIGR_TYPE.INIT && vol.migrType !== MIGR_TYPE.REBUILD
    ) {
      messages.push(
        `${label}: volume is in the middle of a migration mdts cannot resume, not started`,
      );
      continue;
    }
    const g = volumeGeometry(mpb, index);
    const components: VolumeComponent[] = [];
    for (let slot = 0; slot < g.slotDisks.length; slot++) {
      const rec = mpb.disks[g.slotDisks[slot]];
      if (rec === undefined || (rec.status & DISK_STATUS.FAILED) !== 0) continue;
      const name = bySerial.get(diskSerial(rec));
      if (name !== undefined) components.push({ name, slot });
    }
    const needed = g.level === "raid0"
      ? g.raidDisks
      : g.level === "raid5"
      ? g.raidDisks - 1
      : g.raidDisks / 2;
    if (components.length < needed) {
      messages.push(
        `${label} assembled from ${components.length} drive${components.length === 1 ? "" : "s"}` +
          ` - not enough to start the array.`,
      );
      continue;
    }
    const checked = await volumeDeviceName(kernel, host, names.get(index), volumeName(vol));
    // mdadm adds the components in descending slot order when assembling (trace 10)
    components.sort((a, b) => b.slot - a.slot);
    const made = await underMapLock(host, async () => {
      const made = await createMdDevice(
        kernel,
        host,
        checked,
        `/${containerDevnm}/${index}`,
        volumeUuid(mpb, index),
      );
      await startVolume(kernel, made.devnm, containerDevnm, index, g, components, false);
      return made;
    });
    if (g.level !== "raid0") needMonitor = true;
    started.push(made.path);
    messages.push(
      `Started ${made.path} with ${components.length} device${components.length === 1 ? "" : "s"}`,
    );
    await host.uevent(made.devnm, "change");
  }
  let monitorUp = true;
  if (needMonitor) {
    const err = await ensureMonitor(host, containerDevnm);
    if (err !== null) {
      monitorUp = false;
      messages.push(`failed to start the monitor (${err}); arrays remain readonly`);
    }
  }
  if (growContinues && monitorUp && !host.env("MDTS_FREEZE_RESHAPE")) {
    // as mdadm: the reshape goes on in the background (grow-continue)
    const err = await host.startGrowContinue(containerDevnm);
    if (err !== null) {
      messages.push(
        `cannot continue the reshape in the background (${err}); run ` +
          `mdts --grow --continue /dev/${containerDevnm}`,
      );
    }
  }
  return { messages, started, failed };
}

/** Starts a volume in the middle of a grow: restore if needed, md held at the checkpoint. */
async function startReshapingVolume(
  kernel: Kernel,
  host: Host,
  containerDevnm: string,
  index: number,
  names: Map<number, string>,
  bySerial: Map<string, string>,
): Promise<{ messages: string[]; started: string | null }> {
  const mpbNow = (await loadContainer(
    kernel.blocks,
    (await containerDisks(kernel, containerDevnm, (k) => host.env(k))).map((d) => d.path),
  )).mpb;
  const vol = mpbNow.volumes[index];
  const label = names.get(index) ?? volumeName(vol);
  let prepared;
  try {
    prepared = await prepareMigratingVolume(kernel, host, containerDevnm);
  } catch (e) {
    if (e instanceof BackupError || e instanceof ResumeError) {
      return {
        messages: [
          `Failed to restore critical section for reshape of ${label}: ${e.message}`,
          `${label} not started`,
        ],
        started: null,
      };
    }
    throw e;
  }
  const { decision: d, restored } = prepared;
  const checked = await volumeDeviceName(kernel, host, names.get(index), volumeName(vol));
  let counts = { devices: 0, expansion: 0 };
  const made = await underMapLock(host, async () => {
    const made = await createMdDevice(
      kernel,
      host,
      checked,
      `/${containerDevnm}/${index}`,
      volumeUuid(mpbNow, index),
    );
    counts = await startMigratingVolume(kernel, host, made.devnm, containerDevnm, d, bySerial);
    return made;
  });
  await host.uevent(made.devnm, "change");
  const messages: string[] = [];
  if (restored > 0) {
    messages.push(
      `${label}: critical section of unit ${d.unit - 1} restored from the copy area ` +
        `(${restored} disks)`,
    );
  }
  const plus = counts.expansion > 0 ? ` ( + ${counts.expansion} for expansion)` : "";
  messages.push(
    `${made.path} has been assembled with ${counts.devices} device` +
      `${counts.devices === 1 ? "" : "s"}${plus} and started; reshape ` +
      (d.fresh
        ? "starts from the beginning"
        : `continues from unit ${d.unit} of ${d.geometry.unit.numUnits}`),
  );
  return { messages, started: made.path };
}

/** Reads the IMSM metadata of candidate disks; refuses disks without it. */
export async function readCandidates(
  kernel: Kernel,
  host: Host,
  paths: string[],
  quiet: boolean,
): Promise<FoundDisk[]> {
  const out: FoundDisk[] = [];
  for (const path of paths) {
    let disk: Disk;
    try {
      disk = await resolveDisk(kernel, host, path);
    } catch (e) {
      if (quiet) continue;
      throw e;
    }
    if (disk.holders.length > 0) {
      if (quiet) continue;
      refuse(`${path} is busy (part of /dev/${disk.holders[0]}) - assembly aborted`);
    }
    const metadata = await imsmMetadataOf(kernel, disk);
    if (metadata === null) {
      if (quiet) continue;
      refuse(
        `no recogniseable superblock on ${path}; ${path} has no superblock - assembly aborted`,
      );
    }
    out.push({ disk, metadata });
  }
  return out;
}
