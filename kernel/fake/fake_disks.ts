/**
 * In-memory disks for unit tests: a BlockReader and a raw BlockWriter over sparse byte
 * chunks (a 64 MiB disk costs nothing until written). Writes land in a volatile overlay
 * until flush(), so crash() can drop unflushed writes the way a power cut would.
 */
import type { BlockReader, BlockWriter, WriteRequest } from "../../core/ports.ts";
import { KernelError } from "../errno.ts";

const CHUNK = 65536;

interface Disk {
  size: number;
  sectorSize: number;
  durable: Map<number, Uint8Array>;
  /** Chunks written since the last flush (full copies). */
  dirty: Map<number, Uint8Array>;
}

export class FakeDisks implements BlockReader, BlockWriter {
  #disks = new Map<string, Disk>();
  /** Every write seen, in order. */
  readonly writes: WriteRequest[] = [];

  /** Adds a zero-filled disk (or one starting with `content`). */
  add(device: string, sizeBytes: number, sectorSize = 512, content?: Uint8Array): void {
    const d: Disk = { size: sizeBytes, sectorSize, durable: new Map(), dirty: new Map() };
    this.#disks.set(device, d);
    if (content) {
      this.#put(d, 0, content.subarray(0, sizeBytes));
      this.#flushDisk(d);
    }
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
    if (offset % BigInt(d.sectorSize) !== 0n || length % d.sectorSize !== 0) {
      throw new KernelError(22, `${op} ${length} bytes at offset ${offset} (unaligned) of`, device);
    }
    if (offset < 0n || offset + BigInt(length) > BigInt(d.size)) {
      throw new KernelError(
        28,
        `${op} ${length} bytes at offset ${offset} (past the end) of`,
        device,
      );
    }
    return Number(offset);
  }

  #chunk(d: Disk, i: number): Uint8Array | undefined {
    return d.dirty.get(i) ?? d.durable.get(i);
  }

  #copyOut(d: Disk, at: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let pos = at; pos < at + length;) {
      const i = Math.floor(pos / CHUNK), within = pos % CHUNK;
      const n = Math.min(CHUNK - within, at + length - pos);
      const c = this.#chunk(d, i);
      if (c) out.set(c.subarray(within, within + n), pos - at);
      pos += n;
    }
    return out;
  }

  #put(d: Disk, at: number, data: Uint8Array): void {
    for (let pos = at; pos < at + data.length;) {
      const i = Math.floor(pos / CHUNK), within = pos % CHUNK;
      const n = Math.min(CHUNK - within, at + data.length - pos);
      let c = d.dirty.get(i);
      if (!c) {
        c = d.durable.get(i)?.slice() ?? new Uint8Array(CHUNK);
        d.dirty.set(i, c);
      }
      c.set(data.subarray(pos - at, pos - at + n), within);
      pos += n;
    }
  }

  #flushDisk(d: Disk): void {
    for (const [i, c] of d.dirty) d.durable.set(i, c);
    d.dirty.clear();
  }

  // async: failures must arrive as rejections, like a real BlockReader's
  // deno-lint-ignore require-await
  async size(device: string): Promise<bigint> {
    return BigInt(this.#get(device, "opening").size);
  }

  // deno-lint-ignore require-await
  async logicalSectorSize(device: string): Promise<number> {
    return this.#get(device, "opening").sectorSize;
  }

  // deno-lint-ignore require-await
  async read(device: string, offset: bigint, length: number): Promise<Uint8Array> {
    const d = this.#get(device, "opening");
    return this.#copyOut(d, this.#check(d, device, offset, length, "reading"), length);
  }

  // deno-lint-ignore require-await
  async write(req: WriteRequest): Promise<void> {
    const d = this.#get(req.device, "opening");
    this.#put(d, this.#check(d, req.device, req.offset, req.data.length, "writing"), req.data);
    this.writes.push({ ...req, data: req.data.slice() });
  }

  // deno-lint-ignore require-await
  async flush(device: string): Promise<void> {
    this.#flushDisk(this.#get(device, "syncing"));
  }

  /** A power cut: every disk loses what was written since its last flush. */
  crash(): void {
    for (const d of this.#disks.values()) d.dirty.clear();
  }

  /** Content of a byte range (no alignment rules; for test assertions). */
  bytes(device: string, offset = 0, length?: number): Uint8Array {
    const d = this.#get(device, "opening");
    return this.#copyOut(d, offset, length ?? d.size - offset);
  }
}
