/**
 * One VM at a time on this machine: without KVM qemu is CPU-bound, and two guests on two cores
 * make each other slow enough that udev and mdadm time out. A boot takes an exclusive flock on
 * <cache>/vm.lock (waiting if another process holds it) and releases it when qemu is gone.
 * MDTS_VM_LOCK=0 turns this off.
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
    try {
      await file.lock(true);
    } finally {
      waiting = false;
      clearTimeout(note);
    }
    const waited = performance.now() - t0;
    if (waited > 2000) log(`got ${path} after ${(waited / 1000).toFixed(0)} s`);
    heldBy = owner;
    return new VmLock(file, owner);
  }

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
