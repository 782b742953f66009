/**
 * Waiting for sysfs (and /proc/mdstat) notifications with poll(POLLPRI), the way md expects:
 * open, read once to arm, poll, then seek to 0 and read again to re-arm. The poll runs off the
 * main thread so the event loop keeps running while we wait.
 */
import {
  O_CLOEXEC,
  O_RDONLY,
  POLLERR,
  POLLPRI,
  sysClose,
  sysOpen,
  sysPoll,
  sysReadFromStart,
} from "../libc.ts";
import { isErrno } from "../errno.ts";
import type { AttributeWatcher, WatchResult } from "./store.ts";

const decoder = new TextDecoder();

interface Watched {
  key: string;
  path: string;
  fd: number;
  last: string | null;
}

/** Watches files given as key -> absolute path. Files that do not exist are skipped. */
export class PollWatcher implements AttributeWatcher {
  #files: Watched[] = [];
  #buf = new Uint8Array(4096);

  constructor(paths: Map<string, string>) {
    for (const [key, path] of paths) {
      let fd: number;
      try {
        fd = sysOpen(path, O_RDONLY | O_CLOEXEC);
      } catch (e) {
        if (isErrno(e, "ENOENT")) continue;
        this.close();
        throw e;
      }
      const w: Watched = { key, path, fd, last: null };
      w.last = this.#read(w);
      this.#files.push(w);
    }
  }

  /** Keys of the files actually watched. */
  get keys(): string[] {
    return this.#files.map((f) => f.key);
  }

  #read(w: Watched): string | null {
    try {
      const n = sysReadFromStart(w.fd, this.#buf, w.path);
      return decoder.decode(this.#buf.subarray(0, n)).replace(/\n$/, "");
    } catch (e) {
      if (isErrno(e, "ENODEV") || isErrno(e, "ENOENT")) return null;
      throw e;
    }
  }

  async wait(timeoutMs: number): Promise<WatchResult> {
    const revents = this.#files.length === 0
      ? (await new Promise((r) => setTimeout(r, Math.max(0, timeoutMs))), [])
      : await sysPoll(this.#files.map((f) => ({ fd: f.fd, events: POLLPRI | POLLERR })), timeoutMs);
    const timedOut = revents.every((r) => r === 0);
    const changed: string[] = [];
    const values = new Map<string, string | null>();
    for (const f of this.#files) {
      const now = this.#read(f);
      if (now !== f.last) changed.push(f.key);
      f.last = now;
      values.set(f.key, now);
    }
    return { timedOut, changed, values };
  }

  close(): void {
    for (const f of this.#files) {
      try {
        sysClose(f.fd, f.path);
      } catch {
        // closing a sysfs fd of a vanished array can fail; nothing to do about it
      }
    }
    this.#files = [];
  }
}

/**
 * Waits until `predicate` holds for the watched values, or the deadline passes.
 * Returns the last values and whether the predicate held.
 */
export async function waitUntil(
  watcher: AttributeWatcher,
  predicate: (values: Map<string, string | null>) => boolean,
  timeoutMs: number,
  current: Map<string, string | null>,
): Promise<{ ok: boolean; values: Map<string, string | null> }> {
  const deadline = Date.now() + timeoutMs;
  let values = current;
  while (!predicate(values)) {
    const left = deadline - Date.now();
    if (left <= 0) return { ok: false, values };
    values = (await watcher.wait(left)).values;
  }
  return { ok: true, values };
}
