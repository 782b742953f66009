/**
 * The crash matrix's results (tests/vm/crash_driver.ts): the rows of each lane, kept per round
 * in tests/vm/crash_results.json so that runs of a few rounds add up (a round is ~9 min of VM
 * under TCG, the whole matrix more than one sitting), and the tables of crash_results.md
 * rendered from every stored round. Pure: no VM, no files.
 */

export type Shape = "r5" | "r0" | "r05";
export type Tool = "mdts" | "mdadm";

export interface LaneResult {
  round: string;
  lane: string;
  shape: Shape;
  grow: Tool;
  resume: Tool;
  rule: string;
  /** What the metadata said after the cut (mdadm -E on the first disk). */
  atCut: string;
  resumed: boolean;
  bytesDiffering: number | null;
  note: string;
  /**
   * Where the cut fell for this lane (crash_driver.ts cutPhase): before its grow wrote
   * anything; prepared (mdts's first backup written, no migration yet); during the migration;
   * finishing (migration ended, grow still running); after the grow ended. Rounds stored before
   * 2026-11-25 have only before/during/after, "after" meaning "not migrating, new shape".
   */
  phase: "before" | "prepared" | "during" | "finishing" | "after";
  assembleExit: number;
  /** Corrupted copy area: refused, nothing written, volume not started. */
  refusedClean?: boolean;
  /** Held lanes: whether the grow reached its hold point before the cut. */
  held?: boolean;
  /** mdts grows: the last reshape write before the cut (from MDTS_WRITE_LOG). */
  lastWrite?: string;
  /** mdts lanes: migration records the monitor wrote (the next volume's, at its start). */
  monitorRecordWrites?: number;
}

export interface StoredRound {
  /** Position in matrix() (what `deno task test:crash-matrix N` selects). */
  number: number;
  name: string;
  rule: string;
  /** When and at which commit the round ran. */
  date: string;
  commit: string;
  rows: LaneResult[];
  /** The round stopped before its lanes had a result. */
  failed?: string;
}

export interface ResultsStore {
  rounds: StoredRound[];
}

/** `fresh` rounds replace the stored rounds of the same number; the rest stay. */
export function mergeRounds(store: ResultsStore, fresh: StoredRound[]): ResultsStore {
  const byNumber = new Map(store.rounds.map((r) => [r.number, r]));
  for (const r of fresh) byNumber.set(r.number, r);
  return { rounds: [...byNumber.values()].sort((a, b) => a.number - b.number) };
}

/** Parses crash_results.json (an absent file is an empty store). */
export function parseStore(text: string | null): ResultsStore {
  if (text === null || text.trim() === "") return { rounds: [] };
  const v = JSON.parse(text) as ResultsStore;
  if (!Array.isArray(v.rounds)) {
    throw new Error(`crash_results.json: "rounds" is ${typeof v.rounds}, expected a list`);
  }
  return v;
}

function cell(text: string): string {
  return text.replaceAll("|", "/").replaceAll("\n", " ");
}

function cutText(r: LaneResult): string {
  if (r.held === undefined) return r.rule;
  return r.held ? r.rule.replace("(held)", "(held there)") : r.rule.replace(
    "(held)",
    "(hold not reached)",
  );
}

export function resultsTable(rows: LaneResult[]): string {
  const head = "| round | lane | shape | grown by | resumed by | cut | cut fell | " +
    "last mdts write before the cut | state at cut | finished | bytes differing |\n" +
    "|---|---|---|---|---|---|---|---|---|---|---|\n";
  return head +
    rows.map((r) =>
      `| ${r.round} | ${r.lane} | ${r.shape} | ${r.grow} | ${r.resume} | ${cell(cutText(r))} | ` +
      `${r.phase} | ${cell(r.lastWrite ?? "-")} | ${cell(r.atCut)} | ` +
      `${
        r.refusedClean !== undefined ? `refused: ${r.refusedClean}` : r.resumed ? "yes" : "no"
      } | ` +
      `${r.bytesDiffering ?? "-"} |`
    ).join("\n") + "\n";
}

/**
 * Per tool pair and shape: cut points (lanes cut inside their grow), how many of them
 * resumed and finished, bytes lost; lanes cut before or after their grow are counted apart.
 * Corrupted-copy-area lanes (expected refusals) are not cut points.
 */
export function summaryTable(rows: LaneResult[]): string {
  const groups = new Map<string, LaneResult[]>();
  const cuts = rows.filter((x) => x.refusedClean === undefined);
  const pairs = [...new Set(cuts.map((r) => `${r.grow} -> ${r.resume}`))];
  const shapes: Shape[] = ["r5", "r0", "r05"];
  for (const pair of pairs) {
    for (const shape of shapes) {
      const rs = cuts.filter((r) => `${r.grow} -> ${r.resume}` === pair && r.shape === shape);
      if (rs.length) groups.set(`${pair} | ${shape}`, rs);
    }
    groups.set(`${pair} | all`, cuts.filter((r) => `${r.grow} -> ${r.resume}` === pair));
  }
  const lines = [
    "| grown by -> resumed by | shape | cut points (inside the grow) | also cut before/after | " +
    "resumed and finished | bytes differing (sum) | lanes with any byte lost or unfinished |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const [key, rs] of groups) {
    const inside = rs.filter((r) => INSIDE.includes(r.phase));
    const lost = rs.filter((r) => (r.bytesDiffering ?? 0) > 0 || !r.resumed);
    const bold = key.endsWith("| all") ? "**" : "";
    lines.push(
      `| ${key.replace("| all", `| ${bold}all${bold}`)} | ${bold}${inside.length}${bold} | ` +
        `${rs.length - inside.length} | ` +
        `${inside.filter((r) => r.resumed).length}/${inside.length} | ` +
        `${rs.reduce((n, r) => n + (r.bytesDiffering ?? 0), 0)} | ${lost.length} |`,
    );
  }
  return lines.join("\n") + "\n";
}

/** Cuts counted as inside the grow: it had written something and had not ended. */
const INSIDE: LaneResult["phase"][] = ["prepared", "during", "finishing"];

/** crash_results.md: the summary, the rounds (when, at which commit), every lane. */
export function renderResults(store: ResultsStore, matrixSize: number): string {
  const rows = store.rounds.flatMap((r) => r.rows);
  const ran = store.rounds.map((r) => r.number);
  const missing = Array.from({ length: matrixSize }, (_, i) => i + 1).filter((n) =>
    !ran.includes(n)
  );
  const rounds = [
    "| # | round | cut rule | ran at (UTC) | commit | lanes | outcome |",
    "|---|---|---|---|---|---|---|",
    ...store.rounds.map((r) =>
      `| ${r.number} | ${r.name} | ${cell(r.rule)} | ${r.date.slice(0, 16).replace("T", " ")} | ` +
      `${r.commit} | ${r.rows.length} | ${r.failed ? `failed: ${cell(r.failed)}` : "ran"} |`
    ),
  ].join("\n");
  return [
    "# Crash matrix results",
    "",
    "Written by `deno task test:crash-matrix [N...]` (tests/vm/crash_driver.ts) from the rounds " +
    "stored in crash_results.json; a run of some rounds replaces only their rows.",
    "",
    `Rounds run: ${store.rounds.length} of ${matrixSize}` +
    (missing.length ? ` (not run yet: ${missing.join(", ")})` : "") + ".",
    "",
    "## Summary",
    "",
    summaryTable(rows),
    "## Rounds",
    "",
    rounds,
    "",
    "## Lanes",
    "",
    resultsTable(rows),
  ].join("\n");
}
