/**
 * The plan of a container OCE (`--grow <container> --raid-devices=N`): checks as mdadm 4.2
 * applies them for IMSM, then per volume (in metadata order, the order mdmon migrates them)
 * the old/new geometry, md's takeover, sizes, migration units, copy area and the ordered
 * steps (spec imsm-reshape.md §2). Pure: the kernel facts come in as data.
 */
import type { ImsmContainer } from "../../meta/imsm/edit/container.ts";
import type { ImsmVolume } from "../../meta/imsm/model.ts";
import {
  diskSerial,
  isFailed,
  mpbSectors,
  ordIndex,
  raidLevel,
  volumeName,
} from "../../meta/imsm/accessors.ts";
import { MAP_STATE } from "../../meta/imsm/constants.ts";
import {
  copyAreaPba,
  dataDisks as imsmDataDisks,
  type DiskSpace,
  grownArraySize,
  spareReservation,
} from "../../meta/imsm/sizes.ts";
import { componentSectors } from "../../meta/imsm/edit/migration.ts";
import { diskSectors, mapPba, mapStripes, volumeSectors } from "../../meta/imsm/edit/records.ts";
import { ALGORITHM, imsmGeometry, takeoverGeometry } from "../restripe/layout.ts";
import { type UnitGeometry, unitGeometry } from "./geometry.ts";
import {
  checkpointUnit,
  criticalUnits,
  DEFAULT_TUNING,
  holdWindow,
  nextWindow,
  type WindowTuning,
} from "./window.ts";
import type { ReshapeMigration } from "./monitor_link.ts";

/** What the kernel shows, gathered by the caller. */
export interface GrowFacts {
  /** md name of the container (md127). */
  container: string;
  /** md name of each volume by index, null when the volume is not assembled. */
  volumeDevices: (string | null)[];
  /** Arrays of the container that are resyncing/recovering/reshaping or blocked ("-"). */
  busy: string[];
  /** Free spare disks of the container, in the kernel's order. */
  spares: SpareFact[];
  /** Logical sector size of the container's disks. */
  sectorSize: number;
  /** Measured or assumed reshape speed (array sectors/s) for the window preview. */
  speedSectorsPerSecond?: number;
}

export interface SpareFact {
  serial: string;
  path: string;
  majMin: string;
  sizeSectors: number;
  sectorSize: number;
}

export interface GrowRequest {
  raidDevices: number;
  /** --force: accept fewer spares (mdadm's override of the spare-count check only). */
  force?: boolean;
  tuning?: WindowTuning;
}

export type RefusalCode =
  | "no-volume"
  | "not-larger"
  | "level"
  | "member-count-differs"
  | "degraded"
  | "migration-running"
  | "busy"
  | "not-assembled"
  | "chunk-alignment"
  | "too-few-spares"
  | "spare-too-small"
  | "sector-size";

export interface GrowRefusal {
  code: RefusalCode;
  /** mdadm-style sentence, without the program prefix. */
  message: string;
}

export interface Geometry {
  level: number;
  members: number;
  chunkKiB: number;
  /** md layout number (raid5 algorithm). */
  layout: number;
  dataDisks: number;
}

export interface VolumePlan {
  index: number;
  name: string;
  /** md device, e.g. md126. */
  device: string;
  old: Geometry;
  /** md's shape while reshaping (raid0 volumes run as raid4 parity-last with a missing parity). */
  during: {
    mdLevel: "raid4" | "raid5";
    oldRaidDisks: number;
    newRaidDisks: number;
    layout: number;
  };
  new: Geometry;
  /** raid0 runs as raid4 (back to raid0 after) for an OCE or chunk change, as raid5 for good
   * when it migrates to raid5. */
  takeover: null | { to: "raid4"; layout: 5; back: "raid0" } | {
    to: "raid5";
    layout: 5;
    back: null;
  };
  /** pba_of_lba0. */
  dataStart: number;
  /** md component_size in sectors (per member, unchanged by the grow). */
  componentSectors: number;
  oldArraySectors: number;
  newArraySectors: number;
  units: UnitGeometry & { critical: number[] };
  /** Copy-area sector on every member, and the disks holding the migration record (slots 0, 1). */
  copyAreaPba: number;
  recordDisks: string[];
  /** Bytes written to copy areas over the whole volume (critical units x all members). */
  backupBytes: number;
  /** Windows mdts would open at the given speed (preview). */
  windows: number;
  /** New members: serial and slot. */
  newDisks: { serial: string; slot: number }[];
}

export type StepKind =
  | "freeze"
  | "metadata-update"
  | "takeover"
  | "set-raid-disks"
  | "add-disk"
  | "impose-shape"
  | "start-reshape"
  | "migration-record"
  | "windows"
  | "wait-idle"
  | "array-size"
  | "takeover-back"
  | "next-volume"
  | "unfreeze";

export interface Step {
  kind: StepKind;
  /** md device the step acts on (container or volume). */
  device: string;
  text: string;
}

export interface GrowPlan {
  container: string;
  oldRaidDisks: number;
  newRaidDisks: number;
  spares: SpareFact[];
  volumes: VolumePlan[];
  steps: Step[];
  /** A volume's level/chunk migration (migrate_plan.ts): sent instead of the container update. */
  change?: ReshapeMigration;
}

export type GrowDecision = { ok: true; plan: GrowPlan } | { ok: false; refusals: GrowRefusal[] };

function refusal(code: RefusalCode, message: string): GrowRefusal {
  return { code, message };
}

function levelOf(vol: ImsmVolume): number {
  return raidLevel(vol.maps[0]);
}

function volumeRefusals(c: ImsmContainer, facts: GrowFacts, n: number): GrowRefusal[] {
  const out: GrowRefusal[] = [];
  const vols = c.mpb.volumes;
  const first = vols[0].maps[0].numMembers;
  vols.forEach((vol, i) => {
    const name = volumeName(vol);
    const map = vol.maps[0];
    const level = levelOf(vol);
    if (vol.migrState !== 0) {
      out.push(refusal(
        "migration-running",
        `volume ${name} is already migrating (migr_type ${vol.migrType}); ` +
          `wait for it to finish or continue it with --grow --continue`,
      ));
    }
    if (level !== 0 && level !== 5) {
      out.push(refusal(
        "level",
        `(imsm) Operation is not allowed on this container: volume ${name} is raid${level}; ` +
          `only raid0 and raid5 volumes can gain disks`,
      ));
    }
    if (map.numMembers !== first) {
      out.push(refusal(
        "member-count-differs",
        `(imsm) Operation is not allowed on this container: volume ${name} has ` +
          `${map.numMembers} members, ${volumeName(vols[0])} has ${first}`,
      ));
    }
    if (n <= map.numMembers) {
      out.push(refusal(
        "not-larger",
        `(imsm) Operation is not allowed on this container: --raid-devices=${n} does not ` +
          `grow volume ${name} (${map.numMembers} members); a container can only grow`,
      ));
    }
    const failed = map.ord.some((o) => {
      const d = c.mpb.disks[ordIndex(o)];
      return d === undefined || isFailed(d);
    });
    if (map.mapState !== MAP_STATE.NORMAL || failed) {
      out.push(refusal(
        "degraded",
        `volume ${name} is not in a normal state (map state ${map.mapState}${
          failed ? ", a member failed" : ""
        }); rebuild it before growing`,
      ));
    }
    const dev = facts.volumeDevices[i] ?? null;
    if (dev === null) {
      out.push(refusal(
        "not-assembled",
        `volume ${name} is not assembled; every volume of the container must be running to grow it`,
      ));
    } else if (facts.busy.includes(dev)) {
      out.push(refusal(
        "busy",
        `/dev/${dev} is busy (resync, recovery or reshape running, or blocked); ` +
          `wait until it is idle`,
      ));
    }
    const comp = componentSectors(c.mpb, vol);
    if (level === 0 || level === 5) {
      if (comp % map.blocksPerStrip !== 0) {
        out.push(refusal(
          "chunk-alignment",
          `volume ${name}: component size ${comp} sectors is not a multiple of the chunk ` +
            `(${map.blocksPerStrip} sectors)`,
        ));
      }
    }
  });
  if (facts.busy.includes(facts.container)) {
    out.push(
      refusal("busy", `/dev/${facts.container} is frozen or reshaping; wait until it is idle`),
    );
  }
  return out;
}

/** Smallest spare mdadm accepts: end of the volumes on the first active member + reservation. */
export function minimumSpareSectors(c: ImsmContainer): number {
  const members: DiskSpace[] = c.mpb.disks.filter((d) => !isFailed(d)).map((d) => ({
    totalSectors: diskSectors(c.mpb, d),
    volumeExtents: c.mpb.volumes
      .filter((v) => v.maps[0].ord.some((o) => ordIndex(o) === c.mpb.disks.indexOf(d)))
      .map((v) => ({
        start: mapPba(c.mpb, v.maps[0]),
        size: mapStripes(c.mpb, v.maps[0]) * v.maps[0].blocksPerStrip,
      })),
    spare: false,
  }));
  const first = members[0];
  const end = Math.max(0, ...first.volumeExtents.map((e) => e.start + e.size));
  return end + spareReservation(members, mpbSectors(c.mpb.mpbSize, 512));
}

function chooseSpares(
  c: ImsmContainer,
  facts: GrowFacts,
  wanted: number,
  force: boolean,
): { chosen: SpareFact[]; refusals: GrowRefusal[] } {
  const min = minimumSpareSectors(c);
  const fits = facts.spares.filter((s) =>
    s.sizeSectors >= min && s.sectorSize === facts.sectorSize
  );
  const out: GrowRefusal[] = [];
  if (fits.length < wanted) {
    const small = facts.spares.filter((s) => s.sizeSectors < min);
    const odd = facts.spares.filter((s) => s.sectorSize !== facts.sectorSize);
    if (facts.spares.length < wanted && !force) {
      out.push(refusal(
        "too-few-spares",
        `Need ${wanted} spare${wanted === 1 ? "" : "s"} to avoid degraded array, and only ` +
          `have ${facts.spares.length}.\n       Use --force to over-ride this check.`,
      ));
    }
    if (small.length > 0) {
      out.push(refusal(
        "spare-too-small",
        `imsm: ERROR: Cannot get spare devices for /dev/${facts.container}: ` +
          small.map((s) => `${s.path} has ${s.sizeSectors} sectors`).join(", ") +
          `, the volumes need at least ${min} (data end + metadata reservation)`,
      ));
    }
    if (odd.length > 0) {
      out.push(refusal(
        "sector-size",
        `imsm: ERROR: Cannot get spare devices for /dev/${facts.container}: ` +
          odd.map((s) => `${s.path} has ${s.sectorSize}-byte sectors`).join(", ") +
          `, the container uses ${facts.sectorSize}`,
      ));
    }
    if (out.length === 0) {
      // --force past the count check: IMSM still needs a real disk for every new slot
      out.push(refusal(
        "too-few-spares",
        `imsm: ERROR: Cannot get spare devices for /dev/${facts.container}: ` +
          `${wanted} needed, ${fits.length} usable`,
      ));
    }
  }
  return { chosen: fits.slice(0, wanted), refusals: out };
}

function volumePlan(
  c: ImsmContainer,
  facts: GrowFacts,
  index: number,
  n: number,
  spares: SpareFact[],
  tuning: WindowTuning,
): VolumePlan {
  const vol = c.mpb.volumes[index];
  const map = vol.maps[0];
  const level = levelOf(vol) as 0 | 5;
  const k = map.numMembers;
  const comp = componentSectors(c.mpb, vol);
  const chunk = map.blocksPerStrip;
  const source = level === 0 ? takeoverGeometry(k, chunk) : imsmGeometry(5, k, chunk);
  const dest = imsmGeometry(level, n, chunk);
  const oldData = imsmDataDisks(level, k);
  const newData = imsmDataDisks(level, n);
  const units = unitGeometry(source, dest, oldData, newData, comp);
  const memberSizes = [
    ...map.ord.map((o) => diskSectors(c.mpb, c.mpb.disks[ordIndex(o)])),
    ...spares.map((s) => s.sizeSectors),
  ];
  const slotSerials = [
    ...map.ord.map((o) => diskSerial(c.mpb.disks[ordIndex(o)])),
    ...spares.map((s) => s.serial),
  ];
  const critical = criticalUnits(units);
  let windows = 0;
  for (let u = 0; u < units.numUnits;) {
    const w = holdWindow(
      units,
      nextWindow(units, u, { ...tuning, speedSectorsPerSecond: facts.speedSectorsPerSecond }),
    );
    windows++;
    u = checkpointUnit(units, w.end);
  }
  const geometry = (members: number, dd: number): Geometry => ({
    level,
    members,
    chunkKiB: chunk / 2,
    layout: level === 5 ? ALGORITHM.LEFT_ASYMMETRIC : 0,
    dataDisks: dd,
  });
  return {
    index,
    name: volumeName(vol),
    device: facts.volumeDevices[index]!,
    old: geometry(k, oldData),
    during: level === 0
      ? { mdLevel: "raid4", oldRaidDisks: k + 1, newRaidDisks: n + 1, layout: ALGORITHM.PARITY_N }
      : { mdLevel: "raid5", oldRaidDisks: k, newRaidDisks: n, layout: ALGORITHM.LEFT_ASYMMETRIC },
    new: geometry(n, newData),
    takeover: level === 0 ? { to: "raid4", layout: 5, back: "raid0" } : null,
    dataStart: mapPba(c.mpb, map),
    componentSectors: comp,
    oldArraySectors: volumeSectors(vol),
    newArraySectors: grownArraySize(level, n, mapStripes(c.mpb, map), chunk),
    units: { ...units, critical },
    copyAreaPba: copyAreaPba(Math.min(...memberSizes)),
    recordDisks: slotSerials.slice(0, 2),
    backupBytes: critical.length * units.destDepth * 512 * n,
    windows,
    newDisks: spares.map((s, i) => ({ serial: s.serial, slot: k + i })),
  };
}

function stepsFor(plan: Omit<GrowPlan, "steps">, spares: SpareFact[]): Step[] {
  const ct = plan.container;
  const steps: Step[] = [];
  const all = plan.volumes.map((v) => v.device);
  steps.push({
    kind: "freeze",
    device: ct,
    text: `freeze ${all.map((d) => `/dev/${d}`).join(", ")}: sync_action=frozen (redundant ` +
      `volumes), metadata_version blocked (external:-${ct}/N), ping the monitor after each`,
  });
  steps.push({
    kind: "metadata-update",
    device: ct,
    text: `send reshape_container_disks ${plan.oldRaidDisks}->${plan.newRaidDisks} with ` +
      `${spares.map((s) => `${s.path} (${s.majMin})`).join(", ")} to the monitor; wait for the ` +
      `ping that says it is on disk (first volume enters general migration)`,
  });
  plan.volumes.forEach((v, i) => {
    const d = v.device;
    if (i > 0) {
      steps.push({
        kind: "next-volume",
        device: d,
        text: `the monitor starts ${v.name}'s migration when the previous one ends; ` +
          `reload the metadata, ping manager and monitor`,
      });
    }
    if (v.takeover) {
      steps.push({
        kind: "takeover",
        device: d,
        text: `level=raid4 (raid0 ${v.old.members} -> raid4 ${v.during.oldRaidDisks} slots, ` +
          `parity slot missing, layout 5); sync_action=frozen; ping manager and monitor`,
      });
    }
    steps.push({
      kind: "set-raid-disks",
      device: d,
      text: `raid_disks=${v.during.newRaidDisks} (safe_mode_delay=0 around it, retry on EAGAIN)`,
    });
    for (const nd of v.newDisks) {
      steps.push({
        kind: "add-disk",
        device: d,
        text: `add ${nd.serial}: new_dev, offset=${v.dataStart}, size=${
          v.componentSectors / 2
        } KiB, slot=${nd.slot}, state=external_bbl`,
      });
    }
    steps.push({
      kind: "impose-shape",
      device: d,
      text: `chunk_size=${
        v.new.chunkKiB * 1024
      }, layout=${v.during.layout}, raid_disks=${v.during.newRaidDisks}`,
    });
    steps.push({
      kind: "start-reshape",
      device: d,
      text: "suspend_lo/hi=0, sync_min=sync_max=0, sync_action=reshape",
    });
    steps.push({
      kind: "migration-record",
      device: d,
      text: `migration record (unit 0 of ${v.units.numUnits}, ${v.units.blocksPerUnit} ` +
        `sectors/unit, copy area at ${v.copyAreaPba}) on ${v.recordDisks.join(", ")}; ` +
        `checkpoint update + ping`,
    });
    steps.push({
      kind: "windows",
      device: d,
      text:
        `${v.windows} windows over ${v.units.maxPosition} array sectors; units ${
          v.units.critical.length ? v.units.critical.join(",") : "none"
        } critical: suspend, back up to the copy area (${v.backupBytes} bytes in all), ` +
        `record status 1, then sync_max; after each window record status 0 + checkpoint`,
    });
    steps.push({
      kind: "wait-idle",
      device: d,
      text: "wait for sync_action=idle; clear the migration record; clear the suspend window",
    });
    steps.push({
      kind: "array-size",
      device: d,
      text: `array_size=${v.newArraySectors / 2} KiB (was ${v.oldArraySectors / 2})`,
    });
    if (v.takeover) {
      steps.push({
        kind: "takeover-back",
        device: d,
        text: "sync_action=idle; level=raid0 (raid4 parity slot empty)",
      });
    }
  });
  steps.push({
    kind: "unfreeze",
    device: ct,
    text: `metadata_version=external:/${ct}/N and sync_action=idle on every volume; ping`,
  });
  return steps;
}

/** Decides a container OCE: the plan, or every reason mdadm 4.2 would refuse it. */
export function planGrow(c: ImsmContainer, facts: GrowFacts, req: GrowRequest): GrowDecision {
  const n = req.raidDevices;
  if (c.mpb.volumes.length === 0) {
    return {
      ok: false,
      refusals: [refusal("no-volume", `/dev/${facts.container} has no volume to grow`)],
    };
  }
  const refusals = volumeRefusals(c, facts, n);
  const current = c.mpb.volumes[0].maps[0].numMembers;
  const wanted = Math.max(0, n - current);
  const spares = chooseSpares(c, facts, wanted, req.force ?? false);
  refusals.push(...spares.refusals);
  if (refusals.length > 0) return { ok: false, refusals };
  const tuning = req.tuning ?? DEFAULT_TUNING;
  const base = {
    container: facts.container,
    oldRaidDisks: current,
    newRaidDisks: n,
    spares: spares.chosen,
    volumes: c.mpb.volumes.map((_, i) => volumePlan(c, facts, i, n, spares.chosen, tuning)),
  };
  return { ok: true, plan: { ...base, steps: stepsFor(base, spares.chosen) } };
}
