/**
 * Host side of the command channel: a directory shared with the guest over 9p (see
 * tests/vm/guest/agent.sh for the file protocol). Files, not a byte stream, so every command has
 * its own exact exit status and byte-exact stdout/stderr, and a crashed guest leaves them readable.
 */

export interface RunResult {
  /** The command as given. */
  cmd: string;
  /** Exit status as the guest's bash reported it (128+N when killed by signal N). */
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
  stderrBytes: Uint8Array;
  /** Wall time on the host from submission to completion. */
  ms: number;
}

export const POLL_MS = 10;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function readBytes(path: string): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch {
    return new Uint8Array();
  }
}

/** What a channel needs from the VM while waiting: is the guest still there, and its console. */
export interface ChannelHost {
  alive(): boolean;
  describeDeath(): string;
  consoleTail(): string;
}

export class VmCommandError extends Error {}

function tailText(bytes: Uint8Array, chars = 1500): string {
  const t = new TextDecoder().decode(bytes);
  return t.length > chars ? "..." + t.slice(-chars) : t;
}

/** One command submitted to the guest; it may be waited on, polled or killed. */
export class GuestJob {
  readonly startedAt = performance.now();
  #result: RunResult | null = null;

  constructor(
    readonly id: number,
    readonly cmd: string,
    readonly bootNo: number,
    private readonly base: string,
    private readonly host: ChannelHost,
  ) {}

  /** The result if the command has finished, else null. Does not wait. */
  poll(): RunResult | null {
    if (this.#result) return this.#result;
    let rcText: string;
    try {
      rcText = Deno.readTextFileSync(`${this.base}.rc`);
    } catch {
      return null;
    }
    // The guest writes "N\n" in one write after creating the file: no newline yet means not done.
    if (!rcText.endsWith("\n")) return null;
    const code = Number.parseInt(rcText.trim(), 10);
    if (!Number.isInteger(code)) {
      throw new VmCommandError(
        `job ${this.id} ("${this.cmd}"): unreadable exit status "${rcText}"`,
      );
    }
    const stdoutBytes = readBytes(`${this.base}.out`);
    const stderrBytes = readBytes(`${this.base}.err`);
    const dec = new TextDecoder();
    this.#result = {
      cmd: this.cmd,
      code,
      stdout: dec.decode(stdoutBytes),
      stderr: dec.decode(stderrBytes),
      stdoutBytes,
      stderrBytes,
      ms: Math.round(performance.now() - this.startedAt),
    };
    return this.#result;
  }

  /** Output so far (the command may still be running). */
  partialOutput(): { stdout: string; stderr: string } {
    const dec = new TextDecoder();
    return {
      stdout: dec.decode(readBytes(`${this.base}.out`)),
      stderr: dec.decode(readBytes(`${this.base}.err`)),
    };
  }

  /**
   * Waits for the command to finish. On timeout the guest kills the command's process group and
   * the error names the command, shows its output so far and the console tail.
   */
  async wait(opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const deadline = this.startedAt + timeoutMs;
    while (true) {
      const r = this.poll();
      if (r) return r;
      if (!this.host.alive()) {
        throw new VmCommandError(
          `VM stopped while command #${this.id} (boot ${this.bootNo}) was running: ${this.cmd}\n` +
            `${this.host.describeDeath()}\n${this.#describeOutput()}`,
        );
      }
      if (performance.now() > deadline) {
        const out = this.#describeOutput();
        await this.kill().catch(() => {});
        throw new VmCommandError(
          `command #${this.id} (boot ${this.bootNo}) did not finish within ${timeoutMs} ms ` +
            `and was killed: ${this.cmd}\n${out}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  #describeOutput(): string {
    return `--- stdout so far ---\n${tailText(readBytes(`${this.base}.out`))}\n` +
      `--- stderr so far ---\n${tailText(readBytes(`${this.base}.err`))}\n` +
      `--- console tail ---\n${this.host.consoleTail()}`;
  }

  /** Asks the guest to kill the command (its whole process group); resolves with its result. */
  async kill(opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    if (this.poll()) return this.#result!;
    Deno.writeTextFileSync(`${this.base}.kill`, "");
    const deadline = performance.now() + (opts.timeoutMs ?? 10_000);
    while (performance.now() < deadline && this.host.alive()) {
      const r = this.poll();
      if (r) return r;
      await sleep(POLL_MS);
    }
    throw new VmCommandError(
      `command #${this.id} did not stop after a kill request: ${this.cmd}\n` +
        `--- console tail ---\n${this.host.consoleTail()}`,
    );
  }
}

/** Numbered job files in `<chanDir>/jobs`, written atomically for the guest agent to pick up. */
export class JobChannel {
  #next = 1;
  readonly jobsDir: string;

  constructor(readonly chanDir: string, readonly bootNo: number, private host: ChannelHost) {
    this.jobsDir = `${chanDir}/jobs`;
  }

  submit(cmd: string): GuestJob {
    const id = this.#next++;
    const base = `${this.jobsDir}/${id}`;
    Deno.writeTextFileSync(`${base}.cmd.tmp`, cmd.endsWith("\n") ? cmd : cmd + "\n");
    Deno.renameSync(`${base}.cmd.tmp`, `${base}.cmd`);
    return new GuestJob(id, cmd, this.bootNo, base, this.host);
  }
}
