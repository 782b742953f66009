/**
 * The small interfaces core/ uses to reach the outside. kernel/ implements them for real
 * (and kernel/fake/ in memory); meta/ never sees them.
 */

/** Read access to a block device (or an image file standing in for one). */
export interface BlockReader {
  /** Size in bytes. */
  size(device: string): Promise<bigint>;
  /** Logical sector size in bytes (512 or 4096). */
  logicalSectorSize(device: string): Promise<number>;
  /** Reads exactly `length` bytes at byte `offset`; both multiples of the logical sector size. */
  read(device: string, offset: bigint, length: number): Promise<Uint8Array>;
}

/** Why a write happens: shown in logs and dry-run output, and matched by fault injection. */
export type WritePurpose =
  | "metadata" // MPB / anchor
  | "migration-record" // the IMSM migration record sector
  | "copy-area" // critical-section backup
  | "restore" // critical section written back into the array
  | "zero-superblock"
  | "data" // test and tool data
  | "other";

export interface WriteRequest {
  device: string;
  /** Byte offset; multiple of the logical sector size. */
  offset: bigint;
  data: Uint8Array;
  purpose: WritePurpose;
  /** Short human text, e.g. "anchor of /dev/vdb, generation 0x2a". */
  what: string;
  /** Reshape writes (migration record, copy area): the volume and the unit they belong to,
   * so a fault rule can pick a point of the reshape (MDTS_FAULT volume=, unit=). */
  reshapeAt?: { volume: string; unit: number };
}

/** THE seam: every disk write of mdts goes through an implementation of this. */
export interface BlockWriter {
  write(req: WriteRequest): Promise<void>;
  /** Makes previous writes to `device` durable (fdatasync / flush). */
  flush(device: string): Promise<void>;
}
