/** The fixtures' volume data pattern (tests/fixtures/imsm/README.md). */
import { SECTOR } from "../../../core/restripe/copy.ts";

/** Volume sector k: "IMSMTEST LBA=" + 12-digit k + "\n", repeated to 512 bytes. */
export function testPattern(first: number, sectors: number): Uint8Array {
  const out = new Uint8Array(sectors * SECTOR);
  const enc = new TextEncoder();
  for (let s = 0; s < sectors; s++) {
    const text = enc.encode(`IMSMTEST LBA=${String(first + s).padStart(12, "0")}\n`);
    for (let i = 0; i < SECTOR; i++) out[s * SECTOR + i] = text[i % text.length];
  }
  return out;
}
