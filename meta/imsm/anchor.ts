/**
 * Where the metadata sits on a member (spec §1, §9, §15). The MPB's first sector (the
 * anchor) is the second-to-last sector of the disk; the rest of the MPB is stored in the
 * sectors just before the anchor; the migration record is the last sector.
 */
import { mpbSectors } from "./accessors.ts";

/** Byte offset of the anchor (first MPB sector). */
export function anchorOffset(diskSize: bigint, sectorSize: number): bigint {
  return diskSize - 2n * BigInt(sectorSize);
}

/** Byte offset of the migration record sector (the last sector). */
export function migrationRecordOffset(diskSize: bigint, sectorSize: number): bigint {
  return diskSize - BigInt(sectorSize);
}

/** Number of sectors stored before the anchor for an MPB of `mpbSize` bytes. */
export function extensionSectors(mpbSize: number, sectorSize: number): number {
  return Math.max(mpbSectors(mpbSize, sectorSize) - 1, 0);
}

/** Byte offset of the first extension sector (equals the anchor offset when there is none). */
export function extensionOffset(diskSize: bigint, sectorSize: number, mpbSize: number): bigint {
  return anchorOffset(diskSize, sectorSize) -
    BigInt(extensionSectors(mpbSize, sectorSize) * sectorSize);
}

/** Bytes from the start of the MPB extension to the end of the disk. */
export function metadataTailLength(mpbSize: number, sectorSize: number): number {
  return (extensionSectors(mpbSize, sectorSize) + 2) * sectorSize;
}

export interface MpbPlacement {
  offset: bigint;
  data: Uint8Array;
  /** "mpb": the extension sectors and the anchor after them, in one piece. */
  part: "mpb" | "anchor";
}

/**
 * The sector-padded bytes to write for a serialised MPB: one piece from the first extension
 * sector through the anchor, which follows them on the disk. mdadm 4.2 writes the two parts
 * separately, and a cut between them leaves a new extension behind the old anchor, whose
 * checksum then fails on that disk (seen on the real kernel: mdadm refused to assemble the
 * container). One request of adjacent sectors is not split by a cut of the VM, and on a
 * 4K-sector disk the last sectors share one physical sector. The rest of the last sector after
 * `mpb.length` is `padding` (cut or zero-filled to fit), zero when not given.
 */
export function placeMpb(
  mpb: Uint8Array,
  diskSize: bigint,
  sectorSize: number,
  padding?: Uint8Array,
): MpbPlacement[] {
  const sectors = mpbSectors(mpb.length, sectorSize);
  const padded = new Uint8Array(sectors * sectorSize);
  padded.set(mpb);
  if (padding) padded.set(padding.subarray(0, padded.length - mpb.length), mpb.length);
  if (sectors === 1) {
    return [{ offset: anchorOffset(diskSize, sectorSize), data: padded, part: "anchor" }];
  }
  // disk order: extension sectors (MPB sectors 1..n-1), then the anchor (MPB sector 0)
  const data = new Uint8Array(padded.length);
  data.set(padded.subarray(sectorSize));
  data.set(padded.subarray(0, sectorSize), padded.length - sectorSize);
  return [{ offset: extensionOffset(diskSize, sectorSize, mpb.length), data, part: "mpb" }];
}

/**
 * Reassembles the MPB image from a device tail (the last `tail.length` bytes of the disk):
 * anchor sector first, then the extension sectors that precede it. Returns `mpbSectors`
 * whole sectors; the caller checks the tail was long enough (see metadataTailLength).
 */
export function reassembleMpb(tail: Uint8Array, sectorSize: number, mpbSize: number): Uint8Array {
  const sectors = mpbSectors(mpbSize, sectorSize);
  const anchorStart = tail.length - 2 * sectorSize;
  const out = new Uint8Array(sectors * sectorSize);
  out.set(tail.subarray(anchorStart, anchorStart + sectorSize));
  if (sectors > 1) {
    const extStart = anchorStart - (sectors - 1) * sectorSize;
    out.set(tail.subarray(extStart, anchorStart), sectorSize);
  }
  return out;
}
