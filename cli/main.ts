/** Entry logic: personality, then the mode. Returns the exit code; mod.ts does the exiting. */
import { choosePersonality, type Invocation } from "./personality.ts";
import { versionLine } from "./version.ts";
import { helpText } from "./help.ts";

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function main(name: string, argv: string[], io: Io): Promise<number> {
  const inv: Invocation = choosePersonality(name, argv);
  return await runPersonality(inv, io);
}

// deno-lint-ignore require-await
async function runPersonality(inv: Invocation, io: Io): Promise<number> {
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
  if (inv.args.length === 0) {
    io.err(helpText(inv.personality));
    return inv.personality === "mdmon" ? 1 : 2;
  }
  io.err(`${inv.personality}: mode not implemented yet: ${inv.args.join(" ")}\n`);
  return 1;
}
