/**
 * The monitor as a process (mdmon): pid file and control socket in /run/mdadm, taking over
 * from a running monitor, serving requests, signals, and the end when the container has no
 * member arrays left. The decisions live in monitor.ts / manager.ts; this file is the shell
 * around them that touches files, sockets and processes.
 */
import type { Kernel } from "../../kernel/interface.ts";
import { externalMemberOf } from "../../kernel/md/mdstat.ts";
import { ContainerModel, type Env } from "./container_model.ts";
import { Manager } from "./manager.ts";
import { type Log, Monitor } from "./monitor.ts";
import { encodeFrame, encodePing, FrameReader, ProtocolError } from "./protocol.ts";

export const RUN_DIR = "/run/mdadm";

export interface DaemonOptions {
  /** Kernel name of the container (md127). */
  devnm: string;
  takeover: boolean;
  runDir?: string;
  env: Env;
  log: Log;
  /** Locks the process in memory (mlockall); absent in tests. */
  lockMemory?: () => void;
  /** Seconds a connection may stay silent before it is dropped (mdmon: 3). */
  connectionTimeoutMs?: number;
  /**
   * Pid and uid of each connection accepted on the socket bound at a path (SO_PEERCRED).
   * With it, a connection from anyone but root (or this process's own user) is closed
   * unanswered; without it (tests) only the socket file's mode 0600 guards the socket.
   */
  acceptedPeers?: (boundPath: string) => { pid: number; uid: number }[];
}

export const pidPath = (runDir: string, devnm: string) => `${runDir}/${devnm}.pid`;
export const socketPath = (runDir: string, devnm: string) => `${runDir}/${devnm}.sock`;

/** The pid in CONTAINER.pid if that process exists, else null. */
export async function runningMonitorPid(runDir: string, devnm: string): Promise<number | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(pidPath(runDir, devnm));
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    await Deno.stat(`/proc/${pid}`);
    return pid;
  } catch {
    return null;
  }
}

/** Reads one frame from a connection, or null on EOF/timeout/garbage. */
async function readFrame(
  conn: Deno.Conn,
  reader: FrameReader,
  timeoutMs: number,
): Promise<{ length: number; payload: Uint8Array } | null> {
  for (;;) {
    const f = reader.next();
    if (f) return f;
    const buf = new Uint8Array(65536);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)));
    const n = await Promise.race([conn.read(buf), timeout]).finally(() => clearTimeout(timer));
    if (n === null) return null;
    reader.push(buf.subarray(0, n));
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await conn.write(bytes.subarray(done));
}

/**
 * Pings the monitor behind `path`: the reply's version text, or null when nobody answers.
 * Works against mdadm's mdmon and ours.
 */
export async function pingSocket(path: string, timeoutMs = 20_000): Promise<string | null> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch {
    return null;
  }
  try {
    await writeAll(conn, encodePing());
    const f = await readFrame(conn, new FrameReader(), timeoutMs);
    if (!f) return null;
    const end = f.payload.indexOf(0);
    return new TextDecoder().decode(end < 0 ? f.payload : f.payload.subarray(0, end));
  } catch {
    return null;
  } finally {
    conn.close();
  }
}

/** Sends update blobs (each acknowledged) then a ping; null on success, else what failed. */
export async function sendUpdates(
  path: string,
  blobs: Uint8Array[],
  timeoutMs = 20_000,
): Promise<string | null> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (e) {
    return `cannot connect to ${path}: ${(e as Error).message}`;
  }
  const reader = new FrameReader();
  try {
    for (const b of blobs) {
      await writeAll(conn, encodeFrame(b.length, b));
      if (!(await readFrame(conn, reader, timeoutMs))) return `no acknowledgement from ${path}`;
    }
    await writeAll(conn, encodePing());
    if (!(await readFrame(conn, reader, timeoutMs))) return `no ping reply from ${path}`;
    return null;
  } catch (e) {
    return `talking to ${path}: ${(e as Error).message}`;
  } finally {
    conn.close();
  }
}

function isMonitorProcess(pid: number): boolean {
  try {
    const argv0 = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0")[0];
    return argv0.includes("mdmon") || argv0.includes("@dmon") || argv0.includes("mdts");
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Ends the previous monitor: SIGTERM, then SIGUSR1 wake-ups until it is gone (~5 s). */
async function endPrevious(pid: number, log: Log): Promise<boolean> {
  if (!isMonitorProcess(pid)) {
    log(`pid ${pid} from the pid file is not a monitor; leaving it alone`);
    return true;
  }
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    return true;
  }
  for (let i = 0; i < 50 && alive(pid); i++) {
    await sleep(100);
    try {
      Deno.kill(pid, "SIGUSR1");
    } catch {
      break;
    }
  }
  const gone = !alive(pid);
  log(gone ? `previous monitor ${pid} exited` : `previous monitor ${pid} did not exit`);
  return gone;
}

/** Member arrays of the container listed in /proc/mdstat (any level). */
async function memberArrays(kernel: Kernel, devnm: string): Promise<string[]> {
  const mdstat = await kernel.mdstat();
  // an inactive entry is a stopped array md has not released yet, or one being assembled
  return mdstat.arrays.filter((a) =>
    a.active && externalMemberOf(a.superVersion)?.container === devnm
  ).map((a) => a.devnm);
}

/**
 * Whether the connection just accepted comes from root (or our own user): connections are
 * served one at a time, so the only accepted socket open now is this one.
 */
function peerAllowed(o: DaemonOptions, boundPath: string, ownUid: number, log: Log): boolean {
  if (!o.acceptedPeers) return true;
  let peers: { pid: number; uid: number }[];
  try {
    peers = o.acceptedPeers(boundPath);
  } catch (e) {
    // the mode 0600 socket still keeps others out; a monitor nobody can reach is worse
    log(`cannot check the peer of a connection (SO_PEERCRED): ${(e as Error).message}`);
    return true;
  }
  const stranger = peers.find((p) => p.uid !== 0 && p.uid !== ownUid);
  if (stranger === undefined) return true;
  log(
    `connection from pid ${stranger.pid} (uid ${stranger.uid}) refused: the monitor serves ` +
      `root only`,
  );
  return false;
}

export type DaemonResult =
  | { kind: "exited"; code: number }
  | { kind: "already-managed" };

/**
 * Runs the monitor of one container until it has nothing left to watch or is told to stop.
 * `ready` is called once the pid file and socket are in place (the parent then exits).
 */
export async function runDaemon(
  kernel: Kernel,
  o: DaemonOptions,
  ready: () => void = () => {},
): Promise<DaemonResult> {
  const runDir = o.runDir ?? RUN_DIR;
  // a log line that cannot be written (stderr a pipe whose reader exited: EPIPE) must not end
  // the monitor: an exception out of a pass would stop it from ever recording a failure
  const log: Log = (m) => {
    try {
      o.log(m);
    } catch { /* nowhere to report it */ }
  };
  await Deno.mkdir(runDir, { recursive: true, mode: 0o755 });
  const sockPath = socketPath(runDir, o.devnm);
  const previous = await runningMonitorPid(runDir, o.devnm);
  if (previous !== null && previous !== Deno.pid && !o.takeover) {
    if ((await pingSocket(sockPath, 5_000)) !== null) return { kind: "already-managed" };
  }

  // socket: bound under a private name, made root-only, then renamed over the public name so
  // that clients always find a listening socket (the old monitor's until the rename, ours after)
  const tmpSock = `${runDir}/.${o.devnm}.sock.${Deno.pid}`;
  try {
    await Deno.remove(tmpSock);
  } catch { /* none */ }
  const listener = Deno.listen({ transport: "unix", path: tmpSock });
  await Deno.chmod(tmpSock, 0o600);
  await Deno.rename(tmpSock, sockPath);
  const tmpPid = `${runDir}/.${o.devnm}.pid.${Deno.pid}`;
  await Deno.writeTextFile(tmpPid, `${Deno.pid}\n`, { mode: 0o600 });
  await Deno.rename(tmpPid, pidPath(runDir, o.devnm));
  log(`${o.devnm}: monitor ${Deno.pid} listening on ${sockPath}`);

  if (previous !== null && previous !== Deno.pid) await endPrevious(previous, log);
  // read the metadata only now: the previous monitor may have written until it exited
  const model = await ContainerModel.load(kernel, o.devnm, o.env);
  const monitor = new Monitor(kernel, model, log);
  if (o.env("MDTS_MDMON_DEBUG")) monitor.debug = (m) => log(`debug: ${m}`);
  const manager = new Manager(kernel, monitor, o.env, log);
  o.lockMemory?.();
  ready();

  let stopping = false;
  let exitCode = 0;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`${o.devnm}: ${why}; monitor stopping`);
    monitor.stop();
    try {
      listener.close();
    } catch { /* closed */ }
  };
  const onTerm = () => stop("SIGTERM");
  const onUsr1 = () => monitor.kick();
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGUSR1", onUsr1);

  await manager.scan();
  const monitorDone = monitor.run();

  // the manager: /proc/mdstat changes (new arrays, new disks), until nothing is left
  const managerDone = (async () => {
    let empty = 0;
    while (!stopping) {
      await new Promise((r) => setTimeout(r, 1000));
      if (stopping) break;
      try {
        await manager.scan();
        const exists = await kernel.array(o.devnm).exists();
        const members = exists ? await memberArrays(kernel, o.devnm) : [];
        empty = members.length === 0 ? empty + 1 : 0;
        // two looks in a row: a volume being created has a moment with no entry
        if (empty >= 2) stop(exists ? "no member arrays left" : "the container is gone");
      } catch (e) {
        log(`manager pass failed: ${(e as Error).message}`);
      }
    }
  })();

  // the socket: one connection at a time, as mdmon serves them
  const timeoutMs = o.connectionTimeoutMs ?? 3000;
  const ownUid = Deno.uid() ?? 0;
  try {
    for await (const conn of listener) {
      if (!peerAllowed(o, tmpSock, ownUid, log)) {
        try {
          conn.close();
        } catch { /* closed */ }
        continue;
      }
      const reader = new FrameReader();
      try {
        for (;;) {
          const f = await readFrame(conn, reader, timeoutMs);
          if (!f) break;
          for (const reply of await manager.handle(f)) await writeAll(conn, reply);
        }
      } catch (e) {
        if (!(e instanceof ProtocolError)) log(`connection failed: ${(e as Error).message}`);
        else log(`bad message: ${e.message}`);
      } finally {
        try {
          conn.close();
        } catch { /* closed */ }
      }
      if (stopping) break;
    }
  } catch (e) {
    if (!stopping) {
      log(`socket failed: ${(e as Error).message}`);
      exitCode = 1;
      stop("socket failure");
    }
  }
  await managerDone;
  await monitorDone;
  // a final look so a clean array is left marked clean
  try {
    await monitor.pass();
  } catch (e) {
    log(`final pass failed: ${(e as Error).message}`);
  }
  Deno.removeSignalListener("SIGTERM", onTerm);
  Deno.removeSignalListener("SIGUSR1", onUsr1);
  // remove our files only if they are still ours (a taker-over has replaced them otherwise)
  if ((await runningMonitorPid(runDir, o.devnm)) === Deno.pid) {
    for (const p of [pidPath(runDir, o.devnm), sockPath]) {
      try {
        await Deno.remove(p);
      } catch { /* gone */ }
    }
  }
  return { kind: "exited", code: exitCode };
}
