/**
 * Metadata updates received over the control socket, turned into edits of the container
 * (mdmon's process_update side). Each returns a new container or throws an ImsmEditError-like
 * Error naming what is wrong; the monitor applies them in arrival order.
 */
import type { ImsmVolume } from "../../meta/imsm/model.ts";
import { DISK_STATUS, VOLUME_NAME_LENGTH } from "../../meta/imsm/constants.ts";
import { cString, diskSerial, isGeneralMigration, volumeName } from "../../meta/imsm/accessors.ts";
import { parseMpb, serializeMpb, volumeRecordSize } from "../../meta/imsm/mpb.ts";
import {
  beginMigration,
  cloneContainer,
  failedSerial,
  type ImsmContainer,
  takeoverToRaid0,
  takeoverToRaid10,
  updateVersionInfo,
} from "../../meta/imsm/edit/mod.ts";
import { cloneSuper, serialBytes, setCurrMigrUnit } from "../../meta/imsm/edit/records.ts";
import type { MetadataUpdate } from "./protocol.ts";

/** Kernel "MAJ:MIN" of a dev_t packed into an int the way glibc's makedev packs it. */
export function devOfPacked(packed: number): string {
  const v = packed >>> 0;
  const major = (v >>> 8) & 0xfff;
  const minor = (v & 0xff) | ((v >>> 12) & 0xfff00);
  return `${major}:${minor}`;
}

/** Resolves a disk by "MAJ:MIN" to its IMSM serial (the container's disks). */
export type SerialOfDev = (majMin: string) => string | null;

function volumeFromRecord(c: ImsmContainer, record: Uint8Array): ImsmVolume {
  // decode the record with the MPB parser: our table followed by the new record
  const base = cloneSuper(c.mpb);
  base.bbmLog = new Uint8Array(0);
  base.unparsedTail = new Uint8Array(0);
  const head = serializeMpb(base);
  const bytes = new Uint8Array(head.length + record.length);
  bytes.set(head);
  bytes.set(record, head.length);
  const v = new DataView(bytes.buffer);
  v.setUint32(0x24, bytes.length, true);
  bytes[0x39] = base.volumes.length + 1;
  v.setUint32(0x48, 0, true);
  const parsed = parseMpb(bytes, { device: "create_array update", allowBadChecksum: true });
  const vol = parsed.mpb.volumes[parsed.mpb.volumes.length - 1];
  if (!vol) throw new Error("create_array update: the volume record did not decode");
  return vol;
}

function createArray(
  c: ImsmContainer,
  u: Extract<MetadataUpdate, { type: "create_array" }>,
): ImsmContainer {
  if (u.subarray !== c.mpb.volumes.length) {
    throw new Error(
      `create_array update for subarray ${u.subarray}, but the container has ` +
        `${c.mpb.volumes.length} volume(s): updates arrived out of order or were lost`,
    );
  }
  const vol = volumeFromRecord(c, u.volume);
  const size = volumeRecordSize(vol);
  const out = cloneContainer(c);
  const map = vol.maps[0];
  // mdadm appends one 16-byte serial per member after the record; ours may omit it
  const serialsAt = size;
  const withSerials = u.volume.length >= serialsAt + 16 * map.numMembers;
  for (let i = 0; i < map.numMembers; i++) {
    let index = map.ord[i] & 0x00ffffff;
    if (withSerials) {
      const raw = u.volume.subarray(serialsAt + 16 * i, serialsAt + 16 * (i + 1));
      const serial = cString(raw, 16);
      index = out.mpb.disks.findIndex((d) => diskSerial(d) === serial);
      if (index < 0) {
        const s = out.spares.findIndex((d) => diskSerial(d) === serial);
        if (s < 0) {
          throw new Error(`create_array update names disk ${serial}, not in the container`);
        }
        const rec = out.spares.splice(s, 1)[0];
        index = out.mpb.disks.length;
        out.mpb.disks.push(rec);
      }
      map.ord[i] = ((map.ord[i] & ~0x00ffffff) | index) >>> 0;
    }
    const disk = out.mpb.disks[index];
    if (!disk) throw new Error(`create_array update: slot ${i} names disk index ${index}, unknown`);
    disk.status = ((disk.status | DISK_STATUS.CONFIGURED) & ~DISK_STATUS.SPARE) >>> 0;
  }
  out.mpb.volumes.push(vol);
  out.mpb.numRaidDevsCreated = (out.mpb.numRaidDevsCreated + 1) & 0xffff;
  updateVersionInfo(out.mpb);
  return out;
}

/** A volume's level or chunk migration (mdmon's apply_reshape_migration_update). */
function reshapeMigration(
  c: ImsmContainer,
  u: Extract<MetadataUpdate, { type: "reshape_migration" }>,
  serialOfDev: SerialOfDev,
): ImsmContainer {
  const vol = c.mpb.volumes[u.subarray];
  if (!vol) {
    throw new Error(
      `reshape_migration update for subarray ${u.subarray}, but the container has ` +
        `${c.mpb.volumes.length} volume(s)`,
    );
  }
  const map = vol.maps[0];
  const chunk = u.newChunkKiB > 0 && u.newChunkKiB * 2 !== map.blocksPerStrip
    ? u.newChunkKiB
    : undefined;
  if (u.newLevel === 5 && map.raidLevel === 0) {
    let serial: string | null;
    if (u.newDisk < 0) {
      // mdadm 4.2 leaves the choice of the parity disk to the monitor
      serial = c.spares.length > 0 ? diskSerial(c.spares[0]) : null;
      if (serial === null) {
        throw new Error("reshape_migration raid0 -> raid5: the container has no spare disk");
      }
    } else {
      const dev = devOfPacked(u.newDisk);
      serial = serialOfDev(dev);
      if (serial === null) {
        throw new Error(`reshape_migration update names device ${dev}, not in the container`);
      }
    }
    return beginMigration(c, u.subarray, {
      kind: "level",
      newLevel: 5,
      newDisk: serial,
      newChunkKiB: chunk,
    });
  }
  if (u.newLevel >= 0 && u.newLevel !== map.raidLevel) {
    throw new Error(
      `reshape_migration update asks raid${map.raidLevel} -> raid${u.newLevel} for subarray ` +
        `${u.subarray}; only raid0 -> raid5 is a migration`,
    );
  }
  if (chunk === undefined) {
    throw new Error(`reshape_migration update for subarray ${u.subarray} changes nothing`);
  }
  return beginMigration(c, u.subarray, { kind: "chunk", newChunkKiB: chunk });
}

/** An update that arrived after what it describes was over: nothing to do, nothing wrong. */
export class StaleUpdate extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StaleUpdate";
  }
}

/** Applies one update; `serialOfDev` resolves disks named by device number. */
export function applyUpdate(
  c: ImsmContainer,
  u: MetadataUpdate,
  serialOfDev: SerialOfDev,
  containerSerials: () => string[] = () => [],
): ImsmContainer {
  switch (u.type) {
    case "general_migration_checkpoint": {
      const out = cloneContainer(c);
      let any = false;
      for (const v of out.mpb.volumes) {
        if (isGeneralMigration(v)) {
          setCurrMigrUnit(v, Number(u.unit));
          any = true;
        }
      }
      // md's end of the reshape and the grow's last checkpoint race: when the monitor has
      // already ended the migration, the checkpoint has nothing left to record
      if (!any) throw new StaleUpdate("no volume is in a general migration (it already ended)");
      return out;
    }
    case "rename_array": {
      const out = cloneContainer(c);
      const v = out.mpb.volumes[u.subarray];
      if (!v) throw new Error(`rename_array update: no subarray ${u.subarray}`);
      const bytes = new Uint8Array(VOLUME_NAME_LENGTH);
      bytes.set(serialBytes(u.name).subarray(0, VOLUME_NAME_LENGTH));
      v.volume = bytes;
      return out;
    }
    case "create_array":
      return createArray(c, u);
    case "reshape_container_disks": {
      const serials = u.newDisks.map((packed) => {
        const dev = devOfPacked(packed);
        const s = serialOfDev(dev);
        if (s === null) throw new Error(`reshape update names device ${dev}, not in the container`);
        return s;
      });
      return beginMigration(c, 0, { kind: "grow-disks", newDisks: serials });
    }
    case "reshape_migration":
      return reshapeMigration(c, u, serialOfDev);
    case "takeover": {
      if (u.direction !== 0 && u.direction !== 1) {
        throw new Error(
          `takeover update for subarray ${u.subarray} has direction ${u.direction} (0: to ` +
            `raid0, 1: raid0 -> raid10); the change was not recorded`,
        );
      }
      // a failed disk's stored serial has ":0" appended: find the disk it was
      const out = u.direction === 1 ? takeoverToRaid10(c, u.subarray) : takeoverToRaid0(
        c,
        u.subarray,
        (stored) => containerSerials().find((s) => failedSerial(s) === stored) ?? null,
      );
      // as mdmon after a takeover: the MPB version follows the new level and member count
      updateVersionInfo(out.mpb);
      return out;
    }
    case "add_remove_disk":
      // only a nudge: the manager re-reads the container's disks
      return c;
    default:
      throw new Error(
        `update ${u.type === "other" ? `type ${u.code}` : u.type} is not supported by mdts's ` +
          `monitor; the change was not recorded`,
      );
  }
}

/** A short description for logs. */
export function describeUpdate(u: MetadataUpdate, c?: ImsmContainer): string {
  switch (u.type) {
    case "general_migration_checkpoint":
      return `checkpoint at migration unit ${u.unit}`;
    case "create_array":
      return `create subarray ${u.subarray}`;
    case "rename_array":
      return `rename subarray ${u.subarray}${
        c?.mpb.volumes[u.subarray] ? ` (${volumeName(c.mpb.volumes[u.subarray])})` : ""
      } to ${u.name}`;
    case "reshape_container_disks":
      return `grow container ${u.oldRaidDisks} -> ${u.newRaidDisks} disks`;
    case "takeover":
      return `takeover of subarray ${u.subarray} ${
        u.direction === 0 ? "raid10/raid1 -> raid0" : "raid0 -> raid10"
      }`;
    case "reshape_migration":
      return `migrate subarray ${u.subarray}: level ${u.newLevel}, chunk ${u.newChunkKiB}K, ` +
        `${u.oldRaidDisks} -> ${u.newRaidDisks} disks`;
    case "mdts_next_record":
      return `migration record for subarray ${u.to} when subarray ${u.from}'s migration ends`;
    case "other":
      return `update type ${u.code}`;
    default:
      return u.type;
  }
}
