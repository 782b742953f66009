/**
 * `--examine`: reads the IMSM metadata at the end of each device through a BlockReader
 * (anchor first, then the rest of the MPB, then the migration record) and resolves which
 * table entry is the examined disk. Rendering is cli/render/examine_*.ts.
 */
import type { BlockReader } from "./ports.ts";
import { metadataTailLength } from "../meta/imsm/anchor.ts";
import { findThisDisk, type ThisDisk } from "../meta/imsm/examine_rules.ts";
import { ImsmFormatError } from "../meta/imsm/errors.ts";
import { parseMetadata } from "../meta/imsm/metadata.ts";
import type { ParsedMetadata } from "../meta/imsm/model.ts";
import { readAnchorMpbSize } from "../meta/imsm/mpb.ts";
import { paddedBytes } from "../meta/imsm/accessors.ts";

export interface ExaminedDevice {
  device: string;
  /** Null when the device carries no readable IMSM metadata (see `error`). */
  metadata: ParsedMetadata | null;
  /** Why `metadata` is null: a format problem, or the I/O error from the reader. */
  error: ImsmFormatError | Error | null;
  /** Serial used to find this disk in the table (null if unknown). */
  serial: string | null;
  /** The examined disk: index >= 0 member, -1 spare/journal, -2 failed or not listed. */
  thisDisk: ThisDisk | null;
}

export interface ExamineOptions {
  /**
   * The disk's IMSM serial (as stored: 16 bytes max). Default: mdadm's
   * IMSM_DEVNAME_AS_SERIAL rule, "/dev/<name>" cut to 15 characters.
   */
  serialOf?: (device: string) => Promise<string | null> | string | null;
  /** Keep going past a checksum mismatch (the result records it). */
  allowBadChecksum?: boolean;
}

/** Serial mdadm uses when IMSM_DEVNAME_AS_SERIAL is set: "/dev/" + kernel name, 15 chars. */
export function devnameSerial(device: string): string {
  const name = device.slice(device.lastIndexOf("/") + 1);
  return `/dev/${name}`.slice(0, 15);
}

export async function examineDevices(
  reader: BlockReader,
  devices: string[],
  opts: ExamineOptions = {},
): Promise<ExaminedDevice[]> {
  const out: ExaminedDevice[] = [];
  for (const device of devices) out.push(await examineOne(reader, device, opts));
  return out;
}

async function examineOne(
  reader: BlockReader,
  device: string,
  opts: ExamineOptions,
): Promise<ExaminedDevice> {
  const serial = opts.serialOf ? await opts.serialOf(device) : devnameSerial(device);
  try {
    const metadata = await readMetadata(reader, device, opts.allowBadChecksum ?? false);
    const thisDisk = findThisDisk(metadata.mpb, paddedBytes(serial ?? "", 16));
    return { device, metadata, error: null, serial, thisDisk };
  } catch (e) {
    if (e instanceof Error) return { device, metadata: null, error: e, serial, thisDisk: null };
    throw e;
  }
}

/** Reads and parses the metadata tail of one device. */
export async function readMetadata(
  reader: BlockReader,
  device: string,
  allowBadChecksum = false,
): Promise<ParsedMetadata> {
  const diskSize = await reader.size(device);
  const sectorSize = await reader.logicalSectorSize(device);
  const two = BigInt(2 * sectorSize);
  if (diskSize < two) {
    throw new ImsmFormatError({
      code: "too-small",
      device,
      structure: "device",
      field: "size",
      value: diskSize,
      problem: `a member needs at least ${two} bytes`,
      hint: "this device is too small to carry IMSM metadata",
    });
  }
  // Anchor + migration record first: the anchor says how long the MPB is.
  let tail = await reader.read(device, diskSize - two, 2 * sectorSize);
  const mpbSize = readAnchorMpbSize(tail.subarray(0, sectorSize), device);
  const needed = metadataTailLength(mpbSize, sectorSize);
  if (needed > tail.length && BigInt(needed) <= diskSize) {
    const ext = await reader.read(device, diskSize - BigInt(needed), needed - tail.length);
    const joined = new Uint8Array(needed);
    joined.set(ext);
    joined.set(tail, ext.length);
    tail = joined;
  }
  return parseMetadata(tail, { diskSize, sectorSize, device, allowBadChecksum });
}
