/**
 * The manager side: finds the container's member arrays in /proc/mdstat and hands them to
 * the monitor, notices disks added to the container (free spares), puts a spare into a
 * degraded volume and starts the rebuild, and turns control-socket requests into queued
 * metadata updates or pings. Every change it makes runs under the monitor's lock.
 */
import type { Kernel } from "../../kernel/interface.ts";
import { externalMemberOf } from "../../kernel/md/mdstat.ts";
import {
  blocksPerMember,
  diskSerial,
  isFailed,
  ordIndex,
  pbaOfLba0,
  raidLevel,
  totalBlocks,
} from "../../meta/imsm/accessors.ts";
import { MPB_SECTOR_CNT } from "../../meta/imsm/constants.ts";
import { type ImsmContainer, markRebuildingSlots } from "../../meta/imsm/edit/mod.ts";
import type { ContainerDisk, Env } from "./container_model.ts";
import { slotsNeedingDisk } from "./decide.ts";
import { type Log, Monitor } from "./monitor.ts";
import {
  encodeAck,
  encodePingReply,
  type Frame,
  PING_REPLY_VERSION,
  requestOf,
} from "./protocol.ts";
import { applyUpdate, describeUpdate } from "./updates.ts";

/** A spare chosen for a slot of a volume. */
export interface SparePick {
  disk: ContainerDisk;
  slot: number;
}

/**
 * Picks a disk for each slot of volume `index` that needs one: a container disk in no slot
 * of this volume, not failed, big enough for the volume's extent. Disks already serving the
 * same slot of another volume come first (mdadm keeps volumes on the same disks).
 */
export function pickSpares(
  c: ImsmContainer,
  index: number,
  disks: readonly ContainerDisk[],
  inArray: ReadonlySet<string>,
): SparePick[] {
  const vol = c.mpb.volumes[index];
  if (!vol) return [];
  const map = vol.maps[0];
  const need = pbaOfLba0(c.mpb, map) + blocksPerMember(c.mpb, map);
  const used = new Set<string>();
  map.ord.forEach((o) => {
    const d = c.mpb.disks[ordIndex(o)];
    if (d && !isFailed(d)) used.add(diskSerial(d));
  });
  const picks: SparePick[] = [];
  for (const slot of slotsNeedingDisk(c, index)) {
    const candidates = disks.filter((d) => {
      if (used.has(d.serial) || inArray.has(d.name)) return false;
      const rec = c.mpb.disks.find((x) => diskSerial(x) === d.serial) ??
        c.spares.find((x) => diskSerial(x) === d.serial);
      if (!rec || isFailed(rec)) return false;
      const sectors = rec ? totalBlocks(c.mpb, rec) : d.sizeBytes / 512n;
      return sectors - BigInt(MPB_SECTOR_CNT) >= need;
    });
    const sameSlotElsewhere = candidates.find((d) =>
      c.mpb.volumes.some((v, i) => {
        if (i === index) return false;
        const o = v.maps[0].ord[slot];
        const rec = o === undefined ? undefined : c.mpb.disks[ordIndex(o)];
        return rec !== undefined && diskSerial(rec) === d.serial;
      })
    );
    const pick = sameSlotElsewhere ?? candidates[0];
    if (!pick) continue;
    used.add(pick.serial);
    picks.push({ disk: pick, slot });
  }
  return picks;
}

export class Manager {
  constructor(
    readonly kernel: Kernel,
    readonly monitor: Monitor,
    readonly env: Env,
    readonly log: Log,
    /** Random family change on rebuild (mdadm adds a random number); injectable for tests. */
    readonly familyDelta: () => number = () => 1 + Math.floor(Math.random() * 0x7fffffff),
  ) {}

  get model() {
    return this.monitor.model;
  }

  get devnm(): string {
    return this.model.devnm;
  }

  /** One manager pass: arrays, container disks, spares. Returns the monitored arrays. */
  scan(): Promise<string[]> {
    return this.monitor.exclusive(async () => {
      await this.#discoverArrays();
      const added = await this.model.refreshDisks(this.env);
      for (const d of added) this.log(`${this.devnm}: disk ${d.name} (${d.serial}) appeared`);
      await this.#activateSpares();
      return [...this.monitor.arrays.keys()];
    });
  }

  async #discoverArrays(): Promise<void> {
    const mdstat = await this.kernel.mdstat();
    const seen = new Set<string>();
    for (const a of mdstat.arrays) {
      const m = externalMemberOf(a.superVersion);
      // an inactive entry is an array being assembled or just stopped: nothing to look after
      if (!m || m.container !== this.devnm || !a.active) continue;
      const index = Number(m.subarray);
      if (!Number.isInteger(index)) continue;
      seen.add(a.devnm);
      if (this.monitor.arrays.has(a.devnm)) continue;
      if (!Monitor.monitored(this.model.container, index)) continue;
      this.monitor.arrays.set(a.devnm, { devnm: a.devnm, index });
      this.log(`${a.devnm}: monitoring subarray ${index} of ${this.devnm}`);
      // as mdmon: the safe-mode delay that lets an idle array be marked clean
      try {
        await this.kernel.array(a.devnm).setSafeModeDelay(4);
      } catch (e) {
        this.log(`${a.devnm}: cannot set safe_mode_delay: ${(e as Error).message}`);
      }
    }
    // arrays that left /proc/mdstat stay until the monitor has seen them stopped and
    // recorded them clean
    for (const devnm of this.monitor.arrays.keys()) {
      if (!seen.has(devnm)) this.monitor.kick();
    }
  }

  async #activateSpares(): Promise<void> {
    for (const a of this.monitor.arrays.values()) {
      const array = this.kernel.array(a.devnm);
      const c = this.model.container;
      const vol = c.mpb.volumes[a.index];
      if (!vol || vol.migrState !== 0 || raidLevel(vol.maps[0]) === 0) continue;
      if (slotsNeedingDisk(c, a.index).length === 0) continue;
      const version = await array.metadataVersion().catch(() => null);
      if (version?.kind === "external-member" && version.blocked) continue;
      const state = await array.arrayState().catch(() => "clear");
      if (state === "clear" || state === "inactive" || state === "readonly") continue;
      const action = await array.syncAction();
      if (action !== "idle" && action !== null) continue;
      const members = await array.members();
      const inArray = new Set(members.map((m) => m.name));
      // a failed member still in a slot must leave first (the monitor removes it)
      let busySlot = false;
      for (const m of members) {
        if ((await m.state()).includes("faulty")) busySlot = true;
      }
      if (busySlot) continue;
      const picks = pickSpares(c, a.index, this.model.disks, inArray);
      if (picks.length === 0) continue;
      await this.#rebuildOnto(a.devnm, a.index, picks);
    }
  }

  async #rebuildOnto(devnm: string, index: number, picks: SparePick[]): Promise<void> {
    const array = this.kernel.array(devnm);
    const before = this.model.container;
    // every slot in one change, as mdmon activates them (a raid10 from raid0 misses two),
    // highest slot first as mdmon lists them: the disk table order follows (seen in the VM:
    // mdmon 4.2 left vda, vdb, vdd, vdc for slots 0, 2, 3, 1)
    const c = markRebuildingSlots(
      before,
      index,
      [...picks].sort((a, b) => b.slot - a.slot).map((p) => ({
        slot: p.slot,
        serial: p.disk.serial,
      })),
      this.familyDelta,
    );
    const vol = c.mpb.volumes[index];
    const map = vol.maps[0];
    const offset = pbaOfLba0(c.mpb, map);
    const sizeKiB = await array.componentSize();
    // the metadata says "rebuilding onto X" before md starts writing X
    this.model.container = c;
    await this.model.flush();
    for (const p of picks) {
      try {
        await array.addMember(p.disk.name, { offset, sizeKiB, slot: p.slot });
        this.log(`${devnm}: rebuilding slot ${p.slot} onto ${p.disk.name} (${p.disk.serial})`);
      } catch (e) {
        this.log(`${devnm}: cannot add ${p.disk.name} for rebuild: ${(e as Error).message}`);
        this.model.container = before;
        await this.model.flush();
        return;
      }
    }
    try {
      await array.setSyncAction("recover");
    } catch (e) {
      // md may have started the recovery on its own when the disk took the slot
      this.log(`${devnm}: sync_action <- recover: ${(e as Error).message}`);
    }
    this.monitor.kick();
  }

  /**
   * Handles one request frame; returns the reply frames. Updates are queued (acked at once,
   * as mdmon does); a ping is answered after a whole monitor pass, so every update sent
   * before it is applied and on disk when the reply arrives.
   */
  async handle(frame: Frame): Promise<Uint8Array[]> {
    const req = requestOf(frame);
    switch (req.kind) {
      case "ping-monitor":
        await this.monitor.waitForPass();
        return [encodePingReply(PING_REPLY_VERSION)];
      case "ping-manager":
        await this.monitor.waitForPass();
        await this.scan();
        return [encodeAck()];
      case "update": {
        const u = req.update;
        const what = describeUpdate(u, this.model.container);
        this.log(`update received: ${what}`);
        if (u.type === "mdts_next_record") {
          // not a metadata change: kept for the write that begins the next volume
          const kept = this.model.setNextRecord(u.from, u.to, u.sector);
          if (!kept) this.log(`update ignored: ${what}: subarray ${u.from} is not migrating`);
          return [encodeAck()];
        }
        this.monitor.queue.push({
          what,
          apply: (c) =>
            applyUpdate(
              c,
              u,
              (majMin) => this.model.disks.find((d) => d.majMin === majMin)?.serial ?? null,
              () => this.model.disks.map((d) => d.serial),
            ),
        });
        if (u.type === "add_remove_disk" || u.type === "create_array") {
          // the kernel side of these shows up in /proc/mdstat: look again after applying
          this.monitor.waitForPass().then(() => this.scan()).catch(() => {});
        } else {
          this.monitor.kick();
        }
        return [encodeAck()];
      }
    }
  }
}
