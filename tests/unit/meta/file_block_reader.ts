/** BlockReader over image files (tests only; the real device reader lives in kernel/). */
import type { BlockReader } from "../../../core/ports.ts";

export class FileBlockReader implements BlockReader {
  constructor(private readonly sectorSize = 512) {}

  async size(device: string): Promise<bigint> {
    return BigInt((await Deno.stat(device)).size);
  }

  logicalSectorSize(_device: string): Promise<number> {
    return Promise.resolve(this.sectorSize);
  }

  async read(device: string, offset: bigint, length: number): Promise<Uint8Array> {
    if (offset % BigInt(this.sectorSize) !== 0n || length % this.sectorSize !== 0) {
      throw new RangeError(`unaligned read of ${length} at ${offset} on ${device}`);
    }
    using f = await Deno.open(device, { read: true });
    await f.seek(offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = await f.read(buf.subarray(got));
      if (n === null) throw new RangeError(`short read on ${device}: ${got} of ${length}`);
      got += n;
    }
    return buf;
  }
}

/** Writes a sparse image of `diskSize` bytes holding `tail` at `tailOffset`. */
export async function writeImage(
  path: string,
  diskSize: bigint,
  tailOffset: bigint,
  tail: Uint8Array,
): Promise<void> {
  using f = await Deno.open(path, { write: true, create: true, truncate: true });
  await f.truncate(Number(diskSize));
  await f.seek(tailOffset, Deno.SeekMode.Start);
  let done = 0;
  while (done < tail.length) done += await f.write(tail.subarray(done));
}
