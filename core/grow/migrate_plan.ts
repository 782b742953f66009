/**
 * The plan of a volume migration (`--grow /dev/md/VOLUME --level=L` / `--chunk=K`): the
 * checks mdadm 4.2 applies to IMSM volumes (imsm_analyze_change and Grow_reshape; spec
 * imsm-reshape.md §3), then the same per-volume plan shape as a container OCE so the
 * checkpointed window driver (run.ts) carries it out. Pure: the kernel facts come in as data.
 *
 * What runs: chunk-size migration of raid0 and raid5 (a same-size reshape, raid0 taken over
 * to raid4 parity-last for it), raid0 -> raid5 with a spare (a checkpointed reshape), and the
 * takeovers raid10/raid1 -> raid0 and raid0 -> raid10 (no data moves; migrate_takeover.ts).
 * The changes mdadm refuses are refused with its reason.
 */
import type { ImsmContainer } from "../../meta/imsm/edit/container.ts";
import type { ImsmVolume } from "../../meta/imsm/model.ts";
import { MAP_STATE } from "../../meta/imsm/constants.ts";
import {
  diskSerial,
  isFailed,
  ordIndex,
  raidLevel,
  volumeInGeneralMigration,
  volumeName,
} from "../../meta/imsm/accessors.ts";
import { copyAreaPba, dataDisks as imsmDataDisks } from "../../meta/imsm/sizes.ts";
import { beginMigration, componentSectors } from "../../meta/imsm/edit/migration.ts";
import { diskSectors, mapPba, volumeSectors } from "../../meta/imsm/edit/records.ts";
import { ALGORITHM } from "../restripe/layout.ts";
import { migrationGeometry } from "./geometry.ts";
import type { ReshapeMigration } from "./monitor_link.ts";
import type { TakeoverPlan } from "./migrate_takeover.ts";
import { checkpointUnit, criticalUnits, DEFAULT_TUNING, nextWindow } from "./window.ts";
import type { WindowTuning } from "./window.ts";
import { minimumSpareSectors } from "./plan.ts";
import type {
  Geometry,
  GrowFacts,
  GrowPlan,
  RefusalCode,
  SpareFact,
  Step,
  VolumePlan,
} from "./plan.ts";

/** What the user asked of one volume. */
export interface MigrationRequest {
  /** Index of the volume in the container (its subarray number). */
  volumeIndex: number;
  /** The device as the user named it, for messages. */
  device: string;
  level?: number;
  chunkKiB?: number;
  /** Raw --layout text. */
  layout?: string;
  raidDevices?: number;
  /** --size / --array-size given too. */
  sizeGiven?: boolean;
  tuning?: WindowTuning;
}

export type MigrationPlan = GrowPlan & { change: ReshapeMigration };

export interface MigrationRefusal {
  code: RefusalCode | MigrationRefusalCode;
  /** mdadm-style sentence, without the program prefix. */
  message: string;
}

export type MigrationDecision =
  | { ok: true; plan: MigrationPlan; takeover?: undefined }
  | { ok: true; takeover: TakeoverPlan; plan?: undefined }
  | { ok: false; refusals: MigrationRefusal[] };

function no(code: MigrationRefusal["code"], message: string): MigrationDecision {
  return { ok: false, refusals: [{ code, message }] };
}

export type MigrationRefusalCode =
  | "level-change"
  | "layout-change"
  | "chunk-change"
  | "several-changes"
  | "single-volume"
  | "not-in-mdts-yet"
  | "no-change";

/** --layout names of md's raid5 left-asymmetric algorithm (mdadm's r5layout table). */
const LEFT_ASYMMETRIC_NAMES: ReadonlySet<string> = new Set([
  "left-asymmetric",
  "la",
  "ddf-N-restart",
]);

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Every reason the volume cannot start a migration now (state, not the change asked). */
function stateRefusals(
  c: ImsmContainer,
  facts: GrowFacts,
  index: number,
  what: string,
): MigrationRefusal[] {
  const out: MigrationRefusal[] = [];
  const vol = c.mpb.volumes[index];
  const name = volumeName(vol);
  const running = volumeInGeneralMigration(c.mpb);
  if (running) {
    out.push({
      code: "migration-running",
      message:
        `cannot ${what} of volume ${name}: volume ${
          volumeName(running.volume)
        } is already migrating (a reshape is recorded in the metadata); one migration at a ` +
        `time: wait for it to finish or continue it with --grow --continue`,
    });
  } else if (vol.migrState !== 0) {
    out.push({
      code: "migration-running",
      message: `cannot ${what} of volume ${name}: it is already migrating (migr_type ` +
        `${vol.migrType}: resync, rebuild or initialisation); wait until it has finished`,
    });
  }
  const map = vol.maps[0];
  const failed = map.ord.some((o) => {
    const d = c.mpb.disks[ordIndex(o)];
    return d === undefined || isFailed(d);
  });
  if (map.mapState !== MAP_STATE.NORMAL || failed) {
    out.push({
      code: "degraded",
      message: `cannot ${what} of volume ${name}: it is not in a normal state (map state ` +
        `${map.mapState}${failed ? ", a member failed" : ""}); rebuild it first`,
    });
  }
  const dev = facts.volumeDevices[index] ?? null;
  if (dev === null) {
    out.push({
      code: "not-assembled",
      message: `cannot ${what} of volume ${name}: it is not assembled; assemble it first`,
    });
  }
  for (const busy of facts.busy) {
    out.push({
      code: "busy",
      message: `cannot ${what} of volume ${name}: /dev/${busy} is busy (resync, recovery or ` +
        `reshape running, or blocked); wait until it is idle`,
    });
  }
  return out;
}

function geometry(level: number, members: number, chunkSectors: number): Geometry {
  const l = level as 0 | 1 | 5 | 10;
  return {
    level,
    members,
    chunkKiB: chunkSectors / 2,
    layout: level === 5 ? ALGORITHM.LEFT_ASYMMETRIC : level === 10 ? 0x102 : 0,
    dataDisks: imsmDataDisks(l, members),
  };
}

/** Decides a volume migration: the plan, or the reason mdadm 4.2 (or mdts) refuses it. */
export function planMigration(
  c: ImsmContainer,
  facts: GrowFacts,
  req: MigrationRequest,
): MigrationDecision {
  const vol: ImsmVolume | undefined = c.mpb.volumes[req.volumeIndex];
  if (!vol) {
    return no(
      "no-volume",
      `${req.device}: the container has no volume with index ${req.volumeIndex}`,
    );
  }
  const name = volumeName(vol);
  const map = vol.maps[0];
  const level = raidLevel(map);
  const members = map.numMembers;
  const chunkKiB = map.blocksPerStrip / 2;
  const dev = req.device;
  const levelChange = req.level !== undefined && req.level !== level;
  const chunkChange = req.chunkKiB !== undefined && req.chunkKiB !== chunkKiB;
  const disksChange = req.raidDevices !== undefined && req.raidDevices !== members;

  if (req.sizeGiven && (levelChange || chunkChange)) {
    return no(
      "several-changes",
      `Error. Size change should be the only one at a time (${dev}: change the size, the ` +
        `level and the chunk in separate --grow commands)`,
    );
  }
  if (disksChange && !levelChange) {
    return no(
      "level",
      `--raid-devices operation can be performed on a container only (${dev} is volume ` +
        `${name}; grow its container to add disks)`,
    );
  }
  if (levelChange) {
    const to = req.level!;
    if (chunkChange) {
      return no(
        "several-changes",
        `Cannot change array level in the same operation as changing chunk size (${dev}: ` +
          `raid${level} -> raid${to}, chunk ${chunkKiB}K -> ${req.chunkKiB}K); do one, then ` +
          `the other`,
      );
    }
    const supported = (level === 0 && (to === 5 || to === 10)) ||
      ((level === 1 || level === 10) && to === 0);
    if (!supported) {
      return no(
        "level-change",
        `Error. Level Migration from ${level} to ${to} not supported! (${dev}, volume ${name}` +
          `, raid${level} with ${members} disks: IMSM volumes can only change raid0 -> raid5, ` +
          `raid0 -> raid10, raid10 -> raid0 and raid1 -> raid0)`,
      );
    }
    if (c.mpb.volumes.length > 1) {
      return no(
        "single-volume",
        `Error. Cannot perform operation on ${dev}- for this operation it MUST be single ` +
          `array in container (volume ${name}, raid${level} -> raid${to}; the container holds ` +
          `${c.mpb.volumes.length} volumes)`,
      );
    }
    // mdadm 4.2 asks for --layout=left-asymmetric (IMSM's only raid5 layout) with --level=5 and
    // refuses the request without it; mdts takes the missing layout as that one, and refuses
    // any other as mdadm does
    if (req.layout !== undefined) {
      if (to !== 5) {
        return no(
          "layout-change",
          `layout not meaningful with this level (${dev}: raid${level} -> raid${to}, ` +
            `--layout=${req.layout}); leave --layout out`,
        );
      }
      if (!LEFT_ASYMMETRIC_NAMES.has(req.layout)) {
        return no(
          "layout-change",
          `Error. Requested Layout not supported (left-asymmetric layout is supported only)! ` +
            `(${dev}: raid0 -> raid5 with --layout=${req.layout}; IMSM raid5 is ` +
            `left-asymmetric: give --layout=left-asymmetric or leave --layout out)`,
        );
      }
    }
    const wantDisks = to === 5 ? members + 1 : to === 10 ? members * 2 : members / 2;
    if (to === 0 && level === 1) {
      if (req.raidDevices !== undefined && req.raidDevices !== 1) {
        return no(
          "level-change",
          `${dev}: raid1 -> raid0 keeps one disk of the mirror: volume ${name} would become ` +
            `a 1-disk raid0, not ${req.raidDevices} disks (IMSM cannot restripe a mirror ` +
            `into a wider raid0)`,
        );
      }
    } else if (req.raidDevices !== undefined && req.raidDevices !== wantDisks) {
      return no(
        "level-change",
        `${dev}: raid${level} with ${members} disks -> raid${to} gives ${wantDisks} disks on ` +
          `IMSM, not ${req.raidDevices} (volume ${name})`,
      );
    }
    const state = stateRefusals(c, facts, req.volumeIndex, `change the level`);
    if (to === 5 && facts.spares.length === 0) {
      state.push({
        code: "too-few-spares",
        message: `cannot get spare device for requested migration (${dev}: raid0 with ` +
          `${members} disks -> raid5 with ${members + 1} needs one spare disk in the ` +
          `container for the parity; add one with mdadm --add)`,
      });
    }
    if (state.length > 0) return { ok: false, refusals: state };
    if (to === 5) {
      const min = minimumSpareSectors(c);
      const spare = facts.spares.find((x) =>
        x.sizeSectors >= min && x.sectorSize === facts.sectorSize
      );
      if (!spare) {
        return no(
          "too-few-spares",
          `cannot get spare device for requested migration (${dev}: no spare of the ` +
            `container has the ${min} sectors the parity disk needs)`,
        );
      }
      const comp = componentSectors(c.mpb, vol);
      return { ok: true, plan: chunkPlan(c, facts, req, chunkKiB, comp, spare) };
    }
    if (to === 0) {
      // keep the first disk of every mirror pair (slots 0, 2, ...), drop the second
      const serials = map.ord.map((o) => diskSerial(c.mpb.disks[ordIndex(o)]));
      return {
        ok: true,
        takeover: {
          kind: "takeover-to-raid0",
          container: facts.container,
          device: facts.volumeDevices[req.volumeIndex]!,
          volumeIndex: req.volumeIndex,
          name,
          from: { level: level as 1 | 10, members },
          to: { level: 0, members: members / 2 },
          keep: serials.filter((_, i) => i % 2 === 0),
          drop: serials.filter((_, i) => i % 2 === 1),
          arraySectors: volumeSectors(vol),
        },
      };
    }
    if (to === 10) {
      // IMSM raid10 is 4 disks (mdadm validates the new geometry so): raid0 with 2 only
      if (members !== 2) {
        return no(
          "level-change",
          `${dev}: raid0 with ${members} disks -> raid10 would have ${members * 2} members; ` +
            `IMSM raid10 has exactly 4, so only a 2-disk raid0 can become raid10 (volume ` +
            `${name})`,
        );
      }
      // mdadm 4.2 checks the spares only after the metadata says raid10; mdts before anything
      const min = minimumSpareSectors(c);
      const fit = facts.spares.filter((x) =>
        x.sizeSectors >= min && x.sectorSize === facts.sectorSize
      );
      if (fit.length < members) {
        return no(
          "too-few-spares",
          `Need ${members} spares to create working array, and only have ${fit.length}. ` +
            `(${dev}: raid0 with ${members} disks -> raid10 with ${members * 2} mirrors each ` +
            `member onto a spare of at least ${min} sectors; add ${members - fit.length} with ` +
            `mdadm --add to the container)`,
        );
      }
      const serials = map.ord.map((o) => diskSerial(c.mpb.disks[ordIndex(o)]));
      return {
        ok: true,
        takeover: {
          kind: "takeover-to-raid10",
          container: facts.container,
          device: facts.volumeDevices[req.volumeIndex]!,
          volumeIndex: req.volumeIndex,
          name,
          from: { level: 0, members },
          to: { level: 10, members: members * 2 },
          keep: serials,
          spares: fit.slice(0, members).map((x) => x.serial),
          arraySectors: volumeSectors(vol),
        },
      };
    }
    return no(
      "not-in-mdts-yet",
      `${dev}: level migration raid${level} -> raid${to} of volume ${name} is allowed by ` +
        `IMSM but not yet carried out by mdts; nothing was changed`,
    );
  }
  if (req.layout !== undefined) {
    return no(
      "layout-change",
      `Error. Layout Migration of ${dev} (volume ${name}, raid${level}) to "${req.layout}" ` +
        `not supported by mdts: IMSM raid5 is left-asymmetric only`,
    );
  }
  if (!chunkChange) {
    return no("no-change", `${dev}: no change requested`);
  }
  const newKiB = req.chunkKiB!;
  if (level === 10) {
    return no(
      "chunk-change",
      `Error. Chunk size change for RAID 10 is not supported. (${dev}, volume ${name})`,
    );
  }
  if (level === 1) {
    return no(
      "chunk-change",
      `${dev}: volume ${name} is raid1, which has no chunk size to change`,
    );
  }
  if (!isPowerOfTwo(newKiB) || newKiB < 4 || newKiB > 2048) {
    return no(
      "chunk-change",
      `${dev}: chunk ${newKiB}K is not one IMSM supports (a power of two from 4K to 2048K)`,
    );
  }
  const comp = componentSectors(c.mpb, vol);
  if (comp % (newKiB * 2) !== 0) {
    return no(
      "chunk-change",
      `New chunk size (${newKiB}K) does not evenly divide device size (${comp / 2}k). ` +
        `Aborting... (${dev}, volume ${name})`,
    );
  }
  const state = stateRefusals(c, facts, req.volumeIndex, "change the chunk size");
  if (state.length > 0) return { ok: false, refusals: state };
  return { ok: true, plan: chunkPlan(c, facts, req, newKiB, comp) };
}

/**
 * A same-data-disks reshape: a chunk change (`newKiB`), or raid0 -> raid5 with `spare` as the
 * parity disk (md: raid0 taken over to raid5 parity-last with the spare in the empty slot,
 * then restriped to left-asymmetric).
 */
function chunkPlan(
  c: ImsmContainer,
  facts: GrowFacts,
  req: MigrationRequest,
  newKiB: number,
  comp: number,
  spare: SpareFact | null = null,
): MigrationPlan {
  const index = req.volumeIndex;
  const vol = c.mpb.volumes[index];
  const map = vol.maps[0];
  const level = raidLevel(map) as 0 | 5;
  const k = map.numMembers;
  const after = spare
    ? beginMigration(c, index, { kind: "level", newLevel: 5, newDisk: spare.serial })
    : beginMigration(c, index, { kind: "chunk", newChunkKiB: newKiB });
  const g = migrationGeometry(after.mpb, index, comp);
  const u = g.unit;
  const critical = criticalUnits(u);
  const tuning = req.tuning ?? DEFAULT_TUNING;
  let windows = 0;
  for (let unit = 0; unit < u.numUnits;) {
    const w = nextWindow(u, unit, {
      ...tuning,
      speedSectorsPerSecond: facts.speedSectorsPerSecond,
    });
    windows++;
    unit = checkpointUnit(u, w.end);
  }
  const serials = map.ord.map((o) => diskSerial(c.mpb.disks[ordIndex(o)]));
  const sizes = map.ord.map((o) => diskSectors(c.mpb, c.mpb.disks[ordIndex(o)]));
  if (spare) sizes.push(spare.sizeSectors);
  const device = facts.volumeDevices[index]!;
  const n = spare ? k + 1 : k;
  const v: VolumePlan = {
    index,
    name: volumeName(vol),
    device,
    old: geometry(level, k, map.blocksPerStrip),
    during: spare
      ? { mdLevel: "raid5", oldRaidDisks: n, newRaidDisks: n, layout: ALGORITHM.LEFT_ASYMMETRIC }
      : level === 0
      ? { mdLevel: "raid4", oldRaidDisks: k + 1, newRaidDisks: k + 1, layout: ALGORITHM.PARITY_N }
      : { mdLevel: "raid5", oldRaidDisks: k, newRaidDisks: k, layout: ALGORITHM.LEFT_ASYMMETRIC },
    new: geometry(spare ? 5 : level, n, newKiB * 2),
    takeover: spare
      ? { to: "raid5", layout: 5, back: null }
      : level === 0
      ? { to: "raid4", layout: 5, back: "raid0" }
      : null,
    dataStart: mapPba(c.mpb, map),
    componentSectors: comp,
    oldArraySectors: volumeSectors(vol),
    newArraySectors: volumeSectors(after.mpb.volumes[index]),
    units: { ...u, critical },
    copyAreaPba: copyAreaPba(Math.min(...sizes)),
    recordDisks: serials.slice(0, 2),
    backupBytes: critical.length * u.destDepth * 512 * n,
    windows,
    newDisks: spare ? [{ serial: spare.serial, slot: k }] : [],
  };
  const change: ReshapeMigration = {
    kind: "reshape-migration",
    subarray: index,
    oldRaidDisks: k,
    newRaidDisks: n,
    newLevel: spare ? 5 : level,
    newLayout: spare || level === 5 ? ALGORITHM.LEFT_ASYMMETRIC : 0,
    newChunkKiB: spare ? -1 : newKiB,
    newDisk: spare ? spare.majMin : null,
  };
  return {
    container: facts.container,
    oldRaidDisks: k,
    newRaidDisks: n,
    spares: spare ? [spare] : [],
    volumes: [v],
    steps: chunkSteps(facts.container, v),
    change,
  };
}

function chunkSteps(ct: string, v: VolumePlan): Step[] {
  const d = v.device;
  const steps: Step[] = [
    {
      kind: "freeze",
      device: ct,
      text: `freeze /dev/${d}: sync_action=frozen, metadata_version blocked ` +
        `(external:-${ct}/${v.index}), ping the monitor`,
    },
    {
      kind: "metadata-update",
      device: ct,
      text: `send reshape_migration (subarray ${v.index}, raid${v.old.level} ${v.old.members} ` +
        `disks chunk ${v.old.chunkKiB}K -> raid${v.new.level} ${v.new.members} disks chunk ` +
        `${v.new.chunkKiB}K) to the monitor; wait for the ping that says it is on disk`,
    },
  ];
  if (v.takeover) {
    steps.push({
      kind: "takeover",
      device: d,
      text: `level=${v.takeover.to} (raid0 ${v.old.members} -> ${v.takeover.to} ` +
        `${v.during.oldRaidDisks} slots, parity slot missing, layout 5); sync_action=frozen; ` +
        `ping manager and monitor`,
    });
  }
  for (const nd of v.newDisks) {
    steps.push({
      kind: "add-disk",
      device: d,
      text: `add ${nd.serial}: new_dev, offset=${v.dataStart}, size=${
        v.componentSectors / 2
      } KiB, slot=${nd.slot} (the parity slot), state=external_bbl`,
    });
  }
  steps.push(
    {
      kind: "impose-shape",
      device: d,
      text: `chunk_size=${
        v.new.chunkKiB * 1024
      }, layout=${v.during.layout}, raid_disks=${v.during.newRaidDisks} (unchanged: a same-size reshape)`,
    },
    {
      kind: "start-reshape",
      device: d,
      text: "suspend_lo/hi=0, sync_min=sync_max=0, sync_action=reshape",
    },
    {
      kind: "migration-record",
      device: d,
      text: `migration record (unit 0 of ${v.units.numUnits}, ${v.units.blocksPerUnit} ` +
        `sectors/unit, copy area at ${v.copyAreaPba}) on ${v.recordDisks.join(", ")}`,
    },
    {
      kind: "windows",
      device: d,
      text: `${v.windows} windows over ${v.units.maxPosition} array sectors; ` +
        `${v.units.critical.length} critical units (a same-size reshape rewrites every unit ` +
        `in place: each is backed up to the copy area first)`,
    },
    {
      kind: "wait-idle",
      device: d,
      text: "wait for sync_action=idle; clear the migration record; clear the suspend window",
    },
    {
      kind: "array-size",
      device: d,
      text: `array_size=${v.newArraySectors / 2} KiB (was ${v.oldArraySectors / 2})`,
    },
  );
  if (v.takeover?.back === "raid0") {
    steps.push({
      kind: "takeover-back",
      device: d,
      text: "sync_action=idle; level=raid0 (raid4 parity slot empty)",
    });
  }
  steps.push({
    kind: "unfreeze",
    device: ct,
    text: `metadata_version=external:/${ct}/${v.index} and sync_action=idle; ping`,
  });
  return steps;
}
