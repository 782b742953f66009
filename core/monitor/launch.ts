/**
 * Starting the monitor process the way mdmon starts: in the background by default (the
 * caller returns once the new monitor's pid file and socket exist), with argv[0] set to
 * "mdmon", or "@dmon" for --offroot so that systemd's shutdown spares it. Deno cannot
 * rewrite argv[0] in place, so the monitor re-executes itself through `bash -c 'exec -a'`.
 */
import { pidPath, RUN_DIR, runningMonitorPid, socketPath } from "./daemon.ts";

/** This program's own command line prefix (the compiled binary, or deno + mod.ts). */
export function selfCommand(
  execPath = Deno.execPath(),
  mainModule = Deno.mainModule,
): string[] {
  const base = execPath.slice(execPath.lastIndexOf("/") + 1);
  if (base === "deno" && mainModule.startsWith("file://")) {
    return [execPath, "run", "--quiet", "--no-prompt", "-A", new URL(mainModule).pathname];
  }
  return [execPath];
}

/** argv[0] of this process as /proc shows it. */
export function ownArgv0(): string {
  try {
    return Deno.readTextFileSync("/proc/self/cmdline").split("\0")[0];
  } catch {
    return "";
  }
}

function findBash(): string | null {
  for (const p of ["/bin/bash", "/usr/bin/bash"]) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* try the next */ }
  }
  return null;
}

export interface SpawnOptions {
  container: string;
  offroot: boolean;
  takeover: boolean;
  /** Where the monitor's log goes (appended); null discards it. */
  logFile: string | null;
  foreground?: boolean;
}

/**
 * How long a started monitor may take to become ready while it is alive. mdadm waits for
 * mdmon without a limit; a Deno start on a loaded machine can take well over 15 s (the crash
 * matrix saw one miss a 15 s limit while two resumed reshapes ran: the volumes stayed
 * read-only and the reshape was not continued). The limit only catches a monitor that hangs.
 */
export const MONITOR_READY_MS = 180_000;

/** The argv that runs the monitor with its argv[0] set (falls back to a plain start). */
export function monitorArgv(o: SpawnOptions): string[] {
  const args = ["mdmon", "--foreground"];
  if (o.takeover) args.push("--takeover");
  if (o.offroot) args.push("--offroot");
  args.push(o.container);
  const self = [...selfCommand(), ...args];
  const bash = findBash();
  if (!bash) return self;
  const name = o.offroot ? "@dmon" : "mdmon";
  return [bash, "-c", `exec -a ${name} "$0" "$@"`, ...self];
}

function childEnv(): Record<string, string> {
  // the child knows it is the monitor from its arguments; MDTS_ARGV0 would override argv[0]
  const env = Deno.env.toObject();
  delete env.MDTS_ARGV0;
  env.MDTS_MONITOR_CHILD = "1";
  return env;
}

/**
 * Starts the monitor in the background and waits until it is ready (its pid in the pid file
 * and its socket present) or has exited. Returns null on success, else why it failed.
 * `argv` and `readyMs` are for tests.
 */
export async function startBackground(
  o: SpawnOptions,
  runDir = RUN_DIR,
  argv = monitorArgv(o),
  readyMs = MONITOR_READY_MS,
): Promise<string | null> {
  // the monitor outlives this process: a pipe to us would break when we exit (its next log
  // line EPIPE), so it gets no stderr and writes its log file itself (MDTS_MDMON_LOG)
  const env = childEnv();
  if (o.logFile) env.MDTS_MDMON_LOG = o.logFile;
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  let exited: Deno.CommandStatus | null = null;
  child.status.then((s) => (exited = s));
  const deadline = Date.now() + readyMs;
  while (Date.now() < deadline) {
    if (exited !== null) {
      return `the monitor exited with status ${
        (exited as Deno.CommandStatus).code
      } before it was ready`;
    }
    const pid = await runningMonitorPid(runDir, o.container);
    if (pid !== null && pid !== Deno.pid && (await exists(socketPath(runDir, o.container)))) {
      const ours = await isDescendant(pid, child.pid);
      if (ours) {
        child.unref();
        return null;
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return `the monitor (pid ${child.pid}) runs but did not create ${
    pidPath(runDir, o.container)
  } and its socket within ${readyMs / 1000} s`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** True if `pid` is `ancestor` or runs under it (bash exec keeps the pid; deno may not). */
async function isDescendant(pid: number, ancestor: number): Promise<boolean> {
  let p = pid;
  for (let i = 0; i < 8 && p > 1; i++) {
    if (p === ancestor) return true;
    try {
      const stat = await Deno.readTextFile(`/proc/${p}/stat`);
      p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * Runs the monitor in the foreground under its proper argv[0]: the child inherits stdio,
 * SIGTERM/SIGUSR1 are passed on, and its exit status is returned.
 */
export async function runForegroundReexec(o: SpawnOptions): Promise<number> {
  const argv = monitorArgv(o);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: childEnv(),
    clearEnv: true,
    stdin: "null",
  }).spawn();
  const pass = (sig: Deno.Signal) => () => {
    try {
      child.kill(sig);
    } catch { /* gone */ }
  };
  const term = pass("SIGTERM");
  const usr1 = pass("SIGUSR1");
  Deno.addSignalListener("SIGTERM", term);
  Deno.addSignalListener("SIGUSR1", usr1);
  const status = await child.status;
  Deno.removeSignalListener("SIGTERM", term);
  Deno.removeSignalListener("SIGUSR1", usr1);
  return status.code;
}
