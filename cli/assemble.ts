/** `--assemble` / `-A`: containers first, then their volumes. */
import type { AssembleCommand } from "./command.ts";
import type { Io, System } from "./run.ts";
import { assemble } from "../core/lifecycle/assemble_run.ts";
import { guarded, hostOf, printMessages } from "./lifecycle_common.ts";

export function runAssemble(cmd: AssembleCommand, prog: string, system: System, io: Io) {
  return guarded(io, prog, async () => {
    if (cmd.metadata !== undefined && cmd.metadata !== "imsm") {
      io.err(`${prog}: mdts assembles IMSM arrays only, not metadata ${cmd.metadata}\n`);
      return 1;
    }
    const r = await assemble(system.kernel(), hostOf(system), {
      arrays: cmd.arrays,
      members: cmd.members,
      scan: cmd.scan,
      configFile: cmd.ctx.configFile,
      run: cmd.start === "run",
    });
    printMessages(io, prog, r.messages);
    return r.status;
  });
}
