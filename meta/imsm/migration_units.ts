/**
 * Size of one migration unit as mdadm reports it ("Checkpoint : N (blocks)"), per migration
 * type (mdadm *blocks_per_migr_unit* and helpers). Arithmetic is u32 like mdadm's; a zero
 * divisor (only possible in corrupt metadata) yields 0 instead of a crash.
 */
import { dataMembers, migrationType, raidLevel } from "./accessors.ts";
import { MIGR_TYPE } from "./constants.ts";
import type { ImsmMap, ImsmVolume, MigrationRecord } from "./model.ts";

const U32 = 0x1_0000_0000;
const u32 = (n: number) => ((n % U32) + U32) % U32;
const div = (a: number, b: number) => (b === 0 ? 0 : Math.floor(u32(a) / u32(b)));

/** blocks_per_strip of a map in 512-byte sectors (4K disks store 4K units). */
function strip(map: ImsmMap, sectorSize: number): number {
  return (map.blocksPerStrip * (sectorSize / 512)) & 0xffff;
}

function stripesPerUnitResync(vol: ImsmVolume, s: number): number {
  const lo = strip(vol.maps[0], s);
  const hi = strip(vol.maps[1], s);
  return Math.max(1, div(hi, lo));
}

function stripBlocksResync(vol: ImsmVolume, s: number): number {
  const level = raidLevel(vol.maps[0]);
  return level === 5 || level === 10 ? strip(vol.maps[0], s) : 256;
}

function stripBlocksRebuild(vol: ImsmVolume, s: number): number {
  const map = vol.maps[1];
  const chunk = strip(map, s);
  switch (raidLevel(map)) {
    case 1:
    case 10:
      if (map.numDomains === 0) return chunk;
      return map.numMembers % map.numDomains === 0 ? 256 : chunk;
    case 5:
      return Math.max(128, chunk);
    default:
      return 256;
  }
}

function parityDepth(vol: ImsmVolume, s: number): number {
  const map = vol.maps[0];
  const chunk = strip(map, s);
  switch (raidLevel(map)) {
    case 1:
    case 10:
      return u32(chunk * map.numDomains);
    case 5:
      return u32(chunk * map.numMembers);
    default:
      return chunk;
  }
}

function mapMigrBlock(vol: ImsmVolume, block: number, s: number): number {
  const map = vol.maps[1];
  const chunk = strip(map, s);
  const stripNo = div(block, chunk);
  const within = chunk === 0 ? 0 : u32(block) % chunk;
  switch (raidLevel(map)) {
    case 1:
    case 10: {
      const volStrip = u32(stripNo * map.numDomains + 1);
      return u32(div(volStrip, map.numMembers) * chunk + within);
    }
    case 5:
      return u32(div(stripNo, map.numMembers - 1) * chunk + within);
    default:
      return 0;
  }
}

/**
 * Sectors per migration unit of a migrating volume (0 when idle or unsupported). For a
 * general migration it is the record's blocks_per_unit (0 without a record).
 */
export function blocksPerMigrationUnit(
  vol: ImsmVolume,
  rec: MigrationRecord | null,
  sectorSize = 512,
): number {
  if (vol.migrState === 0 || vol.maps.length < 2) return 0;
  switch (migrationType(vol)) {
    case MIGR_TYPE.GEN_MIGR:
      return rec ? rec.blocksPerUnit : 0;
    case MIGR_TYPE.VERIFY:
    case MIGR_TYPE.REPAIR:
    case MIGR_TYPE.INIT: {
      const map = vol.maps[0];
      const disks = dataMembers(map) & 0xff;
      const unit = u32(
        stripesPerUnitResync(vol, sectorSize) * stripBlocksResync(vol, sectorSize) *
          disks,
      );
      const stripe = u32(strip(map, sectorSize) * disks);
      const segment = div(unit, stripe);
      const rel = u32(unit - segment * stripe);
      return u32(mapMigrBlock(vol, rel, sectorSize) + parityDepth(vol, sectorSize) * segment);
    }
    case MIGR_TYPE.REBUILD:
      return u32(stripBlocksRebuild(vol, sectorSize) * stripesPerUnitRebuild(vol, sectorSize));
    default:
      return 0;
  }
}

function stripesPerUnitRebuild(vol: ImsmVolume, s: number): number {
  const level = raidLevel(vol.maps[0]);
  if (level === 1 || level === 10) return vol.maps[1].numDomains;
  return stripesPerUnitResync(vol, s);
}
