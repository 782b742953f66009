/** Creating md devices and their names: devnm choice, /dev node, /dev/md link, map entry. */
import type { Kernel } from "../../kernel/interface.ts";
import { pickFreeDevnm } from "../../kernel/md/create.ts";
import type { MdArray } from "../../kernel/md/sysfs.ts";
import { type MapEntry, readMapEntries, updateMap, withEntry } from "../mapfile.ts";
import type { Host } from "./host.ts";
import { parseRequestedName, type RequestedName } from "./names.ts";
import { refuse } from "./errors.ts";

/** What `md device` on a command line resolves to when it does not exist yet. */
export async function checkNewName(
  kernel: Kernel,
  host: Host,
  text: string,
): Promise<RequestedName> {
  const req = parseRequestedName(text);
  const inUse = new Set(await kernel.md.arrays());
  if (req.devnm !== null && inUse.has(req.devnm)) {
    const state = await kernel.md.read(req.devnm, "array_state");
    if (state !== null && state !== "clear") {
      refuse(`${req.display} is already in use (array ${req.devnm} is running); stop it first`);
    }
  }
  if (req.link !== null) {
    const target = await host.readLink(`/dev/md/${req.link}`);
    const devnm = target?.replace(/^.*\//, "") ?? null;
    if (devnm !== null && inUse.has(devnm)) {
      const state = await kernel.md.read(devnm, "array_state");
      if (state !== null && state !== "clear") {
        refuse(
          `${req.display} is already in use (it names running array ${devnm}); choose another name`,
        );
      }
    }
  }
  return req;
}

/**
 * Creates the md device and its names under the map lock the caller holds: the devnm (given,
 * or the first free one not in the map), the /dev/md link, the map entry.
 */
export async function createMdDevice(
  kernel: Kernel,
  host: Host,
  req: RequestedName,
  metadata: string,
  uuid: string,
): Promise<{ array: MdArray; devnm: string; path: string }> {
  const mapped = (await readMapEntries(host)).map((e) => e.devnm);
  const devnm = req.devnm ?? await pickFreeDevnm(kernel.md, mapped);
  const array = await kernel.createArray(devnm);
  const path = req.link !== null ? `/dev/md/${req.link}` : `/dev/${devnm}`;
  if (req.link !== null) await host.makeMdLink(req.link, kernel.devPath(devnm));
  const entry: MapEntry = { devnm, metadata, uuid, path: req.link !== null ? path : "" };
  await updateMap(host, (all) => withEntry(all, entry));
  return { array, devnm, path };
}

/** Runs `body` holding the map lock. */
export async function underMapLock<T>(host: Host, body: () => Promise<T>): Promise<T> {
  const unlock = await host.lockMap();
  try {
    return await body();
  } finally {
    await unlock();
  }
}

/** Kernel name of an md device path (/dev/md/imsm0, /dev/md127, md127); null if not md. */
export async function mdDevnmOf(kernel: Kernel, host: Host, text: string): Promise<string | null> {
  if (/^md\d+$/.test(text)) return text;
  const path = text.startsWith("/") ? text : `/dev/md/${text}`;
  const real = await host.realPath(path);
  if (real === null) return null;
  const name = real.replace(/^\/dev\//, "");
  if (!/^md/.test(name)) return null;
  return (await kernel.md.read(name, "array_state")) === null ? null : name;
}
