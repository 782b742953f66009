/**
 * Takeovers between raid0 and the mirrored levels (mdmon's update_takeover; spec
 * imsm-reshape.md §3). No data moves in either direction.
 *
 * R10_TO_R0: raid10 with 2N members -> raid0 with N, raid1 (2 members) -> raid0 with 1. The
 * grow process first fails one disk of every mirror pair (the monitor records those
 * failures), then this edit drops the failed disks from the disk table (they become free
 * spares), halves the member count, sets raid0, one domain, num_data_stripes from the volume
 * size, state normal. The volume size and per-member data are unchanged.
 *
 * R0_TO_R10: raid0 with N members -> raid10 with 2N, degraded: member i moves to slot and
 * table index 2i (md's raid0 -> raid10 takeover puts it there too), a "missing" disk record
 * fills each odd index, flagged failed and REBUILD in the map, so the monitor rebuilds those
 * slots onto spares.
 */
import type { ImsmDiskRecord, ImsmVolume } from "../model.ts";
import { DISK_STATUS, FAILED_DISK_NONE, MAP_STATE, ORD_REBUILD } from "../constants.ts";
import { diskSerial, isFailed, ordIndex, raidLevel, volumeName } from "../accessors.ts";
import { cloneContainer, type ImsmContainer, requireVolume } from "./container.ts";
import { failedSerial } from "./failure.ts";
import { ImsmEditError } from "./errors.ts";
import { serialBytes, setNumDataStripes, volumeSectors } from "./records.ts";

function refuse(vol: ImsmVolume, field: string, value: number | string, problem: string): never {
  throw new ImsmEditError({
    code: "bad-state",
    subject: `volume ${volumeName(vol)}`,
    field,
    value,
    problem,
    hint: "fail exactly one disk of every mirror pair first (mdadm --grow -l0 does so)",
  });
}

/**
 * raid10/raid1 -> raid0. `realSerial` maps a failed disk's stored serial (renamed on failure,
 * ":0" appended) back to the disk's own serial, which its spare record must carry so the disk
 * is found again; null keeps the stored one.
 */
export function takeoverToRaid0(
  c: ImsmContainer,
  volIndex: number,
  realSerial: (stored: string) => string | null = () => null,
): ImsmContainer {
  const out = cloneContainer(c);
  const vol = requireVolume(out, volIndex);
  if (out.mpb.volumes.length !== 1) {
    refuse(
      vol,
      "imsm_super.num_raid_devs",
      out.mpb.volumes.length,
      "takeover needs a single volume",
    );
  }
  if (vol.migrState !== 0) {
    refuse(vol, "imsm_vol.migr_state", vol.migrState, "the volume is migrating");
  }
  const map = vol.maps[0];
  const level = raidLevel(map);
  if (level !== 1 && level !== 10) {
    refuse(
      vol,
      "imsm_map.raid_level",
      level,
      "only raid1 and raid10 volumes can be taken over to raid0",
    );
  }
  const slots = map.ord.map(ordIndex);
  const failedSlot = slots.map((i) => {
    const d = out.mpb.disks[i];
    return d === undefined || isFailed(d);
  });
  const failed = failedSlot.filter((f) => f).length;
  if (failed !== map.numMembers / 2) {
    refuse(
      vol,
      "imsm_disk.status",
      failed,
      `${failed} of ${map.numMembers} members are failed; exactly ${map.numMembers / 2} must be`,
    );
  }
  for (let p = 0; p < map.numMembers; p += 2) {
    if (failedSlot[p] === failedSlot[p + 1]) {
      refuse(
        vol,
        "imsm_map.disk_ord_tbl",
        p,
        `mirror pair of slots ${p} and ${p + 1} does not have exactly one failed disk`,
      );
    }
  }
  const keep = slots.filter((_, s) => !failedSlot[s]);
  const dropped = out.mpb.disks.filter((d) => isFailed(d));
  // the kept members, in slot order, make the new table (slot i = table index i)
  out.mpb.disks = keep.map((i) => out.mpb.disks[i]);
  for (const d of dropped) {
    const real = realSerial(diskSerial(d));
    if (real !== null) d.serial = serialBytes(real);
    d.status = DISK_STATUS.SPARE;
    out.spares.push(d);
  }
  map.numMembers = keep.length;
  map.ord = keep.map((_, i) => i);
  map.raidLevel = 0;
  map.numDomains = 1;
  map.mapState = MAP_STATE.NORMAL;
  map.failedDiskNum = FAILED_DISK_NONE;
  setNumDataStripes(
    map,
    Math.floor(Math.floor(volumeSectors(vol) / keep.length) / map.blocksPerStrip),
  );
  return out;
}

/**
 * The record standing for the disk missing at table index `index` after raid0 -> raid10:
 * mdmon copies one of its disk records, names it "MISSING_<index>", and marks it missing
 * (failed, serial renamed with ":0" and its first character dropped, scsi id all ones). Which
 * record mdmon copies depends on its in-memory disk list; mdts copies the volume's first
 * member (size and owner fields only show in -E while the slot waits for a spare).
 */
function missingRecord(template: ImsmDiskRecord, index: number): ImsmDiskRecord {
  const rec = structuredClone(template);
  rec.serial = serialBytes(failedSerial(` MISSING_${index}`).slice(1));
  rec.status = (rec.status | DISK_STATUS.FAILED) >>> 0;
  rec.scsiId = 0xffffffff;
  return rec;
}

/** raid0 with N members -> raid10 with 2N, every odd slot missing (R0_TO_R10). */
export function takeoverToRaid10(c: ImsmContainer, volIndex: number): ImsmContainer {
  const out = cloneContainer(c);
  const vol = requireVolume(out, volIndex);
  const hint = "raid0 -> raid10 takes a single idle raid0 volume in a normal state";
  const no = (field: string, value: number | string, problem: string): never => {
    throw new ImsmEditError({
      code: "bad-state",
      subject: `volume ${volumeName(vol)}`,
      field,
      value,
      problem,
      hint,
    });
  };
  if (out.mpb.volumes.length !== 1) {
    no("imsm_super.num_raid_devs", out.mpb.volumes.length, "takeover needs a single volume");
  }
  if (vol.migrState !== 0) no("imsm_vol.migr_state", vol.migrState, "the volume is migrating");
  const map = vol.maps[0];
  if (raidLevel(map) !== 0) {
    no("imsm_map.raid_level", raidLevel(map), "only a raid0 volume can be taken over to raid10");
  }
  if (map.mapState !== MAP_STATE.NORMAL) {
    no("imsm_map.map_state", map.mapState, "the volume is not in a normal state");
  }
  const members = map.ord.map((o) => out.mpb.disks[ordIndex(o)]);
  if (members.some((d) => d === undefined || isFailed(d))) {
    no("imsm_disk.status", "failed", "a member of the volume is failed or missing");
  }
  if (out.mpb.disks.length !== members.length) {
    no(
      "imsm_super.num_disks",
      out.mpb.disks.length,
      `the disk table holds ${out.mpb.disks.length} disks, the volume ${members.length}`,
    );
  }
  const n = members.length;
  const table: ImsmDiskRecord[] = [];
  members.forEach((d, i) => {
    table[2 * i] = d;
    table[2 * i + 1] = missingRecord(members[0], 2 * i + 1);
  });
  out.mpb.disks = table;
  map.raidLevel = 1;
  map.numDomains = 2;
  map.numMembers = 2 * n;
  map.ord = table.map((_, i) => (i % 2 === 1 ? (i | ORD_REBUILD) >>> 0 : i));
  map.mapState = MAP_STATE.DEGRADED;
  map.failedDiskNum = 1;
  // mdmon: the volume size over the data members (n), over the two copies, in strips
  setNumDataStripes(
    map,
    Math.floor(Math.floor(Math.floor(volumeSectors(vol) / n) / 2) / map.blocksPerStrip),
  );
  return out;
}
