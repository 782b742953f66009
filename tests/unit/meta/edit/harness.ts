/** Shared helpers of the editor tests: fixture metadata, rendering a write into a disk tail. */
import assert from "node:assert/strict";
import {
  type ImsmSuper,
  type MigrationRecord,
  type ParsedMetadata,
  parseMetadata,
  parseMpb,
  placeMpb,
  serializeMigrationSector,
} from "../../../../meta/imsm/mod.ts";
import { type DiskWrite, prepareWrite } from "../../../../meta/imsm/edit/write.ts";
import type { ImsmContainer, NewDisk } from "../../../../meta/imsm/edit/container.ts";
import { type FixtureDisk, loadFixtureCase } from "../fixtures.ts";

export interface LoadedDisk {
  fixture: FixtureDisk;
  parsed: ParsedMetadata;
}

export function loadCase(name: string): LoadedDisk[] {
  return loadFixtureCase(name).disks.map((fixture) => ({
    fixture,
    parsed: parseMetadata(fixture.tail, {
      diskSize: fixture.diskSize,
      sectorSize: fixture.sectorSize,
      device: fixture.device,
    }),
  }));
}

/** The disks of a case as offered to newContainer (serial = device name in these fixtures). */
export function newDisks(disks: LoadedDisk[]): NewDisk[] {
  return disks.map((d) => ({
    serial: d.fixture.device,
    sizeSectors: Number(d.fixture.diskSize / 512n),
    sectorSize: d.fixture.sectorSize,
  }));
}

export function diskByDevice(disks: LoadedDisk[], device: string): LoadedDisk {
  const d = disks.find((x) => x.fixture.device === device);
  assert.ok(d, `fixture disk ${device}`);
  return d;
}

export function writeFor(writes: DiskWrite[], serial: string): DiskWrite {
  const w = writes.find((x) => x.serial === serial);
  assert.ok(w, `a write for ${serial}`);
  return w;
}

/**
 * The last 4 MiB of each disk of a case as our writes leave them, starting from zeroed
 * disks: MPB sectors placed at the anchor (extension first), migration sectors zeroed when
 * a write says so or set by writeRecord. Sectors a later, shorter MPB does not cover keep
 * what earlier writes put there, exactly as on the real disk.
 */
export class DiskTails {
  readonly tails = new Map<string, Uint8Array>();

  constructor(private readonly disks: LoadedDisk[]) {
    for (const d of disks) this.tails.set(d.fixture.device, new Uint8Array(d.fixture.tail.length));
  }

  private disk(serial: string): LoadedDisk {
    return diskByDevice(this.disks, serial);
  }

  /** Applies the writes of one prepareWrite and returns the container to continue with. */
  write(c: ImsmContainer): ImsmContainer {
    const prepared = prepareWrite(c);
    assertWritesSound(prepared.writes);
    for (const w of prepared.writes) {
      const f = this.disk(w.serial).fixture;
      const tail = this.tails.get(w.serial)!;
      if (w.clearMigrationRecord) tail.fill(0, tail.length - f.sectorSize);
      for (const p of placeMpb(w.bytes, f.diskSize, f.sectorSize, w.padding)) {
        tail.set(p.data, Number(p.offset - f.tailOffset));
      }
    }
    return prepared.container;
  }

  /** The grow process writing the migration record (slot 0/1 members only). */
  writeRecord(serial: string, rec: MigrationRecord | null): void {
    const f = this.disk(serial).fixture;
    const tail = this.tails.get(serial)!;
    tail.set(serializeMigrationSector(rec, f.sectorSize), tail.length - f.sectorSize);
  }

  /** Volume data in the fixture tail the metadata writer does not produce (copy area). */
  copyFromFixture(serial: string, start: number, end: number): void {
    this.tails.get(serial)!.set(this.disk(serial).fixture.tail.subarray(start, end), start);
  }

  assertMatches(label: string, only?: string[]): void {
    for (const d of this.disks) {
      if (only && !only.includes(d.fixture.device)) continue;
      assertTailEqual(d, this.tails.get(d.fixture.device)!, `${label} ${d.fixture.device}`);
    }
  }
}

/** Field diff first (readable), then the whole tail byte for byte. */
export function assertTailEqual(disk: LoadedDisk, mine: Uint8Array, label: string): void {
  const f = disk.fixture;
  const parsedMine = parseMetadata(mine, {
    diskSize: f.diskSize,
    sectorSize: f.sectorSize,
    device: f.device,
  });
  assert.equal(parsedMine.checksumValid, true, `${label}: checksum`);
  assert.deepEqual(parsedMine.mpb, disk.parsed.mpb, `${label}: MPB fields`);
  assert.deepEqual(parsedMine.migrationRecord, disk.parsed.migrationRecord, `${label}: record`);
  const first = mine.findIndex((b, i) => b !== f.tail[i]);
  assert.equal(first, -1, `${label}: first differing tail byte at ${first}`);
}

/** Every write re-parses, with a valid checksum, to the model it claims to write. */
export function assertWritesSound(writes: DiskWrite[]): void {
  for (const w of writes) {
    const parsed = parseMpb(w.bytes, { device: w.serial });
    assert.equal(parsed.checksumValid, true, `${w.serial}: checksum`);
    assert.deepEqual(parsed.mpb, w.mpb, `${w.serial}: model round trip`);
  }
}

/** The shared MPB of a case (all members carry the same one). */
export function caseMpb(disks: LoadedDisk[], device = disks[0].fixture.device): ImsmSuper {
  return diskByDevice(disks, device).parsed.mpb;
}
