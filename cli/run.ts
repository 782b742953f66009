/**
 * Command -> core call -> text and exit code. The outside world arrives as `System`, built by
 * mod.ts from kernel/ (or by tests from the fake kernel); cli/ itself does no I/O.
 */
import type { Command } from "./command.ts";
import type { Personality } from "./personality.ts";
import type { Kernel } from "../kernel/interface.ts";
import { runExamine } from "./examine.ts";

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface System {
  /** The kernel, created on first use (FFI and sysfs are not touched for --help). */
  kernel(): Kernel;
  env(key: string): string | undefined;
}

export async function runCommand(
  cmd: Command,
  personality: Personality,
  system: System,
  io: Io,
): Promise<number> {
  const prog = personality === "mdts" ? "mdts" : "mdadm";
  switch (cmd.mode) {
    case "examine":
      return await runExamine(cmd, prog, system, io);
    default:
      io.err(`${prog}: ${describeMode(cmd)} is not implemented in mdts yet\n`);
      return 1;
  }
}

function describeMode(cmd: Command): string {
  return `--${cmd.mode}`;
}
