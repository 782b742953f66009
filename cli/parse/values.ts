/**
 * Option values as mdadm accepts them: numbers, RAID level names, metadata names, UUIDs,
 * layouts, --auto styles. Each returns the typed value, or null when mdadm would refuse it.
 */
import type { AutoCreate, ConsistencyPolicy, MetadataName, RaidLevel } from "../command.ts";

/** A non-negative int the way mdadm's parse_num reads it (strtol, nothing after the digits). */
export function parseNum(text: string): number | null {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  if (!Number.isSafeInteger(n) || n < 0 || n > 0x7fffffff) return null;
  return n;
}

const LEVEL_NAMES: ReadonlyMap<string, RaidLevel> = new Map<string, RaidLevel>([
  ["linear", "linear"],
  ["raid0", 0],
  ["0", 0],
  ["stripe", 0],
  ["raid1", 1],
  ["1", 1],
  ["mirror", 1],
  ["raid4", 4],
  ["4", 4],
  ["raid5", 5],
  ["5", 5],
  ["multipath", "multipath"],
  ["mp", "multipath"],
  ["raid6", 6],
  ["6", 6],
  ["raid10", 10],
  ["10", 10],
  ["faulty", "faulty"],
  ["container", "container"],
]);

/** -l/--level: mdadm's names and aliases, matched exactly (case matters). */
export function parseLevel(text: string): RaidLevel | null {
  return LEVEL_NAMES.get(text) ?? null;
}

/** mdadm's name for a level in messages ("raid5", "linear", "container"). */
export function levelName(level: RaidLevel): string {
  return typeof level === "number" ? `raid${level}` : level;
}

/** mdadm's internal level numbers, used where it compares levels ("level < 1"). */
export function levelNumber(level: RaidLevel): number {
  switch (level) {
    case "linear":
      return -1;
    case "multipath":
      return -4;
    case "faulty":
      return -5;
    case "container":
      return -100;
    default:
      return level;
  }
}

/** -e/--metadata: every name some mdadm metadata handler accepts, folded to one spelling. */
export function parseMetadata(text: string): MetadataName | null {
  if (text === "imsm") return "imsm";
  if (text === "ddf") return "ddf";
  if (text === "default") return "default";
  // 0.90 accepts "00.90" and friends; 1.x ignores any leading zeros.
  let v0 = text;
  while (v0.startsWith("00")) v0 = v0.slice(1);
  if (v0 === "0" || v0 === "0.90" || v0 === "0.91" || v0 === "") return "0.90";
  const v1 = text.replace(/^0+/, "");
  if (v1 === "1.0" || v1 === "1.00") return "1.0";
  if (v1 === "1.1" || v1 === "1.01") return "1.1";
  if (v1 === "1.2" || v1 === "1.02") return "1.2";
  if (v1 === "1") return "1";
  return null;
}

/**
 * A UUID: exactly 32 hex digits, with ':', '.', ' ' or '-' anywhere as separators. Returned the
 * way mdadm prints array UUIDs: four groups of 8 lower-case digits joined by ':'.
 */
export function parseUuid(text: string): string | null {
  let hex = "";
  for (const c of text) {
    if (/[0-9a-fA-F]/.test(c)) hex += c.toLowerCase();
    else if (!":. -".includes(c)) return null;
  }
  if (hex.length !== 32) return null;
  return [0, 8, 16, 24].map((i) => hex.slice(i, i + 8)).join(":");
}

const RAID5_LAYOUTS: ReadonlyMap<string, string> = new Map([
  ["left-asymmetric", "left-asymmetric"],
  ["right-asymmetric", "right-asymmetric"],
  ["left-symmetric", "left-symmetric"],
  ["right-symmetric", "right-symmetric"],
  ["default", "left-symmetric"],
  ["la", "left-asymmetric"],
  ["ra", "right-asymmetric"],
  ["ls", "left-symmetric"],
  ["rs", "right-symmetric"],
  ["parity-first", "parity-first"],
  ["parity-last", "parity-last"],
  // The DDF names are aliases of the classic raid5 algorithms.
  ["ddf-zero-restart", "right-asymmetric"],
  ["ddf-N-restart", "left-asymmetric"],
  ["ddf-N-continue", "left-symmetric"],
]);

const RAID6_LAYOUTS: ReadonlyMap<string, string> = new Map([
  ...[...RAID5_LAYOUTS].filter(([k]) => !k.startsWith("ddf-")),
  ["ddf-zero-restart", "ddf-zero-restart"],
  ["ddf-N-restart", "ddf-N-restart"],
  ["ddf-N-continue", "ddf-N-continue"],
  ["left-asymmetric-6", "left-asymmetric-6"],
  ["right-asymmetric-6", "right-asymmetric-6"],
  ["left-symmetric-6", "left-symmetric-6"],
  ["right-symmetric-6", "right-symmetric-6"],
  ["parity-first-6", "parity-first-6"],
]);

const RAID0_LAYOUTS: ReadonlyMap<string, string> = new Map([
  ["original", "original"],
  ["alternate", "alternate"],
  ["1", "original"],
  ["2", "alternate"],
  ["dangerous", "dangerous"],
]);

export function parseRaid5Layout(text: string): string | null {
  return RAID5_LAYOUTS.get(text) ?? null;
}

export function parseRaid6Layout(text: string): string | null {
  return RAID6_LAYOUTS.get(text) ?? null;
}

export function parseRaid0Layout(text: string): string | null {
  return RAID0_LAYOUTS.get(text) ?? null;
}

/** raid10: n, o or f followed by a copy count 1..200 ("n2", "f2", "o3"). */
export function parseRaid10Layout(text: string): string | null {
  const m = /^([nfo])[ \t\n\v\f\r]*\+?(\d+)$/.exec(text);
  if (!m) return null;
  const copies = Number(m[2]);
  if (copies < 1 || copies > 200) return null;
  return `${m[1]}${copies}`;
}

const FAULTY_MODES = new Set([
  "write-transient",
  "wt",
  "read-transient",
  "rt",
  "write-persistent",
  "wp",
  "read-persistent",
  "rp",
  "write-all",
  "wa",
  "read-fixable",
  "rf",
  "clear",
  "flush",
  "none",
  "default",
]);

/** faulty: a mode name optionally followed by a period count ("wt100"). Kept as typed. */
export function parseFaultyLayout(text: string): string | null {
  const cut = text.search(/[0-9]/);
  const mode = cut < 0 ? text : text.slice(0, cut);
  return FAULTY_MODES.has(mode) ? text : null;
}

const POLICIES: ReadonlyMap<string, ConsistencyPolicy | "unknown"> = new Map<
  string,
  ConsistencyPolicy | "unknown"
>([
  ["unknown", "unknown"],
  ["none", "none"],
  ["resync", "resync"],
  ["bitmap", "bitmap"],
  ["journal", "journal"],
  ["ppl", "ppl"],
]);

/** -k/--consistency-policy: "unknown" and "none" are not choices a user may make. */
export function parseConsistencyPolicy(text: string): ConsistencyPolicy | null {
  const p = POLICIES.get(text);
  if (p === undefined || p === "unknown" || p === "none") return null;
  return p;
}

/** --auto: no, yes, md, mdp, part (p), each optionally followed by a partition count. */
export function parseAuto(text: string): AutoCreate | null {
  if (text === "") return "yes";
  const lower = text.toLowerCase();
  if (lower === "no") return "no";
  const m = /^([a-z]*?)-?\d*$/.exec(lower);
  if (!m) return null;
  const word = m[1];
  if (word === "md") return "md";
  if (word === "yes") return "yes";
  if (word === "mdp") return "mdp";
  if (word === "p" || (word.length >= 4 && word.startsWith("part"))) return "part";
  return null;
}
