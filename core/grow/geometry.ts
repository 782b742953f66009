/**
 * The geometry of one general migration (OCE) of an IMSM volume, derived from its two maps:
 * how md lays out the old and the new data, and mdadm's migration-unit arithmetic
 * (spec imsm-reshape.md §2.4, imsm-format.md §7-§8). Pure.
 */
import type { ImsmSuper, ImsmVolume } from "../../meta/imsm/model.ts";
import { dataMembers, ordIndex, raidLevel, volumeName } from "../../meta/imsm/accessors.ts";
import { destDepthPerUnit, numMigrationUnits } from "../../meta/imsm/sizes.ts";
import { mapPba } from "../../meta/imsm/edit/records.ts";
import { imsmGeometry, type StripeGeometry } from "../restripe/layout.ts";

/** Migration-unit arithmetic shared by the window choice, backup and restore. */
export interface UnitGeometry {
  /** Array sectors per unit = destDepth x new data disks. */
  blocksPerUnit: number;
  /** Member sectors per unit (copy-area length). */
  destDepth: number;
  numUnits: number;
  /** Array sectors of the new layout the reshape covers (component size x new data disks). */
  maxPosition: number;
  oldDataDisks: number;
  newDataDisks: number;
  /** Old-geometry stripe row in array sectors (old chunk x old data disks). */
  oldStripeSectors: number;
  /**
   * Array sectors md's reshape moves by (new data disks x the larger chunk): the positions at
   * which md can be held by sync_max are its multiples.
   */
  reshapeStepSectors: number;
}

export interface MigrationGeometry {
  volumeIndex: number;
  volumeName: string;
  /** IMSM level of the volume (0 or 5; the md takeover level is not visible here). */
  level: 0 | 5;
  /** Where the old data is (md geometry of map[1]). */
  source: StripeGeometry;
  /** Where it goes (map[0]); also the layout mdadm 4.2 uses in the copy area. */
  dest: StripeGeometry;
  /** pba_of_lba0: first data sector on every member. */
  dataStart: number;
  /** Per-member data sectors (md component_size). */
  componentSectors: number;
  /** Destination slot -> disk-table index. */
  slotDisk: number[];
  unit: UnitGeometry;
}

export class MigrationGeometryError extends Error {
  constructor(readonly subject: string, field: string, value: unknown, problem: string) {
    super(`${subject}: ${field}=${String(value)}: ${problem}`);
    this.name = "MigrationGeometryError";
  }
}

function stripeOf(vol: ImsmVolume, mapIndex: number): StripeGeometry {
  const map = vol.maps[mapIndex];
  const level = raidLevel(map);
  if (level !== 0 && level !== 5 && level !== 10) {
    throw new MigrationGeometryError(
      `volume ${volumeName(vol)}`,
      `map[${mapIndex}].raid_level`,
      level,
      "only raid0, raid5 and raid10 maps can be restriped",
    );
  }
  return imsmGeometry(level, map.numMembers, map.blocksPerStrip);
}

/** Unit arithmetic as mdadm's init_migr_record_imsm computes it. */
export function unitGeometry(
  source: StripeGeometry,
  dest: StripeGeometry,
  oldDataDisks: number,
  newDataDisks: number,
  componentSectors: number,
): UnitGeometry {
  const destDepth = destDepthPerUnit(dest.chunkSectors, source.chunkSectors);
  const blocksPerUnit = destDepth * newDataDisks;
  return {
    blocksPerUnit,
    destDepth,
    numUnits: numMigrationUnits(componentSectors, newDataDisks, blocksPerUnit),
    maxPosition: componentSectors * newDataDisks,
    oldDataDisks,
    newDataDisks,
    oldStripeSectors: source.chunkSectors * oldDataDisks,
    reshapeStepSectors: Math.max(source.chunkSectors, dest.chunkSectors) * newDataDisks,
  };
}

/** Geometry of the volume `index` of `mpb`, which must be in a two-map migration. */
export function migrationGeometry(
  mpb: ImsmSuper,
  index: number,
  componentSectors: number,
): MigrationGeometry {
  const vol = mpb.volumes[index];
  if (!vol || vol.maps.length < 2) {
    throw new MigrationGeometryError(
      `volume ${index}`,
      "imsm_vol.migr_state",
      vol?.migrState ?? "absent",
      "the volume is not migrating (one map)",
    );
  }
  const source = stripeOf(vol, 1);
  const dest = stripeOf(vol, 0);
  const level = raidLevel(vol.maps[0]);
  const oldData = dataMembers(vol.maps[1]);
  const newData = dataMembers(vol.maps[0]);
  return {
    volumeIndex: index,
    volumeName: volumeName(vol),
    level: level === 5 ? 5 : 0,
    source,
    dest,
    dataStart: mapPba(mpb, vol.maps[0]),
    componentSectors,
    slotDisk: vol.maps[0].ord.map(ordIndex),
    unit: unitGeometry(source, dest, oldData, newData, componentSectors),
  };
}
