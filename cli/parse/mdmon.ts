/**
 * mdmon's command line: `mdmon [--all] [--takeover] [--foreground] [--offroot] CONTAINER`.
 * mdmon 4.2 permutes its arguments (options may follow the container) and answers every usage
 * error, --help included, with its usage text and exit status 2. `--version` is an mdts addition.
 */
import type { MdmonCommand, ParseError, ParseResult } from "../command.ts";
import { Getopt, type LongOption, shortSpec } from "./getopt.ts";

const MDMON_LONG_OPTIONS: readonly LongOption[] = [
  { name: "all", arg: "none", key: "a" },
  { name: "takeover", arg: "none", key: "t" },
  { name: "help", arg: "none", key: "h" },
  { name: "offroot", arg: "none", key: "offroot" },
  { name: "foreground", arg: "none", key: "F" },
  { name: "version", arg: "none", key: "V" },
];

const MDMON_SHORTS = shortSpec("thaFV");

function usage(message = ""): ParseError {
  return { ok: false, code: 2, message, usage: "full", warnings: [] };
}

export function parseMdmon(args: readonly string[]): ParseResult<MdmonCommand> {
  const getopt = new Getopt(args, MDMON_LONG_OPTIONS);
  const operands: string[] = [];
  let all = false;
  let takeover = false;
  let foreground = false;
  let offroot = false;
  for (;;) {
    const ev = getopt.next(MDMON_SHORTS);
    if (ev.kind === "end") break;
    if (ev.kind === "error") return usage(ev.message);
    if (ev.kind === "operand") {
      operands.push(ev.value);
      continue;
    }
    switch (ev.key) {
      case "a":
        all = true;
        break;
      case "t":
        takeover = true;
        break;
      case "F":
        foreground = true;
        break;
      case "offroot":
        offroot = true;
        break;
      case "V":
        return { ok: true, command: { mode: "version" }, warnings: [] };
      case "h":
        return { ok: true, command: { mode: "help" }, warnings: [] };
    }
  }
  operands.push(...getopt.afterDashDash);
  // With --all a container name is optional (and ignored); without it exactly one is needed.
  if (operands.length > 1) return usage();
  const container = operands[0];
  if (!all && container === undefined) return usage();
  if (container === "/proc/mdstat") all = true;
  const command: MdmonCommand = { mode: "monitor", all, takeover, foreground, offroot };
  if (container !== undefined && !all) command.container = container;
  return { ok: true, command, warnings: [] };
}
