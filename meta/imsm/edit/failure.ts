/**
 * Member failure and rebuild (mdmon's mark_failure / imsm_set_disk /
 * apply_update_activate_spare, spec §5.2, §11.1, §13): the failed disk is renamed and
 * flagged, its slots flagged REBUILD, map states follow; a spare taking a slot starts a
 * REBUILD migration and changes the family number.
 */
import type { ImsmDiskRecord, ImsmSuper, ImsmVolume } from "../model.ts";
import {
  DISK_STATUS,
  FAILED_DISK_NONE,
  MAP_STATE,
  MIGR_TYPE,
  ORD_REBUILD,
  SERIAL_LENGTH,
} from "../constants.ts";
import { diskSerial, ordIndex, slotOfDisk, volumeName } from "../accessors.ts";
import { cloneContainer, type ImsmContainer } from "./container.ts";
import { ImsmEditError } from "./errors.ts";
import { countFailed, degradedState, endMigration, migrate } from "./maps.ts";
import { serialBytes } from "./records.ts";

/** Serial of a failed disk: ":0" appended, leading characters dropped to stay within 15. */
export function failedSerial(serial: string): string {
  const s = serial + ":0";
  return s.length >= SERIAL_LENGTH ? s.slice(s.length - SERIAL_LENGTH + 1) : s;
}

function isRebuilding(vol: ImsmVolume): boolean {
  return vol.migrState !== 0 && vol.migrType === MIGR_TYPE.REBUILD;
}

function memberIndex(c: ImsmContainer, serial: string): number {
  const i = c.mpb.disks.findIndex((d) => diskSerial(d) === serial);
  if (i < 0) {
    throw new ImsmEditError({
      code: "unknown-disk",
      subject: `disk ${serial}`,
      field: "imsm_disk.serial",
      value: serial,
      problem: "no volume member has this serial",
      hint: "list the members with mdadm -D; spares are removed, not failed",
    });
  }
  return i;
}

/** Records one volume's view of the failure; returns whether anything changed. */
function markFailureIn(mpb: ImsmSuper, vol: ImsmVolume, disk: ImsmDiskRecord, idx: number) {
  const map = vol.maps[0];
  const slot = slotOfDisk(map, idx);
  if (slot < 0) return false;
  if ((disk.status & DISK_STATUS.FAILED) !== 0 && (map.ord[slot] & ORD_REBUILD) !== 0) {
    return false;
  }
  map.ord[slot] = (idx | ORD_REBUILD) >>> 0;
  if (vol.migrState !== 0) {
    const slot2 = slotOfDisk(vol.maps[1], idx);
    if (slot2 >= 0) vol.maps[1].ord[slot2] = (idx | ORD_REBUILD) >>> 0;
  }
  if (
    map.failedDiskNum === FAILED_DISK_NONE || (!isRebuilding(vol) && map.failedDiskNum > slot)
  ) {
    map.failedDiskNum = slot;
  }
  const state = degradedState(mpb, vol, countFailed(mpb, vol, "map0"));
  if (vol.migrState === 0) {
    map.mapState = state;
  } else if (isRebuilding(vol) && slot === map.failedDiskNum && state !== MAP_STATE.NORMAL) {
    // the disk being rebuilt failed: the rebuild is over
    endMigration(mpb, vol, state);
  } else {
    map.mapState = state;
  }
  return true;
}

/**
 * A member failed (kernel reported it faulty): serial renamed once, status FAILED, its slot
 * in every volume flagged REBUILD, map states set to degraded/failed. Bad-block entries are
 * kept (mdadm drops them; mdts writes no BBM log).
 */
export function markDiskFailed(c: ImsmContainer, serial: string): ImsmContainer {
  const out = cloneContainer(c);
  const idx = memberIndex(out, serial);
  const disk = out.mpb.disks[idx];
  const wasFailed = (disk.status & DISK_STATUS.FAILED) !== 0;
  let changed = false;
  for (const vol of out.mpb.volumes) changed = markFailureIn(out.mpb, vol, disk, idx) || changed;
  if (!wasFailed) {
    disk.serial = serialBytes(failedSerial(diskSerial(disk)));
    disk.status = (disk.status | DISK_STATUS.FAILED) >>> 0;
    changed = true;
  }
  return changed ? out : c;
}

/** Removes disk-table entry `victim`, renumbering every ord entry above it. */
function deleteDisk(mpb: ImsmSuper, victim: number): void {
  mpb.disks.splice(victim, 1);
  for (const vol of mpb.volumes) {
    for (const map of vol.maps) {
      map.ord = map.ord.map((o) => (ordIndex(o) > victim ? o - 1 : o));
    }
  }
}

/**
 * A spare takes slot `slot` of volume `volIndex` (mdmon activate_spare): it becomes a
 * configured member (next index), the volume enters REBUILD (map[0] target state with the
 * new disk, map[1] degraded with it flagged REBUILD), family_num += `familyDelta` (random
 * in mdadm). The replaced disk leaves the table when no volume uses it any more.
 */
export function markRebuilding(
  c: ImsmContainer,
  volIndex: number,
  slot: number,
  spareSerial: string,
  familyDelta: number,
): ImsmContainer {
  const out = cloneContainer(c);
  takeSlot(out, volIndex, slot, spareSerial, familyDelta, false);
  return out;
}

/**
 * Several spares take several slots of one volume at once (mdmon activates every slot a
 * raid10 misses in one update): the first starts the REBUILD migration as markRebuilding
 * does, the others join it, map[0] then taking the state the remaining failures give.
 */
export function markRebuildingSlots(
  c: ImsmContainer,
  volIndex: number,
  picks: readonly { slot: number; serial: string }[],
  familyDelta: () => number,
): ImsmContainer {
  const out = cloneContainer(c);
  picks.forEach((p, i) => takeSlot(out, volIndex, p.slot, p.serial, familyDelta(), i > 0));
  return out;
}

function takeSlot(
  out: ImsmContainer,
  volIndex: number,
  slot: number,
  spareSerial: string,
  familyDelta: number,
  joining: boolean,
): void {
  const mpb = out.mpb;
  const vol = mpb.volumes[volIndex];
  if (!vol || slot < 0 || slot >= vol.maps[0].numMembers) {
    throw new ImsmEditError({
      code: "bad-state",
      subject: vol ? `volume ${volumeName(vol)}` : "container",
      field: "imsm_map.disk_ord_tbl",
      value: slot,
      problem: "no such volume slot",
      hint: "name an existing volume and one of its slots",
    });
  }
  if (joining ? !isRebuilding(vol) : vol.migrState !== 0) {
    throw new ImsmEditError({
      code: "bad-state",
      subject: `volume ${volumeName(vol)}`,
      field: "imsm_vol.migr_state",
      value: vol.migrState,
      problem: joining
        ? "the volume is not rebuilding; the first spare starts the rebuild"
        : "the volume is already migrating; a rebuild starts only when it is idle",
      hint: "wait for the running migration to finish",
    });
  }
  const map = vol.maps[0];
  const victim = ordIndex(map.ord[slot]);
  const victimDisk = mpb.disks[victim];
  if (
    victimDisk && (victimDisk.status & DISK_STATUS.FAILED) === 0 &&
    (map.ord[slot] & ORD_REBUILD) === 0
  ) {
    throw new ImsmEditError({
      code: "disk-in-use",
      subject: `volume ${volumeName(vol)}`,
      field: "imsm_map.disk_ord_tbl",
      value: slot,
      problem: `slot ${slot} holds a working disk (${diskSerial(victimDisk)})`,
      hint: "only a failed or missing member can be replaced",
    });
  }
  let index = mpb.disks.findIndex((d) => diskSerial(d) === spareSerial);
  if (index < 0) {
    const s = out.spares.findIndex((d) => diskSerial(d) === spareSerial);
    if (s < 0) {
      throw new ImsmEditError({
        code: "unknown-disk",
        subject: `disk ${spareSerial}`,
        field: "imsm_disk.serial",
        value: spareSerial,
        problem: "the disk is not a spare of this container",
        hint: "add it to the container first (mdadm --add)",
      });
    }
    const rec = out.spares.splice(s, 1)[0];
    index = mpb.disks.length;
    mpb.disks.push(rec);
  }
  const disk = mpb.disks[index];
  disk.status = ((disk.status | DISK_STATUS.CONFIGURED) & ~DISK_STATUS.SPARE) >>> 0;

  let failed = 0;
  for (let i = 0; i < map.numMembers; i++) {
    if (i === slot) continue;
    const d = mpb.disks[ordIndex(map.ord[i])];
    if (!d || (d.status & DISK_STATUS.FAILED) !== 0) failed++;
  }
  const toState = degradedState(mpb, vol, failed);
  if (joining) {
    map.mapState = toState;
  } else {
    map.mapState = MAP_STATE.DEGRADED;
    migrate(vol, toState, MIGR_TYPE.REBUILD);
  }
  vol.maps[0].ord[slot] = index;
  vol.maps[1].ord[slot] = (index | ORD_REBUILD) >>> 0;

  if (mpb.origFamilyNum === 0) mpb.origFamilyNum = mpb.familyNum;
  mpb.familyNum = (mpb.familyNum + familyDelta) >>> 0;

  const stillUsed = mpb.volumes.some((v) => slotOfDisk(v.maps[0], victim) >= 0);
  if (!stillUsed && victim < mpb.disks.length) deleteDisk(mpb, victim);
}

/**
 * The rebuild of volume `volIndex` finished: the slots rebuilt lose their REBUILD flag,
 * the migration ends with the state the remaining failures give.
 */
export function endRebuild(c: ImsmContainer, volIndex: number): ImsmContainer {
  const out = cloneContainer(c);
  const mpb = out.mpb;
  const vol = mpb.volumes[volIndex];
  if (!vol || !isRebuilding(vol)) {
    throw new ImsmEditError({
      code: "bad-state",
      subject: vol ? `volume ${volumeName(vol)}` : "container",
      field: "imsm_vol.migr_type",
      value: vol ? vol.migrType : volIndex,
      problem: "the volume is not rebuilding",
      hint: "nothing to end",
    });
  }
  const [map, source] = vol.maps;
  map.ord.forEach((o, slot) => {
    const d = mpb.disks[ordIndex(o)];
    const healthy = d && (d.status & DISK_STATUS.FAILED) === 0 && (o & ORD_REBUILD) === 0;
    if (healthy && source.ord[slot] !== undefined) source.ord[slot] = ordIndex(source.ord[slot]);
  });
  const state = degradedState(mpb, vol, countFailed(mpb, vol, "map0"));
  endMigration(mpb, vol, state);
  const after = vol.maps[0];
  if (after.mapState === MAP_STATE.NORMAL) {
    after.failedDiskNum = FAILED_DISK_NONE;
  } else {
    after.ord.forEach((o, slot) => {
      if ((o & ORD_REBUILD) !== 0) after.failedDiskNum = slot;
    });
  }
  return out;
}
