/**
 * Creating a volume inside a container (`mdadm -C /dev/md/vol -l L -n N [-c K] [--size S]
 * <container>`), following mdadm 4.2's init_super_imsm_volume / add_to_super_imsm_volume
 * rules (spec §4, §5, §10, §11.1).
 *
 * A member may be `null` ("missing" on the command line), first volume only, as mdadm 4.2
 * allows (its test 18imsm-1d-takeover-r1_2d: raid1 from one disk + missing): a placeholder
 * record "missing:0" at the head of the disk table (configured, failed, scsi id all ones,
 * as large as the largest member) stands in the slot, flagged REBUILD; the volume is
 * degraded and in sync (what mdadm and its mdmon leave: map state degraded, clean, no
 * failed-disk number), so the monitor rebuilds the slot once a disk is added.
 */
import type { ImsmDiskRecord, ImsmVolume } from "../model.ts";
import {
  DISK_STATUS,
  MAP_STATE,
  MIGR_TYPE,
  ORD_REBUILD,
  RWH_POLICY,
  VOLUME_NAME_LENGTH,
  VOLUME_STATUS,
} from "../constants.ts";
import { diskSerial, ordIndex, volumeName } from "../accessors.ts";
import {
  DEFAULT_CHUNK_KIB,
  defaultMemberKiB,
  type DiskSpace,
  largestFreeRegion,
  type MdLevel,
  MEMBER_RESERVED_SECTORS,
  numDomains,
  storedRaidLevel,
  volumeGeometry,
} from "../sizes.ts";
import { cloneContainer, findDisk, type ImsmContainer } from "./container.ts";
import { ImsmEditError } from "./errors.ts";
import {
  blankDisk,
  blankMap,
  blankVolume,
  diskSectors,
  mapDataSectors,
  mapPba,
  serialBytes,
  setBlocksPerMember,
  setNumDataStripes,
  setPbaOfLba0,
  setTotalBlocks,
  setVolumeSize,
} from "./records.ts";
import { updateVersionInfo } from "./version.ts";

/** IMSM (and every option ROM) allows at most two volumes per container. */
export const MAX_VOLUMES = 2;
/** blocks_per_strip is a u16: 16 MiB strips at most. */
const MAX_CHUNK_KIB = 16384;
const MIN_CHUNK_KIB = 2;

export interface AddVolumeParams {
  name: string;
  level: MdLevel;
  /** Member serials in slot order (slot 0 first); null: the slot's disk is missing. */
  members: (string | null)[];
  /** Chunk in KiB; default 128 (mdadm without a platform). Ignored for raid1 (64 KiB). */
  chunkKiB?: number;
  /** Per-member size in KiB (mdadm --size); default: the whole free region. */
  sizeKiB?: number;
  /** `--assume-clean` (or raid0): the volume starts clean instead of needing initialisation. */
  assumeClean?: boolean;
  /** `--consistency-policy=ppl` instead of resync. */
  ppl?: boolean;
  /** First volume only: the new family number (mdadm: random + checksum). */
  familyNum?: number;
  /** First volume only: creation time, Unix seconds. */
  creationTime?: bigint;
}

function refuse(
  code: ConstructorParameters<typeof ImsmEditError>[0]["code"],
  subject: string,
  field: string,
  value: number | string,
  problem: string,
  hint: string,
): never {
  throw new ImsmEditError({ code, subject, field, value, problem, hint });
}

function checkGeometry(p: AddVolumeParams): void {
  const subject = `volume ${p.name}`;
  const n = p.members.length;
  const ok = p.level === 0 ? n >= 1 : p.level === 1 ? n === 2 : p.level === 5 ? n >= 3 : n === 4;
  if (!ok) {
    const need = { 0: "at least 1", 1: "exactly 2", 5: "at least 3", 10: "exactly 4" }[p.level];
    refuse(
      "bad-geometry",
      subject,
      "imsm_map.num_members",
      n,
      `IMSM raid${p.level} needs ${need} member disks`,
      "change --raid-devices or the level",
    );
  }
  const seen = new Set<string | null>();
  for (const s of p.members) {
    if (s !== null && seen.has(s)) {
      refuse(
        "disk-in-use",
        subject,
        "imsm_map.disk_ord_tbl",
        s,
        "the same disk is listed twice",
        "list each member once",
      );
    }
    seen.add(s);
  }
  if (p.chunkKiB !== undefined && p.level !== 1) {
    const c = p.chunkKiB;
    if (!Number.isInteger(c) || c < MIN_CHUNK_KIB || c > MAX_CHUNK_KIB || (c & (c - 1)) !== 0) {
      refuse(
        "bad-chunk",
        subject,
        "imsm_map.blocks_per_strip",
        c,
        `chunk must be a power of two from ${MIN_CHUNK_KIB} to ${MAX_CHUNK_KIB} KiB`,
        "pick e.g. --chunk=64 or --chunk=128",
      );
    }
  }
}

function checkName(c: ImsmContainer, name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > VOLUME_NAME_LENGTH) {
    refuse(
      "bad-name",
      `volume ${JSON.stringify(name)}`,
      "imsm_dev.volume",
      name,
      "the name must have 1 to 16 characters",
      "choose a shorter, non-empty name",
    );
  }
  if (c.mpb.volumes.some((v) => volumeName(v) === trimmed)) {
    refuse(
      "bad-name",
      `volume ${trimmed}`,
      "imsm_dev.volume",
      trimmed,
      "a volume with this name already exists in the container",
      "choose another name",
    );
  }
  return trimmed;
}

/** The space picture of each member: its volume extents and whether it is a free spare. */
function memberSpaces(c: ImsmContainer, serials: (string | null)[]): DiskSpace[] {
  return serials.filter((x): x is string => x !== null).map((serial) => {
    const found = findDisk(c, serial)!;
    const total = diskSectors(c.mpb, found.record);
    if (found.kind === "spare") return { totalSectors: total, volumeExtents: [], spare: true };
    const volumeExtents = c.mpb.volumes
      .filter((v) => v.maps[0].ord.some((o) => ordIndex(o) === found.index))
      .map((v) => ({ start: mapPba(c.mpb, v.maps[0]), size: mapDataSectors(c.mpb, v.maps[0]) }));
    return { totalSectors: total, volumeExtents, spare: false };
  });
}

/** Adds a volume; returns the new container (the input is not modified). */
export function addVolume(c: ImsmContainer, p: AddVolumeParams): ImsmContainer {
  checkGeometry(p);
  const name = checkName(c, p.name);
  const subject = `volume ${name}`;
  const first = c.mpb.volumes.length === 0;
  if (c.mpb.volumes.length >= MAX_VOLUMES) {
    refuse(
      "too-many-volumes",
      subject,
      "imsm_super.num_raid_devs",
      c.mpb.volumes.length,
      `the container already has the maximum of ${MAX_VOLUMES} volumes`,
      "delete a volume first or use another container",
    );
  }
  if (first && (p.familyNum === undefined || p.creationTime === undefined)) {
    refuse(
      "bad-state",
      subject,
      "imsm_super.family_num",
      "unset",
      "the first volume of a container needs a family number and a creation time",
      "pass familyNum (random) and creationTime (now)",
    );
  }
  const missing = p.members.filter((x) => x === null).length;
  if (missing > 0) {
    const why = level0OrLate(p, first);
    if (why !== null) {
      refuse("bad-geometry", subject, "imsm_map.disk_ord_tbl", "missing", why[0], why[1]);
    }
  }
  for (const serial of p.members) {
    if (serial === null) continue;
    const found = findDisk(c, serial);
    if (!found) {
      refuse(
        "unknown-disk",
        subject,
        "imsm_disk.serial",
        serial,
        "the disk is not in this container",
        "add it to the container first (mdadm --add <container> <disk>)",
      );
    }
    if (found.kind === "member" && (found.record.status & DISK_STATUS.FAILED) !== 0) {
      refuse(
        "disk-in-use",
        subject,
        "imsm_disk.status",
        serial,
        "the disk is marked failed",
        "replace it, or create the volume on healthy disks",
      );
    }
    if (diskSectors(c.mpb, found.record) <= MEMBER_RESERVED_SECTORS) {
      refuse(
        "disk-too-small",
        `disk ${serial}`,
        "imsm_disk.total_blocks",
        diskSectors(c.mpb, found.record),
        `the disk cannot hold the ${MEMBER_RESERVED_SECTORS}-sector metadata reservation`,
        "use a bigger disk",
      );
    }
  }

  const level = p.level;
  const chunkKiB = level === 1 ? 64 : p.chunkKiB ?? DEFAULT_CHUNK_KIB;
  const mpbSectors = Math.ceil(Math.max(c.mpb.mpbSize, 512) / 512);
  const region = largestFreeRegion(memberSpaces(c, p.members), mpbSectors);
  if (!region) {
    refuse(
      "no-space",
      subject,
      "imsm_map.blocks_per_member",
      0,
      "no free space left on the member disks",
      "delete a volume or use other disks",
    );
  }
  // The chunk the size is rounded to: mdadm uses the default 128 KiB when raid1 has none.
  const roundChunk = level === 1 ? DEFAULT_CHUNK_KIB : chunkKiB;
  let sizeKiB: number;
  if (p.sizeKiB !== undefined) {
    sizeKiB = level === 1 ? p.sizeKiB : p.sizeKiB - (p.sizeKiB % chunkKiB);
    if (sizeKiB <= 0) {
      refuse(
        "bad-size",
        subject,
        "--size",
        p.sizeKiB,
        "the size is smaller than one chunk",
        "request at least one chunk per member",
      );
    }
    if (sizeKiB * 2 > region.sizeSectors) {
      refuse(
        "no-space",
        subject,
        "--size",
        p.sizeKiB,
        `not enough space: ${Math.floor(region.sizeSectors / 2)} KiB per member free`,
        "request a smaller size or omit --size to use all free space",
      );
    }
  } else {
    sizeKiB = defaultMemberKiB(level, region.sizeSectors, roundChunk);
  }
  const g = volumeGeometry(level, p.members.length, chunkKiB, sizeKiB);
  if (g.arraySectors === 0) {
    refuse(
      "bad-size",
      subject,
      "imsm_dev.size",
      sizeKiB,
      "the size rounds down to nothing (IMSM keeps whole MiB per member)",
      "request at least 1 MiB per member",
    );
  }

  const out = cloneContainer(c);
  const mpb = out.mpb;
  if (first) mpb.disks = [];
  // the missing slot's placeholder comes first in the table (mdadm adds it before the disks)
  const placeholder = missing > 0 ? blankDisk() : null;
  if (placeholder) {
    placeholder.serial = serialBytes("missing:0");
    placeholder.status = DISK_STATUS.CONFIGURED | DISK_STATUS.FAILED;
    placeholder.scsiId = 0xffffffff;
    const largest = p.members.reduce((max, serial) => {
      if (serial === null) return max;
      const n = diskSectors(c.mpb, findDisk(c, serial)!.record);
      return n > max ? n : max;
    }, 0);
    setTotalBlocks(placeholder, largest);
    mpb.disks.push(placeholder);
  }

  // Disk-table indexes: existing members keep theirs; new ones are appended in slot order.
  const ord: number[] = [];
  for (const serial of p.members) {
    if (serial === null) {
      ord.push((0 | ORD_REBUILD) >>> 0);
      continue;
    }
    let index = mpb.disks.findIndex((d) => diskSerial(d) === serial);
    if (index < 0) {
      const s = out.spares.findIndex((d) => diskSerial(d) === serial);
      const rec: ImsmDiskRecord = out.spares.splice(s, 1)[0];
      rec.status = DISK_STATUS.CONFIGURED;
      index = mpb.disks.length;
      mpb.disks.push(rec);
    } else {
      mpb.disks[index].status = DISK_STATUS.CONFIGURED;
    }
    ord.push(index);
  }

  const clean = level === 0 || p.assumeClean === true;
  const map = blankMap(p.members.length);
  setPbaOfLba0(map, region.start);
  setBlocksPerMember(map, g.blocksPerMember);
  setNumDataStripes(map, g.numDataStripes);
  map.blocksPerStrip = g.blocksPerStrip;
  map.mapState = placeholder
    ? MAP_STATE.DEGRADED
    : clean
    ? MAP_STATE.NORMAL
    : MAP_STATE.UNINITIALIZED;
  map.raidLevel = storedRaidLevel(level);
  map.numDomains = numDomains(level);
  map.ord = ord;

  const vol: ImsmVolume = blankVolume(name);
  setVolumeSize(vol, g.arraySectors);
  vol.status = VOLUME_STATUS.READ_COALESCING | VOLUME_STATUS.WRITE_COALESCING;
  vol.migrState = 0;
  vol.migrType = MIGR_TYPE.INIT;
  vol.dirty = clean || placeholder ? 0 : 1;
  vol.rwhPolicy = p.ppl ? RWH_POLICY.MULTIPLE_DISTRIBUTED : RWH_POLICY.MULTIPLE_OFF;
  vol.maps = [map];
  mpb.numRaidDevsCreated = (mpb.numRaidDevsCreated + 1) & 0xffff;
  vol.myVolRaidDevNum = mpb.numRaidDevsCreated;
  mpb.volumes.push(vol);

  if (first) {
    mpb.familyNum = p.familyNum! >>> 0;
    mpb.origFamilyNum = mpb.familyNum;
    mpb.creationTime = p.creationTime!;
  }
  updateVersionInfo(mpb);
  return out;
}

/**
 * Why a member may not be missing here, or null: raid0 has no redundancy (mdadm: "This
 * level does not support missing devices"); only the first volume gets placeholders (mdadm
 * adds them to an empty disk table only); one missing slot at most (mdadm points every
 * missing slot at the same placeholder, which mdts does not copy).
 */
function level0OrLate(p: AddVolumeParams, first: boolean): [string, string] | null {
  const missing = p.members.filter((x) => x === null).length;
  if (p.level === 0) {
    return [
      "This level does not support missing devices",
      "raid0 needs every member; list them all",
    ];
  }
  if (!first) {
    return [
      "unable to add 'missing' disk to container (only the first volume of a container can " +
      "start with a missing member)",
      "list a disk for every slot",
    ];
  }
  if (missing >= p.members.length) {
    return ["Subdevs can't be all missing", "list at least one disk"];
  }
  if (missing > 1) {
    return [
      `${missing} members are missing; mdts creates a volume with at most one missing member`,
      "list more disks, or add them later with mdadm --add",
    ];
  }
  return null;
}
