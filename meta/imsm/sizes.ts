// IMSM size arithmetic as mdadm 4.2 applies it (spec imsm-format.md §8, §10).
// Every value is in 512-byte sectors unless the name says otherwise; 4K-sector disks are
// converted by the codec, so callers always work in 512-byte units here.

import {
  IMSM_RESERVED_SECTORS,
  MPB_SECTOR_CNT,
  NUM_BLOCKS_DIRTY_STRIPE_REGION,
} from "./constants.ts";

/** The copy area starts this many sectors before the end of the smallest member. */
export const COPY_AREA_FROM_END_SECTORS = 2209;
/** Size of the general-migration copy area per member. */
export const GEN_MIGR_AREA_SECTORS = 2048;
export const SECTORS_PER_MIB = 2048;
/** Reservation for a member disk: metadata plus the IMSM reserved region. */
export const MEMBER_RESERVED_SECTORS = MPB_SECTOR_CNT + IMSM_RESERVED_SECTORS;
/** The smaller reservation mdadm accepts from a spare so it can join existing volumes. */
export const SPARE_MIN_RESERVED_SECTORS = MPB_SECTOR_CNT + NUM_BLOCKS_DIRTY_STRIPE_REGION;
/** Chunk mdadm picks when no option ROM is present (IMSM_NO_PLATFORM). */
export const DEFAULT_CHUNK_KIB = 128;
/** raid1 always uses 64 KiB strips whatever --chunk says. */
export const RAID1_BLOCKS_PER_STRIP = 128;

/** RAID level as the md/mdadm user sees it. */
export type MdLevel = 0 | 1 | 5 | 10;

export function isMdLevel(n: number): n is MdLevel {
  return n === 0 || n === 1 || n === 5 || n === 10;
}

/** Disks whose capacity holds data: raid0 all, mirrors half, raid5 all but one. */
export function dataDisks(level: MdLevel, members: number): number {
  switch (level) {
    case 0:
      return members;
    case 1:
    case 10:
      return Math.floor(members / 2);
    case 5:
      return members - 1;
  }
}

/** num_domains field: 2 copies for mirrored levels, 1 otherwise. */
export function numDomains(level: MdLevel): 1 | 2 {
  return level === 1 || level === 10 ? 2 : 1;
}

/** raid_level byte as 4.2 writes it: raid10 is stored as 1 (old option ROMs know no 10). */
export function storedRaidLevel(level: MdLevel): number {
  return level === 10 ? 1 : level;
}

/** blocks_per_strip for a chunk request (raid1 is fixed). */
export function blocksPerStrip(level: MdLevel, chunkKiB: number): number {
  return level === 1 ? RAID1_BLOCKS_PER_STRIP : chunkKiB * 2;
}

/** Array size rounded down so every data disk holds a whole number of MiB. */
export function roundSizeToMib(arraySectors: number, dataDiskCount: number): number {
  const perDisk = Math.floor(arraySectors / dataDiskCount);
  return Math.floor(perDisk / SECTORS_PER_MIB) * SECTORS_PER_MIB * dataDiskCount;
}

/** num_data_stripes: per data disk, per copy, in strips. */
export function numDataStripes(
  level: MdLevel,
  members: number,
  arraySectors: number,
  strip: number,
): number {
  const perDataDisk = Math.floor(arraySectors / dataDisks(level, members));
  return Math.floor(Math.floor(perDataDisk / numDomains(level)) / strip);
}

/** Sectors of data each member holds for a map (mdadm's per-device array size). */
export function perDevArraySize(level: MdLevel, stripes: number, strip: number): number {
  return stripes * strip * numDomains(level);
}

export interface VolumeGeometry {
  /** dev size_low/high: array capacity. */
  arraySectors: number;
  /** data sectors per member after the MiB rounding. */
  perMemberSectors: number;
  blocksPerMember: number;
  numDataStripes: number;
  blocksPerStrip: number;
}

/**
 * Geometry of a new volume from a per-member size request in KiB (mdadm --size):
 * capacity rounded to whole MiB per data disk, plus the 1 MiB dirty-stripe region in
 * blocks_per_member (rounded down to the strip except for raid1).
 */
export function volumeGeometry(
  level: MdLevel,
  members: number,
  chunkKiB: number,
  perMemberKiB: number,
): VolumeGeometry {
  const strip = blocksPerStrip(level, chunkKiB);
  const dd = dataDisks(level, members);
  const arraySectors = roundSizeToMib(dd * perMemberKiB * 2, dd);
  const perMemberSectors = arraySectors / dd;
  // mdadm goes through KiB here, so the value is even before the strip rounding.
  const withTail = Math.floor((perMemberSectors + NUM_BLOCKS_DIRTY_STRIPE_REGION) / 2) * 2;
  const blocksPerMember = level === 1 ? withTail : withTail - (withTail % strip);
  return {
    arraySectors,
    perMemberSectors,
    blocksPerMember,
    numDataStripes: numDataStripes(level, members, arraySectors, strip),
    blocksPerStrip: strip,
  };
}

/** Volume capacity after an OCE: the per-member data times the new data disks, MiB rounded. */
export function grownArraySize(
  level: MdLevel,
  newMembers: number,
  stripes: number,
  strip: number,
): number {
  const dd = dataDisks(level, newMembers);
  return roundSizeToMib(perDevArraySize(level, stripes, strip) * dd, dd);
}

export interface Extent {
  start: number;
  size: number;
}

export interface DiskSpace {
  totalSectors: number;
  /** Extents of volumes this disk is a member of (pba_of_lba0, per-device array size). */
  volumeExtents: Extent[];
  /** Free spare (not in the disk table): gets the smaller reservation. */
  spare: boolean;
}

/**
 * Reservation at the end of a member that already has volumes: the default, but never more
 * than what is really left after its last volume (rounded down to an even count), and never
 * less than the MPB itself.
 */
export function memberReservation(disk: DiskSpace, mpbSectors: number): number {
  if (disk.volumeExtents.length === 0) return MEMBER_RESERVED_SECTORS;
  const last = [...disk.volumeExtents].sort((a, b) => a.start - b.start).at(-1)!;
  let remainder = disk.totalSectors - (last.start + last.size);
  remainder -= remainder % 2;
  if (remainder < mpbSectors) remainder = mpbSectors;
  return Math.min(MEMBER_RESERVED_SECTORS, remainder);
}

/** Reservation mdadm accepts from a spare: small, but capped by the tightest active member. */
export function spareReservation(active: DiskSpace[], mpbSectors: number): number {
  const members = active.filter((d) => !d.spare);
  if (members.length === 0) return MEMBER_RESERVED_SECTORS;
  const smallest = members.reduce((a, b) => (b.totalSectors < a.totalSectors ? b : a));
  const remainder = memberReservation(smallest, mpbSectors);
  return Math.min(SPARE_MIN_RESERVED_SECTORS, remainder);
}

/** Where the metadata region of a disk starts: no volume may reach past it. */
export function metadataStart(disk: DiskSpace, all: DiskSpace[], mpbSectors: number): number {
  const reservation = disk.spare
    ? spareReservation(all, mpbSectors)
    : memberReservation(disk, mpbSectors);
  return disk.totalSectors - reservation;
}

export interface FreeRegion {
  /** pba_of_lba0 for a new volume. */
  start: number;
  /** Largest per-member size that fits there. */
  sizeSectors: number;
}

/**
 * Largest region with a common start offset on all the given disks (mdadm merge_extents):
 * merge every disk's used extents, stop at the lowest metadata start, take the largest gap
 * (later gap wins ties); a gap after an existing volume loses IMSM_RESERVED_SECTORS to the
 * gap mdadm leaves between volumes. Returns undefined when nothing fits.
 */
export function largestFreeRegion(disks: DiskSpace[], mpbSectors: number): FreeRegion | undefined {
  const extents: Extent[] = [];
  for (const d of disks) {
    extents.push(...d.volumeExtents);
    extents.push({ start: metadataStart(d, disks, mpbSectors), size: 0 });
  }
  extents.sort((a, b) => a.start - b.start || b.size - a.size);
  const merged: Extent[] = [];
  for (const e of extents) {
    const prev = merged.at(-1);
    if (prev && prev.size > 0 && e.start <= prev.start + prev.size) {
      if (e.size === 0) {
        // a metadata boundary inside a used region: mdadm ends the usable space at its start
        prev.size = 0;
        break;
      }
      prev.size = Math.max(prev.size, e.start + e.size - prev.start);
      continue;
    }
    merged.push({ ...e });
    if (e.size === 0) break;
  }
  let pos = 0;
  let best = 0;
  let bestStart = 0;
  let bestIndex = 0;
  merged.forEach((e, i) => {
    const gap = e.start - pos;
    if (gap >= best) {
      best = gap;
      bestStart = pos;
      bestIndex = i;
    }
    pos = e.start + e.size;
  });
  if (best <= 0) return undefined;
  const gapReserve = bestIndex > 0 ? IMSM_RESERVED_SECTORS : 0;
  if (best <= gapReserve) return undefined;
  return { start: bestStart + gapReserve, sizeSectors: best - gapReserve };
}

/** Usable size mdadm -E prints for a disk: up to the start of its metadata reservation. */
export function usableSectors(totalSectors: number, spare: boolean): number {
  return totalSectors - (spare ? MPB_SECTOR_CNT : MEMBER_RESERVED_SECTORS);
}

/** Per-member sectors of one migration unit: the copy area rounded down to the larger strip. */
export function destDepthPerUnit(stripA: number, stripB: number): number {
  const strip = Math.max(stripA, stripB);
  return Math.floor(GEN_MIGR_AREA_SECTORS / strip) * strip;
}

/** Number of migration units covering the member data in the destination layout. */
export function numMigrationUnits(componentSectors: number, newDataDisks: number, unit: number) {
  return Math.ceil((componentSectors * newDataDisks) / unit);
}

/** Copy area sector on every member: relative to the end of the smallest member. */
export function copyAreaPba(smallestMemberSectors: number): number {
  return smallestMemberSectors - COPY_AREA_FROM_END_SECTORS;
}

/** Default per-member size when none is requested: the free region rounded to the chunk. */
export function defaultMemberKiB(level: MdLevel, freeSectors: number, chunkKiB: number): number {
  let kib = Math.floor(freeSectors / (2 * chunkKiB)) * chunkKiB;
  if (level === 1) kib -= kib % 64; // mdadm keeps raid1 sizes reshapable to raid5
  return kib;
}
