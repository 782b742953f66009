/**
 * /proc/mdstat parser. The text is parsed logically: an entry starts with "mdX : " and every
 * following line that starts with whitespace continues it. Unknown words are ignored and
 * the parser never throws, whatever the input.
 */

export interface MdstatMember {
  /** Kernel name of the component, e.g. "vda" or "sdb1". */
  name: string;
  /** The number in brackets: the kernel's descriptor number (not always the slot). */
  descriptor: number;
  faulty: boolean; // (F)
  spare: boolean; // (S)
  writeMostly: boolean; // (W)
  replacement: boolean; // (R)
  journal: boolean; // (J)
}

export type ProgressAction = "resync" | "recovery" | "reshape" | "check" | "repair";

export interface MdstatProgress {
  action: ProgressAction;
  /** "running" with numbers, or the DELAYED / PENDING / REMOTE markers (no numbers). */
  state: "running" | "delayed" | "pending" | "remote";
  percent: number | null;
  /** done / total as printed: KiB per device for reshape and resync. */
  done: bigint | null;
  total: bigint | null;
  finishMinutes: number | null;
  /** KiB/s. */
  speed: number | null;
}

export interface MdstatArray {
  devnm: string;
  active: boolean;
  /** "(read-only)" / "(auto-read-only)" markers of line 1. */
  readOnly: "no" | "read-only" | "auto-read-only";
  /** Personality word (raid0, raid5, linear...); null when not printed (inactive arrays). */
  level: string | null;
  members: MdstatMember[];
  /** KiB: array size, or the sum of member sizes for an inactive array. */
  blocks: bigint | null;
  /** Text after "super", e.g. "external:/md127/0", "external:imsm", "1.2". */
  superVersion: string | null;
  /** raid4/5/6 "level N". */
  levelNumber: number | null;
  /** KiB: "64k chunk" (raid5), "128k chunks" (raid0), "512K chunks" (raid10). */
  chunkKiB: number | null;
  algorithm: number | null;
  /** raid10: "2 near-copies" -> { copies: 2, kind: "near" }. */
  copies: { count: number; kind: "near" | "far" | "offset" } | null;
  /** [n/m]: raid disks and working disks. */
  raidDisks: number | null;
  workingDisks: number | null;
  /** [UU_U]. */
  status: string | null;
  progress: MdstatProgress | null;
  /** "bitmap: 0/8 pages [0KB], 65536KB chunk" as printed (without "bitmap:"). */
  bitmap: string | null;
}

export interface Mdstat {
  personalities: string[];
  arrays: MdstatArray[];
  /** Names after "unused devices:"; empty for "<none>". */
  unusedDevices: string[];
}

const MEMBER = /^([^\s\[\]]+)\[(\d+)\]((?:\([A-Z]\))*)$/;

function parseMember(word: string): MdstatMember | null {
  const m = MEMBER.exec(word);
  if (!m) return null;
  const flags = m[3];
  return {
    name: m[1],
    descriptor: Number(m[2]),
    faulty: flags.includes("(F)"),
    spare: flags.includes("(S)"),
    writeMostly: flags.includes("(W)"),
    replacement: flags.includes("(R)"),
    journal: flags.includes("(J)"),
  };
}

function num(s: string | undefined): number | null {
  if (s === undefined) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

function big(s: string | undefined): bigint | null {
  return s !== undefined && /^\d+$/.test(s) ? BigInt(s) : null;
}

const PROGRESS_RUNNING =
  /\b(resync|recovery|reshape|check|repair)\s*=\s*([\d.]+)%(?:\s*\((\d+)\/(\d+)\))?/;
const PROGRESS_MARK = /\b(resync|recovery|reshape|check|repair)\s*=\s*(DELAYED|PENDING|REMOTE)\b/;

function parseProgress(text: string): MdstatProgress | null {
  const run = PROGRESS_RUNNING.exec(text);
  if (run) {
    return {
      action: run[1] as ProgressAction,
      state: "running",
      percent: num(run[2]),
      done: big(run[3]),
      total: big(run[4]),
      finishMinutes: num(/\bfinish=([\d.]+)min/.exec(text)?.[1]),
      speed: num(/\bspeed=(\d+)K\/sec/.exec(text)?.[1]),
    };
  }
  const mark = PROGRESS_MARK.exec(text);
  if (mark) {
    return {
      action: mark[1] as ProgressAction,
      state: mark[2].toLowerCase() as "delayed" | "pending" | "remote",
      percent: null,
      done: null,
      total: null,
      finishMinutes: null,
      speed: null,
    };
  }
  return null;
}

function parseEntry(devnm: string, head: string, rest: string[]): MdstatArray {
  const words = head.split(/\s+/).filter((w) => w !== "");
  const a: MdstatArray = {
    devnm,
    active: false,
    readOnly: "no",
    level: null,
    members: [],
    blocks: null,
    superVersion: null,
    levelNumber: null,
    chunkKiB: null,
    algorithm: null,
    copies: null,
    raidDisks: null,
    workingDisks: null,
    status: null,
    progress: null,
    bitmap: null,
  };
  for (const w of words) {
    if (w === "active") a.active = true;
    else if (w === "inactive") a.active = false;
    else if (w === "(read-only)") a.readOnly = "read-only";
    else if (w === "(auto-read-only)") a.readOnly = "auto-read-only";
    else {
      const member = parseMember(w);
      if (member) a.members.push(member);
      else if (w === "super") break; // "inactive super X" when the array has no devices yet
      else if (a.level === null && a.members.length === 0 && /^[a-z][a-z0-9]*$/.test(w)) {
        a.level = w;
      }
    }
  }
  const body = rest.join("\n");
  a.blocks = big(/(\d+) blocks\b/.exec(body)?.[1]);
  a.superVersion = /\bsuper (\S+)/.exec(`${head}\n${body}`)?.[1] ?? null;
  a.levelNumber = num(/\blevel (\d+),/.exec(body)?.[1]);
  a.chunkKiB = num(/\b(\d+)[kK] chunks?\b/.exec(body)?.[1]);
  a.algorithm = num(/\balgorithm (\d+)/.exec(body)?.[1]);
  const copies = /\b(\d+) (near|far|offset)-copies\b/.exec(body);
  if (copies) {
    a.copies = { count: Number(copies[1]), kind: copies[2] as "near" | "far" | "offset" };
  }
  const counts = /\[(\d+)\/(\d+)\]/.exec(body);
  if (counts) {
    a.raidDisks = Number(counts[1]);
    a.workingDisks = Number(counts[2]);
  }
  a.status = /\[([U_]+)\]/.exec(body)?.[1] ?? null;
  a.progress = parseProgress(body);
  a.bitmap = /\bbitmap: ([^\n]*)/.exec(body)?.[1].trim() ?? null;
  return a;
}

/** Parses the whole text of /proc/mdstat. */
export function parseMdstat(text: string): Mdstat {
  const out: Mdstat = { personalities: [], arrays: [], unusedDevices: [] };
  let current: { devnm: string; head: string; rest: string[] } | null = null;
  const finish = () => {
    if (current) out.arrays.push(parseEntry(current.devnm, current.head, current.rest));
    current = null;
  };
  for (const line of String(text).split("\n")) {
    if (/^\s/.test(line)) {
      if (current && line.trim() !== "") (current as { rest: string[] }).rest.push(line);
      continue;
    }
    if (line.trim() === "") continue;
    finish();
    const pers = /^Personalities\s*:(.*)$/.exec(line);
    if (pers) {
      out.personalities = [...pers[1].matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]);
      continue;
    }
    const unused = /^unused devices\s*:(.*)$/.exec(line);
    if (unused) {
      out.unusedDevices = unused[1].split(/\s+/).filter((w) => w !== "" && w !== "<none>");
      continue;
    }
    const entry = /^(\S+)\s+:\s*(.*)$/.exec(line);
    if (entry) current = { devnm: entry[1], head: entry[2], rest: [] };
  }
  finish();
  return out;
}

/** Reads and parses /proc/mdstat (or another file of that format). */
export async function readMdstat(path = "/proc/mdstat"): Promise<Mdstat> {
  return parseMdstat(await Deno.readTextFile(path));
}

/**
 * The container devnm and subarray of a member's "super external:/md127/0" (or the blocked
 * "-md127/0" form); null for anything else.
 */
export function externalMemberOf(
  superVersion: string | null,
): { container: string; subarray: string; blocked: boolean } | null {
  const m = superVersion === null ? null : /^external:([\/-])([^\/]+)\/(.+)$/.exec(superVersion);
  return m ? { container: m[2], subarray: m[3], blocked: m[1] === "-" } : null;
}
