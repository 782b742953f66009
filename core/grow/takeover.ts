/**
 * md level changes around the OCE of a raid0 volume (imsm-reshape.md §2.3 step 4, §2.5
 * step 5): raid0 with K disks becomes raid4 with K+1 slots, the parity slot (the last) empty
 * and layout 5 (parity-last), so md can reshape it; after the reshape it goes back to raid0,
 * which md only accepts from parity-last with the parity slot still empty.
 */
import type { MdArray } from "../../kernel/md/sysfs.ts";
import type { MonitorLink } from "./monitor_link.ts";

export class TakeoverError extends Error {
  constructor(device: string, field: string, value: string, problem: string, hint: string) {
    super(`/dev/${device}: ${field}=${value}: ${problem}; ${hint}`);
    this.name = "TakeoverError";
  }
}

/**
 * raid0 -> raid4 (or raid5 for a raid0 -> raid5 migration), parity-last; the monitor is told
 * so it watches the array at its new level.
 */
export async function toParityLast(
  array: MdArray,
  monitor: MonitorLink,
  to: "raid4" | "raid5" = "raid4",
): Promise<void> {
  await array.setLevel(to);
  const level = (await array.level()).trim();
  const layout = (await array.layout()).value;
  if (level !== to || layout !== 5) {
    throw new TakeoverError(
      array.devnm,
      "level/layout",
      `${level}/${layout}`,
      `md did not take the raid0 volume over to ${to} parity-last (layout 5)`,
      "nothing was reshaped; the volume stays as it was",
    );
  }
  await array.setSyncAction("frozen");
  // A raid0 IMSM volume has no dirty state to record, and a monitor that ignores raid0
  // volumes would never answer md's write-pending: keep md active for the whole reshape so
  // neither raid_disks nor user writes wait on it.
  const state = await array.arrayState();
  if (state === "clean" || state === "read-auto" || state === "active-idle") {
    await array.setArrayState("active").catch(() => {});
  }
  await monitor.pingManager();
  await monitor.ping();
}

/** raid4 parity-last with an empty parity slot -> raid0. */
export async function backToRaid0(array: MdArray): Promise<void> {
  const action = await array.syncAction();
  if (action !== null && action !== "idle") await array.setSyncAction("idle");
  await array.setLevel("raid0");
  const level = (await array.level()).trim();
  if (level !== "raid0") {
    throw new TakeoverError(
      array.devnm,
      "level",
      level,
      "md did not return the volume to raid0 after its reshape",
      `the data is complete; write raid0 to /sys/block/${array.devnm}/md/level`,
    );
  }
}

/** Undo of toParityLast before any reshape started (the disks were not touched). */
export async function abortTakeover(array: MdArray): Promise<void> {
  const level = (await array.level()).trim();
  if (level === "raid0") return;
  await array.setSyncAction("idle").catch(() => {});
  await array.setLevel("raid0");
}
