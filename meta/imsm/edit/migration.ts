/**
 * Migrations of a volume: initialisation/repair resync (mdmon), general migrations (OCE,
 * raid0->raid5, chunk change) with their migration record and checkpoints, and their end
 * (spec §6, §7; imsm-reshape.md §2.2, §2.4, §2.5).
 */
import type { ImsmSuper, ImsmVolume, MigrationRecord } from "../model.ts";
import {
  DISK_STATUS,
  FAILED_DISK_NONE,
  MAP_STATE,
  MIGR_REC_STATUS,
  MIGR_TYPE,
  NUM_BLOCKS_DIRTY_STRIPE_REGION,
} from "../constants.ts";
import {
  diskSerial,
  isGeneralMigration,
  ordIndex,
  raidLevel,
  volumeInGeneralMigration,
  volumeName,
} from "../accessors.ts";
import {
  copyAreaPba,
  dataDisks,
  destDepthPerUnit,
  grownArraySize,
  isMdLevel,
  type MdLevel,
  numMigrationUnits,
  perDevArraySize,
  roundSizeToMib,
  SECTORS_PER_MIB,
} from "../sizes.ts";
import { cloneContainer, type ImsmContainer, requireVolume } from "./container.ts";
import { ImsmEditError } from "./errors.ts";
import { cloneMap, countFailed, degradedState, endMigration as endMaps, migrate } from "./maps.ts";
import {
  diskSectors,
  mapStripes,
  setBlocksPerMember,
  setCurrMigrUnit,
  setNumDataStripes,
  setVolumeSize,
  splitLoHi,
  volumeSectors,
} from "./records.ts";

function levelOf(vol: ImsmVolume): MdLevel {
  const l = raidLevel(vol.maps[0]);
  if (!isMdLevel(l)) {
    throw new ImsmEditError({
      code: "unsupported",
      subject: `volume ${volumeName(vol)}`,
      field: "imsm_map.raid_level",
      value: l,
      problem: "unknown RAID level",
      hint: "this volume cannot be changed by mdts",
    });
  }
  return l;
}

function refuseBusy(vol: ImsmVolume, what: string): never {
  throw new ImsmEditError({
    code: "bad-state",
    subject: `volume ${volumeName(vol)}`,
    field: "imsm_vol.migr_state",
    value: vol.migrState,
    problem: `${what}: the volume is already migrating (type ${vol.migrType})`,
    hint: "wait for the running resync/rebuild/reshape to finish",
  });
}

/**
 * mdmon's "resync start": an uninitialised volume starts INIT, a dirty one REPAIR
 * (map[0] normal, map[1] the old state).
 */
export function beginResync(c: ImsmContainer, volIndex: number): ImsmContainer {
  const out = cloneContainer(c);
  const vol = requireVolume(out, volIndex);
  if (vol.migrState !== 0) refuseBusy(vol, "cannot start a resync");
  const type = vol.maps[0].mapState === MAP_STATE.UNINITIALIZED ? MIGR_TYPE.INIT : MIGR_TYPE.REPAIR;
  migrate(vol, MAP_STATE.NORMAL, type);
  return out;
}

/** Checkpoint of a resync / rebuild (mdmon stores md progress / blocks per unit). */
export function setResyncCheckpoint(
  c: ImsmContainer,
  volIndex: number,
  unit: number,
): ImsmContainer {
  const out = cloneContainer(c);
  const vol = requireVolume(out, volIndex);
  if (vol.migrState === 0 || isGeneralMigration(vol)) {
    throw new ImsmEditError({
      code: "bad-state",
      subject: `volume ${volumeName(vol)}`,
      field: "imsm_vol.curr_migr_unit",
      value: unit,
      problem: "no resync or rebuild in progress",
      hint: "general migrations use advanceCheckpoint",
    });
  }
  setCurrMigrUnit(vol, unit);
  return out;
}

/** What a general migration changes. */
export type MigrationKind =
  | { kind: "grow-disks"; newDisks: string[] }
  | { kind: "level"; newLevel: 5; newDisk: string; newChunkKiB?: number }
  | { kind: "chunk"; newChunkKiB: number };

function refuse(vol: ImsmVolume, field: string, value: number | string, problem: string): never {
  throw new ImsmEditError({
    code: "unsupported",
    subject: `volume ${volumeName(vol)}`,
    field,
    value,
    problem,
    hint: "mdadm 4.2 does not support this reshape of IMSM volumes",
  });
}

/** Spare → configured member appended to the disk table; returns its index. */
function enlistSpare(c: ImsmContainer, serial: string): number {
  const s = c.spares.findIndex((d) => diskSerial(d) === serial);
  if (s < 0) {
    const member = c.mpb.disks.some((d) => diskSerial(d) === serial);
    throw new ImsmEditError({
      code: member ? "disk-in-use" : "unknown-disk",
      subject: `disk ${serial}`,
      field: "imsm_disk.status",
      value: serial,
      problem: member ? "the disk is already a volume member" : "the disk is not in the container",
      hint: "add it to the container as a spare first",
    });
  }
  const rec = c.spares.splice(s, 1)[0];
  rec.status = ((rec.status | DISK_STATUS.CONFIGURED) & ~DISK_STATUS.SPARE) >>> 0;
  c.mpb.disks.push(rec);
  return c.mpb.disks.length - 1;
}

function checkChunk(vol: ImsmVolume, kib: number): void {
  if (!Number.isInteger(kib) || kib < 2 || kib > 16384 || (kib & (kib - 1)) !== 0) {
    throw new ImsmEditError({
      code: "bad-chunk",
      subject: `volume ${volumeName(vol)}`,
      field: "imsm_map.blocks_per_strip",
      value: kib,
      problem: "chunk must be a power of two from 2 to 16384 KiB",
      hint: "pick e.g. --chunk=64",
    });
  }
}

/**
 * Container OCE (`--grow <container> --raid-devices=N`): the spares become members with the
 * next indexes; only the first volume starts migrating (map[0] gets the new member count,
 * map[1] keeps the old map); its size is set to the grown capacity at once. The others
 * follow one by one when each migration ends.
 */
function beginGrowDisks(out: ImsmContainer, newDisks: string[]): void {
  const vols = out.mpb.volumes;
  if (vols.length === 0) {
    throw new ImsmEditError({
      code: "bad-state",
      subject: "container",
      field: "imsm_super.num_raid_devs",
      value: 0,
      problem: "no volume to grow",
      hint: "create a volume first",
    });
  }
  const oldMembers = vols[0].maps[0].numMembers;
  for (const v of vols) {
    if (v.migrState !== 0) refuseBusy(v, "cannot grow the container");
    const l = levelOf(v);
    if (l !== 0 && l !== 5) {
      refuse(v, "imsm_map.raid_level", l, "only raid0 and raid5 volumes can gain disks");
    }
    if (v.maps[0].numMembers !== oldMembers) {
      refuse(v, "imsm_map.num_members", v.maps[0].numMembers, "volumes differ in member count");
    }
  }
  if (newDisks.length === 0) refuse(vols[0], "raid_disks", oldMembers, "no disk to add");
  const indexes = newDisks.map((s) => enlistSpare(out, s));
  const vol = vols[0];
  const dest = cloneMap(vol.maps[0]);
  const source = cloneMap(vol.maps[0]);
  dest.numMembers = oldMembers + indexes.length;
  dest.ord = [...dest.ord, ...indexes];
  vol.maps = [dest, source];
  vol.migrState = 1;
  setCurrMigrUnit(vol, 0);
  vol.migrType = MIGR_TYPE.GEN_MIGR;
  const l = levelOf(vol);
  setVolumeSize(
    vol,
    grownArraySize(l, dest.numMembers, mapStripes(out.mpb, dest), dest.blocksPerStrip),
  );
}

/**
 * raid0 -> raid5 (one disk added at the last slot) and/or a chunk change: map[0] carries the
 * new level/strip, num_data_stripes follows the volume size, blocks_per_member = data +
 * 1 MiB, size recomputed.
 */
function beginVolumeMigration(
  out: ImsmContainer,
  vol: ImsmVolume,
  newLevel: 5 | undefined,
  newDisk: string | undefined,
  newChunkKiB: number | undefined,
): void {
  if (vol.migrState !== 0) refuseBusy(vol, "cannot start a migration");
  const oldLevel = levelOf(vol);
  const oldSize = volumeSectors(vol);
  const source = cloneMap(vol.maps[0]);
  const dest = cloneMap(vol.maps[0]);
  dest.ord = dest.ord.map(ordIndex);
  let toState = dest.mapState;
  if (newLevel === 5) {
    if (oldLevel !== 0) {
      refuse(vol, "imsm_map.raid_level", oldLevel, "only raid0 can migrate to raid5");
    }
    const index = enlistSpare(out, newDisk!);
    dest.numMembers += 1;
    dest.ord.push(index);
    dest.raidLevel = 5;
    toState = MAP_STATE.NORMAL;
  }
  dest.mapState = toState;
  const level = newLevel ?? oldLevel;
  if (newChunkKiB !== undefined) {
    checkChunk(vol, newChunkKiB);
    if (level === 1) refuse(vol, "imsm_map.blocks_per_strip", newChunkKiB, "raid1 has no chunk");
    dest.blocksPerStrip = newChunkKiB * 2;
    // mdadm divides the old size by the data disks of the old map here
    const stripes = Math.floor(
      Math.floor(oldSize / dataDisks(oldLevel, source.numMembers)) /
        (level === 10 ? 2 : 1) / dest.blocksPerStrip,
    );
    setNumDataStripes(dest, stripes);
  }
  const pdas = perDevArraySize(level, mapStripes(out.mpb, dest), dest.blocksPerStrip);
  setBlocksPerMember(dest, pdas + NUM_BLOCKS_DIRTY_STRIPE_REGION);
  vol.maps = [dest, source];
  vol.migrState = 1;
  vol.migrType = MIGR_TYPE.GEN_MIGR;
  setCurrMigrUnit(vol, 0);
  const dd = dataDisks(level, dest.numMembers);
  setVolumeSize(vol, roundSizeToMib(pdas * dd, dd));
}

/**
 * Starts a general migration. `grow-disks` is container-wide (volIndex is ignored: mdadm
 * always starts with the first volume); `level` and `chunk` apply to volume `volIndex`.
 * The migration record is cleared: call initMigrationRecord when the reshape starts.
 */
export function beginMigration(
  c: ImsmContainer,
  volIndex: number,
  change: MigrationKind,
): ImsmContainer {
  const out = cloneContainer(c);
  const busy = volumeInGeneralMigration(out.mpb);
  if (busy) refuseBusy(busy.volume, "one general migration at a time");
  switch (change.kind) {
    case "grow-disks":
      beginGrowDisks(out, change.newDisks);
      break;
    case "level":
      beginVolumeMigration(
        out,
        requireVolume(out, volIndex),
        change.newLevel,
        change.newDisk,
        change.newChunkKiB,
      );
      break;
    case "chunk":
      beginVolumeMigration(
        out,
        requireVolume(out, volIndex),
        undefined,
        undefined,
        change.newChunkKiB,
      );
      break;
  }
  return out;
}

/** md's component size for a map: data per member, cross-checked against the volume size. */
export function componentSectors(mpb: ImsmSuper, vol: ImsmVolume): number {
  const map = vol.maps[0];
  const level = levelOf(vol);
  const fromMap = perDevArraySize(level, mapStripes(mpb, map), map.blocksPerStrip);
  const fromSize = Math.floor(volumeSectors(vol) / dataDisks(level, map.numMembers));
  return Math.abs(fromMap - fromSize) > SECTORS_PER_MIB ? fromSize : fromMap;
}

function blankRecord(): MigrationRecord {
  return {
    recStatus: 0,
    currMigrUnitLo: 0,
    familyNum: 0,
    ascendingMigr: 0,
    blocksPerUnit: 0,
    destDepthPerUnit: 0,
    ckptAreaPbaLo: 0,
    dest1stMemberLbaLo: 0,
    numMigrUnitsLo: 0,
    postMigrVolCapLo: 0,
    postMigrVolCapHi: 0,
    ckptReadDiskNum: 0,
    currMigrUnitHi: 0,
    ckptAreaPbaHi: 0,
    dest1stMemberLbaHi: 0,
    numMigrUnitsHi: 0,
    filler: new Uint8Array(64),
  };
}

function migratingOrRefuse(c: ImsmContainer): { index: number; volume: ImsmVolume } {
  const m = volumeInGeneralMigration(c.mpb);
  if (!m) {
    throw new ImsmEditError({
      code: "bad-state",
      subject: "container",
      field: "imsm_vol.migr_type",
      value: 0,
      problem: "no volume is in a general migration",
      hint: "start one with beginMigration",
    });
  }
  return m;
}

/**
 * The migration record written when the reshape starts (progress 0): unit geometry from
 * the larger strip of both maps, copy area at the end of the smallest member.
 */
export function initMigrationRecord(c: ImsmContainer): MigrationRecord {
  const { volume: vol } = migratingOrRefuse(c);
  const [dest, src] = vol.maps;
  const rec = blankRecord();
  rec.familyNum = c.mpb.familyNum;
  rec.ascendingMigr = 1;
  const depth = destDepthPerUnit(dest.blocksPerStrip, src.blocksPerStrip);
  const newData = dataDisks(levelOf(vol), dest.numMembers);
  rec.destDepthPerUnit = depth;
  rec.blocksPerUnit = depth * newData;
  const units = splitLoHi(
    numMigrationUnits(componentSectors(c.mpb, vol), newData, depth * newData),
  );
  rec.numMigrUnitsLo = units.lo;
  rec.numMigrUnitsHi = units.hi;
  rec.postMigrVolCapLo = vol.sizeLow;
  rec.postMigrVolCapHi = vol.sizeHigh;
  const members = c.mpb.disks.filter((d) => (d.status & DISK_STATUS.FAILED) === 0);
  const smallest = Math.min(...members.map((d) => diskSectors(c.mpb, d)));
  const pba = splitLoHi(copyAreaPba(smallest));
  rec.ckptAreaPbaLo = pba.lo;
  rec.ckptAreaPbaHi = pba.hi;
  return rec;
}

/**
 * A checkpoint of the general migration: the volume's curr_migr_unit (MPB, via mdmon) and
 * the record's unit, destination LBA and status (written by the grow process).
 * `recStatus` 1 = the unit's data sits in the copy area.
 */
export function advanceCheckpoint(
  c: ImsmContainer,
  record: MigrationRecord,
  unit: number,
  recStatus: number = MIGR_REC_STATUS.UNIT_SRC_NORMAL,
): { container: ImsmContainer; record: MigrationRecord } {
  const out = cloneContainer(c);
  const total = record.numMigrUnitsLo + record.numMigrUnitsHi * 2 ** 32;
  if (!Number.isInteger(unit) || unit < 0 || unit > total) {
    throw new ImsmEditError({
      code: "bad-state",
      subject: "migration record",
      field: "migr_record.curr_migr_unit",
      value: unit,
      problem: `unit must be 0..${total}`,
      hint: "checkpoints count migration units of the record",
    });
  }
  for (const v of out.mpb.volumes) if (isGeneralMigration(v)) setCurrMigrUnit(v, unit);
  migratingOrRefuse(out);
  const rec = structuredClone(record);
  const u = splitLoHi(unit);
  rec.currMigrUnitLo = u.lo;
  rec.currMigrUnitHi = u.hi;
  rec.recStatus = recStatus;
  const lba = splitLoHi(rec.destDepthPerUnit * unit);
  rec.dest1stMemberLbaLo = lba.lo;
  rec.dest1stMemberLbaHi = lba.hi;
  return { container: out, record: rec };
}

/**
 * Before the next volume of an OCE starts: when no volume migrates, the first one whose
 * member count differs from the previous volume's takes the same disks (mdmon's
 * imsm_progress_container_reshape).
 */
function progressContainerReshape(mpb: ImsmSuper): void {
  if (mpb.volumes.some((v) => v.migrState !== 0)) return;
  let prev: ImsmVolume | undefined;
  for (const vol of mpb.volumes) {
    if (!prev) {
      prev = vol;
      continue;
    }
    const target = prev.maps[0];
    const map = vol.maps[0];
    if (map.numMembers === target.numMembers) {
      prev = vol;
      continue;
    }
    const source = cloneMap(map);
    const have = new Set(map.ord.map(ordIndex));
    const added = target.ord.map(ordIndex).filter((i) => !have.has(i));
    const dest = cloneMap(map);
    dest.ord = [...map.ord, ...added].slice(0, target.numMembers);
    dest.numMembers = target.numMembers;
    vol.maps = [dest, source];
    vol.migrState = 1;
    setCurrMigrUnit(vol, 0);
    vol.migrType = MIGR_TYPE.GEN_MIGR;
    setVolumeSize(
      vol,
      grownArraySize(levelOf(vol), dest.numMembers, mapStripes(mpb, dest), dest.blocksPerStrip),
    );
    return;
  }
}

/**
 * Ends the migration of volume `volIndex` (resync done, rebuild done, reshape done): one map
 * with the state its failures give. After a general migration the next volume of a
 * container OCE is put into migration, and the migration record is to be zeroed.
 */
export function endMigration(c: ImsmContainer, volIndex: number): ImsmContainer {
  const out = cloneContainer(c);
  const vol = requireVolume(out, volIndex);
  if (vol.migrState === 0) {
    throw new ImsmEditError({
      code: "bad-state",
      subject: `volume ${volumeName(vol)}`,
      field: "imsm_vol.migr_state",
      value: 0,
      problem: "the volume is not migrating",
      hint: "nothing to end",
    });
  }
  const general = isGeneralMigration(vol);
  const state = degradedState(out.mpb, vol, countFailed(out.mpb, vol, "map0"));
  endMaps(out.mpb, vol, state);
  if (general) {
    if (state === MAP_STATE.NORMAL) vol.maps[0].failedDiskNum = FAILED_DISK_NONE;
    progressContainerReshape(out.mpb);
  }
  return out;
}
