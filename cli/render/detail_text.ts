/** `--detail` text as mdadm 4.2 prints it for IMSM containers and volumes (and --brief). */
import type {
  ContainerDetail,
  Detail,
  DetailMember,
  VolumeDetail,
} from "../../core/lifecycle/detail.ts";
import { humanSize } from "./examine_text.ts";

function line(label: string, value: string): string {
  return `${label.padStart(18)} : ${value}\n`;
}

const p5 = (v: string | number) => String(v).padStart(5);

function row(num: string | number, m: DetailMember, raid: string | number, states: string[]) {
  const words = states.map((s) => ` ${s}`).join("");
  return `   ${p5(num)}   ${p5(m.major)}    ${p5(m.minor)}    ${
    p5(raid)
  }     ${words}   /dev/${m.name}\n`;
}

function renderContainer(d: ContainerDetail): string {
  let out = `${d.path}:\n`;
  out += line("Version", "imsm");
  out += line("Raid Level", "container");
  out += line("Total Devices", String(d.members.length));
  out += "\n";
  out += line("Working Devices", String(d.members.length));
  out += "\n\n";
  out += line("UUID", d.uuid);
  out += line("Member Arrays", d.memberArrays.join(" "));
  out += "\n    Number   Major   Minor   RaidDevice\n\n";
  for (const m of d.members) {
    out += `   ${p5("-")}   ${p5(m.major)}    ${p5(m.minor)}    ${p5("-")}        /dev/${m.name}\n`;
  }
  return out;
}

const LAYOUTS: Record<string, Record<number, string>> = {
  raid5: { 0: "left-asymmetric", 1: "right-asymmetric", 2: "left-symmetric", 3: "right-symmetric" },
  raid10: { 0x102: "near=2" },
};

function stateText(d: VolumeDetail): string {
  const s = d.arrayState;
  const words = [
    s === "active" || s === "write-pending" || s === "active-idle" ? "active" : "clean",
  ];
  if (d.degraded > 0) words.push("degraded");
  const prog = d.mdstat?.progress;
  if (prog) {
    const verb = {
      resync: "resyncing",
      recovery: "recovering",
      reshape: "reshaping",
      check: "checking",
      repair: "repairing",
    }[prog.action];
    const mark = prog.state === "delayed"
      ? " (DELAYED)"
      : prog.state === "pending"
      ? " (PENDING)"
      : "";
    words.push(verb + mark);
  }
  return words.join(", ") + " ";
}

function memberStates(d: VolumeDetail, m: DetailMember): string[] {
  const out: string[] = [];
  if (m.state.includes("faulty")) out.push("faulty");
  else if (m.state.includes("in_sync")) out.push("active", "sync");
  else if (m.slot !== null) out.push("spare", "rebuilding");
  else out.push("spare");
  if (d.level === "raid10" && m.slot !== null && m.state.includes("in_sync")) {
    out.push(m.slot % 2 === 0 ? "set-A" : "set-B");
  }
  return out;
}

function renderVolume(d: VolumeDetail): string {
  const inSync = d.members.filter((m) => m.state.includes("in_sync")).length;
  const failed = d.members.filter((m) => m.state.includes("faulty")).length;
  const spares = d.members.length - inSync - failed;
  let out = `${d.path}:\n`;
  out += line("Container", `${d.containerPath}, member ${d.member}`);
  out += line("Raid Level", d.level);
  out += line("Array Size", `${d.arrayKiB}${humanSize(d.arrayKiB * 1024n)}`);
  if (d.level !== "raid0") {
    out += line("Used Dev Size", `${d.componentKiB}${humanSize(d.componentKiB * 1024n)}`);
  }
  out += line("Raid Devices", String(d.raidDisks));
  out += line("Total Devices", String(d.members.length));
  out += "\n";
  out += line("State", stateText(d));
  out += line("Active Devices", String(inSync));
  out += line("Working Devices", String(d.members.length - failed));
  out += line("Failed Devices", String(failed));
  if (spares > 0) out += line("Spare Devices", String(spares));
  out += "\n";
  const layout = LAYOUTS[d.level]?.[d.layout];
  if (layout !== undefined) out += line("Layout", layout);
  if (d.level !== "raid1") out += line("Chunk Size", `${d.chunkBytes / 1024}K`);
  if (layout !== undefined || d.level !== "raid1") out += "\n";
  out += line("Consistency Policy", d.level === "raid0" ? "none" : "resync");
  out += "\n";
  const prog = d.mdstat?.progress;
  if (prog && prog.percent !== null) {
    const label = {
      resync: "Resync",
      recovery: "Rebuild",
      reshape: "Reshape",
      check: "Check",
      repair: "Repair",
    }[prog.action];
    out += line(`${label} Status`, `${Math.floor(prog.percent)}% complete`);
  }
  out += "\n";
  out += line("UUID", d.uuid);
  out += "    Number   Major   Minor   RaidDevice State\n";
  const bySlot = [...d.members].sort((a, b) => (a.slot ?? 1e9) - (b.slot ?? 1e9));
  for (let slot = 0; slot < d.raidDisks; slot++) {
    const m = bySlot.find((x) => x.slot === slot);
    if (m === undefined) {
      out += `   ${p5("-")}   ${p5(0)}    ${p5(0)}    ${p5(slot)}      removed\n`;
      continue;
    }
    out += row(m.descriptor ?? slot, m, slot, memberStates(d, m));
  }
  for (const m of bySlot.filter((x) => x.slot === null || x.slot >= d.raidDisks)) {
    out += row(m.descriptor ?? "-", m, "-", memberStates(d, m));
  }
  return out;
}

export function renderDetail(d: Detail): string {
  return d.kind === "container" ? renderContainer(d) : renderVolume(d);
}

/** `--detail --brief`: the ARRAY line mdadm.conf takes. */
export function renderDetailBrief(d: Detail): string {
  if (d.kind === "container") return `ARRAY ${d.mapPath} metadata=imsm UUID=${d.uuid}\n`;
  return `ARRAY ${d.mapPath} container=${d.containerPath} member=${d.member} UUID=${d.uuid}\n`;
}
