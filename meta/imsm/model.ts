/**
 * Object model of IMSM metadata. Field values are the raw on-disk values (no unit
 * conversion, hi/lo words kept apart) so that a parsed structure re-serialises to the same
 * bytes; accessors.ts joins and interprets them. Byte offsets live in layout.ts only.
 */

/** `imsm_super` fixed part (216 bytes). */
export interface ImsmSuperHeader {
  /** 24-byte magic + 6-char version + NUL padding. */
  signature: Uint8Array;
  checkSum: number;
  mpbSize: number;
  familyNum: number;
  generationNum: number;
  errorLogSize: number;
  attributes: number;
  numDisks: number;
  numRaidDevs: number;
  errorLogPos: number;
  fill: number;
  cacheSize: number;
  origFamilyNum: number;
  pwrCycleCount: number;
  bbmLogSize: number;
  numRaidDevsCreated: number;
  filler1: number;
  /** Unix seconds; 0 = unknown. */
  creationTime: bigint;
  filler: Uint8Array;
}

/** `imsm_disk` (48 bytes). */
export interface ImsmDiskRecord {
  /** 16 bytes, NUL padded (not terminated when 16 characters long). */
  serial: Uint8Array;
  totalBlocksLo: number;
  scsiId: number;
  status: number;
  ownerCfgNum: number;
  totalBlocksHi: number;
  filler: Uint8Array;
}

/** `imsm_dev` + `imsm_vol` head (112 bytes), i.e. a volume record without its maps. */
export interface ImsmVolumeHeader {
  /** Volume name, 16 bytes NUL padded. */
  volume: Uint8Array;
  sizeLow: number;
  sizeHigh: number;
  status: number;
  reservedBlocks: number;
  migrPriority: number;
  numSubVols: number;
  tid: number;
  cngMasterDisk: number;
  cachePolicy: number;
  cngState: number;
  cngSubState: number;
  myVolRaidDevNum: number;
  nvCacheMode: number;
  nvCacheFlags: number;
  nvcVolOrigFamilyNum: number;
  nvcVolRaidDevNum: number;
  rwhPolicy: number;
  jdSerial: Uint8Array;
  filler1: number;
  filler: Uint8Array;
  currMigrUnitLo: number;
  checkpointId: number;
  /** 0 = one map; nonzero = migrating, a second map follows the first. */
  migrState: number;
  migrType: number;
  dirty: number;
  fsState: number;
  verifyErrors: number;
  badBlocks: number;
  currMigrUnitHi: number;
  volFiller: Uint8Array;
}

/** `imsm_map` fixed part (48 bytes). */
export interface ImsmMapHeader {
  pbaOfLba0Lo: number;
  blocksPerMemberLo: number;
  numDataStripesLo: number;
  blocksPerStrip: number;
  mapState: number;
  raidLevel: number;
  numMembers: number;
  numDomains: number;
  failedDiskNum: number;
  ddf: number;
  pbaOfLba0Hi: number;
  blocksPerMemberHi: number;
  numDataStripesHi: number;
  filler: Uint8Array;
}

/** A map with its ord table: `ord.length === numMembers`. */
export interface ImsmMap extends ImsmMapHeader {
  /** disk_ord_tbl: low 24 bits disk-table index, bit 24 = IMSM_ORD_REBUILD. */
  ord: number[];
}

/**
 * A volume record. `maps[0]` is the current/destination map; `maps[1]` (the source map)
 * exists exactly when `migrState !== 0`.
 */
export interface ImsmVolume extends ImsmVolumeHeader {
  maps: ImsmMap[];
}

/** The whole MPB as a tree. Count/size header fields are re-derived on serialisation. */
export interface ImsmSuper extends ImsmSuperHeader {
  disks: ImsmDiskRecord[];
  volumes: ImsmVolume[];
  /**
   * Bytes between the end of the volume table and the bad-block log. Always empty in
   * metadata written by mdadm; kept so that any accepted MPB re-serialises unchanged.
   */
  unparsedTail: Uint8Array;
  /** The bad-block log, raw (`bbmLogSize` bytes at the end of the MPB). */
  bbmLog: Uint8Array;
}

/** Head of the bad-block log. */
export interface ImsmBbmLogHeader {
  signature: number;
  entryCount: number;
}

/** One decoded bad-block log entry (not preserved through this form: use the raw log). */
export interface ImsmBbmLogEntry {
  /** Number of bad sectors (on-disk marked_count + 1). */
  sectorCount: number;
  diskOrdinal: number;
  startSector: bigint;
}

/** `migr_record` (128 bytes at the start of the last sector of slot 0/1 members). */
export interface MigrationRecord {
  recStatus: number;
  currMigrUnitLo: number;
  familyNum: number;
  ascendingMigr: number;
  blocksPerUnit: number;
  destDepthPerUnit: number;
  ckptAreaPbaLo: number;
  dest1stMemberLbaLo: number;
  numMigrUnitsLo: number;
  postMigrVolCapLo: number;
  postMigrVolCapHi: number;
  ckptReadDiskNum: number;
  currMigrUnitHi: number;
  ckptAreaPbaHi: number;
  dest1stMemberLbaHi: number;
  numMigrUnitsHi: number;
  filler: Uint8Array;
}

/** Result of reading one member's metadata tail. */
export interface ParsedMetadata {
  device: string;
  diskSize: bigint;
  sectorSize: number;
  mpb: ImsmSuper;
  /**
   * Bytes after `mpb_size` up to the end of its last sector, as read. mdadm 4.2 leaves stale
   * in-memory bytes there (e.g. a copy of an older map), not zeros; nothing reads them, but
   * passing them back to placeMpb makes a rewrite byte-identical.
   */
  mpbSectorPadding: Uint8Array;
  /** Decoded migration record from the last sector; null when those 128 bytes are all zero. */
  migrationRecord: MigrationRecord | null;
  /** The full last sector as read (bytes after the 128-byte record are kept as is). */
  migrationSector: Uint8Array;
  /** True when the stored checksum matches (false only with `allowBadChecksum`). */
  checksumValid: boolean;
  /** The computed checksum. */
  computedChecksum: number;
}
