/**
 * Typed reads and writes of md's sysfs attributes (spec md-kernel.md section 1), on top of an
 * MdAttributeStore (real sysfs or the FakeKernel). Units follow the kernel: chunk_size bytes,
 * component_size / array_size / dev size KiB, dev offset sectors, sync_* per-device sectors,
 * suspend_* and reshape_position array sectors.
 */
import { isErrno, KernelError } from "../errno.ts";
import { retryWhileBusy } from "./busy.ts";
import type { AttributeWatcher, MdAttributeStore } from "./store.ts";

export type ArrayState =
  | "clear"
  | "inactive"
  | "suspended"
  | "readonly"
  | "read-auto"
  | "clean"
  | "active"
  | "write-pending"
  | "active-idle"
  | "broken";

export const ARRAY_STATES: readonly ArrayState[] = [
  "clear",
  "inactive",
  "suspended",
  "readonly",
  "read-auto",
  "clean",
  "active",
  "write-pending",
  "active-idle",
  "broken",
];

export type SyncAction =
  | "idle"
  | "resync"
  | "recover"
  | "check"
  | "repair"
  | "reshape"
  | "frozen";

/** The kernel's MaxSector: "no limit" / "in sync" for resync_start and recovery_start. */
export const MAX_SECTOR = 18446744073709551615n;

/** Parsed metadata_version. */
export type MetadataVersion =
  | { kind: "none" }
  | { kind: "native"; version: string }
  /** external:imsm -> name "imsm". */
  | { kind: "external-container"; name: string }
  /** external:/md127/0 (blocked: external:-md127/0). */
  | { kind: "external-member"; container: string; subarray: string; blocked: boolean }
  | { kind: "unknown"; text: string };

export function parseMetadataVersion(text: string): MetadataVersion {
  if (text === "none" || text === "") return { kind: "none" };
  if (!text.startsWith("external:")) return { kind: "native", version: text };
  const rest = text.slice("external:".length);
  const member = /^([\/-])([^\/]+)\/(.+)$/.exec(rest);
  if (member) {
    return {
      kind: "external-member",
      container: member[2],
      subarray: member[3],
      blocked: member[1] === "-",
    };
  }
  if (rest !== "" && !rest.includes("/")) return { kind: "external-container", name: rest };
  return { kind: "unknown", text };
}

/** "4 (3)" during a reshape: the new value, then the old one. */
export interface NewOld<T> {
  value: T;
  old: T | null;
}

function parseNewOld(text: string, what: string): NewOld<number> {
  const m = /^(\d+)(?:\s+\((\d+)\))?$/.exec(text.trim());
  if (!m) throw new Error(`md ${what}: unexpected text "${text}"`);
  return { value: Number(m[1]), old: m[2] === undefined ? null : Number(m[2]) };
}

function parseBig(text: string, what: string): bigint {
  if (!/^\d+$/.test(text.trim())) throw new Error(`md ${what}: "${text}" is not a number`);
  return BigInt(text.trim());
}

/** Number or one keyword ("max", "none", "default"). */
function parseBigOr<K extends string>(text: string, keyword: K, what: string): bigint | K {
  return text.trim() === keyword ? keyword : parseBig(text, what);
}

export interface SyncCompleted {
  done: bigint;
  total: bigint;
}

/** "done / total", "none" or "delayed". */
export function parseSyncCompleted(text: string): SyncCompleted | "none" | "delayed" {
  const t = text.trim();
  if (t === "none" || t === "delayed") return t;
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(t);
  if (!m) throw new Error(`md sync_completed: unexpected text "${text}"`);
  return { done: BigInt(m[1]), total: BigInt(m[2]) };
}

/** Per-component attributes (dev-NAME/). */
export class MdMember {
  constructor(readonly array: MdArray, readonly name: string) {}

  #p(attr: string): string {
    return `dev-${this.name}/${attr}`;
  }

  read(attr: string): Promise<string | null> {
    return this.array.store.read(this.array.devnm, this.#p(attr));
  }

  async #req(attr: string): Promise<string> {
    const v = await this.read(attr);
    if (v === null) {
      throw new Error(`${this.array.devnm}: member ${this.name} has no ${attr} attribute`);
    }
    return v;
  }

  write(attr: string, value: string): Promise<void> {
    return this.array.store.write(this.array.devnm, this.#p(attr), value);
  }

  /** Flags such as ["in_sync"], ["faulty"], ["spare"]; [] when empty. */
  async state(): Promise<string[]> {
    return (await this.#req("state")).split(",").map((s) => s.trim()).filter((s) => s !== "");
  }

  /** Writes one state command: insync, faulty, remove, -blocked, external_bbl, spare... */
  setState(command: string): Promise<void> {
    return this.write("state", command);
  }

  /** Slot number, null for "none" (spare / not in the array). */
  async slot(): Promise<number | null> {
    const t = await this.#req("slot");
    return t === "none" ? null : Number(parseBig(t, "slot"));
  }

  setSlot(slot: number | null): Promise<void> {
    return this.write("slot", slot === null ? "none" : String(slot));
  }

  /** Data offset in sectors. */
  async offset(): Promise<bigint> {
    return parseBig(await this.#req("offset"), "offset");
  }

  setOffset(sectors: bigint): Promise<void> {
    return this.write("offset", String(sectors));
  }

  async newOffset(): Promise<bigint | null> {
    const t = await this.read("new_offset");
    return t === null ? null : parseBig(t, "new_offset");
  }

  /** Space used on the device in KiB. */
  async size(): Promise<bigint> {
    return parseBig(await this.#req("size"), "size");
  }

  setSize(kib: bigint): Promise<void> {
    return this.write("size", String(kib));
  }

  async errors(): Promise<number> {
    return Number(parseBig(await this.#req("errors"), "errors"));
  }

  /** Sector where recovery resumes; "none" when in sync. */
  async recoveryStart(): Promise<bigint | "none"> {
    return parseBigOr(await this.#req("recovery_start"), "none", "recovery_start");
  }

  setRecoveryStart(sector: bigint | "none"): Promise<void> {
    return this.write("recovery_start", sector === "none" ? String(MAX_SECTOR) : String(sector));
  }

  /** "MAJ:MIN" of the component (block/dev). */
  async blockDev(): Promise<string> {
    return (await this.#req("block/dev")).trim();
  }
}

/** Options of MdArray.setRaidDisks. */
export interface RaidDisksOptions {
  /**
   * Called when the array waits for user space: on Linux 6.1 the write itself blocks (md waits
   * in md_allow_write) while array_state reads write-pending, until somebody - normally mdmon -
   * writes "active"; older kernels returned EAGAIN instead, and the write is then retried once.
   * Typically pings mdmon. Without it the write simply waits for mdmon.
   */
  onWritePending?: () => Promise<void>;
}

/** One md device's attributes. */
export class MdArray {
  constructor(readonly store: MdAttributeStore, readonly devnm: string) {}

  read(attr: string): Promise<string | null> {
    return this.store.read(this.devnm, attr);
  }

  write(attr: string, value: string): Promise<void> {
    return this.store.write(this.devnm, attr, value);
  }

  async #req(attr: string): Promise<string> {
    const v = await this.read(attr);
    if (v === null) throw new Error(`${this.devnm}: no md attribute ${attr}`);
    return v;
  }

  /** True when /sys/block/mdX/md exists. */
  async exists(): Promise<boolean> {
    return (await this.read("array_state")) !== null;
  }

  // --- geometry ---

  /** "raid5", "raid0", ...; "" for a container or an unconfigured array. */
  async level(): Promise<string> {
    return (await this.#req("level")).trim();
  }

  setLevel(level: string): Promise<void> {
    return this.write("level", level);
  }

  async layout(): Promise<NewOld<number>> {
    return parseNewOld(await this.#req("layout"), "layout");
  }

  setLayout(layout: number): Promise<void> {
    return this.write("layout", String(layout));
  }

  /** Bytes. */
  async chunkSize(): Promise<NewOld<number>> {
    return parseNewOld(await this.#req("chunk_size"), "chunk_size");
  }

  setChunkSize(bytes: number): Promise<void> {
    return this.write("chunk_size", String(bytes));
  }

  /** null for a container (empty text). */
  async raidDisks(): Promise<NewOld<number> | null> {
    const t = (await this.#req("raid_disks")).trim();
    return t === "" ? null : parseNewOld(t, "raid_disks");
  }

  /**
   * Writes raid_disks the EAGAIN-safe way (spec 1.6): safe_mode_delay 0 meanwhile; on EAGAIN
   * `onAgain` (ping mdmon) and one more try; safe_mode_delay restored afterwards.
   */
  setRaidDisks(n: number, options: RaidDisksOptions = {}): Promise<void> {
    return this.#writeAgainSafe("raid_disks", String(n), options);
  }

  setStripeCacheSize(n: number, options: RaidDisksOptions = {}): Promise<void> {
    return this.#writeAgainSafe("stripe_cache_size", String(n), options);
  }

  async #writeAgainSafe(attr: string, value: string, o: RaidDisksOptions): Promise<void> {
    const delay = await this.read("safe_mode_delay");
    if (delay !== null) await this.write("safe_mode_delay", "0");
    try {
      try {
        await this.#writeWatchingPending(attr, value, o);
      } catch (e) {
        if (!isErrno(e, "EAGAIN") || !o.onWritePending) throw e;
        await o.onWritePending();
        await this.write(attr, value);
      }
    } finally {
      if (delay !== null) await this.write("safe_mode_delay", delay);
    }
  }

  /** The write, with array_state watched meanwhile so that a write-pending wait is answered. */
  async #writeWatchingPending(attr: string, value: string, o: RaidDisksOptions): Promise<void> {
    if (!o.onWritePending) return await this.write(attr, value);
    let settled = false;
    const write = this.write(attr, value).finally(() => (settled = true));
    const watcher = await this.watch(["array_state"]);
    try {
      let state = await this.read("array_state");
      while (!settled) {
        if (state === "write-pending") await o.onWritePending();
        const r = await Promise.race([write.then(() => null, () => null), watcher.wait(200)]);
        state = r === null ? null : r.values.get("array_state") ?? null;
      }
    } finally {
      watcher.close();
    }
    await write;
  }

  /** KiB used on each member. */
  async componentSize(): Promise<bigint> {
    return parseBig(await this.#req("component_size"), "component_size");
  }

  setComponentSize(kib: bigint): Promise<void> {
    return this.write("component_size", String(kib));
  }

  /** KiB exposed, or "default". */
  async arraySize(): Promise<bigint | "default"> {
    return parseBigOr(await this.#req("array_size"), "default", "array_size");
  }

  setArraySize(kib: bigint | "default"): Promise<void> {
    return this.write("array_size", String(kib));
  }

  // --- state ---

  async arrayState(): Promise<ArrayState> {
    const t = (await this.#req("array_state")).trim();
    if (!ARRAY_STATES.includes(t as ArrayState)) {
      throw new Error(`${this.devnm}: unknown array_state "${t}"`);
    }
    return t as ArrayState;
  }

  setArrayState(state: ArrayState): Promise<void> {
    return this.write("array_state", state);
  }

  async metadataVersionText(): Promise<string> {
    return (await this.#req("metadata_version")).trim();
  }

  async metadataVersion(): Promise<MetadataVersion> {
    return parseMetadataVersion(await this.metadataVersionText());
  }

  setMetadataVersion(text: string): Promise<void> {
    return this.write("metadata_version", text);
  }

  /**
   * Blocks (freezes for mdmon, spec 1.3) or unblocks an external member: rewrites the version
   * with '-' or '/' at index 9. Unblocking with `thaw` also writes idle to sync_action.
   */
  async setBlocked(blocked: boolean, thaw = false): Promise<void> {
    const text = await this.metadataVersionText();
    const v = parseMetadataVersion(text);
    if (v.kind !== "external-member") {
      throw new Error(
        `${this.devnm}: cannot ${blocked ? "block" : "unblock"} an array whose ` +
          `metadata_version is "${text}"; only external members (external:/mdX/N) can be`,
      );
    }
    await this.write(
      "metadata_version",
      `external:${blocked ? "-" : "/"}${v.container}/${v.subarray}`,
    );
    if (!blocked && thaw && (await this.read("sync_action")) !== null) {
      await this.write("sync_action", "idle");
    }
  }

  /** null on arrays without a sync thread (raid0, linear, container). */
  async syncAction(): Promise<SyncAction | null> {
    const t = await this.read("sync_action");
    return t === null ? null : t.trim() as SyncAction;
  }

  setSyncAction(action: SyncAction): Promise<void> {
    return this.write("sync_action", action);
  }

  /** Per-device sectors or "max". */
  async syncMax(): Promise<bigint | "max" | null> {
    const t = await this.read("sync_max");
    return t === null ? null : parseBigOr(t, "max", "sync_max");
  }

  setSyncMax(sectors: bigint | "max"): Promise<void> {
    return this.write("sync_max", String(sectors));
  }

  async syncMin(): Promise<bigint | null> {
    const t = await this.read("sync_min");
    return t === null ? null : parseBig(t, "sync_min");
  }

  setSyncMin(sectors: bigint): Promise<void> {
    return this.write("sync_min", String(sectors));
  }

  async syncCompleted(): Promise<SyncCompleted | "none" | "delayed" | null> {
    const t = await this.read("sync_completed");
    return t === null ? null : parseSyncCompleted(t);
  }

  async suspendLo(): Promise<bigint | null> {
    const t = await this.read("suspend_lo");
    return t === null ? null : parseBig(t, "suspend_lo");
  }

  async suspendHi(): Promise<bigint | null> {
    const t = await this.read("suspend_hi");
    return t === null ? null : parseBig(t, "suspend_hi");
  }

  /** Blocks I/O to array sectors [lo, hi). */
  async setSuspendWindow(lo: bigint, hi: bigint): Promise<void> {
    await this.write("suspend_lo", String(lo));
    await this.write("suspend_hi", String(hi));
  }

  /** Clears the window the way that also works on old kernels (spec 1.1). */
  async clearSuspendWindow(): Promise<void> {
    await this.write("suspend_lo", String((1n << 63n) - 1n));
    await this.write("suspend_hi", "0");
    await this.write("suspend_lo", "0");
  }

  /** Array sector reached by a reshape; "none" when there is none. */
  async reshapePosition(): Promise<bigint | "none"> {
    return parseBigOr(await this.#req("reshape_position"), "none", "reshape_position");
  }

  setReshapePosition(sector: bigint | "none"): Promise<void> {
    return this.write("reshape_position", String(sector));
  }

  async reshapeDirection(): Promise<"forwards" | "backwards" | null> {
    const t = await this.read("reshape_direction");
    return t === null ? null : t.trim() as "forwards" | "backwards";
  }

  setReshapeDirection(d: "forwards" | "backwards"): Promise<void> {
    return this.write("reshape_direction", d);
  }

  async degraded(): Promise<number | null> {
    const t = await this.read("degraded");
    return t === null ? null : Number(parseBig(t, "degraded"));
  }

  /** Per-device sector where resync must begin; "none" when in sync. */
  async resyncStart(): Promise<bigint | "none"> {
    return parseBigOr(await this.#req("resync_start"), "none", "resync_start");
  }

  setResyncStart(sector: bigint | "none"): Promise<void> {
    return this.write("resync_start", sector === "none" ? String(MAX_SECTOR) : String(sector));
  }

  async maxReadErrors(): Promise<number> {
    return Number(parseBig(await this.#req("max_read_errors"), "max_read_errors"));
  }

  /** Seconds (e.g. 4.0). */
  async safeModeDelay(): Promise<number> {
    return Number((await this.#req("safe_mode_delay")).trim());
  }

  /** Written like mdadm: three decimals and a newline ("4.000\n"). */
  setSafeModeDelay(seconds: number): Promise<void> {
    return this.write("safe_mode_delay", `${seconds.toFixed(3)}\n`);
  }

  async consistencyPolicy(): Promise<string | null> {
    const t = await this.read("consistency_policy");
    return t === null ? null : t.trim();
  }

  // --- members ---

  /** Adds a block device ("MAJ:MIN") to the array; the kernel creates dev-NAME/. */
  addDevice(majMin: string): Promise<void> {
    return this.write("new_dev", majMin);
  }

  async members(): Promise<MdMember[]> {
    return (await this.store.memberNames(this.devnm)).map((n) => new MdMember(this, n));
  }

  member(name: string): MdMember {
    return new MdMember(this, name);
  }

  /**
   * Adds component `name` and sets where its data lives: new_dev, offset (sectors), size
   * (KiB), then the optional slot and state words, in the order mdadm uses (spec 3.3).
   */
  async addMember(
    name: string,
    opts: { offset: bigint; sizeKiB: bigint; slot?: number | null; states?: string[] },
  ): Promise<MdMember> {
    const dev = await this.store.blockDevNumber(name);
    if (dev === null) {
      throw new Error(`${this.devnm}: cannot add ${name}: no such block device in sysfs`);
    }
    await this.addDevice(dev);
    const m = this.member(name);
    await m.setOffset(opts.offset);
    await m.setSize(opts.sizeKiB);
    if (opts.slot !== undefined) await m.setSlot(opts.slot);
    for (const s of opts.states ?? []) await m.setState(s);
    return m;
  }

  // --- lifecycle ---

  /**
   * Stops the array and drops its configuration (array_state <- clear), retrying EBUSY for
   * `busyRetryMs` (udev may hold the device for a moment).
   */
  async stop(busyRetryMs = 5000): Promise<void> {
    try {
      await retryWhileBusy(() => this.setArrayState("clear"), busyRetryMs);
    } catch (e) {
      if (e instanceof KernelError && e.code === "EBUSY") {
        throw new KernelError(
          e.errno,
          "stopping",
          `/dev/${this.devnm}`,
          "it is still open or mounted; close its users first",
        );
      }
      throw e;
    }
  }

  /** Watches attributes (e.g. ["array_state", "sync_action", "sync_completed"]). */
  watch(paths: string[]): Promise<AttributeWatcher> {
    return this.store.watch(this.devnm, paths);
  }
}
