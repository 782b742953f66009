/** `--assemble` as the command line asks for it: named disks, or `--scan`. */
import type { Kernel } from "../../kernel/interface.ts";
import { identityFamily } from "../../meta/imsm/accessors.ts";
import { containerUuid } from "../../meta/imsm/uuid.ts";
import { containerFromDisks } from "../../meta/imsm/edit/container.ts";
import { readMapEntries } from "../mapfile.ts";
import { runningArrays } from "../model.ts";
import type { Host } from "./host.ts";
import { refuse } from "./errors.ts";
import { checkNewName } from "./devices.ts";
import { assembleContainer, type FoundDisk, readCandidates, startVolumes } from "./assemble.ts";
import { type ConfigArray, parseConfigArrays, sameUuid } from "./config.ts";
import { parseRequestedName } from "./names.ts";

export interface AssembleRequest {
  arrays: string[];
  members: string[];
  scan: boolean;
  configFile?: string;
  run: boolean;
}

export interface AssembleResult {
  messages: string[];
  status: number;
}

export async function assemble(
  kernel: Kernel,
  host: Host,
  req: AssembleRequest,
): Promise<AssembleResult> {
  if (!req.scan) {
    const name = await checkNewName(kernel, host, req.arrays[0]);
    if (req.members.length === 0) {
      refuse(`no devices given for ${req.arrays[0]}; list its disks or use --scan`);
    }
    const found = await readCandidates(kernel, host, req.members, false);
    const c = await assembleContainer(kernel, host, found, name);
    const v = await startVolumes(kernel, host, c.devnm, c.mpb, new Map(), req.run);
    return { messages: [...c.messages, ...v.messages], status: v.failed ? 1 : 0 };
  }
  return await assembleScan(kernel, host, req);
}

async function readConfig(host: Host, path?: string): Promise<ConfigArray[]> {
  const text = path !== undefined
    ? await host.readTextFile(path)
    : (await host.readTextFile("/etc/mdadm/mdadm.conf")) ??
      (await host.readTextFile("/etc/mdadm.conf"));
  return text === null ? [] : parseConfigArrays(text);
}

async function assembleScan(
  kernel: Kernel,
  host: Host,
  req: AssembleRequest,
): Promise<AssembleResult> {
  const config = await readConfig(host, req.configFile);
  const candidates = (await kernel.devices())
    .filter((d) => !d.name.startsWith("md") && d.holders.length === 0)
    .map((d) => kernel.devPath(d.name));
  const found = (await readCandidates(kernel, host, candidates, true))
    .filter((f) => f.metadata.mpb.volumes.length > 0);
  const groups = new Map<number, FoundDisk[]>();
  for (const f of found) {
    const fam = identityFamily(f.metadata.mpb);
    groups.set(fam, [...(groups.get(fam) ?? []), f]);
  }
  const messages: string[] = [];
  let any = false;
  let failed = false;
  const map = await readMapEntries(host);
  const running = new Set((await runningArrays(kernel)).map((a) => a.devnm));
  for (const group of groups.values()) {
    const mpb = containerFromDisks(group.map((f) => f.metadata)).mpb;
    const uuid = containerUuid(mpb);
    const conf = config.find((a) =>
      a.uuid !== null && a.container === null && sameUuid(a.uuid, uuid)
    );
    const listed = config.some((a) => a.uuid !== null || a.device !== null);
    if (listed && conf === undefined) continue; // the config names arrays, and not this one
    if (req.arrays.length > 0 && !req.arrays.some((a) => a === conf?.device)) continue;
    const names = new Map<number, string>();
    for (const a of config) {
      if (
        a.container !== null && a.member !== null && a.device !== null &&
        (sameUuid(a.container, uuid) || a.container === conf?.device)
      ) {
        names.set(Number(a.member), a.device);
      }
    }
    const already = map.find((e) =>
      e.metadata === "imsm" && sameUuid(e.uuid, uuid) && running.has(e.devnm)
    );
    let devnm: string;
    if (already !== undefined) {
      devnm = already.devnm;
    } else {
      const name = conf?.device ? parseRequestedName(conf.device) : null;
      const c = await assembleContainer(kernel, host, group, name);
      messages.push(...c.messages);
      devnm = c.devnm;
      any = true;
    }
    const v = await startVolumes(kernel, host, devnm, mpb, names, req.run);
    messages.push(...v.messages);
    if (v.started.length > 0) any = true;
    if (v.failed) failed = true;
  }
  if (!any && messages.length === 0) {
    return { messages: ["No arrays found in config file or automatically"], status: 1 };
  }
  return { messages, status: failed ? 1 : 0 };
}
