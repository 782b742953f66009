/**
 * Manage mode on IMSM arrays (`--add`, `--remove`, `--fail`): spares go in and out of the
 * container, members of a volume are failed. Checks come first and refuse with mdadm's words
 * and nothing written; a running monitor is pinged afterwards so that it has taken the change
 * into the metadata (a failure recorded, a spare seen) before we return.
 */
import type { Kernel } from "../../kernel/interface.ts";
import type { ManageOp } from "../../cli/command.ts";
import type { Host } from "../lifecycle/host.ts";
import { refuse } from "../lifecycle/errors.ts";
import { mdDevnmOf } from "../lifecycle/devices.ts";
import { type Disk, requireUnused, resolveDisk } from "../lifecycle/disks.ts";
import { addContainerComponent, freshComponent } from "../lifecycle/bringup.ts";
import { pingMonitor } from "../lifecycle/monitor_client.ts";
import { externalMemberOf } from "../../kernel/md/mdstat.ts";
import { loadContainer, storeContainer } from "../imsm/store.ts";
import { addSpare, prepareWrite } from "../../meta/imsm/edit/mod.ts";
import { diskSerial } from "../../meta/imsm/accessors.ts";
import { MPB_SECTOR_CNT } from "../../meta/imsm/constants.ts";
import { containerDisks } from "./container_model.ts";

export interface ManageRequest {
  device: string;
  ops: ManageOp[];
  /** Called with each change as it is made (mdadm prints them one by one). */
  say?: (message: string) => void;
}

export interface ManageOutcome {
  /** Lines for stderr, without the program prefix. */
  messages: string[];
}

interface Target {
  devnm: string;
  kind: "container" | "member";
  /** For a member: its container. */
  container: string;
}

async function target(kernel: Kernel, host: Host, device: string): Promise<Target> {
  const devnm = await mdDevnmOf(kernel, host, device);
  if (devnm === null) refuse(`${device} does not appear to be an md device`);
  const v = await kernel.array(devnm).metadataVersion();
  if (v.kind === "external-container") return { devnm, kind: "container", container: devnm };
  if (v.kind === "external-member") return { devnm, kind: "member", container: v.container };
  refuse(
    `${device} is not an IMSM container or volume (metadata ${await kernel.array(devnm)
      .metadataVersionText()}); mdts manages IMSM arrays only`,
  );
}

/** Every md array of the container that holds component `name`. */
async function usersOf(kernel: Kernel, container: string, name: string): Promise<string[]> {
  const out: string[] = [];
  for (const a of (await kernel.mdstat()).arrays) {
    if (externalMemberOf(a.superVersion)?.container !== container) continue;
    if ((await kernel.md.memberNames(a.devnm)).includes(name)) out.push(a.devnm);
  }
  return out;
}

async function addToContainer(
  kernel: Kernel,
  host: Host,
  t: Target,
  device: string,
  path: string,
): Promise<string> {
  const disk: Disk = await resolveDisk(kernel, host, path);
  const present = await kernel.md.memberNames(t.devnm);
  if (present.includes(disk.name)) refuse(`${path} is already in ${device}`);
  await requireUnused(host, disk);
  if (disk.serial === null) {
    refuse(
      `${path} has no serial number IMSM could record; on virtual disks set ` +
        `IMSM_DEVNAME_AS_SERIAL=1`,
    );
  }
  const disks = await containerDisks(kernel, t.devnm, (k) => host.env(k));
  if (disks.length === 0) refuse(`${device} has no disks; add disks by creating the container`);
  const c = await loadContainer(kernel.blocks, disks.map((d) => d.path));
  const sectors = Number(disk.sizeBytes / 512n);
  if (sectors <= MPB_SECTOR_CNT * 2) {
    refuse(`${path} is too small (${sectors} sectors) to hold IMSM metadata`);
  }
  // addSpare checks the sector size and that the serial is new to the container
  let grown;
  try {
    grown = addSpare(c, { serial: disk.serial, sizeSectors: sectors, sectorSize: disk.sectorSize });
  } catch (e) {
    refuse(`cannot add ${path} to ${device}: ${(e as Error).message}`);
  }
  const prepared = prepareWrite(grown);
  const own = prepared.writes.filter((w) => w.serial === disk.serial)
    .map((w) => ({ ...w, clearMigrationRecord: true }));
  await storeContainer(kernel.writer, [{
    serial: disk.serial,
    device: disk.device,
    size: disk.sizeBytes,
    sectorSize: disk.sectorSize,
  }], { container: prepared.container, writes: own });
  await addContainerComponent(kernel, t.devnm, freshComponent(disk.name, disk.sizeBytes));
  await pingMonitor(host, t.devnm);
  return `added ${path}`;
}

/** The md component name of `path` in array `devnm`; refuses with mdadm's `notMember` text. */
async function memberNameOf(
  kernel: Kernel,
  host: Host,
  devnm: string,
  path: string,
  notMember: string,
): Promise<string> {
  const real = (await host.realPath(path)) ?? path;
  const name = real.replace(/^\/dev\//, "");
  if (!(await kernel.md.memberNames(devnm)).includes(name)) refuse(notMember);
  return name;
}

async function removeFromContainer(
  kernel: Kernel,
  host: Host,
  t: Target,
  device: string,
  path: string,
): Promise<string> {
  const name = await memberNameOf(
    kernel,
    host,
    t.devnm,
    path,
    `hot remove failed for ${path}: No such device or address`,
  );
  const users = await usersOf(kernel, t.devnm, name);
  if (users.length > 0) {
    refuse(
      `hot remove failed for ${path}: Device or resource busy (in use by ` +
        `${users.map((u) => `/dev/${u}`).join(", ")}; fail it there first)`,
    );
  }
  // a working volume member must not leave even if md has already let go of it
  const disks = await containerDisks(kernel, t.devnm, (k) => host.env(k));
  const me = disks.find((d) => d.name === name);
  if (me) {
    const c = await loadContainer(kernel.blocks, disks.map((d) => d.path));
    const rec = c.mpb.disks.find((d) => diskSerial(d) === me.serial);
    const inVolume = rec !== undefined && (rec.status & 0x04) === 0 &&
      c.mpb.volumes.some((v) => v.maps[0].ord.some((o) => c.mpb.disks[o & 0xffffff] === rec));
    if (inVolume) {
      refuse(`hot remove failed for ${path}: Device or resource busy (a working volume member)`);
    }
  }
  await kernel.array(t.devnm).member(name).setState("remove");
  await pingMonitor(host, t.devnm);
  return `hot removed ${path} from ${device}`;
}

async function failInMember(
  kernel: Kernel,
  host: Host,
  t: Target,
  device: string,
  path: string,
): Promise<string> {
  const name = await memberNameOf(
    kernel,
    host,
    t.devnm,
    path,
    `set device faulty failed for ${path}:  No such device`,
  );
  await kernel.array(t.devnm).member(name).setState("faulty");
  // the monitor records the failure in the metadata on its next pass; wait for it
  await pingMonitor(host, t.container);
  return `set ${path} faulty in ${device}`;
}

export async function manage(
  kernel: Kernel,
  host: Host,
  req: ManageRequest,
): Promise<ManageOutcome> {
  const t = await target(kernel, host, req.device);
  const messages: string[] = [];
  const push = (m: string) => {
    messages.push(m);
    req.say?.(m);
  };
  for (const op of req.ops) {
    if (op.target.kind !== "device") {
      refuse(`--${op.action} ${op.target.kind} is not supported by mdts; name the device`);
    }
    const path = op.target.path;
    if (t.kind === "member") {
      if (op.action === "add" || op.action === "add-spare" || op.action === "re-add") {
        refuse(
          `Cannot add disks to a 'member' array, perform this operation on the parent container`,
        );
      }
      if (op.action === "remove") {
        refuse(
          `Cannot remove disks from a 'member' array, perform this operation on the parent ` +
            `container`,
        );
      }
      if (op.action === "fail") {
        push(await failInMember(kernel, host, t, req.device, path));
        continue;
      }
    } else {
      if (op.action === "add" || op.action === "add-spare") {
        push(await addToContainer(kernel, host, t, req.device, path));
        continue;
      }
      if (op.action === "remove") {
        push(await removeFromContainer(kernel, host, t, req.device, path));
        continue;
      }
      if (op.action === "fail") {
        refuse(
          `Cannot fail a disk of a container (${req.device}); fail it in its volume instead`,
        );
      }
    }
    refuse(`--${op.action} is not supported by mdts on ${req.device}`);
  }
  return { messages };
}
