/**
 * Map-level rules shared by the state changes: starting/ending a migration (two maps, map[0]
 * = destination, map[1] = source), counting failures and deriving the map state the way
 * mdadm's migrate / end_migration / imsm_count_failed / imsm_check_degraded do (spec §5.2).
 */
import type { ImsmMap, ImsmSuper, ImsmVolume } from "../model.ts";
import { DISK_STATUS, MAP_STATE, MIGR_TYPE, ORD_REBUILD, VOLUME_STATUS } from "../constants.ts";
import { isGeneralMigration, ordIndex, raidLevel } from "../accessors.ts";
import { setCurrMigrUnit } from "./records.ts";

/** Stores a migration type; REPAIR is written as VERIFY + the VERIFY_AND_FIX status bit. */
export function setMigrType(vol: ImsmVolume, type: number): void {
  if (type === MIGR_TYPE.REPAIR) {
    vol.migrType = MIGR_TYPE.VERIFY;
    vol.status = (vol.status | VOLUME_STATUS.VERIFY_AND_FIX) >>> 0;
  } else {
    vol.migrType = type;
    vol.status = (vol.status & ~VOLUME_STATUS.VERIFY_AND_FIX) >>> 0;
  }
}

export function cloneMap(m: ImsmMap): ImsmMap {
  return structuredClone(m);
}

/**
 * Enters a migration: the current map is kept as map[1] (source) and map[0] becomes the
 * destination with `toState`; a general migration also clears the REBUILD bits of map[0].
 */
export function migrate(vol: ImsmVolume, toState: number, type: number): void {
  const source = cloneMap(vol.maps[0]);
  const dest = cloneMap(vol.maps[0]);
  if (type === MIGR_TYPE.GEN_MIGR) dest.ord = dest.ord.map(ordIndex);
  dest.mapState = toState;
  vol.maps = [dest, source];
  vol.migrState = 1;
  setMigrType(vol, type);
  setCurrMigrUnit(vol, 0);
}

function diskMissingOrFailed(mpb: ImsmSuper, index: number): boolean {
  const d = mpb.disks[index];
  return d === undefined || (d.status & DISK_STATUS.FAILED) !== 0;
}

function slotDown(mpb: ImsmSuper, ord: number): boolean {
  return diskMissingOrFailed(mpb, ordIndex(ord)) || (ord & ORD_REBUILD) !== 0;
}

/** Failed slots of a volume: map[0] only, or both maps ("any") counting each disk once. */
export function countFailed(mpb: ImsmSuper, vol: ImsmVolume, which: "map0" | "any"): number {
  const map = vol.maps[0];
  const prev = vol.maps[1];
  const loop = prev && map.numMembers < prev.numMembers ? prev : map;
  let failed = 0;
  for (let i = 0; i < loop.numMembers; i++) {
    let idx1 = -1;
    if (prev && which === "any" && i < prev.numMembers) {
      idx1 = ordIndex(prev.ord[i]);
      if (slotDown(mpb, prev.ord[i])) failed++;
    }
    if (i < map.numMembers && ordIndex(map.ord[i]) !== idx1 && slotDown(mpb, map.ord[i])) {
      failed++;
    }
  }
  return failed;
}

/** The state a map should have with `failed` failed slots. */
export function degradedState(
  mpb: ImsmSuper,
  vol: ImsmVolume,
  failed: number,
  mapIndex = 0,
): number {
  const map = vol.maps[mapIndex];
  if (failed === 0) {
    return map.mapState === MAP_STATE.UNINITIALIZED ? MAP_STATE.UNINITIALIZED : MAP_STATE.NORMAL;
  }
  switch (raidLevel(map)) {
    case 0:
      return MAP_STATE.FAILED;
    case 1:
      return failed < map.numMembers ? MAP_STATE.DEGRADED : MAP_STATE.FAILED;
    case 10: {
      // slots 2k and 2k+1 mirror each other; mdadm reads the source map while migrating
      const ords = (vol.migrState !== 0 && vol.maps[1] ? vol.maps[1] : map).ord;
      for (let i = 0; i < map.numMembers; i += 2) {
        const aDown = ords[i] === undefined || slotDown(mpb, ords[i]);
        const bDown = ords[i + 1] === undefined || slotDown(mpb, ords[i + 1]);
        if (aDown && bDown) return MAP_STATE.FAILED;
      }
      return MAP_STATE.DEGRADED;
    }
    case 5:
      return failed < 2 ? MAP_STATE.DEGRADED : MAP_STATE.FAILED;
    default:
      return map.mapState;
  }
}

/**
 * Leaves a migration: one map again with `mapState`. When that state is not what map[0]
 * says and this was not a general migration, REBUILD bits left in the source map are
 * merged into map[0] first and the state recomputed (a rebuild that did not finish).
 */
export function endMigration(mpb: ImsmSuper, vol: ImsmVolume, mapState: number): void {
  const map = vol.maps[0];
  const prev = vol.migrState === 0 ? map : vol.maps[1];
  if (
    mapState !== map.mapState && !isGeneralMigration(vol) &&
    prev.mapState !== MAP_STATE.UNINITIALIZED
  ) {
    for (let i = 0; i < prev.numMembers; i++) {
      for (let j = 0; j < map.numMembers; j++) {
        if (ordIndex(map.ord[j]) === ordIndex(prev.ord[i])) {
          map.ord[j] = (map.ord[j] | prev.ord[i]) >>> 0;
          break;
        }
      }
    }
    mapState = degradedState(mpb, vol, countFailed(mpb, vol, "map0"));
  }
  vol.maps = [map];
  vol.migrState = 0;
  setMigrType(vol, 0);
  setCurrMigrUnit(vol, 0);
  map.mapState = mapState;
}
