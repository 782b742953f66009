/**
 * The only FFI in mdts: a lazily opened libc with exactly the calls the kernel layer needs.
 * Every wrapper reads errno right after a failing call and throws a named KernelError.
 *
 * Calls are synchronous on purpose, except poll(): errno is thread-local and a `nonblocking`
 * FFI call runs on another thread, whose errno cannot be read afterwards. Only poll, which
 * may wait for a long time, runs nonblocking; its rare failure (EINTR) is simply retried.
 */
import { KernelError } from "./errno.ts";

// x86-64 Linux values (checked against the installed headers).
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NONBLOCK = 0o4000;
export const O_DIRECT = 0o40000;
export const O_CLOEXEC = 0o2000000;

export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLERR = 0x8;

export const MCL_CURRENT = 1;
export const MCL_FUTURE = 2;

export const S_IFBLK = 0o060000;

const SEEK_SET = 0;

const SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  pread64: { parameters: ["i32", "pointer", "usize", "i64"], result: "isize" },
  pwrite64: { parameters: ["i32", "pointer", "usize", "i64"], result: "isize" },
  fsync: { parameters: ["i32"], result: "i32" },
  fdatasync: { parameters: ["i32"], result: "i32" },
  // ioctl is variadic; on x86-64 a pointer and an integer third argument travel the same way.
  ioctl: { parameters: ["i32", "u64", "pointer"], result: "i32" },
  ioctl_value: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  mlockall: { parameters: ["i32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  mknod: { parameters: ["buffer", "u32", "u64"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let lib: Deno.DynamicLibrary<typeof SYMBOLS> | null = null;

function libc(): Libc {
  if (lib === null) lib = Deno.dlopen("libc.so.6", SYMBOLS);
  return lib.symbols;
}

/** errno of the last failed call on this thread. */
function lastErrno(): number {
  const p = libc().__errno_location();
  if (p === null) return 0;
  return new Deno.UnsafePointerView(p).getInt32(0);
}

function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

function fail(operation: string, target: string): never {
  throw new KernelError(lastErrno(), operation, target);
}

/** open(2); `label` names the file in errors. Returns the fd. */
export function sysOpen(path: string, flags: number, mode = 0): number {
  const fd = libc().open(cString(path), flags, mode);
  if (fd < 0) fail("opening", path);
  return fd;
}

export function sysClose(fd: number, label: string): void {
  if (libc().close(fd) < 0) fail("closing", label);
}

/** Address of a buffer's first byte, for alignment checks and FFI calls. */
export function bufferAddress(buf: Uint8Array): bigint {
  const p = Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>);
  return p === null ? 0n : BigInt(Deno.UnsafePointer.value(p));
}

/**
 * A zeroed buffer of `length` bytes whose first byte sits on an `alignment` boundary, as
 * O_DIRECT needs: a larger ArrayBuffer is allocated and an aligned window of it returned.
 */
export function alignedBuffer(length: number, alignment = 4096): Uint8Array<ArrayBuffer> {
  const raw = new Uint8Array(length + alignment);
  const addr = bufferAddress(raw);
  const skip = Number((BigInt(alignment) - (addr % BigInt(alignment))) % BigInt(alignment));
  const out = raw.subarray(skip, skip + length);
  if (bufferAddress(out) % BigInt(alignment) !== 0n) {
    throw new Error(`could not align a ${length}-byte buffer to ${alignment} bytes`);
  }
  return out;
}

function ptr(buf: Uint8Array): Deno.PointerValue {
  return Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>);
}

/** One pread64(2); returns the byte count (may be short at end of file). */
export function sysPread(fd: number, buf: Uint8Array, offset: bigint, label: string): number {
  const n = Number(libc().pread64(fd, ptr(buf), BigInt(buf.length), offset));
  if (n < 0) fail(`reading ${buf.length} bytes at offset ${offset} of`, label);
  return n;
}

/** One pwrite64(2); returns the byte count. */
export function sysPwrite(fd: number, buf: Uint8Array, offset: bigint, label: string): number {
  const n = Number(libc().pwrite64(fd, ptr(buf), BigInt(buf.length), offset));
  if (n < 0) fail(`writing ${buf.length} bytes at offset ${offset} of`, label);
  return n;
}

/** read(2) from the current position, after seeking to 0: re-arms sysfs notifications. */
export function sysReadFromStart(fd: number, buf: Uint8Array<ArrayBuffer>, label: string): number {
  if (Number(libc().lseek(fd, 0n, SEEK_SET)) < 0) fail("seeking in", label);
  const n = Number(libc().read(fd, buf, BigInt(buf.length)));
  if (n < 0) fail("reading", label);
  return n;
}

export function sysFsync(fd: number, label: string): void {
  if (libc().fsync(fd) < 0) fail("syncing", label);
}

export function sysFdatasync(fd: number, label: string): void {
  if (libc().fdatasync(fd) < 0) fail("syncing data of", label);
}

/** ioctl with a pointer argument (in/out struct). `name` is the request's name for errors. */
export function sysIoctl(
  fd: number,
  request: number,
  arg: Uint8Array | null,
  name: string,
  label: string,
): number {
  const r = libc().ioctl(fd, BigInt(request), arg === null ? null : ptr(arg));
  if (r < 0) fail(`${name} on`, label);
  return r;
}

/** ioctl whose argument is a plain integer (e.g. a dev_t for HOT_REMOVE_DISK). */
export function sysIoctlValue(
  fd: number,
  request: number,
  value: bigint,
  name: string,
  label: string,
): number {
  const r = libc().ioctl_value(fd, BigInt(request), value);
  if (r < 0) fail(`${name} on`, label);
  return r;
}

/** One entry of a poll set. */
export interface PollEntry {
  fd: number;
  events: number;
}

/**
 * poll(2) without blocking the event loop. Returns the revents of each entry; a timeout gives
 * all zeros. A negative timeout waits forever.
 */
export async function sysPoll(entries: PollEntry[], timeoutMs: number): Promise<number[]> {
  const fds = new Uint8Array(8 * entries.length);
  const view = new DataView(fds.buffer);
  entries.forEach((e, i) => {
    view.setInt32(8 * i, e.fd, true);
    view.setInt16(8 * i + 4, e.events, true);
  });
  const r = await libc().poll(fds, BigInt(entries.length), Math.trunc(timeoutMs));
  if (r < 0) {
    // errno of the worker thread is not readable here; report the failure plainly.
    throw new Error(`poll of ${entries.length} sysfs/proc file(s) failed`);
  }
  return entries.map((_, i) => view.getInt16(8 * i + 6, true));
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_ACCEPTCONN = 30;
const AF_UNIX = 1;

/** A socklen_t holding `n`, for the in/out length argument of the socket calls. */
function socklen(n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** getsockname(2) of a unix socket: the path it is bound to; null when unnamed or not AF_UNIX. */
export function sysSocketName(fd: number): string | null {
  const addr = new Uint8Array(2 + 108);
  const len = socklen(addr.length);
  if (libc().getsockname(fd, addr, len) < 0) fail("getsockname of", `fd ${fd}`);
  const n = Math.min(new DataView(len.buffer).getUint32(0, true), addr.length);
  if ((addr[0] | (addr[1] << 8)) !== AF_UNIX || n <= 2 || addr[2] === 0) return null;
  const end = addr.indexOf(0, 2);
  return new TextDecoder().decode(addr.subarray(2, end < 0 || end > n ? n : end));
}

/** SO_ACCEPTCONN: whether the socket is a listening one. */
export function sysSocketListening(fd: number): boolean {
  const v = new Uint8Array(4);
  if (libc().getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, v, socklen(4)) < 0) {
    fail("getsockopt SO_ACCEPTCONN of", `fd ${fd}`);
  }
  return new DataView(v.buffer).getInt32(0, true) !== 0;
}

/** SO_PEERCRED: pid, uid and gid of the process at the other end of a unix socket. */
export function sysSocketPeer(fd: number): { pid: number; uid: number; gid: number } {
  const v = new Uint8Array(12); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
  if (libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, v, socklen(12)) < 0) {
    fail("getsockopt SO_PEERCRED of", `fd ${fd}`);
  }
  const d = new DataView(v.buffer);
  return { pid: d.getInt32(0, true), uid: d.getUint32(4, true), gid: d.getUint32(8, true) };
}

export function sysMlockall(flags: number): void {
  if (libc().mlockall(flags) < 0) fail("locking memory (mlockall) of", "this process");
}

/** glibc's makedev(): the 64-bit dev_t of a major:minor pair. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major), mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) |
    (mi & 0xffn);
}

/** mknod(2) of a block device node. */
export function sysMknodBlock(path: string, mode: number, major: number, minor: number): void {
  if (libc().mknod(cString(path), S_IFBLK | mode, makedev(major, minor)) < 0) {
    fail(`creating block node ${major}:${minor} at`, path);
  }
}
