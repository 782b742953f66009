/**
 * FakeKernel: the Kernel port in memory, for fast unit tests of core/. Disks are byte arrays
 * (FakeDisks), md is the FakeMdStore state machine, /proc/mdstat is rendered from it.
 */
import type { BlockDeviceInfo } from "../devices.ts";
import type { Kernel } from "../interface.ts";
import { retryWhileBusy } from "../md/busy.ts";
import { createMdDevice, pickFreeDevnm } from "../md/create.ts";
import { type Mdstat, parseMdstat } from "../md/mdstat.ts";
import type { AttributeWatcher, WatchResult } from "../md/store.ts";
import { MdArray } from "../md/sysfs.ts";
import { WriteSeam } from "../writes.ts";
import { FakeDisks } from "./fake_disks.ts";
import { FakeMdStore } from "./fake_md.ts";

export interface FakeDiskSpec {
  /** Kernel name, e.g. "vda" (path /dev/vda). */
  name: string;
  sizeBytes: number;
  sectorSize?: number;
  /** Hardware serial; null/absent like virtio. */
  serial?: string | null;
  /** Default 254:(16 * index). */
  majMin?: string;
}

export class FakeKernel implements Kernel {
  readonly disks = new FakeDisks();
  readonly md = new FakeMdStore();
  readonly blocks = this.disks;
  readonly writer: WriteSeam;
  #specs = new Map<string, FakeDiskSpec & { majMin: string }>();

  constructor(disks: FakeDiskSpec[] = [], writer?: WriteSeam) {
    this.writer = writer ?? new WriteSeam({ mode: "real", target: this.disks });
    disks.forEach((d) => this.addDisk(d));
  }

  addDisk(spec: FakeDiskSpec): void {
    const majMin = spec.majMin ?? `254:${16 * this.#specs.size}`;
    this.#specs.set(spec.name, { ...spec, majMin });
    this.disks.add(this.devPath(spec.name), spec.sizeBytes, spec.sectorSize ?? 512);
    this.md.addBlockDevice(spec.name, majMin);
  }

  array(devnm: string): MdArray {
    return new MdArray(this.md, devnm);
  }

  mdstatText(): Promise<string> {
    return Promise.resolve(this.md.mdstat());
  }

  async mdstat(): Promise<Mdstat> {
    return parseMdstat(await this.mdstatText());
  }

  watchMdstat(): Promise<AttributeWatcher> {
    return Promise.resolve(new MdstatWatcher(this.md));
  }

  async devices(): Promise<BlockDeviceInfo[]> {
    const out: BlockDeviceInfo[] = [];
    for (const name of this.#specs.keys()) out.push((await this.device(name))!);
    return out;
  }

  async device(name: string): Promise<BlockDeviceInfo | null> {
    const s = this.#specs.get(name);
    if (!s) return null;
    const [major, minor] = s.majMin.split(":").map(Number);
    const holders: string[] = [];
    for (const devnm of await this.md.arrays()) {
      if ((await this.md.memberNames(devnm)).includes(name)) holders.push(devnm);
    }
    return {
      name,
      path: this.devPath(name),
      major,
      minor,
      sizeBytes: BigInt(s.sizeBytes),
      logicalSectorSize: s.sectorSize ?? 512,
      physicalSectorSize: s.sectorSize ?? 512,
      readOnly: false,
      removable: false,
      parent: null,
      partitions: [],
      holders,
      hardwareSerial: s.serial ?? null,
    };
  }

  devPath(name: string): string {
    return `/dev/${name}`;
  }

  async createArray(devnm?: string): Promise<MdArray> {
    return createMdDevice(this.md, devnm ?? await pickFreeDevnm(this.md));
  }

  async stopArray(devnm: string, opts: { busyRetryMs?: number } = {}): Promise<void> {
    await retryWhileBusy(
      () => this.md.write(devnm, "array_state", "clear"),
      opts.busyRetryMs ?? 5000,
      10,
    );
  }
}

/** Watches the rendered /proc/mdstat text of the fake. */
class MdstatWatcher implements AttributeWatcher {
  #last: string;

  constructor(readonly md: FakeMdStore) {
    this.#last = md.mdstat();
  }

  wait(timeoutMs: number): Promise<WatchResult> {
    const result = (timedOut: boolean): WatchResult => {
      const now = this.md.mdstat();
      const changed = now !== this.#last ? ["mdstat"] : [];
      this.#last = now;
      return { timedOut, changed, values: new Map([["mdstat", now]]) };
    };
    if (this.md.mdstat() !== this.#last) return Promise.resolve(result(false));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        unlisten();
        resolve(result(true));
      }, Math.max(0, timeoutMs));
      const unlisten = this.md.listen(() => {
        clearTimeout(timer);
        unlisten();
        resolve(result(false));
      });
    });
  }

  close(): void {}
}
