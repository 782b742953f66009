/**
 * Bringing up an md device from nothing through sysfs (spec 3.1 and 3.3): pick a free name,
 * create the device and its /dev node, write the geometry, add members, start.
 */
import { isErrno } from "../errno.ts";
import { sysMknodBlock } from "../libc.ts";
import type { MdAttributeStore } from "./store.ts";
import { type ArrayState, MdArray } from "./sysfs.ts";

/** mdadm's order of automatic names: md127 down to md0, then md511 down to md128. */
export function* candidateDevnms(): Generator<string> {
  for (let n = 127; n >= 0; n--) yield `md${n}`;
  for (let n = 511; n >= 128; n--) yield `md${n}`;
}

/** The first automatic name that is neither an existing md device nor in `taken`. */
export async function pickFreeDevnm(
  store: MdAttributeStore,
  taken: Iterable<string> = [],
): Promise<string> {
  const used = new Set([...await store.arrays(), ...taken]);
  for (const name of candidateDevnms()) if (!used.has(name)) return name;
  throw new Error("no free md device name left (md0..md511 all in use)");
}

/** Creates md device `devnm` (new_array); an existing device is an error. */
export async function createMdDevice(store: MdAttributeStore, devnm: string): Promise<MdArray> {
  await store.createArray(devnm);
  return new MdArray(store, devnm);
}

/**
 * Makes sure /dev/<devnm> exists as a block node (udev usually creates it; without udev we
 * mknod it like mdadm 4.2 did). `majMin` is the device's "9:127".
 */
export async function ensureDevNode(
  devnm: string,
  majMin: string,
  devDir = "/dev",
): Promise<string> {
  const node = `${devDir}/${devnm}`;
  const [major, minor] = majMin.split(":").map(Number);
  for (let i = 0; i < 20; i++) {
    try {
      const st = await Deno.stat(node);
      if (st.isBlockDevice) return node;
      throw new Error(`${node} exists but is not a block device; remove it and retry`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  try {
    sysMknodBlock(node, 0o660, major, minor);
  } catch (e) {
    if (!isErrno(e, "EEXIST")) throw e; // udev was faster
  }
  return node;
}

/** Geometry of an array as sysfs takes it. */
export interface ArrayGeometry {
  /** "external:/md127/0", "external:imsm", "none"... */
  metadataVersion: string;
  level?: string;
  raidDisks?: number;
  chunkBytes?: number;
  layout?: number;
  componentKiB?: bigint;
  arrayKiB?: bigint;
  /** Written only for redundant levels (resync_start is meaningless on raid0). */
  resyncStart?: bigint | "none";
}

/** Writes the geometry in mdadm's order (spec 3.3 steps 2..9). */
export async function configureArray(array: MdArray, g: ArrayGeometry): Promise<void> {
  await array.setMetadataVersion(g.metadataVersion);
  if (g.level !== undefined) await array.setLevel(g.level);
  if (g.raidDisks !== undefined) await array.write("raid_disks", String(g.raidDisks));
  if (g.chunkBytes !== undefined) await array.setChunkSize(g.chunkBytes);
  if (g.layout !== undefined) await array.setLayout(g.layout);
  if (g.componentKiB !== undefined) await array.setComponentSize(g.componentKiB);
  if (g.arrayKiB !== undefined) await array.setArraySize(g.arrayKiB);
  if (g.resyncStart !== undefined && g.level !== "raid0" && g.level !== "linear") {
    await array.setResyncStart(g.resyncStart);
  }
}

/** Starts the array: `readonly` for redundant levels (mdmon takes over), `active` otherwise. */
export function startArray(array: MdArray, state: ArrayState): Promise<void> {
  return array.setArrayState(state);
}
