/** IMSM constants (spec/imsm-format.md). Values as on disk. */

/** The 24 bytes compared to recognise an MPB (note the trailing space). */
export const MPB_SIGNATURE = "Intel Raid ISM Cfg Sig. ";
export const MPB_SIGNATURE_LENGTH = 24;
export const MPB_VERSION_LENGTH = 6;
/** Size of the fixed `imsm_super` part; the disk table starts here. */
export const MPB_HEADER_SIZE = 0xd8;
export const DISK_RECORD_SIZE = 48;
export const VOLUME_HEADER_SIZE = 112;
export const MAP_HEADER_SIZE = 48;
export const MIGRATION_RECORD_SIZE = 128;
export const SERIAL_LENGTH = 16;
export const VOLUME_NAME_LENGTH = 16;

/** Sectors (512 B) reserved at the end of a member for the MPB and the copy area. */
export const MPB_SECTOR_CNT = 2210;
/** Additional sectors kept free after the last volume of a member. */
export const IMSM_RESERVED_SECTORS = 8192;
export const NUM_BLOCKS_DIRTY_STRIPE_REGION = 2048;

/** Largest MPB we accept: the whole metadata reservation (bigger is corrupt). */
export const MAX_MPB_SIZE = MPB_SECTOR_CNT * 512;

export const DISK_STATUS = {
  SPARE: 0x01,
  CONFIGURED: 0x02,
  FAILED: 0x04,
  JOURNAL: 0x02000000,
} as const;

export const ATTRIBUTE = {
  RAID0: 0x00000001,
  RAID1: 0x00000002,
  RAID10: 0x00000004,
  RAID1E: 0x00000008,
  RAID5: 0x00000010,
  RAIDCNG: 0x00000020,
  EXP_STRIPE_SIZE: 0x00000040,
  RAID10_EXT: 0x00000080,
  NVM: 0x02000000,
  TWO_TB_DISK: 0x04000000,
  BBM: 0x08000000,
  NEVER_USE2: 0x10000000,
  TWO_TB: 0x20000000,
  NEVER_USE: 0x40000000,
  CHECKSUM_VERIFY: 0x80000000,
} as const;

/** Attribute bits mdadm 4.2 reports as "All supported" (*imsm_check_attributes*). */
export const SUPPORTED_ATTRIBUTES_4_2 = ATTRIBUTE.CHECKSUM_VERIFY | ATTRIBUTE.TWO_TB |
  ATTRIBUTE.TWO_TB_DISK | ATTRIBUTE.RAID0 | ATTRIBUTE.RAID1 | ATTRIBUTE.RAID10 |
  ATTRIBUTE.RAID5 | ATTRIBUTE.EXP_STRIPE_SIZE | ATTRIBUTE.BBM | ATTRIBUTE.NEVER_USE;

export const VOLUME_STATUS = {
  BOOTABLE: 0x1,
  BOOT_DEVICE: 0x2,
  READ_COALESCING: 0x4,
  WRITE_COALESCING: 0x8,
  LAST_SHUTDOWN_DIRTY: 0x10,
  HIDDEN_AT_BOOT: 0x20,
  CURRENTLY_HIDDEN: 0x40,
  VERIFY_AND_FIX: 0x80,
  MAP_STATE_UNINIT: 0x100,
  NO_AUTO_RECOVERY: 0x200,
  CLONE_N_GO: 0x400,
  CLONE_MAN_SYNC: 0x800,
  CNG_MASTER_DISK_NUM: 0x1000,
} as const;

export const MAP_STATE = { NORMAL: 0, UNINITIALIZED: 1, DEGRADED: 2, FAILED: 3 } as const;
export const MAP_STATE_NAMES = ["normal", "uninitialized", "degraded", "failed"] as const;

/** Values of `raid_level` a map may hold (raid10 with 4 members is stored as 1). */
export const RAID_LEVELS = [0, 1, 5, 10] as const;

export const MIGR_TYPE = {
  INIT: 0,
  REBUILD: 1,
  VERIFY: 2,
  GEN_MIGR: 3,
  STATE_CHANGE: 4,
  REPAIR: 5,
} as const;

export const RWH_POLICY = {
  OFF: 0,
  DISTRIBUTED: 1,
  JOURNALING_DRIVE: 2,
  MULTIPLE_DISTRIBUTED: 3,
  MULTIPLE_PPLS_JOURNALING_DRIVE: 4,
  MULTIPLE_OFF: 5,
  BITMAP: 6,
} as const;

export const ORD_INDEX_MASK = 0x00ffffff;
export const ORD_REBUILD = 0x01000000;
export const FAILED_DISK_NONE = 0xff;

export const DIRTY_FLAG = { DIRTY: 0x1, DSRECORD_VALID: 0x2 } as const;

export const MIGR_REC_STATUS = { UNIT_SRC_NORMAL: 0, UNIT_SRC_IN_CP_AREA: 1 } as const;

export const BBM_LOG_SIGNATURE = 0xabadb10c;
export const BBM_LOG_MAX_ENTRIES = 254;
