/** The Linux implementation of the Kernel port. */
import type { BlockReader } from "../core/ports.ts";
import { LinuxBlockReader, LinuxRawBlockWriter } from "./block.ts";
import { type BlockDeviceInfo, listBlockDevices, readBlockDevice } from "./devices.ts";
import type { Kernel } from "./interface.ts";
import { createMdDevice, ensureDevNode, pickFreeDevnm } from "./md/create.ts";
import { stopArray } from "./md/ioctl.ts";
import { retryWhileBusy } from "./md/busy.ts";
import { type Mdstat, parseMdstat } from "./md/mdstat.ts";
import type { AttributeWatcher } from "./md/store.ts";
import { MdArray } from "./md/sysfs.ts";
import { SysfsMdStore } from "./md/sysfs_store.ts";
import { PollWatcher } from "./md/wait.ts";
import { WriteSeam, writeSeamFromEnv } from "./writes.ts";

export interface LinuxKernelOptions {
  sysRoot?: string;
  devDir?: string;
  procMdstat?: string;
  /** Defaults to the seam configured from the environment, not dry-run. */
  writer?: WriteSeam;
  dryRun?: boolean;
}

export class LinuxKernel implements Kernel {
  readonly blocks: BlockReader = new LinuxBlockReader();
  readonly writer: WriteSeam;
  readonly md: SysfsMdStore;
  #sysRoot: string;
  #devDir: string;
  #procMdstat: string;

  constructor(o: LinuxKernelOptions = {}) {
    this.#sysRoot = o.sysRoot ?? "/sys";
    this.#devDir = o.devDir ?? "/dev";
    this.#procMdstat = o.procMdstat ?? "/proc/mdstat";
    this.md = new SysfsMdStore(this.#sysRoot);
    this.writer = o.writer ?? writeSeamFromEnv(new LinuxRawBlockWriter(), o.dryRun ?? false);
  }

  array(devnm: string): MdArray {
    return new MdArray(this.md, devnm);
  }

  mdstatText(): Promise<string> {
    return Deno.readTextFile(this.#procMdstat);
  }

  async mdstat(): Promise<Mdstat> {
    return parseMdstat(await this.mdstatText());
  }

  watchMdstat(): Promise<AttributeWatcher> {
    return Promise.resolve(new PollWatcher(new Map([["mdstat", this.#procMdstat]])));
  }

  devices(): Promise<BlockDeviceInfo[]> {
    return listBlockDevices(this.#sysRoot, this.#devDir);
  }

  device(name: string): Promise<BlockDeviceInfo | null> {
    return readBlockDevice(name, this.#sysRoot, this.#devDir);
  }

  devPath(name: string): string {
    return `${this.#devDir}/${name}`;
  }

  async createArray(devnm?: string): Promise<MdArray> {
    const name = devnm ?? await pickFreeDevnm(this.md);
    const array = await createMdDevice(this.md, name);
    const majMin = await this.md.blockDevNumber(name);
    if (majMin === null) throw new Error(`${name} was created but has no ${this.#sysRoot} entry`);
    await ensureDevNode(name, majMin, this.#devDir);
    return array;
  }

  /**
   * STOP_ARRAY, retried while EBUSY for up to `busyRetryMs`: udev's probes (blkid) open a new
   * or changed md device for a moment, and a stop right then fails although nobody uses it.
   */
  async stopArray(devnm: string, opts: { busyRetryMs?: number } = {}): Promise<void> {
    await retryWhileBusy(() => stopArray(this.devPath(devnm)), opts.busyRetryMs ?? 5000);
  }
}
