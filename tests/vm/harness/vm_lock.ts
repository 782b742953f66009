/**
 * One VM at a time on this machine: without KVM qemu is CPU-bound, and two guests on two cores
 * make each other slow enough that udev and mdadm time out. A boot takes an exclusive flock on
 * <cache>/vm.lock (waiting if another process holds it) and releases it when the Vm is disposed.
 * Waiters queue first come, first served: each leaves a ticket (time, pid) in <cache>/vm.queue/
 * and only the oldest live ticket waits on the flock, so a short run is not starved by a stream
 * of long ones. MDTS_VM_LOCK=0 turns this off.
 */
import { cacheDir } from "./paths.ts";

let heldBy: string | null = null;

export class VmLock {
  private constructor(private file: Deno.FsFile | null, private owner: string) {}

  static async acquire(owner: string, log: (s: string) => void): Promise<VmLock> {
    if (heldBy !== null) {
      throw new Error(
        `cannot boot ${owner}: this process already runs a VM (${heldBy}); shut it down or ` +
          `dispose it first (one VM at a time)`,
      );
    }
    if (Deno.env.get("MDTS_VM_LOCK") === "0") {
      heldBy = owner;
      return new VmLock(null, owner);
    }
    Deno.mkdirSync(cacheDir(), { recursive: true });
    const path = `${cacheDir()}/vm.lock`;
    const file = await Deno.open(path, { read: true, write: true, create: true });
    let waiting = true;
    const t0 = performance.now();
    const note = setTimeout(() => {
      if (waiting) log(`waiting for ${path}: another process runs a VM (one VM at a time)`);
    }, 2000);
    const ticket = await takeTicket();
    try {
      await waitForTurn(ticket);
      await file.lock(true);
    } finally {
      waiting = false;
      clearTimeout(note);
      await Deno.remove(ticket).catch(() => {});
    }
    const waited = performance.now() - t0;
    if (waited > 2000) log(`got ${path} after ${(waited / 1000).toFixed(0)} s`);
    heldBy = owner;
    return new VmLock(file, owner);
  }

  /** Releases the lock; a no-op when already released. */
  release() {
    if (heldBy === this.owner) heldBy = null;
    if (!this.file) return;
    try {
      this.file.unlockSync();
      this.file.close();
    } catch {
      // already released
    }
    this.file = null;
  }
}

function queueDir(): string {
  return `${cacheDir()}/vm.queue`;
}

/** A ticket whose name sorts by arrival: zero-padded milliseconds, then the pid. */
async function takeTicket(): Promise<string> {
  await Deno.mkdir(queueDir(), { recursive: true });
  const name = `${String(Date.now()).padStart(15, "0")}-${Deno.pid}`;
  const path = `${queueDir()}/${name}`;
  await Deno.writeTextFile(path, "");
  return path;
}

/** Until no live ticket older than ours remains (tickets of dead processes are removed). */
async function waitForTurn(ticket: string): Promise<void> {
  const mine = ticket.slice(ticket.lastIndexOf("/") + 1);
  for (;;) {
    const ahead: string[] = [];
    for await (const e of Deno.readDir(queueDir())) {
      if (e.name >= mine) continue;
      const pid = Number(e.name.split("-")[1]);
      if (!alive(pid)) {
        await Deno.remove(`${queueDir()}/${e.name}`).catch(() => {});
        continue;
      }
      ahead.push(e.name);
    }
    if (ahead.length === 0) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
