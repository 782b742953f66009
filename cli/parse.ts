/**
 * Command-line grammars: mdadm's (also used when invoked as mdts) and mdmon's. Pure functions:
 * argv in, a typed Command or a ParseError out; nothing is read or written.
 */
import type { Command, MdmonCommand, ParseError, ParseResult } from "./command.ts";
import { readMdadmArgs } from "./parse/mdadm-grammar.ts";
import { buildMdadmCommand } from "./parse/mdadm-command.ts";

export { parseMdmon } from "./parse/mdmon.ts";
export type { Command, MdmonCommand, ParseError, ParseResult };

/** Parses mdadm's command line (without the program name). */
export function parseMdadm(args: readonly string[]): ParseResult<Command> {
  const read = readMdadmArgs(args);
  if ("done" in read) return { ok: true, command: read.done, warnings: [] };
  if ("ok" in read) return read;
  return buildMdadmCommand(read);
}

/** Warnings as mdadm prints them on stderr: one "PROG: text" line each. */
export function formatWarnings(warnings: readonly string[], program: string): string {
  return warnings.map((w) => `${program}: ${w}\n`).join("");
}

/**
 * The stderr text for a parse error: warnings, then "PROG: message", then the usage hint
 * mdadm prints after getopt errors, or `fullUsage` (mdmon's usage text) when asked for.
 */
export function formatParseError(err: ParseError, program: string, fullUsage = ""): string {
  let text = formatWarnings(err.warnings, program);
  if (err.message !== "") text += `${program}: ${err.message}\n`;
  if (err.usage === "hint") text += `Usage: ${program} --help\n  for help\n`;
  if (err.usage === "full") text += fullUsage;
  return text;
}
