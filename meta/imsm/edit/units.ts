/**
 * 4K-sector disks (spec §9): on disk, sizes and offsets are in 4096-byte units, while the
 * editor (like mdadm in memory) works in 512-byte sectors. These convert a model between
 * the two; num_data_stripes, unit counts and the raw bad-block log are not converted.
 */
import type { ImsmDiskRecord, ImsmMap, ImsmSuper, MigrationRecord } from "../model.ts";
import { splitLoHi } from "./records.ts";

const TWO_32 = 2 ** 32;
/** 512-byte sectors per 4096-byte sector. */
const FACTOR = 8;

type Scale = (n: number) => number;

function scalePair<T>(obj: T, lo: keyof T, hi: keyof T, f: Scale): void {
  const rec = obj as Record<keyof T, number>;
  const v = splitLoHi(f(rec[hi] * TWO_32 + rec[lo]));
  rec[lo] = v.lo;
  rec[hi] = v.hi;
}

function scaleDisk(d: ImsmDiskRecord, f: Scale): void {
  scalePair(d, "totalBlocksLo", "totalBlocksHi", f);
}

function scaleMap(m: ImsmMap, f: Scale): void {
  scalePair(m, "blocksPerMemberLo", "blocksPerMemberHi", f);
  scalePair(m, "pbaOfLba0Lo", "pbaOfLba0Hi", f);
  m.blocksPerStrip = f(m.blocksPerStrip);
}

function scaleSuper(mpb: ImsmSuper, f: Scale): ImsmSuper {
  const out = structuredClone(mpb);
  for (const d of out.disks) scaleDisk(d, f);
  for (const v of out.volumes) {
    scalePair(v, "sizeLow", "sizeHigh", f);
    scalePair(v, "currMigrUnitLo", "currMigrUnitHi", f);
    for (const m of v.maps) scaleMap(m, f);
  }
  return out;
}

const down: Scale = (n) => Math.floor(n / FACTOR);
const up: Scale = (n) => n * FACTOR;

/** Model as stored on a disk with `sectorSize`-byte sectors (a copy; 512: unchanged copy). */
export function mpbToDiskUnits(mpb: ImsmSuper, sectorSize: number): ImsmSuper {
  return sectorSize === 4096 ? scaleSuper(mpb, down) : structuredClone(mpb);
}

/** Model as read from a disk with `sectorSize`-byte sectors, in 512-byte units. */
export function mpbFromDiskUnits(mpb: ImsmSuper, sectorSize: number): ImsmSuper {
  return sectorSize === 4096 ? scaleSuper(mpb, up) : structuredClone(mpb);
}

export function diskToDiskUnits(d: ImsmDiskRecord, sectorSize: number): ImsmDiskRecord {
  const out = structuredClone(d);
  if (sectorSize === 4096) scaleDisk(out, down);
  return out;
}

export function diskFromDiskUnits(d: ImsmDiskRecord, sectorSize: number): ImsmDiskRecord {
  const out = structuredClone(d);
  if (sectorSize === 4096) scaleDisk(out, up);
  return out;
}

function scaleRecord(rec: MigrationRecord, f: Scale): MigrationRecord {
  const out = structuredClone(rec);
  out.blocksPerUnit = f(out.blocksPerUnit);
  out.destDepthPerUnit = f(out.destDepthPerUnit);
  scalePair(out, "postMigrVolCapLo", "postMigrVolCapHi", f);
  scalePair(out, "ckptAreaPbaLo", "ckptAreaPbaHi", f);
  scalePair(out, "dest1stMemberLbaLo", "dest1stMemberLbaHi", f);
  return out;
}

export function recordToDiskUnits(rec: MigrationRecord, sectorSize: number): MigrationRecord {
  return sectorSize === 4096 ? scaleRecord(rec, down) : structuredClone(rec);
}

export function recordFromDiskUnits(rec: MigrationRecord, sectorSize: number): MigrationRecord {
  return sectorSize === 4096 ? scaleRecord(rec, up) : structuredClone(rec);
}
