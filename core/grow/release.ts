/**
 * A grow stopped (killed, crashed process) after it froze the volumes and prepared the first
 * unit, but before the monitor recorded the migration: the metadata describes the old shape,
 * so there is nothing to continue, but md may still hold what the grow did to it in memory:
 * volumes frozen (metadata_version external:-mdX/N), user writes to the first window
 * suspended, a raid0 volume taken over to raid4/5 with an empty parity slot. `--grow
 * --continue` puts such volumes back the way the metadata describes them.
 */
import type { Kernel } from "../../kernel/interface.ts";
import type { ImsmContainer } from "../../meta/imsm/edit/container.ts";
import { raidLevel, volumeInGeneralMigration } from "../../meta/imsm/accessors.ts";
import { backToRaid0 } from "./takeover.ts";

/**
 * Undoes, on each assembled volume of a container with no migration recorded, what a grow
 * stopped before its metadata update left in md. Returns what was done, one line per change
 * (empty: nothing to undo). `volumeDevices[i]`: md device of volume i, null if not assembled.
 */
export async function releaseUnstartedGrow(
  kernel: Kernel,
  c: ImsmContainer,
  volumeDevices: (string | null)[],
): Promise<string[]> {
  if (volumeInGeneralMigration(c.mpb) !== null) {
    throw new Error("releaseUnstartedGrow: a volume is migrating; continue the reshape instead");
  }
  const done: string[] = [];
  for (const [i, dev] of volumeDevices.entries()) {
    const vol = c.mpb.volumes[i];
    if (dev === null || !vol) continue;
    const array = kernel.array(dev);
    const hi = await array.suspendHi();
    if (hi !== null && hi > 0n) {
      await array.clearSuspendWindow();
      done.push(`/dev/${dev}: user writes below sector ${hi} were suspended; released`);
    }
    const level = await array.level();
    if (raidLevel(vol.maps[0]) === 0 && (level === "raid4" || level === "raid5")) {
      // the parity slot of a takeover is empty until disks are added, which only happens
      // after the metadata update: md takes it back to raid0 as it was
      await backToRaid0(array);
      done.push(`/dev/${dev}: ${level} of a stopped grow taken back to raid0 (its metadata level)`);
    }
    const v = await array.metadataVersion();
    if (v.kind === "external-member" && v.blocked) {
      await array.setBlocked(false, true);
      done.push(`/dev/${dev}: unfrozen`);
    }
  }
  return done;
}
