/** What the mdadm grammar has gathered while reading the arguments, before it builds a Command. */
import type {
  AutoCreate,
  ConsistencyPolicy,
  Context,
  MetadataName,
  RaidLevel,
} from "../command.ts";
import type { ShortSpec } from "./getopt.ts";
import { SHORT_DEFAULT } from "./mdadm-options.ts";

export type Mode =
  | "assemble"
  | "build"
  | "create"
  | "manage"
  | "misc"
  | "monitor"
  | "grow"
  | "incremental"
  | "auto-detect";

/** A non-option argument and the "device mode" (-a, -r, -D, ...) in force when it was given. */
export interface DeviceArg {
  name: string;
  disposition?: string;
  writeMostly?: boolean;
  failFast?: boolean;
}

export interface Gathered {
  mode?: Mode;
  shorts: ShortSpec;
  /** The last device-mode option; applies to the devices that follow it. */
  devmode?: string;
  devices: DeviceArg[];
  printHelp: 0 | 1 | 2;
  warnings: string[];
  ctx: Context;
  brief: boolean;
  noDevices: boolean;
  exportCount: number;
  scan: boolean;
  force: boolean;
  test: boolean;
  readonly: boolean;
  /** mdadm's runstop: 1 = --run, -1 = --stop (or --no-degraded in assemble/incremental). */
  runstop: -1 | 0 | 1;
  metadata?: MetadataName;
  chunkKiB?: number;
  sizeKiB?: number | "max";
  arraySizeKiB?: number | "max";
  dataOffset?: number | "variable";
  level?: RaidLevel;
  layout?: string;
  assumeClean: boolean;
  raidDevices?: number;
  spareDevices?: number;
  nodes?: number;
  auto?: AutoCreate;
  symlinks?: string;
  freezeReshape: boolean;
  uuid?: string;
  name?: string;
  superMinor?: number | "dev";
  update?: string;
  backupFile?: string;
  invalidBackup: boolean;
  growContinue: boolean;
  bitmap?: string;
  bitmapChunkBytes?: number;
  writeBehind?: number;
  rebuildMap: boolean;
  path?: string;
  writeJournal?: string;
  consistencyPolicy?: ConsistencyPolicy;
  mail?: string;
  program?: string;
  increment: number;
  delay?: number;
  daemonise: boolean;
  pidFile?: string;
  oneshot: boolean;
  spareSharing: boolean;
  syslog: boolean;
  subarray?: string;
  action?: "idle" | "frozen" | "check" | "repair";
  dumpDirectory?: string;
  udevFile?: string;
  sparc22: boolean;
  dryRun: boolean;
  json: boolean;
  /** write-mostly/failfast state applied to the devices given after it (manage, create). */
  writeMostly?: boolean;
  failFast?: boolean;
}

export function emptyGathered(): Gathered {
  return {
    shorts: SHORT_DEFAULT,
    devices: [],
    printHelp: 0,
    warnings: [],
    ctx: { verbose: 0, requireHomehost: true, offroot: false },
    brief: false,
    noDevices: false,
    exportCount: 0,
    scan: false,
    force: false,
    test: false,
    readonly: false,
    runstop: 0,
    assumeClean: false,
    freezeReshape: false,
    invalidBackup: false,
    growContinue: false,
    rebuildMap: false,
    increment: 20,
    daemonise: false,
    oneshot: false,
    spareSharing: true,
    syslog: false,
    sparc22: false,
    dryRun: false,
    json: false,
  };
}
