// FFI error paths and O_DIRECT I/O on real files (needs --allow-ffi, no root).
// Files live in /var/tmp: a disk-backed file system, where O_DIRECT is honoured.
import assert from "node:assert/strict";
import {
  BLKGETSIZE64,
  LinuxBlockReader,
  LinuxRawBlockWriter,
  logicalSectorSizeOfFd,
  sizeOfFd,
  withFd,
} from "../../../kernel/block.ts";
import { isErrno } from "../../../kernel/errno.ts";
import {
  alignedBuffer,
  bufferAddress,
  makedev,
  O_DIRECT,
  O_RDONLY,
  sysClose,
  sysIoctl,
  sysOpen,
  sysPread,
} from "../../../kernel/libc.ts";
import { getArrayInfo } from "../../../kernel/md/ioctl.ts";

async function tempImage(bytes: number): Promise<string> {
  const p = await Deno.makeTempFile({ dir: "/var/tmp", prefix: "mdts-block-", suffix: ".img" });
  await Deno.truncate(p, bytes);
  return p;
}

Deno.test("open of a missing path: ENOENT with the path in the message", () => {
  assert.throws(() => sysOpen("/nonexistent/mdts/disk", O_RDONLY), (e) => {
    assert.ok(isErrno(e, "ENOENT"));
    assert.equal(
      (e as Error).message,
      "ENOENT opening /nonexistent/mdts/disk: No such file or directory",
    );
    return true;
  });
});

Deno.test("BLKGETSIZE64 on a regular file: ENOTTY, and the reader falls back to fstat", async () => {
  const p = await tempImage(3 * 1024 * 1024 + 4096);
  try {
    withFd(p, O_RDONLY, (fd) => {
      assert.throws(
        () => sysIoctl(fd, BLKGETSIZE64, new Uint8Array(8), "BLKGETSIZE64", p),
        (e) =>
          isErrno(e, "ENOTTY") && (e as Error).message.startsWith(`ENOTTY BLKGETSIZE64 on ${p}`),
      );
      assert.equal(sizeOfFd(fd, p), BigInt(3 * 1024 * 1024 + 4096));
      assert.equal(logicalSectorSizeOfFd(fd, p), 512);
    });
    const r = new LinuxBlockReader();
    assert.equal(await r.size(p), BigInt(3 * 1024 * 1024 + 4096));
    assert.equal(await r.logicalSectorSize(p), 512);
  } finally {
    await Deno.remove(p);
  }
});

Deno.test("md ioctl on a regular file fails with a named errno", async () => {
  const p = await tempImage(4096);
  try {
    assert.throws(() => getArrayInfo(p), (e) => isErrno(e, "ENOTTY"));
  } finally {
    await Deno.remove(p);
  }
});

Deno.test("aligned buffers really are aligned", () => {
  for (const align of [512, 4096]) {
    for (const len of [512, 4096, 65536]) {
      const b = alignedBuffer(len, align);
      assert.equal(b.length, len);
      assert.equal(bufferAddress(b) % BigInt(align), 0n);
      assert.ok(b.every((x) => x === 0));
    }
  }
});

Deno.test("O_DIRECT write and read back through the raw writer and reader", async () => {
  const p = await tempImage(1024 * 1024);
  try {
    const data = new Uint8Array(8192);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
    const w = new LinuxRawBlockWriter();
    await w.write({ device: p, offset: 65536n, data, purpose: "data", what: "test pattern" });
    await w.flush(p);
    const back = await new LinuxBlockReader().read(p, 65536n, 8192);
    assert.deepEqual(back, data);
    // and the bytes are really in the file, where a plain read sees them
    const plain = (await Deno.readFile(p)).subarray(65536, 65536 + 8192);
    assert.deepEqual(plain, data);
  } finally {
    await Deno.remove(p);
  }
});

Deno.test("unaligned requests are refused before reaching the kernel", async () => {
  const p = await tempImage(65536);
  try {
    await assert.rejects(
      () => new LinuxBlockReader().read(p, 100n, 512),
      /not aligned to its 512-byte sectors/,
    );
    await assert.rejects(
      () =>
        new LinuxRawBlockWriter().write({
          device: p,
          offset: 0n,
          data: new Uint8Array(100),
          purpose: "data",
          what: "x",
        }),
      /not aligned/,
    );
  } finally {
    await Deno.remove(p);
  }
});

Deno.test("O_DIRECT pread at an unaligned offset: EINVAL from the kernel, named", async () => {
  const p = await tempImage(65536);
  await Deno.writeFile(p, new Uint8Array(65536).fill(1)); // allocated blocks, not a hole
  try {
    const fd = sysOpen(p, O_RDONLY | O_DIRECT);
    try {
      assert.throws(() => sysPread(fd, alignedBuffer(512), 1n, p), (e) => {
        assert.ok(isErrno(e, "EINVAL"));
        assert.equal(
          (e as Error).message,
          `EINVAL reading 512 bytes at offset 1 of ${p}: Invalid argument`,
        );
        return true;
      });
    } finally {
      sysClose(fd, p);
    }
  } finally {
    await Deno.remove(p);
  }
});

Deno.test("reading past the end of an image is a short read with the numbers", async () => {
  const p = await tempImage(4096);
  try {
    await assert.rejects(
      () => new LinuxBlockReader().read(p, 2048n, 4096),
      /short read, end of device after 2048 of 4096 bytes at offset 2048/,
    );
  } finally {
    await Deno.remove(p);
  }
});

Deno.test("makedev packs like glibc", () => {
  assert.equal(makedev(9, 127), 0x97fn);
  assert.equal(makedev(254, 16), (254n << 8n) | 16n);
  assert.equal(makedev(259, 300), ((300n & 0xffffff00n) << 12n) | (259n << 8n) | (300n & 0xffn));
});
