/** `--zero-superblock`: erase IMSM metadata from disks that are not in use. */
import type { ZeroSuperblockCommand } from "./command.ts";
import type { Io, System } from "./run.ts";
import { zeroSuperblocks } from "../core/lifecycle/zero.ts";
import { guarded, hostOf, printMessages } from "./lifecycle_common.ts";

export function runZero(cmd: ZeroSuperblockCommand, prog: string, system: System, io: Io) {
  return guarded(io, prog, async () => {
    const r = await zeroSuperblocks(system.kernel(), hostOf(system), cmd.devices, cmd.force);
    printMessages(io, prog, r.messages);
    return r.status;
  });
}
