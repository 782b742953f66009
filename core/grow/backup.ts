/**
 * The critical-section backup of a general migration, in mdadm 4.2's on-disk form, and its
 * restore (spec imsm-format.md §7-§8, imsm-reshape.md §2.4 step 3, §5.2 step 4).
 *
 * Format (proved on f_crashed's bytes, tests/unit/grow/backup_fixture.test.ts): the unit's
 * array sectors laid out in the DESTINATION geometry (map[0] level/members/chunk, raid5
 * parity included, raid0 none), member slot i's part (destDepth sectors, member sectors
 * unit x destDepth ..) stored at ckpt_area_pba of the disk whose disk-table index is i
 * (mdadm addresses the copy area by table index, not by slot; the two agree unless the
 * ord table is permuted). Restoring puts each slot's part at pba_of_lba0 + unit x destDepth
 * of the disk in that slot, after which md resumes at the next unit.
 *
 * mdts addition: a digest of the copy area in the migration record's filler (mdadm writes
 * zeros there and keeps what it reads), so a torn, stale or corrupted copy area is refused
 * also for raid0 volumes, whose copy area has no parity. Copy areas written by mdadm carry
 * no digest and are checked by parity (raid5) and against the array (any level).
 */
import { createHash } from "node:crypto";
import type { MigrationRecord } from "../../meta/imsm/model.ts";
import { MIGR_REC_STATUS } from "../../meta/imsm/constants.ts";
import { gatherArray, type MemberReader, SECTOR, stripeRows } from "../restripe/copy.ts";
import { contentAt, dataDisks, locate, type StripeGeometry } from "../restripe/layout.ts";
import { parityMismatch } from "../restripe/parity.ts";
import type { MigrationGeometry } from "./geometry.ts";

export type BackupErrorCode =
  | "no-migration"
  | "family-mismatch"
  | "unit-out-of-range"
  | "unit-mismatch"
  | "record-geometry"
  | "too-many-missing"
  | "digest-mismatch"
  | "parity-mismatch"
  | "stale-copy-area"
  | "bad-length";

/** A refusal to back up or restore: what, where, the value, and what to do. */
export class BackupError extends Error {
  constructor(
    readonly code: BackupErrorCode,
    readonly field: string,
    readonly value: string | number,
    problem: string,
    hint: string,
  ) {
    super(`copy area: ${field}=${value}: ${problem}; ${hint}`);
    this.name = "BackupError";
  }
}

const DIGEST_MAGIC = "MDTSCA01";

/** First array sector of `unit`, and the unit's length (the last unit may be short). */
export function unitRange(g: MigrationGeometry, unit: number): { start: number; sectors: number } {
  const start = unit * g.unit.blocksPerUnit;
  return { start, sectors: Math.min(g.unit.blocksPerUnit, g.unit.maxPosition - start) };
}

/**
 * The copy-area image of a unit from its array data: one buffer of destDepth sectors per
 * destination slot (index = slot = mdadm's disk-table index of the copy area).
 */
export function copyAreaImage(
  dest: StripeGeometry,
  destDepth: number,
  unitStart: number,
  unitData: Uint8Array,
): Uint8Array[] {
  const rowSectors = dest.chunkSectors * dataDisks(dest);
  if (unitStart % rowSectors !== 0 || unitData.length !== destDepth * dataDisks(dest) * SECTOR) {
    throw new BackupError(
      "bad-length",
      "unit",
      `${unitStart}+${unitData.length / SECTOR}`,
      `a unit must be ${destDepth * dataDisks(dest)} array sectors starting on a stripe row`,
      "only whole units are backed up (mdadm refuses a partial last unit the same way)",
    );
  }
  return stripeRows(dest, unitData, unitStart / rowSectors);
}

/** Reads the unit from the members in the old geometry and lays it out for the copy area. */
export async function buildBackup(
  g: MigrationGeometry,
  unit: number,
  readOld: MemberReader,
): Promise<Uint8Array[]> {
  const { start, sectors } = unitRange(g, unit);
  const data = await gatherArray(g.source, readOld, start, sectors);
  return copyAreaImage(g.dest, g.unit.destDepth, start, data);
}

/** SHA-256 over the unit number, family and every slot image, in slot order. */
export function copyAreaDigest(images: Uint8Array[], unit: number, family: number): Uint8Array {
  const h = createHash("sha256");
  h.update(new TextEncoder().encode(`${DIGEST_MAGIC}:${unit}:${family >>> 0}`));
  for (const img of images) h.update(img);
  return new Uint8Array(h.digest());
}

/** The record filler carrying the digest (magic, then 32 digest bytes). */
export function digestFiller(images: Uint8Array[], unit: number, family: number): Uint8Array {
  const out = new Uint8Array(64);
  out.set(new TextEncoder().encode(DIGEST_MAGIC), 0);
  out.set(copyAreaDigest(images, unit, family), 8);
  return out;
}

function recordDigest(rec: MigrationRecord): Uint8Array | null {
  const magic = new TextDecoder().decode(rec.filler.subarray(0, 8));
  return magic === DIGEST_MAGIC ? rec.filler.subarray(8, 40) : null;
}

function joinLoHi(lo: number, hi: number): number {
  return lo + hi * 2 ** 32;
}

/**
 * The record that says "unit `unit` is in the copy area" (rec_status 1), with the digest
 * of `images` in its filler. Write it after the copy area is on disk and flushed.
 */
export function backupRecord(
  record: MigrationRecord,
  unit: number,
  images: Uint8Array[],
): MigrationRecord {
  const out = structuredClone(record);
  out.recStatus = MIGR_REC_STATUS.UNIT_SRC_IN_CP_AREA;
  out.filler = digestFiller(images, unit, record.familyNum);
  return out;
}

/** One restore write: `data` goes to member sector `sector` (absolute LBA) of `diskIndex`. */
export interface RestoreWrite {
  slot: number;
  diskIndex: number;
  sector: number;
  data: Uint8Array;
}

export type RestorePlan =
  | { kind: "nothing"; reason: string }
  | {
    kind: "restore";
    unit: number;
    writes: RestoreWrite[];
    /** Array position md continues from after the restore (the unit after the restored one). */
    resumeAt: number;
    /** Unit the record says next, with rec_status 0, once the writes are durable. */
    nextUnit: number;
    verifiedBy: ("digest" | "parity" | "array")[];
  };

export interface RestoreInput {
  geometry: MigrationGeometry;
  /** The MPB's family_num and the volume's curr_migr_unit. */
  family: number;
  volumeUnit: number;
  /** Copy area of the smallest member (its total sectors - 2209), as the record must say. */
  expectedCopyAreaPba: number;
  record: MigrationRecord;
  /** Copy-area contents (destDepth sectors) by disk-table index; null = unreadable disk. */
  copyArea: (Uint8Array | null)[];
  /**
   * Reads the members as they are now (slot, member sector relative to the data start);
   * used to check a copy area that carries no digest against the array.
   */
  readMembers?: MemberReader;
}

function checkRecord(inp: RestoreInput, unit: number): void {
  const { record: r, geometry: g } = inp;
  const u = g.unit;
  if (r.familyNum >>> 0 !== inp.family >>> 0) {
    throw new BackupError(
      "family-mismatch",
      "migr_record.family_num",
      `0x${(r.familyNum >>> 0).toString(16)}`,
      `the container's family is 0x${(inp.family >>> 0).toString(16)}: the record belongs ` +
        "to another container or an older migration",
      "do not restore; examine the disks (mdts -E) and check which disks belong together",
    );
  }
  const units = joinLoHi(r.numMigrUnitsLo, r.numMigrUnitsHi);
  if (unit >= units) {
    throw new BackupError(
      "unit-out-of-range",
      "migr_record.curr_migr_unit",
      unit,
      `the record has ${units} units`,
      "the record is damaged; nothing was restored",
    );
  }
  if (unit !== inp.volumeUnit) {
    throw new BackupError(
      "unit-mismatch",
      "migr_record.curr_migr_unit",
      unit,
      `the volume's metadata checkpoint is unit ${inp.volumeUnit}: the copy area may be stale`,
      "nothing was restored; assemble with all members so the newest metadata is used",
    );
  }
  const expect: [string, number, number][] = [
    ["dest_depth_per_unit", r.destDepthPerUnit, u.destDepth],
    ["blocks_per_unit", r.blocksPerUnit, u.blocksPerUnit],
    ["num_migr_units", units, u.numUnits],
    ["ckpt_area_pba", joinLoHi(r.ckptAreaPbaLo, r.ckptAreaPbaHi), inp.expectedCopyAreaPba],
    [
      "dest_1st_member_lba",
      joinLoHi(r.dest1stMemberLbaLo, r.dest1stMemberLbaHi),
      u.destDepth * unit,
    ],
  ];
  for (const [field, got, want] of expect) {
    if (got !== want) {
      throw new BackupError(
        "record-geometry",
        `migr_record.${field}`,
        got,
        `the volume's maps give ${want}`,
        "the record does not describe this migration; nothing was restored",
      );
    }
  }
}

/** Slot images from the copy areas (index = slot = disk-table index), one may be rebuilt. */
function slotImages(inp: RestoreInput): Uint8Array[] {
  const g = inp.geometry;
  const n = g.dest.members;
  const len = g.unit.destDepth * SECTOR;
  const images: (Uint8Array | null)[] = [];
  for (let slot = 0; slot < n; slot++) {
    const a = inp.copyArea[slot] ?? null;
    if (a !== null && a.length !== len) {
      throw new BackupError(
        "bad-length",
        `copy area of disk ${slot}`,
        a.length,
        `expected ${len} bytes (dest_depth_per_unit sectors)`,
        "read dest_depth_per_unit sectors at ckpt_area_pba",
      );
    }
    images.push(a);
  }
  const missing = images.flatMap((x, i) => (x === null ? [i] : []));
  const tolerable = g.dest.level === 5 || g.dest.level === 4 ? 1 : 0;
  if (missing.length > tolerable) {
    throw new BackupError(
      "too-many-missing",
      "copy area disks",
      missing.join(","),
      `raid${g.dest.level} can rebuild ${tolerable} unreadable copy area(s)`,
      "attach the missing disks and assemble again; nothing was restored",
    );
  }
  if (missing.length === 1) {
    // rebuild the lost slot from the others (parity): XOR of all present slots
    const lost = new Uint8Array(len);
    for (const img of images) if (img) { for (let i = 0; i < len; i++) lost[i] ^= img[i]; }
    images[missing[0]] = lost;
  }
  return images as Uint8Array[];
}

function checkParity(g: MigrationGeometry, images: Uint8Array[]): void {
  const chunk = g.dest.chunkSectors * SECTOR;
  for (let row = 0; row * chunk < images[0].length; row++) {
    const blocks = images.map((img) => img.subarray(row * chunk, (row + 1) * chunk));
    const bad = parityMismatch(blocks, chunk);
    if (bad >= 0) {
      throw new BackupError(
        "parity-mismatch",
        "copy area stripe row",
        row,
        `data and parity disagree at byte ${bad} of the row (torn or corrupted copy area)`,
        "nothing was restored; the copy area cannot be trusted",
      );
    }
  }
}

/**
 * Checks each data chunk of the copy area against the array: md either already wrote it at
 * its new place, or its old place still holds it. A chunk that matches neither means the
 * copy area is of another unit (stale) or damaged.
 */
async function checkAgainstArray(
  g: MigrationGeometry,
  unit: number,
  images: Uint8Array[],
  read: MemberReader,
): Promise<void> {
  const c = g.dest.chunkSectors;
  const base = unit * g.unit.destDepth;
  for (let slot = 0; slot < images.length; slot++) {
    for (let off = 0; off < g.unit.destDepth; off += c) {
      const what = contentAt(g.dest, slot, base + off);
      if (what.kind === "parity") continue;
      const mine = images[slot].subarray(off * SECTOR, (off + c) * SECTOR);
      const atNew = await read(slot, base + off, c);
      if (atNew && sameBytes(atNew, mine)) continue;
      const old = locate(g.source, what.arraySector);
      const atOld = await read(old.member, old.sector, c);
      if (atOld && sameBytes(atOld, mine)) continue;
      throw new BackupError(
        "stale-copy-area",
        `copy area slot ${slot} chunk at member sector ${base + off}`,
        what.arraySector,
        "matches neither the new nor the old place of that array data (stale or corrupted)",
        "nothing was restored; the copy area does not hold this unit",
      );
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Decides the restore of a critical section: nothing when the record says the unit's data
 * is in place, else the verified per-slot writes. Throws BackupError instead of returning
 * anything it cannot verify.
 */
export async function planRestore(inp: RestoreInput): Promise<RestorePlan> {
  const r = inp.record;
  if (r.recStatus === MIGR_REC_STATUS.UNIT_SRC_NORMAL) {
    return { kind: "nothing", reason: "rec_status 0: the current unit's data is in place" };
  }
  const unit = joinLoHi(r.currMigrUnitLo, r.currMigrUnitHi);
  checkRecord(inp, unit);
  const g = inp.geometry;
  const images = slotImages(inp);
  const verifiedBy: ("digest" | "parity" | "array")[] = [];
  const stored = recordDigest(r);
  if (stored) {
    const now = copyAreaDigest(images, unit, r.familyNum);
    if (!sameBytes(stored, now)) {
      throw new BackupError(
        "digest-mismatch",
        "copy area digest",
        unit,
        "the copy area differs from what was backed up for this unit (torn or corrupted)",
        "nothing was restored; the copy area cannot be trusted",
      );
    }
    verifiedBy.push("digest");
  }
  if (g.dest.level === 5 || g.dest.level === 4) {
    checkParity(g, images);
    verifiedBy.push("parity");
  }
  if (!stored && inp.readMembers) {
    await checkAgainstArray(g, unit, images, inp.readMembers);
    verifiedBy.push("array");
  }
  const sector = g.dataStart + unit * g.unit.destDepth;
  const writes = images.map((data, slot) => ({
    slot,
    diskIndex: g.slotDisk[slot],
    sector,
    data,
  }));
  const nextUnit = Math.min(unit + 1, g.unit.numUnits);
  return {
    kind: "restore",
    unit,
    writes,
    resumeAt: Math.min(nextUnit * g.unit.blocksPerUnit, g.unit.maxPosition),
    nextUnit,
    verifiedBy,
  };
}
