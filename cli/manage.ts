/** Manage mode: `--add`, `--remove`, `--fail` on IMSM containers and volumes. */
import type { ManageCommand } from "./command.ts";
import type { Io, System } from "./run.ts";
import { manage } from "../core/monitor/manage.ts";
import { guarded, hostOf, printMessages } from "./lifecycle_common.ts";

export function runManage(cmd: ManageCommand, prog: string, system: System, io: Io) {
  return guarded(io, prog, async () => {
    // mdadm prints each change as it makes it; a refusal stops the rest
    await manage(system.kernel(), hostOf(system), {
      device: cmd.device,
      ops: cmd.ops,
      say: (m) => printMessages(io, prog, [m]),
    });
    return 0;
  });
}
