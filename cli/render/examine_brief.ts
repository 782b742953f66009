/**
 * `mdadm --examine --brief` / `--examine --scan` ARRAY lines for IMSM devices, grouped as
 * mdadm 4.2 groups them: devices are taken in the order given (for `--scan` mdadm walks
 * /proc/partitions bottom-up), a device joins the first group whose metadata "matches",
 * and groups print newest first (mdadm pushes each new group at the head of its list).
 */
import type { ExaminedDevice } from "../../core/examine.ts";
import { cString, identityFamily, isJournal, isSpare } from "../../meta/imsm/accessors.ts";
import type { ImsmSuper } from "../../meta/imsm/model.ts";
import { containerUuid, volumeUuid } from "../../meta/imsm/uuid.ts";

export interface RenderBriefOptions {
  /** `--verbose`: adds a "   devices=..." line and a blank line after each group. */
  verbose?: boolean;
}

interface Group {
  first: ExaminedDevice & { metadata: NonNullable<ExaminedDevice["metadata"]> };
  devices: string[];
  spares: number;
}

/**
 * Whether two MPBs belong to the same group (mdadm *compare_super_imsm* without the HBA
 * test): populated containers match on the 32 signature bytes and identity family; then
 * the volume counts must be equal (so free spares group only with free spares).
 */
export function sameContainer(a: ImsmSuper, b: ImsmSuper): boolean {
  if (a.numRaidDevs > 0 && b.numRaidDevs > 0) {
    for (let i = 0; i < 32; i++) if (a.signature[i] !== b.signature[i]) return false;
    if (identityFamily(a) !== identityFamily(b)) return false;
  }
  return (a.numRaidDevs ^ b.numRaidDevs) === 0;
}

export function renderExamineBrief(
  devices: ExaminedDevice[],
  opts: RenderBriefOptions = {},
): string {
  const groups: Group[] = [];
  for (const e of devices) {
    const meta = e.metadata;
    if (!meta) continue;
    let g = groups.find((x) => sameContainer(x.first.metadata.mpb, meta.mpb));
    if (!g) {
      g = { first: { ...e, metadata: meta }, devices: [], spares: 0 };
      groups.unshift(g);
    }
    // A device counts as spare when its own record is a spare or journal (no "in sync").
    const rec = e.thisDisk?.record;
    if (rec && (isSpare(rec) || isJournal(rec))) g.spares++;
    g.devices.push(e.device);
  }
  let s = "";
  for (const g of groups) {
    const mpb = g.first.metadata.mpb;
    const container = containerUuid(mpb);
    s += `ARRAY metadata=imsm UUID=${container}\n`;
    if (opts.verbose) s += `   devices=${g.devices.join(",")}\n`;
    mpb.volumes.forEach((vol, i) => {
      s += `ARRAY /dev/md/${cString(vol.volume)} container=${container} member=${i} UUID=${
        volumeUuid(mpb, i)
      }\n`;
    });
    if (g.spares > 0 || opts.verbose) s += "\n";
  }
  return s;
}
