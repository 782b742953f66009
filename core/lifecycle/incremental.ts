/**
 * `--incremental`: what udev runs for each disk that appears. The disk joins the running
 * container of its family (or starts one); once every member the metadata lists is there
 * (or with --run), the container's volumes are started. Given a container, its volumes start.
 */
import type { Kernel } from "../../kernel/interface.ts";
import { DISK_STATUS } from "../../meta/imsm/constants.ts";
import { diskSerial } from "../../meta/imsm/accessors.ts";
import { containerUuid } from "../../meta/imsm/uuid.ts";
import { containerFromDisks } from "../../meta/imsm/edit/container.ts";
import { readMapEntries } from "../mapfile.ts";
import { containerMetadata, runningArrays } from "../model.ts";
import type { Host } from "./host.ts";
import { refuse } from "./errors.ts";
import { imsmMetadataOf, resolveDisk } from "./disks.ts";
import { mdDevnmOf, underMapLock } from "./devices.ts";
import { addContainerComponent } from "./bringup.ts";
import { assembleContainer, assembledComponent, type FoundDisk, startVolumes } from "./assemble.ts";
import { readMetadata } from "../examine.ts";
import { sameUuid } from "./config.ts";

export interface IncrementalResult {
  messages: string[];
  /** KEY=value lines for --export. */
  exportLines: string[];
  status: number;
}

export async function incremental(
  kernel: Kernel,
  host: Host,
  path: string,
  run: boolean,
): Promise<IncrementalResult> {
  const md = await mdDevnmOf(kernel, host, path);
  const arrays = await runningArrays(kernel);
  const asContainer = arrays.find((a) => a.devnm === md && a.kind === "container");
  if (md !== null && asContainer !== undefined && asContainer.kind === "container") {
    const c = await containerMetadata(kernel, asContainer);
    const v = await startVolumes(kernel, host, md, c.mpb, new Map(), run);
    return { messages: v.messages, exportLines: [], status: v.failed ? 1 : 0 };
  }
  const disk = await resolveDisk(kernel, host, path);
  if (disk.holders.length > 0) {
    refuse(`cannot reopen ${path}: Device or resource busy (already in /dev/${disk.holders[0]}).`);
  }
  const metadata = await imsmMetadataOf(kernel, disk);
  if (metadata === null) refuse(`no RAID superblock on ${path}.`);
  if (metadata.mpb.volumes.length === 0) {
    refuse(`${path} carries only an IMSM spare record; add it to a container with --add`);
  }
  const uuid = containerUuid(metadata.mpb);
  const found: FoundDisk = { disk, metadata };
  const map = await readMapEntries(host);
  const running = new Set(arrays.map((a) => a.devnm));
  const entry = map.find((e) =>
    e.metadata === "imsm" && sameUuid(e.uuid, uuid) && running.has(e.devnm)
  );
  let devnm: string;
  let containerPath: string;
  const messages: string[] = [];
  if (entry === undefined) {
    const c = await assembleContainer(kernel, host, [found], null);
    devnm = c.devnm;
    containerPath = c.path;
  } else {
    devnm = entry.devnm;
    containerPath = entry.path || `/dev/${devnm}`;
    const rc = arrays.find((a) => a.devnm === devnm)!;
    const others = [];
    for (const m of rc.members) {
      others.push(await readMetadata(kernel.blocks, kernel.devPath(m.name)));
    }
    const mpb = containerFromDisks([...others, metadata]).mpb;
    await underMapLock(
      host,
      () => addContainerComponent(kernel, devnm, assembledComponent(mpb, found)),
    );
  }
  messages.push(`${path} attached to ${containerPath}`);
  // complete when every non-failed disk of the newest table is in the container
  const rc = (await runningArrays(kernel)).find((a) => a.devnm === devnm)!;
  const members = [];
  for (const m of rc.members) {
    members.push(await readMetadata(kernel.blocks, kernel.devPath(m.name)));
  }
  const mpb = containerFromDisks(members).mpb;
  const present = new Set<string>();
  for (const m of rc.members) {
    const d = await resolveDisk(kernel, host, kernel.devPath(m.name));
    if (d.serial !== null) present.add(d.serial);
  }
  const complete = mpb.disks.every((d) =>
    (d.status & DISK_STATUS.FAILED) !== 0 || present.has(diskSerial(d))
  );
  const exportLines = [
    `MD_DEVICE=${devnm}`,
    `MD_DEVNAME=${containerPath.replace(/^\/dev\/md\//, "").replace(/^\/dev\//, "")}`,
    `MD_FOREIGN=no`,
  ];
  let failed = false;
  if (complete || run) {
    const v = await startVolumes(kernel, host, devnm, mpb, new Map(), run);
    messages.push(...v.messages);
    failed = v.failed === true;
    exportLines.push(`MD_STARTED=${complete ? "yes" : "unsafe"}`);
  } else {
    exportLines.push("MD_STARTED=no");
  }
  return { messages, exportLines, status: failed ? 1 : 0 };
}
