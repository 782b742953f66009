/**
 * The sysfs sequences that bring a container and a volume up, in the order mdadm 4.2 writes
 * them (spec md-kernel.md 3.2 and 3.3, traces 01, 02 and 10). Values come from the metadata;
 * this file only orders the writes.
 */
import type { Kernel } from "../../kernel/interface.ts";
import { configureArray } from "../../kernel/md/create.ts";
import { MAX_SECTOR } from "../../kernel/md/sysfs.ts";
import type { ImsmSuper, ImsmVolume } from "../../meta/imsm/model.ts";
import { MAP_STATE, MPB_SECTOR_CNT } from "../../meta/imsm/constants.ts";
import {
  diskSerial,
  ordIndex,
  pbaOfLba0,
  perDevArraySize,
  raidLevel,
  volumeSize,
} from "../../meta/imsm/accessors.ts";

export interface ContainerComponent {
  /** Kernel name ("vda"). */
  name: string;
  /** Start of the metadata region, sectors. */
  offset: bigint;
  /** Size of the metadata region, KiB. */
  sizeKiB: bigint;
}

/** Metadata region of a fresh container member: the MPB sectors at the end of the disk. */
export function freshComponent(name: string, sizeBytes: bigint): ContainerComponent {
  const sectors = sizeBytes / 512n;
  const reserved = BigInt(MPB_SECTOR_CNT);
  return { name, offset: sectors - reserved, sizeKiB: reserved / 2n };
}

/** metadata_version, then each component: new_dev, offset, size, external_bbl (spec 3.2). */
export async function startContainer(
  kernel: Kernel,
  devnm: string,
  components: ContainerComponent[],
): Promise<void> {
  const array = kernel.array(devnm);
  if ((await array.metadataVersionText()) !== "external:imsm") {
    await array.setMetadataVersion("external:imsm");
  }
  for (const c of components) await addContainerComponent(kernel, devnm, c);
}

export async function addContainerComponent(
  kernel: Kernel,
  devnm: string,
  c: ContainerComponent,
): Promise<void> {
  await kernel.array(devnm).addMember(c.name, {
    offset: c.offset,
    sizeKiB: c.sizeKiB,
    states: ["external_bbl"],
  });
}

/** What md needs to run one IMSM volume. */
export interface VolumeGeometry {
  level: "raid0" | "raid1" | "raid5" | "raid10";
  raidDisks: number;
  chunkBytes: number;
  layout: number;
  componentKiB: bigint;
  arrayKiB: bigint;
  /** Sectors of each member where the volume starts. */
  offset: bigint;
  /** Disk-table index per slot. */
  slotDisks: number[];
  /** Per-device sector where a resync must start; "none" when the volume is in sync. */
  resyncStart: bigint | "none";
}

const LEVEL_NAMES = { 0: "raid0", 1: "raid1", 5: "raid5", 10: "raid10" } as const;

/** IMSM raid5 is left-asymmetric (0); raid10 is near=2 (0x102). */
function layoutOf(level: number): number {
  return level === 10 ? 0x102 : 0;
}

export function volumeGeometry(mpb: ImsmSuper, index: number): VolumeGeometry {
  const vol: ImsmVolume = mpb.volumes[index];
  const map = vol.maps[0];
  const level = raidLevel(map) as 0 | 1 | 5 | 10;
  const name = LEVEL_NAMES[level];
  if (name === undefined) throw new Error(`volume ${index}: unsupported IMSM level ${level}`);
  const initializing = map.mapState === MAP_STATE.UNINITIALIZED;
  return {
    level: name,
    raidDisks: map.numMembers,
    chunkBytes: map.blocksPerStrip * 512,
    layout: layoutOf(level),
    componentKiB: perDevArraySize(mpb, map) / 2n,
    arrayKiB: volumeSize(vol) / 2n,
    offset: pbaOfLba0(mpb, map),
    slotDisks: map.ord.map(ordIndex),
    resyncStart: level === 0 ? "none" : vol.dirty !== 0 || initializing ? 0n : "none",
  };
}

/** Serials of a volume's members in slot order. */
export function slotSerials(mpb: ImsmSuper, index: number): string[] {
  return mpb.volumes[index].maps[0].ord.map((o) => diskSerial(mpb.disks[ordIndex(o)]));
}

export interface VolumeComponent {
  name: string;
  slot: number;
}

/**
 * A volume's md device from nothing (spec 3.3): geometry, then each component, then start.
 * `fresh` is the create sequence (slot, external_bbl); otherwise the assembly one (insync,
 * slot, recovery_start, external_bbl). Returns the array_state written.
 */
export async function startVolume(
  kernel: Kernel,
  devnm: string,
  container: string,
  index: number,
  g: VolumeGeometry,
  components: VolumeComponent[],
  fresh: boolean,
  beforeMembers: () => Promise<void> = () => Promise.resolve(),
): Promise<"readonly" | "active"> {
  const array = kernel.array(devnm);
  await configureArray(array, {
    metadataVersion: `external:/${container}/${index}`,
    level: g.level,
    raidDisks: g.raidDisks,
    chunkBytes: g.chunkBytes,
    layout: g.layout,
    componentKiB: g.componentKiB,
    arrayKiB: g.arrayKiB,
    resyncStart: g.level === "raid0" ? undefined : g.resyncStart,
  });
  await beforeMembers();
  for (const c of components) {
    const dev = await kernel.md.blockDevNumber(c.name);
    if (dev === null) throw new Error(`${devnm}: cannot add ${c.name}: no such block device`);
    await array.addDevice(dev);
    const m = array.member(c.name);
    await m.setOffset(g.offset);
    await m.setSize(g.componentKiB);
    if (fresh) {
      await m.setSlot(c.slot);
    } else {
      await m.setState("insync");
      await m.setSlot(c.slot);
      if (g.level !== "raid0") await m.write("recovery_start", String(MAX_SECTOR));
    }
    await m.setState("external_bbl");
  }
  const state = g.level === "raid0" ? "active" : "readonly";
  await array.setArrayState(state);
  await array.setSafeModeDelay(4);
  return state;
}
