/** `--detail` / `-D`: text, `--export` KEY=value lines, or `--brief` ARRAY lines. */
import type { DetailCommand } from "./command.ts";
import type { Io, System } from "./run.ts";
import { type Detail, detail, detailAll } from "../core/lifecycle/detail.ts";
import { LifecycleError } from "../core/lifecycle/errors.ts";
import { renderDetail, renderDetailBrief } from "./render/detail_text.ts";
import { renderDetailExport } from "./render/detail_export.ts";
import { guarded, hostOf } from "./lifecycle_common.ts";

export function runDetail(cmd: DetailCommand, prog: string, system: System, io: Io) {
  return guarded(io, prog, async () => {
    const kernel = system.kernel(), host = hostOf(system);
    const render = (d: Detail) =>
      cmd.export ? renderDetailExport(d) : cmd.brief ? renderDetailBrief(d) : renderDetail(d);
    if (cmd.devices.length === 0) {
      if (!cmd.scan) {
        io.err(`${prog}: No devices given.\n`);
        return 2;
      }
      for (const d of await detailAll(kernel, host)) io.out(render(d));
      return 0;
    }
    let status = 0;
    for (const path of cmd.devices) {
      try {
        const d = await detail(kernel, host, path);
        io.out(render(d));
        if (cmd.test && d.kind === "volume" && d.degraded > 0) status = Math.max(status, 1);
      } catch (e) {
        if (!(e instanceof LifecycleError)) throw e;
        io.err(`${prog}: ${e.message}\n`);
        status = 1;
      }
    }
    return status;
  });
}
