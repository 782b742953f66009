/**
 * md ioctls (type 9) on an md device node. sysfs can do nearly everything; these remain for
 * STOP_ARRAY (what mdadm --stop uses), probing with GET_ARRAY_INFO and removing spares.
 */
import { withFd } from "../block.ts";
import { O_EXCL, O_RDONLY, O_RDWR, sysIoctl, sysIoctlValue } from "../libc.ts";
import { makedev } from "../libc.ts";

export const RAID_VERSION = 0x800c0910;
export const GET_ARRAY_INFO = 0x80480911;
export const GET_DISK_INFO = 0x80140912;
export const SET_ARRAY_INFO = 0x40480923;
export const ADD_NEW_DISK = 0x40140921;
export const HOT_REMOVE_DISK = 0x922;
export const SET_DISK_FAULTY = 0x929;
export const RUN_ARRAY = 0x400c0930;
export const STOP_ARRAY = 0x932;
export const STOP_ARRAY_RO = 0x933;
export const RESTART_ARRAY_RW = 0x934;

/** mdu_array_info_t, 18 ints. */
export interface ArrayInfo {
  majorVersion: number;
  minorVersion: number;
  patchVersion: number;
  ctime: number;
  level: number;
  /** KiB per device (truncated to 32 bits by the kernel). */
  size: number;
  nrDisks: number;
  raidDisks: number;
  mdMinor: number;
  notPersistent: number;
  utime: number;
  state: number;
  activeDisks: number;
  workingDisks: number;
  failedDisks: number;
  spareDisks: number;
  layout: number;
  chunkSize: number;
}

const ARRAY_INFO_FIELDS: (keyof ArrayInfo)[] = [
  "majorVersion",
  "minorVersion",
  "patchVersion",
  "ctime",
  "level",
  "size",
  "nrDisks",
  "raidDisks",
  "mdMinor",
  "notPersistent",
  "utime",
  "state",
  "activeDisks",
  "workingDisks",
  "failedDisks",
  "spareDisks",
  "layout",
  "chunkSize",
];

export function decodeArrayInfo(bytes: Uint8Array): ArrayInfo {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = {} as ArrayInfo;
  ARRAY_INFO_FIELDS.forEach((f, i) => {
    out[f] = f === "ctime" || f === "utime" ? v.getUint32(4 * i, true) : v.getInt32(4 * i, true);
  });
  return out;
}

/** GET_ARRAY_INFO. ENODEV for a container or an array without devices (normal, spec 8). */
export function getArrayInfo(node: string): ArrayInfo {
  const buf = new Uint8Array(72);
  withFd(node, O_RDONLY, (fd) => sysIoctl(fd, GET_ARRAY_INFO, buf, "GET_ARRAY_INFO", node));
  return decodeArrayInfo(buf);
}

/** RAID_VERSION: the md driver's version; fails (ENOTTY) when `node` is not an md device. */
export function raidVersion(node: string): [number, number, number] {
  const buf = new Uint8Array(12);
  withFd(node, O_RDONLY, (fd) => sysIoctl(fd, RAID_VERSION, buf, "RAID_VERSION", node));
  const v = new DataView(buf.buffer);
  return [v.getInt32(0, true), v.getInt32(4, true), v.getInt32(8, true)];
}

export interface DiskInfo {
  number: number;
  major: number;
  minor: number;
  raidDisk: number;
  state: number;
}

/** GET_DISK_INFO for descriptor `number`. */
export function getDiskInfo(node: string, number: number): DiskInfo {
  const buf = new Uint8Array(20);
  const v = new DataView(buf.buffer);
  v.setInt32(0, number, true);
  withFd(node, O_RDONLY, (fd) => sysIoctl(fd, GET_DISK_INFO, buf, "GET_DISK_INFO", node));
  return {
    number: v.getInt32(0, true),
    major: v.getInt32(4, true),
    minor: v.getInt32(8, true),
    raidDisk: v.getInt32(12, true),
    state: v.getInt32(16, true),
  };
}

/**
 * STOP_ARRAY, as mdadm --stop does; the array ends `clear`. Opened O_EXCL so that a busy
 * (mounted, open) array fails with EBUSY instead of being torn down under its users.
 */
export function stopArray(node: string): void {
  withFd(node, O_RDONLY | O_EXCL, (fd) => sysIoctl(fd, STOP_ARRAY, null, "STOP_ARRAY", node));
}

export function stopArrayReadOnly(node: string): void {
  withFd(node, O_RDONLY, (fd) => sysIoctl(fd, STOP_ARRAY_RO, null, "STOP_ARRAY_RO", node));
}

export function restartArrayReadWrite(node: string): void {
  withFd(node, O_RDONLY, (fd) => sysIoctl(fd, RESTART_ARRAY_RW, null, "RESTART_ARRAY_RW", node));
}

/** HOT_REMOVE_DISK of component major:minor (a spare or failed device). */
export function hotRemoveDisk(node: string, major: number, minor: number): void {
  withFd(
    node,
    O_RDWR,
    (fd) => sysIoctlValue(fd, HOT_REMOVE_DISK, makedev(major, minor), "HOT_REMOVE_DISK", node),
  );
}

export function setDiskFaulty(node: string, major: number, minor: number): void {
  withFd(
    node,
    O_RDWR,
    (fd) => sysIoctlValue(fd, SET_DISK_FAULTY, makedev(major, minor), "SET_DISK_FAULTY", node),
  );
}
