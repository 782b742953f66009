/** Clean/dirty marking of a volume (mdmon on array_state changes, spec §4.1 `dirty`). */
import { DIRTY_FLAG, RWH_POLICY } from "../constants.ts";
import { cloneContainer, type ImsmContainer, requireVolume } from "./container.ts";

/** The volume was shut down consistent. */
export function markClean(c: ImsmContainer, volIndex: number): ImsmContainer {
  requireVolume(c, volIndex);
  const out = cloneContainer(c);
  out.mpb.volumes[volIndex].dirty = 0;
  return out;
}

/** Writes are in flight; with a PPL policy the PPL record is flagged valid as well. */
export function markDirty(c: ImsmContainer, volIndex: number): ImsmContainer {
  requireVolume(c, volIndex);
  const out = cloneContainer(c);
  const vol = out.mpb.volumes[volIndex];
  const ppl = vol.rwhPolicy === RWH_POLICY.DISTRIBUTED ||
    vol.rwhPolicy === RWH_POLICY.MULTIPLE_DISTRIBUTED;
  vol.dirty = DIRTY_FLAG.DIRTY | (ppl ? DIRTY_FLAG.DSRECORD_VALID : 0);
  return out;
}
