/**
 * Command -> core call -> text and exit code. The outside world arrives as `System`, built by
 * mod.ts from kernel/ (or by tests from the fake kernel); cli/ itself does no I/O.
 */
import type { Command } from "./command.ts";
import type { Personality } from "./personality.ts";
import type { Kernel } from "../kernel/interface.ts";
import { runExamine } from "./examine.ts";
import type { Host } from "../core/lifecycle/host.ts";
import { runCreate } from "./create.ts";
import { runAssemble } from "./assemble.ts";
import { runIncremental } from "./incremental.ts";
import { runStop } from "./stop.ts";
import { runDetail } from "./detail.ts";
import { runZero } from "./zero.ts";
import { runWait } from "./wait.ts";
import { runManage } from "./manage.ts";
import { runGrow } from "./grow.ts";

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface System {
  /** The kernel, created on first use (FFI and sysfs are not touched for --help). */
  kernel(): Kernel;
  env(key: string): string | undefined;
  /** /dev/md links, the map file, the monitor process; LinuxHost when absent. */
  host?(): Host;
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
    case "create":
      return await runCreate(cmd, prog, system, io);
    case "assemble":
      return await runAssemble(cmd, prog, system, io);
    case "incremental":
      return await runIncremental(cmd, prog, system, io);
    case "stop":
      return await runStop(cmd, prog, system, io);
    case "detail":
      return await runDetail(cmd, prog, system, io);
    case "zero-superblock":
      return await runZero(cmd, prog, system, io);
    case "wait":
      return await runWait(cmd, prog, system, io);
    case "manage":
      return await runManage(cmd, prog, system, io);
    case "grow":
      return await runGrow(cmd, prog, system, io);
    case "misc-sequence": {
      let status = 0;
      for (const step of cmd.steps) {
        status = Math.max(status, await runCommand(step, personality, system, io));
      }
      return status;
    }
    default:
      io.err(`${prog}: ${describeMode(cmd)} is not implemented in mdts yet\n`);
      return 1;
  }
}

function describeMode(cmd: Command): string {
  return `--${cmd.mode}`;
}
