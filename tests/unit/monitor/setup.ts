/**
 * A container with one redundant volume on the FakeKernel, built the way mdadm leaves it:
 * IMSM metadata on the disks (meta/ editor + store), the container md127 holding the disks,
 * the volume md126 assembled from the metadata and started read-only.
 */
import { FakeKernel } from "../../../kernel/fake/fake_kernel.ts";
import {
  addSpare,
  addVolume,
  type ImsmContainer,
  markClean,
  newContainer,
  prepareWrite,
} from "../../../meta/imsm/edit/mod.ts";
import { storeContainer } from "../../../core/imsm/store.ts";
import { loadContainer } from "../../../core/imsm/store.ts";
import { ContainerModel } from "../../../core/monitor/container_model.ts";
import { Manager } from "../../../core/monitor/manager.ts";
import { Monitor } from "../../../core/monitor/monitor.ts";
import type { MdLevel } from "../../../meta/imsm/sizes.ts";

export const DISK_BYTES = 64 * 1024 * 1024;
export const ENV = (k: string) => (k === "IMSM_DEVNAME_AS_SERIAL" ? "1" : undefined);

export interface Setup {
  kernel: FakeKernel;
  monitor: Monitor;
  manager: Manager;
  model: ContainerModel;
  logs: string[];
  /** Metadata as it is on the disks now (read back, newest generation). */
  onDisk(): Promise<ImsmContainer>;
}

export interface SetupOptions {
  level?: MdLevel;
  members?: number;
  spares?: number;
  /** The volume was created clean (assembled after a clean stop). */
  clean?: boolean;
  /** Per-member KiB. */
  sizeKiB?: number;
}

const NAMES = ["vda", "vdb", "vdc", "vdd", "vde", "vdf", "vdg", "vdh"];

export async function setup(o: SetupOptions = {}): Promise<Setup> {
  const level = o.level ?? 5;
  const n = o.members ?? (level === 10 ? 4 : 3);
  const spares = o.spares ?? 0;
  const sizeKiB = o.sizeKiB ?? 16384;
  const names = NAMES.slice(0, n + spares);
  const kernel = new FakeKernel(names.map((name) => ({ name, sizeBytes: DISK_BYTES })));
  const disk = (name: string) => ({ serial: `/dev/${name}`, sizeSectors: DISK_BYTES / 512 });
  let c = newContainer(names.slice(0, n).map(disk));
  c = addVolume(c, {
    name: "vol0",
    level,
    members: names.slice(0, n).map((x) => `/dev/${x}`),
    chunkKiB: 64,
    sizeKiB,
    assumeClean: o.clean,
    familyNum: 0x1234567,
    creationTime: 1700000000n,
  });
  if (o.clean) c = markClean(c, 0);
  for (const s of names.slice(n)) c = addSpare(c, disk(s));
  const prepared = prepareWrite(c);
  const targets = names.map((x) => ({
    serial: `/dev/${x}`,
    device: `/dev/${x}`,
    size: BigInt(DISK_BYTES),
    sectorSize: 512,
  }));
  await storeContainer(kernel.writer, targets, prepared);

  // the container: every disk, metadata area only
  const container = await kernel.createArray("md127");
  await container.setMetadataVersion("external:imsm");
  for (const x of names) {
    await container.addMember(x, { offset: BigInt(DISK_BYTES / 512 - 2210), sizeKiB: 1105n });
  }
  // the volume, as assembly builds it
  const vol = await kernel.createArray("md126");
  await vol.setMetadataVersion("external:/md127/0");
  await vol.setLevel(`raid${level}`);
  await vol.setRaidDisks(n);
  await vol.setChunkSize(65536);
  await vol.setLayout(level === 10 ? 0x102 : 0);
  await vol.setComponentSize(BigInt(sizeKiB));
  const dataDisks = level === 5 ? n - 1 : level === 10 ? n / 2 : level === 1 ? 1 : n;
  await vol.setArraySize(BigInt(sizeKiB * dataDisks));
  await vol.setResyncStart(o.clean ? "none" : 0n);
  for (let i = 0; i < n; i++) {
    await vol.addMember(names[i], { offset: 0n, sizeKiB: BigInt(sizeKiB), slot: i });
  }
  await vol.setArrayState("readonly");

  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  const model = await ContainerModel.load(kernel, "md127", ENV);
  const monitor = new Monitor(kernel, model, log);
  const manager = new Manager(kernel, monitor, ENV, log, () => 7);
  return {
    kernel,
    monitor,
    manager,
    model,
    logs,
    onDisk: () => loadContainer(kernel.blocks, names.slice(0, n).map((x) => `/dev/${x}`)),
  };
}
