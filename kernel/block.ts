/**
 * Real block I/O: sizes and sector sizes by ioctl, aligned O_DIRECT reads and writes, flush.
 * Regular files (disk images in tests) work too: an ENOTTY from the block ioctls falls back
 * to the file size and 512-byte sectors.
 */
import type { BlockReader, BlockWriter, WriteRequest } from "../core/ports.ts";
import { isErrno, KernelError } from "./errno.ts";
import {
  alignedBuffer,
  O_CLOEXEC,
  O_DIRECT,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  sysClose,
  sysFdatasync,
  sysIoctl,
  sysOpen,
  sysPread,
  sysPwrite,
} from "./libc.ts";

export const BLKGETSIZE64 = 0x80081272;
export const BLKSSZGET = 0x1268;
export const BLKPBSZGET = 0x127b;
export const BLKFLSBUF = 0x1261;

/** Runs `body` with `path` opened with `flags`, closing it afterwards. */
export function withFd<T>(path: string, flags: number, body: (fd: number) => T): T {
  const fd = sysOpen(path, flags | O_CLOEXEC);
  try {
    return body(fd);
  } finally {
    sysClose(fd, path);
  }
}

/** Size in bytes of an open device (BLKGETSIZE64) or regular file (fstat when ENOTTY). */
export function sizeOfFd(fd: number, path: string): bigint {
  const out = new Uint8Array(8);
  try {
    sysIoctl(fd, BLKGETSIZE64, out, "BLKGETSIZE64", path);
    return new DataView(out.buffer).getBigUint64(0, true);
  } catch (e) {
    if (!isErrno(e, "ENOTTY")) throw e;
    return BigInt(Deno.statSync(path).size);
  }
}

function intIoctlOr512(fd: number, request: number, name: string, path: string): number {
  const out = new Uint8Array(4);
  try {
    sysIoctl(fd, request, out, name, path);
    return new DataView(out.buffer).getInt32(0, true);
  } catch (e) {
    if (!isErrno(e, "ENOTTY")) throw e;
    return 512;
  }
}

/** Logical sector size (BLKSSZGET); 512 for a regular file. */
export function logicalSectorSizeOfFd(fd: number, path: string): number {
  return intIoctlOr512(fd, BLKSSZGET, "BLKSSZGET", path);
}

/** Physical sector size (BLKPBSZGET); 512 for a regular file. */
export function physicalSectorSizeOfFd(fd: number, path: string): number {
  return intIoctlOr512(fd, BLKPBSZGET, "BLKPBSZGET", path);
}

function checkAligned(device: string, offset: bigint, length: number, sector: number): void {
  if (offset % BigInt(sector) !== 0n || length % sector !== 0) {
    throw new Error(
      `${device}: I/O of ${length} bytes at offset ${offset} is not aligned to its ` +
        `${sector}-byte sectors; round the request to whole sectors`,
    );
  }
}

/** Reads exactly `length` bytes at `offset` of an open fd into an aligned buffer. */
export function preadExact(fd: number, path: string, offset: bigint, length: number): Uint8Array {
  const buf = alignedBuffer(length);
  let done = 0;
  while (done < length) {
    const n = sysPread(fd, buf.subarray(done), offset + BigInt(done), path);
    if (n === 0) {
      throw new Error(
        `${path}: short read, end of device after ${done} of ${length} bytes at offset ${offset}`,
      );
    }
    done += n;
  }
  return buf;
}

/** Writes all of `data` at `offset` of an open fd, through an aligned copy. */
export function pwriteExact(fd: number, path: string, offset: bigint, data: Uint8Array): void {
  const buf = alignedBuffer(data.length);
  buf.set(data);
  let done = 0;
  while (done < buf.length) {
    const n = sysPwrite(fd, buf.subarray(done), offset + BigInt(done), path);
    if (n === 0) throw new KernelError(28, `writing at offset ${offset} of`, path);
    done += n;
  }
}

/** BlockReader over real devices (or image files), opened O_DIRECT for every call. */
export class LinuxBlockReader implements BlockReader {
  // async so that failures arrive as rejections, like every other BlockReader
  // deno-lint-ignore require-await
  async size(device: string): Promise<bigint> {
    return withFd(device, O_RDONLY, (fd) => sizeOfFd(fd, device));
  }

  // deno-lint-ignore require-await
  async logicalSectorSize(device: string): Promise<number> {
    return withFd(device, O_RDONLY, (fd) => logicalSectorSizeOfFd(fd, device));
  }

  // deno-lint-ignore require-await
  async read(device: string, offset: bigint, length: number): Promise<Uint8Array> {
    return withFd(device, O_RDONLY | O_DIRECT, (fd) => {
      checkAligned(device, offset, length, logicalSectorSizeOfFd(fd, device));
      return preadExact(fd, device, offset, length);
    });
  }
}

export interface RawWriterOptions {
  /** Open O_EXCL: for disks that must not be in use (create); fails with EBUSY on md members. */
  exclusive?: boolean;
}

/**
 * The raw writer under the write seam: O_DIRECT pwrite, fdatasync on flush. Use it only
 * through kernel/writes.ts so that logging, dry-run and fault injection apply.
 */
export class LinuxRawBlockWriter implements BlockWriter {
  #flags: number;

  constructor(options: RawWriterOptions = {}) {
    this.#flags = O_RDWR | O_DIRECT | (options.exclusive ? O_EXCL : 0);
  }

  // deno-lint-ignore require-await
  async write(req: WriteRequest): Promise<void> {
    withFd(req.device, this.#flags, (fd) => {
      checkAligned(req.device, req.offset, req.data.length, logicalSectorSizeOfFd(fd, req.device));
      pwriteExact(fd, req.device, req.offset, req.data);
    });
  }

  // deno-lint-ignore require-await
  async flush(device: string): Promise<void> {
    withFd(device, O_RDWR, (fd) => sysFdatasync(fd, device));
  }
}

/** BLKFLSBUF: drops the page cache of a block device (before reading metadata). */
export function flushBufferCache(device: string): void {
  withFd(device, O_RDONLY, (fd) => sysIoctl(fd, BLKFLSBUF, null, "BLKFLSBUF", device));
}
