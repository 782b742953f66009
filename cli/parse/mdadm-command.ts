/**
 * Turns what the grammar gathered into a typed Command, applying the checks mdadm makes after
 * reading the options and before touching any device (same messages, same exit codes).
 */
import type {
  AssembleCommand,
  Command,
  CreateMember,
  GrowAction,
  GrowCommand,
  HelpTopic,
  ManageAction,
  ManageCommand,
  ManageOp,
  ManageTarget,
  MiscCommand,
  ParseError,
  ParseResult,
} from "../command.ts";
import type { DeviceArg, Gathered } from "./mdadm-state.ts";
import { usageError } from "./mdadm-grammar.ts";
import { levelName, levelNumber } from "./values.ts";

const MD_NAME_MAX = 32;

function ok(g: Gathered, command: Command): ParseResult {
  return { ok: true, command, warnings: g.warnings };
}

export function buildMdadmCommand(g: Gathered): ParseResult {
  if (g.printHelp) {
    const topic: HelpTopic = g.printHelp === 2
      ? "options"
      : g.mode && g.mode !== "auto-detect"
      ? g.mode
      : "general";
    return ok(g, { mode: "help", topic });
  }
  const shapeError = checkJournalAndPolicy(g);
  if (shapeError) return shapeError;

  if (!g.mode && g.devices.length > 0) {
    g.mode = "misc";
    g.devmode = "Q";
    g.devices[0].disposition ??= "Q";
  }
  if (!g.mode) return usageError(g, "", 2, "hint");

  if (g.symlinks !== undefined && !["yes", "no"].includes(g.symlinks.toLowerCase())) {
    return usageError(g, "option --symlinks must be 'no' or 'yes'");
  }
  const needsDevice = g.mode === "manage" || g.mode === "build" || g.mode === "create" ||
    g.mode === "grow" || (g.mode === "assemble" && !g.scan);
  if (needsDevice) {
    if (g.devices.length < 1) return usageError(g, "an md device must be given in this mode");
    if (g.superMinor === "dev" && g.auto) {
      return usageError(g, "--super-minor=dev is incompatible with --auto");
    }
    if (g.mode !== "manage" && g.mode !== "grow") {
      const base = g.devices[0].name.split("/").pop() ?? "";
      if (new TextEncoder().encode(base).length > MD_NAME_MAX) {
        return usageError(g, `Name ${g.devices[0].name} is too long.`, 1);
      }
    }
  }
  if (g.raidDevices === 1 && !g.force && g.level !== "faulty") {
    return usageError(
      g,
      "'1' is an unusual number of drives for an array, so it is probably\n" +
        "     a mistake.  If you really mean it you will need to specify --force before\n" +
        "     setting the number of drives.",
    );
  }
  if (g.backupFile !== undefined && g.dataOffset !== undefined) {
    return usageError(g, "--backup-file and --data-offset are incompatible");
  }
  // --scan implies --brief unless -vv.
  if (g.scan && g.ctx.verbose < 2) g.brief = true;

  switch (g.mode) {
    case "manage":
      return buildManage(g);
    case "assemble":
      return buildAssemble(g);
    case "build":
      return buildBuild(g);
    case "create":
      return buildCreate(g);
    case "misc":
      return buildMisc(g);
    case "monitor":
      return buildMonitor(g);
    case "grow":
      return buildGrow(g);
    case "incremental":
      return buildIncremental(g);
    case "auto-detect":
      return ok(g, { mode: "unsupported", ctx: g.ctx, feature: "--auto-detect", devices: [] });
  }
}

function checkJournalAndPolicy(g: Gathered): ParseError | undefined {
  const level = g.level === undefined ? undefined : levelNumber(g.level);
  if (g.writeJournal !== undefined) {
    if (level === undefined || level < 4 || level > 6) {
      return usageError(g, "--write-journal is only supported for RAID level 4/5/6.");
    }
    if (g.consistencyPolicy !== undefined && g.consistencyPolicy !== "journal") {
      return usageError(
        g,
        `--write-journal is not supported with consistency policy: ${g.consistencyPolicy}`,
      );
    }
  }
  if (g.mode !== "create" || g.consistencyPolicy === undefined) return undefined;
  const policy = g.consistencyPolicy;
  const hasBitmap = g.bitmap !== undefined && g.bitmap !== "none";
  if (level === undefined || level <= 0) {
    const name = g.level === undefined ? "(null)" : levelName(g.level);
    return usageError(g, `--consistency-policy not meaningful with level ${name}.`);
  }
  if (policy === "journal" && g.writeJournal === undefined) {
    return usageError(g, `--write-journal is required for consistency policy: ${policy}`);
  }
  if (policy === "ppl" && level !== 5) {
    return usageError(g, "PPL consistency policy is only supported for RAID level 5.");
  }
  if (policy === "bitmap" && !hasBitmap) {
    return usageError(g, `--bitmap is required for consistency policy: ${policy}`);
  }
  if (hasBitmap && policy !== "bitmap" && policy !== "journal") {
    return usageError(g, `--bitmap is not compatible with consistency policy: ${policy}`);
  }
  return undefined;
}

/** The letter mdadm shows for a manage disposition in its messages. */
const MANAGE_LETTER: Record<ManageAction, string> = {
  "add": "a",
  "add-spare": "S",
  "add-journal": "j",
  "re-add": "A",
  "remove": "r",
  "fail": "f",
  "replace": "R",
  "with": "W",
  "cluster-confirm": "c",
};

function manageTarget(
  g: Gathered,
  d: DeviceArg,
  action: ManageAction,
): ManageTarget | ParseError {
  const letter = MANAGE_LETTER[action];
  if (d.name === "failed" || d.name === "faulty") {
    if (action !== "re-add" && action !== "remove") {
      return usageError(g, `${d.name} only meaningful with -r or --re-add, not -${letter}`, 1);
    }
    return { kind: "failed" };
  }
  if (d.name === "detached") {
    if (action !== "remove" && action !== "fail") {
      return usageError(g, `${d.name} only meaningful with -r of -f, not -${letter}`, 1);
    }
    return { kind: "detached" };
  }
  if (d.name === "missing" && action !== "cluster-confirm") {
    if (action !== "re-add") return usageError(g, "'missing' only meaningful with --re-add", 1);
    return { kind: "missing" };
  }
  if (/^set-.$/.test(d.name)) {
    if (action !== "remove" && action !== "fail") {
      return usageError(g, `'${d.name}' only meaningful with -r or -f`, 1);
    }
    return { kind: "set", set: d.name.slice(4) };
  }
  return { kind: "device", path: d.name };
}

function buildManage(g: Gathered): ParseResult {
  const [array, ...rest] = g.devices;
  const ops: ManageOp[] = [];
  for (const d of rest) {
    const action = d.disposition as ManageAction;
    const target = manageTarget(g, d, action);
    if ("ok" in target) return target;
    const op: ManageOp = { action, target };
    if (d.writeMostly !== undefined) op.writeMostly = d.writeMostly;
    if (d.failFast !== undefined) op.failFast = d.failFast;
    ops.push(op);
  }
  const command: ManageCommand = {
    mode: "manage",
    ctx: g.ctx,
    device: array.name,
    ops,
    readonly: g.readonly,
    force: g.force,
    test: g.test,
  };
  if (g.runstop > 0) command.runStop = "run";
  if (g.runstop < 0) command.runStop = "stop";
  if (g.update !== undefined) command.update = g.update;
  return ok(g, command);
}

function buildAssemble(g: Gathered): ParseResult {
  const names = g.devices.map((d) => d.name);
  if (!g.scan && g.runstop === -1) {
    return usageError(g, "--no-degraded not meaningful without a --scan assembly.", 1);
  }
  if (g.scan && names.length > 0) {
    if (g.update !== undefined && names.length > 1) {
      return usageError(g, "can only update a single array at a time", 1);
    }
    if (g.backupFile !== undefined && names.length > 1) {
      return usageError(g, "can only assemble a single array when providing a backup file.", 1);
    }
  }
  if (g.scan && names.length === 0) {
    if (g.update !== undefined) {
      return usageError(g, "--update not meaningful with a --scan assembly.", 1);
    }
    if (g.backupFile !== undefined) {
      return usageError(g, "--backup_file not meaningful with a --scan assembly.", 1);
    }
  }
  const command: AssembleCommand = {
    mode: "assemble",
    ctx: g.ctx,
    scan: g.scan,
    arrays: g.scan ? names : names.slice(0, 1),
    members: g.scan ? [] : names.slice(1),
    readonly: g.readonly,
    force: g.force,
    invalidBackup: g.invalidBackup,
    freezeReshape: g.freezeReshape,
  };
  if (g.runstop > 0) command.start = "run";
  if (g.runstop < 0) command.start = "no-degraded";
  assignDefined(command, {
    uuid: g.uuid,
    name: g.name,
    superMinor: g.superMinor,
    metadata: g.metadata,
    update: g.update,
    backupFile: g.backupFile,
    bitmapFile: g.bitmap,
    auto: g.auto,
    symlinks: g.symlinks === undefined ? undefined : g.symlinks.toLowerCase() === "yes",
  });
  return ok(g, command);
}

function buildBuild(g: Gathered): ParseResult {
  if (g.writeBehind !== undefined && g.bitmap === undefined) {
    return usageError(g, "write-behind mode requires a bitmap.", 1);
  }
  if (g.raidDevices === undefined) return usageError(g, "no raid-devices specified.", 1);
  if (g.bitmap === "internal" || g.bitmap === "clustered") {
    return usageError(g, "'internal' and 'clustered' bitmaps not supported with --build", 1);
  }
  const [array, ...rest] = g.devices;
  return ok(g, {
    mode: "build",
    ctx: g.ctx,
    device: array.name,
    members: rest.map((d) => d.name),
    ...defined({
      level: g.level,
      raidDevices: g.raidDevices,
      chunkKiB: g.chunkKiB,
      sizeKiB: g.sizeKiB,
    }),
  });
}

function buildCreate(g: Gathered): ParseResult {
  if (g.nodes !== undefined) {
    if (g.bitmap !== "clustered") {
      return usageError(g, "--nodes argument only compatible with --bitmap=clustered", 1);
    }
    if (g.level !== 1 && g.level !== 10) {
      return usageError(g, "--bitmap=clustered is currently supported with raid1/10 only", 1);
    }
    if (g.level === 10 && g.layout !== undefined && !/^n/.test(g.layout)) {
      return usageError(g, "only near layout is supported with clustered raid10", 1);
    }
  }
  if (g.writeBehind !== undefined && g.bitmap === undefined) {
    return usageError(g, "write-behind mode requires a bitmap.", 1);
  }
  if (g.raidDevices === undefined) return usageError(g, "no raid-devices specified.", 1);
  const [array, ...rest] = g.devices;
  const members: CreateMember[] = rest.map((d) =>
    d.name === "missing" ? { kind: "missing" } : { kind: "device", path: d.name }
  );
  return ok(g, {
    mode: "create",
    ctx: g.ctx,
    device: array.name,
    members,
    run: g.runstop > 0,
    force: g.force,
    readonly: g.readonly,
    assumeClean: g.assumeClean,
    ...defined({
      metadata: g.metadata,
      level: g.level,
      raidDevices: g.raidDevices,
      spareDevices: g.spareDevices,
      chunkKiB: g.chunkKiB,
      sizeKiB: g.sizeKiB,
      layout: g.layout,
      name: g.name,
      uuid: g.uuid,
      bitmap: g.bitmap,
      bitmapChunkBytes: g.bitmapChunkBytes,
      delay: g.delay,
      dataOffset: g.dataOffset,
      consistencyPolicy: g.consistencyPolicy,
      writeJournal: g.writeJournal,
      auto: g.auto,
      symlinks: g.symlinks === undefined ? undefined : g.symlinks.toLowerCase() === "yes",
    }),
  });
}

function buildMonitor(g: Gathered): ParseResult {
  if (g.devices.length === 0 && !g.scan) {
    return usageError(g, "Cannot monitor: need --scan or at least one device", 1);
  }
  if (g.pidFile !== undefined && !g.daemonise) {
    return usageError(g, "Cannot write a pid file when not in daemon mode", 1);
  }
  return ok(g, {
    mode: "monitor",
    ctx: g.ctx,
    devices: g.devices.map((d) => d.name),
    scan: g.scan,
    syslog: g.syslog,
    daemonise: g.daemonise,
    oneshot: g.oneshot,
    test: g.test,
    increment: g.increment,
    spareSharing: g.spareSharing,
    ...defined({ mail: g.mail, program: g.program, delay: g.delay, pidFile: g.pidFile }),
  });
}

function growAction(g: Gathered): GrowAction | ParseError {
  const extra = g.devices.length > 1;
  if (
    g.arraySizeKiB !== undefined && (g.raidDevices !== undefined || g.level !== undefined)
  ) {
    return usageError(
      g,
      "cannot change array size in same operation as changing raiddisks or level.\n" +
        "    Change size first, then check that data is still intact.",
      1,
    );
  }
  const geometry = g.sizeKiB !== undefined || g.chunkKiB !== undefined ||
    g.layout !== undefined;
  if (extra && g.raidDevices === undefined && g.level === undefined) {
    if (geometry || g.bitmap !== undefined) {
      return usageError(g, "--add cannot be used with other geometry changes in --grow mode", 1);
    }
    return "add";
  }
  if (g.bitmap !== undefined) {
    if (geometry || g.raidDevices !== undefined || extra) {
      return usageError(
        g,
        "--bitmap changes cannot be used with other geometry changes in --grow mode",
        1,
      );
    }
    return "bitmap";
  }
  if (g.growContinue) return "continue";
  if (
    geometry || g.raidDevices !== undefined || g.level !== undefined ||
    g.dataOffset !== undefined
  ) {
    return "reshape";
  }
  if (g.consistencyPolicy !== undefined) return "consistency-policy";
  if (g.arraySizeKiB !== undefined) return "array-size";
  // mdadm says so and exits 0.
  g.warnings.push("no changes to --grow");
  return "none";
}

function buildGrow(g: Gathered): ParseResult {
  const action = growAction(g);
  if (typeof action !== "string") return action;
  const [array, ...rest] = g.devices;
  const command: GrowCommand = {
    mode: "grow",
    ctx: g.ctx,
    device: array.name,
    action,
    add: rest.map((d) => d.name),
    assumeClean: g.assumeClean,
    force: g.force,
    dryRun: g.dryRun,
    json: g.json,
  };
  assignDefined(command, {
    raidDevices: g.raidDevices,
    level: g.level,
    chunkKiB: g.chunkKiB,
    sizeKiB: g.sizeKiB,
    layout: g.layout,
    backupFile: g.backupFile,
    arraySizeKiB: g.arraySizeKiB,
    bitmap: g.bitmap,
    dataOffset: typeof g.dataOffset === "number" ? g.dataOffset : undefined,
    consistencyPolicy: g.consistencyPolicy,
  });
  return ok(g, command);
}

function buildIncremental(g: Gathered): ParseResult {
  const devices = g.devices.map((d) => d.name);
  const remove = g.devmode === "fail";
  if (g.scan) {
    if (devices.length > 0) {
      return usageError(g, "In --incremental mode, a device cannot be given with --scan.", 1);
    }
    if (g.runstop <= 0) return usageError(g, "--incremental --scan meaningless without --run.", 1);
    if (remove) return usageError(g, "--incremental --scan --fail not supported.", 1);
  }
  if (devices.length === 0 && !g.rebuildMap && !g.scan) {
    return usageError(g, "--incremental requires a device.", 1);
  }
  if (remove && devices.length > 1) {
    return usageError(g, "'--incremental --fail' can only handle one device.", 1);
  }
  return ok(g, {
    mode: "incremental",
    ctx: g.ctx,
    devices,
    export: g.exportCount > 0,
    run: g.runstop > 0,
    scan: g.scan,
    rebuildMap: g.rebuildMap,
    remove,
    freezeReshape: g.freezeReshape,
    ...defined({ path: g.path, metadata: g.metadata, auto: g.auto }),
  });
}

function buildMisc(g: Gathered): ParseResult {
  const names = g.devices.map((d) => d.name);
  const ctx = g.ctx;
  if (g.json && g.devmode !== "E") {
    return usageError(g, "--json only allowed with --examine");
  }
  if (g.devmode === "E") {
    if (names.length === 0 && !g.scan) return usageError(g, "No devices to examine");
    return ok(g, {
      mode: "examine",
      ctx,
      devices: names,
      scan: g.scan,
      brief: g.brief,
      export: g.exportCount > 0,
      json: g.json,
      sparc22: g.sparc22,
      ...defined({ metadata: g.metadata }),
    });
  }
  if (g.devmode === "detail-platform") {
    return ok(g, {
      mode: "detail-platform",
      ctx,
      scan: g.metadata ? g.scan : true,
      brief: g.brief,
      export: g.exportCount > 0,
      ...defined({ controller: names[0], metadata: g.metadata }),
    });
  }
  if (names.length === 0) {
    if (g.devmode === "S" && g.scan) return ok(g, { mode: "stop", ctx, devices: [], scan: true });
    if (g.devmode === "D" && g.scan) return ok(g, detail(g, []));
    if (g.devmode === "wait-clean" && g.scan) {
      return ok(g, { mode: "wait-clean", ctx, devices: [], scan: true });
    }
    if (g.devmode === "udev-rules") {
      return ok(g, { mode: "unsupported", ctx, feature: "--udev-rules", devices: [] });
    }
    return usageError(g, "No devices given.");
  }
  // Consecutive devices under the same action form one step.
  const steps: MiscCommand[] = [];
  let run: DeviceArg[] = [];
  const flush = (): ParseError | undefined => {
    if (run.length === 0) return undefined;
    const step = miscStep(g, run[0].disposition, run.map((d) => d.name));
    run = [];
    if ("ok" in step) return step;
    steps.push(step);
    return undefined;
  };
  for (const d of g.devices) {
    if (run.length > 0 && run[0].disposition !== d.disposition) {
      const err = flush();
      if (err) return err;
    }
    run.push(d);
  }
  const err = flush();
  if (err) return err;
  return ok(g, steps.length === 1 ? steps[0] : { mode: "misc-sequence", steps });
}

function detail(g: Gathered, devices: string[]): MiscCommand {
  return {
    mode: "detail",
    ctx: g.ctx,
    devices,
    scan: g.scan,
    brief: g.brief,
    export: g.exportCount > 0,
    test: g.test,
    noDevices: g.noDevices,
  };
}

const UNSUPPORTED_MISC: Record<string, string> = {
  X: "--examine-bitmap",
  "examine-badblocks": "--examine-badblocks",
  dump: "--dump",
  restore: "--restore",
  "udev-rules": "--udev-rules",
};

function miscStep(
  g: Gathered,
  disposition: string | undefined,
  devices: string[],
): MiscCommand | ParseError {
  const ctx = g.ctx;
  switch (disposition) {
    case "D":
      return detail(g, devices);
    case "zero-superblock":
      return {
        mode: "zero-superblock",
        ctx,
        devices,
        force: g.force,
        ...defined({ metadata: g.metadata }),
      };
    case "Q":
      return { mode: "query", ctx, devices };
    case "W":
    case "wait":
      return { mode: "wait", ctx, devices };
    case "wait-clean":
      return { mode: "wait-clean", ctx, devices, scan: g.scan };
    case "kill-subarray":
      return { mode: "kill-subarray", ctx, subarray: g.subarray!, devices };
    case "update-subarray":
      if (g.update === undefined) {
        return usageError(g, "-U/--update must be specified with --update-subarray", 1);
      }
      return {
        mode: "update-subarray",
        ctx,
        subarray: g.subarray!,
        update: g.update,
        devices,
        ...defined({ name: g.name }),
      };
    case "action":
      return { mode: "action", ctx, action: g.action!, devices };
    case "R":
      return { mode: "run", ctx, devices };
    case "S":
      if (g.scan) {
        return usageError(
          g,
          "--stop not meaningful with both a --scan assembly and a device name.",
          1,
        );
      }
      return { mode: "stop", ctx, devices, scan: false };
    case "o":
      return { mode: "readonly", ctx, devices };
    case "w":
      return { mode: "readwrite", ctx, devices };
    case undefined:
      return { mode: "open", ctx, devices };
  }
  return {
    mode: "unsupported",
    ctx,
    feature: UNSUPPORTED_MISC[disposition] ?? disposition,
    devices,
  };
}

/** Drops undefined fields so commands compare and print cleanly. */
function defined<T extends Record<string, unknown>>(fields: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

function assignDefined<T extends object>(target: T, fields: Partial<T>): void {
  Object.assign(target, defined(fields as Record<string, unknown>));
}
