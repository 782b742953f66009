/**
 * `--wait`: blocks until the resync, recovery or reshape of each array has ended, then pings
 * the monitor so the metadata records it. Status 0 when it waited, 1 when nothing ran.
 */
import type { Kernel } from "../../kernel/interface.ts";
import { runningArrays } from "../model.ts";
import type { Host } from "./host.ts";
import { refuse } from "./errors.ts";
import { mdDevnmOf } from "./devices.ts";
import { pingMonitor } from "./monitor_client.ts";

export async function waitForSync(
  kernel: Kernel,
  host: Host,
  path: string,
  timeoutMs = 24 * 3600_000,
): Promise<number> {
  const devnm = await mdDevnmOf(kernel, host, path);
  if (devnm === null) refuse(`cannot open ${path}: No such file or directory`);
  const busy = async () => {
    const a = (await kernel.mdstat()).arrays.find((x) => x.devnm === devnm);
    return a?.progress?.state === "running" || a?.progress?.state === "delayed";
  };
  if (!(await busy())) return 1;
  const watcher = await kernel.watchMdstat();
  const deadline = Date.now() + timeoutMs;
  try {
    while ((await busy()) && Date.now() < deadline) await watcher.wait(1000);
  } finally {
    watcher.close();
  }
  const a = (await runningArrays(kernel)).find((x) => x.devnm === devnm);
  if (a?.kind === "volume") await pingMonitor(host, a.container);
  return 0;
}
