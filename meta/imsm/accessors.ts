/**
 * Interpreted views of raw model fields: hi/lo words joined, levels and strings decoded.
 * Follows mdadm's reading rules (spec §5.1, §5: `_hi` words only count when the
 * 2TB_DISK attribute is set).
 */
import {
  ATTRIBUTE,
  DISK_STATUS,
  MIGR_TYPE,
  MPB_SIGNATURE_LENGTH,
  ORD_INDEX_MASK,
  ORD_REBUILD,
  VOLUME_STATUS,
} from "./constants.ts";
import type { ImsmDiskRecord, ImsmMap, ImsmSuper, ImsmSuperHeader, ImsmVolume } from "./model.ts";

export function joinU32(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Splits a 64-bit value into [lo, hi] u32 words. */
export function splitU64(v: bigint): [number, number] {
  return [Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn)];
}

/** Whether the `_hi` words of disks and maps are meaningful (mdadm zeroes them otherwise). */
export function hiWordsUsed(mpb: Pick<ImsmSuperHeader, "attributes">): boolean {
  return (mpb.attributes & ATTRIBUTE.TWO_TB_DISK) !== 0;
}

/** Text of a NUL-padded byte field (stops at the first NUL), bytes taken as Latin-1. */
export function cString(bytes: Uint8Array, max = bytes.length): string {
  let s = "";
  for (let i = 0; i < Math.min(max, bytes.length); i++) {
    if (bytes[i] === 0) break;
    s += String.fromCharCode(bytes[i]);
  }
  return s;
}

/** Bytes of a NUL-padded field of `width` bytes holding `text` (Latin-1, truncated). */
export function paddedBytes(text: string, width: number): Uint8Array {
  const out = new Uint8Array(width);
  for (let i = 0; i < Math.min(text.length, width); i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** The magic as mdadm prints it: the 24 signature bytes minus the last (a space). */
export function magicText(mpb: Pick<ImsmSuperHeader, "signature">): string {
  return cString(mpb.signature, MPB_SIGNATURE_LENGTH - 1);
}

/** Version string stored after the magic, e.g. "1.2.02". */
export function versionText(mpb: Pick<ImsmSuperHeader, "signature">): string {
  return cString(mpb.signature.subarray(MPB_SIGNATURE_LENGTH));
}

/** Family number used for identity: orig_family_num, or family_num when that is 0. */
export function identityFamily(mpb: Pick<ImsmSuperHeader, "origFamilyNum" | "familyNum">): number {
  return mpb.origFamilyNum !== 0 ? mpb.origFamilyNum : mpb.familyNum;
}

export function diskSerial(disk: ImsmDiskRecord): string {
  return cString(disk.serial);
}

export function totalBlocks(mpb: ImsmSuperHeader, disk: ImsmDiskRecord): bigint {
  return joinU32(disk.totalBlocksLo, hiWordsUsed(mpb) ? disk.totalBlocksHi : 0);
}

export function isSpare(disk: ImsmDiskRecord): boolean {
  return (disk.status & DISK_STATUS.SPARE) !== 0;
}
export function isConfigured(disk: ImsmDiskRecord): boolean {
  return (disk.status & DISK_STATUS.CONFIGURED) !== 0;
}
export function isFailed(disk: ImsmDiskRecord): boolean {
  return (disk.status & DISK_STATUS.FAILED) !== 0;
}
export function isJournal(disk: ImsmDiskRecord): boolean {
  return (disk.status & DISK_STATUS.JOURNAL) !== 0;
}

export function volumeName(vol: ImsmVolume): string {
  return cString(vol.volume);
}

/** Volume (array) size in sectors; the size words are always 64-bit. */
export function volumeSize(vol: ImsmVolume): bigint {
  return joinU32(vol.sizeLow, vol.sizeHigh);
}

export function volumeCurrMigrUnit(vol: ImsmVolume): bigint {
  return joinU32(vol.currMigrUnitLo, vol.currMigrUnitHi);
}

export function pbaOfLba0(mpb: ImsmSuperHeader, map: ImsmMap): bigint {
  return joinU32(map.pbaOfLba0Lo, hiWordsUsed(mpb) ? map.pbaOfLba0Hi : 0);
}

export function blocksPerMember(mpb: ImsmSuperHeader, map: ImsmMap): bigint {
  return joinU32(map.blocksPerMemberLo, hiWordsUsed(mpb) ? map.blocksPerMemberHi : 0);
}

export function numDataStripes(mpb: ImsmSuperHeader, map: ImsmMap): bigint {
  return joinU32(map.numDataStripesLo, hiWordsUsed(mpb) ? map.numDataStripesHi : 0);
}

/** RAID level as users know it: raid_level 1 with other than 2 members is raid10. */
export function raidLevel(map: ImsmMap): number {
  if (map.raidLevel === 1) return map.numMembers === 2 ? 1 : 10;
  return map.raidLevel;
}

/** Data members of a map (0 for an unknown level). */
export function dataMembers(map: ImsmMap): number {
  switch (raidLevel(map)) {
    case 0:
      return map.numMembers;
    case 1:
    case 10:
      return Math.floor(map.numMembers / 2);
    case 5:
      return map.numMembers - 1;
    default:
      return 0;
  }
}

/** Sectors of data on each member: num_data_stripes x strip (x 2 for mirrors). */
export function perDevArraySize(mpb: ImsmSuperHeader, map: ImsmMap): bigint {
  const base = numDataStripes(mpb, map) * BigInt(map.blocksPerStrip);
  const level = raidLevel(map);
  return level === 1 || level === 10 ? base * 2n : base;
}

export function ordIndex(ord: number): number {
  return ord & ORD_INDEX_MASK;
}
export function ordRebuild(ord: number): boolean {
  return (ord & ORD_REBUILD) !== 0;
}

/** Slot of disk-table index `idx` in a map, or -1. */
export function slotOfDisk(map: ImsmMap, idx: number): number {
  for (let slot = 0; slot < map.ord.length; slot++) {
    if (ordIndex(map.ord[slot]) === idx) return slot;
  }
  return -1;
}

/** Migration type as mdadm reports it (VERIFY + VERIFY_AND_FIX reads as REPAIR). */
export function migrationType(vol: ImsmVolume): number {
  if (vol.migrType === MIGR_TYPE.VERIFY && (vol.status & VOLUME_STATUS.VERIFY_AND_FIX) !== 0) {
    return MIGR_TYPE.REPAIR;
  }
  return vol.migrType;
}

export function isGeneralMigration(vol: ImsmVolume): boolean {
  return vol.migrState !== 0 && vol.migrType === MIGR_TYPE.GEN_MIGR;
}

/** The first volume in a general migration, with its index, or null. */
export function volumeInGeneralMigration(
  mpb: ImsmSuper,
): { index: number; volume: ImsmVolume } | null {
  for (let i = 0; i < mpb.volumes.length; i++) {
    if (isGeneralMigration(mpb.volumes[i])) return { index: i, volume: mpb.volumes[i] };
  }
  return null;
}

/** MPB size rounded up to whole sectors, in sectors. */
export function mpbSectors(mpbSize: number, sectorSize: number): number {
  return Math.ceil(mpbSize / sectorSize);
}
