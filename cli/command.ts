/**
 * The typed result of parsing an mdadm (or mdmon) command line: one variant per mode or misc
 * action, discriminated by `mode`. Pure data; nothing here touches a device.
 *
 * Units follow mdadm: chunk and component sizes in KiB, data offsets in 512-byte sectors.
 */

/** RAID levels as mdadm names them; numbers for the striped/mirrored levels. */
export type RaidLevel =
  | 0
  | 1
  | 4
  | 5
  | 6
  | 10
  | "linear"
  | "multipath"
  | "faulty"
  | "container";

/** Metadata formats `-e/--metadata` accepts, normalised (mdadm's aliases folded). */
export type MetadataName = "imsm" | "ddf" | "0.90" | "1" | "1.0" | "1.1" | "1.2" | "default";

/** Options every mode carries (mdadm's "context"). */
export interface Context {
  /** Count of -v minus count of -q; 0 is mdadm's normal level. */
  verbose: number;
  /** --homehost value; undefined means "from the config file or the system". */
  homehost?: string;
  /** False after `--homehost=<ignore>`. */
  requireHomehost: boolean;
  /** --prefer=NAME, stored as mdadm uses it: "/NAME/". */
  prefer?: string;
  /** -c/--config FILE (in the modes where -c is not the chunk size). */
  configFile?: string;
  /** --offroot: mdadm ignores it, mdts passes it to the monitor it starts. */
  offroot: boolean;
}

/** What `--help` (or `--update=?`, `-c --help`) asks for; help.ts owns the text. */
export type HelpTopic =
  | "general"
  | "options"
  | "config"
  | "update-options"
  | "create"
  | "build"
  | "assemble"
  | "manage"
  | "misc"
  | "monitor"
  | "grow"
  | "incremental";

export interface HelpCommand {
  mode: "help";
  topic: HelpTopic;
}

export interface VersionCommand {
  mode: "version";
}

/** A member slot in --create: a device path or the word `missing` (a degraded slot). */
export type CreateMember = { kind: "device"; path: string } | { kind: "missing" };

export interface CreateCommand {
  mode: "create";
  ctx: Context;
  /** The md device to create (/dev/md/NAME, /dev/mdN). */
  device: string;
  /** Members in command-line order; for an IMSM volume this is the container alone. */
  members: CreateMember[];
  metadata?: MetadataName;
  level?: RaidLevel;
  raidDevices?: number;
  spareDevices?: number;
  chunkKiB?: number;
  /** Per-member size in KiB, or "max". */
  sizeKiB?: number | "max";
  /** Layout name, checked against the level and folded to mdadm's canonical spelling. */
  layout?: string;
  name?: string;
  /** UUID as mdadm prints it: four 8-hex-digit groups joined by ':'. */
  uuid?: string;
  run: boolean;
  force: boolean;
  readonly: boolean;
  assumeClean: boolean;
  bitmap?: string;
  bitmapChunkBytes?: number;
  /** Bitmap update delay, seconds. */
  delay?: number;
  /** Sectors, or "variable". */
  dataOffset?: number | "variable";
  consistencyPolicy?: ConsistencyPolicy;
  writeJournal?: string;
  /** --auto value (device node creation style). */
  auto?: AutoCreate;
  symlinks?: boolean;
}

export type ConsistencyPolicy = "none" | "resync" | "bitmap" | "journal" | "ppl";
export type AutoCreate = "no" | "yes" | "md" | "mdp" | "part";

/** --build: arrays without metadata. mdts does not implement it; parsed to refuse clearly. */
export interface BuildCommand {
  mode: "build";
  ctx: Context;
  device: string;
  members: string[];
  level?: RaidLevel;
  raidDevices?: number;
  chunkKiB?: number;
  sizeKiB?: number | "max";
}

export interface AssembleCommand {
  mode: "assemble";
  ctx: Context;
  scan: boolean;
  /**
   * The md devices to assemble. Without --scan: exactly one (the first device given). With
   * --scan: those listed (identified from the config file), or none for "everything".
   */
  arrays: string[];
  /** Candidate member devices (only without --scan). */
  members: string[];
  uuid?: string;
  name?: string;
  /** --super-minor: a number, or "dev" (take the minor of the named md device). */
  superMinor?: number | "dev";
  metadata?: MetadataName;
  /** --run / -R, or --no-degraded: mutually exclusive. */
  start?: "run" | "no-degraded";
  readonly: boolean;
  force: boolean;
  update?: string;
  backupFile?: string;
  invalidBackup: boolean;
  freezeReshape: boolean;
  bitmapFile?: string;
  auto?: AutoCreate;
  symlinks?: boolean;
}

export interface IncrementalCommand {
  mode: "incremental";
  ctx: Context;
  /** The device(s) that appeared (udev passes one). */
  devices: string[];
  /** --export/-Y: print KEY=value lines for udev. */
  export: boolean;
  run: boolean;
  scan: boolean;
  /** -r/--rebuild-map: rebuild /run/mdadm/map first. */
  rebuildMap: boolean;
  /** -f/--fail/--remove: fail and remove the device from its array (what udev runs on removal). */
  remove: boolean;
  /** --path=ID_PATH: the udev path recorded for a removed device. */
  path?: string;
  metadata?: MetadataName;
  freezeReshape: boolean;
  auto?: AutoCreate;
}

/** The subject of one manage action: a path or one of mdadm's keywords. */
export type ManageTarget =
  | { kind: "device"; path: string }
  /** `failed`/`faulty`: every failed member (with -r or --re-add). */
  | { kind: "failed" }
  /** `detached`: every member whose device is gone (with -r or -f). */
  | { kind: "detached" }
  /** `missing`: devices from the config file that belong to the array (with --re-add). */
  | { kind: "missing" }
  /** `set-A`, `set-B`, ...: one mirror set of a raid10 (with -r or -f). */
  | { kind: "set"; set: string };

export type ManageAction =
  | "add"
  | "add-spare"
  | "add-journal"
  | "re-add"
  | "remove"
  | "fail"
  | "replace"
  | "with"
  | "cluster-confirm";

export interface ManageOp {
  action: ManageAction;
  target: ManageTarget;
  /** --write-mostly / --readwrite (-w) before the device: set or clear write-mostly. */
  writeMostly?: boolean;
  /** --failfast / --nofailfast before the device. */
  failFast?: boolean;
}

export interface ManageCommand {
  mode: "manage";
  ctx: Context;
  /** The md device (array or container) being managed. */
  device: string;
  ops: ManageOp[];
  /** --run / --stop after the device changes. */
  runStop?: "run" | "stop";
  /** -o/--readonly. */
  readonly: boolean;
  force: boolean;
  test: boolean;
  /** --update=devicesize|bbl|no-bbl|force-no-bbl with --re-add. */
  update?: string;
}

/** What a --grow command line asks for, decided as mdadm decides it. */
export type GrowAction =
  | "add" /* only devices to add (-a) */
  | "bitmap"
  | "continue"
  | "reshape" /* raid-devices, level, chunk, size, layout, data-offset */
  | "consistency-policy"
  | "array-size" /* only --array-size */
  | "none";

export interface GrowCommand {
  mode: "grow";
  ctx: Context;
  device: string;
  action: GrowAction;
  raidDevices?: number;
  level?: RaidLevel;
  chunkKiB?: number;
  sizeKiB?: number | "max";
  /** Raw layout text; the grow logic interprets it against the current level. */
  layout?: string;
  /** Devices given after -a/--add. */
  add: string[];
  backupFile?: string;
  /** -Z/--array-size in KiB, or "max"; applied before any other change. */
  arraySizeKiB?: number | "max";
  bitmap?: string;
  assumeClean: boolean;
  force: boolean;
  dataOffset?: number;
  consistencyPolicy?: ConsistencyPolicy;
  /** mdts: print the plan, write nothing. */
  dryRun: boolean;
  /** mdts: print the plan as JSON. */
  json: boolean;
}

export interface MonitorCommand {
  mode: "monitor";
  ctx: Context;
  devices: string[];
  scan: boolean;
  mail?: string;
  program?: string;
  syslog: boolean;
  /** Seconds between polls. */
  delay?: number;
  daemonise: boolean;
  pidFile?: string;
  oneshot: boolean;
  test: boolean;
  increment: number;
  spareSharing: boolean;
}

export interface ExamineCommand {
  mode: "examine";
  ctx: Context;
  devices: string[];
  scan: boolean;
  /** True with --brief, and with --scan unless -vv (as mdadm). */
  brief: boolean;
  export: boolean;
  /** mdts: the same facts as JSON. */
  json: boolean;
  sparc22: boolean;
  metadata?: MetadataName;
}

export interface DetailCommand {
  mode: "detail";
  ctx: Context;
  devices: string[];
  scan: boolean;
  brief: boolean;
  /** --export/-Y: KEY=value lines (udev imports them). */
  export: boolean;
  /** --test: exit status reflects the array's health. */
  test: boolean;
  noDevices: boolean;
}

export interface DetailPlatformCommand {
  mode: "detail-platform";
  ctx: Context;
  controller?: string;
  scan: boolean;
  brief: boolean;
  export: boolean;
  metadata?: MetadataName;
}

export interface StopCommand {
  mode: "stop";
  ctx: Context;
  devices: string[];
  /** --stop --scan with no device: stop every array. */
  scan: boolean;
}

export interface ZeroSuperblockCommand {
  mode: "zero-superblock";
  ctx: Context;
  devices: string[];
  force: boolean;
  metadata?: MetadataName;
}

export interface WaitCommand {
  mode: "wait";
  ctx: Context;
  devices: string[];
}

export interface WaitCleanCommand {
  mode: "wait-clean";
  ctx: Context;
  devices: string[];
  scan: boolean;
}

/** Misc actions that take nothing but devices. `open` is `--misc DEV` with no action. */
export interface SimpleMiscCommand {
  mode: "query" | "run" | "readonly" | "readwrite" | "open";
  ctx: Context;
  devices: string[];
}

export interface SyncActionCommand {
  mode: "action";
  ctx: Context;
  action: "idle" | "frozen" | "check" | "repair";
  devices: string[];
}

export interface KillSubarrayCommand {
  mode: "kill-subarray";
  ctx: Context;
  subarray: string;
  devices: string[];
}

export interface UpdateSubarrayCommand {
  mode: "update-subarray";
  ctx: Context;
  subarray: string;
  update?: string;
  name?: string;
  devices: string[];
}

/** Recognised mdadm features mdts does not implement; the executor refuses them by name. */
export interface UnsupportedCommand {
  mode: "unsupported";
  ctx: Context;
  /** The option that selects it, e.g. "--examine-bitmap", "--auto-detect", "--dump". */
  feature: string;
  devices: string[];
}

export type MiscCommand =
  | ExamineCommand
  | DetailCommand
  | DetailPlatformCommand
  | StopCommand
  | ZeroSuperblockCommand
  | WaitCommand
  | WaitCleanCommand
  | SimpleMiscCommand
  | SyncActionCommand
  | KillSubarrayCommand
  | UpdateSubarrayCommand
  | UnsupportedCommand;

/** Misc mode with devices under different actions (`-D /dev/md0 -S /dev/md1`), in order. */
export interface MiscSequenceCommand {
  mode: "misc-sequence";
  steps: MiscCommand[];
}

export type Command =
  | HelpCommand
  | VersionCommand
  | CreateCommand
  | BuildCommand
  | AssembleCommand
  | IncrementalCommand
  | ManageCommand
  | GrowCommand
  | MonitorCommand
  | MiscCommand
  | MiscSequenceCommand;

/** mdmon's own command line. */
export type MdmonCommand =
  | { mode: "help" }
  | { mode: "version" }
  | {
    mode: "monitor";
    /** The container (md device name or path); undefined with --all. */
    container?: string;
    /** --all, or the container given as /proc/mdstat: one monitor per external container. */
    all: boolean;
    takeover: boolean;
    foreground: boolean;
    offroot: boolean;
  };

/** A usage error, as data: the text mdadm prints (without its "mdadm: " prefix) and exit code. */
export interface ParseError {
  ok: false;
  /** Exit status: 2 for usage errors, 1 where mdadm exits 1. */
  code: number;
  /** Message lines after the program prefix; continuation lines keep mdadm's indent. */
  message: string;
  /**
   * What follows the message: "hint" is mdadm's two-line "Usage: PROG --help" after getopt errors,
   * "full" is mdmon's whole usage text (it prints it on every usage error).
   */
  usage?: "hint" | "full";
  /** Warnings printed before the error (mdadm prints them as it parses). */
  warnings: string[];
}

export interface ParseOk<T> {
  ok: true;
  command: T;
  /** Non-fatal messages mdadm prints while parsing ("... ignored."), without the prefix. */
  warnings: string[];
}

export type ParseResult<T = Command> = ParseOk<T> | ParseError;
