/**
 * `--stop`: a volume is made inactive, the monitor pinged (so it records the volume clean and
 * lets go), then stopped; a container only once none of its volumes runs (traces 06, 07).
 */
import type { Kernel } from "../../kernel/interface.ts";
import { isErrno } from "../../kernel/errno.ts";
import { readMapEntries, updateMap, withoutEntry } from "../mapfile.ts";
import { type RunningArray, runningArrays } from "../model.ts";
import type { Host } from "./host.ts";
import { LifecycleError, refuse } from "./errors.ts";
import { mdDevnmOf, underMapLock } from "./devices.ts";
import { pingMonitor } from "./monitor_client.ts";

const STOP_RETRY_MS = 200;
const CONTAINER_STOP_ATTEMPTS = 150;
const VOLUME_STOP_ATTEMPTS = 1;

export interface StopResult {
  messages: string[];
  /** mdadm's status: 1 when any array could not be stopped. */
  status: number;
}

export async function stopDevices(
  kernel: Kernel,
  host: Host,
  devices: string[],
): Promise<StopResult> {
  const messages: string[] = [];
  let status = 0;
  for (const path of devices) {
    try {
      const devnm = await mdDevnmOf(kernel, host, path);
      if (devnm === null) refuse(`error opening ${path}: No such file or directory`);
      const arrays = await runningArrays(kernel);
      const a = arrays.find((x) => x.devnm === devnm);
      if (a === undefined) refuse(`${path} is not an IMSM container or volume mdts manages`);
      await stopOne(kernel, host, a, arrays, path);
      messages.push(`stopped ${path}`);
    } catch (e) {
      if (!(e instanceof LifecycleError)) throw e;
      messages.push(e.message);
      status = 1;
    }
  }
  return { messages, status };
}

/** `--stop --scan`: every volume, then every container. */
export async function stopAll(kernel: Kernel, host: Host): Promise<StopResult> {
  const messages: string[] = [];
  let status = 0;
  const map = await readMapEntries(host);
  const arrays = await runningArrays(kernel);
  const ordered = [
    ...arrays.filter((a) => a.kind === "volume"),
    ...arrays.filter((a) => a.kind === "container"),
  ];
  for (const a of ordered) {
    const name = map.find((e) => e.devnm === a.devnm)?.path || `/dev/${a.devnm}`;
    try {
      await stopOne(kernel, host, a, await runningArrays(kernel), name);
      messages.push(`stopped ${name}`);
    } catch (e) {
      if (!(e instanceof LifecycleError)) throw e;
      messages.push(e.message);
      status = 1;
    }
  }
  return { messages, status };
}

async function stopOne(
  kernel: Kernel,
  host: Host,
  a: RunningArray,
  all: RunningArray[],
  display: string,
): Promise<void> {
  if (a.kind === "container") {
    const busy = all.filter((x) => x.kind === "volume" && x.container === a.devnm);
    if (busy.length > 0) {
      refuse(
        `Cannot stop container ${display}: member ${busy.map((v) => v.devnm).join(", ")} ` +
          `still active; stop the volumes first`,
      );
    }
  } else {
    const level = await kernel.md.read(a.devnm, "level");
    if (level !== "raid0" && (await host.monitorRunning(a.container))) {
      try {
        await kernel.array(a.devnm).setArrayState("inactive");
      } catch (e) {
        if (!isErrno(e, "EBUSY")) throw e;
        busyRefusal(display);
      }
      await pingMonitor(host, a.container);
    }
  }
  // The monitor holds the container open until it notices that its last volume stopped; on a
  // loaded machine that takes seconds, so a container gets 30 s of retries (a volume 5 s).
  const attempts = a.kind === "container" ? CONTAINER_STOP_ATTEMPTS : VOLUME_STOP_ATTEMPTS;
  for (let attempt = 0;; attempt++) {
    try {
      await kernel.stopArray(a.devnm);
      break;
    } catch (e) {
      // the monitor may have cleared an inactive volume itself, and the kernel then drops
      // the device (and its /dev node) before our STOP_ARRAY gets to it
      if (await gone(kernel, a.devnm)) break;
      if (!isErrno(e, "EBUSY")) throw e;
      if (attempt + 1 >= attempts) busyRefusal(display);
      await host.sleep(STOP_RETRY_MS);
    }
  }
  await underMapLock(host, async () => {
    const entry = (await readMapEntries(host)).find((e) => e.devnm === a.devnm);
    if (entry?.path.startsWith("/dev/md/")) {
      await host.removeMdLink(entry.path.slice("/dev/md/".length), kernel.devPath(a.devnm));
    }
    await updateMap(host, (all) => withoutEntry(all, a.devnm));
  });
}

async function gone(kernel: Kernel, devnm: string): Promise<boolean> {
  const state = await kernel.md.read(devnm, "array_state").catch(() => null);
  return state === null || state === "clear";
}

function busyRefusal(display: string): never {
  refuse(
    `Cannot get exclusive access to ${display}:Perhaps a running process, mounted filesystem ` +
      `or active volume group?`,
  );
}
