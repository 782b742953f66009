/**
 * MPB checksum (spec §2.2): 32-bit wrapping sum of the little-endian u32 words in the first
 * floor(mpb_size / 4) * 4 bytes, leaving out the check_sum word itself.
 */

const CHECK_SUM_OFFSET = 0x20;
const MPB_SIZE_OFFSET = 0x24;

/** Checksum of an MPB image whose length is at least its `mpb_size`. */
export function computeMpbChecksum(mpb: Uint8Array): number {
  const view = new DataView(mpb.buffer, mpb.byteOffset, mpb.byteLength);
  const mpbSize = view.getUint32(MPB_SIZE_OFFSET, true);
  const words = Math.floor(Math.min(mpbSize, mpb.byteLength) / 4);
  let sum = 0;
  for (let i = 0; i < words; i++) sum = (sum + view.getUint32(i * 4, true)) >>> 0;
  return (sum - view.getUint32(CHECK_SUM_OFFSET, true)) >>> 0;
}

/** Stores the correct checksum into an MPB image in place; returns it. */
export function fixMpbChecksum(mpb: Uint8Array): number {
  const sum = computeMpbChecksum(mpb);
  new DataView(mpb.buffer, mpb.byteOffset, mpb.byteLength).setUint32(CHECK_SUM_OFFSET, sum, true);
  return sum;
}

/** The check_sum stored in an MPB image. */
export function storedMpbChecksum(mpb: Uint8Array): number {
  return new DataView(mpb.buffer, mpb.byteOffset, mpb.byteLength).getUint32(
    CHECK_SUM_OFFSET,
    true,
  );
}
