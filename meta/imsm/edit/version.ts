/**
 * Version string and attribute bits as mdadm 4.2 keeps them (spec §2.1): one volume on a
 * plain CHECKSUM_VERIFY container gets a legacy version chosen by its shape; otherwise
 * 1.3.00 and one attribute bit per level present (bits accumulate, they are never cleared).
 */
import type { ImsmSuper } from "../model.ts";
import { ATTRIBUTE, VOLUME_STATUS } from "../constants.ts";
import { raidLevel } from "../accessors.ts";
import { signatureWithVersion } from "./records.ts";

export const VERSION_ATTRIBUTES = "1.3.00";

const LEVEL_ATTRIBUTE: Record<number, number> = {
  0: ATTRIBUTE.RAID0,
  1: ATTRIBUTE.RAID1,
  10: ATTRIBUTE.RAID10,
  5: ATTRIBUTE.RAID5,
};

/** Updates `mpb.signature` and `mpb.attributes` in place from its volumes. */
export function updateVersionInfo(mpb: ImsmSuper): void {
  for (const vol of mpb.volumes) {
    const map = vol.maps[0];
    if (vol.sizeHigh > 0) mpb.attributes = (mpb.attributes | ATTRIBUTE.TWO_TB) >>> 0;
    let version: string;
    if (mpb.volumes.length > 1 || mpb.attributes >>> 0 !== ATTRIBUTE.CHECKSUM_VERIFY) {
      version = VERSION_ATTRIBUTES;
      mpb.attributes = (mpb.attributes | (LEVEL_ATTRIBUTE[raidLevel(map)] ?? 0)) >>> 0;
    } else if (map.numMembers >= 5) {
      version = "1.2.04";
    } else if (vol.status === VOLUME_STATUS.CLONE_N_GO) {
      version = "1.2.06";
    } else if (raidLevel(map) === 5) {
      version = "1.2.02";
    } else if (map.numMembers >= 3) {
      version = "1.2.01";
    } else if (raidLevel(map) === 1) {
      version = "1.1.00";
    } else {
      version = "1.0.00";
    }
    mpb.signature = signatureWithVersion(version);
  }
}
