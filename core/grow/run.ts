/**
 * Executes a container OCE plan (core/grow/plan.ts) through the Kernel port and the monitor:
 * freeze, the reshape_container_disks update, then per volume (in the order the monitor puts
 * them into migration) takeover, raid_disks, new disks, shape, reshape start, the checkpointed
 * window loop, the end of the migration, array size, takeover back; then unfreeze
 * (imsm-reshape.md §2.1-§2.5).
 *
 * Ordering rule of each window (safer than mdadm 4.2, which backs up before blocking I/O):
 * suspend user I/O to the window, then back up its critical unit to the copy area, flush,
 * record rec_status 1 (migration record + checkpoint update + ping), and only then let md
 * in (sync_max). After md finished the window: record rec_status 0 at the next unit.
 *
 * On a failure before md started reshaping, the level is put back and the container
 * unfrozen; after, md is stopped at its last checkpoint (sync_max kept), the suspend window
 * cleared and the container left frozen: the metadata and the migration record describe a
 * resumable reshape (--grow --continue or assembly continues it).
 */
import type { Kernel } from "../../kernel/interface.ts";
import type { MdArray } from "../../kernel/md/sysfs.ts";
import { isErrno } from "../../kernel/errno.ts";
import type { ImsmContainer } from "../../meta/imsm/edit/container.ts";
import type { ImsmVolume, MigrationRecord } from "../../meta/imsm/model.ts";
import { MIGR_REC_STATUS } from "../../meta/imsm/constants.ts";
import { loadPastTornReads } from "./torn_read.ts";
import {
  diskSerial,
  ordIndex,
  raidLevel,
  volumeInGeneralMigration,
  volumeName,
} from "../../meta/imsm/accessors.ts";
import {
  advanceCheckpoint,
  endMigration,
  initMigrationRecord,
} from "../../meta/imsm/edit/migration.ts";
import { serializeMigrationSector } from "../../meta/imsm/migration_record.ts";
import {
  decodeUpdate,
  encodeCheckpointUpdate,
  encodeNextRecordUpdate,
} from "../monitor/protocol.ts";
import { applyUpdate } from "../monitor/updates.ts";
import type { ContainerDisk } from "../monitor/container_model.ts";
import type { MemberReader } from "../restripe/copy.ts";
import type { GrowPlan, StepKind, VolumePlan } from "./plan.ts";
import { type MigrationGeometry, migrationGeometry } from "./geometry.ts";
import {
  checkpointUnit,
  criticalUnits,
  DEFAULT_TUNING,
  type Window,
  windowChain,
  type WindowTuning,
} from "./window.ts";
import { backupRecord, buildBackup } from "./backup.ts";
import {
  encodeContainerReshape,
  encodeReshapeMigration,
  isMdtsMonitor,
  type MonitorLink,
} from "./monitor_link.ts";
import { abortTakeover, backToRaid0, toParityLast } from "./takeover.ts";
import type { GrowProgress } from "./progress.ts";

export interface GrowContext {
  kernel: Kernel;
  monitor: MonitorLink;
  plan: GrowPlan;
  /** Every disk of the container (members and the spares being added). */
  disks: ContainerDisk[];
  /** Reads the container metadata as it is on the disks now. */
  load(): Promise<ImsmContainer>;
  sleep?(ms: number): Promise<void>;
  now?(): number;
  log?(message: string): void;
  progress?(p: GrowProgress): void;
  tuning?: WindowTuning;
  /** How often sync_completed is polled while md works a window. */
  pollMs?: number;
  /** How long the monitor may take to end a volume's migration in the metadata. */
  monitorTimeoutMs?: number;
}

/**
 * Where a running grow is: the plan's steps, except that the runner names one window at a
 * time and waits for the monitor to end the migration (the plan's "next-volume" is a loop).
 */
export type GrowStage =
  | Exclude<StepKind, "windows" | "next-volume">
  | "prepare-unit"
  | "window"
  | "migration-end"
  | "release-row";

/** A failed grow: where, on which device, and what state the disks were left in. */
export class GrowError extends Error {
  constructor(
    readonly stage: GrowStage,
    readonly device: string,
    problem: string,
    readonly leftResumable: boolean,
  ) {
    super(
      `/dev/${device}: ${stage}: ${problem}; ` +
        (leftResumable
          ? "the reshape stopped at its last checkpoint and the container stays frozen: " +
            "continue it with --grow --continue (or by assembling the container again)"
          : "nothing was reshaped; the container was unfrozen"),
    );
    this.name = "GrowError";
  }
}

export interface VolumeReport {
  device: string;
  windows: number;
  criticalWindows: number;
  seconds: number;
}

export interface GrowReport {
  volumes: VolumeReport[];
}

const MAX_SECTOR_TEXT = (1n << 63n) - 1n;

/** Unit 0 of a volume, backed up before the metadata shows it migrating (prepareUnit0). */
export interface PreparedUnit {
  volumeIndex: number;
  /** The raid0 volume was taken over to raid4/5 for it. */
  tookOver: boolean;
  /** The first windows, whose range of user writes stays suspended from the backup on. */
  chain: (Window & { hold: number })[];
  /** "unit 0 in the copy area", with the copy area's digest. */
  record: MigrationRecord;
  /** The metadata it was prepared for (the volume migrating). */
  container: ImsmContainer;
}

/** The grow state machine; core/grow/resume.ts drives it from a checkpoint. */
export class Runner {
  readonly kernel: Kernel;
  readonly monitor: MonitorLink;
  readonly plan: GrowPlan;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly log: (m: string) => void;
  readonly tuning: WindowTuning;
  readonly pollMs: number;
  readonly monitorTimeoutMs: number;
  frozen: string[] = [];
  stage: GrowStage = "freeze";
  device: string;
  /** md reshape started on the current volume: from here the disks must stay resumable. */
  reshaping = false;
  /** Unit 0 of the volume the monitor migrates next, backed up early (prepareFirstUnit, prepareNextUnit). */
  prepared: PreparedUnit | null = null;
  /** The next volume's record was handed to the monitor during the current volume's last windows. */
  handedOver = false;

  constructor(readonly ctx: GrowContext) {
    this.kernel = ctx.kernel;
    this.monitor = ctx.monitor;
    this.plan = ctx.plan;
    this.sleep = ctx.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = ctx.now ?? (() => performance.now());
    this.log = ctx.log ?? (() => {});
    this.tuning = { ...(ctx.tuning ?? DEFAULT_TUNING) };
    this.pollMs = ctx.pollMs ?? 100;
    this.monitorTimeoutMs = ctx.monitorTimeoutMs ?? 60_000;
    this.device = ctx.plan.container;
  }

  at(stage: GrowStage, device: string): void {
    this.stage = stage;
    this.device = device;
    this.log(`${stage} /dev/${device}`);
  }

  disk(serial: string): ContainerDisk {
    const d = this.ctx.disks.find((x) => x.serial === serial);
    if (!d) {
      throw new Error(
        `disk with serial ${serial} is not a component of /dev/${this.plan.container}`,
      );
    }
    return d;
  }

  /** The container as the disks say now, read again if torn (loadPastTornReads). */
  load(): Promise<ImsmContainer> {
    return loadPastTornReads(() => this.ctx.load(), this);
  }

  // ------------------------------------------------------------------ container steps

  async freeze(): Promise<void> {
    for (const v of this.plan.volumes) {
      this.at("freeze", v.device);
      const array = this.kernel.array(v.device);
      const action = await array.syncAction();
      if (action !== null) {
        if (action !== "idle" && action !== "recover" && action !== "frozen") {
          throw new Error(`sync_action is "${action}": the array is busy; wait until it is idle`);
        }
        await array.setSyncAction("frozen");
      }
      await array.setBlocked(true);
      this.frozen.push(v.device);
      await this.monitor.ping();
      const after = await array.syncAction();
      if (action !== null && after !== "frozen") {
        throw new Error(`sync_action reads "${after}" after freezing (a recovery started?)`);
      }
    }
  }

  async unfreeze(): Promise<void> {
    for (const devnm of [...this.frozen].reverse()) {
      const array = this.kernel.array(devnm);
      if (await array.exists()) await array.setBlocked(false, true);
    }
    this.frozen = [];
    await this.monitor.ping();
  }

  /** The update that puts the first volume into migration (the monitor applies it). */
  reshapeUpdate(): Uint8Array {
    return this.plan.change ? encodeReshapeMigration(this.plan.change) : encodeContainerReshape(
      this.plan.oldRaidDisks,
      this.plan.newRaidDisks,
      this.plan.spares.map((s) => s.majMin),
    );
  }

  async sendReshape(): Promise<void> {
    this.at("metadata-update", this.plan.container);
    await this.monitor.update(this.reshapeUpdate());
    await this.monitor.ping();
  }

  /**
   * Before the metadata says the first volume migrates: take a raid0 volume over (md has no
   * suspend range for raid0), suspend user writes to its first window, back unit 0 up to the
   * copy area and write the record "unit 0 is in the copy area" on the record disks. The
   * metadata then never shows this volume migrating with a record at unit 0 in place: mdadm
   * 4.2 takes that state for "reshape not started" and starts the volume in its new shape
   * over data still in the old one (seen on the real kernel: a cut there lost the volume
   * under mdadm's resume). While no migration is recorded, both tools ignore the record.
   */
  async prepareFirstUnit(): Promise<void> {
    const c0 = await this.load();
    const serialOfDev = (majMin: string) =>
      this.ctx.disks.find((d) => d.majMin === majMin)?.serial ?? null;
    const predicted = applyUpdate(c0, decodeUpdate(this.reshapeUpdate()), serialOfDev);
    const m = volumeInGeneralMigration(predicted.mpb);
    const v = m && this.plan.volumes.find((x) => x.index === m.index);
    if (!v) return; // nothing the runner would reshape first: no early backup
    this.at("prepare-unit", v.device);
    this.prepared = await this.prepareUnit0(v, predicted);
    try {
      await this.writeRecord(predicted, v, this.prepared.record, 0);
    } catch (e) {
      await this.unprepare(v, predicted, this.prepared.tookOver);
      throw e;
    }
  }

  /**
   * After volume `v`'s reshape (its record cleared), unit 0 of the volume the monitor puts
   * into migration next is backed up the same way, while `v` still migrates: the record
   * cannot name the next volume before the metadata does (a resume of `v` would take it for
   * its own), so volume() writes it as soon as the metadata shows the next volume migrating.
   * That leaves a poll and two sector writes between the two, where mdadm 4.2's own grow
   * leaves the record zeroed until its first backup of the next volume.
   */
  async prepareNextUnit(v: VolumePlan): Promise<boolean> {
    const c = await this.load();
    const now = volumeInGeneralMigration(c.mpb);
    // the monitor may have ended v's migration (and begun the next) already
    const predicted = now?.index === v.index ? endMigration(c, v.index) : c;
    const m = volumeInGeneralMigration(predicted.mpb);
    const next = m && m.index !== v.index
      ? this.plan.volumes.find((x) => x.index === m.index)
      : undefined;
    if (!next) return false;
    this.at("prepare-unit", next.device);
    this.prepared = await this.prepareUnit0(next, predicted);
    if (now?.index !== v.index || !(await this.monitorIsMdts())) return false;
    // mdts's monitor writes the record with the metadata write that begins the next volume;
    // mdmon 4.2 would not know the update (volume() writes the record anyway)
    const d = this.recordDisks(predicted, next)[0];
    const sector = serializeMigrationSector(this.prepared.record, d.sectorSize);
    await this.monitor.update(encodeNextRecordUpdate(v.index, next.index, sector));
    return true;
  }

  async monitorIsMdts(): Promise<boolean> {
    if (!this.monitor.version) return false;
    return isMdtsMonitor(await this.monitor.version().catch(() => ""));
  }

  /**
   * Unit 0 of `v` backed up to the copy area as `predicted` (the metadata once `v` migrates)
   * lays it out, with user writes to its first windows suspended from before the backup
   * until md reshaped them; a raid0 volume is taken over first (raid0 has no suspend range).
   */
  async prepareUnit0(v: VolumePlan, predicted: ImsmContainer): Promise<PreparedUnit> {
    const array = this.kernel.array(v.device);
    let tookOver = false;
    try {
      if (v.takeover && (await array.level()).trim() === "raid0") {
        await toParityLast(array, this.monitor, v.takeover.to);
        tookOver = true;
      }
      const g = migrationGeometry(predicted.mpb, v.index, v.componentSectors);
      const chain = windowChain(g.unit, 0, this.tuning);
      await array.setSuspendWindow(BigInt(chain[0].start), BigInt(chain[chain.length - 1].hold));
      const start = advanceCheckpoint(predicted, initMigrationRecord(predicted), 0).record;
      const record = await this.backup(predicted, g, start, 0);
      return { volumeIndex: v.index, tookOver, chain, record, container: predicted };
    } catch (e) {
      await array.clearSuspendWindow().catch(() => {});
      if (tookOver) await abortTakeover(array).catch(() => {});
      throw e;
    }
  }

  /**
   * The prepared unit of `v` if the metadata now migrating `v` (`c`) describes the same
   * migration as the prediction it was backed up for; otherwise it is dropped (its writes
   * unsuspended) and the volume goes the ordinary way.
   */
  async takePrepared(v: VolumePlan, c: ImsmContainer): Promise<PreparedUnit | null> {
    const p = this.prepared;
    if (!p || p.volumeIndex !== v.index) return null;
    const same = (x: ImsmContainer) =>
      JSON.stringify({
        g: migrationGeometry(x.mpb, v.index, v.componentSectors),
        r: [...serializeMigrationSector(initMigrationRecord(x), 512)],
      });
    if (same(c) === same(p.container)) return p;
    this.log(`volume ${v.name}: the metadata differs from the prediction; unit 0 backed up again`);
    this.prepared = null;
    // a record written for the prediction must not stay: resumes refuse a record "in the
    // copy area" of another geometry. Unit 0 in place is what the ordinary way starts from.
    await this.writeRecord(c, v, advanceCheckpoint(c, initMigrationRecord(c), 0).record, 0);
    await this.kernel.array(v.device).clearSuspendWindow();
    return null;
  }

  /** Undoes prepareFirstUnit when the metadata update was not sent (nothing migrates). */
  async unprepare(v: VolumePlan, c: ImsmContainer, tookOver: boolean): Promise<void> {
    const array = this.kernel.array(v.device);
    await array.clearSuspendWindow().catch(() => {});
    if (this.prepared) await this.writeRecord(c, v, null, 0).catch(() => {});
    if (tookOver) await abortTakeover(array).catch(() => {});
    this.prepared = null;
  }

  /** The volume's map already has the plan's new shape (members and, for a migration, chunk). */
  reached(v: VolumePlan, vol: ImsmVolume): boolean {
    const map = vol.maps[0];
    return map.numMembers === this.plan.newRaidDisks &&
      map.blocksPerStrip === v.new.chunkKiB * 2 && raidLevel(map) === v.new.level;
  }

  /** Waits until the metadata shows volume `index` in general migration. */
  async migratingVolume(v: VolumePlan): Promise<ImsmContainer | null> {
    const deadline = this.now() + this.monitorTimeoutMs;
    for (;;) {
      const c = await this.load();
      const m = volumeInGeneralMigration(c.mpb);
      if (m && m.index === v.index) return c;
      const vol = c.mpb.volumes[v.index];
      // grown already: with no migration left, or while a later volume migrates (a resume
      // after a cut between the two)
      if (vol && this.reached(v, vol) && (!m || vol.migrState === 0)) return null;
      if (this.now() > deadline) {
        throw new Error(
          `the monitor did not put volume ${v.name} into migration within ` +
            `${this.monitorTimeoutMs} ms (the metadata shows ${
              m ? `volume ${volumeName(m.volume)}` : "no volume"
            } migrating)`,
        );
      }
      await this.monitor.ping();
      await this.sleep(this.pollMs);
    }
  }

  // ------------------------------------------------------------------ one volume

  async volume(v: VolumePlan, number: number): Promise<VolumeReport> {
    const array = this.kernel.array(v.device);
    const started = this.now();
    await this.monitor.pingManager();
    await this.monitor.ping();
    const c = await this.migratingVolume(v);
    if (c === null) {
      this.log(`volume ${v.name} already has ${this.plan.newRaidDisks} members; skipped`);
      return { device: v.device, windows: 0, criticalWindows: 0, seconds: 0 };
    }
    const prepared = await this.takePrepared(v, c);
    // the metadata shows v migrating now: its prepared record goes to the disks at once
    if (prepared) await this.writeRecord(c, v, prepared.record, 0);
    let tookOver = prepared?.tookOver ?? false;
    try {
      // taken over already when its unit 0 was prepared
      if (v.takeover && (await array.level()).trim() === "raid0") {
        this.at("takeover", v.device);
        await toParityLast(array, this.monitor, v.takeover.to);
        tookOver = true;
      }
      const again = { onWritePending: () => this.monitor.ping() };
      this.at("set-raid-disks", v.device);
      await array.setRaidDisks(v.during.newRaidDisks, again);
      for (const nd of v.newDisks) {
        this.at("add-disk", v.device);
        const d = this.disk(nd.serial);
        await array.addMember(d.name, {
          offset: BigInt(v.dataStart),
          sizeKiB: BigInt(v.componentSectors / 2),
          slot: nd.slot,
          states: ["external_bbl"],
        });
      }
      this.at("impose-shape", v.device);
      await array.setChunkSize(v.new.chunkKiB * 1024);
      await array.setLayout(v.during.layout);
      await array.setRaidDisks(v.during.newRaidDisks, again);
      this.at("start-reshape", v.device);
      // a prepared unit 0 keeps its writes suspended until md reshaped it
      if (!prepared) await array.clearSuspendWindow();
      await array.setSyncMin(0n);
      await array.setSyncMax(0n);
      await this.startReshape(array);
      this.reshaping = true;
    } catch (e) {
      if (tookOver && !this.reshaping) await abortTakeover(array).catch(() => {});
      throw e;
    }
    return await this.reshapeAndFinish(v, array, number, started, 0);
  }

  /**
   * From md reshaping (or held at `fromUnit`'s position) to the volume's end: the window
   * loop from `fromUnit`, the end of the migration, the array size, the takeover back.
   */
  async reshapeAndFinish(
    v: VolumePlan,
    array: MdArray,
    number: number,
    started: number,
    fromUnit: number,
  ): Promise<VolumeReport> {
    this.reshaping = true;
    const c = await this.load();
    const windows = await this.windows(v, array, c, number, fromUnit);
    this.at("wait-idle", v.device);
    await this.waitIdle(array);
    // with the next volume's record handed to the monitor, the write that begins that volume
    // replaces this one's record (which stays true until then: a cut redoes the last window);
    // otherwise it is cleared, or mdadm would read it as the next volume's
    if (!this.handedOver) await this.clearRecords(v, c);
    this.handedOver = false;
    await array.clearSuspendWindow();
    this.reshaping = false;
    if (!this.prepared) await this.prepareNextUnit(v);
    this.at("migration-end", v.device);
    await this.waitMigrationEnd(v);
    this.at("array-size", v.device);
    const size = await array.arraySize();
    const want = BigInt(v.newArraySectors / 2);
    if (size === "default" || size < want) await array.setArraySize(want);
    if (v.takeover?.back === "raid0") {
      this.at("takeover-back", v.device);
      await backToRaid0(array);
      await this.monitor.pingManager();
      await this.monitor.ping();
    }
    return { device: v.device, ...windows, seconds: (this.now() - started) / 1000 };
  }

  async startReshape(array: MdArray): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        await array.setSyncAction("reshape");
        return;
      } catch (e) {
        if (!isErrno(e, "EBUSY") || attempt >= 5) throw e;
        await this.sleep(1000);
      }
    }
  }

  recordDisks(c: ImsmContainer, v: VolumePlan): ContainerDisk[] {
    const map = c.mpb.volumes[v.index].maps[0];
    return map.ord.slice(0, 2).map((o) => this.disk(diskSerial(c.mpb.disks[ordIndex(o)])));
  }

  /** `unit`: where the reshape is (the record's unit; the last unit when clearing it). */
  async writeRecord(
    c: ImsmContainer,
    v: VolumePlan,
    rec: MigrationRecord | null,
    unit: number,
  ): Promise<void> {
    for (const d of this.recordDisks(c, v)) {
      const size = await this.kernel.blocks.size(d.path);
      const ss = d.sectorSize;
      await this.kernel.writer.write({
        device: d.path,
        offset: size - BigInt(ss),
        data: serializeMigrationSector(rec, ss),
        purpose: "migration-record",
        what: rec === null
          ? `cleared migration record of ${d.path}`
          : `migration record of ${d.path}: unit ${rec.currMigrUnitLo}, status ${rec.recStatus}`,
        reshapeAt: { volume: v.name, unit },
      });
      await this.kernel.writer.flush(d.path);
    }
  }

  clearRecords(v: VolumePlan, c: ImsmContainer): Promise<void> {
    const units = migrationGeometry(c.mpb, v.index, v.componentSectors).unit.numUnits;
    return this.writeRecord(c, v, null, units);
  }

  /** Record on disk, then the monitor stores the unit in the MPB (update + ping). */
  async checkpoint(c: ImsmContainer, v: VolumePlan, rec: MigrationRecord): Promise<void> {
    const unit = BigInt(rec.currMigrUnitLo) + (BigInt(rec.currMigrUnitHi) << 32n);
    await this.writeRecord(c, v, rec, Number(unit));
    await this.monitor.update(encodeCheckpointUpdate(unit));
  }

  oldReader(g: MigrationGeometry, c: ImsmContainer): MemberReader {
    const vol = c.mpb.volumes[g.volumeIndex];
    const source = vol.maps[1].ord.map((o) => this.disk(diskSerial(c.mpb.disks[ordIndex(o)])));
    return async (member, sector, sectors) => {
      const d = source[member];
      if (!d) return null; // the empty parity slot of a raid0 taken over to raid4
      return await this.kernel.blocks.read(
        d.path,
        BigInt(g.dataStart + sector) * 512n,
        sectors * 512,
      );
    };
  }

  async backup(
    c: ImsmContainer,
    g: MigrationGeometry,
    rec: MigrationRecord,
    unit: number,
  ): Promise<MigrationRecord> {
    const images = await buildBackup(g, unit, this.oldReader(g, c));
    const pba = BigInt(rec.ckptAreaPbaLo) + (BigInt(rec.ckptAreaPbaHi) << 32n);
    // image i belongs at the copy area of the disk with table index i (mdadm's addressing)
    for (let i = 0; i < images.length; i++) {
      const d = this.disk(diskSerial(c.mpb.disks[i]));
      await this.kernel.writer.write({
        device: d.path,
        offset: pba * 512n,
        data: images[i],
        purpose: "copy-area",
        what: `copy area of ${d.path}: unit ${unit}, slot ${i}`,
        reshapeAt: { volume: g.volumeName, unit },
      });
    }
    for (let i = 0; i < images.length; i++) {
      await this.kernel.writer.flush(this.disk(diskSerial(c.mpb.disks[i])).path);
    }
    return backupRecord(advanceCheckpoint(c, rec, unit).record, unit, images);
  }

  async windows(
    v: VolumePlan,
    array: MdArray,
    c: ImsmContainer,
    number: number,
    fromUnit = 0,
  ): Promise<{ windows: number; criticalWindows: number }> {
    this.at("migration-record", v.device);
    const g = migrationGeometry(c.mpb, v.index, v.componentSectors);
    const u = g.unit;
    const prepared = fromUnit === 0 && this.prepared?.volumeIndex === v.index
      ? this.prepared
      : null;
    this.prepared = null;
    // a prepared record is on the disks since volume() saw the migration begin
    let rec = prepared?.record ?? advanceCheckpoint(c, initMigrationRecord(c), fromUnit).record;
    if (!prepared) await this.checkpoint(c, v, rec);
    const degradedAtStart = (await array.degraded()) ?? 0;
    let unit = fromUnit;
    let windows = 0;
    let critical = 0;
    let rate: number | null = null;
    this.stage = "window";
    while (unit < u.numUnits) {
      // md is held where that traps no I/O, maybe past w.end (holdWindow); user writes stay
      // suspended up to where md stops, which the next suspend range covers too. Where md
      // can only be held inside a row (wide grows), the range is not rewritten there: it
      // covers the windows up to the next trap-free hold (windowChain)
      const first = prepared !== null && unit === 0 && windows === 0;
      const chain: (Window & { hold: number })[] = first ? prepared.chain : windowChain(u, unit, {
        ...this.tuning,
        speedSectorsPerSecond: rate ?? this.tuning.speedSectorsPerSecond,
      });
      // the last windows, past the critical ones (the copy area is free): the next volume's
      // unit 0 is backed up now, so that its record goes out with the metadata write that
      // begins it (its writes stay suspended for these windows only)
      const lastCritical = Math.max(-1, ...criticalUnits(u));
      if (
        !this.prepared && !this.handedOver && unit > lastCritical &&
        checkpointUnit(u, chain[chain.length - 1].end) >= u.numUnits
      ) {
        this.handedOver = await this.prepareNextUnit(v);
        this.at("window", v.device); // a failure from here on is still this volume's
      }
      await array.setSuspendWindow(BigInt(chain[0].start), BigInt(chain[chain.length - 1].hold));
      for (const w of chain) {
        const hold = w.hold;
        // unit 0 of a prepared volume is in the copy area already, its writes suspended since
        if (w.critical) {
          if (!(first && w.start === 0)) {
            rec = await this.backup(c, g, rec, unit);
            await this.checkpoint(c, v, rec);
          }
          critical++;
        }
        const t0 = this.now();
        const target = BigInt(Math.ceil(hold / u.newDataDisks));
        await array.setSyncMax(target);
        await this.waitWindow(array, target);
        const seconds = (this.now() - t0) / 1000;
        if (seconds > 0) rate = (w.end - w.start) / seconds;
        const degraded = (await array.degraded()) ?? 0;
        if (degraded > degradedAtStart) {
          throw new Error(
            `degraded went from ${degradedAtStart} to ${degraded} during window ` +
              `${w.start}..${w.end}: a member failed`,
          );
        }
        unit = Math.min(checkpointUnit(u, w.end), u.numUnits);
        rec = advanceCheckpoint(c, rec, unit, MIGR_REC_STATUS.UNIT_SRC_NORMAL).record;
        rec.filler = new Uint8Array(64);
        // The end is not checkpointed (mdadm 4.2 does): md is done, and the monitor ends the
        // migration, clears the record and starts the next volume's migration by itself, maybe
        // already. A checkpoint update now is applied to whichever volume migrates (mdmon's
        // rule too), i.e. to the next one, which it would show at its last unit with its
        // reshape not begun (seen in the crash matrix: raid0 + raid5, volume 1 at "Checkpoint :
        // 8" before its reshape); a record "unit N" written after the monitor's clear names the
        // next volume's end if the two have the same geometry. A cut before the monitor ends
        // the migration redoes the last window from the previous checkpoint, which is safe as
        // for every window (it never overwrites its own source).
        if (unit < u.numUnits) await this.checkpoint(c, v, rec);
        windows++;
        this.ctx.progress?.({
          device: v.device,
          volume: number,
          volumes: this.plan.volumes.length,
          done: w.end,
          total: u.maxPosition,
          unit,
          units: u.numUnits,
          rate,
        });
      }
    }
    return { windows, criticalWindows: critical };
  }

  /** Until md reached `target` (per-device sectors) or finished the reshape. */
  async waitWindow(array: MdArray, target: bigint): Promise<void> {
    for (;;) {
      const done = await array.syncCompleted();
      if (done === "none") return;
      if (done !== null && done !== "delayed" && done.done >= target) return;
      const action = await array.syncAction();
      if (action !== "reshape") {
        if (action === "idle") return;
        throw new Error(`sync_action became "${action}" while waiting for sector ${target}`);
      }
      await this.sleep(this.pollMs);
    }
  }

  async waitIdle(array: MdArray): Promise<void> {
    while ((await array.syncAction()) === "reshape") {
      const done = await array.syncCompleted();
      if (done === "none") break;
      await this.sleep(this.pollMs);
    }
    for (let i = 0; i < 100 && (await array.reshapePosition()) !== "none"; i++) {
      await this.sleep(this.pollMs);
    }
  }

  /** The monitor ends the volume's migration when md went idle at the end. */
  async waitMigrationEnd(v: VolumePlan): Promise<void> {
    const deadline = this.now() + this.monitorTimeoutMs;
    for (;;) {
      await this.monitor.ping();
      const c = await this.load();
      const vol = c.mpb.volumes[v.index];
      if (vol.migrState === 0 && this.reached(v, vol)) return;
      if (this.now() > deadline) {
        throw new Error(
          `the reshape finished but the monitor did not end volume ${v.name}'s migration in ` +
            `the metadata within ${this.monitorTimeoutMs} ms`,
        );
      }
      await this.sleep(this.pollMs);
    }
  }

  /** After a failure: make the disks tell the truth and keep md from going past them. */
  async abort(keepFrozen: boolean): Promise<void> {
    const p = this.prepared;
    const pv = p && this.plan.volumes.find((x) => x.index === p.volumeIndex);
    if (pv) await this.kernel.array(pv.device).clearSuspendWindow().catch(() => {});
    if (this.reshaping) {
      const array = this.kernel.array(this.device);
      await array.write("suspend_lo", String(MAX_SECTOR_TEXT)).catch(() => {});
      await array.write("suspend_hi", "0").catch(() => {});
      await array.write("suspend_lo", "0").catch(() => {});
      await array.setSyncAction("idle").catch(() => {});
      await array.setSyncMin(0n).catch(() => {});
      return; // frozen stays: the reshape waits for --grow --continue
    }
    // the metadata already records the migration: stay frozen so it resumes from unit 0
    if (!keepFrozen) await this.unfreeze().catch(() => {});
  }
}

/** Runs the plan; throws GrowError with the disks left unchanged or resumable. */
export async function runGrowPlan(ctx: GrowContext): Promise<GrowReport> {
  const r = new Runner(ctx);
  const report: GrowReport = { volumes: [] };
  let sent = false;
  try {
    await r.freeze();
    await r.prepareFirstUnit();
    await r.sendReshape().catch(async (e) => {
      // refused or not delivered: nothing migrates, so the early backup is withdrawn
      const p = r.prepared;
      const v = p && ctx.plan.volumes.find((x) => x.index === p.volumeIndex);
      if (v) await r.unprepare(v, await r.load(), p.tookOver);
      throw e;
    });
    sent = true;
    let number = 0;
    for (const v of ctx.plan.volumes) report.volumes.push(await r.volume(v, ++number));
    r.at("unfreeze", ctx.plan.container);
    await r.unfreeze();
    return report;
  } catch (e) {
    const problem = e instanceof Error ? e.message : String(e);
    const stage = r.stage;
    const device = r.device;
    const resumable = r.reshaping || sent;
    await r.abort(resumable);
    throw new GrowError(stage, device, problem, resumable);
  }
}
