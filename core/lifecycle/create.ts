/**
 * `--create`: an IMSM container on whole disks, or a volume inside a running container.
 * Every check runs before the first write; then the metadata goes through the write seam
 * and the md devices come up in mdadm 4.2's order (bringup.ts).
 */
import type { Kernel } from "../../kernel/interface.ts";
import { newContainer } from "../../meta/imsm/edit/container.ts";
import { addVolume, MAX_VOLUMES } from "../../meta/imsm/edit/volume.ts";
import { prepareWrite } from "../../meta/imsm/edit/write.ts";
import { ImsmEditError } from "../../meta/imsm/edit/errors.ts";
import { IMSM_RESERVED_SECTORS, MPB_SECTOR_CNT } from "../../meta/imsm/constants.ts";
import { containerUuid, volumeUuid, ZERO_UUID } from "../../meta/imsm/uuid.ts";
import { diskSerial, raidLevel } from "../../meta/imsm/accessors.ts";
import { serialForImsm } from "../../kernel/devices.ts";
import { type MemberDisk, storeContainer } from "../imsm/store.ts";
import { containerMetadata, runningArrays, runningContainer } from "../model.ts";
import { updateMap } from "../mapfile.ts";
import type { Host } from "./host.ts";
import { refuse } from "./errors.ts";
import { type Disk, imsmMetadataOf, requireUnused, resolveDisk } from "./disks.ts";
import { checkNewName, createMdDevice, mdDevnmOf, underMapLock } from "./devices.ts";
import { freshComponent, startContainer, startVolume, volumeGeometry } from "./bringup.ts";
import { volumeSlotOrder } from "./names.ts";
import { createArrayUpdate, sendToMonitor } from "./monitor_client.ts";
import { ensureMonitor } from "./monitor_start.ts";

export interface CreateRequest {
  device: string;
  /** Member paths in command-line order ("missing" for a missing slot). */
  members: string[];
  metadata?: string;
  level?: number | string;
  raidDevices?: number;
  chunkKiB?: number;
  sizeKiB?: number | "max";
  run: boolean;
  force: boolean;
  assumeClean: boolean;
  /** Injected for tests: family number and creation time of a new volume. */
  familyNum?: number;
  now?: () => bigint;
}

/** Messages mdadm prints on stderr (without the program prefix). */
export interface Outcome {
  messages: string[];
}

/** Smallest disk worth a container: metadata, its reservation and 1 MiB of data. */
const MIN_DISK_SECTORS = MPB_SECTOR_CNT + IMSM_RESERVED_SECTORS + 2048;

export async function create(kernel: Kernel, host: Host, req: CreateRequest): Promise<Outcome> {
  if (req.metadata !== undefined && req.metadata !== "imsm") {
    refuse(
      `mdts creates IMSM arrays only; metadata ${req.metadata} is not supported (use -e imsm)`,
    );
  }
  const single = req.members.length === 1 && req.members[0] !== "missing"
    ? await mdDevnmOf(kernel, host, req.members[0])
    : null;
  if (single !== null) return await createVolume(kernel, host, req, single, null);
  const volumeLevel = req.level !== undefined && req.level !== "container";
  if (volumeLevel && req.members.length === 1 && req.members[0].startsWith("/dev/md")) {
    refuse(
      `cannot open ${req.members[0]}: no such running md container; assemble or create it first`,
    );
  }
  if (volumeLevel) {
    // the member disks named (mdadm's other form): their running container takes the volume
    const on = await containerOfDisks(kernel, host, req.members);
    if (on !== null) return await createVolume(kernel, host, req, on.container, on.slots);
  }
  if (req.level === undefined && req.metadata !== "imsm") {
    refuse("a RAID level is needed to create an array.", 2);
  }
  if (req.level !== undefined && req.level !== "container") {
    refuse(
      `to create a raid${req.level} IMSM volume, create the container first ` +
        `(mdadm -C /dev/md/imsm0 -e imsm -n N DISKS), then the volume with the container ` +
        `as its only device`,
    );
  }
  return await createContainer(kernel, host, req);
}

async function createContainer(kernel: Kernel, host: Host, req: CreateRequest): Promise<Outcome> {
  if (req.metadata !== "imsm") refuse("a container needs -e imsm (metadata=imsm)", 2);
  const n = req.raidDevices ?? req.members.length;
  if (req.members.length > n) {
    refuse(`You have listed more devices (${req.members.length}) than are in the array(${n})!`, 2);
  }
  if (req.members.length < n) {
    refuse("You haven't given enough devices (real or missing) to create this array", 2);
  }
  if (req.members.includes("missing")) refuse("a container cannot have missing devices", 2);
  const name = await checkNewName(kernel, host, req.device);

  const disks: Disk[] = [];
  for (const path of req.members) {
    const disk = await resolveDisk(kernel, host, path);
    if (disks.some((d) => d.name === disk.name)) {
      refuse(`${path} is listed twice (as ${disk.device}); list each disk once`);
    }
    await requireUnused(host, disk);
    if (disk.serial === null) {
      refuse(
        `${path} has no serial number IMSM can record (no hardware serial); ` +
          `set IMSM_DEVNAME_AS_SERIAL=1 to use the device name`,
      );
    }
    if (disk.sizeBytes / 512n < BigInt(MIN_DISK_SECTORS)) {
      refuse(
        `${path} is too small: ${disk.sizeBytes / 1024n} KiB, IMSM needs at least ` +
          `${MIN_DISK_SECTORS / 2} KiB (metadata, its reserve and 1 MiB of data)`,
      );
    }
    const existing = await imsmMetadataOf(kernel, disk);
    if (existing !== null && !req.run && !req.force) {
      refuse(
        `${path} appears to be part of a raid array (IMSM family ` +
          `${existing.mpb.familyNum.toString(16)}, ${existing.mpb.volumes.length} volumes); ` +
          `give --run to overwrite it, or --zero-superblock it first`,
      );
    }
    disks.push(disk);
  }
  let prepared;
  try {
    prepared = prepareWrite(newContainer(disks.map((d) => ({
      serial: d.serial!,
      sizeSectors: Number(d.sizeBytes / 512n),
      sectorSize: d.sectorSize,
    }))));
  } catch (e) {
    if (e instanceof ImsmEditError) refuse(e.message);
    throw e;
  }
  const members: MemberDisk[] = disks.map((d) => ({
    serial: d.serial!,
    device: d.device,
    size: d.sizeBytes,
    sectorSize: d.sectorSize,
  }));

  const made = await underMapLock(host, async () => {
    const made = await createMdDevice(kernel, host, name, "imsm", ZERO_UUID);
    await kernel.array(made.devnm).setMetadataVersion("external:imsm");
    await storeContainer(kernel.writer, members, prepared);
    await startContainer(kernel, made.devnm, disks.map((d) => freshComponent(d.name, d.sizeBytes)));
    return made;
  });
  await host.uevent(made.devnm, "change");
  return { messages: [`container ${name.display} prepared.`] };
}

/**
 * The running IMSM container holding every disk named (kernel names in slot order, null for
 * "missing"), or null when no named disk is in a running container.
 */
async function containerOfDisks(
  kernel: Kernel,
  host: Host,
  paths: string[],
): Promise<{ container: string; slots: (string | null)[] } | null> {
  if (paths.every((p) => p === "missing")) refuse("Subdevs can't be all missing");
  const containers = (await runningArrays(kernel)).filter((a) =>
    a.kind === "container" && a.format === "imsm"
  );
  const slots: (string | null)[] = [];
  const holders = new Set<string>();
  const loose: string[] = [];
  for (const path of paths) {
    if (path === "missing") {
      slots.push(null);
      continue;
    }
    const disk = await resolveDisk(kernel, host, path);
    const holder = containers.find((c) => c.members.some((m) => m.name === disk.name));
    if (holder) holders.add(holder.devnm);
    else loose.push(path);
    slots.push(disk.name);
  }
  if (holders.size === 0) return null;
  if (holders.size > 1 || loose.length > 0) {
    refuse(
      `the disks named are not all in one IMSM container (${
        [...holders].map((x) => `/dev/${x}`).join(", ")
      }${loose.length ? `; not in any: ${loose.join(", ")}` : ""}); name the disks of one ` +
        `container, or the container itself`,
    );
  }
  return { container: [...holders][0], slots };
}

/**
 * A volume in a running container: named as the container (`slotNames` null: the disks are
 * chosen as mdadm does) or by its member disks in slot order (null: a missing member).
 */
async function createVolume(
  kernel: Kernel,
  host: Host,
  req: CreateRequest,
  containerDevnm: string,
  slotNames: (string | null)[] | null,
): Promise<Outcome> {
  const containerPath = slotNames === null ? req.members[0] : `/dev/${containerDevnm}`;
  const rc = await runningContainer(kernel, containerDevnm);
  if (rc === null || rc.format !== "imsm") {
    refuse(`${containerPath} is not an IMSM container; create volumes inside one (-e imsm)`);
  }
  if (req.level === undefined) refuse("a RAID level is needed to create an array.", 2);
  const level = req.level;
  if (level !== 0 && level !== 1 && level !== 5 && level !== 10) {
    refuse(`IMSM does not support raid level ${level}; use 0, 1, 5 or 10`);
  }
  const name = await checkNewName(kernel, host, req.device);
  const c = await containerMetadata(kernel, rc);
  if (c.mpb.volumes.length >= MAX_VOLUMES) {
    refuse(
      `${containerPath} already has ${c.mpb.volumes.length} volumes, the most IMSM allows; ` +
        `delete one or use another container`,
    );
  }
  const serialOf = new Map<string, string>();
  for (const m of rc.members) {
    const info = await kernel.device(m.name);
    const serial = info ? serialForImsm(info, (k) => host.env(k))?.serial : undefined;
    if (serial) serialOf.set(m.name, serial);
  }
  const n = req.raidDevices ?? slotNames?.length ?? rc.members.length;
  const first = c.mpb.volumes[0];
  let names: (string | null)[];
  if (slotNames !== null) {
    if (slotNames.length > n) {
      refuse(`You have listed more devices (${slotNames.length}) than are in the array(${n})!`, 2);
    }
    if (slotNames.length < n) {
      refuse("You haven't given enough devices (real or missing) to create this array", 2);
    }
    names = slotNames;
  } else if (first !== undefined && first.maps[0].numMembers === n) {
    // a second volume spans the disks of the first, in the same slots
    const bySerial = new Map([...serialOf].map(([k, v]) => [v, k]));
    names = first.maps[0].ord.map((o) => bySerial.get(diskSerial(c.mpb.disks[o & 0xffffff]))!)
      .filter((x) => x !== undefined);
  } else {
    names = volumeSlotOrder(rc.members.map((m) => m.name), n);
  }
  if (names.length < n) {
    refuse(
      `${containerPath} has ${rc.members.length} disks but raid-devices=${n}; ` +
        `add disks to the container first or lower -n`,
    );
  }
  const index = c.mpb.volumes.length;
  let withVolume;
  try {
    withVolume = addVolume(c, {
      name: name.link ?? name.display.replace(/^\/dev\//, ""),
      level,
      members: names.map((x) => (x === null ? null : serialOf.get(x)!)),
      chunkKiB: req.chunkKiB,
      sizeKiB: req.sizeKiB === "max" || req.sizeKiB === undefined ? undefined : req.sizeKiB,
      assumeClean: req.assumeClean,
      familyNum: req.familyNum ?? crypto.getRandomValues(new Uint32Array(1))[0],
      creationTime: req.now?.() ?? BigInt(Math.floor(Date.now() / 1000)),
    });
  } catch (e) {
    if (e instanceof ImsmEditError) refuse(e.message);
    throw e;
  }
  if (raidLevel(withVolume.mpb.volumes[index].maps[0]) !== level) {
    throw new Error(`internal: volume ${index} came out with another level than raid${level}`);
  }
  const prepared = prepareWrite(withVolume);
  const mpb = prepared.container.mpb;
  const members: MemberDisk[] = [];
  for (const m of rc.members) {
    const serial = serialOf.get(m.name);
    if (serial === undefined) continue;
    const device = kernel.devPath(m.name);
    members.push({
      serial,
      device,
      size: await kernel.blocks.size(device),
      sectorSize: await kernel.blocks.logicalSectorSize(device),
    });
  }
  const monitorRuns = await host.monitorRunning(containerDevnm);
  const g = volumeGeometry(mpb, index);
  const made = await underMapLock(host, async () => {
    const made = await createMdDevice(
      kernel,
      host,
      name,
      `/${containerDevnm}/${index}`,
      volumeUuid(mpb, index),
    );
    const components = names.flatMap((x, slot) => (x === null ? [] : [{ name: x, slot }]));
    await startVolume(kernel, made.devnm, containerDevnm, index, g, components, true, async () => {
      if (monitorRuns) {
        const err = await sendToMonitor(host, containerDevnm, [createArrayUpdate(mpb, index)]);
        if (err !== null) throw new Error(`${err}; the volume was not recorded in the metadata`);
      } else {
        await storeContainer(kernel.writer, members, prepared);
      }
      await updateMap(
        host,
        (all) =>
          all.map((e) => e.devnm === containerDevnm ? { ...e, uuid: containerUuid(mpb) } : e),
      );
    });
    return made;
  });
  const messages = [
    ...(slotNames !== null ? [`Creating array inside imsm container ${containerDevnm}`] : []),
    `array ${name.display} started.`,
  ];
  if (g.level !== "raid0" || monitorRuns) {
    const err = await ensureMonitor(host, containerDevnm);
    if (err !== null) messages.push(`failed to start the monitor (${err}); array remains readonly`);
  }
  await host.uevent(made.devnm, "change");
  return { messages };
}
