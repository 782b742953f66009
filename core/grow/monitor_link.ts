/**
 * The grow process's side of the monitor's control socket (md-kernel.md §6): ping the
 * monitor (len 0; its reply means every update sent before is applied and on disk), ping
 * the manager (len -1; it re-reads the container's arrays), and metadata updates (acked at
 * once, then a ping so the caller knows they are on disk). Speaks to mdts's and mdadm's
 * monitors alike.
 */
import { type MonitorConnection, MonitorConnectionClosed } from "../lifecycle/host.ts";
import { encodeFrame, type Frame, FrameReader, pingReplyText } from "../monitor/protocol.ts";

export interface MonitorLink {
  ping(): Promise<void>;
  pingManager(): Promise<void>;
  /** Sends `blob`, waits for its ack, then pings: resolves once the update is on disk. */
  update(blob: Uint8Array): Promise<void>;
  /** The monitor's ping reply ("mdadm - v4.2 - ... - mdts" for mdts's own). */
  version?(): Promise<string>;
}

/** Whether a ping reply comes from mdts's monitor (which takes mdts's private updates). */
export function isMdtsMonitor(version: string): boolean {
  return /- mdts\s*$/.test(version);
}

export class MonitorLinkError extends Error {
  constructor(readonly container: string, problem: string) {
    super(
      `monitor of /dev/${container}: ${problem}; is mdmon running for it ` +
        `(mdts mdmon --takeover ${container})?`,
    );
    this.name = "MonitorLinkError";
  }
}

/** Connections tried for one exchange before the monitor is taken to be gone. */
const RECONNECTS = 3;

/** Link over the host's connection to /run/mdadm/CONTAINER.sock; one per exchange, as mdadm. */
export class SocketMonitorLink implements MonitorLink {
  constructor(
    readonly container: string,
    readonly connect: (container: string) => Promise<MonitorConnection | null>,
    readonly timeoutMs = 30_000,
  ) {}

  async ping(): Promise<void> {
    await this.#exchange([encodeFrame(0)]);
  }

  async version(): Promise<string> {
    const reply = await this.#exchange([encodeFrame(0)]);
    return reply ? pingReplyText(reply) : "";
  }

  async pingManager(): Promise<void> {
    await this.#exchange([encodeFrame(-1)]);
  }

  async update(blob: Uint8Array): Promise<void> {
    await this.#exchange([encodeFrame(blob.length, blob), encodeFrame(0)]);
  }

  /**
   * Sends each frame and waits for one reply frame to each. A frame the monitor closed the
   * connection on (it drops a client that paused mid-exchange, e.g. a stopped grow) is sent
   * again on a new connection; frames already answered are not.
   */
  async #exchange(frames: Uint8Array[]): Promise<Frame | null> {
    let next = 0;
    let last: Frame | null = null;
    for (let attempt = 1;; attempt++) {
      const conn = await this.connect(this.container);
      if (conn === null) throw new MonitorLinkError(this.container, "no control socket");
      try {
        for (; next < frames.length; next++) {
          await conn.send(frames[next]);
          last = await this.#reply(conn);
          if (last === null) {
            throw new MonitorLinkError(this.container, `no reply within ${this.timeoutMs} ms`);
          }
        }
        return last;
      } catch (e) {
        if (!(e instanceof MonitorConnectionClosed) || attempt >= RECONNECTS) {
          if (e instanceof MonitorConnectionClosed) {
            throw new MonitorLinkError(this.container, `${e.message}, ${attempt} times`);
          }
          throw e;
        }
      } finally {
        conn.close();
      }
    }
  }

  async #reply(conn: MonitorConnection): Promise<Frame | null> {
    const head = await conn.receive(8, this.timeoutMs);
    if (head === null) return null;
    const reader = new FrameReader();
    reader.push(head);
    const len = new DataView(head.buffer, head.byteOffset, 8).getInt32(4, true);
    const rest = await conn.receive(Math.max(0, len) + 4, this.timeoutMs);
    if (rest === null) return null;
    reader.push(rest);
    return reader.next();
  }
}

/** dev_t as mdadm packs it into the reshape update (glibc makedev, low 32 bits). */
export function packDev(majMin: string): number {
  const [major, minor] = majMin.split(":").map(Number);
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** reshape_container_disks (type 5): old and new member count, then each new disk's dev_t. */
export function encodeContainerReshape(
  oldRaidDisks: number,
  newRaidDisks: number,
  newDisks: string[],
): Uint8Array {
  const out = new Uint8Array(12 + 4 * newDisks.length);
  const v = new DataView(out.buffer);
  v.setInt32(0, 5, true);
  v.setInt32(4, oldRaidDisks, true);
  v.setInt32(8, newRaidDisks, true);
  newDisks.forEach((d, i) => v.setUint32(12 + 4 * i, packDev(d), true));
  return out;
}

/** A volume's level/chunk migration as the reshape_migration update (type 6) carries it. */
export interface ReshapeMigration {
  kind: "reshape-migration";
  subarray: number;
  oldRaidDisks: number;
  newRaidDisks: number;
  /** md level number, -1 when unchanged. */
  newLevel: number;
  newLayout: number;
  /** KiB, -1 when unchanged (mdadm 4.2 sends the chunk in KiB, not bytes). */
  newChunkKiB: number;
  /** "MAJ:MIN" of the spare that becomes the parity disk (raid0 -> raid5), else null. */
  newDisk: string | null;
}

/** reshape_migration: eight ints, the last the new disk's dev_t or -1. */
export function encodeReshapeMigration(m: ReshapeMigration): Uint8Array {
  const out = new Uint8Array(32);
  const v = new DataView(out.buffer);
  v.setInt32(0, 6, true);
  v.setInt32(4, m.oldRaidDisks, true);
  v.setInt32(8, m.newRaidDisks, true);
  v.setInt32(12, m.subarray, true);
  v.setInt32(16, m.newLevel, true);
  v.setInt32(20, m.newLayout, true);
  v.setInt32(24, m.newChunkKiB, true);
  if (m.newDisk === null) v.setInt32(28, -1, true);
  else v.setUint32(28, packDev(m.newDisk), true);
  return out;
}
