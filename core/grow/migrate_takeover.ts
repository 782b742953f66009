/**
 * raid10 -> raid0 and raid1 -> raid0 of an IMSM volume (`--grow /dev/md/VOL --level=0`): a
 * takeover, no data moves (spec imsm-reshape.md §3). In mdadm 4.2's order: freeze the volume
 * (sync_action frozen, metadata_version blocked: the monitor starts no rebuild), fail one disk
 * of every mirror pair in md (state faulty, slot none) and wait until the monitor has recorded
 * the failures, send the takeover update (R10_TO_R0: the monitor drops the failed disks from
 * the volume, they become spares), then md's level=raid0, then unfreeze.
 *
 * The pre-check refuses before any write when md does not show the expected shape or a kept
 * disk is not in sync. A failure after the first disk was failed leaves a degraded mirror
 * (data complete on the kept disks): the message says so and how to re-add the disk.
 */
import { loadPastTornReads } from "./torn_read.ts";
import type { Kernel } from "../../kernel/interface.ts";
import type { MdArray, MdMember } from "../../kernel/md/sysfs.ts";
import type { ImsmContainer } from "../../meta/imsm/edit/container.ts";
import { failedSerial } from "../../meta/imsm/edit/failure.ts";
import { diskSerial, isFailed, raidLevel } from "../../meta/imsm/accessors.ts";
import type { ContainerDisk } from "../monitor/container_model.ts";
import type { MonitorLink } from "./monitor_link.ts";

/** What a takeover does, decided by migrate_plan.ts. */
export type TakeoverPlan = TakeoverToRaid0Plan | TakeoverToRaid10Plan;

/** raid10/raid1 -> raid0: one disk of every mirror pair dropped. */
export interface TakeoverToRaid0Plan {
  kind: "takeover-to-raid0";
  container: string;
  /** md device of the volume (md126). */
  device: string;
  volumeIndex: number;
  name: string;
  from: { level: 1 | 10; members: number };
  to: { level: 0; members: number };
  /** Disks kept (slot order: new slot i) and dropped (one per mirror pair), by serial. */
  keep: string[];
  drop: string[];
  arraySectors: number;
}

/**
 * raid0 N -> raid10 2N: the members keep their data (member i in slot 2i), the odd slots
 * start missing and the monitor rebuilds them onto the container's spares.
 */
export interface TakeoverToRaid10Plan {
  kind: "takeover-to-raid10";
  container: string;
  device: string;
  volumeIndex: number;
  name: string;
  from: { level: 0; members: number };
  to: { level: 10; members: number };
  /** The members (slot order) and the spares the monitor will rebuild onto, by serial. */
  keep: string[];
  spares: string[];
  arraySectors: number;
}

export interface TakeoverContext<P extends TakeoverPlan = TakeoverToRaid0Plan> {
  kernel: Kernel;
  monitor: MonitorLink;
  plan: P;
  disks: ContainerDisk[];
  load(): Promise<ImsmContainer>;
  sleep?(ms: number): Promise<void>;
  now?(): number;
  log?(m: string): void;
  monitorTimeoutMs?: number;
}

export class TakeoverRunError extends Error {
  /** `leftAs`: what a failure after the first change leaves, and what to do about it. */
  constructor(
    readonly device: string,
    step: string,
    problem: string,
    readonly touched: boolean,
    leftAs = "the volume may be left as a degraded mirror (its data is complete on the kept " +
      "disks): re-add the dropped disk with mdadm --add to rebuild it, or run the same " +
      "--grow again",
  ) {
    super(`/dev/${device}: ${step}: ${problem}; ${touched ? leftAs : "nothing was changed"}`);
    this.name = "TakeoverRunError";
  }
}

/** raid10/raid1 -> raid0 update (type 7, direction R10_TO_R0). */
export function encodeTakeover(subarray: number, direction: 0 | 1): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setInt32(0, 7, true);
  v.setInt32(4, subarray, true);
  v.setInt32(8, direction, true);
  return out;
}

async function memberOf(array: MdArray, d: ContainerDisk): Promise<MdMember | null> {
  for (const m of await array.members()) if (m.name === d.name) return m;
  return null;
}

export async function runTakeoverToRaid0(ctx: TakeoverContext): Promise<void> {
  const { kernel, monitor, plan } = ctx;
  const sleep = ctx.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const now = ctx.now ?? (() => performance.now());
  const log = ctx.log ?? (() => {});
  const timeout = ctx.monitorTimeoutMs ?? 60_000;
  const load = () => loadPastTornReads(() => ctx.load(), { sleep, pollMs: 200, log });
  const dev = plan.device;
  const array = kernel.array(dev);
  const disk = (serial: string) => {
    const d = ctx.disks.find((x) => x.serial === serial);
    if (!d) {
      throw new TakeoverRunError(dev, "pre-check", `disk ${serial} is not in the container`, false);
    }
    return d;
  };
  // pre-check: md shows the mirror we planned, every kept disk in sync
  const level = (await array.level()).trim();
  if (level !== `raid${plan.from.level}`) {
    throw new TakeoverRunError(
      dev,
      "pre-check",
      `md level is ${level}, not raid${plan.from.level}`,
      false,
    );
  }
  for (const serial of plan.keep) {
    const m = await memberOf(array, disk(serial));
    const st = m ? await m.state() : [];
    if (!m || !st.includes("in_sync")) {
      throw new TakeoverRunError(
        dev,
        "pre-check",
        `kept disk ${disk(serial).path} is not an in-sync member (state ${
          st.join(",") || "absent"
        })`,
        false,
      );
    }
  }
  let touched = false;
  let step = "freeze";
  try {
    log(`freeze /dev/${dev}`);
    await array.setSyncAction("frozen");
    await array.setBlocked(true);
    await monitor.ping();
    step = "fail dropped disks";
    touched = true;
    for (const serial of plan.drop) {
      const d = disk(serial);
      const m = await memberOf(array, d);
      if (!m) continue;
      log(`fail ${d.path} in /dev/${dev}`);
      await m.setState("faulty");
      await m.setSlot(null).catch(() => {});
    }
    step = "wait for the monitor to record the failures";
    const deadline = now() + timeout;
    for (;;) {
      await monitor.ping();
      const c = await load();
      const failed = c.mpb.disks.filter((x) => isFailed(x)).map(diskSerial);
      if (plan.drop.every((s) => failed.includes(failedSerial(s)) || failed.includes(s))) break;
      if (now() > deadline) {
        throw new Error(
          `the monitor did not record ${plan.drop.join(", ")} as failed within ${timeout} ms`,
        );
      }
      await sleep(200);
    }
    step = "takeover update";
    log(`send takeover R10_TO_R0 for subarray ${plan.volumeIndex}`);
    await monitor.update(encodeTakeover(plan.volumeIndex, 0));
    const c = await load();
    const vol = c.mpb.volumes[plan.volumeIndex];
    if (raidLevel(vol.maps[0]) !== 0 || vol.maps[0].numMembers !== plan.to.members) {
      throw new Error(
        `the monitor did not record the takeover (metadata shows raid${
          raidLevel(vol.maps[0])
        } with ${vol.maps[0].numMembers} members); see its log`,
      );
    }
    step = "level=raid0";
    // the failed disks must have left md first (the monitor removes them)
    for (let i = 0; i < 50; i++) {
      const names = (await array.members()).map((m) => m.name);
      if (plan.drop.every((s) => !names.includes(disk(s).name))) break;
      await sleep(200);
    }
    await array.setLevel("raid0");
    const after = (await array.level()).trim();
    if (after !== "raid0") throw new Error(`md reads level ${after} after writing raid0`);
    step = "unfreeze";
    await array.setBlocked(false, true);
    await monitor.pingManager();
    await monitor.ping();
  } catch (e) {
    if (!touched) await array.setBlocked(false, true).catch(() => {});
    throw new TakeoverRunError(dev, step, (e as Error).message, touched);
  }
}

/**
 * raid0 -> raid10 in mdadm 4.2's order: block the volume (the monitor starts nothing while
 * the metadata and md disagree), send the takeover update (R0_TO_R10: the metadata says
 * raid10 degraded, odd slots missing), then md's level=raid10 (md keeps member i in slot 2i
 * and runs degraded), unblock and ask the monitor's manager to look: it puts spares into the
 * missing slots and md rebuilds them. The command returns once the rebuild is handed to the
 * monitor, as mdadm does.
 *
 * The pre-check refuses before any write unless md shows the raid0 planned with every
 * member in sync. A failure after the update leaves the metadata saying raid10 degraded: md
 * still runs raid0 until its level is changed, so the message says how to finish by hand.
 */
export async function runTakeoverToRaid10(
  ctx: TakeoverContext<TakeoverToRaid10Plan>,
): Promise<void> {
  const { kernel, monitor, plan } = ctx;
  const log = ctx.log ?? (() => {});
  const sleep = ctx.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const load = () => loadPastTornReads(() => ctx.load(), { sleep, pollMs: 200, log });
  const dev = plan.device;
  const array = kernel.array(dev);
  const level = (await array.level()).trim();
  if (level !== "raid0") {
    throw new TakeoverRunError(dev, "pre-check", `md level is ${level}, not raid0`, false);
  }
  const rd = await array.raidDisks();
  if (rd === null || rd.value !== plan.from.members || rd.old !== null) {
    throw new TakeoverRunError(
      dev,
      "pre-check",
      `md has raid_disks ${rd === null ? "unset" : rd.value}, the metadata ` +
        `${plan.from.members}`,
      false,
    );
  }
  for (const serial of plan.keep) {
    const d = ctx.disks.find((x) => x.serial === serial);
    const m = d ? await memberOf(array, d) : null;
    const st = m ? await m.state() : [];
    if (!d || !m || !st.includes("in_sync")) {
      throw new TakeoverRunError(
        dev,
        "pre-check",
        `member ${d?.path ?? serial} is not an in-sync member (state ${st.join(",") || "absent"})`,
        false,
      );
    }
  }
  let touched = false;
  let step = "freeze";
  try {
    log(`freeze /dev/${dev}`);
    await array.setBlocked(true);
    await monitor.ping();
    step = "takeover update";
    touched = true;
    log(`send takeover R0_TO_R10 for subarray ${plan.volumeIndex}`);
    await monitor.update(encodeTakeover(plan.volumeIndex, 1));
    const c = await load();
    const map = c.mpb.volumes[plan.volumeIndex]?.maps[0];
    if (!map || raidLevel(map) !== 10 || map.numMembers !== plan.to.members) {
      throw new Error(
        `the monitor did not record the takeover (metadata shows ${
          map ? `raid${raidLevel(map)} with ${map.numMembers} members` : "no volume"
        }); see its log`,
      );
    }
    step = "level=raid10";
    await array.setLevel("raid10");
    const after = (await array.level()).trim();
    const disks = (await array.raidDisks())?.value;
    if (after !== "raid10" || disks !== plan.to.members) {
      throw new Error(`md reads level ${after} with ${disks} raid disks after writing raid10`);
    }
    step = "unfreeze";
    await array.setBlocked(false, true);
    // the manager fills the missing slots with spares and starts the rebuild
    await monitor.pingManager();
    await monitor.ping();
  } catch (e) {
    if (!touched) await array.setBlocked(false, true).catch(() => {});
    throw new TakeoverRunError(
      dev,
      step,
      (e as Error).message,
      touched,
      `the metadata may already say raid10 (degraded) while md still runs raid0 with the ` +
        `data intact: write raid10 to /sys/block/${dev}/md/level and unblock the volume ` +
        `(its metadata_version back from "-" to "/"), or stop and assemble the container again`,
    );
  }
}
