/**
 * UUIDs as mdadm derives them (spec §11.2): SHA-1 over the 24 signature bytes, the identity
 * family (LE u32) and, for a volume, its index (LE u32) and 16-byte name; the first 16
 * digest bytes are printed as four LE u32 words in %08x joined by ':'.
 */
import { createHash } from "node:crypto";
import { identityFamily } from "./accessors.ts";
import { MPB_SIGNATURE_LENGTH } from "./constants.ts";
import type { ImsmSuper } from "./model.ts";

export const ZERO_UUID = "00000000:00000000:00000000:00000000";

function digestUuid(parts: Uint8Array[]): string {
  const h = createHash("sha1");
  for (const p of parts) h.update(p);
  const d = new Uint8Array(h.digest());
  const view = new DataView(d.buffer, d.byteOffset, 16);
  const words: string[] = [];
  for (let i = 0; i < 4; i++) words.push(view.getUint32(i * 4, true).toString(16).padStart(8, "0"));
  return words.join(":");
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

/** Container UUID; all zero for a container without volumes (a free spare). */
export function containerUuid(mpb: ImsmSuper): string {
  if (mpb.volumes.length === 0) return ZERO_UUID;
  return digestUuid([
    mpb.signature.subarray(0, MPB_SIGNATURE_LENGTH),
    u32le(identityFamily(mpb)),
  ]);
}

/** UUID of volume `index` of the container. */
export function volumeUuid(mpb: ImsmSuper, index: number): string {
  const vol = mpb.volumes[index];
  if (!vol) throw new RangeError(`volumeUuid: no volume ${index} (have ${mpb.volumes.length})`);
  return digestUuid([
    mpb.signature.subarray(0, MPB_SIGNATURE_LENGTH),
    u32le(identityFamily(mpb)),
    u32le(index),
    vol.volume,
  ]);
}
