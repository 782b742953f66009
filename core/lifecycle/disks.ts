/**
 * Looking at a disk before using it: which kernel device it is, its size, sector size and
 * IMSM serial, whether someone holds it, and what metadata it carries. Nothing is written.
 */
import type { Kernel } from "../../kernel/interface.ts";
import { serialForImsm } from "../../kernel/devices.ts";
import type { ParsedMetadata } from "../../meta/imsm/model.ts";
import { readMetadata } from "../examine.ts";
import type { Host } from "./host.ts";
import { refuse } from "./errors.ts";

export interface Disk {
  /** As given on the command line. */
  path: string;
  /** Kernel name ("vda"). */
  name: string;
  /** /dev/NAME, the path we read and write. */
  device: string;
  majMin: string;
  sizeBytes: bigint;
  sectorSize: number;
  /** IMSM serial, null when the disk has none (no hardware serial, no IMSM_DEVNAME_AS_SERIAL). */
  serial: string | null;
  /** md devices holding it. */
  holders: string[];
}

/** Resolves a path to a kernel block device; refuses what is not one. */
export async function resolveDisk(kernel: Kernel, host: Host, path: string): Promise<Disk> {
  const real = await host.realPath(path);
  if (real === null) refuse(`cannot open ${path}: No such file or directory`);
  const name = real.startsWith("/dev/") ? real.slice(5).replaceAll("/", "!") : null;
  const info = name === null ? null : await kernel.device(name);
  if (info === null || name === null) {
    refuse(`${path} is not a block device (resolved to ${real}); give a disk such as /dev/sdb`);
  }
  return {
    path,
    name,
    device: kernel.devPath(name),
    majMin: `${info.major}:${info.minor}`,
    sizeBytes: info.sizeBytes,
    sectorSize: info.logicalSectorSize,
    serial: serialForImsm(info, (k) => host.env(k))?.serial ?? null,
    holders: info.holders,
  };
}

/** Refuses a disk that another user holds (md array, mount, device mapper). */
export async function requireUnused(host: Host, disk: Disk): Promise<void> {
  if (disk.holders.length > 0) {
    refuse(
      `cannot open ${disk.path}: Device or resource busy (it is part of ` +
        `${disk.holders.map((h) => `/dev/${h}`).join(", ")}; stop that array first)`,
    );
  }
  const probe = await host.probeExclusive(disk.device);
  if (probe.kind === "busy") {
    refuse(`cannot open ${disk.path}: Device or resource busy (mounted or held by another user)`);
  }
  if (probe.kind === "missing") refuse(`cannot open ${disk.path}: No such device`);
  if (probe.kind === "error") refuse(`cannot open ${disk.path}: ${probe.message}`);
}

/** The IMSM metadata on a disk, or null when it carries none (or unreadable metadata). */
export async function imsmMetadataOf(kernel: Kernel, disk: Disk): Promise<ParsedMetadata | null> {
  try {
    return await readMetadata(kernel.blocks, disk.device);
  } catch {
    return null;
  }
}
