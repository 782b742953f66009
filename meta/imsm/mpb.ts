/**
 * MPB (anchor + extension, reassembled) <-> ImsmSuper. Parsing validates every count, size
 * and cross reference before it is used, so bad bytes end in an ImsmFormatError and never in
 * an out-of-bounds read. All loops are bounded by u8 counts.
 */
import { computeMpbChecksum } from "./checksum.ts";
import { decodeStruct, encodeStruct } from "./codec.ts";
import {
  BBM_LOG_MAX_ENTRIES,
  BBM_LOG_SIGNATURE,
  DISK_RECORD_SIZE,
  MAP_HEADER_SIZE,
  MAP_STATE_NAMES,
  MAX_MPB_SIZE,
  MIGR_TYPE,
  MPB_HEADER_SIZE,
  MPB_SIGNATURE,
  MPB_SIGNATURE_LENGTH,
  ORD_INDEX_MASK,
  RAID_LEVELS,
  VOLUME_HEADER_SIZE,
} from "./constants.ts";
import {
  HINT_CORRUPT,
  HINT_NOT_IMSM,
  ImsmFormatError,
  type ImsmFormatErrorCode,
} from "./errors.ts";
import {
  BBM_LOG_ENTRY_SIZE,
  BBM_LOG_HEADER_LAYOUT,
  DISK_LAYOUT,
  MAP_HEADER_LAYOUT,
  ORD_ENTRY_SIZE,
  SUPER_HEADER_LAYOUT,
  VOLUME_HEADER_LAYOUT,
} from "./layout.ts";
import type {
  ImsmBbmLogEntry,
  ImsmBbmLogHeader,
  ImsmDiskRecord,
  ImsmMap,
  ImsmSuper,
  ImsmSuperHeader,
  ImsmVolume,
} from "./model.ts";

export interface ParseMpbOptions {
  /** Device name for error messages. */
  device: string;
  /** Accept a checksum mismatch (the result says so); default false. */
  allowBadChecksum?: boolean;
}

export interface ParsedMpb {
  mpb: ImsmSuper;
  checksumValid: boolean;
  computedChecksum: number;
}

/** True when `bytes` starts with the 24-byte IMSM signature. */
export function hasMpbSignature(bytes: Uint8Array): boolean {
  if (bytes.length < MPB_SIGNATURE_LENGTH) return false;
  for (let i = 0; i < MPB_SIGNATURE_LENGTH; i++) {
    if (bytes[i] !== MPB_SIGNATURE.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Reads `mpb_size` from an anchor sector after checking the signature (step 1 of reading:
 * it says how many more sectors to fetch).
 */
export function readAnchorMpbSize(anchor: Uint8Array, device: string): number {
  if (anchor.length < MPB_HEADER_SIZE) {
    throw fail("too-small", device, "imsm_super", "anchor", anchor.length, {
      problem:
        `anchor buffer of ${anchor.length} bytes is shorter than the ${MPB_HEADER_SIZE}-byte header`,
      hint: HINT_NOT_IMSM,
    });
  }
  if (!hasMpbSignature(anchor)) {
    throw fail(
      "bad-signature",
      device,
      "imsm_super",
      "signature",
      latin1(anchor.subarray(0, MPB_SIGNATURE_LENGTH)),
      { problem: `expected ${JSON.stringify(MPB_SIGNATURE)}`, hint: HINT_NOT_IMSM },
    );
  }
  const mpbSize = new DataView(anchor.buffer, anchor.byteOffset).getUint32(0x24, true);
  if (mpbSize < MPB_HEADER_SIZE || mpbSize > MAX_MPB_SIZE) {
    throw fail("out-of-range", device, "imsm_super", "mpbSize", mpbSize, {
      problem: `must be ${MPB_HEADER_SIZE}..${MAX_MPB_SIZE} bytes`,
      hint: HINT_CORRUPT,
    });
  }
  return mpbSize;
}

/**
 * Parses a reassembled MPB (at least `mpb_size` bytes; extra sector padding is ignored).
 */
export function parseMpb(bytes: Uint8Array, opts: ParseMpbOptions): ParsedMpb {
  const device = opts.device;
  const mpbSize = readAnchorMpbSize(bytes, device);
  if (bytes.length < mpbSize) {
    throw fail("too-small", device, "imsm_super", "mpbSize", mpbSize, {
      problem: `only ${bytes.length} bytes of MPB were read`,
      hint: "read the whole MPB (anchor plus the sectors before it) from the device",
    });
  }
  const computed = computeMpbChecksum(bytes);
  const header = decodeStruct(SUPER_HEADER_LAYOUT, bytes, 0);
  const checksumValid = computed === header.checkSum;
  if (!checksumValid && !opts.allowBadChecksum) {
    throw fail("bad-checksum", device, "imsm_super", "checkSum", header.checkSum, {
      problem: `computed 0x${hex8(computed)}`,
      hint: HINT_CORRUPT,
    });
  }

  const bbmLogSize = header.bbmLogSize;
  if (bbmLogSize > mpbSize - MPB_HEADER_SIZE) {
    throw fail("out-of-range", device, "imsm_super", "bbmLogSize", bbmLogSize, {
      problem: `larger than the ${mpbSize - MPB_HEADER_SIZE} bytes after the header`,
      hint: HINT_CORRUPT,
    });
  }
  /** End of the disk and volume tables. */
  const tablesEnd = mpbSize - bbmLogSize;

  let pos = MPB_HEADER_SIZE;
  const diskTableEnd = pos + header.numDisks * DISK_RECORD_SIZE;
  if (diskTableEnd > tablesEnd) {
    throw fail("overrun", device, "imsm_super", "numDisks", header.numDisks, {
      problem: `disk table ends at byte ${diskTableEnd}, past the ${tablesEnd} bytes of tables`,
      hint: HINT_CORRUPT,
    });
  }
  const disks: ImsmDiskRecord[] = [];
  for (let i = 0; i < header.numDisks; i++) {
    disks.push(decodeStruct(DISK_LAYOUT, bytes, pos));
    pos += DISK_RECORD_SIZE;
  }

  const volumes: ImsmVolume[] = [];
  for (let v = 0; v < header.numRaidDevs; v++) {
    const [volume, next] = parseVolume(bytes, pos, tablesEnd, v, header, device);
    volumes.push(volume);
    pos = next;
  }

  const bbmLog = bytes.slice(tablesEnd, mpbSize);
  if (bbmLogSize > 0) checkBbmLog(bbmLog, device);

  const mpb: ImsmSuper = {
    ...header,
    disks,
    volumes,
    unparsedTail: bytes.slice(pos, tablesEnd),
    bbmLog,
  };
  return { mpb, checksumValid, computedChecksum: computed };
}

function parseVolume(
  bytes: Uint8Array,
  start: number,
  end: number,
  v: number,
  header: ImsmSuperHeader,
  device: string,
): [ImsmVolume, number] {
  const where = `volumes[${v}]`;
  if (start + VOLUME_HEADER_SIZE > end) {
    throw fail("overrun", device, "imsm_dev", where, start, {
      problem: `volume record ${v} of ${header.numRaidDevs} starts at byte ${start}, ` +
        `its ${VOLUME_HEADER_SIZE}-byte head runs past the ${end} bytes of tables`,
      hint: HINT_CORRUPT,
    });
  }
  const head = decodeStruct(VOLUME_HEADER_LAYOUT, bytes, start);
  if (head.migrState > 1) {
    throw fail("unknown-value", device, "imsm_vol", `${where}.migrState`, head.migrState, {
      problem: "must be 0 (idle) or 1 (migrating)",
      hint: HINT_CORRUPT,
    });
  }
  if (head.migrState === 1 && head.migrType > MIGR_TYPE.REPAIR) {
    throw fail("unknown-value", device, "imsm_vol", `${where}.migrType`, head.migrType, {
      problem: `must be 0..${MIGR_TYPE.REPAIR} while migrating`,
      hint: HINT_CORRUPT,
    });
  }
  let pos = start + VOLUME_HEADER_SIZE;
  const maps: ImsmMap[] = [];
  const mapCount = head.migrState ? 2 : 1;
  for (let m = 0; m < mapCount; m++) {
    const [map, next] = parseMap(bytes, pos, end, `${where}.maps[${m}]`, header, device);
    maps.push(map);
    pos = next;
  }
  return [{ ...head, maps }, pos];
}

function parseMap(
  bytes: Uint8Array,
  start: number,
  end: number,
  where: string,
  header: ImsmSuperHeader,
  device: string,
): [ImsmMap, number] {
  if (start + MAP_HEADER_SIZE > end) {
    throw fail("overrun", device, "imsm_map", where, start, {
      problem: `map at byte ${start} runs past the ${end} bytes of tables`,
      hint: HINT_CORRUPT,
    });
  }
  const head = decodeStruct(MAP_HEADER_LAYOUT, bytes, start);
  if (head.numMembers === 0) {
    throw fail("out-of-range", device, "imsm_map", `${where}.numMembers`, 0, {
      problem: "a map needs at least one member",
      hint: HINT_CORRUPT,
    });
  }
  const ordStart = start + MAP_HEADER_SIZE;
  const mapEnd = ordStart + head.numMembers * ORD_ENTRY_SIZE;
  if (mapEnd > end) {
    throw fail("overrun", device, "imsm_map", `${where}.numMembers`, head.numMembers, {
      problem: `ord table ends at byte ${mapEnd}, past the ${end} bytes of tables`,
      hint: HINT_CORRUPT,
    });
  }
  if (!(RAID_LEVELS as readonly number[]).includes(head.raidLevel)) {
    throw fail("unknown-value", device, "imsm_map", `${where}.raidLevel`, head.raidLevel, {
      problem: `known levels are ${RAID_LEVELS.join(", ")}`,
      hint: "this volume uses a RAID level mdts does not support",
    });
  }
  if (head.mapState >= MAP_STATE_NAMES.length) {
    throw fail("unknown-value", device, "imsm_map", `${where}.mapState`, head.mapState, {
      problem: `known states are 0..${MAP_STATE_NAMES.length - 1} (${MAP_STATE_NAMES.join(", ")})`,
      hint: HINT_CORRUPT,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + ordStart, mapEnd - ordStart);
  const ord: number[] = [];
  for (let s = 0; s < head.numMembers; s++) {
    const entry = view.getUint32(s * ORD_ENTRY_SIZE, true);
    const idx = entry & ORD_INDEX_MASK;
    if (idx >= header.numDisks) {
      throw fail("bad-ord", device, "imsm_map", `${where}.ord[${s}]`, entry, {
        problem: `slot ${s} names disk index ${idx}, the disk table has ${header.numDisks} entries`,
        hint: HINT_CORRUPT,
      });
    }
    ord.push(entry);
  }
  return [{ ...head, ord }, mapEnd];
}

function checkBbmLog(log: Uint8Array, device: string): void {
  if (log.length < BBM_LOG_HEADER_LAYOUT.size) {
    throw fail("bad-bbm-log", device, "bbm_log", "bbmLogSize", log.length, {
      problem: `shorter than the ${BBM_LOG_HEADER_LAYOUT.size}-byte log header`,
      hint: HINT_CORRUPT,
    });
  }
  const head = decodeStruct(BBM_LOG_HEADER_LAYOUT, log, 0);
  if (head.signature !== BBM_LOG_SIGNATURE) {
    throw fail("bad-bbm-log", device, "bbm_log", "signature", head.signature, {
      problem: `expected 0x${hex8(BBM_LOG_SIGNATURE)}`,
      hint: HINT_CORRUPT,
    });
  }
  if (head.entryCount > BBM_LOG_MAX_ENTRIES) {
    throw fail("bad-bbm-log", device, "bbm_log", "entryCount", head.entryCount, {
      problem: `at most ${BBM_LOG_MAX_ENTRIES} entries`,
      hint: HINT_CORRUPT,
    });
  }
  const expected = BBM_LOG_HEADER_LAYOUT.size + head.entryCount * BBM_LOG_ENTRY_SIZE;
  if (expected !== log.length) {
    throw fail("bad-bbm-log", device, "bbm_log", "bbmLogSize", log.length, {
      problem: `${head.entryCount} entries need ${expected} bytes`,
      hint: HINT_CORRUPT,
    });
  }
}

/** Decoded bad-block log (header + entries); null when the log is empty. */
export function decodeBbmLog(
  log: Uint8Array,
): { header: ImsmBbmLogHeader; entries: ImsmBbmLogEntry[] } | null {
  if (log.length < BBM_LOG_HEADER_LAYOUT.size) return null;
  const header = decodeStruct(BBM_LOG_HEADER_LAYOUT, log, 0);
  const entries: ImsmBbmLogEntry[] = [];
  const view = new DataView(log.buffer, log.byteOffset, log.byteLength);
  const count = Math.min(
    header.entryCount,
    Math.floor((log.length - BBM_LOG_HEADER_LAYOUT.size) / BBM_LOG_ENTRY_SIZE),
  );
  for (let i = 0; i < count; i++) {
    const o = BBM_LOG_HEADER_LAYOUT.size + i * BBM_LOG_ENTRY_SIZE;
    entries.push({
      sectorCount: view.getUint8(o) + 1,
      diskOrdinal: view.getUint8(o + 1),
      startSector: BigInt(view.getUint16(o + 2, true)) |
        (BigInt(view.getUint32(o + 4, true)) << 16n),
    });
  }
  return { header, entries };
}

/** Size in bytes of a volume record as serialised. */
export function volumeRecordSize(vol: ImsmVolume): number {
  let size = VOLUME_HEADER_SIZE;
  for (const m of vol.maps) size += MAP_HEADER_SIZE + m.ord.length * ORD_ENTRY_SIZE;
  return size;
}

/** The mpb_size a model serialises to. */
export function mpbByteLength(mpb: ImsmSuper): number {
  let size = MPB_HEADER_SIZE + mpb.disks.length * DISK_RECORD_SIZE;
  for (const v of mpb.volumes) size += volumeRecordSize(v);
  return size + mpb.unparsedTail.length + mpb.bbmLog.length;
}

export interface SerializeMpbOptions {
  /** "recompute" (default) stores the correct checksum; "keep" writes `mpb.checkSum`. */
  checksum?: "recompute" | "keep";
}

/**
 * Serialises a model to exactly `mpb_size` bytes. The derived header fields (mpbSize,
 * numDisks, numRaidDevs, bbmLogSize, and the checksum unless "keep") are computed from the
 * content; a map's ord table length must equal its numMembers and a volume must have two
 * maps exactly when migrState != 0 (programming errors otherwise: plain Error).
 */
export function serializeMpb(mpb: ImsmSuper, opts: SerializeMpbOptions = {}): Uint8Array {
  if (mpb.disks.length > 255 || mpb.volumes.length > 255) {
    throw new Error(
      `serializeMpb: ${mpb.disks.length} disks / ${mpb.volumes.length} volumes exceed 255`,
    );
  }
  const size = mpbByteLength(mpb);
  const out = new Uint8Array(size);
  const header: ImsmSuperHeader = {
    ...mpb,
    mpbSize: size,
    numDisks: mpb.disks.length,
    numRaidDevs: mpb.volumes.length,
    bbmLogSize: mpb.bbmLog.length,
  };
  encodeStruct(SUPER_HEADER_LAYOUT, header, out, 0);
  let pos = MPB_HEADER_SIZE;
  for (const d of mpb.disks) {
    encodeStruct(DISK_LAYOUT, d, out, pos);
    pos += DISK_RECORD_SIZE;
  }
  mpb.volumes.forEach((vol, v) => {
    const expectedMaps = vol.migrState ? 2 : 1;
    if (vol.maps.length !== expectedMaps) {
      throw new Error(
        `serializeMpb: volumes[${v}] has migrState ${vol.migrState} but ${vol.maps.length} maps`,
      );
    }
    encodeStruct(VOLUME_HEADER_LAYOUT, vol, out, pos);
    pos += VOLUME_HEADER_SIZE;
    vol.maps.forEach((map, m) => {
      if (map.ord.length !== map.numMembers) {
        throw new Error(
          `serializeMpb: volumes[${v}].maps[${m}] numMembers ${map.numMembers} but ${map.ord.length} ord entries`,
        );
      }
      encodeStruct(MAP_HEADER_LAYOUT, map, out, pos);
      pos += MAP_HEADER_SIZE;
      const view = new DataView(out.buffer, pos, map.ord.length * ORD_ENTRY_SIZE);
      map.ord.forEach((o, s) => view.setUint32(s * ORD_ENTRY_SIZE, o >>> 0, true));
      pos += map.ord.length * ORD_ENTRY_SIZE;
    });
  });
  out.set(mpb.unparsedTail, pos);
  pos += mpb.unparsedTail.length;
  out.set(mpb.bbmLog, pos);
  const view = new DataView(out.buffer);
  view.setUint32(0x20, opts.checksum === "keep" ? mpb.checkSum : computeMpbChecksum(out), true);
  return out;
}

function fail(
  code: ImsmFormatErrorCode,
  device: string,
  structure: string,
  field: string,
  value: number | bigint | string,
  more: { problem: string; hint: string },
): ImsmFormatError {
  return new ImsmFormatError({ code, device, structure, field, value, ...more });
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

function latin1(b: Uint8Array): string {
  return Array.from(b, (c) => String.fromCharCode(c)).join("");
}
