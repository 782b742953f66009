/** An in-memory Host for lifecycle unit tests: links, map file, busy devices, monitor flag. */
import type { ExclusiveProbe, Host, MonitorConnection } from "../../../core/lifecycle/host.ts";
import type { FakeKernel } from "../../../kernel/fake/fake_kernel.ts";

export class FakeHost implements Host {
  links = new Map<string, string>();
  map: string | null = null;
  files = new Map<string, string>();
  busy = new Set<string>();
  monitors = new Set<string>();
  monitorStarts: string[] = [];
  growContinues: string[] = [];
  uevents: string[] = [];
  envs = new Map<string, string>([["IMSM_DEVNAME_AS_SERIAL", "1"]]);
  lockHeld = false;

  constructor(readonly kernel: FakeKernel) {}

  probeExclusive(device: string): Promise<ExclusiveProbe> {
    return Promise.resolve(this.busy.has(device) ? { kind: "busy" } : { kind: "free" });
  }
  async realPath(path: string): Promise<string | null> {
    if (path.startsWith("/dev/md/")) {
      const t = this.links.get(path.slice(8));
      return t === undefined ? null : await this.realPath(t);
    }
    const name = path.replace(/^\/dev\//, "");
    if ((await this.kernel.device(name)) !== null) return path;
    if ((await this.kernel.md.arrays()).includes(name)) return path;
    return null;
  }
  readLink(path: string): Promise<string | null> {
    return Promise.resolve(
      path.startsWith("/dev/md/") ? this.links.get(path.slice(8)) ?? null : null,
    );
  }
  makeMdLink(name: string, target: string): Promise<void> {
    this.links.set(name, target);
    return Promise.resolve();
  }
  removeMdLink(name: string, target: string): Promise<void> {
    if (this.links.get(name) === target) this.links.delete(name);
    return Promise.resolve();
  }
  lockMap(): Promise<() => Promise<void>> {
    if (this.lockHeld) throw new Error("map lock taken twice");
    this.lockHeld = true;
    return Promise.resolve(() => {
      this.lockHeld = false;
      return Promise.resolve();
    });
  }
  readMap(): Promise<string | null> {
    return Promise.resolve(this.map);
  }
  writeMap(text: string): Promise<void> {
    this.map = text;
    return Promise.resolve();
  }
  readTextFile(path: string): Promise<string | null> {
    return Promise.resolve(this.files.get(path) ?? null);
  }
  uevent(devnm: string, action: string): Promise<void> {
    this.uevents.push(`${devnm} ${action}`);
    return Promise.resolve();
  }
  monitorRunning(container: string): Promise<boolean> {
    return Promise.resolve(this.monitors.has(container));
  }
  startMonitor(container: string): Promise<string | null> {
    this.monitorStarts.push(container);
    this.monitors.add(container);
    return Promise.resolve(null);
  }
  startGrowContinue(container: string): Promise<string | null> {
    this.growContinues.push(container);
    return Promise.resolve(null);
  }
  monitorSocket(_container: string): Promise<MonitorConnection | null> {
    return Promise.resolve(null);
  }
  settle(): Promise<void> {
    return Promise.resolve();
  }
  sleep(_ms: number): Promise<void> {
    return Promise.resolve();
  }
  env(key: string): string | undefined {
    return this.envs.get(key);
  }
}

/** Records every md sysfs write of the fake kernel as "mdX/attr=value". */
export function recordSysfs(kernel: FakeKernel): string[] {
  const log: string[] = [];
  const md = kernel.md;
  const original = md.write.bind(md);
  md.write = (devnm: string, path: string, value: string) => {
    log.push(`${devnm}/${path}=${value.trimEnd()}`);
    return original(devnm, path, value);
  };
  return log;
}
