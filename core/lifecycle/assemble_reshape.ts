/**
 * Assembly of a volume whose metadata records a general migration (a grow stopped by a
 * crash, a power cut or a killed grow process), spec imsm-reshape.md §5.2: decide the
 * restart point from the disks (core/grow/resume.ts), restore the critical section when the
 * record says the copy area holds it, then bring md up held at that point (old geometry,
 * reshape_position, new geometry, blocked, members, readonly). The caller starts the monitor
 * and the `--grow --continue` that moves md on.
 *
 * At unit 0 nothing has moved: the volume starts in its old geometry and the continue runs
 * the volume's whole reshape, as the grow would have.
 */
import type { Kernel } from "../../kernel/interface.ts";
import { MAX_SECTOR } from "../../kernel/md/sysfs.ts";
import { configureArray } from "../../kernel/md/create.ts";
import { parseMigrationRecord } from "../../meta/imsm/migration_record.ts";
import { diskSerial } from "../../meta/imsm/accessors.ts";
import { DISK_STATUS } from "../../meta/imsm/constants.ts";
import { loadContainer } from "../imsm/store.ts";
import { containerDisks } from "../monitor/container_model.ts";
import {
  applyRestore,
  decideResume,
  preGrowView,
  readResumeInput,
  reshapeShape,
  type ResumeDecision,
} from "../grow/resume.ts";
import type { Host } from "./host.ts";
import { startVolume, type VolumeComponent, volumeGeometry } from "./bringup.ts";

export interface MigratingStart {
  decision: ResumeDecision;
  /** Disks written by the restore (0 when nothing had to be restored). */
  restored: number;
  /** Members given to md, and how many of them the grow adds. */
  devices: number;
  expansion: number;
}

/**
 * Decides the restart of the container's migrating volume and restores its critical section
 * (nothing is written when the disks cannot be trusted: the error says why).
 */
export async function prepareMigratingVolume(
  kernel: Kernel,
  host: Host,
  containerDevnm: string,
): Promise<{ decision: ResumeDecision; restored: number }> {
  const disks = await containerDisks(kernel, containerDevnm, (k) => host.env(k));
  const c = await loadContainer(kernel.blocks, disks.map((d) => d.path));
  const input = await readResumeInput(kernel.blocks, c, disks, parseMigrationRecord);
  if (input === null) throw new Error(`/dev/${containerDevnm}: no volume is migrating`);
  const decision = await decideResume(input);
  if (decision === null) throw new Error(`/dev/${containerDevnm}: no volume is migrating`);
  const restored = await applyRestore(kernel.writer, c, decision, disks);
  return { decision, restored };
}

/** Brings md up for the migrating volume, held where the decision says. */
export async function startMigratingVolume(
  kernel: Kernel,
  host: Host,
  devnm: string,
  containerDevnm: string,
  d: ResumeDecision,
  bySerial: Map<string, string>,
): Promise<{ devices: number; expansion: number }> {
  const disks = await containerDisks(kernel, containerDevnm, (k) => host.env(k));
  const c = await loadContainer(kernel.blocks, disks.map((x) => x.path));
  const index = d.volumeIndex;
  const array = kernel.array(devnm);
  if (d.fresh) {
    // nothing moved yet: the old volume, its old members, blocked until the continue runs
    const pre = preGrowView(c);
    const g = volumeGeometry(pre.view.mpb, index);
    const components: VolumeComponent[] = [];
    g.slotDisks.forEach((di, slot) => {
      const rec = pre.view.mpb.disks[di];
      if (rec === undefined || (rec.status & DISK_STATUS.FAILED) !== 0) return;
      const name = bySerial.get(diskSerial(rec));
      if (name !== undefined) components.push({ name, slot });
    });
    components.sort((a, b) => b.slot - a.slot);
    await startVolume(
      kernel,
      devnm,
      containerDevnm,
      index,
      g,
      components,
      false,
      () => array.setBlocked(true),
    );
    return { devices: components.length, expansion: 0 };
  }
  const s = reshapeShape(c, index);
  await configureArray(array, {
    metadataVersion: `external:/${containerDevnm}/${index}`,
    level: s.level,
    raidDisks: s.oldRaidDisks,
    chunkBytes: s.oldChunkBytes,
    layout: s.oldLayout,
    componentKiB: s.componentKiB,
    arrayKiB: s.arrayKiB,
    resyncStart: "none",
  });
  await array.write("reshape_position", String(d.position));
  await array.setChunkSize(s.chunkBytes);
  await array.setLayout(s.layout);
  await array.write("raid_disks", String(s.newRaidDisks));
  // the monitor must leave it alone until the continue holds it (mdadm blocks it here too)
  await array.setBlocked(true);
  const oldMembers = c.mpb.volumes[index].maps[1].numMembers;
  let devices = 0;
  let expansion = 0;
  for (let slot = s.slotDisks.length - 1; slot >= 0; slot--) {
    const rec = c.mpb.disks[s.slotDisks[slot]];
    if (rec === undefined || (rec.status & DISK_STATUS.FAILED) !== 0) continue;
    const name = bySerial.get(diskSerial(rec));
    if (name === undefined) continue;
    const dev = await kernel.md.blockDevNumber(name);
    if (dev === null) throw new Error(`${devnm}: cannot add ${name}: no such block device`);
    await array.addDevice(dev);
    const m = array.member(name);
    await m.setOffset(s.offset);
    await m.setSize(s.componentKiB);
    await m.setState("insync");
    await m.setSlot(slot);
    await m.write("recovery_start", String(MAX_SECTOR));
    await m.setState("external_bbl");
    devices++;
    if (slot >= oldMembers) expansion++;
  }
  await array.setArrayState("readonly");
  return { devices: devices - expansion, expansion };
}
