/**
 * The monitor's copy of one container: its IMSM metadata, the disks that carry it (kernel
 * name, path, serial, size), and the rule for putting it back on the disks: only when it
 * changed, to the volume members only (free spares keep the records mdadm wrote for them),
 * through the kernel's write seam.
 */
import type { Kernel } from "../../kernel/interface.ts";
import { serialForImsm } from "../../kernel/devices.ts";
import { loadContainer, type MemberDisk, storeContainer } from "../imsm/store.ts";
import { readMetadata } from "../examine.ts";
import { serializeMpb } from "../../meta/imsm/mpb.ts";
import { diskSerial, ordIndex, volumeInGeneralMigration } from "../../meta/imsm/accessors.ts";
import { failedSerial, type ImsmContainer, prepareWrite } from "../../meta/imsm/edit/mod.ts";
import { diskFromDiskUnits } from "../../meta/imsm/edit/units.ts";
import { DISK_STATUS } from "../../meta/imsm/constants.ts";

/** A disk of the container as the kernel shows it. */
export interface ContainerDisk {
  /** Kernel name: vda. */
  name: string;
  path: string;
  /** MAJ:MIN. */
  majMin: string;
  serial: string;
  sizeBytes: bigint;
  sectorSize: number;
}

export type Env = (key: string) => string | undefined;

/** Lists the container's component disks with their IMSM serials. */
export async function containerDisks(
  kernel: Kernel,
  devnm: string,
  env: Env,
): Promise<ContainerDisk[]> {
  const out: ContainerDisk[] = [];
  for (const name of await kernel.md.memberNames(devnm)) {
    const info = await kernel.device(name);
    if (info === null) continue;
    const serial = serialForImsm(info, env)?.serial;
    if (serial === undefined) continue;
    out.push({
      name,
      path: info.path,
      majMin: `${info.major}:${info.minor}`,
      serial,
      sizeBytes: info.sizeBytes,
      sectorSize: info.logicalSectorSize,
    });
  }
  return out;
}

export class ContainerModel {
  #container: ImsmContainer;
  #disks: ContainerDisk[];
  /** MPB bytes of what is on the disks now (generation included), to skip needless writes. */
  #onDisk: Uint8Array;
  /** Serials in the disk table as last written: a spare among them just left a volume. */
  #tableSerials: Set<string>;
  /** Volume in general migration as last written or read. */
  #migratingOnDisk: number | null;
  /**
   * The grow's record for the next volume (mdts_next_record): written with the metadata write
   * that ends `from`'s migration and begins `to`'s, right after the MPB on the record disks,
   * so mdadm 4.2 never reads `to` migrating with a record at unit 0 in place. Dropped once a
   * write leaves `from`'s migration any other way.
   */
  nextRecord: { from: number; to: number; sector: Uint8Array } | null = null;
  writes = 0;

  private constructor(
    readonly kernel: Kernel,
    readonly devnm: string,
    container: ImsmContainer,
    disks: ContainerDisk[],
  ) {
    this.#container = container;
    this.#disks = disks;
    this.#onDisk = serializeMpb(container.mpb);
    this.#tableSerials = new Set(container.mpb.disks.map(diskSerial));
    this.#migratingOnDisk = volumeInGeneralMigration(container.mpb)?.index ?? null;
  }

  /** Keeps the grow's next record if `from` is the volume migrating now; whether it was kept. */
  setNextRecord(from: number, to: number, sector: Uint8Array): boolean {
    const now = volumeInGeneralMigration(this.#container.mpb)?.index ?? null;
    this.nextRecord = now === from && from !== to ? { from, to, sector } : null;
    return this.nextRecord !== null;
  }

  /** Reads the container's metadata from its disks (newest generation wins). */
  static async load(kernel: Kernel, devnm: string, env: Env): Promise<ContainerModel> {
    const disks = await containerDisks(kernel, devnm, env);
    if (disks.length === 0) {
      throw new Error(
        `${devnm}: the container has no disks with IMSM metadata; is it an IMSM container ` +
          `(metadata_version external:imsm)?`,
      );
    }
    const c = await loadContainer(kernel.blocks, disks.map((d) => d.path));
    return new ContainerModel(kernel, devnm, c, disks);
  }

  get container(): ImsmContainer {
    return this.#container;
  }

  set container(c: ImsmContainer) {
    this.#container = c;
  }

  get disks(): readonly ContainerDisk[] {
    return this.#disks;
  }

  diskByName(name: string): ContainerDisk | undefined {
    return this.#disks.find((d) => d.name === name);
  }

  serialOf(name: string): string | null {
    return this.diskByName(name)?.serial ?? null;
  }

  /** True when the in-memory metadata differs from what was last written or read. */
  get changed(): boolean {
    const now = serializeMpb(this.#container.mpb);
    if (now.length !== this.#onDisk.length) return true;
    for (let i = 0; i < now.length; i++) if (now[i] !== this.#onDisk[i]) return true;
    return false;
  }

  /** Writes the metadata to every working member if it changed; returns whether it wrote. */
  async flush(): Promise<boolean> {
    if (!this.changed) return false;
    const prepared = prepareWrite(this.#container);
    const members = new Set(prepared.container.mpb.disks.map(diskSerial));
    // a disk that left the volumes (a takeover to raid0 drops mirror halves) gets its spare
    // record, or it would keep claiming its old slot
    const left = new Set(
      prepared.container.spares.map(diskSerial).filter((s) =>
        this.#tableSerials.has(s) || this.#tableSerials.has(failedSerial(s))
      ),
    );
    let writes = prepared.writes.filter((w) => members.has(w.serial) || left.has(w.serial));
    const migrating = volumeInGeneralMigration(prepared.container.mpb)?.index ?? null;
    const next = this.nextRecord;
    if (next && this.#migratingOnDisk === next.from && migrating === next.to) {
      const map = prepared.container.mpb.volumes[next.to].maps[0];
      const recordDisks = map.ord.slice(0, 2).map((o) =>
        diskSerial(prepared.container.mpb.disks[ordIndex(o)])
      );
      // the record disks first: their MPB and record go out back to back
      writes = [
        ...writes.filter((w) => recordDisks.includes(w.serial)).map((w) => ({
          ...w,
          clearMigrationRecord: false,
          migrationRecord: next.sector,
        })),
        ...writes.filter((w) => !recordDisks.includes(w.serial)),
      ];
      this.nextRecord = null;
    } else if (next && migrating !== next.from) {
      this.nextRecord = null;
    }
    const targets: MemberDisk[] = [];
    for (const w of writes) {
      const d = this.#disks.find((x) => x.serial === w.serial);
      if (!d) continue; // a member that is not present (missing disk): nothing to write to
      targets.push({
        serial: d.serial,
        device: d.path,
        size: d.sizeBytes,
        sectorSize: d.sectorSize,
      });
    }
    const present = new Set(targets.map((t) => t.serial));
    await storeContainer(this.kernel.writer, targets, {
      container: prepared.container,
      writes: writes.filter((w) => present.has(w.serial)),
    });
    this.#container = prepared.container;
    this.#onDisk = serializeMpb(prepared.container.mpb);
    this.#tableSerials = members;
    this.#migratingOnDisk = migrating;
    this.writes++;
    return true;
  }

  /**
   * Re-reads the container's disk list; a disk that appeared is taken as a free spare when
   * its own metadata is a spare record (mdadm --add wrote it). Returns the new disks.
   */
  async refreshDisks(env: Env): Promise<ContainerDisk[]> {
    const now = await containerDisks(this.kernel, this.devnm, env);
    const known = new Set(this.#disks.map((d) => d.name));
    const added = now.filter((d) => !known.has(d.name));
    this.#disks = now;
    for (const d of added) {
      const serial = d.serial;
      const c = this.#container;
      const inTable = c.mpb.disks.some((x) => diskSerial(x) === serial) ||
        c.spares.some((x) => diskSerial(x) === serial);
      if (inTable) continue;
      try {
        const md = await readMetadata(this.kernel.blocks, d.path);
        const rec = md.mpb.disks.find((x) => diskSerial(x) === serial) ?? md.mpb.disks[0];
        if (md.mpb.volumes.length > 0 || !rec) continue;
        const spare = { ...diskFromDiskUnits(rec, md.sectorSize), status: DISK_STATUS.SPARE };
        this.#container = {
          ...c,
          spares: [...c.spares, spare],
        };
      } catch {
        // no readable IMSM record: not a spare we may use
      }
    }
    return added;
  }
}
