/** `--stop` / `-S`: volumes, containers, or everything with --scan. */
import type { StopCommand } from "./command.ts";
import type { Io, System } from "./run.ts";
import { stopAll, stopDevices } from "../core/lifecycle/stop.ts";
import { guarded, hostOf, printMessages } from "./lifecycle_common.ts";

export function runStop(cmd: StopCommand, prog: string, system: System, io: Io) {
  return guarded(io, prog, async () => {
    const kernel = system.kernel(), host = hostOf(system);
    const r = cmd.devices.length === 0 && cmd.scan
      ? await stopAll(kernel, host)
      : await stopDevices(kernel, host, cmd.devices);
    printMessages(io, prog, r.messages);
    return r.status;
  });
}
