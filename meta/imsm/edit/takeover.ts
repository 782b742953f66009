/**
 * Takeover of a mirrored volume to raid0 (mdmon's update_takeover, direction R10_TO_R0; spec
 * imsm-reshape.md §3): raid10 with 2N members -> raid0 with N, raid1 (2 members) -> raid0
 * with 1. No data moves: the grow process first fails one disk of every mirror pair (the
 * monitor records those failures), then this edit drops the failed disks from the disk table
 * (they become free spares), halves the member count, sets raid0, one domain, num_data_stripes
 * from the volume size, state normal. The volume size and per-member data are unchanged.
 */
import type { ImsmVolume } from "../model.ts";
import { DISK_STATUS, FAILED_DISK_NONE, MAP_STATE } from "../constants.ts";
import { diskSerial, isFailed, ordIndex, raidLevel, volumeName } from "../accessors.ts";
import { cloneContainer, type ImsmContainer } from "./container.ts";
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
  const vol = out.mpb.volumes[volIndex];
  if (!vol) {
    throw new ImsmEditError({
      code: "bad-state",
      subject: "container",
      field: "imsm_super.num_raid_devs",
      value: volIndex,
      problem: `no volume with index ${volIndex}`,
      hint: "name an existing subarray",
    });
  }
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
