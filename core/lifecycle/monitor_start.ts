/** Starting the monitor the way mdadm 4.2 does after it starts an external-metadata array. */
import type { Host } from "./host.ts";
import { pingMonitor } from "./monitor_client.ts";

/** Starts the monitor for `container` unless it runs or MDADM_NO_MDMON is set; error or null. */
export async function ensureMonitor(host: Host, container: string): Promise<string | null> {
  if (host.env("MDADM_NO_MDMON")) return null;
  if (await host.monitorRunning(container)) {
    await pingMonitor(host, container);
    return null;
  }
  return await host.startMonitor(container);
}
