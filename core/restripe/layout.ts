/**
 * Address maps of the md striped layouts a grow goes through: array sector <-> (member slot,
 * member sector). Member sectors are relative to the volume's data start on each member
 * (IMSM pba_of_lba0). Layout numbers are md's raid5 algorithms; IMSM raid5 is
 * left-asymmetric (0) and the raid0 -> raid4/5 takeover uses parity-last (5), whose data
 * placement equals raid0's on the first members (spec imsm-reshape.md §2.3 step 4).
 */

export const ALGORITHM = {
  LEFT_ASYMMETRIC: 0,
  RIGHT_ASYMMETRIC: 1,
  LEFT_SYMMETRIC: 2,
  RIGHT_SYMMETRIC: 3,
  PARITY_0: 4,
  PARITY_N: 5,
} as const;

/** md raid10 "near 2" (IMSM raid10). */
export const RAID10_NEAR2 = 0x102;

export type StripeLevel = 0 | 4 | 5 | 10;

export interface StripeGeometry {
  level: StripeLevel;
  /** md raid_disks: slots including parity (and a missing parity slot after a takeover). */
  members: number;
  /** Chunk (strip) in 512-byte sectors. */
  chunkSectors: number;
  /** md layout: raid5 algorithm, RAID10_NEAR2 for raid10, 0 otherwise. */
  layout: number;
}

/** Where one array sector (or one chunk) lives. */
export interface Place {
  member: number;
  sector: number;
}

export class GeometryError extends Error {
  constructor(what: string, value: unknown, problem: string) {
    super(`stripe geometry ${what}=${String(value)}: ${problem}`);
    this.name = "GeometryError";
  }
}

/** Checks a geometry once so the maps below need no guards. */
export function checkGeometry(g: StripeGeometry): StripeGeometry {
  if (!Number.isInteger(g.chunkSectors) || g.chunkSectors <= 0) {
    throw new GeometryError("chunkSectors", g.chunkSectors, "must be a positive integer");
  }
  const min = g.level === 0 ? 1 : g.level === 10 ? 2 : 2;
  if (!Number.isInteger(g.members) || g.members < min) {
    throw new GeometryError("members", g.members, `raid${g.level} needs at least ${min}`);
  }
  if (g.level === 5 && (g.layout < 0 || g.layout > 5)) {
    throw new GeometryError("layout", g.layout, "raid5 algorithms are 0..5");
  }
  if (g.level === 10 && g.layout !== RAID10_NEAR2) {
    throw new GeometryError("layout", g.layout, "only raid10 near-2 (0x102) is used by IMSM");
  }
  return g;
}

/** Members holding distinct data in one stripe row. */
export function dataDisks(g: StripeGeometry): number {
  switch (g.level) {
    case 0:
      return g.members;
    case 4:
    case 5:
      return g.members - 1;
    case 10:
      return g.members / 2;
  }
}

/** Array sectors in one stripe row (raid10: per row of chunk pairs, may be fractional). */
export function stripeSectors(g: StripeGeometry): number {
  return g.chunkSectors * dataDisks(g);
}

/** Parity member of stripe row `row`, or null for levels without parity. */
export function parityMember(g: StripeGeometry, row: number): number | null {
  const n = g.members;
  if (g.level === 0 || g.level === 10) return null;
  if (g.level === 4) return n - 1;
  switch (g.layout) {
    case ALGORITHM.LEFT_ASYMMETRIC:
    case ALGORITHM.LEFT_SYMMETRIC:
      return n - 1 - (row % n);
    case ALGORITHM.RIGHT_ASYMMETRIC:
    case ALGORITHM.RIGHT_SYMMETRIC:
      return row % n;
    case ALGORITHM.PARITY_0:
      return 0;
    default:
      return n - 1;
  }
}

/** Member holding data chunk `index` (0-based within the row) of stripe row `row`. */
export function dataMember(g: StripeGeometry, row: number, index: number): number {
  const n = g.members;
  const pd = parityMember(g, row);
  if (pd === null) return index;
  switch (g.level === 4 ? ALGORITHM.PARITY_N : g.layout) {
    case ALGORITHM.LEFT_ASYMMETRIC:
    case ALGORITHM.RIGHT_ASYMMETRIC:
      return index >= pd ? index + 1 : index;
    case ALGORITHM.LEFT_SYMMETRIC:
    case ALGORITHM.RIGHT_SYMMETRIC:
      return (pd + 1 + index) % n;
    case ALGORITHM.PARITY_0:
      return index + 1;
    default:
      return index;
  }
}

/** Every copy of an array sector: one place, two for raid10. */
export function placesOf(g: StripeGeometry, arraySector: number): Place[] {
  const chunk = Math.floor(arraySector / g.chunkSectors);
  const within = arraySector - chunk * g.chunkSectors;
  if (g.level === 10) {
    // near-2: the two copies of chunk c occupy consecutive device chunks 2c, 2c+1
    const out: Place[] = [];
    for (let k = 0; k < 2; k++) {
      const devChunk = chunk * 2 + k;
      out.push({
        member: devChunk % g.members,
        sector: Math.floor(devChunk / g.members) * g.chunkSectors + within,
      });
    }
    return out;
  }
  const dd = dataDisks(g);
  const row = Math.floor(chunk / dd);
  return [{ member: dataMember(g, row, chunk % dd), sector: row * g.chunkSectors + within }];
}

/** The (first) place of an array sector. */
export function locate(g: StripeGeometry, arraySector: number): Place {
  return placesOf(g, arraySector)[0];
}

/** What a member sector holds. */
export type MemberContent =
  | { kind: "data"; arraySector: number }
  | { kind: "parity"; row: number };

/** Inverse map: the array sector (or parity row) stored at a member sector. */
export function contentAt(g: StripeGeometry, member: number, sector: number): MemberContent {
  const row = Math.floor(sector / g.chunkSectors);
  const within = sector - row * g.chunkSectors;
  if (g.level === 10) {
    const devChunk = row * g.members + member;
    return { kind: "data", arraySector: Math.floor(devChunk / 2) * g.chunkSectors + within };
  }
  const pd = parityMember(g, row);
  if (pd === member) return { kind: "parity", row };
  const dd = dataDisks(g);
  for (let i = 0; i < dd; i++) {
    if (dataMember(g, row, i) === member) {
      return { kind: "data", arraySector: (row * dd + i) * g.chunkSectors + within };
    }
  }
  throw new GeometryError("member", member, `not a slot of a ${g.members}-member array`);
}

/** md/IMSM geometry of a volume map: IMSM level (0/5/10) with IMSM's only layouts. */
export function imsmGeometry(level: 0 | 5 | 10, members: number, chunkSectors: number) {
  const layout = level === 5 ? ALGORITHM.LEFT_ASYMMETRIC : level === 10 ? RAID10_NEAR2 : 0;
  return checkGeometry({ level, members, chunkSectors, layout });
}

/**
 * The geometry md runs a raid0 volume at during its reshape: raid4/5 parity-last with one
 * more slot, the parity slot missing; data sits where raid0 would put it.
 */
export function takeoverGeometry(dataMembers: number, chunkSectors: number): StripeGeometry {
  return checkGeometry({
    level: 5,
    members: dataMembers + 1,
    chunkSectors,
    layout: ALGORITHM.PARITY_N,
  });
}
