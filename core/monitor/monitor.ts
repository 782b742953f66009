/**
 * The monitor side: for every member array of the container it reads what md shows
 * (array_state, sync_action, sync_completed, resync_start, each member's state), asks
 * decide.ts what to do, and does it in order: metadata edits, metadata writes, sysfs writes.
 * Metadata updates queued by the manager (from the control socket) are applied first, in
 * the order they arrived. Between passes it sleeps briefly (or until kicked).
 */
import type { Kernel } from "../../kernel/interface.ts";
import { type MdArray, parseMetadataVersion } from "../../kernel/md/sysfs.ts";
import type { ImsmContainer } from "../../meta/imsm/edit/mod.ts";
import { raidLevel } from "../../meta/imsm/accessors.ts";
import type { ContainerModel } from "./container_model.ts";
import { type ArrayView, decideArray, type MemberView, type SysfsWrite } from "./decide.ts";
import { StaleUpdate } from "./updates.ts";

export type Log = (message: string) => void;

/** A member array the monitor looks after. */
export interface WatchedArray {
  devnm: string;
  /** Subarray index in the container's metadata. */
  index: number;
}

/** A queued change of the metadata (from the socket); applied by the monitor, in order. */
export interface QueuedEdit {
  what: string;
  apply: (c: ImsmContainer) => ImsmContainer;
}

/**
 * A timer-driven pass looks at three attributes first and stops there for an array whose
 * last full look decided nothing and whose three read the same since: md changes at least
 * one of them for everything the monitor acts on (a write waiting: array_state reads
 * write-pending, also after a member fails; a sync starting, moving or ending: sync_action
 * and sync_completed). A full look still happens every FULL_LOOK_MS, after every kick
 * (pings, updates) and whenever the last one decided something. Why: a full look reads
 * about 12 + 3 x members files, and six monitors doing that 5 times a second saturated the
 * two emulated CPUs of the test VM (grow starts overran 120 s); idle, it is now 3 files.
 * Any change of the metadata (an update, the manager, another array's look) also means a
 * full look at every array.
 */
export const FULL_LOOK_MS = 2000;

async function quickLook(array: MdArray): Promise<string> {
  const parts = [];
  for (const attr of ["array_state", "sync_action", "sync_completed"]) {
    parts.push((await array.read(attr).catch(() => null))?.trim() ?? "-");
  }
  return parts.join("|");
}

/** Reads the view decide.ts needs of one member array. */
export async function readArrayView(array: MdArray): Promise<ArrayView> {
  const members: MemberView[] = [];
  for (const m of await array.members()) {
    const state = await m.read("state");
    if (state === null) continue; // vanished between listing and reading
    const slotText = await m.read("slot");
    const rs = await m.read("recovery_start");
    members.push({
      name: m.name,
      slot: slotText === null || slotText.trim() === "none" ? null : Number(slotText),
      state: state.split(",").map((s) => s.trim()).filter((s) => s !== ""),
      recoveryStart: rs === null || rs.trim() === "none" ? "none" : BigInt(rs.trim()),
    });
  }
  const version = parseMetadataVersion(await array.metadataVersionText().catch(() => "none"));
  const exists = await array.exists();
  if (!exists) {
    return {
      arrayState: "clear",
      syncAction: null,
      syncCompleted: null,
      resyncStart: "none",
      blocked: false,
      members: [],
    };
  }
  const resync = await array.read("resync_start");
  const reshape = await array.read("reshape_position");
  const raidDisks = await array.raidDisks().catch(() => null);
  const mdLevel = (await array.read("level"))?.trim();
  return {
    mdLevel,
    reshapePosition: reshape === null || reshape.trim() === "none"
      ? "none"
      : BigInt(reshape.trim()),
    raidDisks,
    arrayState: await array.arrayState(),
    syncAction: await array.syncAction(),
    syncCompleted: await array.syncCompleted(),
    resyncStart: resync === null || resync.trim() === "none" ? "none" : BigInt(resync.trim()),
    blocked: version.kind === "external-member" && version.blocked,
    members,
  };
}

export class Monitor {
  readonly arrays = new Map<string, WatchedArray>();
  readonly queue: QueuedEdit[] = [];
  /** Arrays seen reshaping since their general migration began. */
  readonly reshaped = new Set<string>();
  /** Completed passes; pings wait for it to move. */
  passes = 0;
  #kick: (() => void) | null = null;
  #kicked = false;
  /** Passes started; a ping waits for one that starts after it arrived. */
  #started = 0;
  #passWaiters: { needs: number; resolve: () => void }[] = [];
  #stopping = false;
  /** A kick or an update since the last pass: the next one looks at everything. */
  #wantFull = true;
  /**
   * Per array: its quick look when a full look last changed nothing, when, and the metadata
   * then (any change of it since, by an update, the manager or another array, means a full
   * look: decisions depend on it).
   */
  #steady = new Map<string, { quick: string; at: number; container: ImsmContainer }>();
  /** Passes that skipped an array after its quick look (MDTS_MDMON_DEBUG and tests). */
  quickSkips = 0;
  /** Serialises passes with the manager's changes (one JS thread, but many awaits). */
  lock: Promise<void> = Promise.resolve();

  /** Per-pass trace lines (MDTS_MDMON_DEBUG), or nothing. */
  debug: Log = () => {};

  constructor(readonly kernel: Kernel, readonly model: ContainerModel, readonly log: Log) {}

  /** Runs `fn` when no pass or manager change is in flight. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.then(() => {}, () => {});
    return run;
  }

  /** Wakes the loop (like mdmon's SIGUSR1 to its monitor thread). */
  kick(): void {
    this.#kicked = true;
    this.#wantFull = true;
    this.#kick?.();
  }

  /** Resolves once a whole pass has started and finished after this call. */
  waitForPass(): Promise<void> {
    return new Promise((resolve) => {
      this.#passWaiters.push({ needs: this.#started + 1, resolve });
      this.kick();
    });
  }

  /**
   * Applies the queue, then looks at every array once. `quick`: arrays that were steady and
   * read the same in a quick look are skipped (see FULL_LOOK_MS); the loop's timer passes.
   */
  pass(quick = false): Promise<void> {
    return this.exclusive(async () => {
      const number = ++this.#started;
      if (this.#wantFull || this.queue.length > 0) quick = false;
      this.#wantFull = false;
      this.debug(`pass ${number} begins (${this.queue.length} queued update(s))`);
      while (this.queue.length > 0) {
        const q = this.queue.shift()!;
        try {
          this.model.container = q.apply(this.model.container);
          this.log(`applied update: ${q.what}`);
        } catch (e) {
          const verdict = e instanceof StaleUpdate ? "ignored" : "refused";
          this.log(`update ${verdict}: ${q.what}: ${(e as Error).message}`);
        }
      }
      for (const a of [...this.arrays.values()]) await this.#passArray(a, quick);
      if (this.model.changed) await this.#flush();
      this.passes++;
      const ready = this.#passWaiters.filter((w) => w.needs <= number);
      this.#passWaiters = this.#passWaiters.filter((w) => w.needs > number);
      for (const w of ready) w.resolve();
    });
  }

  /** Writes the metadata if it changed; whether it wrote. */
  async #flush(): Promise<boolean> {
    try {
      if (await this.model.flush()) {
        this.log(`metadata written (generation ${this.model.container.mpb.generationNum >>> 0})`);
        return true;
      }
      return false;
    } catch (e) {
      this.log(`metadata write failed: ${(e as Error).message}`);
      throw e;
    }
  }

  async #passArray(a: WatchedArray, quick: boolean): Promise<void> {
    const array = this.kernel.array(a.devnm);
    const vol = this.model.container.mpb.volumes[a.index];
    if (!vol) {
      this.arrays.delete(a.devnm);
      this.#steady.delete(a.devnm);
      return;
    }
    const look = await quickLook(array);
    const steady = this.#steady.get(a.devnm);
    this.#steady.delete(a.devnm);
    if (
      quick && steady && steady.quick === look && steady.container === this.model.container &&
      performance.now() - steady.at < FULL_LOOK_MS
    ) {
      this.#steady.set(a.devnm, steady);
      this.quickSkips++;
      return;
    }
    let view: ArrayView;
    try {
      view = await readArrayView(array);
    } catch (e) {
      this.log(`${a.devnm}: cannot read its state: ${(e as Error).message}`);
      return;
    }
    this.debug(
      `${a.devnm}: ${view.arrayState}, sync ${view.syncAction}, resync_start ${view.resyncStart}, ` +
        `members ${view.members.map((m) => `${m.name}=${m.state.join("+")}`).join(" ")}`,
    );
    if (view.syncAction === "reshape" || (view.reshapePosition ?? "none") !== "none") {
      this.reshaped.add(a.devnm);
    }
    if (vol.migrState === 0) this.reshaped.delete(a.devnm);
    view.sawReshape = this.reshaped.has(a.devnm);
    const decision = decideArray(
      this.model.container,
      a.index,
      view,
      (name) => this.model.serialOf(name),
    );
    // whether this look changed anything (metadata, md): if not, the array is steady
    let acted = false;
    for (const step of decision.steps) {
      if (step.kind === "edit") {
        const before = this.model.container;
        const after = step.edit(before);
        if (after !== before) {
          acted = true;
          this.model.container = after;
          if (this.model.changed) this.log(`${a.devnm}: ${step.why}`);
        }
      } else if (step.kind === "flush") {
        if (await this.#flush()) acted = true;
      } else {
        acted = true;
        const ok = await this.#write(array, step.write);
        if (!ok && step.required) break;
      }
    }
    if (!acted && !decision.drop) {
      this.#steady.set(a.devnm, {
        quick: look,
        at: performance.now(),
        container: this.model.container,
      });
    }
    if (decision.drop) {
      this.log(`${a.devnm}: stopped, no longer monitored`);
      this.arrays.delete(a.devnm);
      this.#steady.delete(a.devnm);
    }
  }

  async #write(array: MdArray, w: SysfsWrite): Promise<boolean> {
    try {
      if (w.kind === "array-state") await array.setArrayState(w.value);
      else await array.member(w.member).setState(w.value);
      this.log(`${array.devnm}: ${describe(w)}`);
      return true;
    } catch (e) {
      this.log(`${array.devnm}: ${describe(w)} refused: ${(e as Error).message}`);
      return false;
    }
  }

  /**
   * Whether a subarray is one the monitor looks after: raid0 has nothing to record, except
   * the end of its migration while it grows.
   */
  static monitored(c: ImsmContainer, index: number): boolean {
    const vol = c.mpb.volumes[index];
    return vol !== undefined && (raidLevel(vol.maps[0]) !== 0 || vol.migrState !== 0);
  }

  /**
   * Sleeps until a kick or `timeoutMs`. Every pass re-reads every array, so a short interval
   * stands in for mdmon's poll on the sysfs files: polling them through a nonblocking FFI call
   * stalled the event loop on a real kernel (seen in the VM); a timer does not.
   */
  async #sleep(timeoutMs: number): Promise<void> {
    if (this.#kicked) {
      this.#kicked = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#kick = null;
        resolve();
      }, timeoutMs);
      this.#kick = () => {
        clearTimeout(t);
        this.#kick = null;
        resolve();
      };
    });
    this.#kicked = false;
  }

  /** The loop: pass, sleep, pass... until stop(). */
  async run(idleMs = 200): Promise<void> {
    while (!this.#stopping) {
      try {
        await this.pass(true);
      } catch (e) {
        this.log(`monitor pass failed: ${(e as Error).message}`);
      }
      if (this.#stopping) break;
      await this.#sleep(idleMs);
    }
  }

  stop(): void {
    this.#stopping = true;
    this.kick();
  }
}

function describe(w: SysfsWrite): string {
  return w.kind === "array-state"
    ? `array_state <- ${w.value}`
    : `dev-${w.member}/state <- ${w.value}`;
}
