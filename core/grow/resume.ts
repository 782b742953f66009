/**
 * Resuming a container OCE that stopped (power cut, crash, killed grow process) from what
 * the disks say (spec imsm-reshape.md §5): the volume's curr_migr_unit (MPB, written by the
 * monitor), the migration record on the slot-0/1 disks (written by the grow process) and
 * the copy area.
 *
 * The restart point is the newest state either of them proves: the record is written
 * before the monitor is told, so after a cut it may be one checkpoint ahead of the MPB
 * (restarting from the MPB's unit would re-read a source md already overwrote when that
 * unit was a critical one; mdadm 4.2 takes the record's unit too, from the first record
 * disk it reads, where mdts takes the newer of the two copies). A record saying "unit k is
 * in the copy area" (rec_status 1) is restored first, after checking the copy area
 * (core/grow/backup.ts); a stale, torn or corrupted one is refused with nothing written.
 *
 * Every unit before the restart point is in the new layout, and md redoes the window from
 * the restart point on: windows are sized so that md never overwrites their own source
 * (core/grow/window.ts), so redoing one is safe.
 */
import type { ImsmContainer } from "../../meta/imsm/edit/container.ts";
import { cloneContainer } from "../../meta/imsm/edit/container.ts";
import type { ImsmVolume, MigrationRecord } from "../../meta/imsm/model.ts";
import { DISK_STATUS, MIGR_REC_STATUS } from "../../meta/imsm/constants.ts";
import {
  dataMembers,
  diskSerial,
  ordIndex,
  raidLevel,
  volumeCurrMigrUnit,
  volumeInGeneralMigration,
  volumeName,
} from "../../meta/imsm/accessors.ts";
import { cloneMap } from "../../meta/imsm/edit/maps.ts";
import {
  advanceCheckpoint,
  componentSectors,
  initMigrationRecord,
} from "../../meta/imsm/edit/migration.ts";
import { grownArraySize, type MdLevel } from "../../meta/imsm/sizes.ts";
import { mapStripes, setCurrMigrUnit, setVolumeSize } from "../../meta/imsm/edit/records.ts";
import { serializeMigrationSector } from "../../meta/imsm/migration_record.ts";
import type { BlockReader, BlockWriter } from "../ports.ts";
import type { MemberReader } from "../restripe/copy.ts";
import { type MigrationGeometry, migrationGeometry } from "./geometry.ts";
import { BackupError, planRestore, type RestorePlan } from "./backup.ts";
import { criticalUnits, holdPoint } from "./window.ts";
import type { MdArray } from "../../kernel/md/sysfs.ts";
import { type GrowFacts, type GrowPlan, planGrow, type SpareFact } from "./plan.ts";
import { type GrowContext, GrowError, type GrowReport, Runner } from "./run.ts";
import { planMigration } from "./migrate_plan.ts";

/** A refusal to resume: what, where, the value, and what to do. Nothing was written. */
export class ResumeError extends Error {
  constructor(
    readonly subject: string,
    readonly field: string,
    readonly value: string | number,
    problem: string,
    hint: string,
  ) {
    super(`${subject}: ${field}=${value}: ${problem}; ${hint}`);
    this.name = "ResumeError";
  }
}

/** One disk of the container as the resume sees it. */
export interface ResumeDisk {
  serial: string;
  path: string;
  sizeBytes: bigint;
  sectorSize: number;
}

/** The migration record sector of a record disk as read (null = zeroed or absent). */
export interface RecordCopy {
  path: string;
  record: MigrationRecord | null;
}

export interface ResumeDecision {
  volumeIndex: number;
  volumeName: string;
  geometry: MigrationGeometry;
  /** curr_migr_unit of the MPB. */
  metadataUnit: number;
  /** The record copy chosen (newest valid), or null. */
  record: MigrationRecord | null;
  /** Unit md continues from, after the restore when there is one. */
  unit: number;
  /** Array sector md continues from (unit x blocks per unit, at most the end). */
  position: number;
  restore: RestorePlan;
  /** Nothing of the volume was moved yet: its reshape starts from the beginning. */
  fresh: boolean;
  /** Records ignored (another migration's, or unreadable), with why. */
  ignored: string[];
}

function joinLoHi(lo: number, hi: number): number {
  return lo + hi * 2 ** 32;
}

export function recordUnit(r: MigrationRecord): number {
  return joinLoHi(r.currMigrUnitLo, r.currMigrUnitHi);
}

/** Order of record states: unit k in place < unit k in the copy area < unit k+1 in place. */
function recordAge(r: MigrationRecord): number {
  return recordUnit(r) * 2 + (r.recStatus === MIGR_REC_STATUS.UNIT_SRC_IN_CP_AREA ? 1 : 0);
}

/** Why `r` does not describe the migration of `c` (null when it does). */
function foreignRecord(c: ImsmContainer, r: MigrationRecord): string | null {
  const want = initMigrationRecord(c);
  const fields: [string, number, number][] = [
    ["family_num", r.familyNum >>> 0, want.familyNum >>> 0],
    ["blocks_per_unit", r.blocksPerUnit, want.blocksPerUnit],
    ["dest_depth_per_unit", r.destDepthPerUnit, want.destDepthPerUnit],
    [
      "num_migr_units",
      joinLoHi(r.numMigrUnitsLo, r.numMigrUnitsHi),
      joinLoHi(want.numMigrUnitsLo, want.numMigrUnitsHi),
    ],
    [
      "ckpt_area_pba",
      joinLoHi(r.ckptAreaPbaLo, r.ckptAreaPbaHi),
      joinLoHi(want.ckptAreaPbaLo, want.ckptAreaPbaHi),
    ],
  ];
  for (const [field, got, expected] of fields) {
    if (got !== expected) return `${field} ${got}, this migration has ${expected}`;
  }
  return null;
}

/** Disks holding the migration record: slots 0 and 1 of the new map. */
export function recordDiskSerials(c: ImsmContainer, index: number): string[] {
  const map = c.mpb.volumes[index].maps[0];
  return map.ord.slice(0, 2).map((o) => diskSerial(c.mpb.disks[ordIndex(o)]));
}

export interface DecideInput {
  container: ImsmContainer;
  /** Record sectors of the record disks (slots 0, 1 of the new map). */
  records: RecordCopy[];
  /** Copy area (destDepth sectors at ckpt_area_pba) of the disk with table index i. */
  readCopyArea(diskIndex: number, pba: number, sectors: number): Promise<Uint8Array | null>;
  /** Members as they are now, by destination slot, relative to the data start. */
  readMembers?: MemberReader;
}

/**
 * Where the migrating volume of `container` continues, and what must be restored first.
 * Null when no volume is in a general migration. Throws ResumeError / BackupError when the
 * disks cannot be trusted (nothing is written here).
 */
export async function decideResume(inp: DecideInput): Promise<ResumeDecision | null> {
  const c = inp.container;
  const m = volumeInGeneralMigration(c.mpb);
  if (m === null) return null;
  const vol = m.volume;
  const name = volumeName(vol);
  const g = migrationGeometry(c.mpb, m.index, componentSectors(c.mpb, vol));
  const u = g.unit;
  const metadataUnit = Number(volumeCurrMigrUnit(vol));
  if (metadataUnit > u.numUnits) {
    throw new ResumeError(
      `volume ${name}`,
      "curr_migr_unit",
      metadataUnit,
      `the migration has ${u.numUnits} units`,
      "the metadata is damaged; nothing was changed",
    );
  }
  const ignored: string[] = [];
  let best: MigrationRecord | null = null;
  for (const copy of inp.records) {
    const r = copy.record;
    if (r === null) continue;
    const why = foreignRecord(c, r);
    if (why !== null) {
      if (r.recStatus === MIGR_REC_STATUS.UNIT_SRC_IN_CP_AREA) {
        throw new BackupError(
          "record-geometry",
          `migr_record of ${copy.path}`,
          recordUnit(r),
          `says its unit is in the copy area, but it is not this migration's record (${why})`,
          "nothing was restored; examine the disks (mdts -E) and check they belong together",
        );
      }
      ignored.push(`${copy.path}: ${why}`);
      continue;
    }
    if (recordUnit(r) > u.numUnits) {
      ignored.push(`${copy.path}: curr_migr_unit ${recordUnit(r)} past the end`);
      continue;
    }
    if (best === null || recordAge(r) > recordAge(best)) best = r;
  }
  let restore: RestorePlan = { kind: "nothing", reason: "no record says the copy area is in use" };
  let unit = metadataUnit;
  if (best !== null && best.recStatus === MIGR_REC_STATUS.UNIT_SRC_IN_CP_AREA) {
    const k = recordUnit(best);
    if (k < metadataUnit && metadataUnit >= u.numUnits) {
      // the metadata at the end while the record still backs up unit k: the end is the
      // previous volume's, applied to this one by mdmon 4.2 (neither tool checkpoints an end
      // its record does not show); the copy area is checked below like any other
      ignored.push(
        `curr_migr_unit ${metadataUnit} of the metadata: the end, while this migration's ` +
          `record has unit ${k} in the copy area (the previous volume's last checkpoint)`,
      );
    } else if (k < metadataUnit) {
      throw new BackupError(
        "unit-mismatch",
        "migr_record.curr_migr_unit",
        k,
        `the metadata checkpoint is already unit ${metadataUnit}: the copy area is stale`,
        "nothing was restored; the record is older than the metadata",
      );
    }
    const copyArea: (Uint8Array | null)[] = [];
    const pba = joinLoHi(best.ckptAreaPbaLo, best.ckptAreaPbaHi);
    for (let i = 0; i < g.dest.members; i++) {
      copyArea.push(await inp.readCopyArea(i, pba, u.destDepth));
    }
    restore = await planRestore({
      geometry: g,
      family: c.mpb.familyNum,
      // the record may be ahead of the MPB by the backup of the unit it names
      volumeUnit: k,
      expectedCopyAreaPba: joinLoHi(
        initMigrationRecord(c).ckptAreaPbaLo,
        initMigrationRecord(c).ckptAreaPbaHi,
      ),
      record: best,
      copyArea,
      readMembers: inp.readMembers,
    });
    if (restore.kind === "restore") unit = restore.nextUnit;
  } else if (best !== null) {
    // Both tools write the record before the checkpoint update, so the metadata is never
    // legitimately past this migration's record. It is when mdmon applied the previous
    // volume's last checkpoint to this one (the update arrived after it began this volume's
    // migration: mdadm 4.2 grows of raid0 + raid5 were seen at "Checkpoint : 8" with their
    // record at unit 0 and nothing of the volume moved): the record is the truth then.
    const k = recordUnit(best);
    if (k < metadataUnit) {
      ignored.push(
        `curr_migr_unit ${metadataUnit} of the metadata: past this migration's record (unit ` +
          `${k}), taken from the record`,
      );
    }
    unit = k;
  } else if (metadataUnit >= u.numUnits) {
    // Every unit done by the metadata's count, yet no record of this migration: neither tool
    // checkpoints a volume's end without its record, but mdmon 4.2 applies the previous
    // volume's end checkpoint to the next one before that one's record is written (an mdadm
    // 4.2 raid0 + raid5 grow cut at its first volume's backward takeover: volume 1 at
    // "Checkpoint : 8" with an empty record, nothing moved). Nothing of this volume moved.
    ignored.push(
      `curr_migr_unit ${metadataUnit} of the metadata: the end, with no record of this ` +
        `migration (the previous volume's last checkpoint): restarted from unit 0`,
    );
    unit = 0;
  }
  // the end reached but the migration not ended: md redoes the last unit when that is safe
  if (unit >= u.numUnits) {
    const last = u.numUnits - 1;
    if (criticalUnits(u).includes(last)) {
      throw new ResumeError(
        `volume ${name}`,
        "curr_migr_unit",
        unit,
        "every unit was moved but the migration was not ended, and the last unit cannot be " +
          "redone safely (its source overlaps its destination)",
        "nothing was changed; report this state",
      );
    }
    unit = last;
  }
  const position = Math.min(unit * u.blocksPerUnit, u.maxPosition);
  return {
    volumeIndex: m.index,
    volumeName: name,
    geometry: g,
    metadataUnit,
    record: best,
    unit,
    position,
    restore,
    fresh: unit === 0,
    ignored,
  };
}

/**
 * Puts the restore on the disks: each slot's part at its new place, flushed, then the record
 * "unit k+1 in place" on both record disks (the MPB follows at the first checkpoint of the
 * continued reshape; until then the record is the newest state and wins).
 */
export async function applyRestore(
  writer: BlockWriter,
  c: ImsmContainer,
  d: ResumeDecision,
  disks: ResumeDisk[],
): Promise<number> {
  if (d.restore.kind !== "restore" || d.record === null) return 0;
  const byIndex = (i: number): ResumeDisk => {
    const serial = diskSerial(c.mpb.disks[i]);
    const disk = disks.find((x) => x.serial === serial);
    if (!disk) {
      throw new ResumeError(
        `disk ${serial}`,
        "disk table index",
        i,
        "is not present",
        "attach it and assemble again; nothing was restored",
      );
    }
    return disk;
  };
  const targets = d.restore.writes.map((w) => ({ w, disk: byIndex(w.diskIndex) }));
  for (const { w, disk } of targets) {
    await writer.write({
      device: disk.path,
      offset: BigInt(w.sector) * 512n,
      data: w.data,
      purpose: "restore",
      what: `restore of unit ${d.restore.unit} slot ${w.slot} to ${disk.path}`,
    });
  }
  for (const { disk } of targets) await writer.flush(disk.path);
  const rec = advanceCheckpoint(c, d.record, d.restore.nextUnit, MIGR_REC_STATUS.UNIT_SRC_NORMAL)
    .record;
  rec.filler = new Uint8Array(64);
  for (const serial of recordDiskSerials(c, d.volumeIndex)) {
    const disk = disks.find((x) => x.serial === serial);
    if (!disk) continue;
    const ss = disk.sectorSize;
    await writer.write({
      device: disk.path,
      offset: disk.sizeBytes - BigInt(ss),
      data: serializeMigrationSector(rec, ss),
      purpose: "migration-record",
      what: `migration record of ${disk.path}: unit ${d.restore.nextUnit}, status 0 (restored)`,
    });
    await writer.flush(disk.path);
  }
  return targets.length;
}

/** Reads what decideResume needs from the container's disks. */
export async function readResumeInput(
  reader: BlockReader,
  c: ImsmContainer,
  disks: ResumeDisk[],
  parseRecord: (sector: Uint8Array, path: string) => MigrationRecord | null,
): Promise<DecideInput | null> {
  const m = volumeInGeneralMigration(c.mpb);
  if (m === null) return null;
  const find = (serial: string) => disks.find((d) => d.serial === serial) ?? null;
  const records: RecordCopy[] = [];
  for (const serial of recordDiskSerials(c, m.index)) {
    const d = find(serial);
    if (d === null) continue;
    const sector = await reader.read(d.path, d.sizeBytes - BigInt(d.sectorSize), d.sectorSize)
      .catch(() => null);
    let record: MigrationRecord | null = null;
    try {
      record = sector === null ? null : parseRecord(sector, d.path);
    } catch {
      record = null;
    }
    records.push({ path: d.path, record });
  }
  const g = migrationGeometry(c.mpb, m.index, componentSectors(c.mpb, m.volume));
  const slotDisks = g.slotDisk.map((i) => find(diskSerial(c.mpb.disks[i])));
  return {
    container: c,
    records,
    readCopyArea: async (i, pba, sectors) => {
      const d = c.mpb.disks[i] ? find(diskSerial(c.mpb.disks[i])) : null;
      if (d === null) return null;
      return await reader.read(d.path, BigInt(pba) * 512n, sectors * 512).catch(() => null);
    },
    readMembers: async (slot, sector, sectors) => {
      const d = slotDisks[slot];
      if (!d) return null;
      return await reader.read(d.path, BigInt(g.dataStart + sector) * 512n, sectors * 512)
        .catch(() => null);
    },
  };
}

// ------------------------------------------------------------------ the plan of the rest

function oldVolume(c: ImsmContainer, vol: ImsmVolume, k: number): ImsmVolume {
  const out = structuredClone(vol);
  const map = cloneMap(vol.maps.length > 1 ? vol.maps[1] : vol.maps[0]);
  map.ord = map.ord.slice(0, k);
  map.numMembers = k;
  out.maps = [map];
  out.migrState = 0;
  out.migrType = 0;
  setCurrMigrUnit(out, 0);
  const level = raidLevel(map) as MdLevel;
  setVolumeSize(out, grownArraySize(level, k, mapStripes(c.mpb, map), map.blocksPerStrip));
  return out;
}

/**
 * The container as it was before the grow: every volume with its old member count and no
 * migration, the grow's new disks still in the disk table (the plan takes them as spares).
 */
export function preGrowView(
  c: ImsmContainer,
): { view: ImsmContainer; oldRaidDisks: number; newRaidDisks: number; newDisks: string[] } {
  const m = volumeInGeneralMigration(c.mpb);
  if (m === null) throw new Error("preGrowView: no volume is in a general migration");
  const [dest, src] = m.volume.maps;
  const k = src.numMembers;
  const n = dest.numMembers;
  const view = cloneContainer(c);
  view.mpb.volumes = c.mpb.volumes.map((vol, i) => {
    if (i === m.index || vol.maps[0].numMembers === n) return oldVolume(c, vol, k);
    return structuredClone(vol);
  });
  const had = new Set(src.ord.map(ordIndex));
  const newDisks = dest.ord.map(ordIndex).filter((i) => !had.has(i)).map((i) =>
    diskSerial(c.mpb.disks[i])
  );
  return { view, oldRaidDisks: k, newRaidDisks: n, newDisks };
}

/** The grow plan of the migration in progress, as the grow that started it made it. */
export function resumePlan(
  c: ImsmContainer,
  facts: Omit<GrowFacts, "spares">,
  disks: (ResumeDisk & { majMin: string })[],
): GrowPlan {
  const pre = preGrowView(c);
  const m = volumeInGeneralMigration(c.mpb)!;
  const [dest, src] = m.volume.maps;
  if (raidLevel(dest) !== raidLevel(src) || dest.blocksPerStrip !== src.blocksPerStrip) {
    return migrationResumePlan(c, pre.view, m.index, facts, disks);
  }
  const spares: SpareFact[] = pre.newDisks.map((serial) => {
    const d = disks.find((x) => x.serial === serial);
    if (!d) {
      throw new ResumeError(
        `disk ${serial}`,
        "new member",
        serial,
        "the disk the grow adds is not in the container",
        "attach it and assemble the container again",
      );
    }
    return spareFact(serial, d);
  });
  const decision = planGrow(pre.view, { ...facts, busy: [], spares }, {
    raidDevices: pre.newRaidDisks,
    force: true,
  });
  if (!decision.ok) {
    throw new ResumeError(
      `/dev/${facts.container}`,
      "migration",
      `${pre.oldRaidDisks}->${pre.newRaidDisks}`,
      `the grow cannot be continued: ${decision.refusals.map((r) => r.message).join("; ")}`,
      "nothing was changed",
    );
  }
  return decision.plan;
}

/** A container disk offered to the planner as the spare it was when the grow began. */
function spareFact(serial: string, d: ResumeDisk & { majMin: string }): SpareFact {
  return {
    serial,
    path: d.path,
    majMin: d.majMin,
    sizeSectors: Number(d.sizeBytes / 512n),
    sectorSize: d.sectorSize,
  };
}

/**
 * The plan of a volume migration in progress, made again by migrate_plan.ts from the old
 * geometry: a chunk-size migration, or raid0 -> raid5 whose parity disk (the last slot of the
 * new map, appended to the disk table by the migration) is offered to the plan as the spare
 * it was, so the plan is the one the grow made.
 */
function migrationResumePlan(
  c: ImsmContainer,
  view: ImsmContainer,
  index: number,
  facts: Omit<GrowFacts, "spares">,
  disks: (ResumeDisk & { majMin: string })[],
): GrowPlan {
  const [dest, src] = c.mpb.volumes[index].maps;
  const device = `/dev/${facts.volumeDevices[index] ?? `volume ${index}`}`;
  const what = raidLevel(dest) !== raidLevel(src)
    ? `raid${raidLevel(src)} -> raid${raidLevel(dest)}`
    : `chunk ${src.blocksPerStrip / 2}K -> ${dest.blocksPerStrip / 2}K`;
  let planView = view;
  let spares: SpareFact[] = [];
  if (raidLevel(dest) !== raidLevel(src)) {
    if (
      raidLevel(src) !== 0 || raidLevel(dest) !== 5 || dest.numMembers !== src.numMembers + 1
    ) {
      throw new ResumeError(
        `volume ${index}`,
        "migration",
        `raid${raidLevel(src)} ${src.numMembers} disks -> raid${raidLevel(dest)} ` +
          `${dest.numMembers} disks`,
        "mdts continues only raid0 -> raid5 with one added disk among level migrations",
        "nothing was changed; the volume stays held at its checkpoint",
      );
    }
    const idx = ordIndex(dest.ord[dest.numMembers - 1]);
    const serial = diskSerial(c.mpb.disks[idx]);
    const d = disks.find((x) => x.serial === serial);
    if (!d) {
      throw new ResumeError(
        `disk ${serial}`,
        "parity disk",
        serial,
        "the disk the migration makes the parity disk is not in the container",
        "attach it and assemble the container again",
      );
    }
    planView = cloneContainer(view);
    const [rec] = planView.mpb.disks.splice(idx, 1);
    for (const vol of planView.mpb.volumes) {
      for (const map of vol.maps) map.ord = map.ord.map((o) => (ordIndex(o) > idx ? o - 1 : o));
    }
    rec.status = ((rec.status | DISK_STATUS.SPARE) & ~DISK_STATUS.CONFIGURED) >>> 0;
    planView.spares.push(rec);
    spares = [spareFact(serial, d)];
  }
  const decision = planMigration(planView, { ...facts, busy: [], spares }, {
    volumeIndex: index,
    device,
    ...(spares.length > 0 ? { level: 5 } : { chunkKiB: dest.blocksPerStrip / 2 }),
  });
  if (!decision.ok || !decision.plan) {
    throw new ResumeError(
      `/dev/${facts.container}`,
      "migration",
      what,
      `the migration cannot be continued: ${
        decision.ok ? "not a migration" : decision.refusals.map((r) => r.message).join("; ")
      }`,
      "nothing was changed",
    );
  }
  return decision.plan;
}

/** Where the continue starts: the migrating volume and the unit md is held at. */
export interface ResumePoint {
  volumeIndex: number;
  /** 0: the volume's reshape starts from the beginning (md runs the old geometry). */
  unit: number;
}

/**
 * Continues the grow: the migrating volume from `at` (md assembled at its position, held
 * there by sync_max), then every later volume as the forward grow does, then unfreeze.
 */
export async function resumeGrow(ctx: GrowContext, at: ResumePoint): Promise<GrowReport> {
  const r = new Runner(ctx);
  const report: GrowReport = { volumes: [] };
  try {
    r.at("freeze", ctx.plan.container);
    for (const v of ctx.plan.volumes) {
      const array = ctx.kernel.array(v.device);
      const version = await array.metadataVersion();
      if (version.kind === "external-member" && !version.blocked) await array.setBlocked(true);
      // the volume md is reshaping must not be frozen: that would stop the reshape
      const reshaping = v.index === at.volumeIndex && at.unit > 0;
      const action = await array.syncAction();
      if (action === "idle" && !reshaping) await array.setSyncAction("frozen");
      r.frozen.push(v.device);
    }
    await ctx.monitor.ping();
    let number = 0;
    for (const v of ctx.plan.volumes) {
      number++;
      if (v.index === at.volumeIndex && at.unit > 0) {
        report.volumes.push(await continueVolume(r, v, at.unit, number));
      } else {
        if (v.index === at.volumeIndex) {
          // assembly starts a volume whose reshape has not begun read-only; md refuses
          // raid_disks on it with EROFS (seen on the real kernel), so make it writable first
          const array = ctx.kernel.array(v.device);
          const state = await array.arrayState();
          if (state === "readonly" || state === "read-auto") await array.setArrayState("active");
        }
        report.volumes.push(await r.volume(v, number));
      }
    }
    r.at("unfreeze", ctx.plan.container);
    await r.unfreeze();
    return report;
  } catch (e) {
    const problem = e instanceof Error ? e.message : String(e);
    const stage = r.stage;
    const device = r.device;
    await r.abort(true);
    throw new GrowError(stage, device, problem, true);
  }
}

const MAX_SECTOR_TEXT = String((1n << 63n) - 1n);

async function continueVolume(
  r: Runner,
  v: GrowPlan["volumes"][number],
  unit: number,
  number: number,
) {
  const started = r.now();
  const array = r.kernel.array(v.device);
  r.at("start-reshape", v.device);
  const position = BigInt(Math.min(unit * v.units.blocksPerUnit, v.units.maxPosition));
  const md = await array.reshapePosition();
  if (md === "none") {
    throw new ResumeError(
      `/dev/${v.device}`,
      "reshape_position",
      "none",
      `md is not reshaping, the metadata says unit ${unit}`,
      "stop the volume and assemble the container again (mdts -A) so md resumes the reshape",
    );
  }
  if (md < position) {
    throw new ResumeError(
      `/dev/${v.device}`,
      "reshape_position",
      String(md),
      `md is behind the checkpoint (array sector ${position}, unit ${unit})`,
      "stop the volume and assemble the container again so the checkpoint is used",
    );
  }
  r.reshaping = true;
  const u = v.units;
  // md was assembled held at the checkpoint. If that is inside an old-layout stripe row, any
  // I/O to the rest of the row (udev's blkid at assembly) waits for the reshape to move, and
  // a suspend_lo/hi write would then wait for that I/O forever (kernel 6.1; holdPoint). So md
  // first moves to the end of the row, before any suspend write: only as far as a redo from
  // the checkpoint stays safe, and inside the first unit, which the first window re-suspends.
  const hold = holdPoint(u, Number(position), Number(md));
  const release = hold > Number(md) && hold <= Number(position) + u.blocksPerUnit;
  if (release) {
    r.at("release-row", v.device);
    await array.setSyncMax(BigInt(hold / u.newDataDisks));
    await makeActive(array);
    await r.monitor.pingManager();
    await waitReshapeAt(r, array, BigInt(hold), u.newDataDisks);
  }
  r.at("start-reshape", v.device);
  // as mdadm's restart: user I/O held from the checkpoint on, md allowed up to it, then go
  await array.write("suspend_lo", MAX_SECTOR_TEXT);
  await array.write("suspend_hi", String(position));
  await array.write("suspend_lo", String(position));
  if (!release) await array.setSyncMax(position / BigInt(u.newDataDisks));
  await makeActive(array);
  await r.monitor.pingManager();
  await r.monitor.ping();
  return await r.reshapeAndFinish(v, array, number, started, unit);
}

async function makeActive(array: MdArray): Promise<void> {
  const state = await array.arrayState();
  if (state === "readonly" || state === "read-auto" || state === "clean") {
    await array.setArrayState("active");
  }
}

/**
 * Waits until md's reshape reaches array sector `at` (md starts it once the array is active
 * and the monitor has answered; 180 s at least, as for a monitor start under load). md
 * publishes its position in reshape_position and sync_completed; either will do.
 */
async function waitReshapeAt(
  r: Runner,
  array: MdArray,
  at: bigint,
  newDataDisks: number,
): Promise<void> {
  const limitMs = Math.max(r.monitorTimeoutMs, 180_000);
  const start = r.now();
  for (;;) {
    const pos = await array.reshapePosition();
    if (pos === "none" || pos >= at) return;
    const done = await array.syncCompleted();
    if (typeof done === "object" && done !== null && done.done * BigInt(newDataDisks) >= at) {
      return;
    }
    if (r.now() - start >= limitMs) {
      throw new ResumeError(
        `/dev/${array.devnm}`,
        "reshape_position",
        String(pos),
        `md did not move to array sector ${at} within ${limitMs / 1000} s`,
        "check dmesg and /proc/mdstat; stop the volume and assemble again to retry",
      );
    }
    await r.sleep(r.pollMs);
  }
}

/** md's shape of a volume held mid-reshape at assembly (spec §5.2 step 1). */
export interface ReshapeShape {
  level: "raid4" | "raid5";
  layout: number;
  /** md layout of the old geometry (5 for a raid0 source: parity-last, parity slot empty). */
  oldLayout: number;
  oldRaidDisks: number;
  newRaidDisks: number;
  chunkBytes: number;
  /** Chunk of the old geometry (differs from chunkBytes in a chunk-size migration). */
  oldChunkBytes: number;
  componentKiB: bigint;
  /** Old capacity: md cannot be bigger than the smaller geometry while reshaping. */
  arrayKiB: bigint;
  /** pba_of_lba0. */
  offset: bigint;
  /** Disk-table index per slot of the new map. */
  slotDisks: number[];
}

export function reshapeShape(c: ImsmContainer, index: number): ReshapeShape {
  const vol = c.mpb.volumes[index];
  const [dest, src] = vol.maps;
  const level = raidLevel(dest);
  const comp = componentSectors(c.mpb, vol);
  const raid0 = level === 0;
  // a raid0 source runs parity-last with its parity slot empty (raid4, or raid5 when the
  // migration makes it raid5)
  const srcRaid0 = raidLevel(src) === 0;
  return {
    level: raid0 ? "raid4" : "raid5",
    layout: raid0 ? 5 : 0,
    oldLayout: srcRaid0 ? 5 : 0,
    oldRaidDisks: src.numMembers + (srcRaid0 ? 1 : 0),
    newRaidDisks: dest.numMembers + (raid0 ? 1 : 0),
    chunkBytes: dest.blocksPerStrip * 512,
    oldChunkBytes: src.blocksPerStrip * 512,
    componentKiB: BigInt(comp / 2),
    arrayKiB: BigInt((comp * dataMembers(src)) / 2),
    offset: BigInt(migrationGeometry(c.mpb, index, comp).dataStart),
    slotDisks: dest.ord.map(ordIndex),
  };
}
