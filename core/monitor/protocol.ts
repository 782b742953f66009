/**
 * The mdmon control-socket wire format (md-kernel.md section 6.2/6.3), spoken identically by
 * mdadm 4.2 and its mdmon so either side can be ours: a frame is start magic, a signed length,
 * the payload, end magic, all native-endian (little-endian on the machines we run on).
 * Length 0 is "ping the monitor", -1 "ping the manager", > 0 an opaque metadata update whose
 * first u32 is the IMSM update type.
 */

export const START_MAGIC = 0x5a5aa5a5;
export const END_MAGIC = 0xa5a55a5a;
/** Longest payload either side accepts. */
export const MAX_PAYLOAD = 4 * 1024 * 1024;

/** The version text mdmon 4.2 answers a ping with (mdadm refuses to freeze below 3.2.0). */
export const PING_REPLY_VERSION = "mdadm - v4.2 - 2021-12-30 - mdts\n";

/** One frame: the length field and its payload (empty unless length > 0). */
export interface Frame {
  length: number;
  payload: Uint8Array;
}

export type Request =
  | { kind: "ping-monitor" }
  | { kind: "ping-manager" }
  | { kind: "update"; update: MetadataUpdate };

export class ProtocolError extends Error {}

export function encodeFrame(length: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (length > 0 && payload.length !== length) {
    throw new ProtocolError(`frame length ${length} does not match its ${payload.length} bytes`);
  }
  const body = length > 0 ? payload : new Uint8Array(0);
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, START_MAGIC, true);
  view.setInt32(4, length, true);
  out.set(body, 8);
  view.setUint32(8 + body.length, END_MAGIC, true);
  return out;
}

export const encodePing = (): Uint8Array => encodeFrame(0);
export const encodePingManager = (): Uint8Array => encodeFrame(-1);
export const encodeAck = (): Uint8Array => encodeFrame(0);
export const encodeUpdate = (blob: Uint8Array): Uint8Array => encodeFrame(blob.length, blob);

/** The ping reply: the version text with its terminating NUL, as mdmon sends it. */
export function encodePingReply(version = PING_REPLY_VERSION): Uint8Array {
  const text = new TextEncoder().encode(version);
  const payload = new Uint8Array(text.length + 1);
  payload.set(text);
  return encodeFrame(payload.length, payload);
}

/** Text of a ping reply's payload (without the NUL). */
export function pingReplyText(frame: Frame): string {
  const end = frame.payload.indexOf(0);
  return new TextDecoder().decode(end < 0 ? frame.payload : frame.payload.subarray(0, end));
}

/**
 * Cuts frames out of a byte stream: feed whatever a read returned, take complete frames.
 * A bad magic or an oversized length is a protocol error (the peer then drops the connection).
 */
export class FrameReader {
  #buf = new Uint8Array(0);

  push(bytes: Uint8Array): void {
    const next = new Uint8Array(this.#buf.length + bytes.length);
    next.set(this.#buf);
    next.set(bytes, this.#buf.length);
    this.#buf = next;
  }

  /** Bytes received but not yet part of a returned frame. */
  get pending(): number {
    return this.#buf.length;
  }

  next(): Frame | null {
    if (this.#buf.length < 8) return null;
    const view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.length);
    const start = view.getUint32(0, true);
    if (start !== START_MAGIC) {
      throw new ProtocolError(
        `bad start magic 0x${start.toString(16)} (expected 0x${START_MAGIC.toString(16)})`,
      );
    }
    const length = view.getInt32(4, true);
    if (length > MAX_PAYLOAD) {
      throw new ProtocolError(`message of ${length} bytes is over the ${MAX_PAYLOAD} byte limit`);
    }
    const body = Math.max(0, length);
    if (this.#buf.length < 12 + body) return null;
    const end = view.getUint32(8 + body, true);
    if (end !== END_MAGIC) {
      throw new ProtocolError(
        `bad end magic 0x${end.toString(16)} (expected 0x${END_MAGIC.toString(16)})`,
      );
    }
    const payload = this.#buf.slice(8, 8 + body);
    this.#buf = this.#buf.slice(12 + body);
    return { length, payload };
  }
}

/** IMSM metadata update types (first u32 of an update blob). */
export const UPDATE_TYPE = {
  ACTIVATE_SPARE: 0,
  CREATE_ARRAY: 1,
  KILL_ARRAY: 2,
  RENAME_ARRAY: 3,
  ADD_REMOVE_DISK: 4,
  RESHAPE_CONTAINER_DISKS: 5,
  RESHAPE_MIGRATION: 6,
  TAKEOVER: 7,
  GENERAL_MIGRATION_CHECKPOINT: 8,
  SIZE_CHANGE: 9,
  PREALLOC_BADBLOCKS_MEM: 10,
  RWH_POLICY: 11,
  /** mdts's own (never sent to mdmon 4.2): the record to write when the next volume begins. */
  MDTS_NEXT_RECORD: 0x6d647401,
} as const;

const UPDATE_NAMES = [
  "activate_spare",
  "create_array",
  "kill_array",
  "rename_array",
  "add_remove_disk",
  "reshape_container_disks",
  "reshape_migration",
  "takeover",
  "general_migration_checkpoint",
  "size_change",
  "prealloc_badblocks_mem",
  "rwh_policy",
];

export function updateTypeName(type: number): string {
  return UPDATE_NAMES[type] ?? `unknown update type ${type}`;
}

/** A decoded update; `blob` is always the original bytes. */
export type MetadataUpdate =
  | { type: "general_migration_checkpoint"; blob: Uint8Array; unit: bigint }
  | { type: "kill_array"; blob: Uint8Array; subarray: number }
  | { type: "rename_array"; blob: Uint8Array; subarray: number; name: string }
  | { type: "add_remove_disk"; blob: Uint8Array }
  | {
    type: "reshape_container_disks";
    blob: Uint8Array;
    oldRaidDisks: number;
    newRaidDisks: number;
    /** New disks as dev_t packed into an int (glibc makedev, low bits). */
    newDisks: number[];
  }
  | {
    type: "reshape_migration";
    blob: Uint8Array;
    oldRaidDisks: number;
    newRaidDisks: number;
    subarray: number;
    /** md level, -1 = unchanged. */
    newLevel: number;
    newLayout: number;
    /** KiB (mdadm 4.2 divides its byte count by 1024), -1 = unchanged. */
    newChunkKiB: number;
    /** The spare for a raid0 -> raid5 parity disk as a packed dev_t, -1 = the monitor picks. */
    newDisk: number;
  }
  | {
    type: "takeover";
    blob: Uint8Array;
    subarray: number;
    /** 0 = raid10/raid1 -> raid0 (R10_TO_R0), 1 = raid0 -> raid10 (R0_TO_R10). */
    direction: number;
  }
  | { type: "size_change"; blob: Uint8Array; subarray: number; newSize: bigint }
  | { type: "rwh_policy"; blob: Uint8Array; subarray: number; policy: number }
  | { type: "create_array"; blob: Uint8Array; subarray: number; volume: Uint8Array }
  | {
    /** Write `sector` as the migration record when the metadata write that ends the
     * migration of subarray `from` begins the one of subarray `to` (mdts monitor only). */
    type: "mdts_next_record";
    blob: Uint8Array;
    from: number;
    to: number;
    sector: Uint8Array;
  }
  | { type: "other"; blob: Uint8Array; code: number };

function need(blob: Uint8Array, bytes: number, what: string): DataView {
  if (blob.length < bytes) {
    throw new ProtocolError(`${what} update is ${blob.length} bytes, needs at least ${bytes}`);
  }
  return new DataView(blob.buffer, blob.byteOffset, blob.length);
}

/** Decodes an update blob as mdadm 4.2 lays it out on x86-64 (int fields, u64 aligned to 8). */
export function decodeUpdate(blob: Uint8Array): MetadataUpdate {
  const v = need(blob, 4, "metadata");
  const code = v.getInt32(0, true);
  switch (code) {
    case UPDATE_TYPE.GENERAL_MIGRATION_CHECKPOINT: {
      const d = need(blob, 16, "general_migration_checkpoint");
      return { type: "general_migration_checkpoint", blob, unit: d.getBigUint64(8, true) };
    }
    case UPDATE_TYPE.KILL_ARRAY: {
      const d = need(blob, 8, "kill_array");
      return { type: "kill_array", blob, subarray: d.getInt32(4, true) };
    }
    case UPDATE_TYPE.RENAME_ARRAY: {
      const d = need(blob, 8 + 16, "rename_array");
      const raw = blob.subarray(4, 20);
      const end = raw.indexOf(0);
      const name = new TextDecoder().decode(end < 0 ? raw : raw.subarray(0, end));
      return { type: "rename_array", blob, name, subarray: d.getInt32(20, true) };
    }
    case UPDATE_TYPE.ADD_REMOVE_DISK:
      return { type: "add_remove_disk", blob };
    case UPDATE_TYPE.RESHAPE_CONTAINER_DISKS: {
      const d = need(blob, 12, "reshape_container_disks");
      const oldRaidDisks = d.getInt32(4, true);
      const newRaidDisks = d.getInt32(8, true);
      const count = Math.max(0, newRaidDisks - oldRaidDisks);
      need(blob, 12 + 4 * count, "reshape_container_disks");
      const newDisks = [];
      for (let i = 0; i < count; i++) newDisks.push(d.getInt32(12 + 4 * i, true));
      return { type: "reshape_container_disks", blob, oldRaidDisks, newRaidDisks, newDisks };
    }
    case UPDATE_TYPE.RESHAPE_MIGRATION: {
      // int type, old_raid_disks, new_raid_disks, subdev, new_level, new_layout,
      // new_chunksize, new_disks[1]
      const d = need(blob, 32, "reshape_migration");
      return {
        type: "reshape_migration",
        blob,
        oldRaidDisks: d.getInt32(4, true),
        newRaidDisks: d.getInt32(8, true),
        subarray: d.getInt32(12, true),
        newLevel: d.getInt32(16, true),
        newLayout: d.getInt32(20, true),
        newChunkKiB: d.getInt32(24, true),
        newDisk: d.getInt32(28, true),
      };
    }
    case UPDATE_TYPE.TAKEOVER: {
      const d = need(blob, 12, "takeover");
      return {
        type: "takeover",
        blob,
        subarray: d.getInt32(4, true),
        direction: d.getInt32(8, true),
      };
    }
    case UPDATE_TYPE.SIZE_CHANGE: {
      const d = need(blob, 16, "size_change");
      return {
        type: "size_change",
        blob,
        subarray: d.getInt32(4, true),
        newSize: d.getBigUint64(8, true),
      };
    }
    case UPDATE_TYPE.RWH_POLICY: {
      const d = need(blob, 12, "rwh_policy");
      return {
        type: "rwh_policy",
        blob,
        policy: d.getInt32(4, true),
        subarray: d.getInt32(8, true),
      };
    }
    case UPDATE_TYPE.CREATE_ARRAY: {
      const d = need(blob, 8, "create_array");
      return { type: "create_array", blob, subarray: d.getInt32(4, true), volume: blob.slice(8) };
    }
    case UPDATE_TYPE.MDTS_NEXT_RECORD: {
      const d = need(blob, 16 + 512, "mdts_next_record");
      return {
        type: "mdts_next_record",
        blob,
        from: d.getInt32(4, true),
        to: d.getInt32(8, true),
        sector: blob.slice(16),
      };
    }
    default:
      return { type: "other", blob, code };
  }
}

/** The mdts_next_record update: `sector` is the whole record sector as it goes to the disk. */
export function encodeNextRecordUpdate(from: number, to: number, sector: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + sector.length);
  const v = new DataView(out.buffer);
  v.setInt32(0, UPDATE_TYPE.MDTS_NEXT_RECORD, true);
  v.setInt32(4, from, true);
  v.setInt32(8, to, true);
  out.set(sector, 16);
  return out;
}

/** Builds a general_migration_checkpoint blob (what the grow process sends per checkpoint). */
export function encodeCheckpointUpdate(unit: bigint): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setInt32(0, UPDATE_TYPE.GENERAL_MIGRATION_CHECKPOINT, true);
  v.setBigUint64(8, unit, true);
  return out;
}

/** Turns a received frame into a request. */
export function requestOf(frame: Frame): Request {
  if (frame.length === 0) return { kind: "ping-monitor" };
  if (frame.length < 0) return { kind: "ping-manager" };
  return { kind: "update", update: decodeUpdate(frame.payload) };
}
