/** `--wait` / `-W`: until resync/recovery/reshape ends (0), or 1 when none was running. */
import type { WaitCommand } from "./command.ts";
import type { Io, System } from "./run.ts";
import { waitForSync } from "../core/lifecycle/wait.ts";
import { guarded, hostOf } from "./lifecycle_common.ts";

export function runWait(cmd: WaitCommand, prog: string, system: System, io: Io) {
  return guarded(io, prog, async () => {
    let status = 1;
    for (const d of cmd.devices) {
      if ((await waitForSync(system.kernel(), hostOf(system), d)) === 0) status = 0;
    }
    return status;
  });
}
