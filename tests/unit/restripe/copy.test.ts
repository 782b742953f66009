/** Gather/stripe round trips through every geometry, parity, and rebuilding a missing member. */
import assert from "node:assert/strict";
import { gatherArray, type MemberReader, SECTOR, stripeRows } from "../../../core/restripe/copy.ts";
import {
  dataDisks,
  imsmGeometry,
  RAID10_NEAR2,
  type StripeGeometry,
  takeoverGeometry,
} from "../../../core/restripe/layout.ts";
import { parityMismatch, parityOf, xorInto } from "../../../core/restripe/parity.ts";

const CHUNK = 4;

/** Array data where every sector says its number (like the fixtures' pattern). */
function pattern(first: number, sectors: number): Uint8Array {
  const out = new Uint8Array(sectors * SECTOR);
  const enc = new TextEncoder();
  for (let s = 0; s < sectors; s++) {
    const text = enc.encode(`SECTOR ${String(first + s).padStart(12, "0")}\n`);
    for (let i = 0; i < SECTOR; i++) out[s * SECTOR + i] = text[i % text.length];
  }
  return out;
}

function readerOf(members: Uint8Array[], missing = -1): MemberReader {
  return (m, sector, sectors) =>
    Promise.resolve(
      m === missing ? null : members[m].slice(sector * SECTOR, (sector + sectors) * SECTOR),
    );
}

const GEOMETRIES: StripeGeometry[] = [
  imsmGeometry(0, 1, CHUNK),
  imsmGeometry(0, 3, CHUNK),
  imsmGeometry(5, 3, CHUNK),
  imsmGeometry(5, 5, CHUNK),
  takeoverGeometry(2, CHUNK),
  { level: 4, members: 4, chunkSectors: CHUNK, layout: 0 },
  { level: 5, members: 4, chunkSectors: CHUNK, layout: 2 },
  { level: 10, members: 4, chunkSectors: CHUNK, layout: RAID10_NEAR2 },
];

Deno.test("copy: stripeRows then gatherArray returns the data, at any start and length", async () => {
  for (const g of GEOMETRIES) {
    const rowSectors = g.level === 10 ? CHUNK * g.members / 2 : CHUNK * dataDisks(g);
    const rows = 6;
    const data = pattern(0, rows * rowSectors);
    const members = stripeRows(g, data, 0);
    for (const m of members) assert.equal(m.length, rows * CHUNK * SECTOR);
    for (
      const [start, count] of [[0, rows * rowSectors], [3, 7], [rowSectors - 1, rowSectors + 2]]
    ) {
      const got = await gatherArray(g, readerOf(members), start, count);
      assert.deepEqual(got, data.slice(start * SECTOR, (start + count) * SECTOR), `raid${g.level}`);
    }
  }
});

Deno.test("copy: a window starting at a later row lands at row offsets of that window", () => {
  const g = imsmGeometry(5, 4, CHUNK);
  const whole = stripeRows(g, pattern(0, 8 * 3 * CHUNK), 0);
  const part = stripeRows(g, pattern(2 * 3 * CHUNK, 3 * 3 * CHUNK), 2);
  for (let m = 0; m < 4; m++) {
    assert.deepEqual(part[m], whole[m].slice(2 * CHUNK * SECTOR, 5 * CHUNK * SECTOR));
  }
});

Deno.test("copy: parity of every row XORs to zero; one missing member is rebuilt", async () => {
  for (const g of GEOMETRIES.filter((x) => x.level === 4 || x.level === 5)) {
    const data = pattern(100, 4 * CHUNK * dataDisks(g));
    const members = stripeRows(g, data, 0);
    for (let r = 0; r < 4; r++) {
      const blocks = members.map((m) => m.subarray(r * CHUNK * SECTOR, (r + 1) * CHUNK * SECTOR));
      assert.equal(parityMismatch(blocks, CHUNK * SECTOR), -1);
    }
    for (let lost = 0; lost < g.members; lost++) {
      const got = await gatherArray(g, readerOf(members, lost), 1, data.length / SECTOR - 2);
      assert.deepEqual(got, data.slice(SECTOR, data.length - SECTOR));
    }
  }
  // raid0 cannot rebuild; raid10 reads the other copy
  const r0 = imsmGeometry(0, 2, CHUNK);
  await assert.rejects(
    gatherArray(r0, readerOf(stripeRows(r0, pattern(0, 4 * CHUNK), 0), 1), 0, 4 * CHUNK),
    /unavailable member/,
  );
  const r10 = imsmGeometry(10, 4, CHUNK);
  const d10 = pattern(0, 4 * CHUNK);
  assert.deepEqual(await gatherArray(r10, readerOf(stripeRows(r10, d10, 0), 2), 0, 4 * CHUNK), d10);
});

Deno.test("copy: partial rows and mismatched xor lengths are refused", () => {
  assert.throws(
    () => stripeRows(imsmGeometry(5, 3, CHUNK), new Uint8Array(SECTOR), 0),
    /whole stripe rows/,
  );
  assert.throws(() => xorInto(new Uint8Array(4), new Uint8Array(8)), /xor of 8 bytes into 4/);
  const odd = parityOf([new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 2])], 3);
  assert.deepEqual([...odd], [0, 0, 1]);
});
