/**
 * Block device discovery from /sys/class/block (root directory is a parameter so that tests
 * can use a fake tree): names, numbers, sizes, sector sizes, holders, partitions, serials.
 */

export interface BlockDeviceInfo {
  /** Kernel name, e.g. "vda", "sdb1", "md126". */
  name: string;
  /** /dev path. */
  path: string;
  major: number;
  minor: number;
  /** Size in bytes (sysfs `size` is always in 512-byte units). */
  sizeBytes: bigint;
  logicalSectorSize: number;
  physicalSectorSize: number;
  readOnly: boolean;
  removable: boolean;
  /** Parent disk name for a partition, else null. */
  parent: string | null;
  partitions: string[];
  /** Names of devices built on top of this one (md arrays, dm...). */
  holders: string[];
  /** Device serial as the hardware reports it (NVMe / SCSI VPD 0x80), null if none. */
  hardwareSerial: string | null;
}

async function readText(path: string): Promise<string | null> {
  try {
    return (await Deno.readTextFile(path)).replace(/\n$/, "");
  } catch {
    return null;
  }
}

async function readBytes(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch {
    return null;
  }
}

async function listDir(path: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) out.push(e.name);
  } catch {
    return [];
  }
  return out.sort();
}

/**
 * The hardware serial of a disk from sysfs: NVMe's `device/serial`, else the SCSI unit serial
 * page (`device/vpd_pg80`: 4-byte header, then the serial). Virtio disks have neither:
 * mdadm 4.2 reads the serial by SCSI INQUIRY, which virtio-blk does not answer, so we do not
 * use virtio's own `serial` attribute either (the result would differ from mdadm's).
 */
export async function hardwareSerial(sysBlockDir: string): Promise<string | null> {
  const nvme = await readText(`${sysBlockDir}/device/serial`);
  if (nvme !== null && nvme.trim() !== "") return nvme.trim();
  const page = await readBytes(`${sysBlockDir}/device/vpd_pg80`);
  if (page !== null && page.length > 4) {
    const len = Math.min((page[2] << 8) | page[3], page.length - 4);
    const text = new TextDecoder("latin1").decode(page.subarray(4, 4 + len));
    if (text.trim() !== "") return text;
  }
  return null;
}

/** Reads one block device by kernel name. Null when it does not exist. */
export async function readBlockDevice(
  name: string,
  sysRoot = "/sys",
  devDir = "/dev",
): Promise<BlockDeviceInfo | null> {
  const dir = `${sysRoot}/class/block/${name}`;
  const dev = await readText(`${dir}/dev`);
  if (dev === null) return null;
  const [major, minor] = dev.split(":").map(Number);
  const isPartition = (await readText(`${dir}/partition`)) !== null;
  let parent: string | null = null;
  if (isPartition) {
    // /sys/class/block/sda1 -> ../../devices/.../sda/sda1: the parent is the directory above.
    try {
      const real = await Deno.realPath(dir);
      parent = real.split("/").slice(-2, -1)[0] ?? null;
    } catch {
      parent = null;
    }
  }
  const queueDir = parent === null ? `${dir}/queue` : `${sysRoot}/class/block/${parent}/queue`;
  const entries = await listDir(dir);
  const partitions: string[] = [];
  for (const e of entries) {
    if (e.startsWith(name) && (await readText(`${dir}/${e}/partition`)) !== null) {
      partitions.push(e);
    }
  }
  return {
    name,
    path: `${devDir}/${name.replaceAll("!", "/")}`,
    major,
    minor,
    sizeBytes: BigInt(await readText(`${dir}/size`) ?? "0") * 512n,
    logicalSectorSize: Number(await readText(`${queueDir}/logical_block_size`) ?? "512"),
    physicalSectorSize: Number(await readText(`${queueDir}/physical_block_size`) ?? "512"),
    readOnly: (await readText(`${dir}/ro`)) === "1",
    removable: (await readText(`${dir}/removable`)) === "1",
    parent,
    partitions,
    holders: await listDir(`${dir}/holders`),
    hardwareSerial: parent === null ? await hardwareSerial(dir) : null,
  };
}

/** Every block device in /sys/class/block. */
export async function listBlockDevices(
  sysRoot = "/sys",
  devDir = "/dev",
): Promise<BlockDeviceInfo[]> {
  const out: BlockDeviceInfo[] = [];
  for (const name of await listDir(`${sysRoot}/class/block`)) {
    const d = await readBlockDevice(name, sysRoot, devDir);
    if (d) out.push(d);
  }
  return out;
}

/** Finds a block device by its "MAJ:MIN". */
export async function findByDevNumber(
  majMin: string,
  sysRoot = "/sys",
  devDir = "/dev",
): Promise<BlockDeviceInfo | null> {
  for (const d of await listBlockDevices(sysRoot, devDir)) {
    if (`${d.major}:${d.minor}` === majMin) return d;
  }
  return null;
}

/**
 * The serial IMSM records for a disk, chosen as mdadm 4.2 does: the hardware serial; if
 * there is none and IMSM_DEVNAME_AS_SERIAL is set, "/dev/" + kernel name cut to 15 bytes.
 * Null when neither is available (the caller reports that the disk cannot join IMSM).
 * The returned text is raw; meta/ applies the IMSM field rules (16 bytes, no blanks).
 */
export function serialForImsm(
  device: Pick<BlockDeviceInfo, "name" | "hardwareSerial">,
  env: (key: string) => string | undefined = (k) => Deno.env.get(k),
): { serial: string; source: "hardware" | "devname" } | null {
  if (device.hardwareSerial !== null) return { serial: device.hardwareSerial, source: "hardware" };
  if (env("IMSM_DEVNAME_AS_SERIAL")) {
    return { serial: `/dev/${device.name}`.slice(0, 15), source: "devname" };
  }
  return null;
}

/** Kernel name of a /dev path: "/dev/vda" -> "vda" (follows /dev/md/NAME symlinks). */
export async function kernelNameOf(path: string): Promise<string> {
  const real = await Deno.realPath(path);
  return real.replace(/^\/dev\//, "").replaceAll("/", "!");
}
