/** `--detail --export`: the KEY=value lines udev imports (MD_LEVEL, MD_DEVNAME, ...). */
import type { Detail } from "../../core/lifecycle/detail.ts";
import { sysfsMemberOrder } from "../../core/lifecycle/names.ts";

function devname(path: string): string | null {
  return path.startsWith("/dev/md/") ? path.slice("/dev/md/".length) : null;
}

export function renderDetailExport(d: Detail): string {
  const lines: string[] = [];
  if (d.kind === "container") {
    lines.push("MD_LEVEL=container", `MD_DEVICES=${d.members.length}`, "MD_METADATA=imsm");
    lines.push(`MD_UUID=${d.uuid}`);
  } else {
    lines.push(`MD_LEVEL=${d.level}`, `MD_DEVICES=${d.raidDisks}`);
    lines.push(`MD_CONTAINER=${d.containerPath}`, `MD_MEMBER=${d.member}`, `MD_UUID=${d.uuid}`);
  }
  const name = devname(d.mapPath);
  if (name !== null) lines.push(`MD_DEVNAME=${name}`);
  // components in the order sysfs lists them, as mdadm walks them
  const order = sysfsMemberOrder(d.members.map((m) => m.name));
  for (const name of order) {
    const m = d.members.find((x) => x.name === name)!;
    const key = `MD_DEVICE_dev_${m.name}`;
    const role = d.kind === "volume" && m.slot !== null ? String(m.slot) : "spare";
    lines.push(`${key}_ROLE=${role}`, `${key}_DEV=/dev/${m.name}`);
  }
  return lines.map((l) => l + "\n").join("");
}
