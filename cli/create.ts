/** `--create` / `-C`: IMSM containers and volumes. */
import type { CreateCommand } from "./command.ts";
import type { Io, System } from "./run.ts";
import { create } from "../core/lifecycle/create.ts";
import { guarded, hostOf, printMessages } from "./lifecycle_common.ts";

export function runCreate(cmd: CreateCommand, prog: string, system: System, io: Io) {
  return guarded(io, prog, async () => {
    const out = await create(system.kernel(), hostOf(system), {
      device: cmd.device,
      members: cmd.members.map((m) => m.kind === "missing" ? "missing" : m.path),
      metadata: cmd.metadata,
      level: cmd.level,
      raidDevices: cmd.raidDevices,
      chunkKiB: cmd.chunkKiB,
      sizeKiB: cmd.sizeKiB,
      run: cmd.run,
      force: cmd.force,
      assumeClean: cmd.assumeClean,
    });
    printMessages(io, prog, out.messages);
    return 0;
  });
}
