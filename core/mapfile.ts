/**
 * /run/mdadm/map as mdadm 4.2 keeps it (spec md-kernel.md section 5): one line per running
 * array, "DEVNM METADATA UUID PATH". Members of a container carry "/mdX/N" as metadata.
 * Parsing and rendering are pure; updates go through the Host under the map lock.
 */
import type { Host } from "./lifecycle/host.ts";

export interface MapEntry {
  devnm: string;
  /** "imsm" for a container, "/md127/0" for a member, "1.2" for native arrays. */
  metadata: string;
  /** mdadm's %08x:%08x:%08x:%08x form. */
  uuid: string;
  /** /dev/md/NAME, or "" when none was chosen. */
  path: string;
}

export function parseMap(text: string): MapEntry[] {
  const out: MapEntry[] = [];
  for (const line of text.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words.length < 3 || !/^md/.test(words[0])) continue;
    out.push({ devnm: words[0], metadata: words[1], uuid: words[2], path: words[3] ?? "" });
  }
  return out;
}

export function renderMap(entries: MapEntry[]): string {
  return entries.map((e) => `${e.devnm} ${e.metadata} ${e.uuid} ${e.path}\n`).join("");
}

/** Puts `entry` first (mdadm adds new arrays at the head), replacing one with the same devnm. */
export function withEntry(entries: MapEntry[], entry: MapEntry): MapEntry[] {
  return [entry, ...entries.filter((e) => e.devnm !== entry.devnm)];
}

export function withoutEntry(entries: MapEntry[], devnm: string): MapEntry[] {
  return entries.filter((e) => e.devnm !== devnm);
}

export async function readMapEntries(host: Host): Promise<MapEntry[]> {
  return parseMap((await host.readMap()) ?? "");
}

/** Read-modify-write of the map file; the caller holds the map lock. */
export async function updateMap(
  host: Host,
  change: (entries: MapEntry[]) => MapEntry[],
): Promise<void> {
  await host.writeMap(renderMap(change(await readMapEntries(host))));
}
