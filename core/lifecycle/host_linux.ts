/**
 * The Host port on Linux. It lives here rather than in kernel/ because kernel/ belongs to
 * another engineer today; it only touches /dev/md, /run/mdadm, the uevent file and the
 * monitor process, and opens devices through kernel/libc.ts for the O_EXCL probe.
 */
import { isErrno } from "../../kernel/errno.ts";
import { O_CLOEXEC, O_EXCL, O_RDONLY, sysClose, sysOpen } from "../../kernel/libc.ts";
import {
  type ExclusiveProbe,
  type Host,
  type MonitorConnection,
  MonitorConnectionClosed,
} from "./host.ts";

export interface LinuxHostOptions {
  runDir?: string;
  devDir?: string;
  sysRoot?: string;
  env?: (key: string) => string | undefined;
}

export class LinuxHost implements Host {
  #run: string;
  #dev: string;
  #sys: string;
  #env: (key: string) => string | undefined;

  constructor(o: LinuxHostOptions = {}) {
    this.#run = o.runDir ?? "/run/mdadm";
    this.#dev = o.devDir ?? "/dev";
    this.#sys = o.sysRoot ?? "/sys";
    this.#env = o.env ?? ((k) => Deno.env.get(k));
  }

  env(key: string): string | undefined {
    return this.#env(key);
  }

  // deno-lint-ignore require-await
  async probeExclusive(device: string): Promise<ExclusiveProbe> {
    try {
      sysClose(sysOpen(device, O_RDONLY | O_EXCL | O_CLOEXEC), device);
      return { kind: "free" };
    } catch (e) {
      if (isErrno(e, "EBUSY")) return { kind: "busy" };
      if (isErrno(e, "ENOENT") || isErrno(e, "ENXIO") || isErrno(e, "ENODEV")) {
        return { kind: "missing" };
      }
      return { kind: "error", message: e instanceof Error ? e.message : String(e) };
    }
  }

  async realPath(path: string): Promise<string | null> {
    try {
      return await Deno.realPath(path);
    } catch {
      return null;
    }
  }

  async readLink(path: string): Promise<string | null> {
    try {
      return await Deno.readLink(path);
    } catch {
      return null;
    }
  }

  async makeMdLink(name: string, target: string): Promise<void> {
    const dir = `${this.#dev}/md`;
    await Deno.mkdir(dir, { recursive: true, mode: 0o770 });
    const link = `${dir}/${name}`;
    const now = await this.readLink(link);
    if (now === target) return;
    if (now !== null) await Deno.remove(link).catch(() => {});
    try {
      await Deno.symlink(target, link);
    } catch (e) {
      // udev may have made the same link in the meantime
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }

  async removeMdLink(name: string, target: string): Promise<void> {
    const link = `${this.#dev}/md/${name}`;
    if ((await this.readLink(link)) === target) await Deno.remove(link).catch(() => {});
  }

  async lockMap(): Promise<() => Promise<void>> {
    await Deno.mkdir(this.#run, { recursive: true, mode: 0o755 });
    const path = `${this.#run}/map.lock`;
    for (;;) {
      const f = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
      await f.lock(true);
      // the previous owner unlinks before closing: a lock on an unlinked file is worthless
      const st = await f.stat();
      if (st.nlink === 0) {
        f.close();
        continue;
      }
      return async () => {
        await Deno.remove(path).catch(() => {});
        f.close();
      };
    }
  }

  async readMap(): Promise<string | null> {
    return await this.readTextFile(`${this.#run}/map`);
  }

  async writeMap(text: string): Promise<void> {
    await Deno.mkdir(this.#run, { recursive: true, mode: 0o755 });
    const tmp = `${this.#run}/map.new`;
    await Deno.writeTextFile(tmp, text, { mode: 0o600 });
    await Deno.rename(tmp, `${this.#run}/map`);
  }

  async readTextFile(path: string): Promise<string | null> {
    try {
      return await Deno.readTextFile(path);
    } catch {
      return null;
    }
  }

  async uevent(devnm: string, action: string): Promise<void> {
    try {
      await Deno.writeTextFile(`${this.#sys}/block/${devnm}/uevent`, action);
    } catch {
      // no uevent file (device gone): nothing for udev to redo
    }
  }

  async monitorRunning(container: string): Promise<boolean> {
    const pid = (await this.readTextFile(`${this.#run}/${container}.pid`))?.trim();
    if (!pid || !/^\d+$/.test(pid)) return false;
    try {
      await Deno.stat(`/proc/${pid}`);
      return true;
    } catch {
      return false;
    }
  }

  async startMonitor(container: string): Promise<string | null> {
    const argv = monitorCommand(container, this.#env);
    let status: Deno.CommandStatus;
    try {
      status = await new Deno.Command(argv[0], {
        args: argv.slice(1),
        stdin: "null",
        stdout: "null",
        stderr: "inherit",
      }).spawn().status;
    } catch (e) {
      return `cannot run ${argv.join(" ")}: ${e instanceof Error ? e.message : e}`;
    }
    if (!status.success) return `${argv.join(" ")} exited with status ${status.code}`;
    // the launcher returns once the monitor is ready; give its pid file a moment to appear
    for (let i = 0; i < 50; i++) {
      if (await this.monitorRunning(container)) return null;
      await this.sleep(100);
    }
    return `${argv.join(" ")} did not leave ${this.#run}/${container}.pid within 5 s`;
  }

  async startGrowContinue(container: string): Promise<string | null> {
    const unit = `mdts-grow-continue@${container}.service`;
    if (!this.#env("MDADM_NO_SYSTEMCTL") && await exists("/run/systemd/system")) {
      try {
        const st = await new Deno.Command("systemctl", {
          args: ["restart", unit],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).output();
        if (st.success) return null;
      } catch {
        // no systemctl: start it ourselves
      }
    }
    const argv = growContinueCommand(container, this.#env);
    try {
      await Deno.mkdir(this.#run, { recursive: true });
      const env = Deno.env.toObject();
      env.MDTS_GROW_CHILD = "1";
      env.MDTS_GROW_LOG = `${this.#run}/${container}.grow.log`;
      // the shell points the child's output at the log file, so it outlives this process
      const child = new Deno.Command("/bin/sh", {
        args: ["-c", 'exec "$0" "$@" >>"$MDTS_GROW_LOG" 2>&1', ...argv],
        env,
        clearEnv: true,
        stdin: "null",
        stdout: "null",
        stderr: "null",
        detached: true,
      }).spawn();
      child.unref();
      return null;
    } catch (e) {
      return `cannot run ${argv.join(" ")}: ${e instanceof Error ? e.message : e}`;
    }
  }

  async monitorSocket(container: string): Promise<MonitorConnection | null> {
    const path = `${this.#run}/${container}.sock`;
    let conn: Deno.UnixConn;
    try {
      conn = await Deno.connect({ transport: "unix", path });
    } catch {
      return null;
    }
    return new UnixMonitorConnection(conn, container);
  }

  async settle(): Promise<void> {
    try {
      await new Deno.Command("udevadm", {
        args: ["settle", "--timeout=10"],
        stdout: "null",
        stderr: "null",
      }).output();
    } catch {
      // no udev: nothing to wait for
    }
  }

  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }
}

/**
 * How the monitor is started, as mdadm 4.2 starts mdmon: this executable in its mdmon mode
 * (`<exe> mdmon mdX`), or MDTS_MDMON (e.g. /sbin/mdmon) when set.
 */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** `mdts --grow --continue /dev/CONTAINER` with this program (MDTS_GROW_CONTINUE overrides). */
export function growContinueCommand(
  container: string,
  env: (key: string) => string | undefined,
  execPath = Deno.execPath(),
  mainModule = Deno.mainModule,
): string[] {
  const override = env("MDTS_GROW_CONTINUE");
  const tail = ["--grow", "--continue", `/dev/${container}`];
  if (override) return [...override.split(/\s+/).filter(Boolean), ...tail];
  const base = execPath.slice(execPath.lastIndexOf("/") + 1);
  if (base === "deno" && mainModule.startsWith("file://")) {
    return [execPath, "run", "-A", new URL(mainModule).pathname, ...tail];
  }
  return [execPath, ...tail];
}

export function monitorCommand(
  container: string,
  env: (key: string) => string | undefined,
  execPath = Deno.execPath(),
  mainModule = Deno.mainModule,
): string[] {
  const override = env("MDTS_MDMON");
  if (override) return [...override.split(/\s+/).filter(Boolean), container];
  const base = execPath.slice(execPath.lastIndexOf("/") + 1);
  if (base === "deno" && mainModule.startsWith("file://")) {
    return [execPath, "run", "-A", new URL(mainModule).pathname, "mdmon", container];
  }
  return [execPath, "mdmon", container];
}

function peerGone(e: unknown): boolean {
  return e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionReset;
}

/** How late a timer may fire before we take it that this process was stopped. */
const LATE_TIMER_MS = 2000;

export class UnixMonitorConnection implements MonitorConnection {
  #buffered = new Uint8Array(0);
  constructor(readonly conn: Deno.UnixConn, readonly container = "") {}

  async send(bytes: Uint8Array): Promise<void> {
    let done = 0;
    try {
      while (done < bytes.length) done += await this.conn.write(bytes.subarray(done));
    } catch (e) {
      if (peerGone(e)) throw new MonitorConnectionClosed(this.container, "send");
      throw e;
    }
  }

  async receive(n: number, timeoutMs: number): Promise<Uint8Array | null> {
    let deadline = Date.now() + timeoutMs;
    while (this.#buffered.length < n) {
      const buf = new Uint8Array(4096);
      const read = this.conn.read(buf).catch((e) => {
        if (peerGone(e)) return null;
        throw e;
      });
      let got: number | null | "timeout";
      for (;;) {
        const waitMs = Math.max(0, deadline - Date.now());
        const armed = Date.now();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<"timeout">((r) => {
          timer = setTimeout(() => r("timeout"), waitMs);
        });
        got = await Promise.race([read, timeout]);
        clearTimeout(timer);
        if (got !== "timeout") break;
        // A timer that fires far later than asked means this process did not run meanwhile
        // (SIGSTOP, a suspended machine): the monitor had the time and we did not, so the
        // reply may be waiting unread. Wait again in full rather than give up on it.
        if (Date.now() - (armed + waitMs) <= LATE_TIMER_MS) return null;
        deadline = Date.now() + timeoutMs;
      }
      if (got === null) throw new MonitorConnectionClosed(this.container, "receive");
      const joined = new Uint8Array(this.#buffered.length + got);
      joined.set(this.#buffered);
      joined.set(buf.subarray(0, got), this.#buffered.length);
      this.#buffered = joined;
    }
    const out = this.#buffered.slice(0, n);
    this.#buffered = this.#buffered.slice(n);
    return out;
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed by the peer
    }
  }
}
