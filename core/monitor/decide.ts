/**
 * What the monitor does for one member array on one wake-up, decided from what the kernel
 * shows and what the metadata says: a list of steps (metadata edits, metadata flushes, sysfs
 * writes) whose order is the point. The kernel may only proceed once the metadata on disk
 * tells the truth: "dirty" is written before `active`, a failure is recorded before the
 * member is unblocked; and `clean` is written to md before the metadata says clean.
 * Pure: no I/O here; monitor.ts executes the steps.
 */
import type { ArrayState, SyncAction, SyncCompleted } from "../../kernel/md/sysfs.ts";
import type { ImsmVolume } from "../../meta/imsm/model.ts";
import { DISK_STATUS, MAP_STATE, MIGR_TYPE, VOLUME_STATUS } from "../../meta/imsm/constants.ts";
import {
  diskSerial,
  isFailed,
  isGeneralMigration,
  raidLevel,
  volumeCurrMigrUnit,
} from "../../meta/imsm/accessors.ts";
import { blocksPerMigrationUnit } from "../../meta/imsm/migration_units.ts";
import {
  beginResync,
  endMigration,
  endRebuild,
  type ImsmContainer,
  markClean,
  markDirty,
  markDiskFailed,
  setResyncCheckpoint,
} from "../../meta/imsm/edit/mod.ts";

/** One component of a member array as sysfs shows it. */
export interface MemberView {
  /** Kernel name (dev-NAME). */
  name: string;
  slot: number | null;
  /** dev-NAME/state flags: in_sync, faulty, blocked, spare, external_bbl... */
  state: string[];
  recoveryStart: bigint | "none";
}

/** Everything the monitor reads of one member array per wake-up. */
export interface ArrayView {
  arrayState: ArrayState;
  /** null on levels without a sync thread. */
  syncAction: SyncAction | null;
  syncCompleted: SyncCompleted | "none" | "delayed" | null;
  resyncStart: bigint | "none";
  /** metadata_version says "-" (frozen by mdadm): no reconfiguration. */
  blocked: boolean;
  members: MemberView[];
  /** md's reshape_position and raid_disks ("new (old)" while reshaping); absent = unknown. */
  reshapePosition?: bigint | "none";
  raidDisks?: { value: number; old: number | null } | null;
  /** md's level text (raid0, raid4, raid5...); absent = unknown. */
  mdLevel?: string;
  /** The monitor saw md reshape this array since the migration began (mdmon's rule). */
  sawReshape?: boolean;
}

export type SysfsWrite =
  | { kind: "array-state"; value: "active" | "clean" | "read-auto" }
  | { kind: "member-state"; member: string; value: "-blocked" | "remove" };

export type Step =
  /** A change of the in-memory metadata; `why` goes to the log. */
  | { kind: "edit"; why: string; edit: (c: ImsmContainer) => ImsmContainer }
  /** Put the metadata on the disks now if it changed. */
  | { kind: "flush" }
  /** A sysfs write; when `required` and it fails, the rest of this array's steps are skipped. */
  | { kind: "sysfs"; write: SysfsWrite; required: boolean };

export interface Decision {
  steps: Step[];
  /** The array stopped: forget it after the steps. */
  drop: boolean;
}

const REDUNDANT = new Set([1, 5, 10]);

function isResyncMigration(vol: ImsmVolume): boolean {
  if (vol.migrState === 0) return false;
  // REPAIR is stored as VERIFY plus a status bit
  return vol.migrType === MIGR_TYPE.INIT ||
    (vol.migrType === MIGR_TYPE.VERIFY && (vol.status & VOLUME_STATUS.VERIFY_AND_FIX) !== 0);
}

function isRebuild(vol: ImsmVolume): boolean {
  return vol.migrState !== 0 && vol.migrType === MIGR_TYPE.REBUILD;
}

/** True when the slot's disk in the metadata is failed (or the slot names no disk). */
function diskFailedInMetadata(c: ImsmContainer, serial: string): boolean {
  const d = c.mpb.disks.find((x) => diskSerial(x) === serial);
  return d === undefined || isFailed(d);
}

function unitOf(vol: ImsmVolume, sectorSize: number, done: bigint): number | null {
  const per = blocksPerMigrationUnit(vol, null, sectorSize);
  if (per <= 0) return null;
  return Number(done / BigInt(per));
}

/**
 * Decides one pass for subarray `index` of container `c`. `serialOf` maps a component's
 * kernel name to its IMSM serial (null when the disk is unknown to us).
 */
export function decideArray(
  c: ImsmContainer,
  index: number,
  view: ArrayView,
  serialOf: (member: string) => string | null,
): Decision {
  const vol = c.mpb.volumes[index];
  const steps: Step[] = [];
  if (!vol) return { steps, drop: true };
  const level = raidLevel(vol.maps[0]);
  const state = view.arrayState;

  if (state === "clear" || state === "inactive") {
    // stopped: what md wrote last was consistent, say so
    if (vol.dirty !== 0) {
      steps.push({ kind: "edit", why: "array stopped", edit: (x) => markClean(x, index) });
      steps.push({ kind: "flush" });
    }
    return { steps, drop: true };
  }
  // 0. a general migration (OCE) ends when md runs the new member count with no reshape
  // left (mdmon: reshape gone idle with reshape_position none); the next volume's starts
  if (isGeneralMigration(vol) && reshapeFinished(vol, view)) {
    steps.push({
      kind: "edit",
      why: "reshape finished",
      edit: (x) => (isGeneralMigration(x.mpb.volumes[index]) ? endMigration(x, index) : x),
    });
    steps.push({ kind: "flush" });
  }
  // a raid0 volume growing runs as raid4/5 (parity slot empty) from the takeover until the
  // grow takes it back after the migration ended: md then waits for the monitor on
  // write-pending like for any redundant array, but has nothing to resync or rebuild
  const grownRaid0 = level === 0 && (view.mdLevel === "raid4" || view.mdLevel === "raid5");
  if (level === 0 && view.mdLevel === "raid0" && vol.dirty !== 0 && vol.migrState === 0) {
    // back at raid0 after a grow (a dirty flag left from its raid4 time): raid0 has nothing to
    // resync, and mdadm/mdmon show such a volume clean
    steps.push({ kind: "edit", why: "raid0 has no redundancy", edit: (x) => markClean(x, index) });
    steps.push({ kind: "flush" });
  }
  if (!REDUNDANT.has(level) && !grownRaid0) return { steps, drop: false };
  if (grownRaid0) {
    // 4. array_state
    arrayStateSteps(vol, index, view, state, steps);
    steps.push({ kind: "flush" });
    return { steps, drop: false };
  }

  // 1. failed members: record first, then let md go on without them
  for (const m of view.members) {
    if (!m.state.includes("faulty")) continue;
    const serial = serialOf(m.name);
    if (serial !== null && !diskFailedInMetadata(c, serial)) {
      steps.push({
        kind: "edit",
        why: `member ${m.name} (serial ${serial}) failed`,
        edit: (x) => markDiskFailed(x, serial),
      });
      steps.push({ kind: "flush" });
    }
    if (m.state.includes("blocked")) {
      steps.push({
        kind: "sysfs",
        write: { kind: "member-state", member: m.name, value: "-blocked" },
        required: false,
      });
    }
    steps.push({
      kind: "sysfs",
      write: { kind: "member-state", member: m.name, value: "remove" },
      required: false,
    });
  }

  // 2. resync: start recording it, checkpoint it, end it
  const resyncDone = view.resyncStart === "none";
  const syncing = view.syncAction === "resync";
  const running = state !== "readonly" && state !== "read-auto";
  if (!isRebuild(vol)) {
    if (vol.migrState === 0 && !resyncDone && running) {
      steps.push({ kind: "edit", why: "resync needed", edit: (x) => beginResync(x, index) });
    }
    if (resyncDone && vol.migrState === 0 && vol.maps[0].mapState === MAP_STATE.UNINITIALIZED) {
      // the initial resync ran to the end between two looks
      steps.push({
        kind: "edit",
        why: "initial resync finished",
        edit: (x) => endMigration(beginResync(x, index), index),
      });
    } else if (resyncDone && isResyncMigration(vol)) {
      steps.push({ kind: "edit", why: "resync finished", edit: (x) => endMigration(x, index) });
    } else if (syncing && typeof view.syncCompleted === "object" && view.syncCompleted !== null) {
      const done = view.syncCompleted.done;
      steps.push({
        kind: "edit",
        why: `resync checkpoint at sector ${done}`,
        edit: (x) => {
          const v = x.mpb.volumes[index];
          if (!isResyncMigration(v)) return x;
          const unit = unitOf(v, x.sectorSize, done);
          if (unit === null || BigInt(unit) === volumeCurrMigrUnit(v)) return x;
          return setResyncCheckpoint(x, index, unit);
        },
      });
    }
  }

  // 3. rebuild onto a spare: checkpoints, then the end when every slot is in sync
  if (isRebuild(vol)) {
    const slotted = view.members.filter((m) => m.slot !== null && !m.state.includes("faulty"));
    const allInSync = slotted.length >= vol.maps[0].numMembers &&
      slotted.every((m) => m.state.includes("in_sync"));
    if (allInSync && view.syncAction !== "recover") {
      steps.push({ kind: "edit", why: "rebuild finished", edit: (x) => endRebuild(x, index) });
      steps.push({ kind: "flush" });
    } else if (
      view.syncAction === "recover" && typeof view.syncCompleted === "object" &&
      view.syncCompleted !== null
    ) {
      const done = view.syncCompleted.done;
      steps.push({
        kind: "edit",
        why: `rebuild checkpoint at sector ${done}`,
        edit: (x) => {
          const v = x.mpb.volumes[index];
          if (!isRebuild(v)) return x;
          const unit = unitOf(v, x.sectorSize, done);
          if (unit === null || BigInt(unit) === volumeCurrMigrUnit(v)) return x;
          return setResyncCheckpoint(x, index, unit);
        },
      });
    }
  }

  arrayStateSteps(vol, index, view, state, steps);
  steps.push({ kind: "flush" });
  return { steps, drop: false };
}

/**
 * md shows the migration's new shape and nothing pending. Before the reshape starts md is
 * idle too, but still has the old member count (or "new (old)" once raid_disks is raised).
 */
function reshapeFinished(vol: ImsmVolume, view: ArrayView): boolean {
  const rd = view.raidDisks;
  // md idle before the reshape starts looks the same: only a reshape seen running can end
  if (view.sawReshape !== true) return false;
  if (view.reshapePosition !== "none" || view.syncAction === "reshape" || !rd) return false;
  if (rd.old !== null) return false;
  const n = vol.maps[0].numMembers;
  // a raid0 volume reshapes as raid4/5 with an empty parity slot (n + 1 disks once grown),
  // then goes back to raid0 with n
  if (raidLevel(vol.maps[0]) === 0 && view.mdLevel !== "raid0") return rd.value === n + 1;
  return rd.value === n;
}

/** 4. array_state: dirty before md may write, clean after md went idle. */
function arrayStateSteps(
  vol: ImsmVolume,
  index: number,
  view: ArrayView,
  state: ArrayState,
  steps: Step[],
): void {
  const resyncDone = view.resyncStart === "none";
  switch (state) {
    case "readonly": {
      if (view.blocked) break;
      const needsWrite = vol.dirty !== 0 || !resyncDone || vol.migrState !== 0 ||
        vol.maps[0].mapState === MAP_STATE.UNINITIALIZED;
      if (needsWrite) {
        if (!resyncDone && vol.migrState === 0) {
          // md starts the resync as soon as it is writable: record it first
          steps.push({ kind: "edit", why: "resync needed", edit: (x) => beginResync(x, index) });
        }
        steps.push({ kind: "edit", why: "array made writable", edit: (x) => markDirty(x, index) });
        steps.push({ kind: "flush" });
        steps.push({
          kind: "sysfs",
          write: { kind: "array-state", value: "active" },
          required: false,
        });
      } else {
        steps.push({
          kind: "sysfs",
          write: { kind: "array-state", value: "read-auto" },
          required: false,
        });
      }
      break;
    }
    case "write-pending":
    case "active":
      if (vol.dirty === 0) {
        steps.push({ kind: "edit", why: `array ${state}`, edit: (x) => markDirty(x, index) });
      }
      steps.push({ kind: "flush" });
      if (state === "write-pending") {
        steps.push({
          kind: "sysfs",
          write: { kind: "array-state", value: "active" },
          required: false,
        });
      }
      break;
    case "active-idle":
      // md first, so that a write arriving meanwhile fails the switch and we stay dirty
      steps.push({ kind: "sysfs", write: { kind: "array-state", value: "clean" }, required: true });
      steps.push({ kind: "edit", why: "array idle", edit: (x) => markCleanIf(x, index) });
      break;
    case "clean":
      steps.push({ kind: "edit", why: "array clean", edit: (x) => markCleanIf(x, index) });
      break;
    default:
      break;
  }
}

function markCleanIf(c: ImsmContainer, index: number): ImsmContainer {
  return c.mpb.volumes[index]?.dirty === 0 ? c : markClean(c, index);
}

/** Slots of a volume that need a disk: failed, missing or flagged for rebuild in map[0]. */
export function slotsNeedingDisk(c: ImsmContainer, index: number): number[] {
  const vol = c.mpb.volumes[index];
  if (!vol || vol.migrState !== 0) return [];
  const map = vol.maps[0];
  const out: number[] = [];
  map.ord.forEach((ord, slot) => {
    const disk = c.mpb.disks[ord & 0x00ffffff];
    const down = disk === undefined || (disk.status & DISK_STATUS.FAILED) !== 0 ||
      (ord & 0x01000000) !== 0;
    if (down) out.push(slot);
  });
  return out;
}
