/**
 * Puts a prepared IMSM container on its disks and reads one back. The byte layout is meta/'s;
 * this file decides only which device gets which bytes, in which order, through the write seam.
 */
import type { BlockReader, BlockWriter } from "../ports.ts";
import type { ImsmContainer } from "../../meta/imsm/edit/container.ts";
import type { PreparedWrite } from "../../meta/imsm/edit/write.ts";
import { containerFromDisks } from "../../meta/imsm/edit/container.ts";
import { migrationRecordOffset, placeMpb } from "../../meta/imsm/anchor.ts";
import { readMetadata } from "../examine.ts";

/** Where a member of the container lives now. */
export interface MemberDisk {
  /** The serial IMSM records for it. */
  serial: string;
  /** Path to write to (/dev/vdb, or an image file in tests). */
  device: string;
  /** Whole size in bytes. */
  size: bigint;
  /** Logical sector size in bytes. */
  sectorSize: number;
}

/**
 * Writes every disk's metadata: on each disk the MPB (extension and anchor in one request, so
 * a cut cannot pair a new extension with an old anchor), then the migration record where
 * meta/ asks for it (cleared, or the sector the write carries), then a flush. Disks are done one after another so
 * that a cut leaves at most one disk between generations, and mdadm's highest-generation rule
 * picks a consistent copy.
 */
export async function storeContainer(
  writer: BlockWriter,
  disks: MemberDisk[],
  prepared: PreparedWrite,
): Promise<void> {
  const bySerial = new Map(disks.map((d) => [d.serial, d]));
  const generation = prepared.container.mpb.generationNum;
  for (const w of prepared.writes) {
    const disk = bySerial.get(w.serial);
    if (!disk) {
      throw new Error(
        `no device found for IMSM disk serial "${w.serial}" (generation ${generation}): ` +
          `attach the disk or remove it from the container first`,
      );
    }
    for (const piece of placeMpb(w.bytes, disk.size, disk.sectorSize, w.padding)) {
      await writer.write({
        device: disk.device,
        offset: piece.offset,
        data: piece.data,
        purpose: "metadata",
        what: `IMSM ${piece.part} of ${disk.device}, generation ${generation}`,
      });
    }
    if (w.migrationRecord) {
      await writer.write({
        device: disk.device,
        offset: migrationRecordOffset(disk.size, disk.sectorSize),
        data: w.migrationRecord,
        purpose: "migration-record",
        what: `migration record of ${disk.device} with generation ${generation}`,
      });
    } else if (w.clearMigrationRecord) {
      await writer.write({
        device: disk.device,
        offset: migrationRecordOffset(disk.size, disk.sectorSize),
        data: new Uint8Array(disk.sectorSize),
        purpose: "migration-record",
        what: `cleared migration record of ${disk.device}`,
      });
    }
    await writer.flush(disk.device);
  }
}

/** Reads the metadata of every given disk and merges it into one container (newest generation). */
export async function loadContainer(
  reader: BlockReader,
  devices: string[],
): Promise<ImsmContainer> {
  const parsed = [];
  for (const device of devices) parsed.push(await readMetadata(reader, device));
  return containerFromDisks(parsed);
}
