/** Top level: the tail of a member device -> MPB + migration record. */
import { metadataTailLength, reassembleMpb } from "./anchor.ts";
import { ImsmFormatError } from "./errors.ts";
import { parseMigrationRecord } from "./migration_record.ts";
import type { ParsedMetadata } from "./model.ts";
import { parseMpb, readAnchorMpbSize } from "./mpb.ts";

export interface ParseMetadataOptions {
  /** Size of the whole device in bytes. */
  diskSize: bigint;
  /** Logical sector size (512 or 4096). */
  sectorSize: number;
  /** Device name for error messages. */
  device: string;
  allowBadChecksum?: boolean;
}

/**
 * Parses the metadata from `tail`, the LAST `tail.length` bytes of the device (a whole number
 * of sectors, at least the anchor and the migration-record sector; more when the MPB is
 * longer than one sector: see metadataTailLength).
 */
export function parseMetadata(tail: Uint8Array, opts: ParseMetadataOptions): ParsedMetadata {
  const { sectorSize, device, diskSize } = opts;
  if (sectorSize !== 512 && sectorSize !== 4096) {
    throw new ImsmFormatError({
      code: "out-of-range",
      device,
      structure: "device",
      field: "sectorSize",
      value: sectorSize,
      problem: "logical sector size must be 512 or 4096",
      hint: "IMSM supports only 512-byte and 4096-byte sector disks",
    });
  }
  const minimum = 2 * sectorSize;
  if (tail.length < minimum || diskSize < BigInt(minimum) || tail.length % sectorSize !== 0) {
    throw new ImsmFormatError({
      code: "too-small",
      device,
      structure: "device",
      field: "tail",
      value: tail.length,
      problem: `need a whole number of sectors, at least ${minimum} bytes, from a device of ` +
        `at least ${minimum} bytes (device has ${diskSize})`,
      hint: "the device is too small to carry IMSM metadata",
    });
  }
  const anchorStart = tail.length - 2 * sectorSize;
  const mpbSize = readAnchorMpbSize(tail.subarray(anchorStart, anchorStart + sectorSize), device);
  const needed = metadataTailLength(mpbSize, sectorSize);
  if (tail.length < needed || diskSize < BigInt(needed)) {
    throw new ImsmFormatError({
      code: "too-small",
      device,
      structure: "imsm_super",
      field: "mpbSize",
      value: mpbSize,
      problem: `the MPB needs the last ${needed} bytes of the device, have ${
        Math.min(tail.length, Number(diskSize))
      }`,
      hint: "read more of the device tail, or the MPB size is corrupt",
    });
  }
  const image = reassembleMpb(tail, sectorSize, mpbSize);
  const parsed = parseMpb(image, { device, allowBadChecksum: opts.allowBadChecksum });
  const migrationSector = tail.slice(tail.length - sectorSize);
  return {
    device,
    diskSize,
    sectorSize,
    mpb: parsed.mpb,
    mpbSectorPadding: image.slice(mpbSize),
    migrationRecord: parseMigrationRecord(migrationSector, device),
    migrationSector,
    checksumValid: parsed.checksumValid,
    computedChecksum: parsed.computedChecksum,
  };
}
