/**
 * What the lifecycle needs from the machine beyond the Kernel port: exclusive-open probes,
 * /dev/md links, the map file and its lock, the config file, uevents, the monitor process.
 * LinuxHost (host_linux.ts) implements it; unit tests use a fake.
 */

/** Result of probing a device the way mdadm does before writing (open O_EXCL). */
export type ExclusiveProbe =
  | { kind: "free" }
  | { kind: "busy" } // EBUSY: a holder (md, dm, mount) has it
  | { kind: "missing" } // ENOENT / ENXIO
  | { kind: "error"; message: string };

export interface Host {
  /** Opens the device O_EXCL and closes it again. */
  probeExclusive(device: string): Promise<ExclusiveProbe>;
  /** Resolves symlinks; null when the path does not exist. */
  realPath(path: string): Promise<string | null>;
  /** Target of a symlink, null if `path` is not one. */
  readLink(path: string): Promise<string | null>;
  /** Creates /dev/md/NAME -> target (replacing a stale link). */
  makeMdLink(name: string, target: string): Promise<void>;
  /** Removes /dev/md/NAME when it points at `target`. */
  removeMdLink(name: string, target: string): Promise<void>;
  /** Takes /run/mdadm/map.lock; the returned function releases it. */
  lockMap(): Promise<() => Promise<void>>;
  /** Text of /run/mdadm/map, null when absent. */
  readMap(): Promise<string | null>;
  /** Replaces /run/mdadm/map (map.new + rename). */
  writeMap(text: string): Promise<void>;
  /** A text file (mdadm.conf), null when absent. */
  readTextFile(path: string): Promise<string | null>;
  /** Writes "change" (or "add"/"remove") to /sys/block/DEVNM/uevent. */
  uevent(devnm: string, action: string): Promise<void>;
  /** True when /run/mdadm/CONTAINER.pid names a live process. */
  monitorRunning(container: string): Promise<boolean>;
  /** Starts the monitor for a container; resolves to an error text or null. */
  startMonitor(container: string): Promise<string | null>;
  /**
   * Starts `--grow --continue /dev/CONTAINER` detached (as mdadm's grow-continue: through
   * systemd's mdts-grow-continue@ unit when systemd runs, else a background child); resolves
   * to an error text or null once it runs.
   */
  startGrowContinue(container: string): Promise<string | null>;
  /** Sends messages to the monitor's control socket; null when there is no socket. */
  monitorSocket(container: string): Promise<MonitorConnection | null>;
  /** Waits for udev to finish processing events (no-op without udev). */
  settle(): Promise<void>;
  sleep(ms: number): Promise<void>;
  env(key: string): string | undefined;
}

/** One connection to a monitor's control socket (framing in monitor_client.ts). */
export interface MonitorConnection {
  /** Throws MonitorConnectionClosed when the monitor has closed the connection. */
  send(bytes: Uint8Array): Promise<void>;
  /** Reads exactly n bytes, or null on timeout; throws MonitorConnectionClosed on EOF. */
  receive(n: number, timeoutMs: number): Promise<Uint8Array | null>;
  close(): void;
}

/**
 * The monitor closed the connection. It serves one client at a time and drops one that stays
 * silent for a few seconds, so a client that was stopped (SIGSTOP) between two messages of an
 * exchange finds its connection closed: what it had not sent yet can be sent again.
 */
export class MonitorConnectionClosed extends Error {
  constructor(readonly container: string, readonly during: "send" | "receive") {
    super(`the monitor of ${container} closed the connection (while we were ${during}ing)`);
    this.name = "MonitorConnectionClosed";
  }
}
