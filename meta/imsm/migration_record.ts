/** Migration record (spec §7): 128 bytes at the start of a member's last sector. */
import { joinU32 } from "./accessors.ts";
import { decodeStruct, encodeStruct } from "./codec.ts";
import { MIGRATION_RECORD_SIZE } from "./constants.ts";
import { ImsmFormatError } from "./errors.ts";
import { MIGRATION_RECORD_LAYOUT } from "./layout.ts";
import type { MigrationRecord } from "./model.ts";

/** Decodes the record at the start of `sector`; null when its 128 bytes are all zero. */
export function parseMigrationRecord(sector: Uint8Array, device: string): MigrationRecord | null {
  if (sector.length < MIGRATION_RECORD_SIZE) {
    throw new ImsmFormatError({
      code: "too-small",
      device,
      structure: "migr_record",
      field: "sector",
      value: sector.length,
      problem: `needs ${MIGRATION_RECORD_SIZE} bytes`,
      hint: "read the whole last sector of the device",
    });
  }
  if (sector.subarray(0, MIGRATION_RECORD_SIZE).every((b) => b === 0)) return null;
  return decodeStruct(MIGRATION_RECORD_LAYOUT, sector, 0);
}

/** The 128 record bytes (all zero for null, which is how mdadm clears a record). */
export function serializeMigrationRecord(rec: MigrationRecord | null): Uint8Array {
  const out = new Uint8Array(MIGRATION_RECORD_SIZE);
  if (rec) encodeStruct(MIGRATION_RECORD_LAYOUT, rec, out, 0);
  return out;
}

/** A whole sector holding the record, zero after its 128 bytes (as mdadm writes it). */
export function serializeMigrationSector(
  rec: MigrationRecord | null,
  sectorSize: number,
): Uint8Array {
  const out = new Uint8Array(sectorSize);
  out.set(serializeMigrationRecord(rec));
  return out;
}

export function recordCurrentUnit(rec: MigrationRecord): bigint {
  return joinU32(rec.currMigrUnitLo, rec.currMigrUnitHi);
}
export function recordCheckpointAreaPba(rec: MigrationRecord): bigint {
  return joinU32(rec.ckptAreaPbaLo, rec.ckptAreaPbaHi);
}
export function recordDestFirstMemberLba(rec: MigrationRecord): bigint {
  return joinU32(rec.dest1stMemberLbaLo, rec.dest1stMemberLbaHi);
}
export function recordNumUnits(rec: MigrationRecord): bigint {
  return joinU32(rec.numMigrUnitsLo, rec.numMigrUnitsHi);
}
export function recordPostMigrationCapacity(rec: MigrationRecord): bigint {
  return joinU32(rec.postMigrVolCapLo, rec.postMigrVolCapHi);
}
