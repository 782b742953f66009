/**
 * The values mdadm 4.2 derives for `--examine` of one member: which table entry is "this
 * disk" and how many sectors it counts as reserved for metadata ("Usable Size"). Kept
 * apart from the create-time size rules because -E applies them to whatever is on disk,
 * wrap-arounds included (*load_imsm_disk*, *imsm_reserved_sectors*, *get_extents*).
 */
import {
  isFailed,
  isJournal,
  isSpare,
  numDataStripes,
  pbaOfLba0,
  raidLevel,
  slotOfDisk,
} from "./accessors.ts";
import { IMSM_RESERVED_SECTORS, MPB_SECTOR_CNT, SERIAL_LENGTH } from "./constants.ts";
import type { ImsmDiskRecord, ImsmSuper } from "./model.ts";

const U64 = 1n << 64n;
export const wrap64 = (v: bigint) => ((v % U64) + U64) % U64;

/** Index mdadm gives the examined disk: >= 0 member, -1 spare/journal, -2 failed/absent. */
export const DISK_INDEX_SPARE = -1;
export const DISK_INDEX_NONE = -2;

export interface ThisDisk {
  index: number;
  /** The table record matching the serial (null when none matched). */
  record: ImsmDiskRecord | null;
}

/** Compares like strncmp over 16 bytes: up to the first NUL. */
function serialMatches(stored: Uint8Array, serial: Uint8Array): boolean {
  for (let i = 0; i < SERIAL_LENGTH; i++) {
    const a = stored[i] ?? 0;
    const b = serial[i] ?? 0;
    if (a !== b) return false;
    if (a === 0) return true;
  }
  return true;
}

/** Finds the examined disk in the table by serial (bytes as they would be stored). */
export function findThisDisk(mpb: ImsmSuper, serial: Uint8Array): ThisDisk {
  for (let i = 0; i < mpb.disks.length; i++) {
    const d = mpb.disks[i];
    if (!serialMatches(d.serial, serial)) continue;
    if (isFailed(d)) return { index: DISK_INDEX_NONE, record: d };
    if (isSpare(d) || isJournal(d)) return { index: DISK_INDEX_SPARE, record: d };
    return { index: i, record: d };
  }
  return { index: DISK_INDEX_NONE, record: null };
}

/** Disk size in 512-byte sectors as mdadm holds it in memory (4K units converted). */
export function totalSectors512(mpb: ImsmSuper, disk: ImsmDiskRecord | null, sectorSize: number) {
  if (!disk) return 0n;
  const hi = (mpb.attributes & 0x04000000) !== 0 ? disk.totalBlocksHi : 0;
  return wrap64(((BigInt(hi) << 32n) | BigInt(disk.totalBlocksLo)) * BigInt(sectorSize / 512));
}

/** Sectors (512 B) reserved at the end of the examined disk, as a u32. */
export function examineReservedSectors(
  mpb: ImsmSuper,
  thisDisk: ThisDisk,
  sectorSize: number,
): number {
  if (thisDisk.index === DISK_INDEX_SPARE) return MPB_SECTOR_CNT;
  const total = totalSectors512(mpb, thisDisk.record, sectorSize);
  const scale = BigInt(sectorSize / 512);
  const extents: { start: bigint; size: bigint }[] = [];
  if (thisDisk.index >= 0) {
    for (const vol of mpb.volumes) {
      const map = vol.maps[0];
      if (slotOfDisk(map, thisDisk.index) < 0) continue;
      const stripBlocks = BigInt((map.blocksPerStrip * (sectorSize / 512)) & 0xffff);
      let size = wrap64(numDataStripes(mpb, map) * stripBlocks);
      const level = raidLevel(map);
      if (level === 1 || level === 10) size = wrap64(size * 2n);
      extents.push({ start: wrap64(pbaOfLba0(mpb, map) * scale), size });
    }
  }
  let reservation = BigInt(MPB_SECTOR_CNT + IMSM_RESERVED_SECTORS);
  if (extents.length > 0) {
    extents.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const last = extents[extents.length - 1];
    let remainder = wrap64(total - (last.start + last.size)) & ~1n;
    const mpbBufferSectors = BigInt(
      Math.ceil((Math.ceil(mpb.mpbSize / sectorSize) * sectorSize) / 512),
    );
    if (remainder < mpbBufferSectors) remainder = mpbBufferSectors;
    if (reservation > remainder) reservation = remainder;
  }
  const start = wrap64(total - reservation);
  return Number(wrap64(total - start) & 0xffffffffn);
}
