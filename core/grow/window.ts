/**
 * Which array sectors the next reshape window covers, and whether it needs the copy area.
 *
 * Safety rule (why a window may be wider than a unit): after a crash md restarts at the last
 * checkpoint P and re-reads the old layout of every sector >= P, so while a window [P, P+W)
 * runs md must not write over old-layout data of sectors >= P. md writes new-layout member
 * sectors up to (P+W)/newData; the old data of P starts at member sector
 * alignDown(P, old stripe)/oldData. mdadm calls the gap between the two the "border"
 * (member sectors). Hence W <= border x newData, i.e. at most floor(border / destDepth)
 * whole units. A unit whose border is <= destDepth is "critical": it is backed up to the
 * copy area first and runs alone (the copy area holds one unit). The critical test is
 * mdadm 4.2's exactly (it also backs up when border == destDepth; f_crashed shows unit 2 of
 * a raid5 3->4 in the copy area, whose border is exactly 2048).
 *
 * Size rule (how wide, within the safe bound): every window costs one checkpoint (record
 * write + metadata update + ping) during which md idles at sync_max, and user I/O to the
 * window waits while it is suspended. So a window should last about `targetSeconds` at the
 * measured reshape speed: long enough that checkpoints are a small share of the time, short
 * enough that a writer blocked on the window waits at most that long. It is never smaller
 * than the stripe cache md can fill (so md is not throttled by sync_max before it has a full
 * cache of work) nor than one unit (checkpoints count whole units), and never past the end.
 * mdadm 4.2 instead uses one unit, or floor(border / blocksPerUnit) units when that is > 1.
 */
import type { UnitGeometry } from "./geometry.ts";

export interface WindowTuning {
  /** Measured reshape speed in array sectors per second; undefined before the first window. */
  speedSectorsPerSecond?: number;
  /** Wanted duration of one window. */
  targetSeconds: number;
  /** md stripe cache in member sectors (stripe_cache_size x 8 for 4 KiB pages). */
  stripeCacheMemberSectors?: number;
  /** Upper bound in units (e.g. to bound the work redone after a crash). */
  maxUnits?: number;
}

export const DEFAULT_TUNING: WindowTuning = {
  targetSeconds: 2,
  stripeCacheMemberSectors: 256 * 8,
  maxUnits: 64,
};

export interface Window {
  /** Array sectors [start, end). */
  start: number;
  end: number;
  /** Unit index of `start`. */
  unit: number;
  /** Units covered (the last one may be partial at the end of the array). */
  units: number;
  /** Back up to the copy area before md may run it. */
  critical: boolean;
  /** Member sectors between md's write front and the old data it still needs. */
  border: number;
  /** Largest safe window in units (>= 1). */
  safeUnits: number;
}

/** mdadm's border at array position `position` (a unit start), in member sectors. */
export function borderAt(u: UnitGeometry, position: number): number {
  const startSrc = position - (position % u.oldStripeSectors);
  return Math.floor(startSrc / u.oldDataDisks) - Math.floor(position / u.newDataDisks);
}

export function isCriticalUnit(u: UnitGeometry, unit: number): boolean {
  return borderAt(u, unit * u.blocksPerUnit) <= u.destDepth;
}

/** Units that need the copy area, in order (for raid5 3->4: 0, 1, 2). */
export function criticalUnits(u: UnitGeometry): number[] {
  const out: number[] = [];
  for (let k = 0; k < u.numUnits; k++) if (isCriticalUnit(u, k)) out.push(k);
  return out;
}

function frame(u: UnitGeometry, unit: number, units: number, border: number, safe: number): Window {
  const start = unit * u.blocksPerUnit;
  const end = Math.min(start + units * u.blocksPerUnit, u.maxPosition);
  return {
    start,
    end,
    unit,
    units: Math.ceil((end - start) / u.blocksPerUnit),
    critical: border <= u.destDepth,
    border,
    safeUnits: safe,
  };
}

function startCheck(u: UnitGeometry, unit: number): void {
  if (!Number.isInteger(unit) || unit < 0 || unit >= u.numUnits) {
    throw new RangeError(`migration unit ${unit} is outside 0..${u.numUnits - 1}`);
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Where md should be held when a window ends at array sector `end` (a unit border), so that
 * holding it traps no I/O. On the 6.1 kernel, while a reshape is held at a position inside an
 * old-layout stripe row, every read or write of that row past the position waits for the
 * reshape to move on, counted as I/O in flight; writing suspend_lo/suspend_hi (the next
 * window) waits for in-flight I/O to end, so the array hangs for good (found by the crash
 * matrix: udev's blkid read a volume assembled at such a position). A multiple of both the
 * old row and md's reshape step traps nothing. Returns the first such position >= `end`
 * (or the end of the reshape), or `end` itself when going further is unsafe: md must not
 * write over old-layout data that a redo from `redoFrom` (the checkpoint in force while md
 * gets there) still reads, the window safety rule at the top.
 */
export function holdPoint(u: UnitGeometry, redoFrom: number, end: number): number {
  const row = u.oldStripeSectors;
  const step = u.reshapeStepSectors;
  const both = (row / gcd(row, step)) * step;
  const aligned = Math.ceil(end / both) * both;
  // md must not finish the reshape before the last window: the monitor would end the
  // migration while the grow still checkpoints it
  if (aligned === end || aligned >= u.maxPosition) return end;
  const oldDataStart = (redoFrom - (redoFrom % row)) / u.oldDataDisks;
  const writeFront = Math.ceil(aligned / u.newDataDisks);
  return writeFront <= oldDataStart ? aligned : end;
}

/** md held at array sector `p` traps no I/O (or has finished the reshape there). */
export function isTrapFree(u: UnitGeometry, p: number): boolean {
  return p >= u.maxPosition || (p % u.oldStripeSectors === 0 && p % u.reshapeStepSectors === 0);
}

/**
 * `w` with md's hold point (holdPoint). When md cannot be held trap-free past the window's
 * end, the window is shortened by whole units until it can; a window of one unit that
 * cannot is kept as it is (md held at its end).
 */
export function holdWindow(u: UnitGeometry, w: Window): Window & { hold: number } {
  for (let units = w.units; units >= 1; units--) {
    const end = Math.min(w.start + units * u.blocksPerUnit, u.maxPosition);
    const hold = holdPoint(u, w.critical ? end : w.start, end);
    if (isTrapFree(u, hold)) return { ...w, end, units, hold };
  }
  return { ...w, hold: holdPoint(u, w.critical ? w.end : w.start, w.end) };
}

/**
 * The windows from unit `unit` that run under one suspend range: up to and including the
 * first whose hold point traps no I/O. Wide grows (raid0 5->6, raid5 6->7...) have critical
 * windows where md cannot be held on a row border without overwriting old data a redo needs
 * (holdWindow keeps md at the window end, inside a row). I/O to that row then waits for md to
 * move on, and a suspend_lo/hi write during that pause would wait for that I/O forever. So
 * the suspend range is written only where md is held trap-free (or before the first window),
 * and it covers every window until md is held trap-free again. Windows after the first use
 * the same tuning: sizes cannot follow a speed measured inside the chain. For shapes whose
 * hold points are all trap-free (raid5 3->4, raid0 2->3, 3->4...) a chain is one window.
 */
export function windowChain(
  u: UnitGeometry,
  unit: number,
  tuning: WindowTuning,
): (Window & { hold: number })[] {
  const chain: (Window & { hold: number })[] = [];
  for (let k = unit; k < u.numUnits;) {
    const w = holdWindow(u, nextWindow(u, k, tuning));
    chain.push(w);
    if (isTrapFree(u, w.hold)) break;
    k = checkpointUnit(u, w.end);
  }
  return chain;
}

/** mdts's window from unit `unit` (see the rules above). */
export function nextWindow(u: UnitGeometry, unit: number, tuning: WindowTuning): Window {
  startCheck(u, unit);
  const border = borderAt(u, unit * u.blocksPerUnit);
  const safe = Math.max(1, Math.floor(border / u.destDepth));
  if (border <= u.destDepth) return frame(u, unit, 1, border, safe);
  const left = u.numUnits - unit;
  const bySpeed = tuning.speedSectorsPerSecond === undefined
    ? 1
    : Math.ceil((tuning.speedSectorsPerSecond * tuning.targetSeconds) / u.blocksPerUnit);
  const byCache = tuning.stripeCacheMemberSectors === undefined
    ? 1
    : Math.ceil(tuning.stripeCacheMemberSectors / u.destDepth);
  const wanted = Math.max(1, bySpeed, byCache);
  const units = Math.min(wanted, safe, left, tuning.maxUnits ?? Infinity);
  return frame(u, unit, Math.max(1, units), border, safe);
}

/** The window mdadm 4.2 would open at unit `unit` (for comparison and interop tests). */
export function mdadmWindow(u: UnitGeometry, unit: number): Window {
  startCheck(u, unit);
  const border = borderAt(u, unit * u.blocksPerUnit);
  const safe = Math.max(1, Math.floor(border / u.destDepth));
  if (border <= u.destDepth) return frame(u, unit, 1, border, safe);
  const k = Math.floor(border / u.blocksPerUnit);
  return frame(u, unit, k > 1 ? k : 1, border, safe);
}

/** Unit to record after md finished a window ending at `end` (mdadm rounds up at the end). */
export function checkpointUnit(u: UnitGeometry, end: number): number {
  return Math.ceil(end / u.blocksPerUnit);
}
