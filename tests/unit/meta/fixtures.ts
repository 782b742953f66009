/**
 * Loads the real mdadm 4.2 fixtures of tests/fixtures/imsm (see its README.md): per case a
 * meta.json, gzipped 4 MiB device tails and the `mdadm -E` text of each disk.
 */
import { gunzipSync } from "node:zlib";

export const FIXTURE_ROOT = new URL("../../fixtures/imsm/", import.meta.url);

export interface FixtureDisk {
  caseName: string;
  index: number;
  /** Device name mdadm used, e.g. "/dev/vda" (also the disk serial in these fixtures). */
  device: string;
  diskSize: bigint;
  sectorSize: number;
  tailOffset: bigint;
  /** The last 4 MiB of the disk, uncompressed. */
  tail: Uint8Array;
  examineText: string;
}

export interface FixtureCase {
  name: string;
  disks: FixtureDisk[];
  briefScan: string | null;
}

interface MetaJson {
  disks: {
    index: number;
    device: string;
    disk_size_bytes: number;
    logical_sector_size: number;
    tail_file: string;
    tail_offset_bytes: number;
    examine_file: string;
  }[];
}

export function fixtureCaseNames(): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(FIXTURE_ROOT)) if (e.isDirectory) names.push(e.name);
  return names.sort();
}

const cache = new Map<string, FixtureCase>();

export function loadFixtureCase(name: string): FixtureCase {
  const hit = cache.get(name);
  if (hit) return hit;
  const dir = new URL(`${name}/`, FIXTURE_ROOT);
  const meta = JSON.parse(Deno.readTextFileSync(new URL("meta.json", dir))) as MetaJson;
  const disks = meta.disks.map((d) => ({
    caseName: name,
    index: d.index,
    device: d.device,
    diskSize: BigInt(d.disk_size_bytes),
    sectorSize: d.logical_sector_size,
    tailOffset: BigInt(d.tail_offset_bytes),
    tail: new Uint8Array(gunzipSync(Deno.readFileSync(new URL(d.tail_file, dir)))),
    examineText: Deno.readTextFileSync(new URL(d.examine_file, dir)),
  }));
  let briefScan: string | null = null;
  try {
    briefScan = Deno.readTextFileSync(new URL("examine-brief-scan.txt", dir));
  } catch {
    briefScan = null;
  }
  const c = { name, disks, briefScan };
  cache.set(name, c);
  return c;
}

export function allFixtureDisks(): FixtureDisk[] {
  return fixtureCaseNames().flatMap((n) => loadFixtureCase(n).disks);
}
