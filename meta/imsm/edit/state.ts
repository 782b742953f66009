/** Clean/dirty marking of a volume (mdmon on array_state changes, spec §4.1 `dirty`). */
import { DIRTY_FLAG, RWH_POLICY } from "../constants.ts";
import { cloneContainer, type ImsmContainer } from "./container.ts";
import { ImsmEditError } from "./errors.ts";

function check(c: ImsmContainer, volIndex: number): void {
  if (!c.mpb.volumes[volIndex]) {
    throw new ImsmEditError({
      code: "bad-state",
      subject: "container",
      field: "imsm_super.num_raid_devs",
      value: volIndex,
      problem: `no volume with index ${volIndex}`,
      hint: "name an existing subarray",
    });
  }
}

/** The volume was shut down consistent. */
export function markClean(c: ImsmContainer, volIndex: number): ImsmContainer {
  check(c, volIndex);
  const out = cloneContainer(c);
  out.mpb.volumes[volIndex].dirty = 0;
  return out;
}

/** Writes are in flight; with a PPL policy the PPL record is flagged valid as well. */
export function markDirty(c: ImsmContainer, volIndex: number): ImsmContainer {
  check(c, volIndex);
  const out = cloneContainer(c);
  const vol = out.mpb.volumes[volIndex];
  const ppl = vol.rwhPolicy === RWH_POLICY.DISTRIBUTED ||
    vol.rwhPolicy === RWH_POLICY.MULTIPLE_DISTRIBUTED;
  vol.dirty = DIRTY_FLAG.DIRTY | (ppl ? DIRTY_FLAG.DSRECORD_VALID : 0);
  return out;
}
