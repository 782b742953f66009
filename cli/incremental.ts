/** `--incremental` / `-I`: what udev runs for each new disk (with --export for its rules). */
import type { IncrementalCommand } from "./command.ts";
import type { Io, System } from "./run.ts";
import { incremental } from "../core/lifecycle/incremental.ts";
import { guarded, hostOf, printMessages } from "./lifecycle_common.ts";

export function runIncremental(cmd: IncrementalCommand, prog: string, system: System, io: Io) {
  return guarded(io, prog, async () => {
    const device = cmd.devices[0];
    if (device === undefined) {
      io.err(`${prog}: --incremental needs a device (or --scan)\n`);
      return 1;
    }
    const r = await incremental(system.kernel(), hostOf(system), device, cmd.run);
    if (cmd.ctx.verbose >= 0) printMessages(io, prog, r.messages);
    if (cmd.export) io.out(r.exportLines.map((l) => l + "\n").join(""));
    return r.status;
  });
}
