/**
 * `--examine --json` (mdts's own format): every field of the metadata with stable
 * snake_case names, raw on-disk values plus the interpreted ones mdadm prints. 64-bit values
 * are numbers when exactly representable, else decimal strings; byte fields are hex strings
 * with the text form alongside where they hold text.
 */
import type { ExaminedDevice } from "../../core/examine.ts";
import {
  cString,
  isGeneralMigration,
  magicText,
  raidLevel,
  slotOfDisk,
  versionText,
} from "../../meta/imsm/accessors.ts";
import { ORD_INDEX_MASK, ORD_REBUILD } from "../../meta/imsm/constants.ts";
import type { ImsmMap, MigrationRecord } from "../../meta/imsm/model.ts";
import { containerUuid, volumeUuid } from "../../meta/imsm/uuid.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function value(v: unknown): Json {
  if (typeof v === "bigint") return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return hex(v);
  if (typeof v === "number" || typeof v === "string" || typeof v === "boolean" || v === null) {
    return v;
  }
  return String(v);
}

/** Plain fields of a record (arrays and nested objects skipped), snake_cased. */
function fields(rec: object, skip: string[] = []): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(rec)) {
    if (skip.includes(k) || Array.isArray(v)) continue;
    out[snake(k)] = value(v);
  }
  return out;
}

function mapJson(m: ImsmMap): Json {
  return {
    ...fields(m),
    level: raidLevel(m),
    ord: m.ord.map((o) => ({
      raw: o,
      disk_index: o & ORD_INDEX_MASK,
      rebuild: (o & ORD_REBUILD) !== 0,
    })),
  };
}

function recordJson(r: MigrationRecord | null): Json {
  return r ? fields(r) : null;
}

/** JSON object for one examined device. */
export function examineJson(e: ExaminedDevice): Json {
  const m = e.metadata;
  if (!m) {
    return { device: e.device, error: e.error ? e.error.message : "no IMSM metadata" };
  }
  const mpb = m.mpb;
  const thisIndex = e.thisDisk?.index ?? -2;
  return {
    device: e.device,
    serial: e.serial,
    disk_size: value(m.diskSize),
    sector_size: m.sectorSize,
    this_disk_index: thisIndex,
    magic: magicText(mpb),
    version: versionText(mpb),
    uuid: containerUuid(mpb),
    checksum_valid: m.checksumValid,
    computed_checksum: m.computedChecksum,
    header: fields(mpb, ["disks", "volumes", "unparsedTail", "bbmLog"]),
    disks: mpb.disks.map((d, i) => ({
      index: i,
      serial_text: cString(d.serial),
      ...fields(d),
    })),
    volumes: mpb.volumes.map((v, i) => ({
      index: i,
      name: cString(v.volume),
      uuid: volumeUuid(mpb, i),
      this_slot: thisIndex >= 0 ? slotOfDisk(v.maps[0], thisIndex) : -1,
      general_migration: isGeneralMigration(v),
      ...fields(v),
      maps: v.maps.map(mapJson),
    })),
    unparsed_tail: hex(mpb.unparsedTail),
    bbm_log: hex(mpb.bbmLog),
    migration_record: recordJson(m.migrationRecord),
  };
}

/** `--examine --json` text for several devices (a JSON array, 2-space indented). */
export function renderExamineJson(devices: ExaminedDevice[]): string {
  return JSON.stringify(devices.map(examineJson), null, 2) + "\n";
}
