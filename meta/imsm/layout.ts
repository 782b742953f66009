/**
 * Declarative byte layouts of the IMSM on-disk structures (spec/imsm-format.md §2-§7, §12).
 * One description per structure drives both the generic decoder and the generic encoder
 * (codec.ts), so a field can never be read from one offset and written to another.
 * Every byte of a fixed-size structure belongs to exactly one field (fillers included), which
 * is what makes parse -> serialize bit-exact; tests check the tiling.
 * All integers are little-endian.
 */
import type {
  ImsmBbmLogHeader,
  ImsmDiskRecord,
  ImsmMapHeader,
  ImsmSuperHeader,
  ImsmVolumeHeader,
  MigrationRecord,
} from "./model.ts";

/** u8/u16/u32/u64 are little-endian unsigned integers (u64 as bigint); bytes is kept raw. */
export type FieldKind = "u8" | "u16" | "u32" | "u64" | "bytes";

export interface FieldSpec<N extends string = string> {
  readonly name: N;
  readonly offset: number;
  readonly width: number;
  readonly kind: FieldKind;
}

export interface StructLayout<T> {
  /** Structure name used in error messages (mdadm's C name). */
  readonly structure: string;
  readonly size: number;
  readonly fields: readonly FieldSpec<keyof T & string>[];
}

function field<N extends string>(
  name: N,
  offset: number,
  width: number,
  kind: FieldKind,
): FieldSpec<N> {
  return { name, offset, width, kind };
}

/** `imsm_super` up to (not including) the disk table: 216 bytes. */
export const SUPER_HEADER_LAYOUT: StructLayout<ImsmSuperHeader> = {
  structure: "imsm_super",
  size: 0xd8,
  fields: [
    field("signature", 0x00, 32, "bytes"),
    field("checkSum", 0x20, 4, "u32"),
    field("mpbSize", 0x24, 4, "u32"),
    field("familyNum", 0x28, 4, "u32"),
    field("generationNum", 0x2c, 4, "u32"),
    field("errorLogSize", 0x30, 4, "u32"),
    field("attributes", 0x34, 4, "u32"),
    field("numDisks", 0x38, 1, "u8"),
    field("numRaidDevs", 0x39, 1, "u8"),
    field("errorLogPos", 0x3a, 1, "u8"),
    field("fill", 0x3b, 1, "u8"),
    field("cacheSize", 0x3c, 4, "u32"),
    field("origFamilyNum", 0x40, 4, "u32"),
    field("pwrCycleCount", 0x44, 4, "u32"),
    field("bbmLogSize", 0x48, 4, "u32"),
    field("numRaidDevsCreated", 0x4c, 2, "u16"),
    field("filler1", 0x4e, 2, "u16"),
    field("creationTime", 0x50, 8, "u64"),
    field("filler", 0x58, 128, "bytes"),
  ],
};

/** `imsm_disk`: 48 bytes, the disk table starts at MPB offset 0xD8. */
export const DISK_LAYOUT: StructLayout<ImsmDiskRecord> = {
  structure: "imsm_disk",
  size: 48,
  fields: [
    field("serial", 0, 16, "bytes"),
    field("totalBlocksLo", 16, 4, "u32"),
    field("scsiId", 20, 4, "u32"),
    field("status", 24, 4, "u32"),
    field("ownerCfgNum", 28, 4, "u32"),
    field("totalBlocksHi", 32, 4, "u32"),
    field("filler", 36, 12, "bytes"),
  ],
};

/** `imsm_dev` plus its `imsm_vol` head, up to where map[0] starts: 112 bytes. */
export const VOLUME_HEADER_LAYOUT: StructLayout<ImsmVolumeHeader> = {
  structure: "imsm_dev",
  size: 112,
  fields: [
    field("volume", 0, 16, "bytes"),
    field("sizeLow", 16, 4, "u32"),
    field("sizeHigh", 20, 4, "u32"),
    field("status", 24, 4, "u32"),
    field("reservedBlocks", 28, 4, "u32"),
    field("migrPriority", 32, 1, "u8"),
    field("numSubVols", 33, 1, "u8"),
    field("tid", 34, 1, "u8"),
    field("cngMasterDisk", 35, 1, "u8"),
    field("cachePolicy", 36, 2, "u16"),
    field("cngState", 38, 1, "u8"),
    field("cngSubState", 39, 1, "u8"),
    field("myVolRaidDevNum", 40, 2, "u16"),
    field("nvCacheMode", 42, 1, "u8"),
    field("nvCacheFlags", 43, 1, "u8"),
    field("nvcVolOrigFamilyNum", 44, 4, "u32"),
    field("nvcVolRaidDevNum", 48, 2, "u16"),
    field("rwhPolicy", 50, 1, "u8"),
    field("jdSerial", 51, 16, "bytes"),
    field("filler1", 67, 1, "u8"),
    field("filler", 68, 12, "bytes"),
    // imsm_vol
    field("currMigrUnitLo", 80, 4, "u32"),
    field("checkpointId", 84, 4, "u32"),
    field("migrState", 88, 1, "u8"),
    field("migrType", 89, 1, "u8"),
    field("dirty", 90, 1, "u8"),
    field("fsState", 91, 1, "u8"),
    field("verifyErrors", 92, 2, "u16"),
    field("badBlocks", 94, 2, "u16"),
    field("currMigrUnitHi", 96, 4, "u32"),
    field("volFiller", 100, 12, "bytes"),
  ],
};

/** `imsm_map` without its variable `disk_ord_tbl` (4 bytes per member follow): 48 bytes. */
export const MAP_HEADER_LAYOUT: StructLayout<ImsmMapHeader> = {
  structure: "imsm_map",
  size: 48,
  fields: [
    field("pbaOfLba0Lo", 0, 4, "u32"),
    field("blocksPerMemberLo", 4, 4, "u32"),
    field("numDataStripesLo", 8, 4, "u32"),
    field("blocksPerStrip", 12, 2, "u16"),
    field("mapState", 14, 1, "u8"),
    field("raidLevel", 15, 1, "u8"),
    field("numMembers", 16, 1, "u8"),
    field("numDomains", 17, 1, "u8"),
    field("failedDiskNum", 18, 1, "u8"),
    field("ddf", 19, 1, "u8"),
    field("pbaOfLba0Hi", 20, 4, "u32"),
    field("blocksPerMemberHi", 24, 4, "u32"),
    field("numDataStripesHi", 28, 4, "u32"),
    field("filler", 32, 16, "bytes"),
  ],
};

/** Width of one `disk_ord_tbl` entry. */
export const ORD_ENTRY_SIZE = 4;

/** `migr_record`: the first 128 bytes of the last sector of a member. */
export const MIGRATION_RECORD_LAYOUT: StructLayout<MigrationRecord> = {
  structure: "migr_record",
  size: 128,
  fields: [
    field("recStatus", 0, 4, "u32"),
    field("currMigrUnitLo", 4, 4, "u32"),
    field("familyNum", 8, 4, "u32"),
    field("ascendingMigr", 12, 4, "u32"),
    field("blocksPerUnit", 16, 4, "u32"),
    field("destDepthPerUnit", 20, 4, "u32"),
    field("ckptAreaPbaLo", 24, 4, "u32"),
    field("dest1stMemberLbaLo", 28, 4, "u32"),
    field("numMigrUnitsLo", 32, 4, "u32"),
    field("postMigrVolCapLo", 36, 4, "u32"),
    field("postMigrVolCapHi", 40, 4, "u32"),
    field("ckptReadDiskNum", 44, 4, "u32"),
    field("currMigrUnitHi", 48, 4, "u32"),
    field("ckptAreaPbaHi", 52, 4, "u32"),
    field("dest1stMemberLbaHi", 56, 4, "u32"),
    field("numMigrUnitsHi", 60, 4, "u32"),
    field("filler", 64, 64, "bytes"),
  ],
};

/** Head of the bad-block log (its entries follow, 8 bytes each). */
export const BBM_LOG_HEADER_LAYOUT: StructLayout<ImsmBbmLogHeader> = {
  structure: "bbm_log",
  size: 8,
  fields: [
    field("signature", 0, 4, "u32"),
    field("entryCount", 4, 4, "u32"),
  ],
};

export const BBM_LOG_ENTRY_SIZE = 8;

/** Every fixed layout, for the tiling check in tests and at start-up. */
export const ALL_LAYOUTS: readonly StructLayout<unknown>[] = [
  SUPER_HEADER_LAYOUT,
  DISK_LAYOUT,
  VOLUME_HEADER_LAYOUT,
  MAP_HEADER_LAYOUT,
  MIGRATION_RECORD_LAYOUT,
  BBM_LOG_HEADER_LAYOUT,
] as readonly StructLayout<unknown>[];
