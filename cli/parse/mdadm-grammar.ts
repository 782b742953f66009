/**
 * Reads an mdadm command line option by option, the way mdadm 4.2 does: mode-independent options,
 * then the mode (set by the first mode option, or inferred), then each option checked against the
 * mode. Stops at the first error, returned as data with mdadm's text and exit status.
 */
import type { Command, ParseError } from "../command.ts";
import { Getopt, type GetoptEvent } from "./getopt.ts";
import {
  MDADM_LONG_OPTIONS,
  SHORT_BITMAP,
  SHORT_BITMAP_AUTO,
  SHORT_MONITOR,
} from "./mdadm-options.ts";
import { emptyGathered, type Gathered, type Mode } from "./mdadm-state.ts";
import {
  parseArraySizeKiB,
  parseBitmapChunkBytes,
  parseChunkKiB,
  parseComponentSizeKiB,
  parseSizeSectors,
} from "../size.ts";
import {
  levelName,
  levelNumber,
  parseAuto,
  parseConsistencyPolicy,
  parseFaultyLayout,
  parseLevel,
  parseMetadata,
  parseNum,
  parseRaid0Layout,
  parseRaid10Layout,
  parseRaid5Layout,
  parseRaid6Layout,
  parseUuid,
} from "./values.ts";

type OptionEvent = Extract<GetoptEvent, { kind: "option" }>;
/** A step either continues (undefined), fails, or ends parsing early with a finished command. */
type Step = undefined | ParseError | { done: Command };

export function usageError(
  g: Gathered,
  message: string,
  code = 2,
  usage?: "hint",
): ParseError {
  return { ok: false, code, message, usage, warnings: g.warnings };
}

/** The letters whose key is a device mode in misc mode. */
const MISC_DEVMODE_KEYS = new Set([
  "Q",
  "D",
  "E",
  "zero-superblock",
  "R",
  "S",
  "X",
  "examine-badblocks",
  "o",
  "w",
  "W",
  "wait",
  "wait-clean",
  "detail-platform",
  "kill-subarray",
  "update-subarray",
  "dump",
  "restore",
  "action",
]);

const VALID_UPDATES = new Set([
  "sparc2.2",
  "super-minor",
  "summaries",
  "resync",
  "uuid",
  "name",
  "homehost",
  "home-cluster",
  "nodes",
  "devicesize",
  "bitmap",
  "no-bitmap",
  "bbl",
  "no-bbl",
  "force-no-bbl",
  "ppl",
  "no-ppl",
  "metadata",
  "revert-reshape",
  "layout-original",
  "layout-alternate",
  "layout-unspecified",
  "byteorder",
]);

export const UPDATE_OPTIONS_TEXT = "Valid --update options are:\n" +
  "     'sparc2.2', 'super-minor', 'uuid', 'name', 'nodes', 'resync',\n" +
  "     'summaries', 'homehost', 'home-cluster', 'byteorder', 'devicesize',\n" +
  "     'bitmap', 'no-bitmap', 'metadata', 'revert-reshape'\n" +
  "     'bbl', 'no-bbl', 'force-no-bbl', 'ppl', 'no-ppl'\n" +
  "     'layout-original', 'layout-alternate', 'layout-unspecified'";

/** Reads all arguments; returns what was gathered, an error, or an early finished command. */
export function readMdadmArgs(args: readonly string[]): Gathered | ParseError | { done: Command } {
  const g = emptyGathered();
  const getopt = new Getopt(args, MDADM_LONG_OPTIONS);
  for (;;) {
    const ev = getopt.next(g.shorts);
    if (ev.kind === "end") return g;
    if (ev.kind === "error") return usageError(g, ev.message, 2, "hint");
    const step = ev.kind === "operand" ? readOperandFirst(g, ev.value) : readOption(g, ev);
    if (step !== undefined) return step;
  }
}

/** Before any mode: the first device is held, a second one is an error. */
function readOperandFirst(g: Gathered, value: string): Step {
  if (!g.mode) {
    if (g.devices.length === 0) {
      g.devices.push({ name: value });
      return undefined;
    }
    return usageError(
      g,
      `An option must be given to set the mode before a second device\n       (${value}) is listed`,
    );
  }
  return readDevice(g, value);
}

function readDevice(g: Gathered, value: string): Step {
  if (g.devices.length > 0 && g.devmode === "detail-platform") {
    g.warnings.push(`controller may only be specified once. ${value} ignored`);
    return undefined;
  }
  if (g.devices.length > 0 && g.mode === "manage" && !g.devmode) {
    return usageError(g, `Must give one of -a/-r/-f for subsequent devices at ${value}`);
  }
  if (g.devices.length > 0 && g.mode === "grow" && !g.devmode) {
    return usageError(g, `Must give -a/--add for devices to add: ${value}`);
  }
  g.devices.push({
    name: value,
    disposition: g.devmode,
    writeMostly: g.writeMostly,
    failFast: g.failFast,
  });
  return undefined;
}

/** Options that mean the same in every mode. Returns true when handled. */
function readGlobal(g: Gathered, ev: OptionEvent): Step | true {
  switch (ev.key) {
    case "help-options":
      g.printHelp = 2;
      return true;
    case "h":
      g.printHelp = 1;
      return true;
    case "V":
      return { done: { mode: "version" } };
    case "v":
      g.ctx.verbose++;
      return true;
    case "q":
      g.ctx.verbose--;
      return true;
    case "b":
      // -b is a bitmap in the modes that have bitmaps, --brief elsewhere.
      if (isMode(g, "assemble", "build", "create", "grow", "incremental", "manage")) {
        return undefined;
      }
      g.brief = true;
      return true;
    case "brief":
      g.brief = true;
      return true;
    case "no-devices":
      g.noDevices = true;
      return true;
    case "Y":
      g.exportCount++;
      return true;
    case "homehost":
      if (ev.arg!.toLowerCase() === "<ignore>") g.ctx.requireHomehost = false;
      else g.ctx.homehost = ev.arg;
      return true;
    case "offroot":
      g.ctx.offroot = true;
      return true;
    case "prefer":
      g.ctx.prefer = `/${ev.arg}/`;
      return true;
  }
  return undefined;
}

/** The mode an option asks for: forced, or only when none is set yet. */
function modeOf(g: Gathered, key: string): Mode | undefined {
  switch (key) {
    case "manage":
      g.shorts = SHORT_BITMAP;
      return "manage";
    case "A":
      g.shorts = SHORT_BITMAP_AUTO;
      return "assemble";
    case "B":
      g.shorts = SHORT_BITMAP_AUTO;
      return "build";
    case "C":
      g.shorts = SHORT_BITMAP_AUTO;
      return "create";
    case "I":
      g.shorts = SHORT_BITMAP_AUTO;
      return "incremental";
    case "G":
      g.shorts = SHORT_BITMAP;
      return "grow";
    case "F":
      g.shorts = SHORT_MONITOR;
      return "monitor";
    case "no-sharing":
      return "monitor";
    case "auto-detect":
      return "auto-detect";
    case "misc":
    case "D":
    case "E":
    case "X":
    case "Q":
    case "examine-badblocks":
    case "dump":
    case "restore":
    case "action":
      return "misc";
    case "a":
    case "add":
    case "add-spare":
    case "add-journal":
    case "r":
    case "remove":
    case "replace":
    case "with":
    case "f":
    case "fail":
    case "re-add":
    case "cluster-confirm":
      if (g.mode) return g.mode;
      g.shorts = SHORT_BITMAP;
      return "manage";
    case "R":
    case "S":
    case "o":
    case "w":
    case "W":
    case "wait":
    case "wait-clean":
    case "detail-platform":
    case "kill-subarray":
    case "update-subarray":
    case "udev-rules":
    case "zero-superblock":
      return g.mode ?? "misc";
  }
  return g.mode;
}

const MODE_ONLY_KEYS = new Set(["manage", "misc", "A", "B", "C", "F", "G", "I", "auto-detect"]);

function readOption(g: Gathered, ev: OptionEvent): Step {
  const global = readGlobal(g, ev);
  if (global === true) return undefined;
  if (global !== undefined) return global;

  const previous = g.mode;
  const wanted = modeOf(g, ev.key);
  if (previous && wanted !== previous) {
    return usageError(
      g,
      `${ev.display} would set mdadm mode to "${wanted}", but it is already set to "${previous}".`,
    );
  }
  if (!previous && wanted) {
    g.mode = wanted;
    if (wanted === "misc" && g.devices.length > 0) {
      return usageError(
        g,
        `No action given for ${g.devices[0].name} in --misc mode\n` +
          "       Action options must come before device names",
      );
    }
  } else if (!previous) {
    // `mdadm --config --help` (or -c -h): the config file help.
    if ((ev.key === "c" || ev.key === "config") && /^(--h|-h)/.test(ev.arg ?? "")) {
      return { done: { mode: "help", topic: "config" } };
    }
    return usageError(g, `${ev.display} does not set the mode, and so cannot be the first option.`);
  }
  if (MODE_ONLY_KEYS.has(ev.key)) return undefined;
  return readModeOption(g, ev);
}

function isMode(g: Gathered, ...modes: Mode[]): boolean {
  return g.mode !== undefined && modes.includes(g.mode);
}

function notValid(g: Gathered, ev: OptionEvent): ParseError {
  const prefix = ev.long ? ":option" : "option";
  return usageError(g, `${prefix} ${ev.display} not valid in ${g.mode} mode`);
}

/** One option, now that the mode is known. */
function readModeOption(g: Gathered, ev: OptionEvent): Step {
  const k = ev.key;
  const arg = ev.arg ?? "";
  const m = g.mode!;

  if ((k === "c" || k === "chunk") && isMode(g, "grow", "create", "build")) {
    if (g.chunkKiB !== undefined) {
      return usageError(g, `chunk/rounding may only be specified once. Second value is ${arg}.`);
    }
    const kib = parseChunkKiB(arg);
    if (kib === null) return usageError(g, `invalid chunk/rounding value: ${arg}`);
    g.chunkKiB = kib;
    return undefined;
  }
  if (k === "e" && isMode(g, "incremental", "create", "assemble", "misc")) {
    if (g.metadata) return usageError(g, "metadata information already given");
    const md = parseMetadata(arg);
    if (md === null) return usageError(g, `unrecognised metadata identifier: ${arg}`);
    g.metadata = md;
    return undefined;
  }
  if ((k === "W" || k === "write-mostly") && isMode(g, "manage", "build", "create")) {
    g.writeMostly = true;
    return undefined;
  }
  if (k === "w" && m === "manage") {
    g.writeMostly = false;
    return undefined;
  }
  if (k === "failfast" && isMode(g, "manage", "create")) {
    g.failFast = true;
    return undefined;
  }
  if (k === "nofailfast" && m === "manage") {
    g.failFast = false;
    return undefined;
  }
  if (k === "z" && isMode(g, "grow", "create", "build")) {
    if (g.sizeKiB !== undefined) {
      return usageError(g, `size may only be specified once. Second value is ${arg}.`);
    }
    const size = parseComponentSizeKiB(arg);
    if (size === null) return usageError(g, `invalid size: ${arg}`);
    g.sizeKiB = size;
    return undefined;
  }
  if (k === "Z" && m === "grow") {
    if (g.arraySizeKiB !== undefined) {
      return usageError(g, `array-size may only be specified once. Second value is ${arg}.`);
    }
    const size = parseArraySizeKiB(arg);
    if (size === null || size === 0) return usageError(g, `invalid array size: ${arg}`);
    g.arraySizeKiB = size;
    return undefined;
  }
  if (k === "data-offset" && isMode(g, "create", "grow")) {
    if (g.dataOffset !== undefined) {
      return usageError(g, `data-offset may only be specified one. Second value is ${arg}.`);
    }
    const off = m === "create" && arg === "variable" ? "variable" : parseSizeSectors(arg);
    if (off === null) return usageError(g, `invalid data-offset: ${arg}`);
    g.dataOffset = off;
    return undefined;
  }
  if (k === "l" && isMode(g, "grow", "create", "build")) return readLevel(g, arg);
  if ((k === "p" || k === "layout") && m === "grow") {
    if (g.layout !== undefined) {
      return usageError(g, `layout may only be sent once.  Second value was ${arg}`);
    }
    g.layout = arg;
    return undefined;
  }
  if ((k === "p" || k === "layout") && isMode(g, "create", "build")) return readLayout(g, arg);
  if (k === "assume-clean" && isMode(g, "create", "build", "grow")) {
    g.assumeClean = true;
    return undefined;
  }
  if (k === "n" && isMode(g, "grow", "create", "build")) {
    if (g.raidDevices !== undefined) {
      return usageError(g, `raid-devices set twice: ${g.raidDevices} and ${arg}`);
    }
    const n = parseNum(arg);
    if (n === null || n <= 0) return usageError(g, `invalid number of raid devices: ${arg}`);
    g.raidDevices = n;
    return undefined;
  }
  if (k === "nodes" && isMode(g, "assemble", "grow", "create")) {
    const n = parseNum(arg);
    if (n === null || n < 2) {
      return usageError(g, `clustered array needs two nodes at least: ${arg}`);
    }
    g.nodes = n;
    return undefined;
  }
  if (k === "home-cluster" && isMode(g, "create", "assemble")) {
    if (arg.length > 64) return usageError(g, "Cluster name too big.");
    return undefined;
  }
  if (k === "x" && m === "create") {
    if (g.spareDevices !== undefined) {
      return usageError(g, `spare-devices set twice: ${g.spareDevices} and ${arg}`);
    }
    if (g.level !== undefined && levelNumber(g.level) <= 0 && levelNumber(g.level) >= -1) {
      return usageError(
        g,
        `spare-devices setting is incompatible with raid level ${levelNumber(g.level)}`,
      );
    }
    const n = parseNum(arg);
    if (n === null) return usageError(g, `invalid number of spare-devices: ${arg}`);
    g.spareDevices = n;
    return undefined;
  }
  if ((k === "a" || k === "auto") && isMode(g, "create", "build", "incremental", "assemble")) {
    const auto = parseAuto(arg);
    if (auto === null) {
      return usageError(
        g,
        `--auto flag arg of "${arg}" unrecognised: use no,yes,md,mdp,part\n` +
          "        optionally followed by a number.",
      );
    }
    g.auto = auto;
    return undefined;
  }
  if (k === "symlinks" && isMode(g, "create", "build", "assemble")) {
    g.symlinks = arg;
    return undefined;
  }
  if (
    (k === "f" && isMode(g, "build", "grow", "create", "assemble", "misc")) ||
    (k === "force" && isMode(g, "build", "grow", "create", "assemble", "misc", "manage"))
  ) {
    g.force = true;
    return undefined;
  }
  if (k === "freeze-reshape" && isMode(g, "assemble", "incremental")) {
    g.freezeReshape = true;
    return undefined;
  }
  if (k === "u" && isMode(g, "create", "assemble")) {
    if (g.uuid) return usageError(g, `uuid cannot be set twice.  Second value ${arg}.`);
    const uuid = parseUuid(arg);
    if (uuid === null) return usageError(g, `Bad uuid: ${arg}`);
    g.uuid = uuid;
    return undefined;
  }
  if (k === "N" && isMode(g, "create", "assemble", "misc")) {
    if (g.name) return usageError(g, `name cannot be set twice.   Second value ${arg}.`);
    if (m === "misc" && !g.subarray) {
      return usageError(g, "-N/--name only valid with --update-subarray in misc mode");
    }
    if (new TextEncoder().encode(arg).length > 32) {
      return usageError(g, `name '${arg}' is too long, 32 chars max.`);
    }
    g.name = arg;
    return undefined;
  }
  if ((k === "m" || k === "super-minor") && m === "assemble") {
    if (g.superMinor !== undefined) {
      return usageError(g, `super-minor cannot be set twice.  Second value: ${arg}.`);
    }
    const minor = arg === "dev" ? "dev" : parseNum(arg);
    if (minor === null) return usageError(g, `Bad super-minor number: ${arg}.`);
    g.superMinor = minor;
    return undefined;
  }
  if (k === "o" && isMode(g, "assemble", "manage", "create")) {
    g.readonly = true;
    return undefined;
  }
  if (k === "U" && isMode(g, "assemble", "misc")) return readUpdate(g, arg);
  if (k === "U" && m === "manage") {
    if (g.devmode !== "re-add") {
      return usageError(g, "--update in Manage mode only allowed with --re-add.", 1);
    }
    if (g.update) {
      return usageError(
        g,
        `Can only update one aspect of superblock, both ${g.update} and ${arg} given.`,
      );
    }
    g.update = arg;
    if (!["devicesize", "bbl", "force-no-bbl", "no-bbl"].includes(arg)) {
      return usageError(
        g,
        "only 'devicesize', 'bbl', 'no-bbl', and 'force-no-bbl' can be updated with --re-add",
      );
    }
    return undefined;
  }
  if (k === "no-degraded" && isMode(g, "incremental", "assemble")) {
    if (m === "incremental") g.warnings.push("--no-degraded is deprecated in Incremental mode");
    g.runstop = -1;
    return undefined;
  }
  if (
    (k === "c" && isMode(g, "assemble", "incremental", "misc", "monitor")) ||
    (k === "config" && isMode(g, "assemble", "incremental", "misc", "monitor", "create"))
  ) {
    if (g.ctx.configFile !== undefined) {
      return usageError(g, `configfile cannot be set twice.  Second value is ${arg}.`);
    }
    g.ctx.configFile = arg;
    return undefined;
  }
  if (k === "s" && isMode(g, "assemble", "misc", "monitor", "incremental")) {
    g.scan = true;
    return undefined;
  }
  if (m === "monitor") {
    const step = readMonitorOption(g, ev, arg);
    if (step !== "unknown") return step;
  }
  if (k === "d" && isMode(g, "grow", "build", "create")) return readDelay(g, arg);
  if ((k === "a" || k === "add") && isMode(g, "grow", "manage")) {
    g.devmode = "add";
    return undefined;
  }
  if (m === "manage") {
    const devmode = MANAGE_DEVMODES[k];
    if (devmode) {
      if (devmode === "with" && g.devmode !== "replace") {
        return usageError(g, "--with must follow --replace");
      }
      g.devmode = devmode;
      return undefined;
    }
  }
  if (m === "incremental" && (k === "f" || k === "remove" || k === "fail")) {
    g.devmode = "fail";
    return undefined;
  }
  if (k === "R" && isMode(g, "incremental", "manage", "assemble", "build", "create")) {
    if (g.runstop < 0) return usageError(g, "Cannot both Stop and Run an array");
    g.runstop = 1;
    return undefined;
  }
  if (k === "S" && m === "manage") {
    if (g.runstop > 0) return usageError(g, "Cannot both Run and Stop an array");
    g.runstop = -1;
    return undefined;
  }
  if (k === "t" && isMode(g, "manage", "misc")) {
    g.test = true;
    return undefined;
  }
  if (m === "misc" && MISC_DEVMODE_KEYS.has(k)) return readMiscAction(g, ev, arg);
  if (k === "udev-rules" && m === "misc") {
    if (g.devmode && g.devmode !== k) {
      g.warnings.push("--udev-rules must be the only option.");
    } else if (g.udevFile !== undefined) {
      g.warnings.push(`only specify one udev rule filename. ${arg} ignored.`);
    } else {
      g.udevFile = ev.arg ?? "";
    }
    g.devmode = k;
    return undefined;
  }
  if (k === "sparc2.2" && m === "misc") {
    if (g.devmode !== "E") return usageError(g, "--sparc2.2 only allowed with --examine");
    g.sparc22 = true;
    return undefined;
  }
  if ((k === "b" || k === "bitmap") && m === "assemble") {
    if (arg === "internal" || arg === "clustered") {
      g.warnings.push(
        "no need to specify --bitmap when assembling arrays with internal or clustered bitmap",
      );
      return undefined;
    }
    if (arg === "") {
      return usageError(g, `cannot open bitmap file ${arg}: No such file or directory`);
    }
    g.bitmap = arg;
    return undefined;
  }
  if (k === "backup-file" && isMode(g, "assemble", "grow")) {
    if (g.backupFile !== undefined) {
      return usageError(g, `backup file already specified, rejecting ${arg}`);
    }
    g.backupFile = arg;
    return undefined;
  }
  if (k === "continue" && m === "grow") {
    g.growContinue = true;
    return undefined;
  }
  if (k === "invalid-backup" && m === "assemble") {
    g.invalidBackup = true;
    return undefined;
  }
  if ((k === "b" || k === "bitmap") && isMode(g, "build", "create", "grow")) {
    if (g.bitmap !== undefined) {
      return usageError(g, `bitmap cannot be set twice. Second value: ${arg}.`);
    }
    if (["internal", "none", "clustered"].includes(arg) || arg.includes("/")) {
      g.bitmap = arg;
      if (arg === "clustered" && g.nodes === undefined) g.nodes = 4;
      return undefined;
    }
    return usageError(
      g,
      "bitmap file must contain a '/', or be 'internal', or be 'clustered', or 'none'\n" +
        `       not '${arg}'`,
    );
  }
  if (k === "bitmap-chunk" && isMode(g, "grow", "build", "create")) {
    const bytes = parseBitmapChunkBytes(arg);
    if (bytes === null) return usageError(g, `invalid bitmap chunksize: ${arg}`);
    g.bitmapChunkBytes = bytes;
    return undefined;
  }
  if (k === "write-behind" && isMode(g, "grow", "build", "create")) {
    // mdadm parses the optional value even when it is absent, and prints "(null)".
    const n = ev.arg === undefined ? null : parseNum(arg);
    if (n === null || n > 16383) {
      return usageError(
        g,
        `Invalid value for maximum outstanding write-behind writes: ${ev.arg ?? "(null)"}.\n` +
          "\tMust be between 0 and 16383.",
      );
    }
    g.writeBehind = n;
    return undefined;
  }
  if ((k === "r" || k === "rebuild-map") && m === "incremental") {
    g.rebuildMap = true;
    return undefined;
  }
  if (k === "path" && m === "incremental") {
    g.path = arg;
    return undefined;
  }
  if (k === "write-journal" && m === "create") {
    if (g.writeJournal !== undefined) {
      g.warnings.push("Please specify only one journal device for the array.");
      g.warnings.push(`Ignoring --write-journal ${arg}...`);
      return undefined;
    }
    g.writeJournal = arg;
    return undefined;
  }
  if (k === "k" && isMode(g, "create", "grow")) {
    const policy = parseConsistencyPolicy(arg);
    if (policy === null) return usageError(g, `Invalid consistency policy: ${arg}`);
    g.consistencyPolicy = policy;
    return undefined;
  }
  if (k === "dry-run" && m === "grow") {
    g.dryRun = true;
    return undefined;
  }
  if (k === "json" && isMode(g, "grow", "misc")) {
    g.json = true;
    return undefined;
  }
  return notValid(g, ev);
}

const MANAGE_DEVMODES: Record<string, string> = {
  "add-spare": "add-spare",
  "add-journal": "add-journal",
  "re-add": "re-add",
  r: "remove",
  remove: "remove",
  f: "fail",
  fail: "fail",
  "cluster-confirm": "cluster-confirm",
  replace: "replace",
  with: "with",
};

function readLevel(g: Gathered, arg: string): Step {
  if (g.level !== undefined) {
    return usageError(g, `raid level may only be set once.  Second value is ${arg}.`);
  }
  const level = parseLevel(arg);
  if (level === null) return usageError(g, `invalid raid level: ${arg}`);
  if (g.mode === "build" && ![0, 1, 10, "linear", "multipath", "faulty"].includes(level)) {
    return usageError(g, `Raid level ${arg} not permitted with --build.`);
  }
  const n = levelNumber(level);
  if ((g.spareDevices ?? 0) > 0 && n < 1 && n >= -1) {
    return usageError(g, `raid level ${arg} is incompatible with spare-devices setting.`);
  }
  g.level = level;
  return undefined;
}

function readLayout(g: Gathered, arg: string): Step {
  if (g.layout !== undefined) {
    return usageError(g, `layout may only be sent once.  Second value was ${arg}`);
  }
  if (g.level === undefined) return usageError(g, "raid level must be given before layout.");
  let layout: string | null;
  switch (g.level) {
    case 0:
      layout = parseRaid0Layout(arg);
      break;
    case 5:
      layout = parseRaid5Layout(arg);
      break;
    case 6:
      layout = parseRaid6Layout(arg);
      break;
    case 10:
      layout = parseRaid10Layout(arg);
      if (layout === null) {
        return usageError(
          g,
          `layout for raid10 must be 'nNN', 'oNN' or 'fNN' where NN is a number, not ${arg}`,
        );
      }
      break;
    case "faulty":
      layout = parseFaultyLayout(arg);
      break;
    default:
      return usageError(g, `layout not meaningful for ${levelName(g.level)} arrays.`);
  }
  if (layout === null) {
    return usageError(g, `layout ${arg} not understood for ${levelName(g.level)}.`);
  }
  g.layout = layout;
  return undefined;
}

function readUpdate(g: Gathered, arg: string): Step {
  if (g.update) {
    return usageError(
      g,
      `Can only update one aspect of superblock, both ${g.update} and ${arg} given.`,
    );
  }
  if (g.mode === "misc" && !g.subarray) {
    return usageError(g, "Only subarrays can be updated in misc mode");
  }
  g.update = arg;
  if (arg === "byteorder" && g.metadata) {
    return usageError(g, "must not set metadata type with --update=byteorder.");
  }
  if (VALID_UPDATES.has(arg)) return undefined;
  if (arg === "?" || arg === "help") return { done: { mode: "help", topic: "update-options" } };
  return usageError(g, `'--update=${arg}' is invalid.  ${UPDATE_OPTIONS_TEXT}`);
}

function readDelay(g: Gathered, arg: string): Step {
  if (g.delay !== undefined) {
    g.warnings.push(`only specify delay once. ${arg} ignored.`);
    return undefined;
  }
  const n = parseNum(arg);
  if (n === null || n < 1) return usageError(g, `invalid delay: ${arg}`);
  g.delay = n;
  return undefined;
}

function readMonitorOption(g: Gathered, ev: OptionEvent, arg: string): Step | "unknown" {
  switch (ev.key) {
    case "m":
    case "mail":
      if (g.mail !== undefined) g.warnings.push(`only specify one mailaddress. ${arg} ignored.`);
      else g.mail = arg;
      return undefined;
    case "p":
    case "program":
      if (g.program !== undefined) {
        g.warnings.push(`only specify one alter program. ${arg} ignored.`);
      } else g.program = arg;
      return undefined;
    case "r":
    case "increment": {
      const n = parseNum(arg);
      if (n === null || n > 99 || n < 1) {
        return usageError(
          g,
          "please specify positive integer between 1 and 99 as rebuild increments.",
        );
      }
      g.increment = n;
      return undefined;
    }
    case "d":
      return readDelay(g, arg);
    case "f":
    case "daemonise":
      g.daemonise = true;
      return undefined;
    case "i":
      if (g.pidFile !== undefined) g.warnings.push(`only specify one pid file. ${arg} ignored.`);
      else g.pidFile = arg;
      return undefined;
    case "1":
      g.oneshot = true;
      g.spareSharing = false;
      return undefined;
    case "t":
      g.test = true;
      return undefined;
    case "y":
      g.syslog = true;
      return undefined;
    case "no-sharing":
      g.spareSharing = false;
      return undefined;
  }
  return "unknown";
}

const ACTIONS = new Set(["idle", "frozen", "check", "repair"]);

function readMiscAction(g: Gathered, ev: OptionEvent, arg: string): Step {
  const k = ev.key;
  if (k === "kill-subarray" || k === "update-subarray") {
    if (g.subarray !== undefined) return usageError(g, "subarray can only be specified once");
    g.subarray = arg;
  }
  if (k === "action") {
    if (g.action) return usageError(g, "Only one --action can be specified");
    if (!ACTIONS.has(arg)) {
      return usageError(g, "action must be one of idle, frozen, check, repair");
    }
    g.action = arg as "idle" | "frozen" | "check" | "repair";
  }
  const dm = g.devmode;
  if (dm && dm !== k && (dm === "E" || (k === "E" && dm !== "Q"))) {
    let other: string;
    if (dm === "E") other = ev.display;
    else if (/^[A-Za-z]$/.test(dm)) other = `-${dm}`;
    else other = "previous option";
    return usageError(g, `--examine/-E cannot be given with ${other}`);
  }
  g.devmode = k;
  if (k === "dump" || k === "restore") {
    if (g.dumpDirectory !== undefined) {
      return usageError(g, `dump/restore directory specified twice: ${g.dumpDirectory} and ${arg}`);
    }
    g.dumpDirectory = arg;
  }
  return undefined;
}
