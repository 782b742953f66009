/** `--examine` / `-E`: metadata of member disks as mdadm 4.2 prints it (plus our --json). */
import type { ExamineCommand } from "./command.ts";
import type { Io, System } from "./run.ts";
import { examineDevices } from "../core/examine.ts";
import { renderExamine } from "./render/examine_text.ts";
import { renderExamineBrief } from "./render/examine_brief.ts";
import { renderExamineJson } from "./render/examine_json.ts";
import { ImsmFormatError } from "../meta/imsm/errors.ts";
import { KernelError } from "../kernel/errno.ts";
import { serialForImsm } from "../kernel/devices.ts";

export async function runExamine(
  cmd: ExamineCommand,
  prog: string,
  system: System,
  io: Io,
): Promise<number> {
  const kernel = system.kernel();
  let devices = cmd.devices;
  if (devices.length === 0 && cmd.scan) {
    // As mdadm: every block device the kernel lists, last first (it walks /proc/partitions
    // backwards), md devices excluded.
    devices = (await kernel.devices())
      .filter((d) => !d.name.startsWith("md"))
      .map((d) => kernel.devPath(d.name))
      .reverse();
  }
  if (devices.length === 0) {
    io.err(`${prog}: No devices to examine\n`);
    return 2;
  }
  const serialOf = async (device: string): Promise<string | null> => {
    try {
      const real = await Deno.realPath(device);
      // Image files stand in for disks in tests: they get the devname serial of their basename.
      const name = real.slice(real.lastIndexOf("/") + 1);
      const info = real.startsWith("/dev/") ? await kernel.device(name) : null;
      if (info === null) return `/dev/${name}`.slice(0, 15);
      return serialForImsm(info, system.env)?.serial ?? null;
    } catch {
      return null; // unknown serial: the disk is then shown as not in the table, as mdadm does
    }
  };
  const examined = await examineDevices(kernel.blocks, devices, { serialOf });
  let status = 0;
  const good = examined.filter((e) => e.metadata !== null);
  for (const e of examined) {
    if (e.metadata !== null) continue;
    status = 1;
    if (cmd.scan && cmd.devices.length === 0) continue; // a scan skips foreign devices quietly
    io.err(`${prog}: ${failureText(e.device, e.error, cmd.ctx.verbose)}\n`);
  }
  if (cmd.json) {
    io.out(renderExamineJson(examined));
  } else if (cmd.brief) {
    io.out(renderExamineBrief(good, { verbose: cmd.ctx.verbose > 0 }));
    return cmd.scan && cmd.devices.length === 0 ? 0 : status;
  } else {
    for (const e of good) io.out(renderExamine(e));
  }
  return cmd.scan && cmd.devices.length === 0 ? 0 : status;
}

function failureText(device: string, error: Error | null, verbose: number): string {
  if (error instanceof KernelError && error.operation === "opening") {
    return `cannot open ${device}: ${error.message.replace(/^.*?: /, "")}`;
  }
  if (error instanceof ImsmFormatError) {
    // mdadm says only this; with -v we add what exactly was wrong.
    const base = `No md superblock detected on ${device}.`;
    return verbose > 0 ? `${base}\n${error.message}` : base;
  }
  return `cannot examine ${device}: ${error?.message ?? "unknown error"}`;
}
