/** Entry logic: personality, then the grammar, then the mode. Returns the exit code. */
import { choosePersonality, type Invocation } from "./personality.ts";
import { versionLine } from "./version.ts";
import { helpText } from "./help.ts";
import { formatParseError, formatWarnings, parseMdadm } from "./parse.ts";
import { type Io, runCommand, type System } from "./run.ts";
import { runMdmon } from "./mdmon.ts";

export type { Io, System };

export async function main(name: string, argv: string[], io: Io, system?: System): Promise<number> {
  const inv: Invocation = choosePersonality(name, argv);
  return await runPersonality(inv, io, system);
}

async function runPersonality(inv: Invocation, io: Io, system?: System): Promise<number> {
  const first = inv.args[0];
  if (first === "--version" || first === "-V") {
    // mdadm and mdmon print their version on stderr; scripts read it there.
    if (inv.personality === "mdts") io.out(versionLine("mdts") + "\n");
    else io.err(versionLine(inv.personality) + "\n");
    return 0;
  }
  if (first === "--help" || first === "-h") {
    io.out(helpText(inv.personality));
    return 0;
  }
  if (inv.personality === "mdmon") {
    if (!system) {
      io.err(`mdmon: internal error: no system given\n`);
      return 1;
    }
    return await runMdmon(inv.args, io, system);
  }
  const prog = inv.personality;
  const parsed = parseMdadm(inv.args);
  if (!parsed.ok) {
    io.err(formatParseError(parsed, prog));
    return parsed.code;
  }
  io.err(formatWarnings(parsed.warnings, prog));
  if (!system) {
    io.err(`${prog}: internal error: no system given for ${parsed.command.mode}\n`);
    return 1;
  }
  return await runCommand(parsed.command, inv.personality, system, io);
}
