/** XOR parity of raid4/5 stripes. */

/** `target ^= source` over the whole length (both the same length). */
export function xorInto(target: Uint8Array, source: Uint8Array): void {
  if (target.length !== source.length) {
    throw new RangeError(`xor of ${source.length} bytes into ${target.length}`);
  }
  // 32-bit words when both are aligned (chunks always are), bytes otherwise
  if (target.byteOffset % 4 === 0 && source.byteOffset % 4 === 0 && target.length % 4 === 0) {
    const t = new Uint32Array(target.buffer, target.byteOffset, target.length / 4);
    const s = new Uint32Array(source.buffer, source.byteOffset, source.length / 4);
    for (let i = 0; i < t.length; i++) t[i] ^= s[i];
    return;
  }
  for (let i = 0; i < target.length; i++) target[i] ^= source[i];
}

/** Parity of equal-length blocks (also rebuilds a missing block from the others + parity). */
export function parityOf(blocks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (const b of blocks) xorInto(out, b);
  return out;
}

/** First byte offset where `blocks` do not XOR to zero, or -1 when the stripe is consistent. */
export function parityMismatch(blocks: Uint8Array[], length: number): number {
  const sum = parityOf(blocks, length);
  return sum.findIndex((b) => b !== 0);
}
