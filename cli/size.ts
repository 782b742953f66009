/**
 * Size arguments as mdadm reads them: a positive decimal number with an optional suffix K, M, G
 * or T (powers of 1024 KiB steps; no suffix means K) or s (512-byte sectors). Suffixes are
 * upper case only; anything after the suffix makes the value invalid.
 */

const SECTORS_PER_UNIT: Record<string, number> = {
  "": 2,
  K: 2,
  M: 2 * 1024,
  G: 2 * 1024 * 1024,
  T: 2 * 1024 * 1024 * 1024,
  s: 1,
};

/** The value in 512-byte sectors, or null when mdadm would call it invalid. */
export function parseSizeSectors(text: string): number | null {
  // strtoll: optional leading blanks and sign, then decimal digits.
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)(.*)$/s.exec(text);
  if (!m) return null;
  const [, sign, digits, rest] = m;
  if (sign === "-") return null;
  const value = BigInt(digits);
  if (value <= 0n) return null;
  const factor = SECTORS_PER_UNIT[rest];
  if (factor === undefined) return null;
  const sectors = value * BigInt(factor);
  if (sectors > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  // mdadm's "invalid" marker is the value 1, so a lone "1s" is invalid too.
  if (sectors === 1n) return null;
  return Number(sectors);
}

/** -c/--chunk: at least 4 KiB and a whole number of KiB. Returns KiB or null. */
export function parseChunkKiB(text: string): number | null {
  const sectors = parseSizeSectors(text);
  if (sectors === null || sectors < 8 || sectors % 2 !== 0) return null;
  return sectors / 2;
}

/** -z/--size: "max", or at least 4 KiB (odd sectors round down to KiB). Returns KiB or null. */
export function parseComponentSizeKiB(text: string): number | "max" | null {
  if (text === "max") return "max";
  const sectors = parseSizeSectors(text);
  if (sectors === null || sectors < 8) return null;
  return Math.floor(sectors / 2);
}

/** -Z/--array-size: "max" or any valid size. Returns KiB or null. */
export function parseArraySizeKiB(text: string): number | "max" | null {
  if (text === "max") return "max";
  const sectors = parseSizeSectors(text);
  if (sectors === null) return null;
  return Math.floor(sectors / 2);
}

/** --bitmap-chunk: a power of two; returns bytes (mdadm stores sectors * 512). */
export function parseBitmapChunkBytes(text: string): number | null {
  const sectors = parseSizeSectors(text);
  if (sectors === null || !Number.isInteger(Math.log2(sectors))) return null;
  return sectors * 512;
}
