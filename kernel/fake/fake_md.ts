/**
 * An in-memory md driver behind the MdAttributeStore port: the attribute state machine of
 * spec md-kernel.md (array_state, sync_action, reshape, member state/slot) and a /proc/mdstat
 * rendering in the kernel's format. Sync and reshape progress only moves when a test calls
 * advanceSync(), so tests control time.
 */
import { KernelError } from "../errno.ts";
import type { ArrayState, SyncAction } from "../md/sysfs.ts";
import { MAX_SECTOR } from "../md/sysfs.ts";
import type { AttributeWatcher, MdAttributeStore, WatchResult } from "../md/store.ts";

const EINVAL = 22,
  EBUSY = 16,
  EDEADLK = 35,
  ENOENT = 2,
  EEXIST = 17,
  ENOSPC = 28,
  ENXIO = 6,
  EACCES = 13;

interface FakeMember {
  name: string;
  dev: string;
  descriptor: number;
  slot: number | null;
  offset: bigint;
  size: bigint;
  inSync: boolean;
  faulty: boolean;
  blocked: boolean;
  externalBbl: boolean;
  writeMostly: boolean;
  recoveryStart: bigint | "none";
}

interface FakeArray {
  devnm: string;
  metadataVersion: string;
  level: string;
  raidDisks: number;
  /** Old raid_disks while a reshape runs (or is pending before start). */
  oldRaidDisks: number | null;
  pendingRaidDisks: number | null;
  chunk: number;
  newChunk: number | null;
  layout: number;
  newLayout: number | null;
  componentKiB: bigint;
  arrayKiB: bigint | "default";
  running: boolean;
  state: ArrayState;
  /**
   * While state is write-pending because md raised a superblock update without dirtying the
   * array (a sync ended, a member failed): what array_state reads once user space writes
   * "active". null: the array was dirtied (a write, md_allow_write) and "active" decides.
   */
  stateAfterPending: ArrayState | null;
  frozen: boolean;
  /** The running sync and its per-device position in sectors. */
  sync: { action: "resync" | "recover" | "check" | "repair" | "reshape"; pos: bigint } | null;
  syncMin: bigint;
  syncMax: bigint | "max";
  suspendLo: bigint;
  suspendHi: bigint;
  reshapePosition: bigint | "none";
  /**
   * I/O waiting inside raid5 for the reshape to move past the old-layout stripe row it falls
   * in (array sector where that row ends). It holds md's active-I/O count meanwhile.
   */
  trappedIo: bigint[];
  resyncStart: bigint | "none";
  safeModeMs: number;
  members: FakeMember[];
  openers: number;
  everRun: boolean;
  /** Creation order: /proc/mdstat lists the newest md device first. */
  created: number;
}

/** States of a running, writable array that a pending superblock update returns to. */
function isSettled(s: ArrayState): boolean {
  return s === "clean" || s === "active" || s === "active-idle";
}

const REDUNDANT = new Set(["raid1", "raid4", "raid5", "raid6", "raid10"]);
const LEVELS = new Set(["raid0", "raid1", "raid4", "raid5", "raid6", "raid10", "linear"]);

function err(errno: number, op: string, target: string, hint?: string): KernelError {
  return new KernelError(errno, op, target, hint);
}

function parseSectors(value: string, target: string): bigint {
  const t = value.trim();
  if (!/^\d+$/.test(t)) throw err(EINVAL, `writing "${t}" to`, target);
  return BigInt(t);
}

function newArray(devnm: string, created: number): FakeArray {
  return {
    devnm,
    metadataVersion: "none",
    level: "",
    raidDisks: 0,
    oldRaidDisks: null,
    pendingRaidDisks: null,
    chunk: 0,
    newChunk: null,
    layout: 0,
    newLayout: null,
    componentKiB: 0n,
    arrayKiB: "default",
    running: false,
    state: "clear",
    stateAfterPending: null,
    frozen: false,
    sync: null,
    syncMin: 0n,
    syncMax: "max",
    suspendLo: 0n,
    suspendHi: 0n,
    reshapePosition: "none",
    trappedIo: [],
    resyncStart: 0n,
    safeModeMs: 0,
    members: [],
    openers: 0,
    everRun: false,
    created,
  };
}

export class FakeMdStore implements MdAttributeStore {
  #arrays = new Map<string, FakeArray>();
  /** Block devices the fake knows: kernel name -> "MAJ:MIN". */
  #blockDevs = new Map<string, string>();
  #listeners = new Set<() => void>();
  #created = 0;

  /** Registers a block device the arrays can use (e.g. "vda" as "254:0"). */
  addBlockDevice(name: string, majMin: string): void {
    this.#blockDevs.set(name, majMin);
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  #array(devnm: string, path: string): FakeArray {
    const a = this.#arrays.get(devnm);
    if (!a) throw err(ENOENT, "opening", `/sys/block/${devnm}/md/${path}`);
    return a;
  }

  #dataDisks(a: FakeArray, raidDisks = a.raidDisks): number {
    switch (a.level) {
      case "raid0":
      case "linear":
        return raidDisks;
      case "raid1":
        return 1;
      case "raid4":
      case "raid5":
        return raidDisks - 1;
      case "raid6":
        return raidDisks - 2;
      case "raid10":
        return raidDisks / 2;
      default:
        return raidDisks;
    }
  }

  /**
   * md (6.1) writes suspend_lo/suspend_hi/level under mddev_suspend, which waits until no I/O
   * is inside the personality. I/O trapped at the reshape boundary only leaves when the reshape
   * moves, which nothing does while the writer waits: the real kernel hangs there for good.
   * The fake fails the write instead so a test sees the hang.
   */
  #suspendCheck(a: FakeArray, op: string, target: string): void {
    if (a.trappedIo.length === 0) return;
    throw err(
      EDEADLK,
      op,
      target,
      `md would hang: ${a.trappedIo.length} I/O wait(s) for the reshape to pass array sector ` +
        `${a.trappedIo[0]} and mddev_suspend waits for them`,
    );
  }

  /** Old-layout stripe row in array sectors while a reshape is pending or running. */
  #oldStripeRow(a: FakeArray): bigint | null {
    if (a.reshapePosition === "none" || a.oldRaidDisks === null) return null;
    if (!["raid4", "raid5", "raid6"].includes(a.level)) return null;
    const chunkSectors = BigInt(a.chunk / 512);
    return chunkSectors * BigInt(this.#dataDisks(a, a.oldRaidDisks));
  }

  #releaseTrapped(a: FakeArray): void {
    const pos = a.reshapePosition;
    a.trappedIo = pos === "none" ? [] : a.trappedIo.filter((end) => end > pos);
  }

  #degraded(a: FakeArray): number {
    const working = a.members.filter((m) => m.slot !== null && m.inSync && !m.faulty).length;
    return Math.max(0, a.raidDisks - working);
  }

  #derivedState(a: FakeArray): ArrayState {
    if (a.running) return a.state;
    return a.members.length === 0 && a.raidDisks === 0 && a.componentKiB === 0n
      ? "clear"
      : "inactive";
  }

  #redundantRunning(a: FakeArray): boolean {
    return a.running && REDUNDANT.has(a.level);
  }

  // ---------------------------------------------------------------- reads

  read(devnm: string, path: string): Promise<string | null> {
    const a = this.#arrays.get(devnm);
    if (!a) return Promise.resolve(null);
    try {
      return Promise.resolve(this.#readSync(a, path));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #readSync(a: FakeArray, path: string): string | null {
    const target = `/sys/block/${a.devnm}/md/${path}`;
    if (path.startsWith("dev-")) return this.#readMember(a, path);
    const redundant = this.#redundantRunning(a);
    switch (path) {
      case "array_state":
        return this.#derivedState(a);
      case "level":
        return a.level;
      case "raid_disks":
        if (a.raidDisks === 0) return "";
        return a.oldRaidDisks !== null && a.reshapePosition !== "none"
          ? `${a.raidDisks} (${a.oldRaidDisks})`
          : String(a.raidDisks);
      case "chunk_size":
        return a.newChunk !== null && a.reshapePosition !== "none" && a.newChunk !== a.chunk
          ? `${a.newChunk} (${a.chunk})`
          : String(a.chunk);
      case "layout":
        return a.newLayout !== null && a.reshapePosition !== "none" && a.newLayout !== a.layout
          ? `${a.newLayout} (${a.layout})`
          : String(a.layout);
      case "component_size":
        return String(a.componentKiB);
      case "array_size":
        return String(a.arrayKiB);
      case "metadata_version":
        return a.metadataVersion;
      case "resync_start":
        return a.resyncStart === "none" ? "none" : String(a.resyncStart);
      case "reshape_position":
        return String(a.reshapePosition);
      case "reshape_direction":
        return "forwards";
      case "safe_mode_delay":
        return `${Math.floor(a.safeModeMs / 1000)}.${String(a.safeModeMs % 1000).padStart(3, "0")}`;
      case "max_read_errors":
        return a.everRun ? "20" : "0"; // md sets the default when an array first runs
      case "new_dev":
        throw err(EACCES, "opening", target);
      case "consistency_policy":
        if (!a.running) return "unknown";
        return redundant ? "resync" : "none";
      case "sync_action":
        if (!redundant) return null;
        if (a.frozen) return "frozen";
        return a.sync === null ? "idle" : a.sync.action;
      case "sync_completed": {
        if (!redundant) return null;
        if (a.sync === null) return "none";
        return `${a.sync.pos} / ${a.componentKiB * 2n}`;
      }
      case "sync_min":
        return redundant ? String(a.syncMin) : null;
      case "sync_max":
        return redundant ? String(a.syncMax) : null;
      case "suspend_lo":
        return redundant ? String(a.suspendLo) : null;
      case "suspend_hi":
        return redundant ? String(a.suspendHi) : null;
      case "degraded":
        return redundant ? String(this.#degraded(a)) : null;
      default:
        return null;
    }
  }

  #member(a: FakeArray, path: string): { m: FakeMember | undefined; attr: string } {
    const slash = path.indexOf("/");
    const name = path.slice(4, slash < 0 ? undefined : slash);
    return {
      m: a.members.find((m) => m.name === name),
      attr: slash < 0 ? "" : path.slice(slash + 1),
    };
  }

  #readMember(a: FakeArray, path: string): string | null {
    const { m, attr } = this.#member(a, path);
    if (!m) return null;
    switch (attr) {
      case "state": {
        const s: string[] = [];
        if (m.faulty) s.push("faulty");
        if (m.inSync) s.push("in_sync");
        if (m.writeMostly) s.push("write_mostly");
        if (m.blocked) s.push("blocked");
        if (!m.faulty && !m.inSync) s.push("spare");
        if (m.externalBbl) s.push("external_bbl");
        return s.join(",");
      }
      case "slot":
        return m.slot === null ? "none" : String(m.slot);
      case "offset":
      case "new_offset":
        return String(m.offset);
      case "size":
        return String(m.size);
      case "errors":
        return "0";
      case "recovery_start":
        return m.inSync || m.recoveryStart === "none" ? "none" : String(m.recoveryStart);
      case "block/dev":
        return m.dev;
      default:
        return null;
    }
  }

  // ---------------------------------------------------------------- writes

  write(devnm: string, path: string, value: string): Promise<void> {
    try {
      const waiting = this.#writeSync(this.#array(devnm, path), path, value.replace(/\n$/, ""));
      return waiting ?? Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    } finally {
      this.#notify();
    }
  }

  /** Resolves once `pred` holds (checked after every change of the fake). */
  #when(pred: () => boolean): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve) => {
      const stop = this.listen(() => {
        if (!pred()) return;
        stop();
        resolve();
      });
    });
  }

  /** Applies a write; returns a promise when the write blocks in the kernel (md_allow_write). */
  #writeSync(a: FakeArray, path: string, v: string): Promise<void> | void {
    const target = `/sys/block/${a.devnm}/md/${path}`;
    const op = `writing "${v}" to`;
    if (path.startsWith("dev-")) return void this.#writeMember(a, path, v, target, op);
    const redundant = this.#redundantRunning(a);
    switch (path) {
      case "metadata_version":
        if (!/^(none|external:.+|\d+\.\d+)$/.test(v)) throw err(EINVAL, op, target);
        // the external string may change at any time; anything else needs an empty array
        if (
          !(a.metadataVersion.startsWith("external:") && v.startsWith("external:")) &&
          a.members.length > 0
        ) throw err(EBUSY, op, target);
        a.metadataVersion = v;
        return;
      case "level":
        if (!LEVELS.has(v)) throw err(EINVAL, op, target);
        if (a.running) this.#suspendCheck(a, op, target);
        if (a.running && a.level === "raid0" && v === "raid10") {
          // md's raid10_takeover_raid0: near-2 copies, member i in slot 2i, odd slots empty
          for (const m of a.members) if (m.slot !== null) m.slot *= 2;
          a.raidDisks *= 2;
          a.layout = 0x102;
          a.level = v;
          a.resyncStart = "none";
          this.#notify();
          return;
        }
        if (a.running && v !== a.level) throw err(EBUSY, op, target, "takeover is not modelled");
        a.level = v;
        return;
      case "raid_disks": {
        const n = Number(parseSectors(v, target));
        if (n <= 0) throw err(EINVAL, op, target);
        if (!a.running) {
          if (a.reshapePosition !== "none" && a.raidDisks !== 0) a.oldRaidDisks = a.raidDisks;
          a.raidDisks = n;
          return;
        }
        if (!["raid4", "raid5", "raid6"].includes(a.level)) throw err(EINVAL, op, target);
        if (
          (a.state === "clean" || a.state === "active-idle") &&
          a.metadataVersion.startsWith("external:")
        ) {
          // md_allow_write (6.1): the writer sleeps while the array reads write-pending, until
          // user space (mdmon) writes "active"
          this.#raisePending(a, null);
          const self = this.#arrays.get(a.devnm);
          return this.#when(() => this.#arrays.get(a.devnm) !== self || a.state !== "write-pending")
            .then(() => {
              a.pendingRaidDisks = n;
            });
        }
        a.pendingRaidDisks = n;
        return;
      }
      case "chunk_size": {
        const n = Number(parseSectors(v, target));
        if (a.running) a.newChunk = n;
        else a.chunk = n;
        return;
      }
      case "layout": {
        const n = Number(parseSectors(v, target));
        if (a.running) a.newLayout = n;
        else a.layout = n;
        return;
      }
      case "component_size":
        a.componentKiB = parseSectors(v, target);
        return;
      case "array_size":
        a.arrayKiB = v === "default" ? "default" : parseSectors(v, target);
        return;
      case "resync_start":
        if (a.running && a.sync !== null) throw err(EBUSY, op, target);
        a.resyncStart = v === "none" || parseSectors(v, target) >= MAX_SECTOR
          ? "none"
          : parseSectors(v, target);
        return;
      case "reshape_position":
        if (a.running) throw err(EBUSY, op, target);
        a.reshapePosition = v === "none" ? "none" : parseSectors(v, target);
        return;
      case "safe_mode_delay": {
        const m = /^(\d+)(?:\.(\d{0,3})\d*)?$/.exec(v.trim());
        if (!m) throw err(EINVAL, op, target);
        const ms = Number(m[1]) * 1000 + Number((m[2] ?? "").padEnd(3, "0"));
        // kept in jiffies (HZ=250): 4 ms steps, at least one jiffy when not zero
        a.safeModeMs = ms === 0 ? 0 : Math.max(1, Math.floor(ms / 4)) * 4;
        return;
      }
      case "new_dev":
        return this.#newDev(a, v, target, op);
      case "array_state":
        return this.#setArrayState(a, v, target, op);
      case "sync_action":
        if (!redundant) throw err(ENOENT, "opening", target);
        return this.#setSyncAction(a, v, target, op);
      case "sync_min":
        if (!redundant) throw err(ENOENT, "opening", target);
        a.syncMin = parseSectors(v, target);
        return;
      case "sync_max": {
        if (!redundant) throw err(ENOENT, "opening", target);
        const max = v === "max" ? "max" : parseSectors(v, target);
        // md refuses to lower sync_max under a running, writable sync (max_sync_store)
        const lower = max !== "max" && (a.syncMax === "max" || max < a.syncMax);
        if (lower && a.sync !== null && a.state !== "readonly" && a.state !== "read-auto") {
          throw err(EBUSY, op, target);
        }
        a.syncMax = max;
        return;
      }
      case "suspend_lo":
      case "suspend_hi": {
        if (!redundant) throw err(ENOENT, "opening", target);
        const n = parseSectors(v, target);
        this.#suspendCheck(a, op, target);
        if (path === "suspend_lo") a.suspendLo = n;
        else a.suspendHi = n;
        return;
      }
      case "stripe_cache_size":
        if (!redundant || !["raid4", "raid5", "raid6"].includes(a.level)) {
          throw err(ENOENT, "opening", target);
        }
        parseSectors(v, target);
        return;
      default:
        throw err(ENOENT, "opening", target);
    }
  }

  #newDev(a: FakeArray, v: string, target: string, op: string): void {
    const name = [...this.#blockDevs].find(([, dev]) => dev === v.trim())?.[0];
    if (!/^\d+:\d+$/.test(v.trim())) throw err(EINVAL, op, target);
    if (name === undefined) throw err(ENXIO, op, target);
    if (a.members.some((m) => m.name === name)) throw err(EBUSY, op, target);
    const used = new Set(a.members.map((m) => m.descriptor));
    let descriptor = 0;
    while (used.has(descriptor)) descriptor++;
    a.members.unshift({
      name,
      dev: v.trim(),
      descriptor,
      slot: null,
      offset: 0n,
      size: 0n,
      inSync: false,
      faulty: false,
      blocked: false,
      externalBbl: false,
      writeMostly: false,
      recoveryStart: 0n,
    });
  }

  #writeMember(a: FakeArray, path: string, v: string, target: string, op: string): void {
    const { m, attr } = this.#member(a, path);
    if (!m) throw err(ENOENT, "opening", target);
    const inUse = a.running && m.slot !== null;
    switch (attr) {
      case "offset":
        if (inUse) throw err(EBUSY, op, target);
        m.offset = parseSectors(v, target);
        return;
      case "size":
        m.size = parseSectors(v, target);
        return;
      case "slot": {
        if (v === "none") {
          if (m.slot === null && a.running) throw err(EEXIST, op, target);
          if (inUse && m.inSync && !m.faulty) throw err(EBUSY, op, target);
          m.slot = null;
          m.inSync = false;
          return;
        }
        const n = Number(parseSectors(v, target));
        if (n >= Math.max(a.raidDisks, a.pendingRaidDisks ?? 0)) throw err(ENOSPC, op, target);
        if (a.members.some((o) => o !== m && o.slot === n)) throw err(EBUSY, op, target);
        m.slot = n;
        if (!a.running) {
          m.inSync = true; // the kernel assumes a device placed in an inactive array works
          m.faulty = false;
        } else {
          m.inSync = false;
          m.recoveryStart = 0n;
        }
        return;
      }
      case "state":
        return this.#memberState(a, m, v, inUse, target, op);
      case "recovery_start":
        m.recoveryStart = v === "none" || parseSectors(v, target) >= MAX_SECTOR
          ? "none"
          : parseSectors(v, target);
        if (m.recoveryStart !== "none") m.inSync = false;
        return;
      default:
        throw err(ENOENT, "opening", target);
    }
  }

  #memberState(
    a: FakeArray,
    m: FakeMember,
    v: string,
    inUse: boolean,
    target: string,
    op: string,
  ): void {
    switch (v) {
      case "faulty":
        m.faulty = true;
        if (a.running && REDUNDANT.has(a.level) && m.slot !== null) {
          m.inSync = false;
          m.recoveryStart = 0n;
          if (a.metadataVersion.startsWith("external:")) {
            // external metadata: the device stays blocked and writes wait until user space
            // has recorded the failure (-blocked, then active)
            m.blocked = true;
            // in_sync and safe mode are untouched: once answered the array reads as before
            this.#raisePending(a, isSettled(a.state) ? a.state : null);
          }
        }
        return;
      case "remove":
        if (inUse && !m.faulty) throw err(EBUSY, op, target);
        a.members = a.members.filter((o) => o !== m);
        return;
      case "insync":
      case "+in_sync":
        m.inSync = true;
        return;
      case "-insync":
      case "-in_sync":
        m.inSync = false;
        return;
      case "blocked":
        m.blocked = true;
        return;
      case "-blocked":
        m.blocked = false;
        // once unblocked, md detaches a failed device from its slot
        if (m.faulty && a.running) m.slot = null;
        return;
      case "external_bbl":
        m.externalBbl = true;
        return;
      case "-external_bbl":
        m.externalBbl = false;
        return;
      case "writemostly":
        m.writeMostly = true;
        return;
      case "-writemostly":
        m.writeMostly = false;
        return;
      case "spare":
        m.inSync = false;
        return;
      default:
        throw err(EINVAL, op, target);
    }
  }

  #setArrayState(a: FakeArray, v: string, target: string, op: string): void {
    switch (v) {
      case "clear":
        // a device made through new_array disappears from sysfs once stopped (seen on 6.1)
        if (a.openers > 0) throw err(EBUSY, op, target);
        this.#arrays.delete(a.devnm);
        return;
      case "inactive":
        if (a.openers > 0) throw err(EBUSY, op, target);
        a.running = false;
        a.sync = null;
        a.frozen = false;
        return;
      case "readonly":
      case "read-auto":
      case "active":
      case "clean":
        if (!a.running) this.#run(a, target, op);
        if (v === "active" && a.state === "write-pending" && a.stateAfterPending !== null) {
          // the pending update only needed recording: in_sync and safe mode are as they were
          a.state = a.stateAfterPending;
          a.stateAfterPending = null;
          this.#maybeStartResync(a);
        } else if (v === "active") {
          // md only marks the array dirty when it must: a resync is due, a write is waiting
          // (write-pending) or writes went on (active-idle); otherwise it stays "clean"
          const dirty = REDUNDANT.has(a.level) &&
            (a.resyncStart !== "none" || a.state === "write-pending" || a.state === "active" ||
              a.state === "active-idle");
          // with safe_mode_delay 0 an idle dirty array is at once active-idle
          a.state = dirty ? (a.safeModeMs === 0 ? "active-idle" : "active") : "clean";
          this.#maybeStartResync(a);
        } else if (v === "clean") {
          if (a.state === "write-pending") throw err(EBUSY, op, target);
          a.state = a.state === "readonly" ? "readonly" : "clean";
        } else if (v === "readonly" || v === "read-auto") {
          a.state = v;
        }
        return;
      case "write-pending":
      case "active-idle":
        throw err(EINVAL, op, target);
      default:
        throw err(EINVAL, op, target);
    }
  }

  #run(a: FakeArray, target: string, op: string): void {
    if (!LEVELS.has(a.level)) throw err(EINVAL, op, target, "no level set");
    if (a.raidDisks === 0) throw err(EINVAL, op, target, "raid_disks not set");
    const placed = a.members.filter((m) => m.slot !== null);
    if (placed.length === 0) throw err(EINVAL, op, target, "no member has a slot");
    if (a.componentKiB === 0n) {
      a.componentKiB = placed.reduce((min, m) => m.size < min ? m.size : min, placed[0].size);
    }
    const missing = this.#degraded(a);
    const tolerated = a.level === "raid0" || a.level === "linear"
      ? 0
      : a.level === "raid6"
      ? 2
      : a.level === "raid1"
      ? a.raidDisks - 1
      : 1;
    if (missing > tolerated) throw err(5, op, target, `${missing} member(s) missing`);
    a.running = true;
    a.everRun = true;
    a.state = "readonly";
    // md's default safe mode delay: 200 ms + 1 jiffy (HZ=250), read back as 0.204
    if (REDUNDANT.has(a.level) && a.safeModeMs === 0) a.safeModeMs = 204;
    if (a.reshapePosition !== "none" && a.oldRaidDisks === null) a.oldRaidDisks = a.raidDisks;
  }

  /**
   * md asks user space to record a superblock change (MD_SB_CHANGE_PENDING). Native metadata is
   * written by md itself at once; an external array reads write-pending until user space writes
   * "active". `after`: see FakeArray.stateAfterPending.
   */
  #raisePending(a: FakeArray, after: ArrayState | null): void {
    if (!a.metadataVersion.startsWith("external:")) return;
    if (a.state === "write-pending") {
      if (after === null) a.stateAfterPending = null;
      return;
    }
    a.stateAfterPending = after;
    a.state = "write-pending";
  }

  /**
   * The sync thread stopped, finished or interrupted (frozen/idle): md_do_sync always raises a
   * superblock update on its way out, before sync_action reads idle (seen on 6.1 at the end of
   * a reshape: write-pending until "active" is written).
   */
  #syncEnded(a: FakeArray): void {
    a.sync = null;
    if (a.running && isSettled(a.state)) this.#raisePending(a, a.state);
  }

  #maybeStartResync(a: FakeArray): void {
    if (!REDUNDANT.has(a.level) || a.frozen || a.sync !== null) return;
    if (a.reshapePosition !== "none" && a.oldRaidDisks !== null) {
      a.sync = { action: "reshape", pos: a.reshapePosition / BigInt(this.#dataDisks(a)) };
    } else if (a.resyncStart !== "none") {
      a.sync = { action: "resync", pos: a.resyncStart };
    } else if (a.members.some((m) => m.slot !== null && !m.inSync && !m.faulty)) {
      a.sync = { action: "recover", pos: 0n };
    }
  }

  #setSyncAction(a: FakeArray, v: string, target: string, op: string): void {
    switch (v as SyncAction) {
      case "frozen":
        a.frozen = true;
        if (a.sync !== null) this.#syncEnded(a);
        return;
      case "idle": {
        const wasActive = a.state === "active";
        if (a.sync?.action === "resync") a.resyncStart = a.sync.pos;
        if (a.sync !== null) this.#syncEnded(a);
        a.frozen = false;
        if (wasActive) this.#maybeStartResync(a);
        return;
      }
      case "reshape": {
        if (a.pendingRaidDisks === null && a.newChunk === null && a.newLayout === null) {
          throw err(EINVAL, op, target, "nothing to reshape");
        }
        a.frozen = false;
        if (a.pendingRaidDisks !== null) {
          a.oldRaidDisks = a.raidDisks;
          a.raidDisks = a.pendingRaidDisks;
          a.pendingRaidDisks = null;
          // the added devices take their slots at once: the reshape writes them in step
          for (const m of a.members) {
            if (m.slot !== null && m.slot < a.raidDisks && !m.faulty) {
              m.inSync = true;
              m.recoveryStart = "none";
            }
          }
        }
        if (a.reshapePosition === "none") a.reshapePosition = 0n;
        a.sync = { action: "reshape", pos: 0n };
        return;
      }
      case "resync":
      case "recover":
      case "check":
      case "repair":
        a.frozen = false;
        if (a.sync === null) a.sync = { action: v as "resync", pos: 0n };
        return;
      default:
        throw err(EINVAL, op, target);
    }
  }

  // ---------------------------------------------------------------- test controls

  /**
   * Moves the running sync/reshape forward by `sectors` per device (up to sync_max), finishing
   * it at the end: resync -> resync_start none; recover -> members in sync; reshape -> new
   * geometry final, reshape_position none.
   */
  advanceSync(devnm: string, sectors: bigint): void {
    const a = this.#array(devnm, "sync_action");
    if (a.sync === null) return;
    const total = a.componentKiB * 2n;
    let limit = total;
    if (a.syncMax !== "max" && a.syncMax < limit) limit = a.syncMax;
    const pos = a.sync.pos + sectors > limit ? limit : a.sync.pos + sectors;
    a.sync.pos = pos;
    if (a.sync.action === "reshape") {
      a.reshapePosition = pos * BigInt(this.#dataDisks(a));
      this.#releaseTrapped(a);
    }
    if (pos >= total) {
      switch (a.sync.action) {
        case "resync":
          a.resyncStart = "none";
          break;
        case "recover":
          for (const m of a.members) {
            if (m.slot !== null && !m.faulty) {
              m.inSync = true;
              m.recoveryStart = "none";
            }
          }
          break;
        case "reshape":
          a.reshapePosition = "none";
          a.trappedIo = [];
          a.oldRaidDisks = null;
          if (a.newChunk !== null) a.chunk = a.newChunk;
          if (a.newLayout !== null) a.layout = a.newLayout;
          a.newChunk = a.newLayout = null;
          break;
      }
      this.#syncEnded(a);
    }
    this.#notify();
  }

  /**
   * A read or write of array sector `sector` arrives (udev's blkid, a user). Like raid5 on 6.1
   * (make_stripe_request / stripe_ahead_of_reshape), I/O at or past the reshape position whose
   * old-layout stripe row begins before that position waits until the reshape passes the row:
   * returns "trapped" then (see #suspendCheck), else "served".
   */
  ioArrives(devnm: string, sector: bigint): "served" | "trapped" {
    const a = this.#array(devnm, "array_state");
    const row = this.#oldStripeRow(a);
    if (!a.running || row === null || a.reshapePosition === "none") return "served";
    const pos = a.reshapePosition;
    if (sector < pos) return "served";
    const rowStart = sector - sector % row;
    if (rowStart >= pos) return "served";
    a.trappedIo.push(rowStart + row);
    return "trapped";
  }

  /** I/O trapped at the reshape boundary (ioArrives) and still waiting. */
  trappedIo(devnm: string): number {
    return this.#array(devnm, "array_state").trappedIo.length;
  }

  /** A write arrives on the array: clean/read-auto external arrays go write-pending. */
  writeArrives(devnm: string): void {
    const a = this.#array(devnm, "array_state");
    if (!a.running) return;
    if (a.state === "read-auto" || a.state === "clean" || a.state === "active-idle") {
      if (a.metadataVersion.startsWith("external:")) this.#raisePending(a, null);
      else a.state = "active";
    }
    this.#notify();
  }

  /** No writes for safe_mode_delay: an active array becomes active-idle. */
  goIdle(devnm: string): void {
    const a = this.#array(devnm, "array_state");
    if (a.running && a.state === "active") a.state = "active-idle";
    this.#notify();
  }

  /** Somebody holds /dev/mdX open (stop fails with EBUSY meanwhile). */
  setOpeners(devnm: string, n: number): void {
    this.#array(devnm, "array_state").openers = n;
  }

  // ---------------------------------------------------------------- listing, watching

  memberNames(devnm: string): Promise<string[]> {
    const a = this.#arrays.get(devnm);
    return Promise.resolve(a ? a.members.map((m) => m.name).sort() : []);
  }

  arrays(): Promise<string[]> {
    return Promise.resolve([...this.#arrays.keys()].sort());
  }

  createArray(devnm: string): Promise<void> {
    if (!/^md(\d+|_\w+)$/.test(devnm)) {
      throw err(EINVAL, `creating md device ${devnm} through`, "new_array");
    }
    if (this.#arrays.has(devnm)) {
      throw err(EEXIST, `creating md device ${devnm} through`, "new_array");
    }
    this.#arrays.set(devnm, newArray(devnm, this.#created++));
    this.#notify();
    return Promise.resolve();
  }

  blockDevNumber(name: string): Promise<string | null> {
    if (this.#arrays.has(name)) {
      const n = /^md(\d+)$/.exec(name)?.[1];
      return Promise.resolve(n === undefined ? null : `9:${n}`);
    }
    return Promise.resolve(this.#blockDevs.get(name) ?? null);
  }

  watch(devnm: string, paths: string[]): Promise<AttributeWatcher> {
    return Promise.resolve(new FakeWatcher(this, devnm, paths));
  }

  /** @internal for FakeWatcher */
  readNow(devnm: string, path: string): string | null {
    const a = this.#arrays.get(devnm);
    if (!a) return null;
    try {
      return this.#readSync(a, path);
    } catch {
      return null;
    }
  }

  /** @internal for FakeWatcher */
  listen(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  // ---------------------------------------------------------------- /proc/mdstat

  /** /proc/mdstat as Linux 6.1 prints it for the current state. */
  mdstat(): string {
    const lines = ["Personalities : [raid0] [raid1] [raid10] [raid6] [raid5] [raid4] "];
    const arrays = [...this.#arrays.values()]
      .filter((a) => a.members.length > 0 || a.running || a.raidDisks > 0)
      .sort((x, y) => y.created - x.created);
    for (const a of arrays) {
      const devs = a.members.map((m) =>
        `${m.name}[${m.descriptor}]${m.faulty ? "(F)" : m.slot === null ? "(S)" : ""}`
      ).join(" ");
      const sup = a.metadataVersion === "none" ? "non-persistent" : a.metadataVersion;
      if (!a.running) {
        const sum = a.members.reduce((s, m) => s + m.size, 0n);
        if (a.members.length === 0) {
          lines.push(`${a.devnm} : inactive super ${sup}`);
        } else {
          lines.push(`${a.devnm} : inactive ${devs}`);
          lines.push(`      ${sum} blocks super ${sup}`);
        }
        lines.push("       ");
        continue;
      }
      const ro = a.state === "readonly"
        ? " (read-only)"
        : a.state === "read-auto"
        ? " (auto-read-only)"
        : "";
      lines.push(`${a.devnm} : active${ro} ${a.level} ${devs}`);
      const size = a.arrayKiB === "default"
        ? a.componentKiB * BigInt(this.#dataDisks(a))
        : a.arrayKiB;
      const status = Array.from(
        { length: a.raidDisks },
        (_, slot) => a.members.some((m) => m.slot === slot && m.inSync && !m.faulty) ? "U" : "_",
      ).join("");
      const counts = `[${a.raidDisks}/${a.raidDisks - this.#degraded(a)}] [${status}]`;
      const kib = a.chunk / 1024;
      let pers = "";
      if (a.level === "raid0") pers = ` ${kib}k chunks`;
      else if (a.level === "raid1") pers = ` ${counts}`;
      else if (a.level === "raid10") {
        pers = ` ${kib}K chunks ${a.layout & 0xff} near-copies ${counts}`;
      } else if (a.level === "linear") pers = ` ${kib}k rounding`;
      else {
        pers = ` level ${a.level.slice(4)}, ${kib}k chunk, algorithm ${a.layout} ${counts}`;
      }
      lines.push(`      ${size} blocks super ${sup}${pers}`);
      if (a.sync !== null) {
        const total = a.componentKiB * 2n;
        const permille = total === 0n ? 0n : (a.sync.pos * 1000n) / total;
        const bar = Number(permille / 50n);
        const word = a.sync.action === "recover"
          ? "recovery"
          : a.sync.action === "repair"
          ? "resync"
          : a.sync.action;
        lines.push(
          `      [${"=".repeat(bar)}>${".".repeat(19 - bar)}]  ${word} = ${permille / 10n}.${
            permille % 10n
          }% (${a.sync.pos / 2n}/${total / 2n}) finish=0.1min speed=1000K/sec`,
        );
      } else if (REDUNDANT.has(a.level) && a.resyncStart !== "none" && a.state !== "active") {
        lines.push("      \tresync=PENDING");
      }
      lines.push("      ");
    }
    lines.push("unused devices: <none>");
    return lines.join("\n") + "\n";
  }
}

class FakeWatcher implements AttributeWatcher {
  #last = new Map<string, string | null>();
  #closed = false;

  constructor(readonly store: FakeMdStore, readonly devnm: string, readonly paths: string[]) {
    for (const p of paths) this.#last.set(p, store.readNow(devnm, p));
  }

  #snapshot(): { changed: string[]; values: Map<string, string | null> } {
    const values = new Map<string, string | null>();
    const changed: string[] = [];
    for (const p of this.paths) {
      const v = this.store.readNow(this.devnm, p);
      values.set(p, v);
      if (v !== this.#last.get(p)) changed.push(p);
    }
    return { changed, values };
  }

  wait(timeoutMs: number): Promise<WatchResult> {
    const first = this.#snapshot();
    if (first.changed.length > 0 || this.#closed) {
      this.#last = new Map(first.values);
      return Promise.resolve({ timedOut: false, ...first });
    }
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (timedOut: boolean) => {
        unlisten();
        if (timer !== undefined) clearTimeout(timer);
        const s = this.#snapshot();
        this.#last = new Map(s.values);
        resolve({ timedOut, ...s });
      };
      const unlisten = this.store.listen(() => {
        if (this.#snapshot().changed.length > 0) done(false);
      });
      if (timeoutMs >= 0) timer = setTimeout(() => done(true), timeoutMs);
    });
  }

  close(): void {
    this.#closed = true;
  }
}
