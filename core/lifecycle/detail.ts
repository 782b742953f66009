/**
 * `--detail` facts of a running container or volume, gathered from sysfs, /proc/mdstat, the
 * map file and the metadata; cli/render/detail_*.ts turns them into mdadm's text.
 */
import type { Kernel } from "../../kernel/interface.ts";
import { containerUuid, volumeUuid } from "../../meta/imsm/uuid.ts";
import type { MdstatArray } from "../../kernel/md/mdstat.ts";
import { readMapEntries } from "../mapfile.ts";
import { containerMetadata, runningArrays, type RunningMember } from "../model.ts";
import type { Host } from "./host.ts";
import { refuse } from "./errors.ts";
import { mdDevnmOf } from "./devices.ts";
import { kernfsNameHash, sysfsMemberOrder } from "./names.ts";

export interface DetailMember {
  name: string;
  major: number;
  minor: number;
  descriptor: number | null;
  slot: number | null;
  state: string[];
}

export interface ContainerDetail {
  kind: "container";
  devnm: string;
  /** The name the user gave (mdadm prints it as given). */
  path: string;
  /** /dev/md/NAME from the map file, or /dev/mdX. */
  mapPath: string;
  uuid: string;
  /** Paths of running member volumes, newest md device first (/proc/mdstat order). */
  memberArrays: string[];
  /** In the order sysfs lists them. */
  members: DetailMember[];
}

export interface VolumeDetail {
  kind: "volume";
  devnm: string;
  path: string;
  mapPath: string;
  containerPath: string;
  containerDevnm: string;
  member: string;
  level: string;
  arrayKiB: bigint;
  componentKiB: bigint;
  raidDisks: number;
  chunkBytes: number;
  layout: number;
  arrayState: string;
  syncAction: string | null;
  degraded: number;
  mdstat: MdstatArray | null;
  uuid: string;
  members: DetailMember[];
}

export type Detail = ContainerDetail | VolumeDetail;

function toMember(m: RunningMember): DetailMember {
  const [major, minor] = m.majMin.split(":").map(Number);
  return { name: m.name, major, minor, descriptor: m.descriptor, slot: m.slot, state: m.state };
}

export async function detail(kernel: Kernel, host: Host, path: string): Promise<Detail> {
  const devnm = await mdDevnmOf(kernel, host, path);
  if (devnm === null) refuse(`cannot open ${path}: No such file or directory`);
  const arrays = await runningArrays(kernel);
  const a = arrays.find((x) => x.devnm === devnm);
  const state = await kernel.md.read(devnm, "array_state");
  if (a === undefined || state === "clear") {
    refuse(`Array associated with md device ${path} does not exist.`);
  }
  const map = await readMapEntries(host);
  const pathOf = (d: string) => map.find((e) => e.devnm === d)?.path || `/dev/${d}`;
  if (a.kind === "container") {
    const c = await containerMetadata(kernel, a);
    const order = sysfsMemberOrder(a.members.map((m) => m.name));
    // mdadm walks /sys/block, which lists names in kernfs hash order (fixture c, VM runs)
    const memberArrays = arrays
      .filter((y) => y.kind === "volume" && y.container === devnm)
      .map((y) => y.devnm)
      .sort((x, y) => {
        const hx = kernfsNameHash(x), hy = kernfsNameHash(y);
        return hx < hy ? -1 : hx > hy ? 1 : 0;
      })
      .map(pathOf);
    return {
      kind: "container",
      devnm,
      path,
      mapPath: pathOf(devnm),
      uuid: containerUuid(c.mpb),
      memberArrays,
      members: order.map((n) => toMember(a.members.find((m) => m.name === n)!)),
    };
  }
  const rc = arrays.find((x) => x.kind === "container" && x.devnm === a.container);
  if (rc === undefined || rc.kind !== "container") {
    refuse(`${path}: its container ${a.container} is not running`);
  }
  const c = await containerMetadata(kernel, rc);
  const index = Number(a.subarray);
  const arr = kernel.array(devnm);
  const arraySize = await arr.arraySize();
  return {
    kind: "volume",
    devnm,
    path,
    mapPath: pathOf(devnm),
    containerPath: pathOf(a.container),
    containerDevnm: a.container,
    member: a.subarray,
    level: await arr.level(),
    arrayKiB: arraySize === "default" ? 0n : arraySize,
    componentKiB: await arr.componentSize(),
    raidDisks: (await arr.raidDisks())?.value ?? 0,
    chunkBytes: (await arr.chunkSize()).value,
    layout: (await arr.layout()).value,
    arrayState: state ?? "",
    syncAction: await arr.syncAction(),
    degraded: (await arr.degraded()) ?? 0,
    mdstat: a.mdstat,
    uuid: c.mpb.volumes[index] ? volumeUuid(c.mpb, index) : "",
    members: a.members.map(toMember),
  };
}

/** Every running container and volume (for --detail --scan): containers first. */
export async function detailAll(kernel: Kernel, host: Host): Promise<Detail[]> {
  const map = await readMapEntries(host);
  const arrays = await runningArrays(kernel);
  const out: Detail[] = [];
  for (
    const a of [
      ...arrays.filter((x) => x.kind === "container"),
      ...arrays.filter((x) => x.kind === "volume"),
    ]
  ) {
    const path = map.find((e) => e.devnm === a.devnm)?.path || `/dev/${a.devnm}`;
    out.push(await detail(kernel, host, kernel.devPath(a.devnm)).then((d) => ({ ...d, path })));
  }
  return out;
}
