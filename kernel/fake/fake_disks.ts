/**
 * In-memory disks for unit tests: a BlockReader and a raw BlockWriter over byte arrays.
 * Writes land in a volatile layer until flush(), so crash() can drop unflushed writes the
 * way a power cut would.
 */
import type { BlockReader, BlockWriter, WriteRequest } from "../../core/ports.ts";
import { KernelError } from "../errno.ts";

interface Disk {
  sectorSize: number;
  durable: Uint8Array;
  volatile: Uint8Array;
}

export class FakeDisks implements BlockReader, BlockWriter {
  #disks = new Map<string, Disk>();
  /** Every write seen, in order (device, offset, length, purpose). */
  readonly writes: WriteRequest[] = [];

  /** Adds a zero-filled disk (or one holding `content`). */
  add(device: string, sizeBytes: number, sectorSize = 512, content?: Uint8Array): void {
    const durable = new Uint8Array(sizeBytes);
    if (content) durable.set(content.subarray(0, sizeBytes));
    this.#disks.set(device, { sectorSize, durable, volatile: durable.slice() });
  }

  has(device: string): boolean {
    return this.#disks.has(device);
  }

  names(): string[] {
    return [...this.#disks.keys()];
  }

  #get(device: string, op: string): Disk {
    const d = this.#disks.get(device);
    if (!d) throw new KernelError(2, op, device);
    return d;
  }

  #check(d: Disk, device: string, offset: bigint, length: number, op: string): number {
    const s = BigInt(d.sectorSize);
    if (offset % s !== 0n || length % d.sectorSize !== 0) {
      throw new KernelError(22, `${op} ${length} bytes at offset ${offset} (unaligned) of`, device);
    }
    if (offset < 0n || offset + BigInt(length) > BigInt(d.volatile.length)) {
      throw new KernelError(
        28,
        `${op} ${length} bytes at offset ${offset} (past the end) of`,
        device,
      );
    }
    return Number(offset);
  }

  size(device: string): Promise<bigint> {
    return Promise.resolve(BigInt(this.#get(device, "opening").volatile.length));
  }

  logicalSectorSize(device: string): Promise<number> {
    return Promise.resolve(this.#get(device, "opening").sectorSize);
  }

  read(device: string, offset: bigint, length: number): Promise<Uint8Array> {
    const d = this.#get(device, "opening");
    const at = this.#check(d, device, offset, length, "reading");
    return Promise.resolve(d.volatile.slice(at, at + length));
  }

  write(req: WriteRequest): Promise<void> {
    const d = this.#get(req.device, "opening");
    const at = this.#check(d, req.device, req.offset, req.data.length, "writing");
    d.volatile.set(req.data, at);
    this.writes.push({ ...req, data: req.data.slice() });
    return Promise.resolve();
  }

  flush(device: string): Promise<void> {
    const d = this.#get(device, "syncing");
    d.durable.set(d.volatile);
    return Promise.resolve();
  }

  /** A power cut: every disk loses what was written since its last flush. */
  crash(): void {
    for (const d of this.#disks.values()) d.volatile.set(d.durable);
  }

  /** Current content of a whole disk (a copy). */
  bytes(device: string): Uint8Array {
    return this.#get(device, "opening").volatile.slice();
  }
}
