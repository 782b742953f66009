/**
 * Damaged metadata is rejected with ImsmFormatError naming device, structure, field and
 * value. Each case edits a real MPB (case c: 3 disks, two volumes) and re-fixes the checksum
 * so the check under test is the one that fires.
 */
import assert from "node:assert/strict";
import {
  fixMpbChecksum,
  ImsmFormatError,
  type ImsmFormatErrorCode,
  parseMetadata,
  parseMpb,
  reassembleMpb,
} from "../../../meta/imsm/mod.ts";
import { loadFixtureCase } from "./fixtures.ts";

const disk = loadFixtureCase("c_raid0_raid5_3disk").disks[0];
const DEVICE = "/dev/vda";
const MPB_SIZE = 704;
/** vol0 starts after the 216-byte header and 3 disk records; its map at +112. */
const VOL0 = 216 + 3 * 48;
const MAP0 = VOL0 + 112;

function image(): Uint8Array {
  return reassembleMpb(disk.tail, 512, MPB_SIZE);
}

function expectError(
  img: Uint8Array,
  want: { code: ImsmFormatErrorCode; structure: string; field: string; value?: number },
  fixChecksum = true,
) {
  if (fixChecksum) fixMpbChecksum(img);
  assert.throws(() => parseMpb(img, { device: DEVICE }), (e: unknown) => {
    assert.ok(e instanceof ImsmFormatError, `got ${e}`);
    assert.equal(e.code, want.code);
    assert.equal(e.device, DEVICE);
    assert.equal(e.structure, want.structure);
    assert.equal(e.field, want.field);
    if (want.value !== undefined) assert.equal(e.value, want.value);
    assert.ok(e.message.includes(DEVICE) && e.message.includes(want.field), e.message);
    assert.ok(e.hint.length > 0);
    return true;
  });
}

const set32 = (img: Uint8Array, at: number, v: number) =>
  new DataView(img.buffer).setUint32(at, v, true);

Deno.test("the unmodified image parses (baseline for the cases below)", () => {
  const p = parseMpb(image(), { device: DEVICE });
  assert.equal(p.mpb.volumes.length, 2);
});

Deno.test("bad signature", () => {
  const img = image();
  img[0] = 0x58;
  expectError(img, { code: "bad-signature", structure: "imsm_super", field: "signature" });
});

Deno.test("bad checksum names stored value", () => {
  const img = image();
  img[0x2c] ^= 1; // generation changed, checksum not fixed
  expectError(img, {
    code: "bad-checksum",
    structure: "imsm_super",
    field: "checkSum",
    value: 0x492a8bd5,
  }, false);
});

Deno.test("checksum mismatch can be tolerated on request", () => {
  const img = image();
  img[0x2c] ^= 1;
  const p = parseMpb(img, { device: DEVICE, allowBadChecksum: true });
  assert.equal(p.checksumValid, false);
});

Deno.test("mpb_size below the header and above the reservation", () => {
  const small = image();
  set32(small, 0x24, 100);
  expectError(small, { code: "out-of-range", structure: "imsm_super", field: "mpbSize" }, false);
  const big = image();
  set32(big, 0x24, 0x7fffffff);
  expectError(big, { code: "out-of-range", structure: "imsm_super", field: "mpbSize" }, false);
});

Deno.test("disk table running past the MPB", () => {
  const img = image();
  img[0x38] = 200;
  expectError(img, { code: "overrun", structure: "imsm_super", field: "numDisks", value: 200 });
});

Deno.test("volume count running past the MPB", () => {
  const img = image();
  img[0x39] = 3;
  expectError(img, { code: "overrun", structure: "imsm_dev", field: "volumes[2]" });
});

Deno.test("bbm_log_size larger than the MPB", () => {
  const img = image();
  set32(img, 0x48, 5000);
  expectError(img, { code: "out-of-range", structure: "imsm_super", field: "bbmLogSize" });
});

/** The image with an 8-byte bad-block log appended (mpb_size and bbm_log_size grown). */
function withBbmLog(signature: number, entries: number): Uint8Array {
  const img = image();
  set32(img, 0x24, MPB_SIZE + 8);
  set32(img, 0x48, 8);
  set32(img, MPB_SIZE, signature);
  set32(img, MPB_SIZE + 4, entries);
  return img;
}

Deno.test("an empty but well-formed bad-block log parses and is kept raw", () => {
  const img = withBbmLog(0xabadb10c, 0);
  fixMpbChecksum(img);
  const p = parseMpb(img, { device: DEVICE });
  assert.deepEqual(p.mpb.bbmLog, img.slice(MPB_SIZE, MPB_SIZE + 8));
});

Deno.test("bad-block log with a wrong signature or count", () => {
  expectError(withBbmLog(0x12345678, 0), {
    code: "bad-bbm-log",
    structure: "bbm_log",
    field: "signature",
    value: 0x12345678,
  });
  expectError(withBbmLog(0xabadb10c, 1), {
    code: "bad-bbm-log",
    structure: "bbm_log",
    field: "bbmLogSize",
    value: 8,
  });
  expectError(withBbmLog(0xabadb10c, 255), {
    code: "bad-bbm-log",
    structure: "bbm_log",
    field: "entryCount",
    value: 255,
  });
});

Deno.test("map with zero members", () => {
  const img = image();
  img[MAP0 + 16] = 0;
  expectError(img, {
    code: "out-of-range",
    structure: "imsm_map",
    field: "volumes[0].maps[0].numMembers",
    value: 0,
  });
});

Deno.test("ord table running past the MPB", () => {
  const img = image();
  img[MAP0 + 16] = 255;
  expectError(img, {
    code: "overrun",
    structure: "imsm_map",
    field: "volumes[0].maps[0].numMembers",
    value: 255,
  });
});

Deno.test("ord entry naming a disk outside the table", () => {
  const img = image();
  set32(img, MAP0 + 48 + 4, 7);
  expectError(img, {
    code: "bad-ord",
    structure: "imsm_map",
    field: "volumes[0].maps[0].ord[1]",
    value: 7,
  });
});

Deno.test("unknown RAID level and map state", () => {
  const lvl = image();
  lvl[MAP0 + 15] = 6;
  expectError(lvl, {
    code: "unknown-value",
    structure: "imsm_map",
    field: "volumes[0].maps[0].raidLevel",
    value: 6,
  });
  const st = image();
  st[MAP0 + 14] = 4;
  expectError(st, {
    code: "unknown-value",
    structure: "imsm_map",
    field: "volumes[0].maps[0].mapState",
    value: 4,
  });
});

Deno.test("unknown migration state and type", () => {
  const ms = image();
  ms[VOL0 + 88] = 2;
  expectError(ms, {
    code: "unknown-value",
    structure: "imsm_vol",
    field: "volumes[0].migrState",
    value: 2,
  });
  const mt = image();
  mt[VOL0 + 88] = 1;
  mt[VOL0 + 89] = 9;
  expectError(mt, {
    code: "unknown-value",
    structure: "imsm_vol",
    field: "volumes[0].migrType",
    value: 9,
  });
});

Deno.test("tail shorter than the MPB needs", () => {
  const tail = disk.tail.slice(disk.tail.length - 1024); // anchor + migration record only
  assert.throws(
    () => parseMetadata(tail, { diskSize: disk.diskSize, sectorSize: 512, device: DEVICE }),
    (e: unknown) =>
      e instanceof ImsmFormatError && e.code === "too-small" && e.field === "mpbSize" &&
      e.value === MPB_SIZE,
  );
});

Deno.test("device smaller than two sectors", () => {
  assert.throws(
    () => parseMetadata(new Uint8Array(512), { diskSize: 512n, sectorSize: 512, device: DEVICE }),
    (e: unknown) => e instanceof ImsmFormatError && e.code === "too-small",
  );
});
