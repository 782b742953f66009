/**
 * `--zero-superblock`: erases the IMSM anchor, MPB extension and migration record at the end
 * of each disk through the write seam, after refusing disks that are in use.
 */
import type { Kernel } from "../../kernel/interface.ts";
import { metadataTailLength } from "../../meta/imsm/anchor.ts";
import type { Host } from "./host.ts";
import { LifecycleError, refuse } from "./errors.ts";
import { imsmMetadataOf, resolveDisk } from "./disks.ts";

export interface ZeroResult {
  messages: string[];
  status: number;
}

export async function zeroSuperblocks(
  kernel: Kernel,
  host: Host,
  paths: string[],
  force: boolean,
): Promise<ZeroResult> {
  const messages: string[] = [];
  let status = 0;
  for (const path of paths) {
    try {
      const disk = await resolveDisk(kernel, host, path);
      const probe = disk.holders.length > 0
        ? { kind: "busy" }
        : await host.probeExclusive(disk.device);
      if (probe.kind !== "free") refuse(`Couldn't open ${path} for write - not zeroing`, 2);
      const metadata = await imsmMetadataOf(kernel, disk);
      if (metadata === null) {
        if (force) continue;
        refuse(`Unrecognised md component device - ${path}`, 2);
      }
      const length = metadataTailLength(metadata.mpb.mpbSize, disk.sectorSize);
      const wipe = Math.ceil(length / disk.sectorSize) * disk.sectorSize;
      await kernel.writer.write({
        device: disk.device,
        offset: disk.sizeBytes - BigInt(wipe),
        data: new Uint8Array(wipe),
        purpose: "zero-superblock",
        what: `IMSM metadata of ${disk.device} (anchor, MPB, migration record)`,
      });
      await kernel.writer.flush(disk.device);
    } catch (e) {
      if (!(e instanceof LifecycleError)) throw e;
      messages.push(e.message);
      status = Math.max(status, e.exitCode);
    }
  }
  return { messages, status };
}
