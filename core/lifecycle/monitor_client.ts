/**
 * Talking to a running monitor over /run/mdadm/CONTAINER.sock (spec md-kernel.md 6.2, 6.3):
 * framed messages, pings, and the create_array metadata update mdadm sends when a volume is
 * created while the monitor owns the metadata.
 */
import type { ImsmSuper } from "../../meta/imsm/model.ts";
import { MPB_HEADER_SIZE } from "../../meta/imsm/constants.ts";
import { serializeMpb, volumeRecordSize } from "../../meta/imsm/mpb.ts";
import { cloneSuper } from "../../meta/imsm/edit/records.ts";
import { ordIndex } from "../../meta/imsm/accessors.ts";
import { type Host, type MonitorConnection, MonitorConnectionClosed } from "./host.ts";

const START_MAGIC = 0x5a5aa5a5;
const END_MAGIC = 0xa5a55a5a;
/** IMSM update type numbers (first u32 of an update). */
export const UPDATE_CREATE_ARRAY = 1;

export function frame(payload: Uint8Array | null, len = payload?.length ?? 0): Uint8Array {
  const body = payload ?? new Uint8Array(0);
  const out = new Uint8Array(12 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, START_MAGIC, true);
  v.setInt32(4, len, true);
  out.set(body, 8);
  v.setUint32(8 + body.length, END_MAGIC, true);
  return out;
}

async function readFrame(c: MonitorConnection, timeoutMs: number): Promise<Uint8Array | null> {
  const head = await c.receive(8, timeoutMs);
  if (head === null) return null;
  const v = new DataView(head.buffer, head.byteOffset);
  if (v.getUint32(0, true) !== START_MAGIC) return null;
  const len = v.getInt32(4, true);
  if (len < 0 || len > 4 * 1024 * 1024) return null;
  const body = len > 0 ? await c.receive(len, timeoutMs) : new Uint8Array(0);
  const tail = await c.receive(4, timeoutMs);
  if (body === null || tail === null) return null;
  if (new DataView(tail.buffer, tail.byteOffset).getUint32(0, true) !== END_MAGIC) return null;
  return body;
}

/**
 * The create_array update: type, new volume index, the volume record (512-byte units), then
 * the 16-byte serial of each member in slot order (the monitor finds its disks by serial).
 */
export function createArrayUpdate(mpb: ImsmSuper, index: number): Uint8Array {
  const vol = mpb.volumes[index];
  const only = cloneSuper(mpb);
  only.disks = [];
  only.volumes = [vol];
  only.bbmLog = new Uint8Array(0);
  only.unparsedTail = new Uint8Array(0);
  const record = serializeMpb(only).slice(MPB_HEADER_SIZE, MPB_HEADER_SIZE + volumeRecordSize(vol));
  const serials = vol.maps[0].ord.map((o) => mpb.disks[ordIndex(o)].serial);
  const out = new Uint8Array(8 + record.length + 16 * serials.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, UPDATE_CREATE_ARRAY, true);
  v.setInt32(4, index, true);
  out.set(record, 8);
  serials.forEach((s, i) => out.set(s.subarray(0, 16), 8 + record.length + 16 * i));
  return out;
}

/**
 * Sends updates (each acknowledged) and then a ping on one connection: the ping's reply means
 * the monitor applied and wrote them. Returns an error text or null.
 */
export async function sendToMonitor(
  host: Host,
  container: string,
  updates: Uint8Array[],
  timeoutMs = 20_000,
): Promise<string | null> {
  const c = await host.monitorSocket(container);
  if (c === null) return `cannot connect to the monitor of ${container}`;
  try {
    return await exchange(c, container, updates, timeoutMs);
  } catch (e) {
    if (e instanceof MonitorConnectionClosed) return e.message;
    throw e;
  } finally {
    c.close();
  }
}

async function exchange(
  c: MonitorConnection,
  container: string,
  updates: Uint8Array[],
  timeoutMs: number,
): Promise<string | null> {
  for (const u of updates) {
    await c.send(frame(u));
    if ((await readFrame(c, timeoutMs)) === null) {
      return `the monitor of ${container} did not acknowledge a metadata update`;
    }
  }
  await c.send(frame(null));
  if ((await readFrame(c, timeoutMs)) === null) {
    return `the monitor of ${container} did not answer a ping`;
  }
  return null;
}

/** Pings the monitor if it runs (mdadm does after assembling, before stopping, on --wait). */
export async function pingMonitor(host: Host, container: string): Promise<void> {
  if (!(await host.monitorRunning(container))) return;
  await sendToMonitor(host, container, [], 5_000);
}
