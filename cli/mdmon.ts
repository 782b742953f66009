/**
 * The mdmon personality: `mdmon [--foreground] [--takeover] [--offroot] [--all] CONTAINER`
 * (also `mdts mdmon ...`). Resolves the container, then runs the monitor here (foreground)
 * or starts it in the background and returns once it is ready, as mdmon does.
 */
import type { Io, System } from "./run.ts";
import { formatParseError, parseMdmon } from "./parse.ts";
import { helpText } from "./help.ts";
import { versionLine } from "./version.ts";
import { runDaemon } from "../core/monitor/daemon.ts";
import { ownArgv0, runForegroundReexec, startBackground } from "../core/monitor/launch.ts";
import { sysMlockall } from "../kernel/libc.ts";
import { acceptedPeers } from "../kernel/peer_cred.ts";
import type { Kernel } from "../kernel/interface.ts";

/** md127, /dev/md127, /dev/md/imsm0 or initrd/md127 -> md127; null if it names no md device. */
export async function containerDevnm(kernel: Kernel, name: string): Promise<string | null> {
  let n = name.startsWith("initrd/") ? name.slice("initrd/".length) : name;
  if (n.startsWith("/dev/md/")) {
    try {
      n = await Deno.realPath(n);
    } catch {
      return null;
    }
  }
  n = n.slice(n.lastIndexOf("/") + 1);
  if (!/^md/.test(n)) return null;
  return (await kernel.array(n).exists()) ? n : null;
}

export async function runMdmon(argv: string[], io: Io, system: System): Promise<number> {
  // a monitor re-executed as "mdmon" still carries the `mdmon` word of `mdts mdmon ...`
  const args = argv[0] === "mdmon" ? argv.slice(1) : argv;
  const parsed = parseMdmon(args);
  if (!parsed.ok) {
    io.err(formatParseError(parsed, "mdmon", helpText("mdmon")));
    return parsed.code;
  }
  const cmd = parsed.command;
  if (cmd.mode === "help") {
    io.err(helpText("mdmon"));
    return 2;
  }
  if (cmd.mode === "version") {
    io.err(versionLine("mdmon") + "\n");
    return 0;
  }
  const kernel = system.kernel();
  const containers: string[] = [];
  if (cmd.all) {
    for (const a of (await kernel.mdstat()).arrays) {
      if (a.superVersion !== null && /^external:[^\/-]/.test(a.superVersion)) {
        containers.push(a.devnm);
      }
    }
  } else {
    const devnm = await containerDevnm(kernel, cmd.container!);
    if (devnm === null) {
      io.err(`mdmon: ${cmd.container}: not an md device\n`);
      return 1;
    }
    const v = await kernel.array(devnm).metadataVersion();
    if (v.kind !== "external-container") {
      io.err(`mdmon: ${cmd.container} is not a container - cannot monitor\n`);
      return 1;
    }
    containers.push(devnm);
  }
  const logFile = system.env("MDTS_MDMON_LOG") ?? null;
  // each container gets its own monitor process (--all) or this one is it
  if (cmd.all || !cmd.foreground) {
    let status = 0;
    for (const c of containers) {
      const err = await startBackground({
        container: c,
        offroot: cmd.offroot,
        takeover: cmd.takeover || cmd.all,
        logFile,
      });
      if (err !== null) {
        io.err(`mdmon: ${c}: ${err}\n`);
        status = 1;
      }
    }
    return status;
  }
  const argv0 = ownArgv0();
  const wanted = cmd.offroot ? "@" : "mdmon";
  if (!argv0.includes(wanted) && system.env("MDTS_MONITOR_CHILD") !== "1") {
    return await runForegroundReexec({
      container: containers[0],
      offroot: cmd.offroot,
      takeover: cmd.takeover,
      logFile,
    });
  }
  const log = monitorLog(logFile, io);
  const result = await runDaemon(kernel, {
    devnm: containers[0],
    takeover: cmd.takeover,
    env: system.env,
    log,
    acceptedPeers,
    // mdmon locks itself in memory so that a page fault can never wait on an array that waits
    // on it. Under V8 that is harmful: mlockall(MCL_CURRENT|MCL_FUTURE) populates ~860 MiB of
    // V8's reservations and V8 aborts at exit ("Check failed") when it cannot decommit locked
    // pages. So it is opt-in (MDTS_MLOCK=1: current mappings only) until a small native helper
    // can hold the monitor's critical path.
    lockMemory: () => {
      if (system.env("MDTS_MLOCK") !== "1") return;
      try {
        sysMlockall(1); // MCL_CURRENT
      } catch (e) {
        log(`mlockall failed (${(e as Error).message}); continuing unlocked`);
      }
    },
  });
  if (result.kind === "already-managed") {
    io.err(`mdmon: ${containers[0]} already managed\n`);
    return 3;
  }
  return result.code;
}

/**
 * Where the monitor's lines go: appended to MDTS_MDMON_LOG when set (a background monitor has
 * no stderr), else stderr. Lines that cannot be written are dropped; the daemon keeps running.
 */
export function monitorLog(logFile: string | null, io: Io): (m: string) => void {
  if (logFile === null) return (m) => io.err(`mdmon: ${m}\n`);
  const enc = new TextEncoder();
  let file: Deno.FsFile | null = null;
  return (m) => {
    try {
      file ??= Deno.openSync(logFile, { create: true, append: true, mode: 0o600 });
      file.writeSync(enc.encode(`mdmon: ${m}\n`));
    } catch {
      file = null;
    }
  };
}
