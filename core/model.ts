/**
 * Containers, volumes and members as mdts sees them: the md devices the kernel runs (sysfs,
 * /proc/mdstat) joined with what the IMSM metadata says. Read-only.
 */
import type { Kernel } from "../kernel/interface.ts";
import type { MdstatArray } from "../kernel/md/mdstat.ts";
import { parseMetadataVersion } from "../kernel/md/sysfs.ts";
import { type ImsmContainer } from "../meta/imsm/edit/container.ts";
import { loadContainer } from "./imsm/store.ts";

export interface RunningMember {
  /** Kernel name of the component ("vda"). */
  name: string;
  majMin: string;
  /** Kernel descriptor number (the number in brackets in /proc/mdstat). */
  descriptor: number | null;
  slot: number | null;
  /** dev-*\/state flags. */
  state: string[];
}

export interface RunningContainer {
  kind: "container";
  devnm: string;
  /** Metadata name after "external:" ("imsm"). */
  format: string;
  members: RunningMember[];
}

export interface RunningVolume {
  kind: "volume";
  devnm: string;
  /** Container devnm and subarray index from metadata_version. */
  container: string;
  subarray: string;
  members: RunningMember[];
  mdstat: MdstatArray | null;
}

export type RunningArray = RunningContainer | RunningVolume;

async function membersOf(kernel: Kernel, devnm: string, md: MdstatArray | null) {
  const out: RunningMember[] = [];
  const array = kernel.array(devnm);
  for (const m of await array.members()) {
    const descriptor = md?.members.find((x) => x.name === m.name)?.descriptor ?? null;
    let slot: number | null = null;
    let state: string[] = [];
    let majMin = "";
    try {
      slot = await m.slot();
      state = await m.state();
      majMin = await m.blockDev();
    } catch {
      // a component vanishing while we look is reported without its details
    }
    out.push({ name: m.name, majMin, descriptor, slot, state });
  }
  return out;
}

/** Every external-metadata md device the kernel runs (containers and their volumes). */
export async function runningArrays(kernel: Kernel): Promise<RunningArray[]> {
  const mdstat = await kernel.mdstat().catch(() => null);
  const out: RunningArray[] = [];
  for (const devnm of await kernel.md.arrays()) {
    const text = await kernel.md.read(devnm, "metadata_version");
    if (text === null) continue;
    const v = parseMetadataVersion(text.trim());
    const md = mdstat?.arrays.find((a) => a.devnm === devnm) ?? null;
    if (v.kind === "external-container") {
      const state = await kernel.md.read(devnm, "array_state");
      if (state === "clear") continue;
      out.push({
        kind: "container",
        devnm,
        format: v.name,
        members: await membersOf(kernel, devnm, md),
      });
    } else if (v.kind === "external-member") {
      out.push({
        kind: "volume",
        devnm,
        container: v.container,
        subarray: v.subarray,
        members: await membersOf(kernel, devnm, md),
        mdstat: md,
      });
    }
  }
  return out;
}

export async function runningContainer(
  kernel: Kernel,
  devnm: string,
): Promise<RunningContainer | null> {
  const found = (await runningArrays(kernel)).find((a) => a.devnm === devnm);
  return found?.kind === "container" ? found : null;
}

export async function volumesOf(kernel: Kernel, container: string): Promise<RunningVolume[]> {
  return (await runningArrays(kernel)).filter((a): a is RunningVolume =>
    a.kind === "volume" && a.container === container
  );
}

/** The container's metadata as read from its component disks (newest generation wins). */
export async function containerMetadata(
  kernel: Kernel,
  container: RunningContainer,
): Promise<ImsmContainer> {
  return await loadContainer(kernel.blocks, container.members.map((m) => kernel.devPath(m.name)));
}
