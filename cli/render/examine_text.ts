/**
 * `mdadm --examine` text for an IMSM member, line for line as mdadm 4.2 prints it (labels,
 * order, spacing and value formats learned from real 4.2 output in tests/fixtures/imsm and
 * the facts in spec/imsm-format.md). Values are printed from the raw on-disk fields with
 * mdadm's unit rules (sizes in 512-byte sectors scaled to the disk's sector size).
 */
import type { ExaminedDevice } from "../../core/examine.ts";
import {
  cString,
  isConfigured,
  isFailed,
  isGeneralMigration,
  isJournal,
  isSpare,
  joinU32,
  magicText,
  migrationType,
  mpbSectors,
  raidLevel,
  slotOfDisk,
  versionText,
} from "../../meta/imsm/accessors.ts";
import {
  DIRTY_FLAG,
  DISK_RECORD_SIZE,
  FAILED_DISK_NONE,
  MAP_HEADER_SIZE,
  MAP_STATE_NAMES,
  MIGR_TYPE,
  MPB_HEADER_SIZE,
  ORD_REBUILD,
  RWH_POLICY,
  SUPPORTED_ATTRIBUTES_4_2,
  VOLUME_HEADER_SIZE,
} from "../../meta/imsm/constants.ts";
import { examineReservedSectors, totalSectors512, wrap64 } from "../../meta/imsm/examine_rules.ts";
import { blocksPerMigrationUnit } from "../../meta/imsm/migration_units.ts";
import type {
  ImsmDiskRecord,
  ImsmMap,
  ImsmSuper,
  MigrationRecord,
  ParsedMetadata,
} from "../../meta/imsm/model.ts";
import { decodeBbmLog, serializeMpb, volumeRecordSize } from "../../meta/imsm/mpb.ts";
import {
  recordCheckpointAreaPba,
  recordCurrentUnit,
  recordDestFirstMemberLba,
  recordNumUnits,
  recordPostMigrationCapacity,
} from "../../meta/imsm/migration_record.ts";
import { containerUuid, volumeUuid } from "../../meta/imsm/uuid.ts";
import { MIGRATION_RECORD_LAYOUT } from "../../meta/imsm/layout.ts";
import { decodeStruct } from "../../meta/imsm/codec.ts";

export interface RenderExamineOptions {
  /** Time zone of "Creation Time" (mdadm uses local time via ctime). Default "local". */
  timeZone?: "local" | "utc";
  /** Name on the first line; default the examined device path. */
  displayName?: string;
}

/** Full `-E` text of one device (ends with a newline). Requires `e.metadata`. */
export function renderExamine(e: ExaminedDevice, opts: RenderExamineOptions = {}): string {
  const meta = e.metadata;
  if (!meta) throw new Error(`renderExamine: ${e.device} has no IMSM metadata`);
  const thisIndex = e.thisDisk?.index ?? -2;
  const mpb = meta.mpb;
  const S = meta.sectorSize;
  const out: string[] = [];
  const p = (s: string) => out.push(s);
  const reserved = examineReservedSectors(mpb, e.thisDisk ?? { index: -2, record: null }, S);

  p(`${opts.displayName ?? e.device}:`);
  p(`          Magic : ${magicText(mpb)}`);
  p(`        Version : ${versionText(mpb)}`);
  p(`    Orig Family : ${hex8(mpb.origFamilyNum)}`);
  p(`         Family : ${hex8(mpb.familyNum)}`);
  p(`     Generation : ${hex8(mpb.generationNum)}`);
  p(`  Creation Time : ${
    mpb.creationTime === 0n ? "Unknown" : ctime(mpb.creationTime, opts.timeZone ?? "local")
  }`);
  p(`     Attributes : ${
    (mpb.attributes & ~SUPPORTED_ATTRIBUTES_4_2) === 0 ? "All supported" : "not supported"
  }`);
  p(`           UUID : ${containerUuid(mpb)}`);
  p(`       Checksum : ${hex8(mpb.checkSum)} ${
    meta.computedChecksum === mpb.checkSum ? "correct" : "incorrect"
  }`);
  p(`    MPB Sectors : ${mpbSectors(mpb.mpbSize, S)}`);
  p(`          Disks : ${mpb.numDisks}`);
  p(`   RAID Devices : ${mpb.numRaidDevs}`);
  if (thisIndex >= 0 && thisIndex < mpb.disks.length) {
    diskLines(p, mpb, mpb.disks[thisIndex], thisIndex, reserved, S);
  }
  const bbm = decodeBbmLog(mpb.bbmLog);
  if (bbm && bbm.header.entryCount > 0) {
    p("");
    p("Bad Block Management Log:");
    p(`       Log Size : ${mpb.bbmLogSize | 0}`);
    p(`      Signature : ${bbm.header.signature.toString(16)}`);
    p(`    Entry Count : ${bbm.header.entryCount | 0}`);
  }
  mpb.volumes.forEach((_, v) => volumeLines(p, meta, v, thisIndex));
  mpb.disks.forEach((d, i) => {
    if (i !== thisIndex) diskLines(p, mpb, d, i, reserved, S);
  });
  if (thisIndex === -1 && e.thisDisk?.record) {
    diskLines(p, mpb, e.thisDisk.record, -1, reserved, S);
  }
  migrationRecordLines(p, meta, thisIndex);
  return out.join("\n") + "\n";
}

type Put = (s: string) => void;

function diskLines(
  p: Put,
  mpb: ImsmSuper,
  disk: ImsmDiskRecord,
  index: number,
  reserved: number,
  S: number,
): void {
  p("");
  const serial = cString(disk.serial);
  p(index >= 0 ? `  Disk${pad2(index)} Serial : ${serial}` : `    Disk Serial : ${serial}`);
  p(`          State :${isSpare(disk) ? " spare" : ""}${isConfigured(disk) ? " active" : ""}${
    isFailed(disk) ? " failed" : ""
  }${isJournal(disk) ? " journal" : ""}`);
  p(`             Id : ${hex8(disk.scsiId)}`);
  const sz = wrap64(totalSectors512(mpb, disk, S) - BigInt(reserved));
  p(`    Usable Size : ${sectorsText(sz, S)}${humanSize(wrap64(sz * 512n))}`);
}

function volumeLines(p: Put, meta: ParsedMetadata, v: number, thisIndex: number): void {
  const mpb = meta.mpb;
  const S = meta.sectorSize;
  const scale = BigInt(S / 512);
  const vol = mpb.volumes[v];
  const map = vol.maps[0];
  const map2: ImsmMap | undefined = vol.migrState ? vol.maps[1] : undefined;
  const arrow = <T>(a: T, b: (m: ImsmMap) => T) => (map2 ? `${a} <-- ${b(map2)}` : `${a}`);
  const slots = (m: ImsmMap) =>
    `[${m.ord.map((o) => ((o & ORD_REBUILD) !== 0 ? "_" : "U")).join("")}]`;
  const hi = (lo: number, hiWord: number) =>
    joinU32(lo, (mpb.attributes & 0x04000000) !== 0 ? hiWord : 0);

  p("");
  p(`[${cString(vol.volume)}]:`);
  p(`       Subarray : ${v}`);
  p(`           UUID : ${volumeUuid(mpb, v)}`);
  p(`     RAID Level : ${arrow(raidLevel(map), raidLevel)}`);
  p(`        Members : ${arrow(map.numMembers, (m) => m.numMembers)}`);
  p(`          Slots : ${arrow(slots(map), slots)}`);
  p(`    Failed disk : ${map.failedDiskNum === FAILED_DISK_NONE ? "none" : map.failedDiskNum}`);
  const slot = thisIndex >= 0 ? slotOfDisk(map, thisIndex) : -1;
  if (slot >= 0) {
    const ord = ordForThisSlot(meta, v, slot);
    p(`      This Slot : ${slot}${(ord & ORD_REBUILD) !== 0 ? " (out-of-sync)" : ""}`);
  } else {
    p(`      This Slot : ?`);
  }
  p(`    Sector Size : ${S}`);
  const size = wrap64(joinU32(vol.sizeLow, vol.sizeHigh) * scale);
  p(`     Array Size : ${sectorsText(size, S)}${humanSize(wrap64(size * 512n))}`);
  const bpm = wrap64(hi(map.blocksPerMemberLo, map.blocksPerMemberHi) * scale);
  p(`   Per Dev Size : ${sectorsText(bpm, S)}${humanSize(wrap64(bpm * 512n))}`);
  const pba = wrap64(hi(map.pbaOfLba0Lo, map.pbaOfLba0Hi) * scale);
  p(`  Sector Offset : ${sectorsText(pba, S)}`);
  p(`    Num Stripes : ${hi(map.numDataStripesLo, map.numDataStripesHi)}`);
  const chunk = (m: ImsmMap) => `${Math.floor(((m.blocksPerStrip * (S / 512)) & 0xffff) / 2)} KiB`;
  p(`     Chunk Size : ${arrow(chunk(map), chunk)}`);
  p(`       Reserved : ${vol.reservedBlocks | 0}`);
  p(`  Migrate State : ${vol.migrState ? migrateStateText(migrationType(vol)) : "idle"}`);
  const mapState = (m: ImsmMap) => MAP_STATE_NAMES[m.mapState] ?? `${m.mapState}`;
  if (map2) {
    p(`      Map State : ${mapState(map)} <-- ${mapState(map2)}`);
    const unit = wrap64(joinU32(vol.currMigrUnitLo, vol.currMigrUnitHi) * scale);
    const blocks = isGeneralMigration(vol) && (slot > 1 || slot < 0)
      ? "(N/A)"
      : `(${blocksPerMigrationUnit(vol, recordForExamine(meta, thisIndex), S)})`;
    p(`     Checkpoint : ${unit} ${blocks}`);
  } else {
    p(`      Map State : ${mapState(map)}`);
  }
  p(`    Dirty State : ${(vol.dirty & DIRTY_FLAG.DIRTY) !== 0 ? "dirty" : "clean"}`);
  p(`     RWH Policy : ${rwhText(vol.rwhPolicy)}`);
  p(`      Volume ID : ${vol.myVolRaidDevNum}`);
}

/**
 * The ord entry mdadm consults for "This Slot": the second map's during a migration, even
 * when the slot exists only in the first map; mdadm then reads past that map's table, i.e.
 * the next bytes of its MPB buffer (next record, or the sector padding). Reproduced here.
 */
function ordForThisSlot(meta: ParsedMetadata, v: number, slot: number): number {
  const vol = meta.mpb.volumes[v];
  const map = vol.migrState ? vol.maps[1] : vol.maps[0];
  if (slot < map.ord.length) return map.ord[slot];
  let at = MPB_HEADER_SIZE + meta.mpb.disks.length * DISK_RECORD_SIZE;
  for (let i = 0; i < v; i++) at += volumeRecordSize(meta.mpb.volumes[i]);
  at += VOLUME_HEADER_SIZE;
  for (let m = 0; m < vol.maps.length - 1; m++) at += MAP_HEADER_SIZE + vol.maps[m].ord.length * 4;
  at += MAP_HEADER_SIZE + slot * 4;
  const image = new Uint8Array(meta.mpb.mpbSize + meta.mpbSectorPadding.length);
  image.set(serializeMpb(meta.mpb, { checksum: "keep" }));
  image.set(meta.mpbSectorPadding, meta.mpb.mpbSize);
  if (at + 4 > image.length) return 0;
  return new DataView(image.buffer).getUint32(at, true);
}

/** The record mdadm would have loaded for this disk (only slots 0/1 read it). */
function recordForExamine(meta: ParsedMetadata, thisIndex: number): MigrationRecord | null {
  const mig = meta.mpb.volumes.find((v) => v.migrState !== 0);
  if (!mig || thisIndex < 0) return null;
  const slot = slotOfDisk(mig.maps[0], thisIndex);
  if (slot < 0 || slot > 1) return null;
  return meta.migrationRecord ?? decodeStruct(MIGRATION_RECORD_LAYOUT, new Uint8Array(128), 0);
}

function migrationRecordLines(p: Put, meta: ParsedMetadata, thisIndex: number): void {
  const vol = meta.mpb.volumes.find(isGeneralMigration);
  if (!vol) return;
  p("");
  const slot = thisIndex >= 0 ? slotOfDisk(vol.maps[0], thisIndex) : -1;
  if (slot < 0 || slot > 1) {
    p("Migration Record Information: Empty");
    p("                              Examine one of first two disks in array");
    return;
  }
  const rec = meta.migrationRecord ?? decodeStruct(MIGRATION_RECORD_LAYOUT, new Uint8Array(128));
  p("Migration Record Information:");
  p(`                     Status : ${rec.recStatus === 0 ? "Normal" : "Contains Data"}`);
  p(`               Current Unit : ${recordCurrentUnit(rec)}`);
  p(`                     Family : ${rec.familyNum}`);
  p(`                  Ascending : ${rec.ascendingMigr}`);
  p(`            Blocks Per Unit : ${rec.blocksPerUnit}`);
  p(`       Dest. Depth Per Unit : ${rec.destDepthPerUnit}`);
  p(`        Checkpoint Area pba : ${recordCheckpointAreaPba(rec)}`);
  p(`           First member lba : ${recordDestFirstMemberLba(rec)}`);
  p(`      Total Number of Units : ${recordNumUnits(rec)}`);
  p(`             Size of volume : ${recordPostMigrationCapacity(rec)}`);
  p(`       Record was read from : ${rec.ckptReadDiskNum}`);
}

function migrateStateText(t: number): string {
  switch (t) {
    case MIGR_TYPE.INIT:
      return "initialize";
    case MIGR_TYPE.REBUILD:
      return "rebuild";
    case MIGR_TYPE.VERIFY:
      return "check";
    case MIGR_TYPE.GEN_MIGR:
      return "general migration";
    case MIGR_TYPE.STATE_CHANGE:
      return "state change";
    case MIGR_TYPE.REPAIR:
      return "repair";
    default:
      return `<unknown:${t}>`;
  }
}

function rwhText(policy: number): string {
  switch (policy) {
    case RWH_POLICY.OFF:
    case RWH_POLICY.MULTIPLE_OFF:
      return "off";
    case RWH_POLICY.DISTRIBUTED:
      return "PPL distributed";
    case RWH_POLICY.JOURNALING_DRIVE:
      return "PPL journaling drive";
    case RWH_POLICY.MULTIPLE_DISTRIBUTED:
      return "Multiple distributed PPLs";
    case RWH_POLICY.MULTIPLE_PPLS_JOURNALING_DRIVE:
      return "Multiple PPLs on journaling drive";
    case RWH_POLICY.BITMAP:
      return "Write-intent bitmap";
    default:
      return `<unknown:${policy}>`;
  }
}

/** A 512-byte-sector count printed in units of the disk's sector size (u64 like mdadm). */
function sectorsText(sectors512: bigint, S: number): string {
  return `${wrap64(sectors512 * 512n) / BigInt(S)}`;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

function pad2(n: number): string {
  return n.toString().padStart(2, "0");
}

const I64 = 1n << 63n;
const toI64 = (v: bigint) => (v >= I64 ? v - (1n << 64n) : v);
const wrapI64 = (v: bigint) => toI64(wrap64(v));
/** C `long` division (truncates toward zero, as BigInt does). */
function cents(bytes: bigint, unit: bigint): bigint {
  return (wrapI64(bytes * 200n) / unit + 1n) / 2n;
}

/**
 * mdadm's human_size(): "" below 5000 KiB, else " (x.yy MiB x.yy MB)" (GiB/GB from 2 GiB,
 * TiB/TB from 2 TiB), with its rounding; `bytes` is taken as a signed 64-bit value.
 */
export function humanSize(bytesU64: bigint): string {
  const bytes = toI64(bytesU64);
  const fmt = (c: bigint) => {
    const whole = c / 100n;
    const frac = c % 100n;
    return `${whole}.${(frac < 0n ? -frac : frac).toString().padStart(2, "0")}`;
  };
  if (bytes < 5000n * 1024n) return "";
  if (bytes < 2n * 1024n ** 3n) {
    const mib = cents(bytes, 1n << 20n);
    const mb = (bytes / 5000n + 1n) / 2n;
    return ` (${fmt(mib)} MiB ${fmt(mb)} MB)`;
  }
  if (bytes < 2n * 1024n ** 4n) {
    const gib = cents(bytes, 1n << 30n);
    const gb = (bytes / 5000000n + 1n) / 2n;
    return ` (${fmt(gib)} GiB ${fmt(gb)} GB)`;
  }
  const tib = cents(bytes, 1n << 40n);
  const tb = (bytes / 5000000000n + 1n) / 2n;
  return ` (${fmt(tib)} TiB ${fmt(tb)} TB)`;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** ctime(3) text without the newline, cut to 24 characters like mdadm's "%.24s". */
export function ctime(seconds: bigint, zone: "local" | "utc"): string {
  const ms = Number(seconds) * 1000;
  const d = new Date(ms);
  if (!Number.isFinite(ms) || Number.isNaN(d.getTime())) return "(null)";
  const utc = zone === "utc";
  const day = utc ? d.getUTCDay() : d.getDay();
  const mon = utc ? d.getUTCMonth() : d.getMonth();
  const date = utc ? d.getUTCDate() : d.getDate();
  const h = utc ? d.getUTCHours() : d.getHours();
  const m = utc ? d.getUTCMinutes() : d.getMinutes();
  const s = utc ? d.getUTCSeconds() : d.getSeconds();
  const y = utc ? d.getUTCFullYear() : d.getFullYear();
  const two = (n: number) => n.toString().padStart(2, "0");
  return `${DAYS[day]} ${MONTHS[mon]} ${date.toString().padStart(2, " ")} ${two(h)}:${two(m)}:${
    two(s)
  } ${y}`.slice(0, 24);
}
