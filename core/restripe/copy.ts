/**
 * Moving a window of array data between the array view and the member view of a geometry:
 * gathering array sectors from members (rebuilding a missing member from parity or the
 * other mirror) and laying whole stripe rows out onto members with their parity.
 * Sectors are 512 bytes; member sectors are relative to the volume's data start.
 */
import { dataDisks, dataMember, parityMember, placesOf, type StripeGeometry } from "./layout.ts";
import { parityOf, xorInto } from "./parity.ts";

export const SECTOR = 512;

/** Reads `sectors` sectors of member slot `member` at `sector`; null = member unavailable. */
export type MemberReader = (
  member: number,
  sector: number,
  sectors: number,
) => Promise<Uint8Array | null>;

export class RestripeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RestripeError";
  }
}

/** One contiguous piece of a chunk: array range and its member range. */
interface Piece {
  arrayOffset: number;
  sectors: number;
  row: number;
  within: number;
}

function pieces(g: StripeGeometry, start: number, count: number): Piece[] {
  const out: Piece[] = [];
  let pos = start;
  const end = start + count;
  while (pos < end) {
    const chunk = Math.floor(pos / g.chunkSectors);
    const within = pos - chunk * g.chunkSectors;
    const n = Math.min(g.chunkSectors - within, end - pos);
    out.push({ arrayOffset: pos - start, sectors: n, row: chunk, within });
    pos += n;
  }
  return out;
}

/** Rebuilds a raid4/5 data piece from the rest of its row. */
async function rebuildFromParity(
  g: StripeGeometry,
  read: MemberReader,
  lost: number,
  sector: number,
  sectors: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(sectors * SECTOR);
  for (let m = 0; m < g.members; m++) {
    if (m === lost) continue;
    const b = await read(m, sector, sectors);
    if (b === null) {
      throw new RestripeError(
        `members ${lost} and ${m} are both unavailable at member sector ${sector}: ` +
          `raid${g.level} can rebuild one missing member only`,
      );
    }
    xorInto(out, b);
  }
  return out;
}

/** The array sectors [start, start+count) read through geometry `g`. */
export async function gatherArray(
  g: StripeGeometry,
  read: MemberReader,
  start: number,
  count: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(count * SECTOR);
  for (const p of pieces(g, start, count)) {
    const places = placesOf(g, start + p.arrayOffset);
    let got: Uint8Array | null = null;
    for (const place of places) {
      got = await read(place.member, place.sector, p.sectors);
      if (got !== null) break;
    }
    if (got === null) {
      if (g.level !== 4 && g.level !== 5) {
        throw new RestripeError(
          `array sector ${start + p.arrayOffset}: every copy is on an unavailable member ` +
            `(${places.map((x) => x.member).join(", ")}) of the raid${g.level}`,
        );
      }
      got = await rebuildFromParity(g, read, places[0].member, places[0].sector, p.sectors);
    }
    out.set(got, p.arrayOffset * SECTOR);
  }
  return out;
}

/**
 * Lays whole stripe rows of array data onto the members: `data` starts at stripe row
 * `firstRow` and holds a whole number of rows. Returns one buffer per member slot (row r
 * of the window at offset (r - firstRow) x chunk), parity computed. raid10 writes both copies.
 */
export function stripeRows(g: StripeGeometry, data: Uint8Array, firstRow: number): Uint8Array[] {
  const chunkBytes = g.chunkSectors * SECTOR;
  const dd = dataDisks(g);
  const rowBytes = g.level === 10 ? g.members * chunkBytes / 2 : dd * chunkBytes;
  if (data.length % rowBytes !== 0) {
    throw new RestripeError(
      `${data.length} bytes are not whole stripe rows of ${rowBytes} bytes ` +
        `(raid${g.level}, ${g.members} members, chunk ${g.chunkSectors} sectors)`,
    );
  }
  const rows = data.length / rowBytes;
  const members = Array.from({ length: g.members }, () => new Uint8Array(rows * chunkBytes));
  if (g.level === 10) {
    // device chunk index across the window; copies land on consecutive device chunks
    const firstArrayChunk = firstRow * g.members / 2;
    for (let c = 0; c < data.length / chunkBytes; c++) {
      const src = data.subarray(c * chunkBytes, (c + 1) * chunkBytes);
      for (let k = 0; k < 2; k++) {
        const dev = (firstArrayChunk + c) * 2 + k;
        const row = Math.floor(dev / g.members) - firstRow;
        members[dev % g.members].set(src, row * chunkBytes);
      }
    }
    return members;
  }
  for (let r = 0; r < rows; r++) {
    const row = firstRow + r;
    const blocks: Uint8Array[] = [];
    for (let i = 0; i < dd; i++) {
      const src = data.subarray((r * dd + i) * chunkBytes, (r * dd + i + 1) * chunkBytes);
      members[dataMember(g, row, i)].set(src, r * chunkBytes);
      blocks.push(src);
    }
    const pd = parityMember(g, row);
    if (pd !== null) members[pd].set(parityOf(blocks, chunkBytes), r * chunkBytes);
  }
  return members;
}
