/**
 * A container as the editor sees it: the MPB shared by every disk of its disk table, plus
 * the free spares (in the container, in no volume) which each carry their own one-disk
 * spare record instead (spec §3, §11.3, §14.6).
 */
import type { ImsmDiskRecord, ImsmSuper, ImsmVolume, ParsedMetadata } from "../model.ts";
import { serializeMpb } from "../mpb.ts";
import { ATTRIBUTE, DISK_STATUS } from "../constants.ts";
import { diskSerial } from "../accessors.ts";
import { ImsmEditError } from "./errors.ts";
import { blankDisk, blankSuper, cloneSuper, serialBytes, setTotalBlocks } from "./records.ts";
import { diskFromDiskUnits, mpbFromDiskUnits } from "./units.ts";

export interface ImsmContainer {
  /** Shared member MPB. Before the first volume its disk table is empty. Units: 512 B. */
  mpb: ImsmSuper;
  /** Free spares, status SPARE, not listed in `mpb.disks`. */
  spares: ImsmDiskRecord[];
  /** Logical sector size shared by all disks of the container. */
  sectorSize: number;
  /**
   * mdadm's in-memory MPB buffer: bytes past mpb_size up to the end of the last MPB sector
   * are written as they are here (stale pieces of a longer earlier MPB, e.g. a dropped second
   * map), so keeping it makes writes byte-identical to mdadm's. Empty = zeros.
   */
  buffer: Uint8Array;
}

/** A disk offered to the container. */
export interface NewDisk {
  /** Serial as mdadm derives it (already cleaned, at most 16 bytes kept). */
  serial: string | Uint8Array;
  /** Whole-disk size in 512-byte sectors. */
  sizeSectors: number;
  /** Logical sector size (512 or 4096); 512 when omitted. */
  sectorSize?: number;
  /** Packed SCSI address host<<24|bus<<16|target<<8|lun; 0 when unknown (virtio, NVMe). */
  scsiId?: number;
}

/** Version string mdadm 4.2 gives a container without volumes and each spare record. */
export const EMPTY_CONTAINER_VERSION = "1.0.00";

/** The volume `index` of `c`; a clear error when the container has no such volume. */
export function requireVolume(c: ImsmContainer, index: number): ImsmVolume {
  const vol = c.mpb.volumes[index];
  if (!vol) {
    throw new ImsmEditError({
      code: "bad-state",
      subject: "container",
      field: "imsm_super.num_raid_devs",
      value: index,
      problem: `no volume with index ${index} (the container has ${c.mpb.volumes.length})`,
      hint: "name an existing subarray",
    });
  }
  return vol;
}

/** Two terabytes in sectors: disks this big set total_blocks_hi (attribute 2TB_DISK). */
const TWO_32 = 2 ** 32;

function spareDiskRecord(d: NewDisk): ImsmDiskRecord {
  const rec = blankDisk();
  rec.serial = serialBytes(d.serial);
  setTotalBlocks(rec, d.sizeSectors);
  rec.scsiId = (d.scsiId ?? 0) >>> 0;
  rec.status = DISK_STATUS.SPARE;
  return rec;
}

function checkSectorSize(c: { sectorSize: number }, d: NewDisk): void {
  const size = d.sectorSize ?? 512;
  if (size !== 512 && size !== 4096) {
    throw new ImsmEditError({
      code: "sector-size-mismatch",
      subject: `disk ${describeSerial(d.serial)}`,
      field: "logical sector size",
      value: size,
      problem: "IMSM supports 512- and 4096-byte sectors only",
      hint: "use a disk with 512 or 4096-byte logical sectors",
    });
  }
  if (size !== c.sectorSize) {
    throw new ImsmEditError({
      code: "sector-size-mismatch",
      subject: `disk ${describeSerial(d.serial)}`,
      field: "logical sector size",
      value: size,
      problem: `the container uses ${c.sectorSize}-byte sectors and IMSM cannot mix sizes`,
      hint: "put disks with a different sector size into a separate container",
    });
  }
}

function describeSerial(s: string | Uint8Array): string {
  return typeof s === "string" ? s : diskSerial({ ...blankDisk(), serial: serialBytes(s) });
}

function checkNotPresent(c: ImsmContainer, d: NewDisk): void {
  const serial = describeSerial(d.serial);
  if (findDisk(c, serial)) {
    throw new ImsmEditError({
      code: "disk-in-use",
      subject: `disk ${serial}`,
      field: "imsm_disk.serial",
      value: serial,
      problem: "a disk with this serial is already in the container",
      hint: "each disk can be added once; check that two devices do not report the same serial",
    });
  }
}

/**
 * What `mdadm -C <container> -e imsm -n N disks` leaves: no shared MPB yet (every disk gets a
 * spare record); the header mdadm later loads back from those records (generation 1,
 * version 1.0.00, attributes CHECKSUM_VERIFY, pwr_cycle_count 1).
 */
export function newContainer(disks: NewDisk[], opts: { cacheSize?: number } = {}): ImsmContainer {
  if (disks.length === 0) {
    throw new ImsmEditError({
      code: "unknown-disk",
      subject: "container",
      field: "imsm_super.num_disks",
      value: 0,
      problem: "a container needs at least one disk",
      hint: "list the disks to put into the container",
    });
  }
  const mpb = blankSuper(EMPTY_CONTAINER_VERSION);
  mpb.generationNum = 1;
  mpb.attributes = ATTRIBUTE.CHECKSUM_VERIFY;
  mpb.pwrCycleCount = 1;
  mpb.cacheSize = opts.cacheSize ?? 0;
  let c: ImsmContainer = {
    mpb,
    spares: [],
    sectorSize: disks[0].sectorSize ?? 512,
    buffer: new Uint8Array(0),
  };
  for (const d of disks) c = addSpare(c, d);
  return c;
}

/** Adds a disk to the container as a free spare (`mdadm --add <container> disk`). */
export function addSpare(c: ImsmContainer, d: NewDisk): ImsmContainer {
  checkSectorSize(c, d);
  checkNotPresent(c, d);
  const out = cloneContainer(c);
  const rec = spareDiskRecord(d);
  if (d.sizeSectors >= TWO_32) {
    out.mpb.attributes = (out.mpb.attributes | ATTRIBUTE.TWO_TB_DISK) >>> 0;
  }
  out.spares.push(rec);
  return out;
}

/** Takes a free spare out of the container (its metadata must then be erased on the disk). */
export function removeSpare(c: ImsmContainer, serial: string): ImsmContainer {
  const i = c.spares.findIndex((d) => diskSerial(d) === serial);
  if (i < 0) {
    const member = c.mpb.disks.some((d) => diskSerial(d) === serial);
    throw new ImsmEditError({
      code: member ? "disk-in-use" : "unknown-disk",
      subject: `disk ${serial}`,
      field: "imsm_disk.serial",
      value: serial,
      problem: member ? "the disk is a member of a volume, not a free spare" : "no such spare",
      hint: member
        ? "fail the disk in its volumes first (mdadm --fail), then remove it"
        : "list the container's disks with mdadm -D",
    });
  }
  const out = cloneContainer(c);
  out.spares.splice(i, 1);
  return out;
}

export type FoundDisk =
  | { kind: "member"; index: number; record: ImsmDiskRecord }
  | { kind: "spare"; index: number; record: ImsmDiskRecord };

export function findDisk(c: ImsmContainer, serial: string): FoundDisk | undefined {
  const m = c.mpb.disks.findIndex((d) => diskSerial(d) === serial);
  if (m >= 0) return { kind: "member", index: m, record: c.mpb.disks[m] };
  const s = c.spares.findIndex((d) => diskSerial(d) === serial);
  if (s >= 0) return { kind: "spare", index: s, record: c.spares[s] };
  return undefined;
}

export function cloneContainer(c: ImsmContainer): ImsmContainer {
  return {
    mpb: cloneSuper(c.mpb),
    spares: structuredClone(c.spares),
    sectorSize: c.sectorSize,
    buffer: c.buffer.slice(),
  };
}

/**
 * Groups the metadata read from the disks of one container: the populated MPB with the
 * highest generation is the shared one (its sector padding becomes the buffer); records
 * without volumes whose disk is not in its table are free spares. With no populated MPB
 * (fresh container) the newest spare record's header is used with an empty disk table, as
 * mdadm does before creating the first volume.
 */
export function containerFromDisks(disks: ParsedMetadata[]): ImsmContainer {
  if (disks.length === 0) {
    throw new ImsmEditError({
      code: "unknown-disk",
      subject: "container",
      field: "imsm_super",
      value: 0,
      problem: "no metadata records given",
      hint: "pass the metadata read from each disk of the container",
    });
  }
  const newest = (list: ParsedMetadata[]) =>
    list.reduce((a, b) => ((b.mpb.generationNum >>> 0) > (a.mpb.generationNum >>> 0) ? b : a));
  const populated = disks.filter((d) => d.mpb.volumes.length > 0);
  const spareDisks = disks.filter((d) => d.mpb.volumes.length === 0);
  const chosen = newest(populated.length > 0 ? populated : spareDisks);
  const mpb = mpbFromDiskUnits(chosen.mpb, chosen.sectorSize);
  let buffer = new Uint8Array(0);
  if (populated.length > 0) {
    buffer = new Uint8Array(mpb.mpbSize + chosen.mpbSectorPadding.length);
    buffer.set(serializeMpb(chosen.mpb, { checksum: "keep" }));
    buffer.set(chosen.mpbSectorPadding, mpb.mpbSize);
  } else {
    mpb.disks = [];
  }
  const inTable = new Set(mpb.disks.map(diskSerial));
  const spares: ImsmDiskRecord[] = [];
  for (const d of spareDisks) {
    for (const rec of d.mpb.disks) {
      const serial = diskSerial(rec);
      if (inTable.has(serial) || spares.some((x) => diskSerial(x) === serial)) continue;
      spares.push({ ...diskFromDiskUnits(rec, d.sectorSize), status: DISK_STATUS.SPARE });
    }
  }
  return { mpb, spares, sectorSize: chosen.sectorSize, buffer };
}
