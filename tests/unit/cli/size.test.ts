/** Size arguments: mdadm's suffix and minimum rules (facts checked against mdadm 4.2's answers). */
import assert from "node:assert/strict";
import {
  parseArraySizeKiB,
  parseBitmapChunkBytes,
  parseChunkKiB,
  parseComponentSizeKiB,
  parseSizeSectors,
} from "../../../cli/size.ts";

Deno.test("sizes: no suffix and K are KiB, M/G/T scale by 1024, s is sectors", () => {
  assert.equal(parseSizeSectors("64"), 128);
  assert.equal(parseSizeSectors("64K"), 128);
  assert.equal(parseSizeSectors("2M"), 4096);
  assert.equal(parseSizeSectors("1G"), 2097152);
  assert.equal(parseSizeSectors("1T"), 2147483648);
  assert.equal(parseSizeSectors("100s"), 100);
  assert.equal(parseSizeSectors(" +8"), 16);
});

Deno.test("sizes: lower-case suffixes, junk, zero and negatives are invalid", () => {
  for (const bad of ["64k", "1g", "10KB", "abc", "", "0", "-5", "1.5M", "0x10", "1s"]) {
    assert.equal(parseSizeSectors(bad), null, bad);
  }
});

Deno.test("chunk: at least 4 KiB and whole KiB", () => {
  assert.equal(parseChunkKiB("64"), 64);
  assert.equal(parseChunkKiB("1M"), 1024);
  assert.equal(parseChunkKiB("8s"), 4);
  assert.equal(parseChunkKiB("4"), 4);
  assert.equal(parseChunkKiB("3"), null); // 6 sectors < 8
  assert.equal(parseChunkKiB("9s"), null); // odd sectors
  assert.equal(parseChunkKiB("6s"), null);
  assert.equal(parseChunkKiB("64k"), null);
});

Deno.test("component size: max, at least 4 KiB, odd sectors round down", () => {
  assert.equal(parseComponentSizeKiB("max"), "max");
  assert.equal(parseComponentSizeKiB("1G"), 1048576);
  assert.equal(parseComponentSizeKiB("9s"), 4);
  assert.equal(parseComponentSizeKiB("4"), 4);
  assert.equal(parseComponentSizeKiB("3"), null);
  assert.equal(parseComponentSizeKiB("7s"), null);
  assert.equal(parseComponentSizeKiB("MAX"), null);
});

Deno.test("array size and bitmap chunk", () => {
  assert.equal(parseArraySizeKiB("max"), "max");
  assert.equal(parseArraySizeKiB("2G"), 2097152);
  assert.equal(parseArraySizeKiB("0"), null);
  assert.equal(parseBitmapChunkBytes("64M"), 64 * 1024 * 1024);
  assert.equal(parseBitmapChunkBytes("3"), null);
  assert.equal(parseBitmapChunkBytes("1T"), 1024 ** 4);
});
