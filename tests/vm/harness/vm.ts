/**
 * A qemu VM running Debian's kernel (real md driver) on this machine's root filesystem, for tests
 * that need the kernel: boot on sparse disk files, run shell commands as root inside, reboot,
 * cut the power (now, after a delay, or when the guest signals) and boot again on the same disks.
 *
 *   await using vm = await Vm.boot({ disks: [{ name: "d0", sizeMiB: 64 }], label: "my-test" });
 *   const r = await vm.run("cat /proc/mdstat");
 *
 * Paths are the same on the host and in the guest (the guest chroots into the host's root over
 * 9p), so `vm.repo` is the repository in both. One VM at a time: qemu without KVM is CPU-bound.
 */
import { ConsoleLog } from "./console_log.ts";
import { type GuestJob, JobChannel, POLL_MS, type RunResult, sleep } from "./job_channel.ts";
import { ensureKernel, KERNEL_HOWTO, type KernelArtifacts } from "./kernel_cache.ts";
import { GUEST_AGENT_SCRIPT, REPO_ROOT, workRoot } from "./paths.ts";
import { whichProgram } from "./host_command.ts";
import { VmLock } from "./vm_lock.ts";

export type { GuestJob, RunResult };
export { VmCommandError } from "./job_channel.ts";

export interface DiskSpec {
  /** File name stem in the work dir (<name>.img); disks appear in order as /dev/vda, /dev/vdb... */
  name: string;
  sizeMiB: number;
}

export interface VmOptions {
  disks?: DiskSpec[];
  /** Where disk files, console logs and the command channel go. Default: a new dir under
   * $MDTS_VM_CACHE/work (old ones are pruned after a day). */
  workDir?: string;
  /** Names the default work dir. */
  label?: string;
  memMiB?: number;
  smp?: number;
  bootTimeoutMs?: number;
  /** Extra words for the kernel command line. */
  kernelArgs?: string[];
}

export interface BootInfo {
  bootNo: number;
  /** Host wall time from qemu start to the agent being ready. */
  ms: number;
  /** Guest uptime when the agent became ready. */
  guestUptimeS: number;
  consoleLog: string;
}

export interface CutInfo {
  /** False when the VM stopped another way (or the wait timed out) before the trigger. */
  fired: boolean;
  trigger: string;
  /** For signal triggers: host ms from the guest's marker file reaching the host fs to the kill. */
  markerToKillMs?: number;
  /** For signal triggers: host ms from the marker file's creation to qemu being gone. */
  markerToDeadMs?: number;
  reason?: string;
}

export interface DiskInfo {
  name: string;
  hostPath: string;
  guestDev: string;
}

const QEMU = "qemu-system-x86_64";
const WORK_MAX_AGE_MS = 24 * 3600 * 1000;

/** The mdts command line to use in the guest: the built dist/mdts, else mod.ts through Deno. */
export function mdtsCommand(repo = REPO_ROOT): string {
  try {
    Deno.statSync(`${repo}/dist/mdts`);
    return `${repo}/dist/mdts`;
  } catch {
    return `deno run -A ${repo}/mod.ts`;
  }
}

function pruneOldWorkDirs() {
  const now = Date.now();
  try {
    for (const e of Deno.readDirSync(workRoot())) {
      const p = `${workRoot()}/${e.name}`;
      const m = Deno.statSync(p).mtime?.getTime() ?? now;
      if (now - m > WORK_MAX_AGE_MS) Deno.removeSync(p, { recursive: true });
    }
  } catch {
    // nothing to prune
  }
}

/** KVM when this machine offers it (or MDTS_VM_ACCEL=kvm), else multi-threaded TCG. */
function accelArgs(): string[] {
  let want = Deno.env.get("MDTS_VM_ACCEL");
  if (!want) {
    try {
      Deno.openSync("/dev/kvm", { read: true, write: true }).close();
      want = "kvm";
    } catch {
      want = "tcg";
    }
  }
  return want === "kvm"
    ? ["-accel", "kvm", "-cpu", "host"]
    : ["-accel", "tcg,thread=multi", "-cpu", "max"];
}

function checkPath(what: string, p: string) {
  if (!p.startsWith("/") || /[\s,=]/.test(p)) {
    throw new Error(
      `${what} "${p}" must be an absolute path without spaces, "," or "=" (it goes on the ` +
        `kernel command line)`,
    );
  }
}

interface Running {
  child: Deno.ChildProcess;
  stdinWriter: WritableStreamDefaultWriter<Uint8Array> | null;
  watchdog: Deno.ChildProcess;
  watchdogStdin: WritableStreamDefaultWriter<Uint8Array>;
  status: Promise<Deno.CommandStatus>;
  exited: Deno.CommandStatus | null;
  killedByUs: boolean;
  pumps: Promise<void>;
  console: ConsoleLog;
  channel: JobChannel;
  chanDir: string;
  bootNo: number;
  reaped: boolean;
}

/** qemu ended by itself before the guest agent reported ready. */
class QemuDiedDuringBoot extends Error {}
const BOOT_ATTEMPTS = 2;

/** qemu processes of this process still running: killed on exit even if a test forgot dispose. */
const liveQemus = new Set<Deno.ChildProcess>();
globalThis.addEventListener("unload", () => {
  for (const c of liveQemus) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

export class Vm {
  readonly workDir: string;
  readonly repo = REPO_ROOT;
  readonly disks: DiskInfo[];
  #opts: VmOptions;
  #run: Running | null = null;
  #bootNo = 0;
  /** Held from the first boot until disposal, across power cuts and reboots, so that another
   * process cannot take the machine between a crash and the boot that resumes from it. */
  #lock: VmLock | null = null;
  #kernel: KernelArtifacts | null = null;

  constructor(opts: VmOptions = {}) {
    this.#opts = opts;
    if (opts.workDir) {
      this.workDir = opts.workDir;
    } else {
      pruneOldWorkDirs();
      const label = (opts.label ?? "vm").replace(/[^A-Za-z0-9_.-]+/g, "-");
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      this.workDir = `${workRoot()}/${label}-${stamp}-${Deno.pid}`;
    }
    checkPath("work dir", this.workDir);
    checkPath("repository", this.repo);
    Deno.mkdirSync(this.workDir, { recursive: true });
    this.disks = (opts.disks ?? []).map((d, i) => {
      if (!/^[A-Za-z0-9_-]+$/.test(d.name)) {
        throw new Error(`disk name "${d.name}": use [A-Za-z0-9_-]`);
      }
      if (i >= 26) throw new Error(`at most 26 disks (vda..vdz); got ${opts.disks!.length}`);
      return {
        name: d.name,
        hostPath: `${this.workDir}/${d.name}.img`,
        guestDev: `/dev/vd${String.fromCharCode(97 + i)}`,
      };
    });
    // Sparse files; kept (not recreated) on later boots of this Vm or when the work dir is reused.
    (opts.disks ?? []).forEach((d, i) => {
      const p = this.disks[i].hostPath;
      const f = Deno.openSync(p, { create: true, write: true });
      if (f.statSync().size !== d.sizeMiB * 1024 * 1024) f.truncateSync(d.sizeMiB * 1024 * 1024);
      f.close();
    });
  }

  /** Creates a Vm and boots it. */
  static async boot(opts: VmOptions = {}): Promise<Vm> {
    const vm = new Vm(opts);
    try {
      await vm.boot();
    } catch (e) {
      await vm[Symbol.asyncDispose]().catch(() => {});
      throw e;
    }
    return vm;
  }

  /** Guest device of a disk by name, e.g. "/dev/vdb". */
  dev(name: string): string {
    const d = this.disks.find((x) => x.name === name);
    if (!d) throw new Error(`no disk named "${name}" (have: ${this.disks.map((x) => x.name)})`);
    return d.guestDev;
  }

  get running(): boolean {
    return this.#run !== null && this.#run.exited === null;
  }

  get bootNo(): number {
    return this.#bootNo;
  }

  /** Console log of the current (or last) boot. */
  get consoleLogPath(): string {
    return this.#run?.console.path ?? "";
  }

  consoleTail(lines = 40): string {
    return this.#run?.console.tail(lines) ?? "(no console: the VM has not been booted)";
  }

  /** Boots on the disk files. Fails fast, saying how to fix it, when qemu or the kernel is missing. */
  async boot(): Promise<BootInfo> {
    if (this.running) {
      throw new Error("boot(): the VM is already running; shutdown() or powerCut() first");
    }
    await this.#reap();
    if (!whichProgram(QEMU)) {
      throw new Error(`${QEMU} not found. ${KERNEL_HOWTO}`);
    }
    if (!this.#kernel) {
      const build = Deno.env.get("MDTS_VM_NO_BUILD") !== "1";
      try {
        this.#kernel = await ensureKernel({ build });
      } catch (e) {
        throw new Error(
          `VM kernel cache unusable${build ? " and could not be built" : ""}: ` +
            `${e instanceof Error ? e.message : e}\n${KERNEL_HOWTO}`,
        );
      }
    }
    await this.#warmDenoCache();
    const bootNo = ++this.#bootNo;
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#startQemu(bootNo);
      } catch (e) {
        // A guest that dies before its agent is up has run nothing on the disks, so booting again on
        // them is the same boot. Seen once in CI: qemu exited 1 s into the kernel's PCI scan.
        if (!(e instanceof QemuDiedDuringBoot) || attempt >= BOOT_ATTEMPTS) throw e;
        await this.#reap();
        const kept = `${this.workDir}/boot-${bootNo}-attempt-${attempt}.console.log`;
        await Deno.rename(`${this.workDir}/boot-${bootNo}/console.log`, kept).catch(() => {});
        globalThis.console.error(
          `vm: boot ${bootNo}, attempt ${attempt} of ${BOOT_ATTEMPTS}: ${e.message}\n` +
            `vm: console kept in ${kept}; booting again on the same disks`,
        );
      }
    }
  }

  /**
   * Fills the work dir's deno-warm (the guest agent copies it into its Deno cache): mdts and the
   * guest scripts transpiled, and V8's code cache of mdts. A host second instead of a minute of
   * the emulated guest on each boot. Stale entries are harmless: Deno checks each source's hash.
   */
  async #warmDenoCache(): Promise<void> {
    const dir = `${this.workDir}/deno-warm`;
    try {
      Deno.statSync(`${dir}/gen`);
      return;
    } catch {
      // not yet
    }
    const guestScripts = [...Deno.readDirSync(`${this.repo}/tests/vm/guest`)]
      .filter((e) => e.name.endsWith(".ts"))
      .map((e) => `${this.repo}/tests/vm/guest/${e.name}`);
    const steps = [
      ["cache", `${this.repo}/mod.ts`, ...guestScripts],
      ["run", "-A", `${this.repo}/mod.ts`, "--version"],
    ];
    for (const args of steps) {
      const r = await new Deno.Command(Deno.execPath(), {
        args,
        env: { DENO_DIR: dir, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!r.success) {
        // The guest then transpiles by itself: slower, not wrong.
        globalThis.console.error(
          `vm: deno ${args.join(" ")} (warming the guest's Deno cache) failed: ` +
            new TextDecoder().decode(r.stderr).slice(-2000),
        );
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        return;
      }
    }
  }

  async #startQemu(bootNo: number): Promise<BootInfo> {
    const kernel = this.#kernel!;
    const chanDir = `${this.workDir}/boot-${bootNo}`;
    await Deno.remove(chanDir, { recursive: true }).catch(() => {});
    await Deno.mkdir(`${chanDir}/jobs`, { recursive: true });
    await Deno.mkdir(`${chanDir}/signals`, { recursive: true });
    const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");
    // The work dir is its own read-write, uncached 9p export: the command channel and any file the
    // test shares with the guest live there (the root export is read-only and cached, see init.sh).
    const exports = [{ tag: "work", path: this.workDir }];
    const append = [
      "console=ttyS0",
      "noiswmd",
      "panic=-1",
      "mitigations=off",
      `mdts_agent=${GUEST_AGENT_SCRIPT}`,
      `mdts_chan=${chanDir}`,
      `mdts_repo=${this.repo}`,
      ...(/\s/.test(denoDir) ? [] : [`mdts_deno=${denoDir}`]),
      `mdts_exports=${exports.map((l) => `${l.tag}=${l.path}`).join(",")}`,
      ...(this.#opts.kernelArgs ?? []),
    ].join(" ");
    const args = [
      "-nodefaults",
      "-display",
      "none",
      "-no-reboot",
      ...accelArgs(),
      "-m",
      String(this.#opts.memMiB ?? 3072),
      "-smp",
      String(this.#opts.smp ?? 2),
      "-kernel",
      kernel.vmlinuz,
      "-initrd",
      kernel.initrd,
      "-append",
      append,
      "-chardev",
      "stdio,id=ser0,signal=off",
      "-serial",
      "chardev:ser0",
      "-virtfs",
      "local,path=/,mount_tag=host,security_model=none,multidevs=remap",
    ];
    for (const l of exports) {
      args.push(
        "-virtfs",
        `local,path=${l.path},mount_tag=${l.tag},security_model=none,multidevs=remap`,
      );
    }
    // cache=unsafe: qemu writes straight into the host page cache, which survives a SIGKILL of qemu,
    // so a power cut loses exactly what the guest had not yet submitted (page cache, in-flight I/O).
    for (const d of this.disks) {
      args.push("-drive", `file=${d.hostPath},if=virtio,format=raw,cache=unsafe`);
    }
    this.#lock ??= await VmLock.acquire(
      this.workDir,
      (s) => globalThis.console.error(`vm: ${s}`),
    );
    const console = new ConsoleLog(`${chanDir}/console.log`);
    console.append(new TextEncoder().encode(`# ${QEMU} ${args.join(" ")}\n`));
    const t0 = performance.now();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(QEMU, {
        args,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      this.#releaseLock();
      throw e;
    }
    // The watchdog kills qemu if this process dies without cleaning up (its stdin pipe closes).
    const watchdog = new Deno.Command("bash", {
      args: [
        "-c",
        `while :; do read -r -t 1 _; rc=$?; if [ $rc -gt 128 ]; then kill -0 "$1" 2>/dev/null || exit 0; ` +
        `else [ "$(readlink /proc/$1/exe)" = "$2" ] && kill -KILL "$1"; exit 0; fi; done`,
        "mdts-vm-watchdog",
        String(child.pid),
        Deno.realPathSync(whichProgram(QEMU)!),
      ],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const run: Running = {
      child,
      stdinWriter: child.stdin.getWriter(),
      watchdog,
      watchdogStdin: watchdog.stdin.getWriter(),
      status: child.status,
      exited: null,
      killedByUs: false,
      pumps: Promise.resolve(),
      console,
      channel: null as unknown as JobChannel,
      chanDir,
      bootNo,
      reaped: false,
    };
    run.pumps = Promise.all([
      console.pump(child.stdout),
      console.pump(child.stderr, "[qemu stderr] "),
    ]).then(() => {});
    liveQemus.add(child);
    run.status.then((s) => {
      run.exited = s;
      liveQemus.delete(child);
    });
    run.channel = new JobChannel(chanDir, bootNo, {
      alive: () => run.exited === null,
      describeDeath: () => this.#describeDeath(run),
      consoleTail: () => console.tail(),
    });
    this.#run = run;

    const timeoutMs = this.#opts.bootTimeoutMs ?? 180_000;
    while (true) {
      let ready: string | null = null;
      try {
        ready = Deno.readTextFileSync(`${chanDir}/ready`);
      } catch {
        // not yet
      }
      if (ready !== null && ready.endsWith("\n")) {
        const up = Number.parseFloat(ready.match(/uptime=([0-9.]+)/)?.[1] ?? "NaN");
        return {
          bootNo,
          ms: Math.round(performance.now() - t0),
          guestUptimeS: up,
          consoleLog: console.path,
        };
      }
      if (run.exited) {
        // The console's last lines (a panic message) may still be in the pipe.
        await Promise.race([run.pumps, sleep(3000)]);
        throw new QemuDiedDuringBoot(
          `VM boot ${bootNo} failed: ${this.#describeDeath(run)}\n` +
            `--- console tail (${console.path}) ---\n${console.tail()}`,
        );
      }
      if (performance.now() - t0 > timeoutMs) {
        await this.#kill();
        throw new Error(
          `VM boot ${bootNo} did not reach the agent within ${timeoutMs} ms\n` +
            `--- console tail (${console.path}) ---\n${console.tail()}`,
        );
      }
      await sleep(50);
    }
  }

  #describeDeath(run: Running): string {
    if (!run.exited) return "qemu is still running";
    if (run.killedByUs) return `qemu was killed by the harness (boot ${run.bootNo})`;
    return `qemu exited on its own with code ${run.exited.code}` +
      (run.exited.signal ? ` (signal ${run.exited.signal})` : "") +
      ` during boot ${run.bootNo}; the guest powered off, panicked or qemu failed (see console)`;
  }

  #requireRunning(what: string): Running {
    if (!this.#run || this.#run.exited) {
      throw new Error(
        `${what}: the VM is not running (boot() it first)` +
          (this.#run
            ? `; ${this.#describeDeath(this.#run)}\n--- console tail ---\n` +
              this.#run.console.tail()
            : ""),
      );
    }
    return this.#run;
  }

  /** Starts a shell command (bash, as root, cwd = repo) in the guest and returns at once. */
  start(cmd: string): GuestJob {
    return this.#requireRunning(`start(${JSON.stringify(cmd)})`).channel.submit(cmd);
  }

  /** Runs a shell command in the guest and waits for it. Non-zero exit codes are returned. */
  run(cmd: string, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.start(cmd).wait(opts);
  }

  /** Like run() but throws (with stdout/stderr) unless the command exits 0; returns stdout. */
  async sh(cmd: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.run(cmd, opts);
    if (r.code !== 0) {
      throw new Error(
        `guest command exited ${r.code}: ${cmd}\n--- stdout ---\n${r.stdout}` +
          `\n--- stderr ---\n${r.stderr}`,
      );
    }
    return r.stdout;
  }

  /** Host path of a signal marker; the guest creates it with `vm_signal NAME` (same path). */
  signalPath(name: string): string {
    return `${this.#requireRunning("signalPath").chanDir}/signals/${name}`;
  }

  /** Cuts the power now: SIGKILL qemu, nothing synced. The disks keep what qemu had written. */
  async powerCut(): Promise<void> {
    if (!this.running) throw new Error("powerCut(): the VM is not running");
    await this.#kill();
  }

  /** Arms a power cut `ms` from now. Resolves when it happened (or the VM stopped first). */
  cutAfter(ms: number): Promise<CutInfo> {
    const run = this.#requireRunning("cutAfter");
    return (async () => {
      const deadline = performance.now() + ms;
      while (performance.now() < deadline) {
        if (run.exited) {
          return { fired: false, trigger: `after ${ms} ms`, reason: this.#describeDeath(run) };
        }
        await sleep(Math.min(POLL_MS, Math.max(0, deadline - performance.now())));
      }
      if (run.exited) {
        return { fired: false, trigger: `after ${ms} ms`, reason: this.#describeDeath(run) };
      }
      await this.#kill();
      return { fired: true, trigger: `after ${ms} ms` };
    })();
  }

  /**
   * Arms a power cut for when a guest process runs `vm_signal NAME` (creates the marker file).
   * The host watches the shared dir with inotify and SIGKILLs qemu as soon as the file appears.
   */
  cutOnSignal(name: string, opts: { timeoutMs?: number } = {}): Promise<CutInfo> {
    const run = this.#requireRunning("cutOnSignal");
    const marker = `${run.chanDir}/signals/${name}`;
    const trigger = `signal ${name}`;
    const timeoutMs = opts.timeoutMs ?? 300_000;
    const watcher = Deno.watchFs(`${run.chanDir}/signals`, { recursive: false });
    return (async () => {
      const t0 = performance.now();
      const seen = () => {
        try {
          return Deno.statSync(marker);
        } catch {
          return null;
        }
      };
      // Wake on inotify events, and every POLL_MS anyway (timeout and VM death checks).
      let wake: () => void = () => {};
      const events = (async () => {
        try {
          for await (const _ of watcher) wake();
        } catch {
          // closed
        }
      })();
      try {
        while (true) {
          const st = seen();
          if (st) {
            const detected = Date.now();
            await this.#kill();
            const dead = Date.now();
            const born = st.mtime?.getTime() ?? detected;
            return {
              fired: true,
              trigger,
              markerToKillMs: detected - born,
              markerToDeadMs: dead - born,
            };
          }
          if (run.exited) return { fired: false, trigger, reason: this.#describeDeath(run) };
          if (performance.now() - t0 > timeoutMs) {
            return { fired: false, trigger, reason: `no signal within ${timeoutMs} ms` };
          }
          await new Promise<void>((r) => {
            const t = setTimeout(r, POLL_MS);
            wake = () => {
              clearTimeout(t);
              r();
            };
          });
        }
      } finally {
        watcher.close();
        await events;
      }
    })();
  }

  /** Arms a power cut for the first console line (kernel or agent) matching `pattern`. */
  cutOnConsole(pattern: RegExp, opts: { timeoutMs?: number } = {}): Promise<CutInfo> {
    const run = this.#requireRunning("cutOnConsole");
    const trigger = `console ${pattern}`;
    const waiter = run.console.waitForLine(pattern);
    const timeoutMs = opts.timeoutMs ?? 300_000;
    return (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        waiter.promise.then(() => "line" as const),
        run.status.then(() => "exited" as const),
        new Promise<"timeout">((r) => {
          timer = setTimeout(() => r("timeout"), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      waiter.cancel();
      if (outcome === "line" && !run.exited) {
        await this.#kill();
        return { fired: true, trigger };
      }
      return {
        fired: false,
        trigger,
        reason: outcome === "timeout"
          ? `no such line within ${timeoutMs} ms`
          : this.#describeDeath(run),
      };
    })();
  }

  /**
   * Clean power off: runs `beforePowerOff` (default `sync`) in the guest, then the guest syncs and
   * powers off; qemu exits. Falls back to a kill if the guest does not go down in time.
   */
  async shutdown(opts: { beforePowerOff?: string; timeoutMs?: number } = {}): Promise<void> {
    const run = this.#run;
    if (!run) return;
    if (!run.exited) {
      try {
        const r = await this.run(opts.beforePowerOff ?? "sync", {
          timeoutMs: opts.timeoutMs ?? 60_000,
        });
        if (r.code !== 0) {
          run.console.append(new TextEncoder().encode(
            `# harness: beforePowerOff exited ${r.code}: ${r.stderr}\n`,
          ));
        }
        Deno.writeTextFileSync(`${run.chanDir}/poweroff`, "");
        const deadline = performance.now() + (opts.timeoutMs ?? 60_000);
        while (!run.exited && performance.now() < deadline) await sleep(POLL_MS);
      } finally {
        await this.#kill();
      }
    }
    await this.#reap();
  }

  /** Clean power off then boot again on the same disks. */
  async reboot(opts: { beforePowerOff?: string } = {}): Promise<BootInfo> {
    await this.shutdown(opts);
    return await this.boot();
  }

  /** SIGKILL qemu if it still runs and wait until it is gone. */
  async #kill(): Promise<void> {
    const run = this.#run;
    if (!run) return;
    if (!run.exited) {
      run.killedByUs = true;
      try {
        run.child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }
    await run.status;
  }

  /** Releases everything of the last boot: pipes, watchdog, console file. */
  async #reap(): Promise<void> {
    const run = this.#run;
    if (!run || run.reaped) return;
    await this.#kill();
    await run.stdinWriter?.close().catch(() => {});
    run.stdinWriter = null;
    await run.pumps.catch(() => {});
    await run.watchdogStdin.close().catch(() => {});
    await run.watchdog.status;
    run.console.close();
    run.reaped = true;
  }

  #releaseLock(): void {
    this.#lock?.release();
    this.#lock = null;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // Tests end here even when they fail: never leave qemu behind. No clean shutdown needed.
    await this.#kill();
    await this.#reap();
    this.#releaseLock();
  }
}
