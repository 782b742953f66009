/**
 * The Kernel port core/ uses: block I/O, md sysfs, /proc/mdstat, device discovery.
 * Two implementations: kernel/real.ts (Linux) and kernel/fake/fake_kernel.ts (in memory).
 * Disk writes go through `writer`, which is always a WriteSeam (dry-run, log, faults).
 */
import type { BlockReader } from "../core/ports.ts";
import type { BlockDeviceInfo } from "./devices.ts";
import type { Mdstat } from "./md/mdstat.ts";
import type { AttributeWatcher, MdAttributeStore } from "./md/store.ts";
import type { MdArray } from "./md/sysfs.ts";
import type { WriteSeam } from "./writes.ts";

export interface Kernel {
  /** Reads of member disks (O_DIRECT on Linux). */
  readonly blocks: BlockReader;
  /** THE write seam; every disk write of mdts goes through it. */
  readonly writer: WriteSeam;
  /** String-level md sysfs. */
  readonly md: MdAttributeStore;

  /** Typed view of one md device's attributes. */
  array(devnm: string): MdArray;
  /** Text of /proc/mdstat. */
  mdstatText(): Promise<string>;
  /** Parsed /proc/mdstat. */
  mdstat(): Promise<Mdstat>;
  /** Waits on /proc/mdstat for "any md event" (watch key "mdstat"). */
  watchMdstat(): Promise<AttributeWatcher>;

  /** Block devices known to the kernel (disks, partitions, md devices). */
  devices(): Promise<BlockDeviceInfo[]>;
  device(name: string): Promise<BlockDeviceInfo | null>;
  /** /dev path of a kernel name ("md127" -> "/dev/md127"). */
  devPath(name: string): string;

  /**
   * Creates md device `devnm` (or the first free automatic name) with its /dev node and
   * returns it, still `clear`.
   */
  createArray(devnm?: string): Promise<MdArray>;
  /**
   * Stops an array (STOP_ARRAY on Linux); fails with EBUSY while it is in use, after retrying
   * for `busyRetryMs` (default 5 s) in case the user was only udev.
   */
  stopArray(devnm: string, opts?: { busyRetryMs?: number }): Promise<void>;
}
