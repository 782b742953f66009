/**
 * Turning an edited container into what goes to the disks (mdadm write_super_imsm and
 * write_super_imsm_spare): every write bumps the generation; members get the shared MPB,
 * free spares a fresh standalone spare record each (spec §11.1, §11.3).
 */
import type { ImsmDiskRecord, ImsmSuper } from "../model.ts";
import { ATTRIBUTE, DISK_STATUS } from "../constants.ts";
import { diskSerial, volumeInGeneralMigration } from "../accessors.ts";
import { computeMpbChecksum } from "../checksum.ts";
import { mpbByteLength, serializeMpb } from "../mpb.ts";
import { cloneContainer, EMPTY_CONTAINER_VERSION, type ImsmContainer } from "./container.ts";
import { blankSuper } from "./records.ts";
import { diskToDiskUnits, mpbToDiskUnits } from "./units.ts";

export interface DiskWrite {
  serial: string;
  /** The model written, in the disk's units (header counts and checksum filled in). */
  mpb: ImsmSuper;
  /** Exactly mpb_size bytes. */
  bytes: Uint8Array;
  /** What goes after `bytes` up to the end of the last MPB sector (placeMpb's padding). */
  padding: Uint8Array;
  /**
   * mdadm zeroes the migration-record sector of each member it writes while no general
   * migration is in progress; spares never carry one.
   */
  clearMigrationRecord: boolean;
  /** A migration-record sector to write after the MPB instead (the monitor's next record). */
  migrationRecord?: Uint8Array;
}

export interface PreparedWrite {
  /** The container after the write (generation bumped): keep using this one. */
  container: ImsmContainer;
  writes: DiskWrite[];
}

/** Fills the derived header fields and the checksum into the model, as a parse would show. */
function settle(mpb: ImsmSuper): Uint8Array {
  settleHeader(mpb);
  const bytes = serializeMpb(mpb);
  mpb.checkSum = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0x20, true);
  return bytes;
}

function settleHeader(mpb: ImsmSuper): void {
  mpb.attributes = mpb.bbmLog.length > 0
    ? (mpb.attributes | ATTRIBUTE.BBM) >>> 0
    : (mpb.attributes & ~ATTRIBUTE.BBM) >>> 0;
  mpb.mpbSize = mpbByteLength(mpb);
  mpb.numDisks = mpb.disks.length;
  mpb.numRaidDevs = mpb.volumes.length;
  mpb.bbmLogSize = mpb.bbmLog.length;
}

/**
 * The standalone record of a free spare: generation 1, one disk (itself, SPARE), no volumes,
 * family = checksum of the record taken with family 0 (so it differs per disk).
 */
export function spareRecord(disk: ImsmDiskRecord, cacheSize = 0, sectorSize = 512): ImsmSuper {
  const rec = blankSuper(EMPTY_CONTAINER_VERSION);
  rec.generationNum = 1;
  rec.attributes = ATTRIBUTE.CHECKSUM_VERIFY;
  if (disk.totalBlocksHi > 0) rec.attributes = (rec.attributes | ATTRIBUTE.TWO_TB_DISK) >>> 0;
  rec.pwrCycleCount = 1;
  rec.cacheSize = cacheSize;
  rec.disks = [{ ...diskToDiskUnits(disk, sectorSize), status: DISK_STATUS.SPARE }];
  settle(rec);
  rec.familyNum = computeMpbChecksum(serializeMpb(rec));
  settle(rec);
  return rec;
}

/** Whether any volume is in a general migration (then the migration record must be kept). */
function generalMigrationActive(mpb: ImsmSuper): boolean {
  return volumeInGeneralMigration(mpb) !== null;
}

/**
 * One metadata write: generation + 1, orig_family_num fixed up when 0, counts and checksum
 * recomputed. Failed members are not written (mdadm skips them).
 */
export function prepareWrite(c: ImsmContainer): PreparedWrite {
  const out = cloneContainer(c);
  const mpb = out.mpb;
  // a container without volumes has no shared MPB on disk, only spare records
  if (mpb.disks.length > 0) mpb.generationNum = (mpb.generationNum + 1) >>> 0;
  if (mpb.origFamilyNum === 0) mpb.origFamilyNum = mpb.familyNum;
  settleHeader(mpb);
  // 4K disks store sizes in 4K units; the checksum is that of the stored form
  const stored = mpbToDiskUnits(mpb, out.sectorSize);
  const bytes = settle(stored);
  mpb.checkSum = stored.checkSum;
  // mdadm overlays the new MPB on its buffer and writes whole sectors of it
  const sectors = Math.ceil(bytes.length / out.sectorSize);
  const buffer = new Uint8Array(Math.max(out.buffer.length, sectors * out.sectorSize));
  buffer.set(out.buffer);
  buffer.set(bytes);
  out.buffer = buffer;
  const padding = buffer.slice(bytes.length, sectors * out.sectorSize);
  const clear = !generalMigrationActive(mpb);
  const writes: DiskWrite[] = [];
  for (const d of mpb.disks) {
    if ((d.status & DISK_STATUS.FAILED) !== 0) continue;
    writes.push({
      serial: diskSerial(d),
      mpb: stored,
      bytes,
      padding,
      clearMigrationRecord: clear,
    });
  }
  for (const d of out.spares) {
    const rec = spareRecord(d, mpb.cacheSize, out.sectorSize);
    writes.push({
      serial: diskSerial(d),
      mpb: rec,
      bytes: serializeMpb(rec),
      padding: new Uint8Array(0),
      clearMigrationRecord: false,
    });
  }
  return { container: out, writes };
}
